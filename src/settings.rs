//! Every setting of a run, read and checked before anything is sent or written: the job
//! (`job`), and each part's own settings, read next to the code that uses them (`retry`,
//! `wait`, `credentials`, `net`, `report`). This module only composes them.

use std::time::Duration;

use crate::aws::credentials;
use crate::aws::retry::{self, Policy};
use crate::ci;
use crate::ci::COMMIT_ID;
use crate::env::{Env, Name, SettingsError, boolean};
use crate::hosting::branch::BranchSettings;
use crate::hosting::busy::BusySettings;
use crate::hosting::follow::FollowSettings;
use crate::hosting::job::Job;
use crate::hosting::job::JobType;
use crate::hosting::supersede::CANCEL_PREVIOUS;
use crate::hosting::wait::WaitSettings;
use crate::report::comment::Comment;
use crate::report::outputs::OutputSettings;

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
    /// Start nothing: follow the job Amplify started for the commit.
    Follow,
}

impl Mode {
    fn from_env(env: &Env) -> Result<Mode, SettingsError> {
        match env.get(MODE.var).map(str::to_ascii_lowercase).as_deref() {
            None | Some("start") => Ok(Mode::Start),
            Some("delete-branch") => Ok(Mode::DeleteBranch),
            Some("follow") => Ok(Mode::Follow),
            Some(_) => Err(SettingsError::of(
                MODE,
                env.get(MODE.var),
                "not a mode",
                "use start (the default), follow or delete-branch",
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
    /// The roots HTTPS trusts (`AMPLIFY_CA_STORE`) and the extra bundles (`AWS_CA_BUNDLE`,
    /// `SSL_CERT_FILE`), read when an HTTPS client is first built, not before.
    pub tls: crate::aws::net::TlsConfig,
    pub outputs: OutputSettings,
    /// `mode: follow`: how long to look for the commit's job.
    pub follow: FollowSettings,
    /// `cancel-previous`: stop the branch's unfinished jobs of other commits first.
    pub cancel_previous: bool,
    /// `if-busy`: what a start does while the branch has an unfinished job.
    pub busy: BusySettings,
    /// `log-lines`: how many of a failing step's last log lines are shown.
    pub log_lines: usize,
    /// `download-artifacts`: the folder a waited job's artifacts go to.
    pub artifacts: Option<std::path::PathBuf>,
    /// `github-deployment`, `github-status`: what is reported to GitHub.
    pub github: crate::report::github::GitHubReport,
    /// `on-missing-credentials`: a fork's pull request without credentials is a notice.
    pub on_missing_credentials: crate::report::github::OnMissing,
}

/// `cancel-previous` is for starts of RELEASE and MANUAL jobs.
fn cancel_previous(env: &Env, mode: Mode, job: &Job) -> Result<bool, SettingsError> {
    let on = boolean(env.get(CANCEL_PREVIOUS.var), CANCEL_PREVIOUS)?;
    let fits = mode == Mode::Start && matches!(job.job_type, JobType::Release | JobType::Manual);
    if on && !fits {
        return Err(SettingsError::of(
            CANCEL_PREVIOUS,
            env.get(CANCEL_PREVIOUS.var),
            "it stops superseded builds before starting a RELEASE or MANUAL job, and this run does not start one",
            "leave cancel-previous empty here",
        ));
    }
    Ok(on)
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
        let wait = WaitSettings::from_env(env, mode == Mode::Follow)?;
        let follow = FollowSettings::from_env(env)?;
        let cancel_previous = cancel_previous(env, mode, &job)?;
        let busy = BusySettings::from_env(env)?;
        let log_lines = crate::hosting::logs::log_lines(env)?;
        let artifacts = crate::hosting::artifacts::folder(env)?;
        let github = crate::report::github::GitHubReport::from_env(env, ci, &job.branch.value)?;
        let on_missing_credentials = crate::report::github::OnMissing::from_env(env)?;
        if mode == Mode::Follow && job.commit.id.is_none() {
            return Err(SettingsError::of(
                COMMIT_ID,
                None,
                "follow needs the commit whose build to follow, and neither the CI nor git gives one",
                "set commit-id to the commit's SHA, or run in a checkout",
            ));
        }
        let credentials = credentials::Config::from_env(env, &job.region, request_timeout)?;
        let tls = crate::aws::net::TlsConfig::from_env(env)?;
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
            tls,
            outputs,
            follow,
            cancel_previous,
            busy,
            log_lines,
            artifacts,
            github,
            on_missing_credentials,
        })
    }
}
