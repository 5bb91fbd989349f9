//! `mode: follow`: start nothing, and follow the job Amplify started for this run's commit
//! (its webhook build, or a release): found with `ListJobs` by commit id, the newest, webhook
//! and release builds first. The webhook can lag behind the push, so it keeps looking, paced
//! like polls and never more often than every 5 s, until `follow-timeout`. Amplify records some
//! webhook builds as "HEAD" (the first build of a new branch, incoming webhooks): when no job
//! carries the commit and exactly one "HEAD" job started after the commit's time, that one is
//! followed; with several, the run names them and stops.

use std::time::Duration;

use tokio::time::Instant;

use crate::aws::retry::Policy;
use crate::env::{Env, Name, SettingsError, duration, show_duration};
use crate::hosting::api::client::Client;
use crate::hosting::api::jobs::JobSummary;
use crate::hosting::start_job::RetryError;
use crate::hosting::start_job::repeatable;
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
    #[error(
        "no Amplify job records commit {commit} on branch {branch}, and several recorded as HEAD started after it: {candidates}; set commit-id to the one to follow, or follow it by job id"
    )]
    Several {
        commit: String,
        branch: String,
        candidates: String,
    },
    #[error(transparent)]
    Api(#[from] RetryError),
}

/// What one look found.
struct Found {
    /// The newest, best job of the commit.
    best: Option<JobSummary>,
    /// Jobs recorded as "HEAD" that started after the commit's time.
    heads: Vec<JobSummary>,
    /// The branch has more jobs than were looked at.
    more: bool,
}

/// Which of several jobs of the commit is followed: webhook and release builds before
/// retries and manual jobs, then the newest.
fn rank(job: &JobSummary) -> (bool, u64) {
    let preferred = matches!(job.job_type.as_str(), "WEB_HOOK" | "RELEASE");
    (preferred, job.job_id.parse().unwrap_or(0))
}

/// Looks for the commit's job until it appears or `s.timeout` passes; lookups start at
/// `poll` and grow like polls, never tighter than [`MIN_LOOKUP_INTERVAL`].
/// `commit_time`: the commit's time (epoch seconds), when known: a "HEAD" job started after it
/// may be the commit's build.
pub async fn find(
    client: &Client,
    commit: &str,
    commit_time: Option<i64>,
    s: &FollowSettings,
    poll: Duration,
    policy: &Policy,
) -> Result<JobSummary, FollowError> {
    let deadline = Instant::now() + s.timeout;
    let mut interval = poll.max(MIN_LOOKUP_INTERVAL);
    let mut logged = false;
    loop {
        let Found { best, heads, more } = lookup(client, commit, commit_time, policy).await?;
        if let Some(job) = best {
            tracing::info!(
                "following job {} ({}{}) for commit {}",
                job.job_id,
                job.status,
                if job.job_type.is_empty() {
                    String::new()
                } else {
                    format!(", {}", job.job_type)
                },
                untrusted(commit)
            );
            return Ok(job);
        }
        match heads.as_slice() {
            [job] => {
                tracing::warn!(
                    "following job {} ({}): no job records commit {}, and this one, recorded as HEAD as Amplify records some webhook builds, is the only one started after the commit",
                    job.job_id,
                    job.status,
                    untrusted(commit)
                );
                return Ok(job.clone());
            }
            [] => {}
            several => {
                let ids: Vec<String> = several
                    .iter()
                    .map(|j| format!("{} ({})", j.job_id, j.status))
                    .collect();
                return Err(FollowError::Several {
                    commit: commit.to_string(),
                    branch: client.target().branch.clone(),
                    candidates: ids.join(", "),
                });
            }
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
        interval = interval
            .mul_f64(1.5)
            .min(crate::hosting::wait::MAX_POLL_INTERVAL);
    }
}

/// The commit's best job among the newest [`PAGES`] pages, the "HEAD" jobs started after the
/// commit's time, and whether there were more pages.
async fn lookup(
    client: &Client,
    commit: &str,
    commit_time: Option<i64>,
    policy: &Policy,
) -> Result<Found, RetryError> {
    let mut token: Option<String> = None;
    let mut found = Found {
        best: None,
        heads: Vec::new(),
        more: false,
    };
    for _ in 0..PAGES {
        let t = token.clone();
        let (jobs, next) = repeatable(policy, async || {
            client.list_jobs_page(PAGE, t.as_deref()).await
        })
        .await?;
        let since = commit_time.map(|t| t as f64 + client.clock_offset() as f64);
        for job in jobs {
            if job.commit_id == commit {
                if found.best.as_ref().is_none_or(|b| rank(&job) > rank(b)) {
                    found.best = Some(job);
                }
            } else if job.commit_id == "HEAD"
                && since.is_some_and(|c| job.start_time.is_some_and(|s| s >= c))
            {
                found.heads.push(job);
            }
        }
        match next {
            Some(n) if found.best.is_none() => token = Some(n),
            Some(_) => {
                found.more = true;
                return Ok(found);
            }
            None => return Ok(found),
        }
    }
    found.more = token.is_some();
    Ok(found)
}
