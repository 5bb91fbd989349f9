//! The one error type of a run, and the exit codes it maps to (documented in the README).

use crate::aws::credentials::CredentialsError;
use crate::aws::error::ApiError;
use crate::aws::net::TlsError;
use crate::aws::retry::{Class, classify};
use crate::env::SettingsError;
use crate::hosting::start_job::RetryError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Retry(#[from] RetryError),
    /// The branch was busy with another job, and `if-busy` did not let the run start.
    #[error(transparent)]
    Busy(crate::hosting::busy::BusyError),
    /// `mode: follow` found no job for the commit.
    #[error(transparent)]
    Follow(crate::hosting::follow::FollowError),
    /// The folder to deploy cannot be zipped (or the zip is over the limit).
    #[error("AMPLIFY_SOURCE (input source) cannot be deployed: {0}")]
    Archive(crate::archive::ArchiveError),
    /// CI cancelled the run (SIGINT: 130, SIGTERM: 143).
    #[error("interrupted by {} while {during}{}", crate::cancel::signal_name(*code), after.as_deref().map(|a| format!(": {a}")).unwrap_or_default())]
    Interrupted {
        code: u8,
        during: &'static str,
        /// What became of the job, when there is something to say.
        after: Option<String>,
    },
    /// `CreateDeployment` of the new AWS Amplify, after its retries.
    #[error(transparent)]
    Deployment(crate::gen3::deploy::RetryError),
    /// The source's upload to the new AWS Amplify.
    #[error(transparent)]
    Upload(crate::gen3::upload::UploadError),
    /// AWS refused what the run asked for, as found out by reading (no such app or
    /// environment): exit 3.
    #[error("{message}")]
    Refused {
        message: String,
        hint: Option<String>,
    },
    /// A promote, rollback or rollout abort of the new AWS Amplify.
    #[error(transparent)]
    Release(crate::gen3::release::ReleaseError),
    #[error("could not write {what} to {path}: {source}; the job was started ({started})")]
    Output {
        what: &'static str,
        path: String,
        started: String,
        source: std::io::Error,
    },
}

/// Exit codes: 0 started · 2 bad settings, nothing sent · 3 AWS rejected the request ·
/// 4 gave up after retries (or no usable answer) · 130/143 interrupted · 1 anything unexpected.
pub fn exit_code(err: &Error) -> u8 {
    match err {
        Error::Settings(_) | Error::Credentials(_) | Error::Tls(_) => 2,
        Error::Api(ApiError::Credentials { .. })
        | Error::Retry(RetryError::Api(ApiError::Credentials { .. })) => 2,
        // Whether AWS said no is the retry policy's call: what it would not retry, it rejected.
        Error::Api(e) | Error::Retry(RetryError::Api(e)) if classify(e) == Class::Fatal => 3,
        Error::Retry(RetryError::Interrupted { code, .. }) | Error::Interrupted { code, .. } => {
            *code
        }
        Error::Api(_) | Error::Retry(_) => 4,
        Error::Follow(_) => 6,
        Error::Busy(crate::hosting::busy::BusyError::TimedOut { .. }) => 6,
        Error::Busy(crate::hosting::busy::BusyError::Interrupted { code }) => *code,
        Error::Busy(crate::hosting::busy::BusyError::Refused { .. }) => 3,
        // The crate root turns these into Error::Retry.
        Error::Busy(crate::hosting::busy::BusyError::Api(_)) => 4,
        Error::Archive(crate::archive::ArchiveError::Write { .. }) => 1,
        Error::Archive(_) => 2,
        Error::Output { .. } => 1,
        Error::Refused { .. } => 3,
        Error::Release(crate::gen3::release::ReleaseError::Refused { .. }) => 3,
        Error::Release(crate::gen3::release::ReleaseError::Api(e))
            if classify(e) == Class::Fatal =>
        {
            3
        }
        Error::Release(crate::gen3::release::ReleaseError::Api(_)) => 4,
        Error::Release(crate::gen3::release::ReleaseError::Interrupted { code, .. }) => *code,
        Error::Deployment(crate::gen3::deploy::RetryError::Api(e))
            if classify(e) == Class::Fatal =>
        {
            3
        }
        Error::Deployment(crate::gen3::deploy::RetryError::Interrupted { code, .. }) => *code,
        Error::Deployment(_) => 4,
        Error::Upload(crate::gen3::upload::UploadError::Read { .. }) => 1,
        Error::Upload(crate::gen3::upload::UploadError::Digest(_)) => 3,
        Error::Upload(crate::gen3::upload::UploadError::Api(e)) if classify(e) == Class::Fatal => 3,
        Error::Upload(_) => 4,
    }
}

impl Error {
    /// What to do about it, when there is more to say than the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Api(e) | Error::Retry(RetryError::Api(e)) => e.hint().map(str::to_string),
            Error::Retry(RetryError::GaveUp {
                last,
                maybe_started: true,
                console,
                ..
            }) => Some(format!(
                "an attempt's answer was lost, so a job may have been started: check the branch's jobs at {console} before running again{}",
                last.hint().map(|h| format!("; {h}")).unwrap_or_default()
            )),
            Error::Retry(RetryError::GaveUp { last, .. }) => last.hint().map(str::to_string),
            Error::Retry(RetryError::Stuck { job_id, stop, .. }) => Some(format!(
                "job {job_id} blocks the branch's next deployment until it is stopped: stop it with `{stop}`, or run again with cancel-previous: true or if-busy: cancel"
            )),
            Error::Deployment(crate::gen3::deploy::RetryError::Api(e))
            | Error::Upload(crate::gen3::upload::UploadError::Api(e))
            | Error::Upload(crate::gen3::upload::UploadError::Digest(e)) => {
                e.hint().map(str::to_string)
            }
            Error::Deployment(crate::gen3::deploy::RetryError::GaveUp {
                maybe_started: true,
                console,
                ..
            }) => Some(format!(
                "an attempt's answer was lost, so a deployment may have been made: check {console} before running again"
            )),
            Error::Refused { hint, .. } => hint.clone(),
            Error::Release(crate::gen3::release::ReleaseError::Refused { hint, .. }) => {
                Some(hint.clone())
            }
            Error::Release(crate::gen3::release::ReleaseError::Api(e)) => {
                e.hint().map(str::to_string)
            }
            Error::Credentials(e) => e.hint(),
            Error::Busy(e) => e.hint(),
            _ => None,
        }
    }
}
