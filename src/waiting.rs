//! What a wait is, for every service: whether the run follows its deployment to the end
//! (`wait`), for how long (`wait-timeout`), how often it looks (`poll-interval`), and whether
//! it stops what it started when the wait runs out or CI cancels it, and what a build of another
//! commit than the one asked for means (`on-commit-mismatch`).

use std::time::Duration;

use crate::env::{Env, Name, SettingsError, boolean, duration};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitSettings {
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub cancel_on_timeout: bool,
    pub cancel_on_abort: bool,
    /// What a job (or deployment) that built another commit than the run's ends as.
    pub on_commit_mismatch: OnCommitMismatch,
    /// `wait-for-url`: after a success, how long the site may take to answer 2xx
    /// (`url-timeout`).
    pub url_timeout: Option<Duration>,
}

/// `on-commit-mismatch`: a build of another commit than the run's is a warning, or a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnCommitMismatch {
    #[default]
    Warn,
    Fail,
}

pub const ON_COMMIT_MISMATCH: Name = Name {
    var: "AMPLIFY_ON_COMMIT_MISMATCH",
    input: "on-commit-mismatch",
};

impl OnCommitMismatch {
    fn from_env(env: &Env) -> Result<OnCommitMismatch, SettingsError> {
        let v = env.get(ON_COMMIT_MISMATCH.var);
        match v.map(str::to_ascii_lowercase).as_deref() {
            None | Some("warn") => Ok(OnCommitMismatch::Warn),
            Some("fail") => Ok(OnCommitMismatch::Fail),
            Some(_) => Err(SettingsError::of(
                ON_COMMIT_MISMATCH,
                v,
                "neither warn nor fail",
                "use warn (the default: a warning) or fail (exit 5)",
            )),
        }
    }
}

pub const WAIT: Name = Name {
    var: "AMPLIFY_WAIT",
    input: "wait",
};
pub const WAIT_TIMEOUT: Name = Name {
    var: "AMPLIFY_WAIT_TIMEOUT",
    input: "wait-timeout",
};
pub const POLL_INTERVAL: Name = Name {
    var: "AMPLIFY_POLL_INTERVAL",
    input: "poll-interval",
};
pub const CANCEL_ON_TIMEOUT: Name = Name {
    var: "AMPLIFY_CANCEL_ON_TIMEOUT",
    input: "cancel-on-timeout",
};
pub const WAIT_FOR_URL: Name = Name {
    var: "AMPLIFY_WAIT_FOR_URL",
    input: "wait-for-url",
};
pub const URL_TIMEOUT: Name = Name {
    var: "AMPLIFY_URL_TIMEOUT",
    input: "url-timeout",
};
pub const CANCEL_ON_ABORT: Name = Name {
    var: "AMPLIFY_CANCEL_ON_ABORT",
    input: "cancel-on-abort",
};

impl WaitSettings {
    /// `None` unless `AMPLIFY_WAIT=true` (or `always`: follow mode waits by definition, and
    /// so do `wait-rollout` and `wait-for-url`); the stop-on booleans are checked either way.
    pub fn from_env(env: &Env, always: bool) -> Result<Option<WaitSettings>, SettingsError> {
        let cancel_on_timeout = || boolean(env.get(CANCEL_ON_TIMEOUT.var), CANCEL_ON_TIMEOUT);
        let cancel_on_abort = || boolean(env.get(CANCEL_ON_ABORT.var), CANCEL_ON_ABORT);
        let url_timeout = url_timeout(env)?;
        if !boolean(env.get(WAIT.var), WAIT)? && !always && url_timeout.is_none() {
            cancel_on_timeout()?;
            cancel_on_abort()?;
            if let Some(v) = env.get(ON_COMMIT_MISMATCH.var) {
                OnCommitMismatch::from_env(env)?;
                return Err(SettingsError::of(
                    ON_COMMIT_MISMATCH,
                    Some(v),
                    "the commit a build checked out is known only once it has ended, and this run does not wait",
                    "set wait: true, or leave on-commit-mismatch empty",
                ));
            }
            return Ok(None);
        }
        let poll_value = env.get(POLL_INTERVAL.var);
        let poll_interval = duration(poll_value, POLL_INTERVAL, Duration::from_secs(5))?;
        if poll_interval.is_zero() {
            return Err(SettingsError::of(
                POLL_INTERVAL,
                poll_value,
                "polls need an interval",
                "set a positive duration such as 5s",
            ));
        }
        Ok(Some(WaitSettings {
            timeout: duration(
                env.get(WAIT_TIMEOUT.var),
                WAIT_TIMEOUT,
                Duration::from_secs(30 * 60),
            )?,
            poll_interval,
            cancel_on_timeout: cancel_on_timeout()?,
            cancel_on_abort: cancel_on_abort()?,
            on_commit_mismatch: OnCommitMismatch::from_env(env)?,
            url_timeout,
        }))
    }
}

/// `wait-for-url` (with `url-timeout`, default 2 minutes): `None` when it is off; `url-timeout`
/// alone is refused, as it would bound nothing.
fn url_timeout(env: &Env) -> Result<Option<Duration>, SettingsError> {
    let limit = env.get(URL_TIMEOUT.var);
    let timeout = duration(limit, URL_TIMEOUT, Duration::from_secs(120))?;
    if !boolean(env.get(WAIT_FOR_URL.var), WAIT_FOR_URL)? {
        if limit.is_some() {
            return Err(SettingsError::of(
                URL_TIMEOUT,
                limit,
                "it bounds wait-for-url's requests of the site, and wait-for-url is off",
                "set wait-for-url: true, or leave url-timeout empty",
            ));
        }
        return Ok(None);
    }
    if timeout.is_zero() {
        return Err(SettingsError::of(
            URL_TIMEOUT,
            limit,
            "the site needs time to answer",
            "set a positive duration such as 2m",
        ));
    }
    Ok(Some(timeout))
}
