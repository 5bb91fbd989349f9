//! The job asked for: which app, region and endpoint, which branch, the job type (and the job
//! to retry), its reason, and the commit with its message and time. Explicit settings win;
//! the CI context fills the rest. Every check mirrors a limit of the Amplify API model.

use reqwest::Url;
use serde::Deserialize;

use crate::ci::{self, BRANCH_NAME, COMMIT_ID};
use crate::env::{Env, Name, SettingsError, Sourced, endpoint, parse_time, truncate_chars};
use crate::source::{SOURCE, Source};

pub const APP_ID: Name = Name {
    var: "AMPLIFY_APP_ID",
    input: "app-id",
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
pub const COMMIT_MESSAGE: Name = Name {
    var: "AMPLIFY_COMMIT_MESSAGE",
    input: "commit-message",
};
pub const COMMIT_TIME: Name = Name {
    var: "AMPLIFY_COMMIT_TIME",
    input: "commit-time",
};

pub const COMMIT_MESSAGE_MAX: usize = 10_000;
const SHORT_TEXT_MAX: usize = 255;

/// The job's settings, by their environment names (envy lower-cases them).
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

/// The commit a job builds, each part with where it came from.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    pub id: Option<Sourced<String>>,
    pub message: Option<Sourced<String>>,
    /// Seconds since the Unix epoch; sent as rest-json sends timestamps.
    pub time: Option<Sourced<i64>>,
}

#[derive(Debug, Clone)]
pub struct Job {
    /// The app the job is for: the first of `apps` until the branch is found in another.
    pub app_id: String,
    /// Every app `app-id` lists, in order (one, usually): previews spread over several apps
    /// past the 50-branch limit of one.
    pub apps: Vec<String>,
    pub region: String,
    pub endpoint: Url,
    pub branch: Sourced<String>,
    pub job_type: JobType,
    pub job_id: Option<String>,
    pub job_reason: Option<String>,
    pub commit: Commit,
    /// What a MANUAL job deploys (CreateDeployment and StartDeployment, not StartJob).
    pub source: Option<Source>,
    /// Problems that do not stop the run (a shortened commit message).
    pub warnings: Vec<String>,
    /// The checkout, where git can tell which commits lie between two.
    pub workdir: Option<std::path::PathBuf>,
}

impl Job {
    /// Reads and checks the job's settings, in the order a user would fix them.
    pub fn from_env(env: &Env, ci: &ci::Context) -> Result<Job, SettingsError> {
        let raw: Raw = envy::from_iter(env.iter()).map_err(|e| {
            SettingsError::new(
                "environment",
                None,
                None,
                &e.to_string(),
                "check the variable names",
            )
        })?;
        let apps = app_ids(raw.amplify_app_id.as_deref())?;
        let app_id = apps[0].clone();
        let source = Source::from_env(env)?;
        let job_type = job_type(raw.amplify_job_type.as_deref(), source.is_some())?;
        let job_id = job_id(raw.amplify_job_id.clone(), job_type)?;
        let region = crate::env::region(env)?;
        let endpoint = endpoint(env, "AMPLIFY", &region)?;
        let job_reason = job_reason(raw.amplify_job_reason.clone(), ci)?;
        let branch = branch(raw.amplify_branch_name.clone(), ci)?;
        let mut warnings = Vec::new();
        let commit = commit(&raw, ci, job_type, &mut warnings)?;
        Ok(Job {
            app_id,
            apps,
            region,
            endpoint,
            branch,
            job_type,
            job_id,
            job_reason,
            commit,
            source,
            warnings,
            workdir: ci.workdir().map(std::path::Path::to_path_buf),
        })
    }
}

/// One app id, or several separated by commas or new lines, each checked, none twice.
fn app_ids(value: Option<&str>) -> Result<Vec<String>, SettingsError> {
    let Some(v) = value else {
        return Err(SettingsError::of(
            APP_ID,
            None,
            "one app is required",
            "set app-id to an Amplify Hosting app's ID, e.g. d1a2b3c4d5e6f7 (Amplify console > App settings > General), or app-name to an app of the new AWS Amplify",
        ));
    };
    let mut ids: Vec<String> = Vec::new();
    for id in v
        .split([',', '\n'])
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        if !valid_app_id(id) {
            // One id: the message it always had; a list: which of them.
            let (problem, fix) = if v.contains([',', '\n']) {
                (
                    format!(
                        "{id:?} is not an app ID: \"d\" then lower-case letters and digits, 2 to 20 characters"
                    ),
                    "copy the app IDs from the Amplify console (App settings > General), separated by commas",
                )
            } else {
                (
                    "an app ID is \"d\" then lower-case letters and digits, 2 to 20 characters"
                        .to_string(),
                    "copy the app ID from the Amplify console (App settings > General)",
                )
            };
            return Err(SettingsError::of(APP_ID, value, &problem, fix));
        }
        if ids.iter().any(|i| i == id) {
            return Err(SettingsError::of(
                APP_ID,
                value,
                &format!("{id} is listed twice"),
                "list each app once",
            ));
        }
        ids.push(id.to_string());
    }
    if ids.is_empty() {
        return Err(SettingsError::of(
            APP_ID,
            value,
            "it names no app",
            "set it to the app's ID, e.g. d1a2b3c4d5e6f7",
        ));
    }
    Ok(ids)
}

/// The job type; a source (folder, zip or URL) means MANUAL, and MANUAL needs one.
fn job_type(value: Option<&str>, has_source: bool) -> Result<JobType, SettingsError> {
    let Some(t) = value else {
        return Ok(if has_source {
            JobType::Manual
        } else {
            JobType::Release
        });
    };
    let job_type = match t.to_ascii_uppercase().as_str() {
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
    };
    match (job_type, has_source) {
        (JobType::Manual, false) => Err(SettingsError::of(
            SOURCE,
            None,
            "job type MANUAL deploys a folder, a zip or a URL, and none is given",
            "set source to the build output folder (e.g. dist) or a .zip, or source-url to an s3:// or https:// URL",
        )),
        (t, true) if t != JobType::Manual => Err(SettingsError::of(
            JOB_TYPE,
            value,
            "a source or source-url deploys as job type MANUAL",
            "leave job-type empty (or set it to MANUAL), or unset source and source-url to build from Git",
        )),
        (t, _) => Ok(t),
    }
}

fn job_id(job_id: Option<String>, job_type: JobType) -> Result<Option<String>, SettingsError> {
    match (&job_id, job_type) {
        (Some(id), _) if id.len() > SHORT_TEXT_MAX || !id.bytes().all(|b| b.is_ascii_digit()) => {
            Err(SettingsError::of(
                JOB_ID,
                Some(id),
                "a job ID is digits only, at most 255",
                "use the number shown for the job in the Amplify console, e.g. 42",
            ))
        }
        (None, JobType::Retry) => Err(SettingsError::of(
            JOB_ID,
            None,
            "job type RETRY needs the ID of the job to retry",
            "set it to that job's number, e.g. 42",
        )),
        (Some(id), t) if t != JobType::Retry => Err(SettingsError::of(
            JOB_ID,
            Some(id),
            &format!(
                "a job ID is only used with job type RETRY, and the job type is {}",
                t.as_str()
            ),
            "set AMPLIFY_JOB_TYPE (input job-type) to RETRY, or leave the job ID empty",
        )),
        _ => Ok(job_id),
    }
}

fn job_reason(given: Option<String>, ci: &ci::Context) -> Result<Option<String>, SettingsError> {
    match given {
        Some(r) if r.chars().count() > SHORT_TEXT_MAX => Err(SettingsError::of(
            JOB_REASON,
            Some(&r),
            &format!("{} characters, more than the API's 255", r.chars().count()),
            "shorten it",
        )),
        Some(r) => Ok(Some(r)),
        None => Ok(ci
            .job_reason
            .clone()
            .map(|r| truncate_chars(&r, SHORT_TEXT_MAX).0)),
    }
}

fn branch(given: Option<String>, ci: &ci::Context) -> Result<Sourced<String>, SettingsError> {
    let branch = match given {
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
        return Err(SettingsError::new(
            &branch.from,
            Some(BRANCH_NAME.input),
            Some(&branch.value),
            "a branch name is 1 to 255 characters",
            "set AMPLIFY_BRANCH_NAME (input branch-name) to the Amplify branch name",
        ));
    }
    Ok(branch)
}

/// The commit: explicit settings first, then the CI's (never for RETRY: a retried job keeps
/// its own commit; nor for MANUAL), its message and time from the CI or git when not given.
fn commit(
    raw: &Raw,
    ci: &ci::Context,
    job_type: JobType,
    warnings: &mut Vec<String>,
) -> Result<Commit, SettingsError> {
    // StartDeployment takes no commit: a manual job never asks the CI or git.
    let use_ci_commit = !matches!(job_type, JobType::Retry | JobType::Manual);
    let id = match raw.amplify_commit_id.clone() {
        Some(c) => Some(Sourced {
            value: c,
            from: COMMIT_ID.var.into(),
        }),
        None if use_ci_commit => ci.commit_id.clone(),
        None => None,
    };
    if let Some(c) = id
        .as_ref()
        .filter(|c| c.value.chars().count() > SHORT_TEXT_MAX)
    {
        return Err(SettingsError::new(
            &c.from,
            Some(COMMIT_ID.input),
            Some(&c.value),
            "a commit ID is at most 255 characters",
            "set AMPLIFY_COMMIT_ID (input commit-id) to the full commit SHA",
        ));
    }
    let mut time = commit_time(raw.amplify_commit_time.as_deref())?;
    let mut message = raw.amplify_commit_message.clone().map(|m| Sourced {
        value: m,
        from: COMMIT_MESSAGE.var.into(),
    });
    if use_ci_commit && (message.is_none() || time.is_none()) {
        if let Some(id) = &id {
            let found = ci.commit_details(&id.value);
            message = message.or(found.message);
            time = time.or(found.time);
        }
    }
    if let Some(m) = &mut message {
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
    Ok(Commit { id, message, time })
}

fn commit_time(value: Option<&str>) -> Result<Option<Sourced<i64>>, SettingsError> {
    let Some(t) = value else { return Ok(None) };
    let value = parse_time(t).ok_or_else(|| {
        SettingsError::of(
            COMMIT_TIME,
            Some(t),
            "not a time",
            "use RFC 3339 (2024-05-01T12:00:00Z or with an offset) or seconds since 1970",
        )
    })?;
    Ok(Some(Sourced {
        value,
        from: COMMIT_TIME.var.into(),
    }))
}

fn valid_app_id(id: &str) -> bool {
    (2..=20).contains(&id.len())
        && id.starts_with('d')
        && id[1..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}
