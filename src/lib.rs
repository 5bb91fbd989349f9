//! amplify-start-job: start an AWS Amplify Hosting job from CI.
//!
//! The modules read like the pipeline: [`settings`] (the [`job`] and each part's own) and
//! [`ci`] -> [`credentials`] -> [`amplify`] (requests over [`net`], signed by [`signing`]) ->
//! [`retry`] -> [`wait`] -> [`report`] (outputs). Only the binary prints, apart from the
//! workflow commands of [`runner`].
//!
//! Layers, from the ground up: a module uses only modules of lower layers (`tests/layers.rs`
//! checks it), and this crate root composes them all.
//! - layer 0: env, runner, signing, random, cancel, schedule
//! - layer 1: net, ci, archive
//! - layer 2: cli, credentials, source, preview
//! - layer 3: job, amplify
//! - layer 4: retry, fetch
//! - layer 5: wait, deploy, branch, supersede, buildlog, artifacts, github
//! - layer 6: report, follow, busy, apps
//! - layer 7: comment, github_report
//! - layer 8: settings, error
#![warn(clippy::print_stdout, clippy::print_stderr)]
// At most one error per run, on the way out: its size costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

pub mod amplify;
pub mod apps;
pub mod archive;
pub mod artifacts;
pub mod branch;
pub mod buildlog;
pub mod busy;
pub mod cancel;
pub mod ci;
pub mod cli;
pub mod comment;
pub mod credentials;
pub mod deploy;
pub mod env;
pub mod error;
pub mod fetch;
pub mod follow;
pub mod github;
pub mod github_report;
pub mod job;
pub mod net;
pub mod preview;
pub mod random;
pub mod report;
pub mod retry;
pub mod runner;
pub mod schedule;
pub mod settings;
pub mod signing;
pub mod source;
pub mod supersede;
pub mod wait;

pub use env::Env;
pub use error::{Error, exit_code};

use amplify::{Client, StartJobBody, Target};
use cancel::Cancel;
use report::{Done, Outcome};
use retry::RetryError;
use runner::untrusted;
use settings::{Mode, Settings};

/// Everything a start needs, checked and resolved; nothing sent to Amplify yet.
struct Prepared {
    settings: Settings,
    client: Client,
    body: StartJobBody,
}

/// Every setting, checked: nothing is sent or written before this passes. Checking prints
/// nothing: what it logs (git's lines, at debug) is held until the secrets are masked, and for
/// a bad setting dropped, so its error is the run's one line.
fn checked(env: &Env) -> Result<(ci::Context, Settings), Error> {
    let held = runner::Held::default();
    let checked = held.during(env.get("RUST_LOG"), || -> Result<_, Error> {
        let ci = ci::Context::detect(env)?;
        let settings = Settings::from_env(env, &ci)?;
        Ok((ci, settings))
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

async fn connect(env: &Env, ci: &ci::Context, settings: Settings) -> Result<Prepared, Error> {
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

/// `--dry-run`: resolves everything, as a start would, and returns the signed request it
/// would send first (signature and session token redacted), sending nothing to Amplify.
pub async fn dry_run(env: &Env, cancel: &Cancel) -> Result<String, Error> {
    let (ci, settings) = checked(env)?;
    let p = until_cancelled(cancel, PREPARING, connect(env, &ci, settings)).await?;
    Ok(match &p.settings.job.source {
        None => p.client.describe_start_job(&p.body).await?,
        Some(_) => p.client.describe_create_deployment().await?,
    })
}

const PREPARING: &str = "resolving settings and credentials";
const FINDING: &str = "finding or creating the branch";

/// The branch's app and, when it was read or made, the branch. With one app: `create-branch`
/// as ever. With several (`apps`), the app that has the branch, or with `create`, the one it is
/// made in, becomes the client's and the job's; a branch in none stays with the first app.
async fn choose_app(p: &mut Prepared, create: bool) -> Result<Option<amplify::Branch>, Error> {
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
async fn until_cancelled<T>(
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
async fn zip_source(
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

/// Starts the job: StartJob, or for a source the manual deployment. `cancel-previous` first
/// stops superseded jobs and waits until they have ended (a stopped job holds the branch while
/// it is `CANCELLING`); a busy branch is handled by `if-busy`.
async fn start(
    p: &Prepared,
    zip: Option<&archive::TempFile>,
    cancel: &Cancel,
) -> Result<busy::Started, Error> {
    let s = &p.settings;
    let commit = s.job.commit.id.as_ref().map(|c| c.value.as_str());
    let commit = commit.filter(|_| s.job.source.is_none());
    let mut known = retry::Known::default();
    if s.cancel_previous {
        let stop = async {
            supersede::stop_previous(&p.client, commit, &s.retry)
                .await
                .map_err(Error::from)
        };
        let done = until_cancelled(cancel, "stopping superseded jobs", stop).await?;
        known.stopped = done.stopped;
        known.newest = done.newest;
        let deadline = tokio::time::Instant::now() + s.busy.timeout;
        let ended = busy::until_ended(
            &p.client,
            &known.stopped,
            deadline,
            s.busy.timeout,
            &s.retry,
            cancel,
        );
        ended.await.map_err(|e| busy_error(s, &p.client, e))?;
    }
    let started = match &s.job.source {
        None => {
            let start = async |known: &retry::Known| {
                retry::start_job(&p.client, &p.body, &s.retry, cancel, known).await
            };
            busy::start_when_free(&p.client, &s.busy, &s.retry, commit, cancel, known, start).await
        }
        Some(source) => {
            let payload = match (source, zip) {
                (source::Source::Zip(path), _) => deploy::Payload::Zip(path),
                (source::Source::Folder(_), Some(zip)) => deploy::Payload::Zip(zip.path()),
                (other, _) => deploy::Payload::Url(other),
            };
            let deploy = deploy::Deploy {
                client: &p.client,
                policy: &s.retry,
                request_timeout: s.request_timeout,
                cancel,
            };
            let start = async |_: &retry::Known| deploy.run(payload).await;
            busy::start_when_free(&p.client, &s.busy, &s.retry, None, cancel, known, start).await
        }
    };
    started.map_err(|e| busy_error(s, &p.client, e))
}

/// The run's error for a start that did not happen: a signal, a refusal, or a wait run out.
fn busy_error(s: &Settings, client: &Client, e: busy::BusyError) -> Error {
    match e {
        busy::BusyError::Api(RetryError::Interrupted {
            code,
            maybe_started,
            job,
        }) => interrupted_start(s, client, code, maybe_started, job),
        busy::BusyError::Api(e) => e.into(),
        busy::BusyError::Interrupted { code } => Error::Interrupted {
            code,
            during: "waiting for the branch's unfinished job to end",
            after: Some("no job was started".into()),
        },
        other => Error::Busy(other),
    }
}

/// Runs one job start (or, with `mode: delete-branch`, one branch deletion): every input is
/// checked before anything is sent; outputs are written only for a started job.
pub async fn run(env: &Env, cancel: &Cancel) -> Result<Done, Error> {
    let (ci, settings) = checked(env)?;
    if let (true, Some(_)) = (ci.pull_request_target, &ci.fork) {
        tracing::warn!("{}", github_report::TARGET_WARNING);
    }
    let skip_forks = settings.on_missing_credentials == github_report::OnMissing::SkipForks;
    match run_checked(env, &ci, settings, cancel).await {
        Err(Error::Credentials(e)) if skip_forks && e.nothing_given() && ci.fork.is_some() => {
            let fork = ci.fork.as_deref().unwrap_or_default();
            let notice = github_report::fork_notice(fork);
            runner::notice("Nothing deployed: a fork's pull request", &notice);
            Ok(Done::Nothing(notice))
        }
        done => done,
    }
}

/// [`run`], its settings checked.
async fn run_checked(
    env: &Env,
    ci: &ci::Context,
    settings: Settings,
    cancel: &Cancel,
) -> Result<Done, Error> {
    if settings.mode == Mode::DeleteBranch {
        let mut p = until_cancelled(cancel, PREPARING, connect(env, ci, settings)).await?;
        until_cancelled(cancel, FINDING, choose_app(&mut p, false)).await?;
        return until_cancelled(cancel, "deleting the branch", delete_branch(&p)).await;
    }
    if settings.mode == Mode::Follow {
        let mut p = until_cancelled(cancel, PREPARING, connect(env, ci, settings)).await?;
        until_cancelled(cancel, FINDING, choose_app(&mut p, false)).await?;
        let s = &p.settings;
        let commit = s.job.commit.id.as_ref().map_or("", |c| c.value.as_str());
        let poll = s.wait.as_ref().map_or(wait::MIN_POLL, |w| w.poll_interval);
        let find = async {
            let time = s.job.commit.time.as_ref().map(|t| t.value);
            follow::find(&p.client, commit, time, &s.follow, poll, &s.retry)
                .await
                .map_err(|e| match e {
                    follow::FollowError::Api(e) => Error::Retry(e),
                    other => Error::Follow(other),
                })
        };
        let summary = until_cancelled(cancel, "looking for the commit's job", find).await?;
        return finish(env, p, summary, None, cancel).await;
    }
    let zip = zip_source(&settings, env, cancel).await?;
    let mut p = until_cancelled(cancel, PREPARING, connect(env, ci, settings)).await?;
    let create = p.settings.branch.create;
    let branch = until_cancelled(cancel, FINDING, choose_app(&mut p, create)).await?;
    let summary = match start(&p, zip.as_ref(), cancel).await? {
        busy::Started::Started(job) | busy::Started::Adopted(job) => job,
    };
    drop(zip);
    finish(env, p, summary, branch, cancel).await
}

/// After the start (or, in follow mode, the find): the branch URL, the wait, the outputs, the
/// comment.
async fn finish(
    env: &Env,
    p: Prepared,
    summary: amplify::JobSummary,
    branch: Option<amplify::Branch>,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let Prepared {
        settings, client, ..
    } = p;
    let mut outcome = outcome(&settings, summary);
    let verb = if settings.mode == Mode::Follow {
        "following"
    } else {
        "started"
    };
    tracing::info!(
        "{verb} job {} ({}) on {}/{}: {}",
        outcome.summary.job_id,
        outcome.summary.status,
        outcome.app_id,
        untrusted(&outcome.branch),
        outcome.job_url
    );
    let site = tokio::select! {
        biased;
        _ = cancel.cancelled() => None,
        site = branch::url(&client, branch.as_ref(), &settings.retry) => site,
    };
    outcome.branch_url = site.as_ref().map(|s| s.url.clone());
    let reporter = settings.github.reporter();
    if let Some(r) = reporter {
        let stage = site.as_ref().map(|s| s.stage.as_str());
        let started = r.started(client.http(), &settings.retry, &outcome, stage);
        outcome.github_deployment_id = started.await;
    }
    if let Some(w) = &settings.wait {
        let github = env.get("GITHUB_ACTIONS") == Some("true");
        let plan = wait::plan(&client, &outcome.summary).await;
        match wait::follow(&client, &outcome.summary.job_id, w, &plan, github, cancel).await {
            Ok(waited) => outcome.waited = Some(waited),
            Err(e) => {
                // The job was started: its outputs are written even though following it failed.
                write_outputs(&settings, &outcome)?;
                return Err(Error::Api(e));
            }
        }
        // The job has ended: a signal now only cuts the log and the artifacts short.
        let ended = matches!(
            outcome.waited.as_ref().map(|w| &w.ending),
            Some(wait::Ending::Ended(_))
        );
        if ended {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => tracing::warn!("interrupted: the job's log and artifacts were not read"),
                _ = after_wait(&settings, &client, &mut outcome, github) => {}
            }
        }
    }
    if let Some(r) = reporter {
        let id = outcome.github_deployment_id;
        r.ended(client.http(), &settings.retry, &outcome, id).await;
    }
    write_outputs(&settings, &outcome)?;
    post_comment(&settings, &client, &outcome).await;
    Ok(Done::Job(Box::new(outcome)))
}

/// After a wait: how long the job queued and ran; for a failure, the failing step's log; for
/// Amplify's own skip, a notice; the artifacts, when asked for.
async fn after_wait(settings: &Settings, client: &Client, outcome: &mut Outcome, github: bool) {
    let Some(wait::Waited {
        ending: wait::Ending::Ended(job),
        ..
    }) = &outcome.waited
    else {
        return;
    };
    let job = job.clone();
    if let Some(t) = outcome.timing_text() {
        tracing::info!(
            "job {} ended {}: {t}",
            job.summary.job_id,
            job.summary.status
        );
    }
    if let Some(notice) = outcome.skip_notice() {
        if github {
            runner::notice("Amplify skipped the build", &notice);
        } else {
            tracing::info!("{notice}");
        }
    } else if job.summary.status != "SUCCEED" {
        outcome.failure_log = buildlog::failure(
            client,
            &job,
            settings.log_lines,
            &settings.retry,
            settings.request_timeout,
            &outcome.job_url,
        )
        .await;
    }
    if let Some(dir) = &settings.artifacts {
        let (r, t) = (&settings.retry, settings.request_timeout);
        artifacts::download(client, &job.summary.job_id, dir, r, t).await;
    }
}

/// `mode: delete-branch`: the branch goes when it is a preview; a missing one is success.
async fn delete_branch(p: &Prepared) -> Result<Done, Error> {
    let s = &p.settings;
    let name = &s.job.branch;
    let deleted = match branch::delete(&p.client, &s.branch, &s.retry, &name.from).await {
        Ok(branch::Deleted::Deleted) => {
            tracing::info!("deleted branch {}", untrusted(&name.value));
            true
        }
        Ok(branch::Deleted::Missing) => {
            tracing::info!("no branch {}: nothing to delete", untrusted(&name.value));
            false
        }
        Err(branch::DeleteError::NotOurs(e)) => return Err(Error::Settings(e)),
        Err(branch::DeleteError::Api(e)) => return Err(e.into()),
    };
    if let Some(r) = s.github.reporter() {
        r.deleted(p.client.http(), &s.retry).await;
    }
    let done = report::BranchDeleted {
        app_id: s.job.app_id.clone(),
        branch: name.value.clone(),
        deleted,
        format: s.outputs.format,
    };
    if let Some(path) = &s.outputs.github_output {
        report::append_outputs(path, &done.outputs()).map_err(|source| Error::Output {
            what: "outputs",
            path: path.display().to_string(),
            started: format!("branch {} deleted: {deleted}", name.value),
            source,
        })?;
    }
    Ok(Done::Branch(done))
}

/// `pr-comment`: one comment on the pull request, made or updated; a failure is a warning.
async fn post_comment(settings: &Settings, client: &Client, outcome: &Outcome) {
    let c = match &settings.comment {
        comment::Comment::Off => return,
        comment::Comment::NotAPullRequest => {
            tracing::info!("pr-comment: this run is not for a pull request, so no comment");
            return;
        }
        comment::Comment::On(c) => c,
    };
    let marker = comment::marker(&outcome.app_id, &outcome.branch);
    let body = outcome.pr_comment(&marker);
    match comment::upsert(client.http(), &settings.retry, c, &marker, &body).await {
        Ok(comment::Upserted::Created) => {
            tracing::info!("commented on pull request #{}", c.pull_request)
        }
        Ok(comment::Upserted::Updated) => {
            tracing::info!("updated the comment on pull request #{}", c.pull_request)
        }
        Err(e) => tracing::warn!(
            "could not comment on pull request #{}: {} (the job needs permissions: pull-requests: write)",
            c.pull_request,
            untrusted(&e)
        ),
    }
}

fn outcome(settings: &Settings, summary: amplify::JobSummary) -> Outcome {
    let job = &settings.job;
    let job_url =
        amplify::console_url(&job.region, &job.app_id, &job.branch.value, &summary.job_id);
    Outcome {
        app_id: job.app_id.clone(),
        branch: job.branch.value.clone(),
        summary,
        job_url,
        commit: job.commit.id.as_ref().map(|c| c.value.clone()),
        branch_url: None,
        waited: None,
        failure_log: None,
        github_deployment_id: None,
        format: settings.outputs.format,
    }
}

/// A signal came while starting the job. When the check after it found the job, the
/// outputs name it; otherwise the error says whether a job may exist, and where to look.
fn interrupted_start(
    settings: &Settings,
    client: &Client,
    code: u8,
    maybe_started: bool,
    job: Option<amplify::JobSummary>,
) -> Error {
    let after = match job {
        Some(job) => {
            let o = outcome(settings, job);
            if let Err(e) = write_outputs(settings, &o) {
                return e;
            }
            format!("job {} had been started: {}", o.summary.job_id, o.job_url)
        }
        None if maybe_started => format!(
            "a job may have been started: check {} before running again",
            client.branch_console_url()
        ),
        None => "no job was started".into(),
    };
    Error::Interrupted {
        code,
        during: "starting the job",
        after: Some(after),
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

fn write_outputs(settings: &Settings, o: &Outcome) -> Result<(), Error> {
    let s = &settings.outputs;
    let started = format!("job {} at {}", o.summary.job_id, o.job_url);
    if let Some(path) = &s.github_output {
        report::append_outputs(path, &o.outputs()).map_err(|source| Error::Output {
            what: "outputs",
            path: path.display().to_string(),
            started: started.clone(),
            source,
        })?;
    }
    if let Some(path) = &s.output_file {
        std::fs::write(path, report::dotenv(&o.outputs())).map_err(|source| Error::Output {
            what: "the dotenv file",
            path: path.display().to_string(),
            started: started.clone(),
            source,
        })?;
    }
    if let Some(path) = &s.github_step_summary {
        report::append(path, &o.step_summary()).map_err(|source| Error::Output {
            what: "the step summary",
            path: path.display().to_string(),
            started,
            source,
        })?;
    }
    Ok(())
}
