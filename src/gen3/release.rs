//! Moving an environment between deployments without a rebuild: which deployment a promote or
//! a rollback means, `UpdateAliasRouting` made safe to repeat (after an unknown outcome the
//! alias is read, and the change is sent again only when it does not route as asked), the
//! alias read back until it does, and `CancelGradualRollout` of a rollout in progress.

use std::time::Duration;

use tokio::time::Instant;

use crate::aws::error::ApiError;
use crate::aws::retry::{Backoff, Class, Policy, classify, last_error, repeatable};
use crate::cancel::Cancel;
use crate::gen3::api::aliases::{Alias, Rollout};
use crate::gen3::api::client::Client;
use crate::gen3::api::deployments::Deployment;
use crate::runner::untrusted;

/// How many pages of the environment's deployments a search reads at most (50 each; AWS keeps
/// the last 50 successful ones).
const MAX_PAGES: usize = 20;

/// How long the alias is read back after a change before the run gives up on seeing it
/// (AWS says a change reaches viewers in 5 to 10 s).
pub const ROUTED_WITHIN: Duration = Duration::from_secs(60);

/// Why a release could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// AWS answered, after retries, with an error.
    #[error(transparent)]
    Api(ApiError),
    /// What the run asks for cannot be done (exit 3), with what to do.
    #[error("{message}")]
    Refused { message: String, hint: String },
    /// CI cancelled the run while a change was in flight.
    #[error("interrupted")]
    Interrupted { code: u8, maybe_sent: bool },
}

impl From<crate::aws::retry::RetryError<Deployment>> for ReleaseError {
    fn from(e: crate::aws::retry::RetryError<Deployment>) -> Self {
        ReleaseError::Api(last_error(e))
    }
}

fn refused(message: String, hint: &str) -> ReleaseError {
    ReleaseError::Refused {
        message,
        hint: hint.to_string(),
    }
}

fn not_found(e: &ApiError) -> bool {
    matches!(e, ApiError::Service { code, .. } if code == "ResourceNotFoundException")
}

/// The environment's alias, with its rollout's state (`GetAlias`), retried.
pub async fn read_alias(client: &Client, policy: &Policy) -> Result<Alias, ReleaseError> {
    let listed =
        repeatable::<_, Deployment>(policy, async || client.environment_alias().await).await?;
    let Some(alias) = listed else {
        let t = client.target();
        return Err(refused(
            format!(
                "environment {} of app {} has no environment alias: nothing has been deployed to it yet",
                untrusted(&t.environment),
                untrusted(&t.app)
            ),
            "deploy to it first (mode: start)",
        ));
    };
    let name = alias.alias_name.clone();
    Ok(repeatable::<_, Deployment>(policy, async || client.get_alias(&name).await).await?)
}

/// One deployment of the environment, or exit 3 when there is none with that id.
pub async fn deployment(
    client: &Client,
    policy: &Policy,
    id: &str,
) -> Result<Deployment, ReleaseError> {
    match repeatable::<_, Deployment>(policy, async || client.get_deployment(id).await).await {
        Ok(d) => Ok(d),
        Err(e) => match last_error(e) {
            e if not_found(&e) => Err(refused(
                format!(
                    "environment {} has no deployment {id}",
                    untrusted(&client.target().environment)
                ),
                "check deployment-id (the Amplify console lists the environment's deployments)",
            )),
            e => Err(ReleaseError::Api(e)),
        },
    }
}

/// The environment's deployments, every page (newest first, as AWS lists them).
pub async fn all_deployments(
    client: &Client,
    policy: &Policy,
) -> Result<Vec<Deployment>, ReleaseError> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (page, more) = repeatable::<_, Deployment>(policy, async || {
            client.list_deployments_page(next.as_deref()).await
        })
        .await?;
        out.extend(page);
        match more {
            Some(t) => next = Some(t),
            None => break,
        }
    }
    out.sort_by(|a, b| {
        b.created_at
            .unwrap_or(0.0)
            .total_cmp(&a.created_at.unwrap_or(0.0))
    });
    Ok(out)
}

/// A deployment built from `commit`: a Git deployment of it, or an upload this tool made for
/// it (its `Description` starts with the short id and carries the run's token).
pub fn built_from(d: &Deployment, commit: &str) -> bool {
    if let Some(c) = d.git_commit() {
        return c.eq_ignore_ascii_case(commit);
    }
    let short: String = commit.chars().take(7).collect();
    let desc = d.description.as_deref().unwrap_or_default();
    short.len() == 7 && desc.starts_with(&short) && desc.contains("[asj-")
}

/// Why a deployment cannot serve, or `None` when it can (it succeeded and is kept).
pub fn unservable(d: &Deployment) -> Option<String> {
    match d.status.as_str() {
        "SUCCEEDED" => None,
        "EXPIRED" => Some(format!(
            "deployment {} has expired (AWS keeps the last 50 successful deployments of an environment)",
            d.deployment_id
        )),
        other => Some(format!(
            "deployment {} is {other}: only a SUCCEEDED deployment can serve",
            d.deployment_id
        )),
    }
}

/// The deployment a promote means: `id`, else the newest `SUCCEEDED` one built from `commit`.
pub async fn promote_target(
    client: &Client,
    policy: &Policy,
    id: Option<&str>,
    commit: Option<&str>,
) -> Result<Deployment, ReleaseError> {
    let env = untrusted(&client.target().environment);
    let d = match (id, commit) {
        (Some(id), _) => deployment(client, policy, id).await?,
        (None, Some(commit)) => {
            let all = all_deployments(client, policy).await?;
            let mut built = all.into_iter().filter(|d| built_from(d, commit)).peekable();
            let newest = built.peek().cloned();
            match built.find(|d| d.status == "SUCCEEDED") {
                Some(d) => d,
                None => match newest {
                    Some(d) => d,
                    None => {
                        return Err(refused(
                            format!(
                                "environment {env} has no deployment built from commit {}",
                                untrusted(commit)
                            ),
                            "deploy that commit first (mode: start), or name the deployment with deployment-id",
                        ));
                    }
                },
            }
        }
        (None, None) => unreachable!("the settings ask for a deployment or a commit"),
    };
    match unservable(&d) {
        None => Ok(d),
        Some(why) => Err(refused(
            why,
            "promote a deployment that succeeded, or deploy again",
        )),
    }
}

/// The deployment a rollback means: the newest `SUCCEEDED` one created before `active`.
pub async fn rollback_target(
    client: &Client,
    policy: &Policy,
    active: &str,
) -> Result<Deployment, ReleaseError> {
    let all = all_deployments(client, policy).await?;
    let created = match all.iter().find(|d| d.deployment_id == active) {
        Some(d) => d.created_at,
        None => deployment(client, policy, active).await?.created_at,
    };
    let Some(created) = created else {
        return Err(refused(
            format!("AWS gives no creation time for the active deployment {active}"),
            "name the deployment to serve with mode: promote and deployment-id",
        ));
    };
    all.into_iter()
        .filter(|d| d.deployment_id != active && d.status == "SUCCEEDED")
        .find(|d| d.created_at.is_some_and(|c| c < created))
        .ok_or_else(|| {
            refused(
                format!(
                    "environment {} has no successful deployment older than the active one, {active}: nothing to roll back to",
                    untrusted(&client.target().environment)
                ),
                "AWS keeps the last 50 successful deployments; deploy the old commit again (mode: start)",
            )
        })
}

/// The alias routes as asked: all traffic on `target`, or a rollout toward it.
pub fn routes_to(alias: &Alias, target: &str) -> bool {
    let rolling = alias
        .gradual_rollout_state
        .as_ref()
        .is_some_and(|r| r.status == "IN_PROGRESS" && r.target() == Some(target));
    rolling || (in_progress(alias).is_none() && alias.active() == Some(target))
}

/// The deployment that serves: during a rollout the one it comes from, else the one the alias
/// routes all traffic to.
pub fn serving(alias: &Alias) -> Option<&str> {
    in_progress(alias)
        .and_then(Rollout::source)
        .or(alias.active())
}

/// The rollout in progress on the alias, if any.
pub fn in_progress(alias: &Alias) -> Option<&Rollout> {
    alias
        .gradual_rollout_state
        .as_ref()
        .filter(|r| r.status == "IN_PROGRESS")
}

/// Exit 3 for a rollout that is not ours: its target and stage, and the mode that aborts it.
pub fn conflict(r: &Rollout, environment: &str) -> ReleaseError {
    refused(
        format!(
            "a gradual rollout of deployment {} is in progress in {} (stage {} of {}, {}% of the traffic): AWS refuses another change until it ends",
            r.target().unwrap_or("(unknown)"),
            untrusted(environment),
            r.current_stage_index + 1,
            r.schedule.len().max(1),
            r.stage_weight()
        ),
        "wait for it to end, or abort it first with mode: abort-rollout",
    )
}

/// `UpdateAliasRouting` to `target`, never applied twice in effect: after an unknown outcome
/// or a refusal, the alias is read, and a change already made (or a rollout toward `target`)
/// is taken as done. The rollout AWS says it started, if any.
pub async fn route_to(
    client: &Client,
    policy: &Policy,
    alias: &str,
    target: &str,
    preset: Option<&str>,
    cancel: &Cancel,
) -> Result<Option<Rollout>, ReleaseError> {
    let mut backoff = Backoff::new(policy);
    let mut maybe_sent = false;
    loop {
        backoff.attempt();
        let sent = tokio::select! {
            biased;
            code = cancel.cancelled() => return Err(ReleaseError::Interrupted { code, maybe_sent }),
            r = client.update_alias_routing(alias, target, preset) => r,
        };
        let err = match sent {
            Ok(rollout) => return Ok(rollout),
            Err(e) => e,
        };
        maybe_sent |= classify(&err) != Class::Retry;
        let now = client.get_alias(alias).await;
        if let Ok(a) = &now {
            if routes_to(a, target) {
                tracing::info!(
                    "the alias already routes to {target}: the change was made ({})",
                    untrusted(&crate::aws::retry::short(&err))
                );
                return Ok(in_progress(a).cloned());
            }
        }
        if classify(&err) == Class::Fatal {
            let conflict_seen =
                matches!(&err, ApiError::Service { code, .. } if code == "ConflictException");
            if let (true, Ok(a)) = (conflict_seen, &now) {
                if let Some(r) = in_progress(a) {
                    return Err(conflict(r, &client.target().environment));
                }
            }
            return Err(ReleaseError::Api(err));
        }
        let Some(delay) = backoff.next_delay(&err) else {
            return Err(ReleaseError::Api(err));
        };
        tokio::select! {
            biased;
            code = cancel.cancelled() => return Err(ReleaseError::Interrupted { code, maybe_sent }),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// How the read-back ended.
#[derive(Debug)]
pub enum Readback {
    /// The alias routes as asked.
    Routed(Alias),
    /// It did not within the limit; the last alias read, if any.
    TimedOut(Option<Alias>),
    Interrupted(u8),
}

/// Reads the alias until `done` says it routes as asked, for at most `limit`.
pub async fn until(
    client: &Client,
    alias: &str,
    poll: Duration,
    limit: Duration,
    cancel: &Cancel,
    done: impl Fn(&Alias) -> bool,
) -> Readback {
    let deadline = Instant::now() + limit;
    let mut last = None;
    loop {
        let read = tokio::select! {
            biased;
            code = cancel.cancelled() => return Readback::Interrupted(code),
            r = client.get_alias(alias) => r,
        };
        match read {
            Ok(a) if done(&a) => return Readback::Routed(a),
            Ok(a) => last = Some(a),
            Err(e) => tracing::warn!(
                "reading the alias failed: {}; trying again",
                untrusted(&e.to_string())
            ),
        }
        if Instant::now() >= deadline {
            return Readback::TimedOut(last);
        }
        let next = (Instant::now() + poll.min(Duration::from_secs(5))).min(deadline);
        tokio::select! {
            biased;
            code = cancel.cancelled() => return Readback::Interrupted(code),
            _ = tokio::time::sleep_until(next) => {}
        }
    }
}

/// `CancelGradualRollout`, safe to repeat: a refusal or an unknown outcome is judged by the
/// alias (no rollout in progress any more: done). `false` when there was nothing to cancel.
/// With `only_toward`, a rollout toward another deployment (not this run's) is left alone.
pub async fn abort(
    client: &Client,
    policy: &Policy,
    alias: &str,
    only_toward: Option<&str>,
) -> Result<bool, ReleaseError> {
    if let Some(ours) = only_toward {
        let now =
            repeatable::<_, Deployment>(policy, async || client.get_alias(alias).await).await?;
        if in_progress(&now).and_then(Rollout::target) != Some(ours) {
            return Ok(false);
        }
    }
    let mut backoff = Backoff::new(policy);
    loop {
        backoff.attempt();
        let err = match client.cancel_gradual_rollout(alias).await {
            Ok(()) => return Ok(true),
            Err(e) => e,
        };
        if let Ok(a) = client.get_alias(alias).await {
            if in_progress(&a).is_none() {
                let cancelled = a
                    .gradual_rollout_state
                    .as_ref()
                    .is_some_and(|r| r.status == "CANCELLED");
                return Ok(cancelled && classify(&err) != Class::Fatal);
            }
        }
        if classify(&err) == Class::Fatal {
            return Err(ReleaseError::Api(err));
        }
        match backoff.next_delay(&err) {
            Some(d) => tokio::time::sleep(d).await,
            None => return Err(ReleaseError::Api(err)),
        }
    }
}
