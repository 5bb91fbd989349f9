//! `CreateDeployment` without doubling a deployment. The API has no idempotency token: every
//! request carries one of the run's own, in `Description` and as a tag. After an attempt whose
//! outcome is unknown (a lost answer, a reset, a timeout, a 5xx), the environment's deployments
//! are listed, every page, for that token; the one found is adopted, and the request is sent
//! again only when it is certainly absent. A run never makes two deployments.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::aws::error::ApiError;
use crate::aws::retry::{self, Backoff, Class, Policy, classify, last_error, repeatable};
use crate::cancel::Cancel;
use crate::env::truncate_chars;
use crate::gen3::api::client::Client;
use crate::gen3::api::deployments::{
    CreateDeploymentBody, Created, Deployment, SourceConfigRequest,
};
use crate::gen3::settings::Commit;

/// The tag that carries the run's token.
pub const RUN_TAG: &str = "amplify-start-job:run";

/// The model's limit on `Description`.
const DESCRIPTION_MAX: usize = 256;

/// How many pages of the environment's deployments a look reads at most (50 each).
const MAX_PAGES: usize = 40;

/// A retried `CreateDeployment`'s failure: an interrupted attempt may have made a deployment.
pub type RetryError = crate::aws::retry::RetryError<Deployment>;

/// A token unique to the run, of `[a-z0-9-]`.
pub fn run_token() -> String {
    format!("asj-{:016x}", crate::random::random_u64())
}

/// `Description`: the short commit id and the commit's subject, then the run's token, at most
/// 256 characters (the subject is cut, never the token).
pub fn description(commit: &Commit, token: &str) -> String {
    let mut text = String::new();
    if let Some(short) = commit.short() {
        text.push_str(&short);
    }
    if let Some(subject) = &commit.subject {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(subject);
    }
    let tail = format!(" [{token}]");
    let room = DESCRIPTION_MAX - tail.chars().count();
    let (head, _) = truncate_chars(text.trim(), room);
    format!("{head}{tail}").trim_start().to_string()
}

/// The request: where the code comes from, the description and the run's tag.
pub fn body(source: SourceConfigRequest, commit: &Commit, token: &str) -> CreateDeploymentBody {
    CreateDeploymentBody {
        source_config: source,
        description: description(commit, token),
        tags: BTreeMap::from([(RUN_TAG.to_string(), token.to_string())]),
    }
}

/// Creates the deployment, retrying per `policy`; never two. A signal ends it at once: no
/// attempt starts after it, and an attempt it cut short is looked for once (bounded).
pub async fn create(
    client: &Client,
    body: &CreateDeploymentBody,
    token: &str,
    policy: &Policy,
    cancel: &Cancel,
) -> Result<Created, RetryError> {
    let mut unsure = false;
    let result = tokio::select! {
        biased;
        code = cancel.cancelled() => Err(code),
        r = attempts(client, body, token, policy, &mut unsure) => Ok(r),
    };
    match result {
        Ok(r) => r,
        Err(code) => Err(interrupted(client, token, policy, code, unsure).await),
    }
}

async fn attempts(
    client: &Client,
    body: &CreateDeploymentBody,
    token: &str,
    policy: &Policy,
    unsure: &mut bool,
) -> Result<Created, RetryError> {
    let mut backoff = Backoff::new(policy);
    let mut earlier_unsure = false;
    let mut clock_corrected = false;
    loop {
        let attempt = backoff.attempt();
        if earlier_unsure {
            match find(client, token, policy).await {
                Ok(Some(d)) => {
                    tracing::warn!(
                        "adopting deployment {} made by an earlier attempt whose answer was lost",
                        d.deployment_id
                    );
                    return Ok(created(d));
                }
                Ok(None) => {
                    tracing::info!("no deployment from the earlier attempt: sending it again");
                    earlier_unsure = false;
                }
                Err(e) => {
                    let console = format!(
                        "the environment's deployments ({})",
                        client.target().environment
                    );
                    return Err(backoff.gave_up(e, true, console));
                }
            }
        }
        *unsure = true;
        let err = match client.create_deployment(body).await {
            Ok(c) => return Ok(c),
            Err(e) => e,
        };
        if let Some(skew) = err.skew_to_correct().filter(|_| !clock_corrected) {
            clock_corrected = true;
            *unsure = earlier_unsure;
            client.correct_clock(skew);
            tracing::warn!(
                "attempt {attempt} was refused because this machine's clock is {}s off AWS's; signing with AWS's time and trying once more",
                skew.abs()
            );
            continue;
        }
        let class = match &err {
            ApiError::Malformed { .. } => Class::Ambiguous,
            other => classify(other),
        };
        if class == Class::Fatal {
            *unsure = earlier_unsure;
            return Err(RetryError::Api(err));
        }
        earlier_unsure |= class == Class::Ambiguous;
        *unsure = earlier_unsure;
        match backoff.next_delay(&err) {
            Some(delay) => tokio::time::sleep(delay).await,
            None => {
                let console = format!(
                    "the environment's deployments ({})",
                    client.target().environment
                );
                return Err(backoff.gave_up(err, earlier_unsure, console));
            }
        }
    }
}

/// The deployment this run's token marks, newest first, from every page of the
/// environment's deployments; each page is retried within the policy.
pub async fn find(
    client: &Client,
    token: &str,
    policy: &Policy,
) -> Result<Option<Deployment>, ApiError> {
    let mut next: Option<String> = None;
    let mut found: Option<Deployment> = None;
    for _ in 0..MAX_PAGES {
        let page = repeatable::<_, Deployment>(policy, async || {
            client.list_deployments_page(next.as_deref()).await
        })
        .await
        .map_err(last_error)?;
        let (deployments, more) = page;
        for d in deployments {
            let ours = d.description.as_deref().is_some_and(|t| t.contains(token));
            let newer = found
                .as_ref()
                .is_none_or(|f| d.created_at.unwrap_or(0.0) > f.created_at.unwrap_or(0.0));
            if ours && newer {
                found = Some(d);
            }
        }
        match more {
            Some(t) => next = Some(t),
            None => return Ok(found),
        }
    }
    Ok(found)
}

fn created(d: Deployment) -> Created {
    Created {
        deployment_id: d.deployment_id,
        deployment_arn: d.deployment_arn,
        status: d.status,
    }
}

/// What a signal leaves: when a deployment may exist, one quick check (by the run's token) so
/// the outputs can name it.
async fn interrupted(
    client: &Client,
    token: &str,
    policy: &Policy,
    code: u8,
    maybe_started: bool,
) -> RetryError {
    retry::interrupted(
        code,
        maybe_started,
        "deployment",
        find(client, token, policy),
    )
    .await
}

/// Seconds since the epoch on this machine's clock.
pub fn seconds_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Sourced;

    #[test]
    fn the_description_keeps_the_token_and_fits_256_characters() {
        let commit = Commit {
            id: Some(Sourced {
                value: "0123456789abcdef".into(),
                from: "test".into(),
            }),
            subject: Some("é".repeat(400)),
        };
        let d = description(&commit, "asj-00000000000000ff");
        assert!(d.starts_with("0123456 éé"), "{d}");
        assert!(d.ends_with(" [asj-00000000000000ff]"), "{d}");
        assert_eq!(d.chars().count(), 256);
        assert_eq!(description(&Commit::default(), "asj-1"), "[asj-1]");
    }

    #[test]
    fn tokens_are_of_the_tag_pattern_and_differ() {
        let (a, b) = (run_token(), run_token());
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        );
    }
}
