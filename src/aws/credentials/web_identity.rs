//! Step 3 of the chain: web identity from the environment: `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`
//! (+ `AWS_ROLE_SESSION_NAME`), as GitLab's `id_tokens` and EKS use. The token is read again
//! at every refresh, since its issuer rotates the file.

use std::path::PathBuf;

use reqwest::Url;

use super::{CredentialsError, Ctx, Provider, ProviderError, sts, valid_role_arn};
use crate::env::{Env, show};

#[derive(Debug, Clone)]
pub enum Token {
    /// Asked of the GitHub runner each time.
    GitHub {
        url: Url,
        bearer: String,
    },
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct WebIdentity {
    pub role_arn: String,
    pub session_name: String,
    pub duration_secs: Option<u32>,
    pub token: Token,
}

impl WebIdentity {
    pub fn describe(&self) -> String {
        match &self.token {
            Token::GitHub { .. } => format!("GitHub OIDC, role {}", self.role_arn),
            Token::File(p) => format!(
                "web identity token file {}, role {}",
                p.display(),
                self.role_arn
            ),
        }
    }

    pub async fn fetch(
        &self,
        ctx: &Ctx,
    ) -> Result<aws_credential_types::Credentials, ProviderError> {
        let token = match &self.token {
            Token::GitHub { url, bearer } => super::oidc_token::id_token(ctx, url, bearer).await?,
            Token::File(path) => {
                let t = std::fs::read_to_string(path).map_err(|e| {
                    ProviderError::failed(format!(
                        "cannot read the web identity token file {}: {e}",
                        path.display()
                    ))
                })?;
                let t = t.trim().to_string();
                if t.is_empty() {
                    return Err(ProviderError::failed(format!(
                        "the web identity token file {} is empty",
                        path.display()
                    )));
                }
                ctx.mask(&t);
                t
            }
        };
        sts::assume_role_with_web_identity(
            ctx,
            &self.role_arn,
            &self.session_name,
            self.duration_secs,
            &token,
        )
        .await
    }
}

pub fn provider(env: &Env, ctx: &Ctx) -> Result<Option<Provider>, CredentialsError> {
    let (role, file) = (
        env.get("AWS_ROLE_ARN"),
        env.get("AWS_WEB_IDENTITY_TOKEN_FILE"),
    );
    let fail = |detail: String| {
        CredentialsError::Failed {
        provider: "web identity".into(),
        detail,
        hint: Some(
            "set AWS_ROLE_ARN to the role and AWS_WEB_IDENTITY_TOKEN_FILE to a file holding the OIDC token (on GitLab, from id_tokens), or neither".into(),
        ),
    }
    };
    match (role, file) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(fail(
            "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not".into(),
        )),
        (None, Some(_)) => Err(fail(
            "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not".into(),
        )),
        (Some(role), Some(_)) if !valid_role_arn(role) => Err(fail(format!(
            "AWS_ROLE_ARN is {}: not a role ARN (arn:aws:iam::<account-id>:role/<name>)",
            show(role)
        ))),
        (Some(role), Some(file)) => {
            let session_name = match env.get("AWS_ROLE_SESSION_NAME") {
                Some(n) if !super::valid_session_name(n) => {
                    return Err(fail(format!(
                        "AWS_ROLE_SESSION_NAME is {}: 2 to 64 letters, digits or +=,.@_-",
                        show(n)
                    )));
                }
                Some(n) => n.to_string(),
                None => ctx.config.session_name.clone(),
            };
            Ok(Some(Provider::WebIdentity(WebIdentity {
                role_arn: role.to_string(),
                session_name,
                duration_secs: None,
                token: Token::File(PathBuf::from(file)),
            })))
        }
    }
}
