//! Raw environment in, a checked [`Settings`] out. Every check mirrors a limit of the Amplify
//! API model, and every error names the variable, the action input, the bad value and the fix.

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::Url;
use serde::Deserialize;

use std::time::Duration;

use crate::ci;
use crate::credentials;
use crate::report::OutputFormat;
use crate::retry::Policy;
use crate::wait::WaitSettings;

/// The process environment with empty values removed: GitHub passes `""` for unset inputs.
#[derive(Debug, Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    pub fn from_process() -> Env {
        Env::from_pairs(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env(pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(_, v)| !v.is_empty())
            .collect())
    }

    /// This environment with `name` set to `value` (removed when `value` is empty).
    pub fn with(mut self, name: &str, value: &str) -> Env {
        if value.is_empty() {
            self.0.remove(name);
        } else {
            self.0.insert(name.to_string(), value.to_string());
        }
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone()))
    }
}

/// The settings this tool reads, by their environment names (envy lower-cases them).
#[derive(Debug, Default, Deserialize)]
struct Raw {
    amplify_app_id: Option<String>,
    amplify_branch_name: Option<String>,
    amplify_job_type: Option<String>,
    amplify_job_id: Option<String>,
    amplify_job_reason: Option<String>,
    amplify_commit_id: Option<String>,
    amplify_commit_message: Option<String>,
    amplify_commit_time: Option<String>,
    aws_region: Option<String>,
    aws_default_region: Option<String>,
    aws_ca_bundle: Option<String>,
    ssl_cert_file: Option<String>,
    amplify_output_file: Option<String>,
    amplify_output_format: Option<String>,
    amplify_role_to_assume: Option<String>,
    aws_role_to_assume: Option<String>,
    amplify_role_session_name: Option<String>,
    amplify_role_duration_seconds: Option<String>,
    amplify_oidc_audience: Option<String>,
    github_actions: Option<String>,
    github_run_id: Option<String>,
    github_run_attempt: Option<String>,
    github_output: Option<String>,
    github_step_summary: Option<String>,
    amplify_max_attempts: Option<String>,
    aws_max_attempts: Option<String>,
    amplify_retry_timeout: Option<String>,
    amplify_retry_base_delay: Option<String>,
    amplify_request_timeout: Option<String>,
    amplify_wait: Option<String>,
    amplify_wait_timeout: Option<String>,
    amplify_poll_interval: Option<String>,
    amplify_cancel_on_timeout: Option<String>,
    amplify_cancel_on_abort: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobType {
    Release,
    Retry,
    Manual,
    WebHook,
}

impl JobType {
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Release => "RELEASE",
            JobType::Retry => "RETRY",
            JobType::Manual => "MANUAL",
            JobType::WebHook => "WEB_HOOK",
        }
    }
}

/// A setting the user can get wrong, named both ways.
#[derive(Debug, Clone, Copy)]
pub struct Name {
    pub var: &'static str,
    pub input: &'static str,
}

pub const APP_ID: Name = Name {
    var: "AMPLIFY_APP_ID",
    input: "app-id",
};
pub const BRANCH_NAME: Name = Name {
    var: "AMPLIFY_BRANCH_NAME",
    input: "branch-name",
};
pub const JOB_TYPE: Name = Name {
    var: "AMPLIFY_JOB_TYPE",
    input: "job-type",
};
pub const JOB_ID: Name = Name {
    var: "AMPLIFY_JOB_ID",
    input: "job-id",
};
pub const JOB_REASON: Name = Name {
    var: "AMPLIFY_JOB_REASON",
    input: "job-reason",
};
pub const COMMIT_ID: Name = Name {
    var: "AMPLIFY_COMMIT_ID",
    input: "commit-id",
};
pub const COMMIT_MESSAGE: Name = Name {
    var: "AMPLIFY_COMMIT_MESSAGE",
    input: "commit-message",
};
pub const COMMIT_TIME: Name = Name {
    var: "AMPLIFY_COMMIT_TIME",
    input: "commit-time",
};
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
pub const CANCEL_ON_ABORT: Name = Name {
    var: "AMPLIFY_CANCEL_ON_ABORT",
    input: "cancel-on-abort",
};
pub const ROLE_TO_ASSUME: Name = Name {
    var: "AMPLIFY_ROLE_TO_ASSUME",
    input: "role-to-assume",
};
pub const ROLE_SESSION_NAME: Name = Name {
    var: "AMPLIFY_ROLE_SESSION_NAME",
    input: "role-session-name",
};
pub const ROLE_DURATION: Name = Name {
    var: "AMPLIFY_ROLE_DURATION_SECONDS",
    input: "role-duration-seconds",
};
pub const AUDIENCE: Name = Name {
    var: "AMPLIFY_OIDC_AUDIENCE",
    input: "audience",
};
pub const REGION: Name = Name {
    var: "AWS_REGION",
    input: "aws-region",
};

/// One line: which setting, its value (shortened, escaped), what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{var}{input} is {value}: {problem}; {fix}")]
pub struct SettingsError {
    pub var: String,
    input: String,
    value: String,
    problem: String,
    fix: String,
}

impl SettingsError {
    pub fn new(
        var: &str,
        input: Option<&str>,
        value: Option<&str>,
        problem: &str,
        fix: &str,
    ) -> Self {
        SettingsError {
            var: var.to_string(),
            input: input.map(|i| format!(" (input {i})")).unwrap_or_default(),
            value: value.map_or_else(|| "not set".to_string(), show),
            problem: problem.to_string(),
            fix: fix.to_string(),
        }
    }

    fn of(name: Name, value: Option<&str>, problem: &str, fix: &str) -> Self {
        Self::new(name.var, Some(name.input), value, problem, fix)
    }
}

/// A value as it may be shown: quoted, escaped to one line, at most 80 characters.
pub fn show(value: &str) -> String {
    const MAX: usize = 80;
    let mut cut: String = value.chars().take(MAX).collect();
    if cut.len() < value.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// Where the commit and branch were found; logged so users can see why a value was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub from: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub app_id: String,
    pub branch: Sourced<String>,
    pub job_type: JobType,
    pub job_id: Option<String>,
    pub job_reason: Option<String>,
    pub commit_id: Option<Sourced<String>>,
    pub commit_message: Option<Sourced<String>>,
    /// Seconds since the Unix epoch; sent as rest-json sends timestamps.
    pub commit_time: Option<Sourced<i64>>,
    pub region: String,
    pub endpoint: Url,
    pub github_output: Option<PathBuf>,
    pub github_step_summary: Option<PathBuf>,
    pub retry: Policy,
    /// The limit of one attempt, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
    /// Follow the job to its end (`AMPLIFY_WAIT=true`).
    pub wait: Option<WaitSettings>,
    pub credentials: credentials::Config,
    /// CA bundles trusted besides the system's (`AWS_CA_BUNDLE`, `SSL_CERT_FILE`), by the
    /// variable naming each: read when an HTTPS client is first built, not before.
    pub ca_bundles: Vec<(&'static str, PathBuf)>,
    /// `AMPLIFY_OUTPUT_FILE`: the outputs as a dotenv file, replaced at each run.
    pub output_file: Option<PathBuf>,
    pub output_format: OutputFormat,
    /// Problems that do not stop the run (a shortened commit message).
    pub warnings: Vec<String>,
}

pub const COMMIT_MESSAGE_MAX: usize = 10_000;
const SHORT_TEXT_MAX: usize = 255;

impl Settings {
    /// Reads and checks every setting; nothing is sent and nothing written before this passes.
    pub fn from_env(env: &Env, ci: &ci::Context) -> Result<Settings, SettingsError> {
        let raw: Raw = envy::from_iter(env.iter()).map_err(|e| {
            SettingsError::new(
                "environment",
                None,
                None,
                &e.to_string(),
                "check the variable names",
            )
        })?;

        let app_id = raw.amplify_app_id.as_deref();
        let app_id = match app_id {
            None => {
                return Err(SettingsError::of(
                    APP_ID,
                    None,
                    "it is required",
                    "set it to the app's ID, e.g. d1a2b3c4d5e6f7 (Amplify console > App settings > General)",
                ));
            }
            Some(id) if !valid_app_id(id) => {
                return Err(SettingsError::of(
                    APP_ID,
                    app_id,
                    "an app ID is \"d\" then lower-case letters and digits, 2 to 20 characters",
                    "copy the app ID from the Amplify console (App settings > General)",
                ));
            }
            Some(id) => id.to_string(),
        };

        let job_type = match raw.amplify_job_type.as_deref() {
            None => JobType::Release,
            Some(t) => match t.to_ascii_uppercase().as_str() {
                "RELEASE" => JobType::Release,
                "RETRY" => JobType::Retry,
                "MANUAL" => JobType::Manual,
                "WEB_HOOK" => JobType::WebHook,
                _ => {
                    return Err(SettingsError::of(
                        JOB_TYPE,
                        Some(t),
                        "not a job type",
                        "set it to RELEASE, RETRY, MANUAL or WEB_HOOK (any case), or leave it empty for RELEASE",
                    ));
                }
            },
        };

        let job_id = raw.amplify_job_id.clone();
        match (&job_id, job_type) {
            (Some(id), _)
                if id.len() > SHORT_TEXT_MAX || !id.bytes().all(|b| b.is_ascii_digit()) =>
            {
                return Err(SettingsError::of(
                    JOB_ID,
                    Some(id),
                    "a job ID is digits only, at most 255",
                    "use the number shown for the job in the Amplify console, e.g. 42",
                ));
            }
            (None, JobType::Retry) => {
                return Err(SettingsError::of(
                    JOB_ID,
                    None,
                    "job type RETRY needs the ID of the job to retry",
                    "set it to that job's number, e.g. 42",
                ));
            }
            (Some(id), t) if t != JobType::Retry => {
                return Err(SettingsError::of(
                    JOB_ID,
                    Some(id),
                    &format!(
                        "a job ID is only used with job type RETRY, and the job type is {}",
                        t.as_str()
                    ),
                    "set AMPLIFY_JOB_TYPE (input job-type) to RETRY, or leave the job ID empty",
                ));
            }
            _ => {}
        }

        let region_raw = raw
            .aws_region
            .as_deref()
            .map(|r| (REGION.var, r))
            .or_else(|| {
                raw.aws_default_region
                    .as_deref()
                    .map(|r| ("AWS_DEFAULT_REGION", r))
            });
        let region = match region_raw {
            None => {
                return Err(SettingsError::of(
                    REGION,
                    None,
                    "the AWS region is required (also read from AWS_DEFAULT_REGION)",
                    "set it to the app's region, e.g. us-east-1",
                ));
            }
            Some((var, r)) if !valid_region(r) => {
                return Err(SettingsError::new(
                    var,
                    Some(REGION.input),
                    Some(r),
                    "not an AWS region name",
                    "use a region code such as us-east-1 or eu-west-2",
                ));
            }
            Some((_, r)) => r.to_string(),
        };

        let endpoint = endpoint(env, "AMPLIFY", &region)?;

        let job_reason = match raw.amplify_job_reason.clone() {
            Some(r) if r.chars().count() > SHORT_TEXT_MAX => {
                return Err(SettingsError::of(
                    JOB_REASON,
                    Some(&r),
                    &format!("{} characters, more than the API's 255", r.chars().count()),
                    "shorten it",
                ));
            }
            Some(r) => Some(r),
            None => ci
                .job_reason
                .clone()
                .map(|r| truncate_chars(&r, SHORT_TEXT_MAX).0),
        };

        let branch = match raw.amplify_branch_name.clone() {
            Some(b) => Sourced {
                value: b,
                from: BRANCH_NAME.var.into(),
            },
            None => match &ci.branch {
                Ok(b) => b.clone(),
                Err(why) => {
                    return Err(SettingsError::of(
                        BRANCH_NAME,
                        None,
                        why,
                        "set it to the Amplify branch to build, e.g. main",
                    ));
                }
            },
        };
        if branch.value.chars().count() > SHORT_TEXT_MAX {
            let (var, input) = if branch.from == BRANCH_NAME.var {
                (BRANCH_NAME.var, BRANCH_NAME.input)
            } else {
                (branch.from.as_str(), BRANCH_NAME.input)
            };
            return Err(SettingsError::new(
                var,
                Some(input),
                Some(&branch.value),
                "a branch name is 1 to 255 characters",
                "set AMPLIFY_BRANCH_NAME (input branch-name) to the Amplify branch name",
            ));
        }

        let mut warnings = Vec::new();
        // A retried job keeps its own commit; the CI's commit is only a default for new jobs.
        let use_ci_commit = job_type != JobType::Retry;
        let commit_id = match raw.amplify_commit_id.clone() {
            Some(c) => Some(Sourced {
                value: c,
                from: COMMIT_ID.var.into(),
            }),
            None if use_ci_commit => ci.commit_id.clone(),
            None => None,
        };
        if let Some(c) = &commit_id {
            if c.value.chars().count() > SHORT_TEXT_MAX {
                return Err(SettingsError::new(
                    &c.from,
                    Some(COMMIT_ID.input),
                    Some(&c.value),
                    "a commit ID is at most 255 characters",
                    "set AMPLIFY_COMMIT_ID (input commit-id) to the full commit SHA",
                ));
            }
        }

        let commit_time = match raw.amplify_commit_time.as_deref() {
            Some(t) => Some(Sourced {
                value: parse_time(t).ok_or_else(|| {
                    SettingsError::of(
                        COMMIT_TIME,
                        Some(t),
                        "not a time",
                        "use RFC 3339 (2024-05-01T12:00:00Z or with an offset) or seconds since 1970",
                    )
                })?,
                from: COMMIT_TIME.var.into(),
            }),
            None => None,
        };

        let mut commit_message = raw.amplify_commit_message.clone().map(|m| Sourced {
            value: m,
            from: COMMIT_MESSAGE.var.into(),
        });
        let mut commit_time = commit_time;
        if use_ci_commit && (commit_message.is_none() || commit_time.is_none()) {
            if let Some(id) = &commit_id {
                let found = ci.commit_details(&id.value);
                commit_message = commit_message.or(found.message);
                commit_time = commit_time.or(found.time);
            }
        }
        if let Some(m) = &mut commit_message {
            let (short, cut) = truncate_chars(&m.value, COMMIT_MESSAGE_MAX);
            if cut {
                warnings.push(format!(
                    "the commit message from {} has {} characters; sending its first {COMMIT_MESSAGE_MAX}, the API's limit",
                    m.from,
                    m.value.chars().count()
                ));
                m.value = short;
            }
        }

        let defaults = Policy::default();
        let max_attempts = match raw
            .amplify_max_attempts
            .as_deref()
            .map(|v| (MAX_ATTEMPTS.var, v))
            .or_else(|| {
                raw.aws_max_attempts
                    .as_deref()
                    .map(|v| ("AWS_MAX_ATTEMPTS", v))
            }) {
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
        let retry = Policy {
            max_attempts,
            timeout: duration(
                raw.amplify_retry_timeout.as_deref(),
                RETRY_TIMEOUT,
                defaults.timeout,
            )?,
            base_delay: duration(
                raw.amplify_retry_base_delay.as_deref(),
                RETRY_BASE_DELAY,
                defaults.base_delay,
            )?,
            max_delay: defaults.max_delay,
        };
        let request_timeout = duration(
            raw.amplify_request_timeout.as_deref(),
            REQUEST_TIMEOUT,
            DEFAULT_REQUEST_TIMEOUT,
        )?;
        if request_timeout.is_zero() {
            return Err(SettingsError::of(
                REQUEST_TIMEOUT,
                raw.amplify_request_timeout.as_deref(),
                "an attempt needs some time",
                "set a positive duration such as 30s",
            ));
        }

        let wait = if boolean(raw.amplify_wait.as_deref(), WAIT)? {
            let poll_interval = duration(
                raw.amplify_poll_interval.as_deref(),
                POLL_INTERVAL,
                Duration::from_secs(5),
            )?;
            if poll_interval.is_zero() {
                return Err(SettingsError::of(
                    POLL_INTERVAL,
                    raw.amplify_poll_interval.as_deref(),
                    "polls need an interval",
                    "set a positive duration such as 5s",
                ));
            }
            Some(WaitSettings {
                timeout: duration(
                    raw.amplify_wait_timeout.as_deref(),
                    WAIT_TIMEOUT,
                    Duration::from_secs(30 * 60),
                )?,
                poll_interval,
                cancel_on_timeout: boolean(
                    raw.amplify_cancel_on_timeout.as_deref(),
                    CANCEL_ON_TIMEOUT,
                )?,
                cancel_on_abort: boolean(raw.amplify_cancel_on_abort.as_deref(), CANCEL_ON_ABORT)?,
            })
        } else {
            for (value, name) in [
                (&raw.amplify_cancel_on_timeout, CANCEL_ON_TIMEOUT),
                (&raw.amplify_cancel_on_abort, CANCEL_ON_ABORT),
            ] {
                boolean(value.as_deref(), name)?;
            }
            None
        };

        let credentials = credential_settings(env, &raw, &region, request_timeout)?;

        let ca_bundles = [
            ("AWS_CA_BUNDLE", &raw.aws_ca_bundle),
            ("SSL_CERT_FILE", &raw.ssl_cert_file),
        ]
        .into_iter()
        .filter_map(|(var, path)| Some((var, PathBuf::from(path.as_ref()?))))
        .collect();
        let output_file = dotenv_file(raw.amplify_output_file.as_deref())?;
        let output_format = match raw
            .amplify_output_format
            .as_deref()
            .map(str::to_ascii_lowercase)
        {
            None => OutputFormat::Json,
            Some(f) if f == "json" => OutputFormat::Json,
            Some(f) if f == "dotenv" => OutputFormat::Dotenv,
            Some(f) if f == "text" => OutputFormat::Text,
            Some(_) => {
                return Err(SettingsError::new(
                    "AMPLIFY_OUTPUT_FORMAT",
                    None,
                    raw.amplify_output_format.as_deref(),
                    "not an output format",
                    "use json, dotenv or text",
                ));
            }
        };

        let github_output = writable(&raw.github_output, "GITHUB_OUTPUT")?;
        let github_step_summary = writable(&raw.github_step_summary, "GITHUB_STEP_SUMMARY")?;

        Ok(Settings {
            app_id,
            branch,
            job_type,
            job_id,
            job_reason,
            commit_id,
            commit_message,
            commit_time,
            region,
            endpoint,
            github_output,
            github_step_summary,
            retry,
            request_timeout,
            wait,
            credentials,
            ca_bundles,
            output_file,
            output_format,
            warnings,
        })
    }
}

/// `true` or `false` in any case; unset is false; anything else is an error.
fn boolean(value: Option<&str>, name: Name) -> Result<bool, SettingsError> {
    match value.map(|v| v.to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(_) => Err(SettingsError::of(
            name,
            value,
            "not a boolean",
            "set it to true or false",
        )),
    }
}

pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

fn duration(value: Option<&str>, name: Name, default: Duration) -> Result<Duration, SettingsError> {
    match value {
        None => Ok(default),
        Some(v) => parse_duration(v).ok_or_else(|| {
            SettingsError::of(
                name,
                Some(v),
                "not a duration",
                "use seconds (90), or a number with ms, s, m or h (500ms, 90s, 2m)",
            )
        }),
    }
}

/// `90`, `90s`, `1.5s`, `500ms`, `2m`, `1h`; at most a day.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    let n: f64 = number.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    (secs <= 86_400.0).then(|| Duration::from_secs_f64(secs))
}

fn valid_app_id(id: &str) -> bool {
    (2..=20).contains(&id.len())
        && id.starts_with('d')
        && id[1..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`: two letters, word parts, a number.
fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && r.len() <= 32
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() <= 3
        && !parts[parts.len() - 1].is_empty()
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// The credential settings: role-to-assume for GitHub OIDC, and where STS is.
fn credential_settings(
    env: &Env,
    raw: &Raw,
    region: &str,
    timeout: Duration,
) -> Result<credentials::Config, SettingsError> {
    let role = raw
        .amplify_role_to_assume
        .as_deref()
        .map(|r| (ROLE_TO_ASSUME.var, r))
        .or_else(|| {
            raw.aws_role_to_assume
                .as_deref()
                .map(|r| ("AWS_ROLE_TO_ASSUME", r))
        });
    let role_to_assume = match role {
        None => None,
        Some((var, r)) if !credentials::valid_role_arn(r) => {
            return Err(SettingsError::new(
                var,
                Some(ROLE_TO_ASSUME.input),
                Some(r),
                "not an IAM role ARN",
                "use the role's ARN, e.g. arn:aws:iam::123456789012:role/amplify-deploy",
            ));
        }
        Some((_, r)) => Some(r.to_string()),
    };
    let github = raw.github_actions.as_deref() == Some("true");
    let session_name = match raw.amplify_role_session_name.as_deref() {
        Some(n) if !credentials::valid_session_name(n) => {
            return Err(SettingsError::of(
                ROLE_SESSION_NAME,
                Some(n),
                "a session name is 2 to 64 letters, digits or +=,.@_-",
                "use e.g. amplify-deploy, or leave it empty for the default",
            ));
        }
        Some(n) => n.to_string(),
        None => {
            let run = match (&raw.github_run_id, &raw.github_run_attempt) {
                (Some(id), Some(a)) if github => format!("-{id}-{a}"),
                (Some(id), None) if github => format!("-{id}"),
                _ => String::new(),
            };
            let name = format!("amplify-start-job{run}");
            if credentials::valid_session_name(&name) {
                name
            } else {
                "amplify-start-job".into()
            }
        }
    };
    let duration_secs = match raw.amplify_role_duration_seconds.as_deref() {
        None => 3600,
        Some(d) => match d.trim().parse::<u32>() {
            Ok(n) if (900..=43_200).contains(&n) => n,
            _ => {
                return Err(SettingsError::of(
                    ROLE_DURATION,
                    Some(d),
                    "STS takes 900 to 43200 seconds (and at most the role's maximum session duration)",
                    "use e.g. 3600, or leave it empty for one hour",
                ));
            }
        },
    };
    let audience = match raw.amplify_oidc_audience.as_deref() {
        Some(a) if a.chars().any(char::is_control) || a.len() > 255 => {
            return Err(SettingsError::of(
                AUDIENCE,
                Some(a),
                "an audience is one line of at most 255 characters",
                "leave it empty for sts.amazonaws.com",
            ));
        }
        Some(a) => a.to_string(),
        None => "sts.amazonaws.com".into(),
    };
    Ok(credentials::Config {
        role_to_assume,
        session_name,
        duration_secs,
        audience,
        region: region.to_string(),
        sts_endpoint: endpoint(env, "STS", region)?,
        github,
        timeout,
    })
}

/// A service's endpoint: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, else AWS's
/// regional one, as the SDKs choose.
fn endpoint(env: &Env, service: &str, region: &str) -> Result<Url, SettingsError> {
    let specific = format!("AWS_ENDPOINT_URL_{service}");
    let given = env
        .get(&specific)
        .map(|u| (specific.as_str(), u))
        .or_else(|| env.get("AWS_ENDPOINT_URL").map(|u| ("AWS_ENDPOINT_URL", u)));
    let prefix = service.to_ascii_lowercase();
    let Some((var, value)) = given else {
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        return Ok(Url::parse(&format!("https://{prefix}.{region}.{suffix}")).expect("valid URL"));
    };
    let bad = |problem: &str| {
        // Never echo a URL that carries a password.
        let shown = if value.contains('@') {
            "(a URL with user info, hidden)"
        } else {
            value
        };
        SettingsError::new(
            var,
            None,
            Some(shown),
            problem,
            "use http(s)://host[:port], e.g. http://127.0.0.1:4566, or leave it empty for AWS",
        )
    };
    let url = Url::parse(value).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("the endpoint must be an http or https URL with a host"));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(bad(
            "the endpoint must not carry user info, a query or a fragment",
        ));
    }
    Ok(url)
}

/// Checks the dotenv file can be written, without creating or changing it.
fn dotenv_file(path: Option<&str>) -> Result<Option<PathBuf>, SettingsError> {
    let Some(p) = path else { return Ok(None) };
    let path = PathBuf::from(p);
    let bad = |problem: String| {
        SettingsError::new(
            "AMPLIFY_OUTPUT_FILE",
            None,
            Some(p),
            &problem,
            "point it at a file in an existing, writable directory, e.g. amplify.env",
        )
    };
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => return Err(bad("a directory".into())),
        Ok(m) if m.permissions().readonly() => return Err(bad("read-only".into())),
        Ok(_) => return Ok(Some(path)),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(bad(e.to_string())),
        Err(_) => {}
    }
    let parent = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&parent) {
        Ok(m) if m.is_dir() && !m.permissions().readonly() => Ok(Some(path)),
        Ok(_) => Err(bad(format!(
            "{} is not a writable directory",
            parent.display()
        ))),
        Err(e) => Err(bad(format!("its directory {}: {e}", parent.display()))),
    }
}

/// Checks an output file can be appended to, without writing anything to it.
fn writable(path: &Option<String>, var: &str) -> Result<Option<PathBuf>, SettingsError> {
    let Some(p) = path else { return Ok(None) };
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(p)
        .map_err(|e| {
            SettingsError::new(
                var,
                None,
                Some(p),
                &format!("cannot be opened for appending ({e})"),
                "the runner sets it; unset it outside GitHub Actions or point it at a writable file",
            )
        })?;
    Ok(Some(PathBuf::from(p)))
}

/// Keeps at most `max` characters, cutting on a character boundary.
pub fn truncate_chars(s: &str, max: usize) -> (String, bool) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (s[..i].to_string(), true),
        None => (s.to_string(), false),
    }
}

/// RFC 3339 (any offset) or whole seconds since the epoch, to whole seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-5",
            "eu-isoe-west-1",
        ] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in [
            "us-east1",
            "US-EAST-1",
            "useast",
            "us--1",
            "us-east-",
            "",
            "us-east-1 ",
        ] {
            assert!(!valid_region(bad), "{bad}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-15T00:13:20+02:00"), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20.999Z"), Some(1_700_000_000));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("-5"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        for bad in ["", "s", "-1", "1d", "2 m", "1.", ".5", "99999999h", "NaN"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncate_chars("héllo", 2), ("hé".to_string(), true));
        assert_eq!(truncate_chars("hé", 2), ("hé".to_string(), false));
    }

    #[test]
    fn shown_values_are_one_line_and_short() {
        assert_eq!(show("a\nb"), "\"a\\nb\"");
        assert_eq!(show(&"x".repeat(100)).chars().count(), 80 + 3);
    }
}
