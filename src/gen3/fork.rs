//! `mode: authorize-fork`: which fork pull request's commit to accept, checked before anything
//! is sent. The commit is the pull request's head as the event gives it, never the merge
//! commit (`GITHUB_SHA` of a `pull_request_target` run is the base's): else `commit-id` and
//! `pull-request`. On GitHub only events that run the base's workflow, never the fork's code,
//! may accept.

use crate::ci::{self, COMMIT_ID, PrHead};
use crate::env::{Env, SettingsError, Sourced};
use crate::gen3::settings::PULL_REQUEST;

/// The GitHub events `authorize-fork` runs on.
pub const EVENTS: [&str; 5] = [
    "pull_request_target",
    "workflow_run",
    "issue_comment",
    "pull_request_review",
    "workflow_dispatch",
];

/// The commit to accept, its pull request, and what the event says of them.
#[derive(Debug, Clone)]
pub struct ForkRequest {
    pub sha: Sourced<String>,
    pub pull_request: Sourced<String>,
    pub author: Option<String>,
    /// `Some(false)`: the pull request is not from a fork (nothing to accept).
    pub fork: Option<bool>,
    pub head_repository: Option<String>,
}

impl ForkRequest {
    pub fn from_env(env: &Env, ci: &ci::Context) -> Result<ForkRequest, SettingsError> {
        let github = env.get("GITHUB_ACTIONS") == Some("true");
        let event = ci.event_name.as_deref().unwrap_or_default();
        if github && !EVENTS.contains(&event) {
            return Err(SettingsError::new(
                "AMPLIFY_MODE",
                Some("mode"),
                env.get("AMPLIFY_MODE"),
                &format!(
                    "authorize-fork accepts a fork's commit from a workflow that runs none of its code, and this run is for a {} event",
                    if event.is_empty() { "(unknown)" } else { event }
                ),
                "run it on pull_request_target, workflow_run, issue_comment, pull_request_review or workflow_dispatch, gated on a maintainer's label or approval",
            ));
        }
        let head = ci.pr_head.clone().unwrap_or_default();
        let sha = sha(env, &head)?;
        let pull_request = number(env, &head)?;
        Ok(ForkRequest {
            sha,
            pull_request,
            author: head.author,
            fork: head.fork,
            head_repository: head.head_repository,
        })
    }
}

/// The head commit: the event's, else `commit-id`; 40 hex digits (the model's `CommitSha`).
fn sha(env: &Env, head: &PrHead) -> Result<Sourced<String>, SettingsError> {
    let given = env.get(COMMIT_ID.var);
    let sha = match (&head.sha, given) {
        (Some(h), Some(g)) if !h.value.eq_ignore_ascii_case(g) => {
            return Err(SettingsError::of(
                COMMIT_ID,
                Some(g),
                &format!(
                    "the event's pull request head is {} ({}), not this commit",
                    h.value, h.from
                ),
                "leave commit-id empty: the head commit comes from the event",
            ));
        }
        (Some(h), _) => h.clone(),
        (None, Some(g)) => Sourced {
            value: g.to_string(),
            from: COMMIT_ID.var.into(),
        },
        (None, None) => {
            return Err(SettingsError::of(
                COMMIT_ID,
                None,
                "authorize-fork needs the pull request's head commit, and the event does not give it",
                "set commit-id to the pull request's head SHA (never the merge commit)",
            ));
        }
    };
    let lower = sha.value.to_ascii_lowercase();
    if lower.len() != 40 || !lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SettingsError::new(
            &sha.from,
            Some(COMMIT_ID.input),
            Some(&sha.value),
            "a commit to accept is its full SHA: 40 hex digits",
            "give the pull request's head SHA in full",
        ));
    }
    Ok(Sourced {
        value: lower,
        from: sha.from,
    })
}

/// The pull request's number: the event's, else `pull-request`; digits, at most 16.
fn number(env: &Env, head: &PrHead) -> Result<Sourced<String>, SettingsError> {
    let given = env.get(PULL_REQUEST.var);
    let valid = |v: &str| (1..=16).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit());
    if let Some(g) = given.filter(|g| !valid(g)) {
        return Err(SettingsError::of(
            PULL_REQUEST,
            Some(g),
            "a pull request's number is digits only",
            "set it to the number, e.g. 42",
        ));
    }
    match (head.number, given) {
        (Some(n), Some(g)) if n.to_string() != g.trim_start_matches('0') => Err(SettingsError::of(
            PULL_REQUEST,
            Some(g),
            &format!("the event is for pull request #{n}"),
            "leave pull-request empty: the number comes from the event",
        )),
        (Some(n), _) => Ok(Sourced {
            value: n.to_string(),
            from: "the event payload".into(),
        }),
        (None, Some(g)) => Ok(Sourced {
            value: g.to_string(),
            from: PULL_REQUEST.var.into(),
        }),
        (None, None) => Err(SettingsError::of(
            PULL_REQUEST,
            None,
            "authorize-fork needs the pull request's number, and the event does not give it",
            "set pull-request to the pull request's number",
        )),
    }
}
