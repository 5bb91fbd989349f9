//! Where AWS credentials come from. Today: the environment. This is the one seam the
//! provider chain (OIDC, profiles, containers, IMDS) will grow behind.
//!
//! [`Credentials`]'s `Debug` redacts the secret key and session token, so logging it is safe.

pub use aws_credential_types::Credentials;

use crate::settings::Env;

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "no AWS credentials: {missing} is not set; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
         (and AWS_SESSION_TOKEN for temporary ones), e.g. with aws-actions/configure-aws-credentials on GitHub"
    )]
    Missing { missing: &'static str },
}

pub fn from_env(env: &Env) -> Result<Credentials, CredentialsError> {
    let id = env
        .get("AWS_ACCESS_KEY_ID")
        .ok_or(CredentialsError::Missing {
            missing: "AWS_ACCESS_KEY_ID",
        })?;
    let secret = env
        .get("AWS_SECRET_ACCESS_KEY")
        .ok_or(CredentialsError::Missing {
            missing: "AWS_SECRET_ACCESS_KEY",
        })?;
    let token = env.get("AWS_SESSION_TOKEN").map(str::to_string);
    Ok(Credentials::new(id, secret, token, None, "environment"))
}
