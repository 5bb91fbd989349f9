//! Step 2 of the chain: direct GitHub OIDC: with `role-to-assume`, ask the runner for an ID token (audience
//! `sts.amazonaws.com` unless set) and exchange it at STS with `AssumeRoleWithWebIdentity`, so
//! no separate configure-aws-credentials step is needed.

use reqwest::Url;

use super::web_identity::{Token, WebIdentity};
use super::{CredentialsError, Ctx, Provider};
use crate::env::Env;

pub fn provider(env: &Env, ctx: &Ctx) -> Result<Option<Provider>, CredentialsError> {
    let Some(role_arn) = ctx.config.role_to_assume.clone() else {
        return Ok(None);
    };
    let (Some(url), Some(bearer)) = (
        env.get("ACTIONS_ID_TOKEN_REQUEST_URL"),
        env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) else {
        let hint = if ctx.config.github {
            "give the job the right to request it: add `permissions: id-token: write` (and `contents: read`) to the job or the workflow"
        } else {
            "GitHub OIDC works only inside GitHub Actions; elsewhere set AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (GitLab id_tokens, EKS), or drop role-to-assume"
        };
        return Err(CredentialsError::Failed {
            provider: format!("GitHub OIDC (role {role_arn})"),
            detail: super::NO_OIDC_TOKEN.into(),
            hint: Some(hint.into()),
        });
    };
    let mut url = Url::parse(url).map_err(|e| CredentialsError::Failed {
        provider: "GitHub OIDC".into(),
        detail: format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL ({e})"),
        hint: None,
    })?;
    url.query_pairs_mut()
        .append_pair("audience", &ctx.config.audience);
    Ok(Some(Provider::WebIdentity(WebIdentity {
        role_arn,
        session_name: ctx.config.session_name.clone(),
        duration_secs: Some(ctx.config.duration_secs),
        token: Token::GitHub {
            url,
            bearer: bearer.to_string(),
        },
    })))
}
