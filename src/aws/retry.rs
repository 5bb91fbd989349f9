//! Retries that never double a deploy, for every AWS service: the policy and its settings,
//! which failures are transient, and the backoff between attempts.
//!
//! Only transient failures are retried, with exponential backoff and full jitter (backon's
//! schedule is the ceiling, a uniform draw below it the delay), honouring `Retry-After`, bounded
//! by attempts and elapsed time. A call that is not idempotent (StartJob) judges a lost answer
//! itself ([`crate::hosting::start_job`]) before it is sent again.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

use crate::aws::error::ApiError;
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
    matches!(err, ApiError::Service { status, code, message, .. }
        if (*status == 429
            || matches!(code.as_str(), "LimitExceededException" | "ThrottlingException" | "TooManyRequestsException"))
            && !is_quota(message))
}

/// A `LimitExceededException` about a count of resources (branches, apps), not a rate.
pub fn is_quota(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("branches") || m.contains("maximum number")
}

#[derive(Debug)]
pub enum RetryError<J> {
    Api(ApiError),
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
    Stuck {
        job_id: String,
        status: String,
        /// The command that stops it.
        stop: String,
        source: Box<RetryError<J>>,
    },
    /// CI cancelled the run (exit code 130 or 143) before a job was known to be started. `J`:
    /// the service's job (or deployment) that an attempt cut short is found to have made.
    Interrupted {
        code: u8,
        /// An attempt was in flight, or an earlier one's outcome was unknown.
        maybe_started: bool,
        /// The job that attempt started, when the quick check after the signal found it.
        job: Option<J>,
    },
}

/// After a signal, how long the one check for what an attempt in flight may have made may
/// take: CI kills the container soon after (GitHub: 10 s after SIGINT).
pub const INTERRUPTED_CHECK: Duration = Duration::from_secs(3);

/// What a signal leaves: when an attempt may have made a `what` (a job, a deployment), one
/// `check` (at most [`INTERRUPTED_CHECK`]) so the outputs can name it.
pub async fn interrupted<J>(
    code: u8,
    maybe_started: bool,
    what: &str,
    check: impl Future<Output = Result<Option<J>, ApiError>>,
) -> RetryError<J> {
    let job = if maybe_started {
        match tokio::time::timeout(INTERRUPTED_CHECK, check).await {
            Ok(Ok(job)) => job,
            Ok(Err(e)) => {
                tracing::warn!(
                    "could not check for a {what} after the signal: {}",
                    untrusted(&short(&e))
                );
                None
            }
            Err(_) => {
                tracing::warn!("could not check for a {what} after the signal in time");
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

// By hand, not thiserror: its derive bounds the recursive `Stuck` on itself.
impl<J> std::fmt::Display for RetryError<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetryError::Api(e) => e.fmt(f),
            RetryError::GaveUp {
                attempts,
                elapsed,
                last,
                ..
            } => write!(
                f,
                "gave up after {attempts} attempt(s) over {:.1}s: {last}",
                elapsed.as_secs_f64()
            ),
            RetryError::Stuck {
                job_id,
                status,
                source,
                ..
            } => write!(
                f,
                "{source}; job {job_id} ({status}), made by this run, could be neither started nor stopped"
            ),
            RetryError::Interrupted { .. } => f.write_str("interrupted"),
        }
    }
}

impl<J: std::fmt::Debug + 'static> std::error::Error for RetryError<J> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RetryError::Api(e) => std::error::Error::source(e),
            RetryError::Stuck { source, .. } => Some(&**source),
            RetryError::GaveUp { .. } | RetryError::Interrupted { .. } => None,
        }
    }
}

/// An operation that is safe to repeat (a read, or a write whose repeat answers "already
/// done"): retried for every transient failure under the policy.
pub async fn repeatable<T, J>(
    policy: &Policy,
    mut op: impl AsyncFnMut() -> Result<T, ApiError>,
) -> Result<T, RetryError<J>> {
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
pub fn last_error<J>(e: RetryError<J>) -> ApiError {
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
    pub fn gave_up<J>(
        &self,
        last: ApiError,
        maybe_started: bool,
        console: String,
    ) -> RetryError<J> {
        RetryError::GaveUp {
            attempts: self.attempts,
            elapsed: self.first.elapsed(),
            last,
            maybe_started,
            console,
        }
    }
}

fn retry_after(err: &ApiError) -> Option<Duration> {
    match err {
        ApiError::Service { retry_after, .. } => *retry_after,
        _ => None,
    }
}

pub fn short(err: &ApiError) -> String {
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
            quota_code: None,
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
}
