//! Every setting of a run, read and checked before anything is sent or written: the job
//! (`job`), and each part's own settings, read next to the code that uses them (`retry`,
//! `wait`, `credentials`, `net`, `report`). This module only composes them.

use std::path::PathBuf;
use std::time::Duration;

use crate::branch::BranchSettings;
use crate::ci;
use crate::comment::Comment;
use crate::credentials;
use crate::env::{Env, Name, SettingsError};
use crate::job::Job;
use crate::report::OutputSettings;
use crate::retry::{self, Policy};
use crate::wait::WaitSettings;

pub const MODE: Name = Name {
    var: "AMPLIFY_MODE",
    input: "mode",
};

/// What the run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Start a job (and create its branch with create-branch).
    Start,
    /// Delete the branch (a pull-request preview whose pull request closed).
    DeleteBranch,
}

impl Mode {
    fn from_env(env: &Env) -> Result<Mode, SettingsError> {
        match env.get(MODE.var).map(str::to_ascii_lowercase).as_deref() {
            None | Some("start") => Ok(Mode::Start),
            Some("delete-branch") => Ok(Mode::DeleteBranch),
            Some(_) => Err(SettingsError::of(
                MODE,
                env.get(MODE.var),
                "not a mode",
                "use start (the default) or delete-branch",
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub job: Job,
    pub branch: BranchSettings,
    pub comment: Comment,
    pub retry: Policy,
    /// The limit of one attempt, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
    /// Follow the job to its end (`AMPLIFY_WAIT=true`).
    pub wait: Option<WaitSettings>,
    pub credentials: credentials::Config,
    /// CA bundles trusted besides the system's (`AWS_CA_BUNDLE`, `SSL_CERT_FILE`), by the
    /// variable naming each: read when an HTTPS client is first built, not before.
    pub ca_bundles: Vec<(&'static str, PathBuf)>,
    pub outputs: OutputSettings,
}

impl Settings {
    /// Reads and checks every setting; nothing is sent and nothing written before this passes.
    pub fn from_env(env: &Env, ci: &ci::Context) -> Result<Settings, SettingsError> {
        let mode = Mode::from_env(env)?;
        let job = Job::from_env(env, ci)?;
        let branch = BranchSettings::from_env(env, ci.pull_request.is_some())?;
        let comment = Comment::from_env(env, ci)?;
        let retry = Policy::from_env(env)?;
        let request_timeout = retry::request_timeout(env)?;
        let wait = WaitSettings::from_env(env)?;
        let credentials = credentials::Config::from_env(env, &job.region, request_timeout)?;
        let ca_bundles = crate::net::ca_bundles(env);
        let outputs = OutputSettings::from_env(env)?;
        Ok(Settings {
            mode,
            job,
            branch,
            comment,
            retry,
            request_timeout,
            wait,
            credentials,
            ca_bundles,
            outputs,
        })
    }
}
