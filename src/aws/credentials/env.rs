//! Step 1 of the chain: keys in the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.

use super::{CredentialsError, Ctx, Provider};
use crate::env::Env;

pub const FROM: &str = "the environment (AWS_ACCESS_KEY_ID)";

pub fn provider(env: &Env, _ctx: &Ctx) -> Result<Option<Provider>, CredentialsError> {
    let Some(id) = env.get("AWS_ACCESS_KEY_ID") else {
        if env.get("AWS_SECRET_ACCESS_KEY").is_some() {
            return Err(missing("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"));
        }
        return Ok(None);
    };
    let Some(secret) = env.get("AWS_SECRET_ACCESS_KEY") else {
        return Err(missing("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"));
    };
    let token = env.get("AWS_SESSION_TOKEN").map(str::to_string);
    let credentials =
        aws_credential_types::Credentials::new(id, secret, token, None, "environment");
    Ok(Some(Provider::Static {
        from: FROM.into(),
        credentials,
    }))
}

fn missing(var: &'static str, set: &'static str) -> CredentialsError {
    CredentialsError::Failed {
        provider: "the environment".into(),
        detail: format!("{set} is set but {var} is not"),
        hint: Some(
            "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), or neither".into(),
        ),
    }
}
