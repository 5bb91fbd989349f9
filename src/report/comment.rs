//! The pull-request comment (`pr-comment`): one comment per app and branch, found again by a
//! hidden marker and updated in place, through the GitHub REST API at `GITHUB_API_URL`
//! (GitHub Enterprise Server works). A comment that cannot be posted is a warning: the job
//! has started by then.

use crate::report::format::{cell, code_cell};
use crate::report::outcome::Outcome;
use crate::report::summary::log_link;
use serde_json::{Value, json};

use crate::aws::net::Http;
use crate::aws::retry::Policy;
use crate::ci;
use crate::env::{Env, Name, SettingsError, boolean};
use crate::github::GitHub;

pub const PR_COMMENT: Name = Name {
    var: "AMPLIFY_PR_COMMENT",
    input: "pr-comment",
};
/// Comments read per page, and pages read at most, looking for ours.
const PER_PAGE: usize = 100;
const MAX_PAGES: usize = 10;

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
    pub github: GitHub,
    pub pull_request: u64,
}

impl Comment {
    pub fn from_env(env: &Env, ci: &ci::Context) -> Result<Comment, SettingsError> {
        if !boolean(env.get(PR_COMMENT.var), PR_COMMENT)? {
            return Ok(Comment::Off);
        }
        let Some(pull_request) = ci.pull_request else {
            return Ok(Comment::NotAPullRequest);
        };
        let github = GitHub::from_env(env, PR_COMMENT, "pull-requests: write")?;
        Ok(Comment::On(CommentSettings {
            github,
            pull_request,
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
    policy: &Policy,
    s: &CommentSettings,
    marker: &str,
    body: &str,
) -> Result<Upserted, String> {
    let existing = find(http, policy, s, marker).await?;
    let (method, path, done) = match existing {
        Some(id) => (
            reqwest::Method::PATCH,
            format!("/issues/comments/{id}"),
            Upserted::Updated,
        ),
        None => (
            reqwest::Method::POST,
            format!("/issues/{}/comments", s.pull_request),
            Upserted::Created,
        ),
    };
    let body = json!({ "body": body });
    s.github
        .call(http, policy, method, &path, Some(&body))
        .await?;
    Ok(done)
}

/// The id of the comment that holds `marker`, reading at most [`MAX_PAGES`] pages.
async fn find(
    http: &Http,
    policy: &Policy,
    s: &CommentSettings,
    marker: &str,
) -> Result<Option<u64>, String> {
    for page in 1..=MAX_PAGES {
        let path = format!(
            "/issues/{}/comments?per_page={PER_PAGE}&page={page}",
            s.pull_request
        );
        let comments = s
            .github
            .call(http, policy, reqwest::Method::GET, &path, None)
            .await?;
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

impl Outcome {
    /// The pull-request comment: `marker` (hidden), the job, the preview link, and after a
    /// wait a row per step. Untrusted text is put in table cells and code spans only.
    pub fn pr_comment(&self, marker: &str) -> String {
        let commit: String = self.commit_id().chars().take(12).collect();
        let mut out = format!(
            "{marker}\n### Amplify: {}\n\n| App | Branch | Status | Commit |\n|---|---|---|---|\n| {} | {} | {} | `{}` |\n\n",
            cell(self.status()),
            cell(&self.app_id),
            cell(&self.branch),
            cell(self.status()),
            code_cell(&commit),
        );
        let mut links = Vec::new();
        if let Some(url) = &self.branch_url {
            links.push(format!("[Preview]({url})"));
        }
        links.push(format!(
            "[Job {} in the console]({})",
            cell(&self.summary.job_id),
            self.job_url
        ));
        out.push_str(&links.join(" · "));
        out.push('\n');
        if !self.steps().is_empty() {
            out.push_str("\n| Step | Status | Log |\n|---|---|---|\n");
            for step in self.steps() {
                out.push_str(&format!(
                    "| {} | {} | {} |\n",
                    cell(&step.step_name),
                    cell(&step.status),
                    log_link(step)
                ));
            }
        }
        out
    }
}
