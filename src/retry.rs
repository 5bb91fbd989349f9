//! Retries that never double a deploy.
//!
//! Only transient failures are retried, with exponential backoff and full jitter (backon's
//! schedule is the ceiling, a uniform draw below it the delay), honouring `Retry-After`, bounded
//! by attempts and elapsed time. `StartJob` is not idempotent: after an attempt whose outcome is
//! unknown, the branch's newest jobs are listed and a job this request made is adopted instead
//! of starting another, judged as AWS records an API-started job (see [`ours`]). A busy branch
//! ("already have pending or running jobs") is not throttling: it is never retried here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

use crate::amplify::{ApiError, Client, JobSummary, StartJobBody};
use crate::cancel::Cancel;
use crate::env::{Env, Name, SettingsError, duration};
use crate::runner::untrusted;

pub const MAX_ATTEMPTS: Name = Name {
    var: "AMPLIFY_MAX_ATTEMPTS",
    input: "max-attempts",
};
pub const RETRY_TIMEOUT: Name = Name {
    var: "AMPLIFY_RETRY_TIMEOUT",
    input: "retry-timeout",
};
pub const RETRY_BASE_DELAY: Name = Name {
    var: "AMPLIFY_RETRY_BASE_DELAY",
    input: "retry-base-delay",
};
pub const REQUEST_TIMEOUT: Name = Name {
    var: "AMPLIFY_REQUEST_TIMEOUT",
    input: "request-timeout",
};
/// The limit of one attempt, from connecting to the last byte of the answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub max_attempts: u32,
    /// No retry starts after this much time since the first attempt.
    pub timeout: Duration,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 8,
            timeout: Duration::from_secs(120),
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl Policy {
    /// `AMPLIFY_MAX_ATTEMPTS` (else `AWS_MAX_ATTEMPTS`), `AMPLIFY_RETRY_TIMEOUT` and
    /// `AMPLIFY_RETRY_BASE_DELAY`, checked.
    pub fn from_env(env: &Env) -> Result<Policy, SettingsError> {
        let defaults = Policy::default();
        let given = env
            .get(MAX_ATTEMPTS.var)
            .map(|v| (MAX_ATTEMPTS.var, v))
            .or_else(|| env.get("AWS_MAX_ATTEMPTS").map(|v| ("AWS_MAX_ATTEMPTS", v)));
        let max_attempts = match given {
            None => defaults.max_attempts,
            Some((var, v)) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => {
                    return Err(SettingsError::new(
                        var,
                        Some(MAX_ATTEMPTS.input),
                        Some(v),
                        "not a whole number from 1 to 100",
                        "set the total number of attempts, e.g. 8 (1 means no retries)",
                    ));
                }
            },
        };
        Ok(Policy {
            max_attempts,
            timeout: duration(env.get(RETRY_TIMEOUT.var), RETRY_TIMEOUT, defaults.timeout)?,
            base_delay: duration(
                env.get(RETRY_BASE_DELAY.var),
                RETRY_BASE_DELAY,
                defaults.base_delay,
            )?,
            max_delay: defaults.max_delay,
        })
    }
}

/// `AMPLIFY_REQUEST_TIMEOUT`: the limit of one attempt (and of each credential request).
pub fn request_timeout(env: &Env) -> Result<Duration, SettingsError> {
    let value = env.get(REQUEST_TIMEOUT.var);
    let timeout = duration(value, REQUEST_TIMEOUT, DEFAULT_REQUEST_TIMEOUT)?;
    if timeout.is_zero() {
        return Err(SettingsError::of(
            REQUEST_TIMEOUT,
            value,
            "an attempt needs some time",
            "set a positive duration such as 30s",
        ));
    }
    Ok(timeout)
}

/// How far back a job may have started and still be ours: a job's `startTime` is the
/// server's clock, ours may lag or lead it.
pub const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(60);
/// How many of the branch's newest jobs are compared.
const RECONCILE_WINDOW: u8 = 20;
/// After a signal, how long the one check for a job an in-flight attempt may have started
/// may take: CI kills the container soon after (GitHub: 10 s after SIGINT).
pub const INTERRUPTED_CHECK: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Not transient: never retried.
    Fatal,
    /// Transient, and the server surely did not act on it.
    Retry,
    /// Transient, but the job may exist: reconcile before starting another.
    Ambiguous,
}

pub fn classify(err: &ApiError) -> Class {
    match err {
        ApiError::Service {
            status,
            code,
            message,
            ..
        } => match (status, code.as_str()) {
            // A busy branch passes when its job ends, not with time: the caller decides.
            _ if err.is_busy() => Class::Fatal,
            // A quota (50 branches per app) is not throttling: it will not pass by itself.
            (_, "LimitExceededException") if is_quota(message) => Class::Fatal,
            (_, "LimitExceededException" | "ThrottlingException" | "TooManyRequestsException") => {
                Class::Retry
            }
            (429, _) => Class::Retry,
            (500 | 502 | 503 | 504, _) => Class::Ambiguous,
            _ => Class::Fatal,
        },
        ApiError::Transport { sent: false, .. } => Class::Retry,
        ApiError::Transport { sent: true, .. } => Class::Ambiguous,
        ApiError::Malformed { .. } | ApiError::Signing(_) | ApiError::Credentials { .. } => {
            Class::Fatal
        }
    }
}

/// Throttled retries draw their delay from this many base delays (25 s by default): the
/// window that lets 50 to 200 pipelines sharing one StartJob quota through at its rate with
/// few wasted attempts (README, Performance: benches/fleet.py).
pub const THROTTLE_WINDOW: u32 = 25;

/// A refusal because of the request rate (not a quota, not a server fault).
fn is_throttle(err: &ApiError) -> bool {
    !err.is_busy()
        && matches!(err, ApiError::Service { status, code, message, .. }
        if (*status == 429
            || matches!(code.as_str(), "LimitExceededException" | "ThrottlingException" | "TooManyRequestsException"))
            && !is_quota(message))
}

/// A `LimitExceededException` about a count of resources (branches, apps), not a rate.
pub fn is_quota(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("branches") || m.contains("maximum number")
}

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error(transparent)]
    Api(ApiError),
    #[error("gave up after {attempts} attempt(s) over {secs:.1}s: {last}", secs = elapsed.as_secs_f64())]
    GaveUp {
        attempts: u32,
        elapsed: Duration,
        last: ApiError,
        /// The last failure left the outcome unknown: a job may exist.
        maybe_started: bool,
        /// The branch's jobs in the Amplify console, to check by hand.
        console: String,
    },
    /// A job this run made could be neither started nor stopped: it blocks the branch's next
    /// deployment until it is stopped.
    #[error(
        "{source}; job {job_id} ({status}), made by this run, could be neither started nor stopped"
    )]
    Stuck {
        job_id: String,
        status: String,
        /// The command that stops it.
        stop: String,
        source: Box<RetryError>,
    },
    /// CI cancelled the run (exit code 130 or 143) before a job was known to be started.
    #[error("interrupted")]
    Interrupted {
        code: u8,
        /// An attempt was in flight, or an earlier one's outcome was unknown.
        maybe_started: bool,
        /// The job that attempt started, when the quick check after the signal found it.
        job: Option<JobSummary>,
    },
}

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
        None => !crate::amplify::is_final(&job.status),
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

/// What a signal leaves: when a job may exist, one check (at most [`INTERRUPTED_CHECK`])
/// so the outputs can name it.
async fn interrupted(a: &Attempts<'_>, code: u8, maybe_started: bool) -> RetryError {
    let job = if maybe_started {
        match tokio::time::timeout(INTERRUPTED_CHECK, reconcile(a)).await {
            Ok(Ok(job)) => job,
            Ok(Err(e)) => {
                tracing::warn!(
                    "could not check for a job after the signal: {}",
                    untrusted(&short(&e))
                );
                None
            }
            Err(_) => {
                tracing::warn!("could not check for a job after the signal in time");
                None
            }
        }
    } else {
        None
    };
    RetryError::Interrupted {
        code,
        maybe_started,
        job,
    }
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

/// An operation that is safe to repeat (a read, or a write whose repeat answers "already
/// done"): retried for every transient failure under the policy.
pub async fn repeatable<T>(
    policy: &Policy,
    mut op: impl AsyncFnMut() -> Result<T, ApiError>,
) -> Result<T, RetryError> {
    let mut backoff = Backoff::new(policy);
    loop {
        backoff.attempt();
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if classify(&err) == Class::Fatal {
            return Err(RetryError::Api(err));
        }
        match backoff.next_delay(&err) {
            Some(d) => tokio::time::sleep(d).await,
            None => return Err(backoff.gave_up(err, false, String::new())),
        }
    }
}

/// The error a [`repeatable`] operation ended with, after its retries.
pub fn last_error(e: RetryError) -> ApiError {
    match e {
        RetryError::Api(e) | RetryError::GaveUp { last: e, .. } => e,
        RetryError::Stuck { source, .. } => last_error(*source),
        RetryError::Interrupted { .. } => ApiError::Transport {
            operation: "check",
            endpoint: String::new(),
            detail: "interrupted".into(),
            sent: true,
        },
    }
}

/// The schedule between the attempts of one operation: exponential from the base delay to
/// the ceiling with full jitter, or `Retry-After` when AWS gives one, bounded by the attempts
/// and the time budget of the policy.
pub struct Backoff {
    policy: Policy,
    first: Instant,
    attempts: u32,
    schedule: backon::ExponentialBackoff,
}

impl Backoff {
    pub fn new(policy: &Policy) -> Backoff {
        Backoff {
            policy: *policy,
            first: Instant::now(),
            attempts: 0,
            schedule: ExponentialBuilder::default()
                .with_min_delay(policy.base_delay)
                .with_max_delay(policy.max_delay)
                .without_max_times()
                .build(),
        }
    }

    /// Counts an attempt about to start; returns its number.
    pub fn attempt(&mut self) -> u32 {
        self.attempts += 1;
        self.attempts
    }

    /// After the failed attempt `err`: the wait before the next one, logged; `None` when the
    /// attempts or the time budget are used up.
    pub fn next_delay(&mut self, err: &ApiError) -> Option<Duration> {
        let remaining = self.policy.timeout.saturating_sub(self.first.elapsed());
        if self.attempts >= self.policy.max_attempts || remaining.is_zero() {
            return None;
        }
        let ceiling = self.schedule.next().unwrap_or(self.policy.max_delay);
        // Throttling means other clients share the quota: spread over a wide window at once,
        // so a fleet of pipelines drains at the quota's rate instead of colliding again.
        let ceiling = if is_throttle(err) {
            self.policy.base_delay * THROTTLE_WINDOW
        } else {
            ceiling
        };
        let (delay, why) = match retry_after(err) {
            Some(ra) => (ra, " (Retry-After)"),
            None => (full_jitter(ceiling), ""),
        };
        let delay = delay.min(remaining);
        tracing::warn!(
            "attempt {} of {} failed: {}; retrying in {:.1}s{why}",
            self.attempts,
            self.policy.max_attempts,
            untrusted(&short(err)),
            delay.as_secs_f64()
        );
        Some(delay)
    }

    /// Giving up after `last`; `maybe_started` when an attempt's outcome is unknown.
    pub fn gave_up(&self, last: ApiError, maybe_started: bool, console: String) -> RetryError {
        RetryError::GaveUp {
            attempts: self.attempts,
            elapsed: self.first.elapsed(),
            last,
            maybe_started,
            console,
        }
    }
}

/// How a failed StartJob is treated: as [`classify`] says, except that a 2xx answer that
/// cannot be read means the job was probably created, so its outcome is unknown.
fn start_job_class(err: &ApiError) -> Class {
    match err {
        ApiError::Malformed { .. } => Class::Ambiguous,
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

fn retry_after(err: &ApiError) -> Option<Duration> {
    match err {
        ApiError::Service { retry_after, .. } => *retry_after,
        _ => None,
    }
}

fn short(err: &ApiError) -> String {
    match err {
        ApiError::Service {
            operation,
            status,
            code,
            message,
            ..
        } => {
            format!(
                "{operation}: {code} (HTTP {status}): {}",
                crate::env::truncate_chars(message, 200).0
            )
        }
        other => other.to_string(),
    }
}

/// A uniform draw in `[0, ceiling]`.
fn full_jitter(ceiling: Duration) -> Duration {
    let fraction = (crate::random::random_u64() >> 11) as f64 / (1u64 << 53) as f64;
    ceiling.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(status: u16, code: &str) -> ApiError {
        ApiError::Service {
            operation: "StartJob",
            status,
            code: code.into(),
            message: String::new(),
            request_id: None,
            retry_after: None,
            clock_skew: None,
            hint: None,
        }
    }

    #[test]
    fn only_transient_failures_are_retried() {
        assert_eq!(
            classify(&service(429, "LimitExceededException")),
            Class::Retry
        );
        assert_eq!(classify(&service(400, "ThrottlingException")), Class::Retry);
        for s in [500, 502, 503, 504] {
            assert_eq!(classify(&service(s, "X")), Class::Ambiguous, "{s}");
        }
        for (s, c) in [
            (400, "BadRequestException"),
            (401, "UnauthorizedException"),
            (403, "AccessDeniedException"),
            (404, "NotFoundException"),
            (403, "InvalidSignatureException"),
        ] {
            assert_eq!(classify(&service(s, c)), Class::Fatal, "{c}");
        }
        let transport = |sent| ApiError::Transport {
            operation: "StartJob",
            endpoint: String::new(),
            detail: String::new(),
            sent,
        };
        assert_eq!(classify(&transport(false)), Class::Retry);
        assert_eq!(classify(&transport(true)), Class::Ambiguous);
    }

    #[test]
    fn jitter_stays_under_the_ceiling() {
        let c = Duration::from_secs(4);
        let draws: Vec<Duration> = (0..200).map(|_| full_jitter(c)).collect();
        assert!(draws.iter().all(|d| *d <= c));
        assert!(
            draws.iter().any(|d| *d < c / 2) && draws.iter().any(|d| *d > c / 2),
            "spread over the range"
        );
    }

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
