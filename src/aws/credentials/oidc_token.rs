//! GitHub's OIDC token endpoint: the runner's ID token for a role's web identity. Asked each
//! time a web identity is exchanged ([`super::web_identity`]); the provider that chooses GitHub
//! OIDC is [`super::github`].

use reqwest::Url;

use super::{Attempt, Ctx, ProviderError, with_retries};

/// `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...` with the request token: `{"value": "<JWT>"}`.
pub async fn id_token(ctx: &Ctx, url: &Url, bearer: &str) -> Result<String, ProviderError> {
    let client = ctx
        .http
        .client_for(url)
        .map_err(|e| ProviderError::failed(e.to_string()))?;
    let what = "GitHub's OIDC token endpoint";
    let token = with_retries(what, async || {
        let resp = match client
            .get(url.clone())
            .bearer_auth(bearer)
            .header("accept", "application/json; api-version=2.0")
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(crate::aws::net::error_chain(&e)),
        };
        let status = resp.status().as_u16();
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Attempt::Retry(crate::aws::net::error_chain(&e)),
        };
        match status {
            200..=299 => {}
            429 | 500..=599 => return Attempt::Retry(format!("HTTP {status}")),
            401 | 403 => {
                return Attempt::Fail(ProviderError::with_hint(
                    format!("{what} refused the request token (HTTP {status})"),
                    "the token is only valid while the job runs; check `permissions: id-token: write`",
                ));
            }
            _ => {
                return Attempt::Fail(ProviderError::failed(format!(
                    "{what} answered HTTP {status}"
                )));
            }
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            value: String,
        }
        match serde_json::from_slice::<Answer>(&body) {
            Ok(a) if !a.value.is_empty() => Attempt::Done(a.value),
            _ => Attempt::Fail(ProviderError::failed(format!(
                "{what} answered without a token (expected {{\"value\": \"<JWT>\"}})"
            ))),
        }
    })
    .await?;
    ctx.mask(&token);
    Ok(token)
}
