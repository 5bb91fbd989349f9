//! The pull-request comment (`pr-comment`): one comment per app and branch, found again by a
//! hidden marker and updated in place, through the GitHub REST API at `GITHUB_API_URL`
//! (GitHub Enterprise Server works). A comment that cannot be posted is a warning: the job
//! has started by then.

use reqwest::Url;
use serde_json::{Value, json};

use crate::ci;
use crate::env::{Env, Name, SettingsError, boolean};
use crate::net::{Http, error_chain};

pub const PR_COMMENT: Name = Name {
    var: "AMPLIFY_PR_COMMENT",
    input: "pr-comment",
};
pub const GITHUB_TOKEN: Name = Name {
    var: "GITHUB_TOKEN",
    input: "github-token",
};
/// Comments read per page, and pages read at most, looking for ours.
const PER_PAGE: usize = 100;
const MAX_PAGES: usize = 10;

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

#[derive(Debug, Clone, Default)]
pub enum Comment {
    #[default]
    Off,
    /// `pr-comment` is on, but this run is not for a pull request: no comment.
    NotAPullRequest,
    On(CommentSettings),
}

#[derive(Debug, Clone)]
pub struct CommentSettings {
    pub api: Url,
    /// `owner/name`.
    pub repository: String,
    pub pull_request: u64,
    pub token: Token,
}

impl Comment {
    pub fn from_env(env: &Env, ci: &ci::Context) -> Result<Comment, SettingsError> {
        if !boolean(env.get(PR_COMMENT.var), PR_COMMENT)? {
            return Ok(Comment::Off);
        }
        let Some(pull_request) = ci.pull_request else {
            return Ok(Comment::NotAPullRequest);
        };
        let token = env.get(GITHUB_TOKEN.var).ok_or_else(|| {
            SettingsError::of(
                GITHUB_TOKEN,
                None,
                "pr-comment needs a token that may write to the pull request",
                "pass github-token (the default, github.token, works) and give the job permissions: pull-requests: write",
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
                    "pr-comment needs the repository as owner/name",
                    "the runner sets it: run pr-comment on GitHub Actions",
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
        Ok(Comment::On(CommentSettings {
            api,
            repository: repository.to_string(),
            pull_request,
            token: Token(token.to_string()),
        }))
    }
}

/// The hidden marker that finds the comment again.
pub fn marker(app_id: &str, branch: &str) -> String {
    format!("<!-- amplify-start-job:{app_id}:{branch} -->")
}

/// Whether the comment was made or updated.
#[derive(Debug, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

/// Creates the comment, or updates the one that holds `marker`.
pub async fn upsert(
    http: &Http,
    s: &CommentSettings,
    marker: &str,
    body: &str,
) -> Result<Upserted, String> {
    let base = format!(
        "{}/repos/{}/issues",
        s.api.as_str().trim_end_matches('/'),
        s.repository
    );
    let existing = find(http, s, &base, marker).await?;
    let (method, url, done) = match existing {
        Some(id) => (
            reqwest::Method::PATCH,
            format!("{base}/comments/{id}"),
            Upserted::Updated,
        ),
        None => (
            reqwest::Method::POST,
            format!("{base}/{}/comments", s.pull_request),
            Upserted::Created,
        ),
    };
    send(http, s, method, &url, Some(json!({ "body": body }))).await?;
    Ok(done)
}

/// The id of the comment that holds `marker`, reading at most [`MAX_PAGES`] pages.
async fn find(
    http: &Http,
    s: &CommentSettings,
    base: &str,
    marker: &str,
) -> Result<Option<u64>, String> {
    for page in 1..=MAX_PAGES {
        let url = format!(
            "{base}/{}/comments?per_page={PER_PAGE}&page={page}",
            s.pull_request
        );
        let comments = send(http, s, reqwest::Method::GET, &url, None).await?;
        let list = comments.as_array().cloned().unwrap_or_default();
        let ours = list.iter().find(|c| {
            c.get("body")
                .and_then(Value::as_str)
                .is_some_and(|b| b.contains(marker))
        });
        if let Some(id) = ours.and_then(|c| c.get("id")).and_then(Value::as_u64) {
            return Ok(Some(id));
        }
        if list.len() < PER_PAGE {
            break;
        }
    }
    Ok(None)
}

async fn send(
    http: &Http,
    s: &CommentSettings,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let parsed = Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let client = http.client_for(&parsed).map_err(|e| e.to_string())?;
    let mut req = client
        .request(method.clone(), parsed)
        .header("authorization", format!("Bearer {}", s.token.expose()))
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28");
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.map_err(|e| error_chain(&e))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        return Err(format!("{method} {url} answered {status}: {message}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}
