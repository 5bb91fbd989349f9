//! What every mode does first: every setting checked (secrets masked first on GitHub), the
//! credentials resolved, the Hosting client made, the plan logged, the app chosen; and the
//! helpers that make each phase end on a signal with nothing started.

use crate::archive;
use crate::aws::{credentials, net};
use crate::cancel::Cancel;
use crate::ci;
use crate::env::Env;
use crate::error::Error;
use crate::hosting::api::branches::Branch;
use crate::hosting::api::client::{Client, Target};
use crate::hosting::api::jobs::StartJobBody;
use crate::hosting::{apps, branch, preview};
use crate::runner::{self, untrusted};
use crate::settings::{Mode, Settings};
use crate::source;

/// Everything a start needs, checked and resolved; nothing sent to Amplify yet.
pub struct Prepared {
    pub settings: Settings,
    pub client: Client,
    pub body: StartJobBody,
}

/// Every setting, checked: nothing is sent or written before this passes. Checking prints
/// nothing: what it logs (git's lines, at debug) is held until the secrets are masked, and for
/// a bad setting dropped, so its error is the run's one line.
pub fn checked(env: &Env) -> Result<(ci::Context, crate::settings::Run), Error> {
    let held = runner::Held::default();
    let checked = held.during(env.get("RUST_LOG"), || -> Result<_, Error> {
        let ci = ci::Context::detect(env)?;
        let run = crate::settings::from_env(env, &ci)?;
        Ok((ci, run))
    })?;
    mask_secrets(env);
    held.print();
    Ok(checked)
}

/// On GitHub, every secret the environment gives, as given: the GitHub token, AWS's secret key
/// and session token, the preview's basic auth (a value that does not parse is refused later,
/// never shown). Credentials obtained later are masked as they arrive.
fn mask_secrets(env: &Env) {
    if env.get("GITHUB_ACTIONS") != Some("true") {
        return;
    }
    for var in ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        if let Some(secret) = env.get(var) {
            runner::mask(secret);
        }
    }
    if let Ok(preview) = preview::PreviewSettings::from_env(env) {
        for secret in preview.secrets() {
            runner::mask(&secret);
        }
    }
}

pub async fn connect(env: &Env, ci: &ci::Context, settings: Settings) -> Result<Prepared, Error> {
    let http = net::Http::new(settings.request_timeout, settings.tls.clone());
    let credentials = credentials::resolve(env, settings.credentials.clone(), http.clone()).await?;
    log_plan(ci, &settings);

    let job = &settings.job;
    let body = StartJobBody {
        job_type: job.job_type.as_str().to_string(),
        job_id: job.job_id.clone(),
        job_reason: job.job_reason.clone(),
        commit_id: job.commit.id.as_ref().map(|c| c.value.clone()),
        commit_message: job.commit.message.as_ref().map(|c| c.value.clone()),
        commit_time: job.commit.time.as_ref().map(|c| c.value),
    };
    let target = Target {
        region: job.region.clone(),
        app_id: job.app_id.clone(),
        branch: job.branch.value.clone(),
    };
    let client = Client::new(
        job.endpoint.clone(),
        http,
        std::sync::Arc::new(credentials),
        target,
    )?;
    Ok(Prepared {
        settings,
        client,
        body,
    })
}

pub const PREPARING: &str = "resolving settings and credentials";
pub const FINDING: &str = "finding or creating the branch";

/// The branch's app and, when it was read or made, the branch. With one app: `create-branch`
/// as ever. With several (`apps`), the app that has the branch, or with `create`, the one it is
/// made in, becomes the client's and the job's; a branch in none stays with the first app.
pub async fn choose_app(p: &mut Prepared, create: bool) -> Result<Option<Branch>, Error> {
    let (apps, policy) = (p.settings.job.apps.clone(), p.settings.retry);
    if apps.len() == 1 {
        if !create {
            return Ok(None);
        }
        return Ok(Some(
            branch::ensure(&p.client, &p.settings.branch, &policy).await?,
        ));
    }
    let found = if create {
        Some(apps::ensure(&p.client, &apps, &p.settings.branch, &policy).await?)
    } else {
        apps::locate(&p.client, &apps, &policy).await?
    };
    let Some((app, branch)) = found else {
        tracing::info!(
            "branch {} is in none of the apps {}: using {}",
            untrusted(&p.settings.job.branch.value),
            apps.join(", "),
            apps[0]
        );
        return Ok(None);
    };
    p.client = p.client.for_app(&app);
    p.settings.job.app_id = app;
    Ok(Some(branch))
}

/// `work`, unless a signal comes first: then the run ends with 130 or 143, having started
/// nothing.
pub async fn until_cancelled<T>(
    cancel: &Cancel,
    during: &'static str,
    work: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::select! {
        biased;
        code = cancel.cancelled() => Err(Error::Interrupted {
            code,
            during,
            after: Some("no job was started".into()),
        }),
        r = work => r,
    }
}

/// A folder source, zipped before anything is sent (a link out of the folder is refused
/// here), on a blocking thread so a signal is still heard; the zip is removed on every exit.
pub async fn zip_source(
    settings: &Settings,
    env: &Env,
    cancel: &Cancel,
) -> Result<Option<archive::TempFile>, Error> {
    let Some(source::Source::Folder(dir)) = &settings.job.source else {
        return Ok(None);
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (dir, into, flag) = (
        dir.clone(),
        archive::temp_dir(env.get("RUNNER_TEMP")),
        stop.clone(),
    );
    let mut task = tokio::task::spawn_blocking(move || archive::zip_folder(&dir, &into, &flag));
    tokio::select! {
        biased;
        code = cancel.cancelled() => {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = (&mut task).await;
            Err(Error::Interrupted { code, during: "zipping the source", after: Some("no job was started".into()) })
        }
        r = &mut task => r.expect("the zip task does not panic").map(Some).map_err(Error::Archive),
    }
}

fn log_plan(ci: &ci::Context, settings: &Settings) {
    let job = &settings.job;
    if let Some(p) = ci.provider {
        tracing::info!("CI: {p}");
    }
    for w in &job.warnings {
        tracing::warn!("{w}");
    }
    if settings.mode == Mode::Prune {
        let age = settings
            .prune
            .older_than
            .map_or("age prunes nothing".to_string(), |d| {
                format!(
                    "those older than {} (prune-older-than)",
                    crate::env::show_duration(d)
                )
            });
        tracing::info!(
            "pruning the previews of app {} in {}: closed pull requests' and {age}{}",
            job.apps.join(", "),
            job.region,
            if settings.prune.delete {
                ""
            } else {
                " (a dry run: prune-delete is not set)"
            }
        );
        return;
    }
    tracing::info!(
        "starting a {} job for app {} branch {} (from {}) in {}",
        job.job_type.as_str(),
        job.app_id,
        untrusted(&job.branch.value),
        job.branch.from,
        job.region
    );
    if let Some(c) = &job.commit.id {
        tracing::info!("commit {} (from {})", untrusted(&c.value), c.from);
    }
    if let Some(m) = &job.commit.message {
        tracing::debug!("commit message (from {}): {}", m.from, untrusted(&m.value));
    }
    if let Some(t) = &job.commit.time {
        tracing::debug!("commit time {} (from {})", t.value, t.from);
    }
    if let Some(source) = &job.source {
        tracing::info!("deploying {}", source.describe());
    }
    let branch = &settings.branch;
    if branch.create && settings.mode == Mode::Start {
        let stage = branch.stage.as_deref().unwrap_or("the app's default stage");
        let auth = branch
            .preview
            .basic_auth_shown()
            .map_or_else(String::new, |a| {
                format!(
                    ", protected by basic auth {} (preview-basic-auth)",
                    untrusted(&a)
                )
            });
        tracing::info!("a missing branch is created (create-branch) as {stage}{auth}");
    }
    tracing::debug!("endpoint {}", job.endpoint);
}

/// Runs `main` and `side` together, so that reads which wait on nothing go out beside the
/// requests that must come first. `main`'s error ends both at once; otherwise `side` is
/// awaited too, unless a signal comes first (then it gives its default). `side` never delays
/// `main`, and never fails it.
pub async fn beside<T, S: Default>(
    main: impl std::future::Future<Output = Result<T, Error>>,
    side: impl std::future::Future<Output = S>,
    cancel: &Cancel,
) -> Result<(T, S), Error> {
    tokio::pin!(main);
    tokio::pin!(side);
    let mut got = None;
    let done = loop {
        tokio::select! {
            r = &mut main => break r?,
            s = &mut side, if got.is_none() => got = Some(s),
        }
    };
    let side = match got {
        Some(s) => s,
        None => tokio::select! {
            biased;
            _ = cancel.cancelled() => S::default(),
            s = &mut side => s,
        },
    };
    Ok((done, side))
}
