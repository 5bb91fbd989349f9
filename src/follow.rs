//! `mode: follow`: start nothing, and follow the job Amplify started for this run's commit
//! (its webhook build, or a release): found with `ListJobs` by commit id, the newest, webhook
//! and release builds first. The webhook can lag behind the push, so it keeps looking, paced
//! like polls and never more often than every 5 s, until `follow-timeout`.

use std::time::Duration;

use tokio::time::Instant;

use crate::amplify::{Client, JobSummary};
use crate::env::{Env, Name, SettingsError, duration, show_duration};
use crate::retry::{Policy, RetryError, repeatable};
use crate::runner::untrusted;

pub const FOLLOW_TIMEOUT: Name = Name {
    var: "AMPLIFY_FOLLOW_TIMEOUT",
    input: "follow-timeout",
};
/// Never look for the job more often than this.
pub const MIN_LOOKUP_INTERVAL: Duration = Duration::from_secs(5);
/// Jobs per page, and pages looked at: a commit older than 100 jobs is not found.
const PAGE: u8 = 50;
const PAGES: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FollowSettings {
    /// How long to look for the job before giving up.
    pub timeout: Duration,
}

impl FollowSettings {
    pub fn from_env(env: &Env) -> Result<FollowSettings, SettingsError> {
        Ok(FollowSettings {
            timeout: duration(
                env.get(FOLLOW_TIMEOUT.var),
                FOLLOW_TIMEOUT,
                Duration::from_secs(5 * 60),
            )?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(
        "no Amplify job for commit {commit} on branch {branch} within follow-timeout (AMPLIFY_FOLLOW_TIMEOUT) {limit}{older}; likely: auto-build is off for the branch, the app is a monorepo whose paths this commit did not change, or the commit was pushed to another branch; raise follow-timeout if the webhook is slow"
    )]
    NoJob {
        commit: String,
        branch: String,
        limit: String,
        /// Set when the branch has more jobs than are looked at.
        older: &'static str,
    },
    #[error(transparent)]
    Api(#[from] RetryError),
}

/// Which of several jobs of the commit is followed: webhook and release builds before
/// retries and manual jobs, then the newest.
fn rank(job: &JobSummary) -> (bool, u64) {
    let preferred = matches!(job.job_type.as_str(), "WEB_HOOK" | "RELEASE");
    (preferred, job.job_id.parse().unwrap_or(0))
}

/// Looks for the commit's job until it appears or `s.timeout` passes; lookups start at
/// `poll` and grow like polls, never tighter than [`MIN_LOOKUP_INTERVAL`].
pub async fn find(
    client: &Client,
    commit: &str,
    s: &FollowSettings,
    poll: Duration,
    policy: &Policy,
) -> Result<JobSummary, FollowError> {
    let deadline = Instant::now() + s.timeout;
    let mut interval = poll.max(MIN_LOOKUP_INTERVAL);
    let mut logged = false;
    loop {
        let (found, more) = lookup(client, commit, policy).await?;
        if let Some(job) = found {
            tracing::info!(
                "following job {} ({}, {}) for commit {}",
                job.job_id,
                job.job_type,
                job.status,
                untrusted(commit)
            );
            return Ok(job);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(FollowError::NoJob {
                commit: commit.to_string(),
                branch: client.target().branch.clone(),
                limit: show_duration(s.timeout),
                older: if more {
                    " (among the branch's 100 newest jobs; an older commit is not looked for)"
                } else {
                    ""
                },
            });
        }
        if !logged {
            tracing::info!(
                "no job for commit {} yet: looking again every {}s or more, for up to {}",
                untrusted(commit),
                interval.as_secs(),
                show_duration(s.timeout)
            );
            logged = true;
        }
        tokio::time::sleep_until((now + interval).min(deadline)).await;
        interval = interval.mul_f64(1.5).min(crate::wait::MAX_POLL_INTERVAL);
    }
}

/// The commit's best job among the newest [`PAGES`] pages, and whether there were more.
async fn lookup(
    client: &Client,
    commit: &str,
    policy: &Policy,
) -> Result<(Option<JobSummary>, bool), RetryError> {
    let mut token: Option<String> = None;
    let mut best: Option<JobSummary> = None;
    for _ in 0..PAGES {
        let t = token.clone();
        let (jobs, next) = repeatable(policy, async || {
            client.list_jobs_page(PAGE, t.as_deref()).await
        })
        .await?;
        for job in jobs.into_iter().filter(|j| j.commit_id == commit) {
            if best.as_ref().is_none_or(|b| rank(&job) > rank(b)) {
                best = Some(job);
            }
        }
        match next {
            Some(n) if best.is_none() => token = Some(n),
            Some(_) => return Ok((best, true)),
            None => return Ok((best, false)),
        }
    }
    Ok((best, token.is_some()))
}
