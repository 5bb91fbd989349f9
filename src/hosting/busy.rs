//! A busy branch. AWS lets a branch have one unfinished job (`CREATED`, `PENDING`,
//! `PROVISIONING`, `RUNNING` or `CANCELLING`): StartJob is refused with HTTP 429
//! `LimitExceededException` "The requested branch B already have pending or running jobs", and
//! CreateDeployment with "The last job(deployment) N was not finished". Neither passes with
//! time, so neither is retried as throttling: `if-busy` says what the start does.
//! - `wait` (default): follow that job until it ends (within `wait-timeout`), then start.
//! - `cancel`: stop it (as `cancel-previous` does), wait until it has ended, then start.
//! - `fail`: exit 3 at once, naming it.
//!
//! A job of this very commit (a webhook build of the push) is adopted: nothing is started.
//! While the branch is busy, the start is never sent more often than every 5 s.

use std::time::Duration;

use tokio::time::Instant;

use crate::aws::retry::Policy;
use crate::cancel::Cancel;
use crate::env::{Env, Name, SettingsError, duration, show_duration};
use crate::hosting::api::client::Client;
use crate::hosting::api::jobs::{JobSummary, is_final, unfinished};
use crate::hosting::deploy::{not_started, unfinished_hint};
use crate::hosting::start_job::repeatable;
use crate::hosting::start_job::{Known, RetryError};
use crate::hosting::wait::MAX_POLL_INTERVAL;
use crate::runner::untrusted;
use crate::waiting::WAIT_TIMEOUT;

pub const IF_BUSY: Name = Name {
    var: "AMPLIFY_IF_BUSY",
    input: "if-busy",
};
/// While the branch is busy, no start is sent sooner than this after the last refusal.
pub const MIN_START_INTERVAL: Duration = Duration::from_secs(5);
/// The first look at a job that is being waited for, and the growth after it.
const FIRST_LOOK: Duration = Duration::from_secs(5);
/// How many of the branch's newest jobs are looked through for the unfinished one.
const WINDOW: u8 = 20;

/// What a start does on a busy branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IfBusy {
    #[default]
    Wait,
    Cancel,
    Fail,
}

impl IfBusy {
    pub fn as_str(self) -> &'static str {
        match self {
            IfBusy::Wait => "wait",
            IfBusy::Cancel => "cancel",
            IfBusy::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BusySettings {
    pub policy: IfBusy,
    /// How long the run waits for the branch's jobs to end (`wait-timeout`).
    pub timeout: Duration,
}

impl BusySettings {
    /// `AMPLIFY_IF_BUSY` and `AMPLIFY_WAIT_TIMEOUT` (read even without `wait`: it bounds the
    /// wait for a busy branch too).
    pub fn from_env(env: &Env) -> Result<BusySettings, SettingsError> {
        let value = env.get(IF_BUSY.var);
        let policy = match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("wait") => IfBusy::Wait,
            Some("cancel") => IfBusy::Cancel,
            Some("fail") => IfBusy::Fail,
            Some(_) => {
                return Err(SettingsError::of(
                    IF_BUSY,
                    value,
                    "not a policy for a busy branch",
                    "use wait (the default), cancel or fail",
                ));
            }
        };
        Ok(BusySettings {
            policy,
            timeout: duration(
                env.get(WAIT_TIMEOUT.var),
                WAIT_TIMEOUT,
                Duration::from_secs(30 * 60),
            )?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusyError {
    #[error(
        "branch {branch} is busy with job {job} ({status}, commit {commit}), and if-busy (AMPLIFY_IF_BUSY) is {policy}"
    )]
    Refused {
        branch: String,
        job: String,
        status: String,
        commit: String,
        policy: &'static str,
        /// What to do about it.
        hint: String,
    },
    #[error(
        "branch {branch} was still busy with job {job} ({status}) after {limit}, the limit wait-timeout (AMPLIFY_WAIT_TIMEOUT) sets; nothing was started"
    )]
    TimedOut {
        branch: String,
        job: String,
        status: String,
        limit: String,
    },
    /// CI cancelled the run while it waited: nothing was started.
    #[error("interrupted")]
    Interrupted { code: u8 },
    #[error(transparent)]
    Api(#[from] RetryError),
}

impl BusyError {
    pub fn hint(&self) -> Option<String> {
        match self {
            BusyError::Refused { hint, .. } => Some(hint.clone()),
            BusyError::TimedOut { .. } => Some(
                "raise wait-timeout (e.g. 45m) to wait longer, or set if-busy: cancel to stop the job that holds the branch".into(),
            ),
            _ => None,
        }
    }
}

/// How the job the run reports came about.
#[derive(Debug)]
pub enum Started {
    /// This run started it.
    Started(JobSummary),
    /// The branch was busy with a job of this very commit: that job is the run's.
    Adopted(JobSummary),
}

/// A busy answer of `start`, and the job it names.
struct Busy {
    job: JobSummary,
    /// A deployment's refusal: its job may be one made and never started.
    deployment: bool,
}

/// Runs `start` (StartJob, or a manual deployment) until it is not refused as busy, handling
/// each refusal by the policy. `commit`: the run's commit, whose job is adopted; `None` for a
/// deployment, which has none.
pub async fn start_when_free(
    client: &Client,
    s: &BusySettings,
    policy: &Policy,
    commit: Option<&str>,
    cancel: &Cancel,
    mut known: Known,
    mut start: impl AsyncFnMut(&Known) -> Result<JobSummary, RetryError>,
) -> Result<Started, BusyError> {
    let deadline = Instant::now() + s.timeout;
    let mut refused_at: Option<Instant> = None;
    loop {
        if let Some(at) = refused_at {
            sleep_or_cancel(at + MIN_START_INTERVAL, cancel).await?;
        }
        let err = match start(&known).await {
            Ok(job) => return Ok(Started::Started(job)),
            Err(RetryError::Api(e)) if e.is_busy() || e.unfinished_deployment().is_some() => e,
            Err(e) => return Err(e.into()),
        };
        refused_at = Some(Instant::now());
        let Some(busy) = blocking(client, &err, policy, &mut known).await? else {
            tracing::info!("the branch was busy, and its job has ended meanwhile: starting");
            continue;
        };
        let job = &busy.job;
        if commit.is_some_and(|c| c == job.commit_id) {
            tracing::warn!(
                "job {} ({}) of branch {} builds this very commit {}: adopting it instead of starting another",
                job.job_id,
                job.status,
                untrusted(&client.target().branch),
                untrusted(&job.commit_id)
            );
            return Ok(Started::Adopted(busy.job));
        }
        // A deployment made and never started looks as a queued one does: it does not end by
        // itself, so waiting for it would only wait out the limit.
        let stuck = busy.deployment && not_started(&job.status);
        match s.policy {
            IfBusy::Fail => return Err(refused(client, &busy, IfBusy::Fail)),
            IfBusy::Wait if stuck => return Err(refused(client, &busy, IfBusy::Wait)),
            IfBusy::Wait => tracing::warn!(
                "branch {} is busy with job {} ({}, commit {}): waiting for it to end before starting (if-busy: wait)",
                untrusted(&client.target().branch),
                job.job_id,
                job.status,
                untrusted(&job.commit_id)
            ),
            IfBusy::Cancel => {
                tracing::warn!(
                    "branch {} is busy with job {} ({}, commit {}): stopping it (if-busy: cancel)",
                    untrusted(&client.target().branch),
                    job.job_id,
                    job.status,
                    untrusted(&job.commit_id)
                );
                stop(client, &job.job_id, policy).await?;
                known.stopped.push(job.job_id.clone());
            }
        }
        let id = job.job_id.clone();
        until_ended(client, &[id], deadline, s.timeout, policy, cancel).await?;
    }
}

/// The job a busy answer is about: the branch's unfinished job (StartJob), or the job the
/// refusal names (CreateDeployment). Records the newest job seen in `known`.
async fn blocking(
    client: &Client,
    err: &crate::aws::error::ApiError,
    policy: &Policy,
    known: &mut Known,
) -> Result<Option<Busy>, RetryError> {
    if let Some(id) = err.unfinished_deployment() {
        let job = repeatable(policy, async || client.get_job(&id).await).await?;
        known.newest = known.newest.max(Some(job.summary.number()));
        return Ok((!is_final(&job.summary.status)).then_some(Busy {
            job: job.summary,
            deployment: true,
        }));
    }
    let jobs = repeatable(policy, async || client.list_jobs(WINDOW).await).await?;
    known.newest = known.newest.max(jobs.iter().map(JobSummary::number).max());
    Ok(unfinished(&jobs).cloned().map(|job| Busy {
        job,
        deployment: false,
    }))
}

fn refused(client: &Client, busy: &Busy, policy: IfBusy) -> BusyError {
    let job = &busy.job;
    let hint = if busy.deployment {
        unfinished_hint(client, &job.job_id, Some(&job.status))
    } else {
        format!(
            "AWS runs one job per branch at a time: wait for job {} to end, set if-busy: wait (the default) to have the run wait for it, or if-busy: cancel to stop it",
            job.job_id
        )
    };
    BusyError::Refused {
        branch: client.target().branch.clone(),
        job: job.job_id.clone(),
        status: job.status.clone(),
        commit: if job.commit_id.is_empty() {
            "(none)".into()
        } else {
            job.commit_id.clone()
        },
        policy: policy.as_str(),
        hint,
    }
}

/// StopJob under the retry policy; a job that ended meanwhile is stopped enough.
async fn stop(client: &Client, job_id: &str, policy: &Policy) -> Result<(), RetryError> {
    match repeatable(policy, async || client.stop_job(job_id).await).await {
        Ok(_) => Ok(()),
        Err(RetryError::Api(e)) if e.message().is_some_and(|m| m.contains("ended")) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Waits until every job of `ids` has ended (a stopped job is `CANCELLING` for a while, and
/// still holds the branch), looking with `GetJob` at once and then every 5 s or more, growing
/// to 30 s; gives up at `deadline`.
pub async fn until_ended(
    client: &Client,
    ids: &[String],
    deadline: Instant,
    limit: Duration,
    policy: &Policy,
    cancel: &Cancel,
) -> Result<(), BusyError> {
    for id in ids {
        let mut interval = FIRST_LOOK;
        let mut last = String::new();
        loop {
            let job = tokio::select! {
                biased;
                code = cancel.cancelled() => return Err(BusyError::Interrupted { code }),
                r = repeatable(policy, async || client.get_job(id).await) => r?,
            };
            let status = job.summary.status;
            if is_final(&status) {
                tracing::info!("job {id} ended: {status}");
                break;
            }
            if status != last {
                tracing::info!("job {id}: {status}");
                last = status;
            }
            if Instant::now() >= deadline {
                return Err(BusyError::TimedOut {
                    branch: client.target().branch.clone(),
                    job: id.clone(),
                    status: last,
                    limit: show_duration(limit),
                });
            }
            sleep_or_cancel((Instant::now() + interval).min(deadline), cancel).await?;
            interval = interval.mul_f64(1.5).min(MAX_POLL_INTERVAL);
        }
    }
    Ok(())
}

async fn sleep_or_cancel(until: Instant, cancel: &Cancel) -> Result<(), BusyError> {
    tokio::select! {
        biased;
        code = cancel.cancelled() => Err(BusyError::Interrupted { code }),
        _ = tokio::time::sleep_until(until) => Ok(()),
    }
}
