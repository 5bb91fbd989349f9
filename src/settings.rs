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
use crate::hosting::prune::PruneSettings;
use crate::hosting::supersede::CANCEL_PREVIOUS;
use crate::report::comment::Comment;
use crate::report::outputs::OutputSettings;
use crate::waiting::WaitSettings;

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
    /// Delete the previews this tool made whose pull request closed or that grew old.
    Prune,
    /// Start a RETRY of the branch's last good job before the one that serves.
    Rollback,
}

impl Mode {
    fn from_env(env: &Env) -> Result<Mode, SettingsError> {
        match env.get(MODE.var).map(str::to_ascii_lowercase).as_deref() {
            None | Some("start") => Ok(Mode::Start),
            Some("delete-branch") => Ok(Mode::DeleteBranch),
            Some("follow") => Ok(Mode::Follow),
            Some("prune") => Ok(Mode::Prune),
            Some("rollback") => Ok(Mode::Rollback),
            Some("promote" | "abort-rollout" | "authorize-fork") => Err(SettingsError::of(
                MODE,
                env.get(MODE.var),
                "it is a mode of the new AWS Amplify, and this run is for an Amplify Hosting app (app-id)",
                "set app-name instead of app-id, or use start, follow, delete-branch, prune or rollback",
            )),
            Some(_) => Err(SettingsError::of(
                MODE,
                env.get(MODE.var),
                "not a mode",
                "use start (the default), follow, delete-branch, prune or rollback; with app-name also promote, abort-rollout or authorize-fork",
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
    /// `mode: prune`: what goes, and GitHub's API to ask of pull requests.
    pub prune: PruneSettings,
    pub prune_github: Option<crate::github::GitHub>,
}

/// `mode: rollback`: a RETRY of a job the run chooses (or `job-id` names), with no commit and
/// no source; the branch must exist.
fn rollback_job(env: &Env, ci: &ci::Context) -> Result<Job, SettingsError> {
    use crate::hosting::job::{JOB_ID, JOB_TYPE};
    let job_type = env.get(JOB_TYPE.var);
    if let Some(t) = job_type.filter(|t| !t.eq_ignore_ascii_case("RETRY")) {
        return Err(SettingsError::of(
            JOB_TYPE,
            Some(t),
            "mode rollback starts a RETRY of an older job",
            "leave job-type empty",
        ));
    }
    let not_taken = [
        crate::source::SOURCE,
        crate::source::SOURCE_URL,
        crate::hosting::job::COMMIT_MESSAGE,
        crate::hosting::job::COMMIT_TIME,
        crate::hosting::job::JOB_REASON,
        crate::hosting::branch::CREATE_BRANCH,
    ];
    none_of(
        env,
        &not_taken,
        "mode rollback retries a job the branch already ran: it takes no source, commit, reason or new branch",
        "leave it empty",
    )?;
    let explicit = env.get(JOB_ID.var).map(str::to_string);
    let plain = Env::from_pairs(
        env.iter()
            .filter(|(k, _)| k != JOB_TYPE.var && k != JOB_ID.var && k != COMMIT_ID.var),
    );
    let mut job = Job::from_env(&plain, ci)?;
    if let Some(id) = &explicit {
        if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SettingsError::of(
                JOB_ID,
                Some(id),
                "a job ID is digits only",
                "use the number of the job to roll back to, as the Amplify console shows it, e.g. 42",
            ));
        }
    }
    if let Some(c) = env.get(COMMIT_ID.var) {
        return Err(SettingsError::of(
            COMMIT_ID,
            Some(c),
            "a RETRY builds the retried job's commit: the commit is the job's, not a setting",
            "leave commit-id empty, or name the job with job-id",
        ));
    }
    job.job_type = JobType::Retry;
    job.job_id = explicit;
    job.commit = crate::hosting::job::Commit::default();
    job.warnings.clear();
    Ok(job)
}

/// The first of `names` that is set is exit 2, for `why`.
fn none_of(env: &Env, names: &[Name], why: &str, fix: &str) -> Result<(), SettingsError> {
    match names.iter().find(|n| env.get(n.var).is_some()) {
        Some(n) => Err(SettingsError::of(*n, env.get(n.var), why, fix)),
        None => Ok(()),
    }
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
        let job = match mode {
            Mode::Rollback => rollback_job(env, ci)?,
            _ => Job::from_env(env, ci)?,
        };
        let branch = BranchSettings::from_env(env, ci.pull_request)?;
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
        let prune = PruneSettings::from_env(env, mode == Mode::Prune)?;
        let prune_github = match mode {
            Mode::Prune => Some(crate::github::GitHub::from_env(
                env,
                MODE,
                "pull-requests: read, contents: read",
            )?),
            _ => None,
        };
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
            prune,
            prune_github,
        })
    }
}

/// A run for one of the two services: `app-id` names an Amplify Hosting app, `app-name` an
/// app of the new AWS Amplify.
#[derive(Debug, Clone)]
pub enum Run {
    Hosting(Box<Settings>),
    Gen3(Box<Gen3Settings>),
    /// Promote, roll back, abort a rollout or accept a fork's commit on the new AWS Amplify.
    Release(Box<ReleaseSettings>),
}

/// What a run does on the new AWS Amplify, other than deploying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseMode {
    Promote,
    Rollback,
    AbortRollout,
    AuthorizeFork,
}

impl ReleaseMode {
    pub fn name(self) -> &'static str {
        match self {
            ReleaseMode::Promote => "promote",
            ReleaseMode::Rollback => "rollback",
            ReleaseMode::AbortRollout => "abort-rollout",
            ReleaseMode::AuthorizeFork => "authorize-fork",
        }
    }

    /// `None` for a deployment (start, the default).
    fn from_env(env: &Env) -> Result<Option<ReleaseMode>, SettingsError> {
        Ok(Some(
            match env.get(MODE.var).map(str::to_ascii_lowercase).as_deref() {
                None | Some("start") => return Ok(None),
                Some("promote") => ReleaseMode::Promote,
                Some("rollback") => ReleaseMode::Rollback,
                Some("abort-rollout") => ReleaseMode::AbortRollout,
                Some("authorize-fork") => ReleaseMode::AuthorizeFork,
                Some(_) => {
                    return Err(SettingsError::of(
                        MODE,
                        env.get(MODE.var),
                        "the new AWS Amplify deploys (start, the default), or promotes, rolls back, aborts a rollout or accepts a fork's commit; follow, delete-branch and prune are Amplify Hosting's",
                        "use start, promote, rollback, abort-rollout or authorize-fork",
                    ));
                }
            },
        ))
    }
}

/// Every setting of a promote, rollback, rollout abort or fork acceptance.
#[derive(Debug, Clone)]
pub struct ReleaseSettings {
    pub mode: ReleaseMode,
    pub place: crate::gen3::settings::Place,
    /// `commit-id` (else the CI's): the commit whose deployment a promote means.
    pub commit: crate::gen3::settings::Commit,
    /// `deployment-id`: what a promote serves, or the guard of a rollback.
    pub deployment_id: Option<String>,
    /// `rollout`: the model's preset, or `None` for the environment's own.
    pub rollout: Option<&'static str>,
    /// `mode: authorize-fork`: the commit and its pull request.
    pub fork: Option<crate::gen3::fork::ForkRequest>,
    /// `cancel-on-abort`: a cancelled run aborts the rollout it started.
    pub cancel_on_abort: bool,
    pub retry: Policy,
    pub request_timeout: Duration,
    pub wait: Option<WaitSettings>,
    pub credentials: credentials::Config,
    pub tls: crate::aws::net::TlsConfig,
    pub outputs: OutputSettings,
    pub github: crate::report::github::GitHubReport,
    pub on_missing_credentials: crate::report::github::OnMissing,
}

/// The settings only a deployment reads, with why each means nothing to the other modes.
const DEPLOY_ONLY: [(Name, &str); 9] = [
    (crate::source::SOURCE, "nothing is uploaded"),
    (crate::gen3::settings::SOURCE_TYPE, "nothing is uploaded"),
    (crate::gen3::settings::GIT_REF, "nothing is built"),
    (
        crate::gen3::settings::WAIT_ROLLOUT,
        "with wait, promote and rollback follow their rollout anyway",
    ),
    (COMMENT_NAME, "it comments on no pull request"),
    (
        crate::waiting::ON_COMMIT_MISMATCH,
        "nothing is built, so no other commit can be",
    ),
    (
        crate::waiting::WAIT_FOR_URL,
        "it probes no deployment's URL",
    ),
    (crate::waiting::URL_TIMEOUT, "it probes no deployment's URL"),
    (crate::hosting::job::COMMIT_MESSAGE, "nothing is built"),
];

const COMMENT_NAME: Name = crate::report::comment::PR_COMMENT;

fn refuse(n: Name, v: Option<&str>, why: &str, fix: &str) -> SettingsError {
    SettingsError::of(n, v, why, fix)
}

/// `deployment-id`, `rollout` and `cancel-on-abort` (for promote and rollback), and
/// `pull-request` (for authorize-fork), each refused where it means nothing.
fn release_parts(
    env: &Env,
    mode: ReleaseMode,
    place: &crate::gen3::settings::Place,
) -> Result<(Option<String>, Option<&'static str>, bool), SettingsError> {
    let m = mode.name();
    let deployment_id = crate::gen3::settings::deployment_id(env)?;
    let moves = matches!(mode, ReleaseMode::Promote | ReleaseMode::Rollback);
    if let (Some(id), false) = (&deployment_id, moves) {
        let why = format!("mode {m} acts on no deployment of its choosing");
        return Err(refuse(
            crate::gen3::settings::DEPLOYMENT_ID,
            Some(id),
            &why,
            "leave deployment-id empty",
        ));
    }
    let rollout = crate::gen3::settings::rollout(env, &place.environment)?;
    if let (Some(_), false) = (rollout, moves) {
        let n = crate::gen3::settings::ROLLOUT;
        let why = format!("a rollout moves traffic in a promote or a rollback, and mode is {m}");
        return Err(refuse(n, env.get(n.var), &why, "leave rollout empty"));
    }
    let pr = crate::gen3::settings::PULL_REQUEST;
    if let (Some(v), false) = (env.get(pr.var), mode == ReleaseMode::AuthorizeFork) {
        let why = format!(
            "it names the pull request whose commit authorize-fork accepts, and mode is {m}"
        );
        return Err(refuse(pr, Some(v), &why, "leave pull-request empty"));
    }
    let cancel_on_abort = boolean(
        env.get(crate::waiting::CANCEL_ON_ABORT.var),
        crate::waiting::CANCEL_ON_ABORT,
    )?;
    if cancel_on_abort && !moves {
        let n = crate::waiting::CANCEL_ON_ABORT;
        let why = format!(
            "it aborts the rollout a cancelled promote or rollback started, and mode is {m}"
        );
        return Err(refuse(
            n,
            env.get(n.var),
            &why,
            "leave cancel-on-abort empty",
        ));
    }
    Ok((deployment_id, rollout, cancel_on_abort))
}

impl ReleaseSettings {
    fn from_env(
        env: &Env,
        ci: &ci::Context,
        mode: ReleaseMode,
    ) -> Result<ReleaseSettings, SettingsError> {
        refuse_hosting_only(env)?;
        let m = mode.name();
        for (n, why) in DEPLOY_ONLY {
            if let Some(v) = env.get(n.var) {
                let why = format!("it is a setting of a deployment, and mode is {m}: {why}");
                return Err(refuse(n, Some(v), &why, "leave it empty"));
            }
        }
        let place = crate::gen3::settings::Place::from_env(env)?;
        let (deployment_id, rollout, cancel_on_abort) = release_parts(env, mode, &place)?;
        let commit = crate::gen3::settings::commit(env, ci);
        if mode == ReleaseMode::Promote && deployment_id.is_none() && commit.id.is_none() {
            return Err(refuse(
                crate::gen3::settings::DEPLOYMENT_ID,
                None,
                "promote needs the deployment to serve, and there is neither a deployment id nor a commit to find it by",
                "set deployment-id, or commit-id to the commit whose deployment to promote",
            ));
        }
        let fork = match mode {
            ReleaseMode::AuthorizeFork => Some(crate::gen3::fork::ForkRequest::from_env(env, ci)?),
            _ => None,
        };
        let retry = Policy::from_env(env)?;
        let request_timeout = retry::request_timeout(env)?;
        let wait = WaitSettings::from_env(env, false)?;
        // The GitHub environment is the Amplify environment's, also on a pull request's run.
        let mut plain = ci.clone();
        plain.pull_request = None;
        let github =
            crate::report::github::GitHubReport::from_env(env, &plain, &place.environment)?;
        if !matches!(mode, ReleaseMode::Promote | ReleaseMode::Rollback)
            && !matches!(github, crate::report::github::GitHubReport::Off)
        {
            let n = crate::report::github::GITHUB_DEPLOYMENT;
            let why = format!("promote and rollback record what is live, and mode is {m}");
            return Err(refuse(
                n,
                env.get(n.var)
                    .or(env.get(crate::report::github::GITHUB_STATUS.var)),
                &why,
                "leave github-deployment and github-status empty",
            ));
        }
        let credentials = credentials::Config::from_env(env, &place.region, request_timeout)?;
        let tls = crate::aws::net::TlsConfig::from_env(env)?;
        let outputs = OutputSettings::from_env(env)?;
        let on_missing_credentials = crate::report::github::OnMissing::from_env(env)?;
        Ok(ReleaseSettings {
            mode,
            place,
            commit,
            deployment_id,
            rollout,
            fork,
            cancel_on_abort,
            retry,
            request_timeout,
            wait,
            credentials,
            tls,
            outputs,
            github,
            on_missing_credentials,
        })
    }
}

/// Every setting of a deployment to the new AWS Amplify.
#[derive(Debug, Clone)]
pub struct Gen3Settings {
    pub deploy: crate::gen3::settings::Deploy,
    pub comment: Comment,
    pub retry: Policy,
    pub request_timeout: Duration,
    pub wait: Option<WaitSettings>,
    pub credentials: credentials::Config,
    pub tls: crate::aws::net::TlsConfig,
    pub outputs: OutputSettings,
    pub github: crate::report::github::GitHubReport,
    pub on_missing_credentials: crate::report::github::OnMissing,
}

/// The settings only Amplify Hosting reads, with why each means nothing to the new service.
const HOSTING_ONLY: [(Name, &str); 22] = [
    (
        crate::hosting::prune::PRUNE_OLDER_THAN,
        "prune is Amplify Hosting's mode",
    ),
    (
        crate::hosting::prune::PRUNE_DELETE,
        "prune is Amplify Hosting's mode",
    ),
    (
        crate::hosting::job::JOB_TYPE,
        "the new AWS Amplify has no job types: a source uploads, else a Git ref deploys",
    ),
    (
        crate::hosting::job::JOB_ID,
        "the new AWS Amplify retries nothing by job id",
    ),
    (
        crate::hosting::job::JOB_REASON,
        "the new AWS Amplify takes no job reason",
    ),
    (
        crate::ci::BRANCH_NAME,
        "the new AWS Amplify deploys to an environment, not a branch: use environment, and git-ref for the branch to build",
    ),
    (
        crate::hosting::branch::CREATE_BRANCH,
        "the new AWS Amplify creates no branches: deployments go to an environment",
    ),
    (
        crate::hosting::branch::BRANCH_STAGE,
        "the new AWS Amplify has no branch stages",
    ),
    (
        crate::hosting::branch::ALLOW_DELETE_ANY_BRANCH,
        "the new AWS Amplify has no branches to delete",
    ),
    (
        crate::source::SOURCE_URL,
        "the new AWS Amplify takes an uploaded folder or zip, not a URL: use source",
    ),
    (
        crate::source::SOURCE_URL_TYPE,
        "the new AWS Amplify takes an uploaded folder or zip, not a URL",
    ),
    (
        crate::hosting::busy::IF_BUSY,
        "deployments of the new AWS Amplify queue by themselves",
    ),
    (
        CANCEL_PREVIOUS,
        "the new AWS Amplify supersedes an older waiting deployment by itself",
    ),
    (
        crate::hosting::preview::PREVIEW_BASIC_AUTH,
        "the new AWS Amplify sets no basic auth on a deployment",
    ),
    (
        crate::hosting::preview::INHERIT_ENV_FROM,
        "the new AWS Amplify's variables belong to the environment",
    ),
    (
        crate::hosting::preview::ENVIRONMENT_VARIABLES,
        "the new AWS Amplify's variables belong to the environment",
    ),
    (
        crate::hosting::preview::SKEW_PROTECTION,
        "skew protection is an environment setting of the new AWS Amplify",
    ),
    (
        crate::hosting::preview::FRAMEWORK,
        "the new AWS Amplify takes no framework with a deployment",
    ),
    (
        crate::hosting::follow::FOLLOW_TIMEOUT,
        "follow mode is Amplify Hosting's",
    ),
    (
        crate::hosting::logs::LOG_LINES,
        "no API of the new AWS Amplify returns a log's text: a failure names the command that shows it",
    ),
    (
        crate::hosting::artifacts::DOWNLOAD_ARTIFACTS,
        "the new AWS Amplify has no artifacts",
    ),
    (
        crate::waiting::CANCEL_ON_TIMEOUT,
        "no API of the new AWS Amplify stops a deployment",
    ),
];

/// A setting of Amplify Hosting set for a run of the new service: exit 2, saying why.
fn refuse_hosting_only(env: &Env) -> Result<(), SettingsError> {
    for (n, why) in HOSTING_ONLY {
        if let Some(v) = env.get(n.var) {
            return Err(SettingsError::of(
                n,
                Some(v),
                &format!(
                    "it is an Amplify Hosting setting, and this run is for an app of the new AWS Amplify (app-name): {why}"
                ),
                "leave it empty",
            ));
        }
    }
    Ok(())
}

/// Reads and checks every setting of either service; nothing is sent and nothing written
/// before this passes.
pub fn from_env(env: &Env, ci: &ci::Context) -> Result<Run, SettingsError> {
    let app_id = env.get(crate::hosting::job::APP_ID.var);
    let app_name = env.get(crate::gen3::settings::APP_NAME.var);
    match (app_id, app_name) {
        (Some(id), Some(name)) => Err(crate::gen3::settings::both_apps(id, name)),
        (None, Some(_)) => match ReleaseMode::from_env(env)? {
            None => Ok(Run::Gen3(Box::new(Gen3Settings::from_env(env, ci)?))),
            Some(mode) => Ok(Run::Release(Box::new(ReleaseSettings::from_env(
                env, ci, mode,
            )?))),
        },
        (_, None) => {
            if let Some(n) = crate::gen3::settings::ONLY
                .iter()
                .find(|n| env.get(n.var).is_some())
            {
                return Err(SettingsError::of(
                    *n,
                    env.get(n.var),
                    "it is a setting of the new AWS Amplify, and this run is for an Amplify Hosting app (app-id)",
                    "leave it empty, or set app-name instead of app-id to deploy to the new AWS Amplify",
                ));
            }
            Ok(Run::Hosting(Box::new(Settings::from_env(env, ci)?)))
        }
    }
}

impl Gen3Settings {
    pub fn from_env(env: &Env, ci: &ci::Context) -> Result<Gen3Settings, SettingsError> {
        refuse_hosting_only(env)?;
        let release_only = [
            crate::gen3::settings::DEPLOYMENT_ID,
            crate::gen3::settings::ROLLOUT,
            crate::gen3::settings::PULL_REQUEST,
        ];
        none_of(
            env,
            &release_only,
            "a deployment does not read it: it is for promote, rollback and authorize-fork",
            "leave it empty, or set mode",
        )?;
        if boolean(
            env.get(crate::waiting::CANCEL_ON_ABORT.var),
            crate::waiting::CANCEL_ON_ABORT,
        )? {
            return Err(SettingsError::of(
                crate::waiting::CANCEL_ON_ABORT,
                env.get(crate::waiting::CANCEL_ON_ABORT.var),
                "no API of the new AWS Amplify stops a deployment: a cancelled run leaves it going, and says how to watch it",
                "leave cancel-on-abort empty",
            ));
        }
        let deploy = crate::gen3::settings::Deploy::from_env(env, ci)?;
        let comment = Comment::from_env(env, ci)?;
        let retry = Policy::from_env(env)?;
        let request_timeout = retry::request_timeout(env)?;
        let wait = WaitSettings::from_env(env, deploy.wait_rollout)?;
        let github = crate::report::github::GitHubReport::from_env(env, ci, &deploy.environment)?;
        let on_missing_credentials = crate::report::github::OnMissing::from_env(env)?;
        let credentials = credentials::Config::from_env(env, &deploy.region, request_timeout)?;
        let tls = crate::aws::net::TlsConfig::from_env(env)?;
        let outputs = OutputSettings::from_env(env)?;
        Ok(Gen3Settings {
            deploy,
            comment,
            retry,
            request_timeout,
            wait,
            credentials,
            tls,
            outputs,
            github,
            on_missing_credentials,
        })
    }
}
