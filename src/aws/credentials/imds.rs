//! Step 6 of the chain: eC2 instance metadata, IMDSv2 only: `PUT /latest/api/token`, then the role name and its
//! credentials with the token. Off EC2 the token request gets no answer; its short timeout
//! keeps that to a fraction of a second. `AWS_EC2_METADATA_DISABLED=true` skips it, and
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves it (as in the SDKs).

use std::time::Duration;

use reqwest::Url;

use super::{Attempt, Ctx, Provider, ProviderError, from_json, with_retries};
use crate::aws::net::error_chain;
use crate::env::{Env, show};

const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
const DEFAULT_ENDPOINT_IPV6: &str = "http://[fd00:ec2::254]";
/// The token request doubles as the probe for "on EC2": a real IMDS answers in milliseconds.
const TOKEN_TIMEOUT: Duration = Duration::from_millis(500);
const TIMEOUT: Duration = Duration::from_secs(1);
const TOKEN_TTL_SECS: &str = "21600";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";

#[derive(Debug, Clone)]
pub struct Imds {
    pub endpoint: Url,
}

/// The IMDS provider, or why it is skipped.
pub fn provider(env: &Env) -> Result<Provider, String> {
    if env
        .get("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err("disabled by AWS_EC2_METADATA_DISABLED".into());
    }
    let endpoint = match env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
        Some(e) => e.to_string(),
        None => match env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") {
            Some(m) if m.eq_ignore_ascii_case("ipv6") => DEFAULT_ENDPOINT_IPV6.into(),
            _ => DEFAULT_ENDPOINT.into(),
        },
    };
    let endpoint = Url::parse(&endpoint).map_err(|e| {
        format!(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT is {}: not a URL ({e})",
            show(&endpoint)
        )
    })?;
    Ok(Provider::Imds(Imds { endpoint }))
}

enum Got {
    Ok(Vec<u8>),
    Unauthorized,
}

impl Imds {
    pub fn describe(&self) -> String {
        format!(
            "EC2 instance metadata at {}",
            self.endpoint.origin().ascii_serialization()
        )
    }

    fn url(&self, path: &str) -> Url {
        let mut u = self.endpoint.clone();
        u.set_path(path);
        u
    }

    async fn token(&self, ctx: &Ctx) -> Result<String, ProviderError> {
        let url = self.url("/latest/api/token");
        let resp = ctx
            .http
            .client_for(&url)
            .map_err(|e| ProviderError::failed(e.to_string()))?
            .put(url)
            .header("x-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECS)
            .timeout(TOKEN_TIMEOUT)
            .send()
            .await
            .map_err(|e| {
                ProviderError::Unavailable(format!(
                    "no answer to the IMDSv2 token request within {}ms: not on EC2, or in a container on EC2 whose \
                     instance metadata hop limit is 1 ({})",
                    TOKEN_TIMEOUT.as_millis(),
                    error_chain(&e)
                ))
            })?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        match status {
            200 if !body.trim().is_empty() => {
                let token = body.trim().to_string();
                ctx.mask(&token);
                Ok(token)
            }
            403 => Err(ProviderError::Unavailable(
                "instance metadata is turned off on this instance (token request: HTTP 403)".into(),
            )),
            _ => Err(ProviderError::Unavailable(format!(
                "the IMDSv2 token request answered HTTP {status}"
            ))),
        }
    }

    async fn get(&self, ctx: &Ctx, path: &str, token: &str) -> Result<Got, ProviderError> {
        let url = self.url(path);
        let client = ctx
            .http
            .client_for(&url)
            .map_err(|e| ProviderError::failed(e.to_string()))?;
        with_retries("EC2 instance metadata", async || {
            let resp = match client
                .get(url.clone())
                .header("x-aws-ec2-metadata-token", token)
                .timeout(TIMEOUT)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => return Attempt::Retry(error_chain(&e)),
            };
            let status = resp.status().as_u16();
            let body = match resp.bytes().await {
                Ok(b) => b.to_vec(),
                Err(e) => return Attempt::Retry(error_chain(&e)),
            };
            match status {
                200 => Attempt::Done(Got::Ok(body)),
                401 => Attempt::Done(Got::Unauthorized),
                404 if path == CREDENTIALS_PATH => Attempt::Fail(ProviderError::with_hint(
                    "this instance has no IAM role (instance profile)",
                    "attach an instance profile whose role may call amplify:StartJob",
                )),
                429 | 500..=599 => Attempt::Retry(format!("HTTP {status}")),
                _ => Attempt::Fail(ProviderError::failed(format!(
                    "instance metadata {path} answered HTTP {status}"
                ))),
            }
        })
        .await
    }

    /// GET with the session token; a 401 (the token expired) gets one new token.
    async fn get_with_token(
        &self,
        ctx: &Ctx,
        path: &str,
        token: &mut String,
    ) -> Result<Vec<u8>, ProviderError> {
        if let Got::Ok(b) = self.get(ctx, path, token).await? {
            return Ok(b);
        }
        *token = self.token(ctx).await?;
        match self.get(ctx, path, token).await? {
            Got::Ok(b) => Ok(b),
            Got::Unauthorized => Err(ProviderError::failed(format!(
                "instance metadata {path} refused a fresh IMDSv2 token (HTTP 401)"
            ))),
        }
    }

    pub async fn fetch(
        &self,
        ctx: &Ctx,
    ) -> Result<aws_credential_types::Credentials, ProviderError> {
        let mut token = self.token(ctx).await?;
        let roles = self
            .get_with_token(ctx, CREDENTIALS_PATH, &mut token)
            .await?;
        let roles = String::from_utf8_lossy(&roles);
        let Some(role) = roles.lines().map(str::trim).find(|l| !l.is_empty()) else {
            return Err(ProviderError::failed(
                "this instance has no IAM role (instance profile)",
            ));
        };
        let raw = self
            .get_with_token(ctx, &format!("{CREDENTIALS_PATH}{role}"), &mut token)
            .await?;
        #[derive(serde::Deserialize)]
        struct Status {
            #[serde(rename = "Code")]
            code: Option<String>,
        }
        if let Ok(Status { code: Some(code) }) = serde_json::from_slice::<Status>(&raw) {
            if code != "Success" {
                return Err(ProviderError::failed(format!(
                    "instance metadata has no credentials for role {role}: Code {}",
                    show(&code)
                )));
            }
        }
        from_json(&raw, "imds")
    }
}
