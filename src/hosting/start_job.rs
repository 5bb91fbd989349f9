//! StartJob without doubling a deploy. StartJob is not idempotent: after an attempt whose
//! outcome is unknown, the branch's newest jobs are listed and a job this request made is
//! adopted instead of starting another, judged as AWS records an API-started job (see
//! [`ours`]). A busy branch ("already have pending or running jobs") is not throttling: it is
//! never retried here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::aws::error::ApiError;
use crate::aws::retry::{self, Backoff, Class, Policy, classify, last_error};
use crate::cancel::Cancel;
use crate::hosting::api::client::Client;
use crate::hosting::api::jobs::{JobSummary, StartJobBody, is_final};
use crate::runner::untrusted;

/// A retried Hosting call's failure: its interrupted attempt may have made a job.
pub type RetryError = crate::aws::retry::RetryError<JobSummary>;

/// [`crate::aws::retry::repeatable`] for a Hosting call: a read, or a write whose repeat
/// answers "already done".
pub async fn repeatable<T>(
    policy: &Policy,
    op: impl AsyncFnMut() -> Result<T, ApiError>,
) -> Result<T, RetryError> {
    crate::aws::retry::repeatable(policy, op).await
}

/// How far back a job may have started and still be ours: a job's `startTime` is the
/// server's clock, ours may lag or lead it.
pub const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(60);
/// How many of the branch's newest jobs are compared.
const RECONCILE_WINDOW: u8 = 20;

/// What the run knew of the branch's jobs before its first attempt.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Jobs this run stopped (`cancel-previous`, `if-busy: cancel`): never adopted.
    pub stopped: Vec<String>,
    /// The newest job id seen before the attempt, when a listing was made: a job this run
    /// starts has a higher one.
    pub newest: Option<u64>,
}

/// Did `body`'s StartJob make `job`, started no earlier than `since` (seconds, AWS's clock)?
/// Judged as AWS records an API-started job: its `commitId` is "HEAD" (or, for a retry, the
/// retried job's), its answers and summaries often lack `jobType` and `commitMessage`. So:
/// started since the attempt (or, without a `startTime`, not ended), newer than any job seen
/// before, and recorded as "HEAD", with no commit, or with this commit.
pub fn ours(job: &JobSummary, body: &StartJobBody, since: f64, known: &Known) -> bool {
    let recorded = body.job_type == "RETRY"
        || job.commit_id.is_empty()
        || job.commit_id == "HEAD"
        || body.commit_id.as_deref() == Some(job.commit_id.as_str());
    let recent = match job.start_time {
        Some(start) => start >= since,
        None => !is_final(&job.status),
    };
    recorded
        && recent
        && known.newest.is_none_or(|n| job.number() > n)
        && !known.stopped.contains(&job.job_id)
}

/// Starts one job, retrying per `policy`; never two. A signal ends it at once: no attempt
/// starts after it, and an attempt it cut short is checked for once (bounded).
/// `known`: what the run saw of the branch before (jobs it stopped are never adopted).
pub async fn start_job(
    client: &Client,
    body: &StartJobBody,
    policy: &Policy,
    cancel: &Cancel,
    known: &Known,
) -> Result<JobSummary, RetryError> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(CLOCK_SKEW_ALLOWANCE)
        .as_secs_f64();
    let mut unsure = false;
    let attempts = Attempts {
        client,
        body,
        policy,
        since,
        known,
    };
    let result = tokio::select! {
        biased;
        code = cancel.cancelled() => Err(code),
        r = attempts.run(&mut unsure, cancel) => Ok(r),
    };
    match result {
        Ok(r) => r,
        Err(code) => Err(interrupted(&attempts, code, unsure).await),
    }
}

/// What a signal leaves: when a job may exist, one quick check so the outputs can name it.
async fn interrupted(a: &Attempts<'_>, code: u8, maybe_started: bool) -> RetryError {
    retry::interrupted(code, maybe_started, "job", reconcile(a)).await
}

struct Attempts<'a> {
    client: &'a Client,
    body: &'a StartJobBody,
    policy: &'a Policy,
    /// Seconds since the epoch (our clock) no later than any job this run starts.
    since: f64,
    known: &'a Known,
}

impl Attempts<'_> {
    /// The attempts; `unsure` is set while an attempt in flight, or an earlier one whose
    /// answer was lost, may have created the job.
    async fn run(&self, unsure: &mut bool, cancel: &Cancel) -> Result<JobSummary, RetryError> {
        let (client, body) = (self.client, self.body);
        let mut backoff = Backoff::new(self.policy);
        // Set while an earlier attempt may have created the job.
        let mut earlier_unsure = false;
        let mut clock_corrected = false;
        loop {
            if cancel.code().is_some() {
                // The signal is handled by the caller's select; start nothing more.
                std::future::pending::<()>().await;
            }
            let attempts = backoff.attempt();
            *unsure = true;
            let result = if earlier_unsure {
                match reconcile(self).await {
                    Ok(Some(job)) => {
                        tracing::warn!(
                            "adopting job {} started by an earlier attempt whose answer was lost",
                            job.job_id
                        );
                        return Ok(job);
                    }
                    Ok(None) => {
                        tracing::info!("no job from the earlier attempt: starting one");
                        earlier_unsure = false;
                        client.start_job(body).await
                    }
                    Err(e) => Err(e),
                }
            } else {
                client.start_job(body).await
            };
            let err = match result {
                Ok(job) => return Ok(job),
                Err(e) => e,
            };
            if let Some(skew) = err.skew_to_correct().filter(|_| !clock_corrected) {
                clock_corrected = true;
                *unsure = earlier_unsure;
                client.correct_clock(skew);
                tracing::warn!(
                    "attempt {attempts} was refused because this machine's clock is {}s {} AWS's ({}); signing with AWS's time and trying once more",
                    skew.abs(),
                    if skew > 0 { "behind" } else { "ahead of" },
                    untrusted(err.message().unwrap_or_default())
                );
                continue;
            }
            let class = start_job_class(&err);
            if class == Class::Fatal {
                if earlier_unsure {
                    return Err(backoff.gave_up(err, true, client.branch_console_url()));
                }
                return Err(RetryError::Api(err));
            }
            earlier_unsure |= class == Class::Ambiguous;
            *unsure = earlier_unsure;
            match backoff.next_delay(&err) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => {
                    return Err(backoff.gave_up(err, earlier_unsure, client.branch_console_url()));
                }
            }
        }
    }
}

/// How a failed StartJob is treated: as [`classify`] says, except that a 2xx answer that
/// cannot be read means the job was probably created, so its outcome is unknown.
fn start_job_class(err: &ApiError) -> Class {
    match err {
        ApiError::Malformed { .. } => Class::Ambiguous,
        // A busy branch passes when its job ends, not with time: the caller decides.
        busy if busy.is_busy() => Class::Fatal,
        other => classify(other),
    }
}

/// After an attempt whose outcome is unknown: the job it made, if any, from the branch's newest
/// jobs. The listing is retried within the policy: one failed check does not end the run.
async fn reconcile(a: &Attempts<'_>) -> Result<Option<JobSummary>, ApiError> {
    let jobs = repeatable(a.policy, async || {
        a.client.list_jobs(RECONCILE_WINDOW).await
    })
    .await
    .map_err(last_error)?;
    // startTime is AWS's clock: compare in it once a skew is known.
    let since = a.since + a.client.clock_offset() as f64;
    Ok(jobs
        .into_iter()
        .filter(|j| ours(j, a.body, since, a.known))
        .max_by_key(JobSummary::number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ours_is_judged_as_aws_records_an_api_started_job() {
        let body = StartJobBody {
            job_type: "RELEASE".into(),
            job_id: None,
            job_reason: Some("ignored".into()),
            commit_id: Some("abc".into()),
            commit_message: Some("msg".into()),
            commit_time: Some(100),
        };
        // As AWS lists it: no jobType, no commitMessage.
        let job = |id: &str, c: &str, start: Option<f64>, status: &str| JobSummary {
            job_arn: String::new(),
            job_id: id.into(),
            status: status.into(),
            commit_id: c.into(),
            commit_message: String::new(),
            commit_time: Some(100.0),
            start_time: start,
            end_time: None,
            job_type: String::new(),
            raw: serde_json::Value::Null,
        };
        let none = Known::default();
        let pending = |c: &str, start: f64| job("5", c, Some(start), "PENDING");
        assert!(ours(&pending("HEAD", 1000.0), &body, 999.0, &none), "HEAD");
        assert!(
            ours(&pending("abc", 1000.0), &body, 999.0, &none),
            "this commit"
        );
        assert!(
            !ours(&pending("abd", 1000.0), &body, 999.0, &none),
            "a webhook build of another commit"
        );
        assert!(
            !ours(&pending("HEAD", 998.0), &body, 999.0, &none),
            "started before the attempt"
        );
        let seen = Known {
            stopped: vec!["6".into()],
            newest: Some(5),
        };
        assert!(
            !ours(&pending("HEAD", 1000.0), &body, 999.0, &seen),
            "seen before"
        );
        assert!(ours(
            &job("7", "HEAD", Some(1000.0), "RUNNING"),
            &body,
            999.0,
            &seen
        ));
        assert!(
            !ours(
                &job("6", "HEAD", Some(1000.0), "CANCELLING"),
                &body,
                999.0,
                &seen
            ),
            "stopped by this run"
        );
        assert!(
            ours(&job("7", "HEAD", None, "PENDING"), &body, 999.0, &seen),
            "no startTime: an unfinished job newer than any seen"
        );
        assert!(!ours(
            &job("7", "HEAD", None, "SUCCEED"),
            &body,
            999.0,
            &seen
        ));
    }
}
