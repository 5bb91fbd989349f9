//! The one error type of a run, and the exit codes it maps to (documented in the README).

use crate::amplify::ApiError;
use crate::credentials::CredentialsError;
use crate::settings::SettingsError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("could not write {what} to {path}: {source}; the job was started ({started})")]
    Output {
        what: &'static str,
        path: String,
        started: String,
        source: std::io::Error,
    },
}

/// Exit codes: 0 started · 2 bad settings, nothing sent · 3 AWS rejected the request ·
/// 4 no answer from AWS (network failure, or gave up after retries) · 1 anything unexpected.
pub fn exit_code(err: &Error) -> u8 {
    match err {
        Error::Settings(_) | Error::Credentials(_) => 2,
        Error::Api(e) if e.is_rejection() => 3,
        Error::Api(_) => 4,
        Error::Output { .. } => 1,
    }
}
