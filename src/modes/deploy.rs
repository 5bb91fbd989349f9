//! `app-name`: a deployment to the new AWS Amplify. The folder is zipped (a prebuilt one before
//! anything is sent), uploaded, and deployed with `CreateDeployment`, once, never twice; or a
//! Git ref is deployed. The reads that wait on nothing (the app, the environment and its alias)
//! go out beside them. With `wait`, the deployment is followed to its end, then what the
//! environment serves is said; with `wait-rollout`, a gradual rollout is followed too.

use crate::waiting::OnCommitMismatch;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::archive;
use crate::aws::error::ApiError;
use crate::aws::retry::{last_error, repeatable};
use crate::aws::{credentials, net};
use crate::cancel::Cancel;
use crate::ci;
use crate::env::Env;
use crate::error::Error;
use crate::gen3::api::apps::App;
use crate::gen3::api::client::{Client, Target};
use crate::gen3::api::deployments::{Created, Deployment, SourceConfigRequest};
use crate::gen3::live::{self, Live, RolloutEnd};
use crate::gen3::settings::{Origin, SourceType};
use crate::gen3::upload::{self, Skip};
use crate::gen3::{deploy, wait};
use crate::modes::finish::{comment_on_pr, write_reports};
use crate::modes::prepare::{PREPARING, beside, until_cancelled};
use crate::report::comment;
use crate::report::deployment::DeploymentOutcome;
use crate::report::outputs::Done;
use crate::runner::{self, untrusted};
use crate::settings::Gen3Settings;
use crate::source::Source;

/// Deploys as the settings say, and follows the deployment with `wait`.
pub async fn run(
    env: &Env,
    ci: &ci::Context,
    s: Gen3Settings,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let prebuilt = match &s.deploy.origin {
        Origin::Upload(Source::Folder(dir), SourceType::Prebuilt) => {
            Some(zip(dir, env, cancel, None).await?)
        }
        _ => None,
    };
    let client = until_cancelled(cancel, PREPARING, connect(env, ci, &s)).await?;
    let token = deploy::run_token();
    // The app's build output folder is left out of a source upload: its settings come first.
    let mut app = None;
    if let Origin::Upload(Source::Folder(_), SourceType::Source) = &s.deploy.origin {
        let read = async { Ok(read_app(&client, &s).await) };
        app = Some(until_cancelled(cancel, PREPARING, read).await?);
    }
    let source_zip = match (&s.deploy.origin, &app) {
        (Origin::Upload(Source::Folder(dir), SourceType::Source), Some(app)) => {
            let output = app.as_ref().ok().and_then(App::output_directory);
            Some(zip(dir, env, cancel, Some(output)).await?)
        }
        _ => None,
    };
    let zip_path = match (&s.deploy.origin, &prebuilt, &source_zip) {
        (_, Some(z), _) | (_, _, Some(z)) => Some(z.path().to_path_buf()),
        (Origin::Upload(Source::Zip(path), _), _, _) => Some(path.clone()),
        _ => None,
    };
    let main = create(&client, &s, zip_path.as_deref(), &token, cancel);
    let side = async {
        let app_read = async {
            match app {
                Some(a) => a.ok(),
                None => read_app(&client, &s).await.ok(),
            }
        };
        tokio::join!(app_read, live::read(&client, false))
    };
    let made = beside(main, side, cancel).await;
    drop(prebuilt);
    drop(source_zip);
    let (created, (app, before)) = match made {
        Ok(done) => done,
        Err(e) => return Err(explain(e, &client, &s).await),
    };
    tracing::info!(
        "created deployment {} ({}) in {}/{}",
        created.deployment_id,
        created.status,
        untrusted(&s.deploy.app),
        untrusted(&s.deploy.environment)
    );
    finish(env, &client, &s, created, app, before, cancel).await
}

/// `--dry-run`: the first request a deployment sends, signed (signature and session token
/// redacted): `CreateSourceUpload` for a source (the zip's digest is not computed), else
/// `CreateDeployment` of the Git ref.
pub async fn describe(env: &Env, ci: &ci::Context, s: &Gen3Settings) -> Result<String, Error> {
    let client = connect(env, ci, s).await?;
    let d = &s.deploy;
    Ok(match &d.origin {
        Origin::Upload(..) => {
            let body = br#"{"ZipUpload":{"Digest":"<the zip's SHA-256, base64>"}}"#.to_vec();
            client
                .describe("CreateSourceUpload", "/source-uploads", body)
                .await?
        }
        Origin::Git(r) => {
            let source = SourceConfigRequest::Git {
                git_ref: r.value.clone(),
            };
            let body = deploy::body(source, &d.commit, &deploy::run_token());
            client.describe_create_deployment(&body).await?
        }
    })
}

/// The credentials and the client.
async fn connect(env: &Env, ci: &ci::Context, s: &Gen3Settings) -> Result<Client, Error> {
    let http = net::Http::new(s.request_timeout, s.tls.clone());
    let credentials = credentials::resolve(env, s.credentials.clone(), http.clone()).await?;
    log_plan(ci, s);
    let d = &s.deploy;
    let target = Target {
        region: d.region.clone(),
        app: d.app.clone(),
        environment: d.environment.clone(),
    };
    Ok(Client::new(
        d.endpoint.clone(),
        http,
        Arc::new(credentials),
        target,
    )?)
}

fn log_plan(ci: &ci::Context, s: &Gen3Settings) {
    let d = &s.deploy;
    if let Some(p) = ci.provider {
        tracing::info!("CI: {p}");
    }
    let what = match &d.origin {
        Origin::Upload(source, kind) => format!("{} ({})", source.describe(), kind.as_api()),
        Origin::Git(r) => format!("Git ref {} (from {})", untrusted(&r.value), r.from),
    };
    tracing::info!(
        "deploying {what} to app {} environment {} of the new AWS Amplify in {}",
        untrusted(&d.app),
        untrusted(&d.environment),
        d.region
    );
    if let Some(c) = &d.commit.id {
        tracing::info!("commit {} (from {})", untrusted(&c.value), c.from);
    }
    tracing::debug!("endpoint {}", d.endpoint);
}

/// `GetApp`, retried; its failure is the caller's to judge.
async fn read_app(client: &Client, s: &Gen3Settings) -> Result<App, ApiError> {
    repeatable::<_, Deployment>(&s.retry, async || client.get_app().await)
        .await
        .map_err(last_error)
}

/// The folder zipped on a blocking thread (a signal is still heard), leaving out what a
/// source upload leaves out when `output` is given (the app's build output folder, if known).
async fn zip(
    dir: &std::path::Path,
    env: &Env,
    cancel: &Cancel,
    output: Option<Option<String>>,
) -> Result<archive::TempFile, Error> {
    let skip = match output {
        Some(out) => Some(Skip::for_source(dir, out).map_err(|source| {
            Error::Archive(archive::ArchiveError::Read {
                path: dir.join(upload::AMPLIFYIGNORE).display().to_string(),
                source,
            })
        })?),
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (dir, into, flag) = (
        dir.to_path_buf(),
        archive::temp_dir(env.get("RUNNER_TEMP")),
        stop.clone(),
    );
    let mut task = tokio::task::spawn_blocking(move || match &skip {
        Some(skip) => archive::zip_folder_without(&dir, &into, &flag, &|p, d| skip.skips(p, d)),
        None => archive::zip_folder(&dir, &into, &flag),
    });
    tokio::select! {
        biased;
        code = cancel.cancelled() => {
            stop.store(true, Ordering::Relaxed);
            let _ = (&mut task).await;
            Err(Error::Interrupted { code, during: "zipping the source", after: Some("no deployment was made".into()) })
        }
        r = &mut task => r.expect("the zip task does not panic").map_err(Error::Archive),
    }
}

/// The upload (for a source) and `CreateDeployment`, once.
async fn create(
    client: &Client,
    s: &Gen3Settings,
    zip: Option<&std::path::Path>,
    token: &str,
    cancel: &Cancel,
) -> Result<Created, Error> {
    let d = &s.deploy;
    let source = match (&d.origin, zip) {
        (Origin::Git(r), _) => SourceConfigRequest::Git {
            git_ref: r.value.clone(),
        },
        (Origin::Upload(_, kind), Some(zip)) => {
            let up = upload::upload(client, zip, &s.retry, s.request_timeout);
            let id = until_cancelled(cancel, "uploading the source", async {
                up.await.map_err(Error::Upload)
            })
            .await?;
            SourceConfigRequest::Upload {
                source_upload_id: id,
                source_type: kind.as_api().to_string(),
            }
        }
        (Origin::Upload(..), None) => unreachable!("an upload has its zip"),
    };
    let body = deploy::body(source, &d.commit, token);
    deploy::create(client, &body, token, &s.retry, cancel)
        .await
        .map_err(|e| interrupted(e, s))
}

/// A signal while `CreateDeployment` was in flight: the deployment the look found is named.
fn interrupted(e: deploy::RetryError, s: &Gen3Settings) -> Error {
    match e {
        deploy::RetryError::Interrupted {
            code,
            maybe_started,
            job,
        } => {
            let after = match job {
                Some(d) => format!(
                    "deployment {} had been made and goes on: aws amplifygen3 deployment get --app {} --env {} --deployment-id {} --watch",
                    d.deployment_id, s.deploy.app, s.deploy.environment, d.deployment_id
                ),
                None if maybe_started => format!(
                    "a deployment may have been made: look at environment {} of app {} before running again",
                    s.deploy.environment, s.deploy.app
                ),
                None => "no deployment was made".into(),
            };
            Error::Interrupted {
                code,
                during: "creating the deployment",
                after: Some(after),
            }
        }
        other => Error::Deployment(other),
    }
}

/// A refusal that reads as a missing app or environment says which, and what exists.
async fn explain(e: Error, client: &Client, s: &Gen3Settings) -> Error {
    let not_found = matches!(
        &e,
        Error::Deployment(deploy::RetryError::Api(ApiError::Service { code, .. }))
            if code == "ResourceNotFoundException"
    );
    if !not_found {
        return e;
    }
    let d = &s.deploy;
    match read_app(client, s).await {
        Err(ApiError::Service { code, .. }) if code == "ResourceNotFoundException" => {
            return Error::Refused {
                message: format!(
                    "no app named {} exists in region {} of the new AWS Amplify",
                    untrusted(&d.app),
                    d.region
                ),
                hint: Some(
                    "check app-name (the app's name as the console shows it) and aws-region".into(),
                ),
            };
        }
        Err(_) => return e,
        Ok(_) => {}
    }
    match environments(client, s).await {
        Ok(names) if !names.contains(&d.environment) => Error::Refused {
            message: format!(
                "app {} has no environment {}; it has: {}",
                untrusted(&d.app),
                untrusted(&d.environment),
                untrusted(&names.join(", "))
            ),
            hint: Some("set environment to one of them (preview is the default)".into()),
        },
        _ => e,
    }
}

/// The names of the app's environments, every page.
async fn environments(client: &Client, s: &Gen3Settings) -> Result<Vec<String>, ApiError> {
    let mut names = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..20 {
        let (page, more) = repeatable::<_, Deployment>(&s.retry, async || {
            client.list_environments_page(next.as_deref()).await
        })
        .await
        .map_err(last_error)?;
        names.extend(page.into_iter().map(|e| e.environment_name));
        match more {
            Some(t) => next = Some(t),
            None => break,
        }
    }
    Ok(names)
}

/// After `CreateDeployment`: one read (or the wait), what the environment serves, the outputs,
/// the step summary, GitHub and the pull-request comment.
async fn finish(
    env: &Env,
    client: &Client,
    s: &Gen3Settings,
    created: Created,
    app: Option<App>,
    before: Live,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let github = env.get("GITHUB_ACTIONS") == Some("true");
    let d = &s.deploy;
    if let (Origin::Git(_), Some(false)) = (&d.origin, app.as_ref().map(App::connected)) {
        let name = untrusted(&d.app);
        tracing::warn!("app {name} shows no connected repository: a Git deployment needs one");
    }
    let mut o = DeploymentOutcome {
        app: d.app.clone(),
        environment: d.environment.clone(),
        created,
        last: None,
        waited: None,
        commit: d.commit.id.as_ref().map(|c| c.value.clone()),
        environment_url: before.url(),
        superseded_by: None,
        rollout: None,
        github_deployment_id: None,
        mismatch_fails: false,
        serving: None,
        url_probe: None,
        format: s.outputs.format,
    };
    let production = d.environment == "production"
        || before
            .environment
            .as_ref()
            .is_some_and(|e| e.kind == "PRODUCTION");
    o.last = read_once(client, s, o.id(), cancel).await;
    let reporter = s.github.reporter();
    if let Some(r) = reporter {
        o.github_deployment_id = r
            .started(client.http(), &s.retry, &o.told(production))
            .await;
    }
    if let Some(w) = &s.wait {
        let followed = wait::follow(client, o.id(), w, github, cancel).await;
        match followed {
            Ok(waited) => o.waited = Some(waited),
            Err(e) => {
                write(s, &o)?;
                return Err(Error::Api(e));
            }
        }
        after_wait(client, s, &mut o, github, cancel).await;
    }
    let on_mismatch = s.wait.map(|w| w.on_commit_mismatch).unwrap_or_default();
    commit_built(&mut o, d, on_mismatch, github);
    o.url_probe = probe_site(client, s, &o, cancel).await;
    if let Some(r) = reporter {
        r.ended(
            client.http(),
            &s.retry,
            &o.told(production),
            o.github_deployment_id,
        )
        .await;
    }
    write(s, &o)?;
    let marker = comment::marker(&o.app, &o.environment);
    comment_on_pr(
        &s.comment,
        client.http(),
        &s.retry,
        &marker,
        &o.pr_comment(&marker),
    )
    .await;
    Ok(Done::Deployment(Box::new(o)))
}

/// The deployment read once after it was made (for its URL), unless a signal comes first.
async fn read_once(
    client: &Client,
    s: &Gen3Settings,
    id: &str,
    cancel: &Cancel,
) -> Option<Deployment> {
    let read = repeatable::<_, Deployment>(&s.retry, async || client.get_deployment(id).await);
    tokio::select! {
        biased;
        _ = cancel.cancelled() => None,
        r = read => r
            .map_err(|e| tracing::warn!("could not read the deployment: {}", untrusted(&e.to_string())))
            .ok(),
    }
}

/// After the wait: a superseded deployment names its successor; a successful one says what the
/// environment serves, and with `wait-rollout` follows a rollout to its end.
async fn after_wait(
    client: &Client,
    s: &Gen3Settings,
    o: &mut DeploymentOutcome,
    github: bool,
    cancel: &Cancel,
) {
    let Some(wait::Waited {
        ending: wait::Ending::Ended(d),
        elapsed,
    }) = o.waited.clone()
    else {
        return;
    };
    if o.skipped() {
        o.superseded_by = newer(client, s, &d).await;
        let text = format!(
            "deployment {} was superseded{}: a newer deployment from the same source replaced it before it ran",
            d.deployment_id,
            o.superseded_by
                .as_deref()
                .map(|n| format!(" by deployment {n}"))
                .unwrap_or_default()
        );
        if github {
            runner::notice("Amplify deployment superseded", &text);
        } else {
            tracing::info!("{text}");
        }
        return;
    }
    if d.status != "SUCCEEDED" {
        return;
    }
    let live = tokio::select! {
        biased;
        _ = cancel.cancelled() => return,
        l = live::read(client, true) => l,
    };
    o.environment_url = live.url().or(o.environment_url.take());
    o.serving = live.active().map(str::to_string);
    tracing::info!(
        "{}",
        live::say(&live, &d.deployment_id, &s.deploy.environment)
    );
    follow_our_rollout(client, s, o, &d, &live, elapsed, cancel).await;
}

/// With `wait-rollout`, follows the rollout that brings our deployment to the environment, to
/// its end within what is left of `wait-timeout`.
async fn follow_our_rollout(
    client: &Client,
    s: &Gen3Settings,
    o: &mut DeploymentOutcome,
    d: &Deployment,
    live: &live::Live,
    elapsed: std::time::Duration,
    cancel: &Cancel,
) {
    let rolling = live.rollout().is_some_and(|r| {
        r.target_routing_config
            .first()
            .map(|t| t.deployment_id.as_str())
            == Some(d.deployment_id.as_str())
    });
    if !(s.deploy.wait_rollout && rolling) {
        return;
    }
    let (Some(alias), Some(w)) = (live.alias.as_ref(), s.wait.as_ref()) else {
        return;
    };
    let deadline = tokio::time::Instant::now() + w.timeout.saturating_sub(elapsed);
    let mut seen = Vec::new();
    let followed = live::follow_rollout(
        client,
        &alias.alias_name,
        w.poll_interval,
        deadline,
        cancel,
        &mut seen,
    );
    match followed.await {
        Ok(end) => {
            let said = match &end {
                RolloutEnd::Ended(status) => status.clone(),
                RolloutEnd::TimedOut => "not over when wait-timeout ran out".into(),
                RolloutEnd::Interrupted(_) => "not followed to its end (interrupted)".into(),
            };
            tracing::info!(
                "rollout of deployment {} to {}: {said}",
                d.deployment_id,
                s.deploy.environment
            );
            if matches!(&end, RolloutEnd::Ended(status) if status == "COMPLETED") {
                o.serving = Some(d.deployment_id.clone());
            }
            o.rollout = Some(end);
        }
        Err(e) => {
            tracing::warn!(
                "could not follow the rollout: {}",
                untrusted(&e.to_string())
            );
            o.rollout = Some(RolloutEnd::TimedOut);
        }
    }
}

/// The newest deployment created after `ours` in the environment (the first page).
async fn newer(client: &Client, s: &Gen3Settings, ours: &Deployment) -> Option<String> {
    let listed =
        repeatable::<_, Deployment>(&s.retry, async || client.list_deployments_page(None).await)
            .await
            .ok()?;
    let after = ours.created_at.unwrap_or(0.0);
    listed
        .0
        .into_iter()
        .filter(|d| d.deployment_id != ours.deployment_id && d.created_at.unwrap_or(0.0) >= after)
        .max_by(|a, b| {
            a.created_at
                .unwrap_or(0.0)
                .total_cmp(&b.created_at.unwrap_or(0.0))
        })
        .map(|d| d.deployment_id)
}

/// A Git deployment reports the commit it built: `commit-id` is that one, and a commit other
/// than the run's (the branch moved on) is one warning, or with `on-commit-mismatch: fail` a
/// failure.
fn commit_built(
    o: &mut DeploymentOutcome,
    d: &crate::gen3::settings::Deploy,
    on_mismatch: OnCommitMismatch,
    github: bool,
) {
    if !matches!(d.origin, Origin::Git(_)) {
        return;
    }
    let Some(built) = o
        .seen()
        .and_then(Deployment::git_commit)
        .map(str::to_string)
    else {
        return;
    };
    if let Some(ours) = d
        .commit
        .id
        .as_ref()
        .map(|c| c.value.as_str())
        .filter(|c| *c != built)
    {
        o.mismatch_fails = on_mismatch == OnCommitMismatch::Fail && o.succeeded();
        let text = format!(
            "deployment {} built commit {}, not this run's commit {}: the branch moved on before it was cloned{}",
            o.id(),
            untrusted(&built),
            untrusted(ours),
            if o.mismatch_fails {
                "; on-commit-mismatch is fail, so the run fails"
            } else {
                ""
            }
        );
        if github {
            runner::warning("Amplify built another commit", &text);
        } else {
            tracing::warn!("{text}");
        }
    }
    o.commit = Some(built);
}

/// `wait-for-url`: after a success that nothing else failed, the deployment's own URL is asked
/// until it answers 2xx.
async fn probe_site(
    client: &Client,
    s: &Gen3Settings,
    o: &DeploymentOutcome,
    cancel: &Cancel,
) -> Option<crate::probe::Probe> {
    let w = s.wait.as_ref()?;
    let limit = w.url_timeout?;
    if !o.succeeded() || o.exit_code() != 0 {
        return None;
    }
    let Some(url) = o.deployment_url() else {
        return Some(crate::probe::Probe::no_url(
            "AWS gave the deployment no DomainName",
        ));
    };
    Some(crate::probe::until_up(client.http(), &url, None, w.poll_interval, limit, cancel).await)
}

fn write(s: &Gen3Settings, o: &DeploymentOutcome) -> Result<(), Error> {
    let started = format!("deployment {} of {}/{}", o.id(), o.app, o.environment);
    write_reports(&s.outputs, &o.outputs(), &o.step_summary(), &started)
}
