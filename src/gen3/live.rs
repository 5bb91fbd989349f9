//! What the environment serves: its alias (`ListAliases`, `Type: ENVIRONMENT`) names its
//! stable URL and the deployment that gets the traffic; its routing mode (`GetEnvironment`)
//! says whether a new deployment becomes active by itself (`AUTO_ROUTE_TO_LATEST`) or waits for
//! a promote (`MANUAL`); a gradual rollout (`GetAlias`) moves the traffic in stages.

use std::time::Duration;

use tokio::time::Instant;

use crate::aws::error::ApiError;
use crate::aws::retry::{Class, classify};
use crate::cancel::Cancel;
use crate::gen3::api::aliases::{Alias, Rollout};
use crate::gen3::api::client::Client;
use crate::gen3::api::environments::Environment;
use crate::runner::untrusted;

/// The environment as read: its alias and its settings, each `None` when it could not be read.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub alias: Option<Alias>,
    pub environment: Option<Environment>,
}

impl Live {
    /// The environment's stable URL.
    pub fn url(&self) -> Option<String> {
        self.alias.as_ref()?.url.clone().filter(|u| !u.is_empty())
    }

    /// The deployment that gets the traffic.
    pub fn active(&self) -> Option<&str> {
        self.alias.as_ref()?.active()
    }

    /// A rollout in progress, if the alias shows one.
    pub fn rollout(&self) -> Option<&Rollout> {
        self.alias
            .as_ref()?
            .gradual_rollout_state
            .as_ref()
            .filter(|r| r.status == "IN_PROGRESS")
    }
}

/// The alias and the environment, read together; a failed read is a warning, never a
/// failed run. With `rollout`, the alias is read again by name for its rollout's state
/// (`ListAliases` does not give it).
pub async fn read(client: &Client, rollout: bool) -> Live {
    let alias = async {
        let found = client.environment_alias().await?;
        match found {
            Some(a) if rollout => client.get_alias(&a.alias_name).await.map(Some),
            other => Ok(other),
        }
    };
    let (alias, environment) = tokio::join!(alias, client.get_environment());
    let alias = alias
        .map_err(|e| {
            tracing::warn!(
                "could not read the environment's alias: {}",
                untrusted(&e.to_string())
            )
        })
        .ok()
        .flatten();
    let environment = environment
        .map_err(|e| {
            tracing::warn!(
                "could not read the environment: {}",
                untrusted(&e.to_string())
            )
        })
        .ok();
    Live { alias, environment }
}

/// One line: is `ours` what the environment serves, does it wait for a promote, or is it
/// being rolled out?
pub fn say(live: &Live, ours: &str, environment: &str) -> String {
    let manual = live
        .environment
        .as_ref()
        .is_some_and(|e| e.routing_mode() == "MANUAL");
    if let Some(r) = live.rollout() {
        let target = r
            .target_routing_config
            .first()
            .map(|t| t.deployment_id.as_str());
        if target == Some(ours) {
            return format!(
                "deployment {ours} is being rolled out to {environment}: stage {} of {}, {}% of the traffic",
                r.current_stage_index + 1,
                r.schedule.len().max(1),
                r.stage_weight()
            );
        }
    }
    match live.active() {
        Some(active) if active == ours => format!("{environment} now serves deployment {ours}"),
        Some(active) if manual => format!(
            "{environment} routes by hand (MANUAL) and still serves deployment {active}: promote {ours} to serve it (mode: promote)"
        ),
        Some(active) => format!("{environment} serves deployment {active}, not {ours}"),
        None if manual => format!(
            "{environment} routes by hand (MANUAL): promote deployment {ours} to serve it (mode: promote)"
        ),
        None => format!("what {environment} serves could not be read"),
    }
}

/// `rollout stage 2 of 10: 20% of the traffic, the next at 05:40:00 UTC`.
pub fn stage_line(r: &Rollout) -> String {
    let next = r
        .next_stage_at()
        .map(|t| {
            let t = crate::env::rfc3339(t as i64);
            format!(", the next at {} UTC", &t[11..19])
        })
        .unwrap_or_default();
    format!(
        "rollout stage {} of {}: {}% of the traffic{next}",
        r.current_stage_index + 1,
        r.schedule.len().max(1),
        r.stage_weight()
    )
}

/// How a followed rollout ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RolloutEnd {
    /// `COMPLETED` or `CANCELLED`, as AWS says it.
    Ended(String),
    TimedOut,
    Interrupted(u8),
}

/// Follows the environment's rollout stage by stage until it ends, `deadline` passes, or CI
/// cancels the run. No rollout in progress: it has ended, as the alias says. Each stage seen
/// is logged and added to `seen`.
pub async fn follow_rollout(
    client: &Client,
    alias: &str,
    poll: Duration,
    deadline: Instant,
    cancel: &Cancel,
    seen: &mut Vec<String>,
) -> Result<RolloutEnd, ApiError> {
    let mut stage = None;
    loop {
        let read = tokio::select! {
            biased;
            code = cancel.cancelled() => return Ok(RolloutEnd::Interrupted(code)),
            r = client.get_alias(alias) => r,
        };
        match read {
            Ok(a) => match a.gradual_rollout_state {
                Some(r) if r.status == "IN_PROGRESS" => {
                    if stage != Some(r.current_stage_index) {
                        stage = Some(r.current_stage_index);
                        let line = stage_line(&r);
                        tracing::info!("{line}");
                        seen.push(line);
                    }
                }
                Some(r) => return Ok(RolloutEnd::Ended(r.status)),
                None => return Ok(RolloutEnd::Ended("COMPLETED".into())),
            },
            Err(e) if classify(&e) != Class::Fatal => {
                tracing::warn!(
                    "reading the rollout failed: {}; trying again",
                    untrusted(&e.to_string())
                );
            }
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Ok(RolloutEnd::TimedOut);
        }
        let next = (Instant::now() + poll).min(deadline);
        tokio::select! {
            biased;
            code = cancel.cancelled() => return Ok(RolloutEnd::Interrupted(code)),
            _ = tokio::time::sleep_until(next) => {}
        }
    }
}
