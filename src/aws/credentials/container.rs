//! Step 5 of the chain: the container credentials endpoint: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS,
//! CodeBuild; on `169.254.170.2`) or `AWS_CONTAINER_CREDENTIALS_FULL_URI` with
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` / `AWS_CONTAINER_AUTHORIZATION_TOKEN` (EKS Pod
//! Identity). A full URI may only name loopback or the documented container hosts, so a
//! stray variable cannot send the token elsewhere.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

use super::{Attempt, CredentialsError, Ctx, Provider, ProviderError, from_json, with_retries};
use crate::aws::net::error_chain;
use crate::env::{Env, show};

const ECS_HOST: &str = "http://169.254.170.2";
const TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub enum Auth {
    /// Read at every fetch: EKS rotates the file.
    File(PathBuf),
    Value(String),
}

#[derive(Debug, Clone)]
pub struct Container {
    pub url: Url,
    pub auth: Option<Auth>,
}

impl Container {
    pub fn describe(&self) -> String {
        format!(
            "the container credentials endpoint {}",
            self.url.origin().ascii_serialization()
        )
    }

    pub async fn fetch(
        &self,
        ctx: &Ctx,
    ) -> Result<aws_credential_types::Credentials, ProviderError> {
        let auth = match &self.auth {
            None => None,
            Some(Auth::Value(v)) => Some(v.clone()),
            Some(Auth::File(p)) => Some(
                std::fs::read_to_string(p)
                    .map_err(|e| {
                        ProviderError::failed(format!(
                            "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {}: {e}",
                            p.display()
                        ))
                    })?
                    .trim()
                    .to_string(),
            ),
        };
        if let Some(a) = &auth {
            if a.contains(['\r', '\n']) {
                return Err(ProviderError::failed(
                    "the container authorization token has a line break",
                ));
            }
            ctx.mask(a);
        }
        let client = ctx
            .http
            .client_for(&self.url)
            .map_err(|e| ProviderError::failed(e.to_string()))?;
        let what = "the container credentials endpoint";
        let body = with_retries(what, async || {
            let mut req = client.get(self.url.clone()).timeout(TIMEOUT);
            if let Some(a) = &auth {
                req = req.header("authorization", a.as_str());
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => return Attempt::Retry(error_chain(&e)),
            };
            let status = resp.status().as_u16();
            let body = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => return Attempt::Retry(error_chain(&e)),
            };
            match status {
                200..=299 => Attempt::Done(body),
                429 | 500..=599 => Attempt::Retry(format!("HTTP {status}")),
                _ => Attempt::Fail(ProviderError::with_hint(
                    format!(
                        "{what} answered HTTP {status}: {}",
                        crate::env::truncate_chars(&String::from_utf8_lossy(&body), 200).0
                    ),
                    "check the task role (ECS, CodeBuild) or the pod identity association (EKS)",
                )),
            }
        })
        .await?;
        from_json(&body, "container")
    }
}

pub fn provider(env: &Env, _ctx: &Ctx) -> Result<Option<Provider>, CredentialsError> {
    let fail = |detail: String| CredentialsError::Failed {
        provider: "the container credentials endpoint".into(),
        detail,
        hint: None,
    };
    let url = if let Some(rel) = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        relative_url(rel).ok_or_else(|| {
            fail(format!(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is {}: not a path",
                show(rel)
            ))
        })?
    } else if let Some(full) = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        let url = Url::parse(full).map_err(|e| {
            fail(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI is {}: not a URL ({e})",
                show(full)
            ))
        })?;
        if !allowed_full_uri(&url) {
            return Err(fail(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI is {}: only loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23 may serve credentials",
                show(full)
            )));
        }
        url
    } else {
        return Ok(None);
    };
    let auth = env
        .get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        .map(|f| Auth::File(PathBuf::from(f)))
        .or_else(|| {
            env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
                .map(|t| Auth::Value(t.to_string()))
        });
    Ok(Some(Provider::Container(Container { url, auth })))
}

pub fn relative_url(rel: &str) -> Option<Url> {
    if !rel.starts_with('/') {
        return None;
    }
    let url = Url::parse(&format!("{ECS_HOST}{rel}")).ok()?;
    (url.host_str() == Some("169.254.170.2")).then_some(url)
}

/// Loopback, or the ECS and EKS Pod Identity hosts, over http or https.
pub fn allowed_full_uri(url: &Url) -> bool {
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    let Some(ip) = crate::aws::net::host_ip(url) else {
        return false;
    };
    let allowed: [IpAddr; 3] = [
        [169, 254, 170, 2].into(),
        [169, 254, 170, 23].into(),
        [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23].into(),
    ];
    ip.is_loopback() || allowed.contains(&ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_uris_go_to_the_ecs_host_only() {
        assert_eq!(
            relative_url("/v2/credentials/abc").unwrap().as_str(),
            "http://169.254.170.2/v2/credentials/abc"
        );
        assert!(relative_url("v2/credentials").is_none());
        assert!(relative_url("@evil.example/").is_none());
    }

    #[test]
    fn full_uris_are_limited_to_container_hosts() {
        for ok in [
            "http://127.0.0.1:8080/creds",
            "http://127.1.2.3/creds",
            "http://localhost/creds",
            "http://[::1]:9/creds",
            "http://169.254.170.2/v2/credentials",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
        ] {
            assert!(allowed_full_uri(&Url::parse(ok).unwrap()), "{ok}");
        }
        for bad in [
            "http://example.com/creds",
            "https://10.0.0.1/creds",
            "http://169.254.169.254/latest",
            "file:///etc/passwd",
        ] {
            assert!(!allowed_full_uri(&Url::parse(bad).unwrap()), "{bad}");
        }
    }
}
