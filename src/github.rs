//! The GitHub REST API at `GITHUB_API_URL` (GitHub Enterprise Server works), with the token
//! `github-token`: for the pull-request comment, deployments and commit statuses. GitHub's 5xx
//! and its rate limits (a secondary rate limit's `retry-after`, a spent quota's
//! `x-ratelimit-reset`) are retried within the retry policy; anything else is the caller's to
//! report, as a warning: GitHub's side never changes the run's exit code.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Url;
use serde_json::Value;

use crate::aws::error::ApiError;
use crate::aws::net::{Http, error_chain, host_header};
use crate::aws::retry::{Policy, last_error, repeatable};
use crate::env::{Env, Name, SettingsError};

pub const GITHUB_TOKEN: Name = Name {
    var: "GITHUB_TOKEN",
    input: "github-token",
};

/// A token that never prints.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(redacted)")
    }
}

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The repository's REST API and the token that may write to it.
#[derive(Debug, Clone)]
pub struct GitHub {
    api: Url,
    /// `owner/name`.
    repository: String,
    token: Token,
}

impl GitHub {
    /// `GITHUB_API_URL` (default github.com's), `GITHUB_REPOSITORY` and `GITHUB_TOKEN`, checked;
    /// `needs` names the setting that needs them, and `permission` what the token must allow.
    pub fn from_env(env: &Env, needs: Name, permission: &str) -> Result<GitHub, SettingsError> {
        let token = env.get(GITHUB_TOKEN.var).ok_or_else(|| {
            SettingsError::of(
                GITHUB_TOKEN,
                None,
                &format!("{} needs a token that may write to the repository", needs.input),
                &format!(
                    "pass github-token (the default, github.token, works) and give the job permissions: {permission}"
                ),
            )
        })?;
        let repository = env
            .get("GITHUB_REPOSITORY")
            .filter(|r| r.split('/').count() == 2 && !r.starts_with('/') && !r.ends_with('/'))
            .ok_or_else(|| {
                SettingsError::new(
                    "GITHUB_REPOSITORY",
                    None,
                    env.get("GITHUB_REPOSITORY"),
                    &format!("{} needs the repository as owner/name", needs.input),
                    "the runner sets it: run this on GitHub Actions",
                )
            })?;
        let api = env
            .get("GITHUB_API_URL")
            .unwrap_or("https://api.github.com");
        let api = Url::parse(api.trim_end_matches('/')).map_err(|e| {
            SettingsError::new(
                "GITHUB_API_URL",
                None,
                Some(api),
                &format!("not a URL ({e})"),
                "the runner sets it; unset it for github.com",
            )
        })?;
        Ok(GitHub {
            api,
            repository: repository.to_string(),
            token: Token(token.to_string()),
        })
    }

    /// The token, to mask it.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// `owner/name`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// A `GET` of `path` (under the repository), retried as [`GitHub::call`] is: `None` when
    /// GitHub answers 404 (gone, never there, or not visible to the token).
    pub async fn get_optional(
        &self,
        http: &Http,
        policy: &Policy,
        path: &str,
    ) -> Result<Option<Value>, String> {
        let url = self.url(path);
        let get = reqwest::Method::GET;
        repeatable::<_, std::convert::Infallible>(policy, async || {
            match self.send(http, &get, &url, None).await {
                Err(ApiError::Service { status: 404, .. }) => Ok(None),
                other => other.map(Some),
            }
        })
        .await
        .map_err(|e| match last_error(e) {
            ApiError::Service {
                status, message, ..
            } => format!("GET {url} answered {status}: {message}"),
            other => other.to_string(),
        })
    }

    /// `{api}/repos/{owner}/{name}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/repos/{}{path}",
            self.api.as_str().trim_end_matches('/'),
            self.repository
        )
    }

    /// A request to `path` (under the repository), retried within `policy` for GitHub's 5xx,
    /// its rate limits and lost connections; the error as one line.
    pub async fn call(
        &self,
        http: &Http,
        policy: &Policy,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let url = self.url(path);
        // No job can come of a GitHub call: its failure carries none.
        repeatable::<_, std::convert::Infallible>(policy, async || {
            self.send(http, &method, &url, body).await
        })
        .await
        .map_err(|e| match last_error(e) {
            ApiError::Service {
                status, message, ..
            } => format!("{method} {url} answered {status}: {message}"),
            other => other.to_string(),
        })
    }

    /// One attempt. A rate limit is given as `TooManyRequestsException`, so the retry policy
    /// waits for it as for throttling; GitHub's own status is kept.
    async fn send(
        &self,
        http: &Http,
        method: &reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let operation = "GitHub";
        let parsed = Url::parse(url).map_err(|e| ApiError::Malformed {
            operation,
            detail: format!("{url}: {e}"),
        })?;
        let transport = |detail: String, sent: bool| ApiError::Transport {
            operation,
            endpoint: format!("{}://{}", parsed.scheme(), host_header(&parsed)),
            detail,
            sent,
        };
        let client = http
            .client_for(&parsed)
            .map_err(|e| transport(e.to_string(), false))?;
        let mut req = client
            .request(method.clone(), parsed.clone())
            .header("authorization", format!("Bearer {}", self.token.expose()))
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport(error_chain(&e), !e.is_connect()))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header("x-github-request-id");
        let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
        let spent = header("x-ratelimit-remaining").as_deref() == Some("0");
        let reset = header("x-ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok());
        let text = resp
            .text()
            .await
            .map_err(|e| transport(error_chain(&e), true))?;
        if (200..300).contains(&status) {
            return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
        }
        let limits = Limits {
            retry_after,
            spent,
            reset,
        };
        Err(refusal(status, &text, request_id, limits))
    }
}

/// What GitHub's headers say of its rate limits.
struct Limits {
    retry_after: Option<u64>,
    spent: bool,
    reset: Option<u64>,
}

/// GitHub's refusal as an [`ApiError`]: a rate limit as `TooManyRequestsException`, waited for
/// until `Retry-After` or the reset; any other status as `HTTP<status>`.
fn refusal(status: u16, text: &str, request_id: Option<String>, l: Limits) -> ApiError {
    let message = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let limited = matches!(status, 403 | 429)
        && (l.retry_after.is_some()
            || l.spent
            || message.to_ascii_lowercase().contains("rate limit"));
    let wait = l.retry_after.or_else(|| {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        l.reset.filter(|_| l.spent).map(|r| r.saturating_sub(now))
    });
    let code = match limited {
        true => "TooManyRequestsException".into(),
        false => format!("HTTP{status}"),
    };
    ApiError::Service {
        operation: "GitHub",
        status,
        code,
        message,
        request_id,
        retry_after: wait.filter(|_| limited).map(Duration::from_secs),
        clock_skew: None,
        quota_code: None,
        hint: None,
    }
}
