//! `promote`, `rollback` and `abort-rollout` on the new AWS Amplify: the environment's alias
//! read, the deployment chosen, `UpdateAliasRouting` sent once in effect, the alias read back
//! until it routes as asked, a rollout followed with `wait`, then the outputs, the step summary
//! (before and after) and GitHub's record of what is live.

use std::sync::Arc;

use crate::aws::retry::{INTERRUPTED_CHECK, repeatable};
use crate::aws::{credentials, net};
use crate::cancel::Cancel;
use crate::ci;
use crate::env::Env;
use crate::error::Error;
use crate::gen3::api::aliases::{Alias, Rollout};
use crate::gen3::api::client::{Client, Target};
use crate::gen3::api::deployments::Deployment;
use crate::gen3::api::environments::Environment;
use crate::gen3::live::{self, RolloutEnd};
use crate::gen3::release::{self, ROUTED_WITHIN, Readback, ReleaseError};
use crate::modes::finish::write_reports;
use crate::modes::prepare::{PREPARING, until_cancelled};
use crate::report::outputs::Done;
use crate::report::release::{Ending, Released, Side};
use crate::runner::untrusted;
use crate::settings::{ReleaseMode, ReleaseSettings};

/// Promotes, rolls back or aborts a rollout, as the settings say.
pub async fn run(
    env: &Env,
    ci: &ci::Context,
    s: ReleaseSettings,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let client = until_cancelled(cancel, PREPARING, connect(env, ci, &s)).await?;
    let read = async { read_environment(&client, &s).await.map_err(Error::Release) };
    let (alias, environment) = until_cancelled(cancel, "reading the environment", read).await?;
    let released = match s.mode {
        ReleaseMode::AbortRollout => abort(&client, &s, alias, cancel).await?,
        _ => {
            let plan = async { plan(&client, &s, &alias).await.map_err(Error::Release) };
            match until_cancelled(cancel, "choosing the deployment", plan).await? {
                Plan::Unchanged(said, active) => unchanged(&client, &s, &alias, said, active).await,
                Plan::Move(target) => {
                    let production = is_production(&s, &environment);
                    moved(&client, &s, &alias, &target, production, cancel).await?
                }
            }
        }
    };
    write(&s, &released)?;
    Ok(Done::Released(Box::new(released)))
}

/// `--dry-run`: the change a mode would send, signed (signature and session token redacted)
/// where its body is known before reading AWS: a fork's acceptance, a rollout's abort, a
/// promote of a named deployment. Else what it would read to choose.
pub async fn describe(env: &Env, ci: &ci::Context, s: &ReleaseSettings) -> Result<String, Error> {
    let client = connect(env, ci, s).await?;
    let path = client.environment_path();
    Ok(match (s.mode, &s.fork, &s.deployment_id) {
        (ReleaseMode::AuthorizeFork, Some(f), _) => {
            let body = serde_json::json!({"EnvironmentName": s.place.environment, "CommitSha": f.sha.value, "PullRequestNumber": f.pull_request.value});
            let p = format!("{}/fork-pr-authorizations", client.app_path());
            client
                .describe(
                    "AcceptForkPullRequestDeployment",
                    &p,
                    body.to_string().into_bytes(),
                )
                .await?
        }
        (ReleaseMode::AbortRollout, ..) => {
            let p = format!("{path}/aliases/<the environment's alias>/rollout/cancel");
            client
                .describe("CancelGradualRollout", &p, Vec::new())
                .await?
        }
        (mode, _, id) => format!(
            "mode {}: reads the environment's alias ({path}/aliases) and deployments, then sends UpdateAliasRouting (PATCH {path}/aliases/<alias>) routing all traffic to {}{}",
            mode.name(),
            id.as_deref().unwrap_or("the deployment it chooses"),
            s.rollout
                .map(|p| format!(" with preset {p}"))
                .unwrap_or_default()
        ),
    })
}

/// The credentials and the client.
pub async fn connect(env: &Env, ci: &ci::Context, s: &ReleaseSettings) -> Result<Client, Error> {
    let http = net::Http::new(s.request_timeout, s.tls.clone());
    let credentials = credentials::resolve(env, s.credentials.clone(), http.clone()).await?;
    if let Some(p) = ci.provider {
        tracing::info!("CI: {p}");
    }
    let p = &s.place;
    tracing::info!(
        "{}: app {} environment {} of the new AWS Amplify in {}",
        s.mode.name(),
        untrusted(&p.app),
        untrusted(&p.environment),
        p.region
    );
    tracing::debug!("endpoint {}", p.endpoint);
    let target = Target {
        region: p.region.clone(),
        app: p.app.clone(),
        environment: p.environment.clone(),
    };
    Ok(Client::new(
        p.endpoint.clone(),
        http,
        Arc::new(credentials),
        target,
    )?)
}

/// The environment's alias (with its rollout) and the environment, read together.
async fn read_environment(
    client: &Client,
    s: &ReleaseSettings,
) -> Result<(Alias, Option<Environment>), ReleaseError> {
    let environment =
        repeatable::<_, Deployment>(&s.retry, async || client.get_environment().await);
    let (alias, environment) = tokio::join!(release::read_alias(client, &s.retry), environment);
    let environment = environment
        .map_err(|e| {
            tracing::warn!(
                "could not read the environment: {}",
                untrusted(&crate::aws::retry::last_error(e).to_string())
            )
        })
        .ok();
    let gradual = s.rollout.is_some_and(|p| p != "ALL_AT_ONCE");
    if let (true, Some(e)) = (gradual, &environment) {
        if e.kind == "PREVIEW" {
            return Err(ReleaseError::Refused {
                message: format!(
                    "environment {} is a PREVIEW environment, and AWS moves those only at once",
                    untrusted(&s.place.environment)
                ),
                hint: "use rollout: instant (or leave it empty) for this environment".into(),
            });
        }
    }
    Ok((alias?, environment))
}

fn is_production(s: &ReleaseSettings, e: &Option<Environment>) -> bool {
    s.place.environment == "production" || e.as_ref().is_some_and(|e| e.kind == "PRODUCTION")
}

/// What a promote or rollback does: nothing (and why), or move to a deployment.
enum Plan {
    Unchanged(String, Option<String>),
    Move(Box<Deployment>),
}

/// The deployment to move to, or why nothing moves; a rollout in progress that is not toward
/// it is a conflict (exit 3), never aborted unasked.
async fn plan(client: &Client, s: &ReleaseSettings, alias: &Alias) -> Result<Plan, ReleaseError> {
    let env = untrusted(&s.place.environment);
    let rolling = release::in_progress(alias);
    let active = release::serving(alias).map(str::to_string);
    let target = match s.mode {
        ReleaseMode::Promote => {
            let commit = s.commit.id.as_ref().map(|c| c.value.as_str());
            release::promote_target(client, &s.retry, s.deployment_id.as_deref(), commit).await?
        }
        _ => {
            if let Some(r) = rolling {
                return Err(release::conflict(r, &s.place.environment));
            }
            let Some(active) = active.clone() else {
                return Err(ReleaseError::Refused {
                    message: format!(
                        "environment {env} serves no deployment: nothing to roll back"
                    ),
                    hint: "promote a deployment first (mode: promote)".into(),
                });
            };
            if let Some(guard) = &s.deployment_id {
                release::deployment(client, &s.retry, guard).await?;
                if *guard != active {
                    let said = format!(
                        "deployment {guard} is no longer the active one in {env} ({active} is): nothing changed"
                    );
                    return Ok(Plan::Unchanged(said, Some(active)));
                }
            }
            release::rollback_target(client, &s.retry, &active).await?
        }
    };
    let id = target.deployment_id.as_str();
    match rolling {
        Some(r) if r.target() == Some(id) => Ok(Plan::Move(Box::new(target))),
        Some(r) => Err(release::conflict(r, &s.place.environment)),
        None if active.as_deref() == Some(id) => Ok(Plan::Unchanged(
            format!("{env} already serves deployment {id}: nothing sent"),
            Some(id.to_string()),
        )),
        None => Ok(Plan::Move(Box::new(target))),
    }
}

/// Nothing moved: the outputs say what serves.
async fn unchanged(
    client: &Client,
    s: &ReleaseSettings,
    alias: &Alias,
    said: String,
    active: Option<String>,
) -> Released {
    tracing::info!("{said}");
    let side = match &active {
        Some(id) => Some(side_of(client, s, id).await),
        None => None,
    };
    Released {
        active,
        before: side.clone(),
        after: side,
        said,
        ..base(s, alias)
    }
}

/// A deployment as the summary shows it; a failed read leaves only its id.
async fn side_of(client: &Client, s: &ReleaseSettings, id: &str) -> Side {
    match repeatable::<_, Deployment>(&s.retry, async || client.get_deployment(id).await).await {
        Ok(d) => side(&d, s),
        Err(_) => Side {
            deployment: id.to_string(),
            ..Side::default()
        },
    }
}

/// The deployment's commit: a Git deployment's, or the run's for an upload made of it.
fn side(d: &Deployment, s: &ReleaseSettings) -> Side {
    let commit = d.git_commit().map(str::to_string).or_else(|| {
        let ours = &s.commit.id.as_ref()?.value;
        release::built_from(d, ours).then(|| ours.clone())
    });
    Side {
        deployment: d.deployment_id.clone(),
        commit,
        created: d.created_at,
    }
}

/// The move: GitHub told it is under way, the change sent, the alias read back, a rollout
/// followed with `wait`, GitHub told how it ended.
async fn moved(
    client: &Client,
    s: &ReleaseSettings,
    alias: &Alias,
    target: &Deployment,
    production: bool,
    cancel: &Cancel,
) -> Result<Released, Error> {
    let rolling = release::in_progress(alias);
    let previous = release::serving(alias).map(str::to_string);
    let before = match &previous {
        Some(id) => Some(side_of(client, s, id).await),
        None => None,
    };
    let mut r = Released {
        active: Some(target.deployment_id.clone()),
        previous,
        deployment_url: target.url(),
        before,
        after: Some(side(target, s)),
        ..base(s, alias)
    };
    let reporter = s.github.reporter();
    if let Some(rep) = reporter {
        r.github_deployment_id = rep
            .started(client.http(), &s.retry, &r.told(production))
            .await;
    }
    change(client, s, alias, target, rolling.is_some(), &mut r, cancel).await?;
    if let Some(rep) = reporter {
        rep.ended(
            client.http(),
            &s.retry,
            &r.told(production),
            r.github_deployment_id,
        )
        .await;
    }
    Ok(r)
}

/// `UpdateAliasRouting` (unless a rollout toward the target already runs), the read-back, and
/// a rollout's end with `wait`.
async fn change(
    client: &Client,
    s: &ReleaseSettings,
    alias: &Alias,
    target: &Deployment,
    already: bool,
    r: &mut Released,
    cancel: &Cancel,
) -> Result<(), Error> {
    let (name, id) = (alias.alias_name.as_str(), target.deployment_id.as_str());
    let env = untrusted(&s.place.environment);
    let mut rolled = already;
    if already {
        tracing::info!(
            "a rollout of deployment {id} to {env} is already in progress: following it"
        );
    } else {
        tracing::info!(
            "moving {env} to deployment {id}{}",
            match s.rollout {
                Some(p) => format!(" ({p})"),
                None => " (the environment's own rollout setting)".into(),
            }
        );
        let sent = release::route_to(client, &s.retry, name, id, s.rollout, cancel).await;
        rolled |= sent.map_err(|e| interrupted_change(e, s))?.is_some();
    }
    let poll = s
        .wait
        .as_ref()
        .map_or(std::time::Duration::from_secs(2), |w| w.poll_interval);
    let read = release::until(client, name, poll, ROUTED_WITHIN, cancel, |a| {
        release::routes_to(a, id)
    });
    let now = match read.await {
        Readback::Routed(a) => a,
        Readback::TimedOut(_) => {
            r.ending = Ending::TimedOut;
            r.said = format!(
                "the alias of {env} did not route to deployment {id} within 60 s of the change; look at it in the Amplify console"
            );
            return Ok(());
        }
        Readback::Interrupted(code) => return Err(after_change(code, None)),
    };
    r.environment_url = now.url.clone().or(r.environment_url.take());
    match release::in_progress(&now).cloned() {
        None => {
            // A rollout so short that it ended before the first read.
            let ended = now.gradual_rollout_state.as_ref();
            if let Some(st) = ended.filter(|st| rolled && st.target() == Some(id)) {
                r.rollout_status = st.status.clone();
            }
            r.said = format!("{env} now serves deployment {id}");
            tracing::info!("{}", r.said);
            Ok(())
        }
        Some(rollout) => follow(client, s, name, &rollout, r, cancel).await,
    }
}

/// A rollout toward our deployment: followed to its end with `wait`, else left running.
async fn follow(
    client: &Client,
    s: &ReleaseSettings,
    alias: &str,
    rollout: &Rollout,
    r: &mut Released,
    cancel: &Cancel,
) -> Result<(), Error> {
    let env = untrusted(&s.place.environment);
    let line = live::stage_line(rollout);
    tracing::info!("{line}");
    r.stages.push(line);
    r.rollout_status = "IN_PROGRESS".into();
    let Some(w) = &s.wait else {
        r.ending = Ending::Started;
        r.said = format!(
            "the rollout of deployment {} to {env} has started; it goes on without this run (wait follows it)",
            rollout.target().unwrap_or_default()
        );
        tracing::info!("{}", r.said);
        return Ok(());
    };
    let deadline = tokio::time::Instant::now() + w.timeout;
    let followed = live::follow_rollout(
        client,
        alias,
        w.poll_interval,
        deadline,
        cancel,
        &mut r.stages,
    );
    let end = followed
        .await
        .map_err(|e| Error::Release(ReleaseError::Api(e)))?;
    let target = rollout.target().unwrap_or_default().to_string();
    match end {
        RolloutEnd::Ended(status) if status == "COMPLETED" => {
            r.rollout_status = status;
            r.said = format!("the rollout completed: {env} serves deployment {target}");
        }
        RolloutEnd::Ended(status) => {
            r.rollout_status = status;
            r.ending = Ending::Cancelled;
            r.active = rollout.source().map(str::to_string);
            r.said = format!(
                "the rollout of deployment {target} was cancelled: {env} serves {} again",
                r.active.as_deref().unwrap_or("the previous deployment")
            );
        }
        RolloutEnd::TimedOut => {
            r.ending = Ending::TimedOut;
            r.said = format!(
                "the rollout of deployment {target} had not ended when wait-timeout ran out; it goes on"
            );
        }
        RolloutEnd::Interrupted(code) => {
            return Err(cancelled_rollout(client, s, alias, rollout, r, code).await);
        }
    }
    tracing::info!("{}", r.said);
    Ok(())
}

/// CI cancelled the run during our rollout: with `cancel-on-abort` it is aborted (the traffic
/// goes back); by default it goes on, and the log says how to abort it. The outputs are
/// written either way.
async fn cancelled_rollout(
    client: &Client,
    s: &ReleaseSettings,
    alias: &str,
    rollout: &Rollout,
    r: &mut Released,
    code: u8,
) -> Error {
    let target = rollout.target().unwrap_or_default();
    let after = if s.cancel_on_abort {
        let aborted = tokio::time::timeout(
            INTERRUPTED_CHECK,
            release::abort(client, &s.retry, alias, rollout.target()),
        );
        match aborted.await {
            Ok(Ok(true)) => {
                r.rollout_status = "CANCELLED".into();
                r.active = rollout.source().map(str::to_string);
                format!(
                    "cancel-on-abort is set, so the rollout of deployment {target} was aborted: the traffic goes back to {}",
                    r.active.as_deref().unwrap_or("the previous deployment")
                )
            }
            _ => format!(
                "cancel-on-abort is set, but aborting the rollout of deployment {target} failed: abort it with mode: abort-rollout"
            ),
        }
    } else {
        format!(
            "the rollout of deployment {target} goes on (cancel-on-abort is not set): abort it with mode: abort-rollout, or aws amplifygen3-api cancel-gradual-rollout --app-name {} --environment-name {} --alias-name {alias}",
            s.place.app, s.place.environment
        )
    };
    r.said = after.clone();
    if let Err(e) = write(s, r) {
        return e;
    }
    Error::Interrupted {
        code,
        during: "following the rollout",
        after: Some(after),
    }
}

/// A signal while the change was in flight: it may have been made.
fn interrupted_change(e: ReleaseError, s: &ReleaseSettings) -> Error {
    match e {
        ReleaseError::Interrupted { code, maybe_sent } => after_change(
            code,
            maybe_sent.then(|| {
                format!(
                    "the routing change may have been made: look at environment {} of app {}",
                    s.place.environment, s.place.app
                )
            }),
        ),
        other => Error::Release(other),
    }
}

fn after_change(code: u8, after: Option<String>) -> Error {
    Error::Interrupted {
        code,
        during: "moving the environment",
        after: after.or(Some(
            "the change was sent: the environment moves as asked".into(),
        )),
    }
}

/// `abort-rollout`: the rollout in progress cancelled, the traffic read back on the deployment
/// it came from; none in progress is exit 0.
async fn abort(
    client: &Client,
    s: &ReleaseSettings,
    alias: Alias,
    cancel: &Cancel,
) -> Result<Released, Error> {
    let env = untrusted(&s.place.environment);
    let state = alias.gradual_rollout_state.clone();
    let mut r = base(s, &alias);
    let Some(rollout) = release::in_progress(&alias).cloned() else {
        r.said = format!("no rollout is in progress in {env}: nothing to abort");
        r.rollout_status = state.map_or("NONE".into(), |st| st.status);
        tracing::info!("{}", r.said);
        return Ok(r);
    };
    let target = rollout.target().unwrap_or_default().to_string();
    let name = alias.alias_name.clone();
    let cancelled = async {
        release::abort(client, &s.retry, &name, None)
            .await
            .map_err(Error::Release)
    };
    let made = until_cancelled(cancel, "aborting the rollout", cancelled).await?;
    let back = rollout.source().map(str::to_string);
    let poll = s
        .wait
        .as_ref()
        .map_or(std::time::Duration::from_secs(2), |w| w.poll_interval);
    let read = release::until(client, &name, poll, ROUTED_WITHIN, cancel, |a| {
        release::in_progress(a).is_none()
    });
    let now = match read.await {
        Readback::Routed(a) => a,
        Readback::TimedOut(_) => {
            r.ending = Ending::TimedOut;
            r.said = format!(
                "the rollout of deployment {target} was still in progress 60 s after the abort"
            );
            return Ok(r);
        }
        Readback::Interrupted(code) => {
            return Err(after_change(code, Some("the abort was sent".into())));
        }
    };
    let status = now
        .gradual_rollout_state
        .as_ref()
        .map_or("NONE".into(), |st| st.status.clone());
    r.active = now.active().map(str::to_string).or(back);
    r.rollout_status = status.clone();
    r.previous = (made || status == "CANCELLED").then_some(target.clone());
    r.said = match status.as_str() {
        "CANCELLED" => format!(
            "the rollout of deployment {target} was aborted: {env} serves {} again",
            r.active.as_deref().unwrap_or("the previous deployment")
        ),
        _ => format!("the rollout of deployment {target} had ended ({status}) before the abort"),
    };
    tracing::info!("{}", r.said);
    if let Some(id) = r.active.clone() {
        r.after = Some(side_of(client, s, &id).await);
    }
    Ok(r)
}

/// The environment as its alias shows it, nothing changed yet: what every mode's report starts
/// from.
fn base(s: &ReleaseSettings, alias: &Alias) -> Released {
    Released {
        mode: s.mode.name(),
        app: s.place.app.clone(),
        environment: s.place.environment.clone(),
        active: alias.active().map(str::to_string),
        previous: None,
        environment_url: alias.url.clone(),
        deployment_url: None,
        rollout_status: "NONE".into(),
        before: None,
        after: None,
        stages: Vec::new(),
        said: String::new(),
        ending: Ending::Done,
        github_deployment_id: None,
        format: s.outputs.format,
    }
}

fn write(s: &ReleaseSettings, r: &Released) -> Result<(), Error> {
    let what = format!("{} of {}/{}", r.mode, r.app, r.environment);
    write_reports(&s.outputs, &r.outputs(), &r.step_summary(), &what)
}
