//! Fork pull requests: the service builds none on its own. A fork's push is held
//! (`Server::gen3_fork_push`) until `AcceptForkPullRequestDeployment` accepts its commit, which
//! then deploys to the preview environment; accepting it again answers `ALREADY_ACCEPTED`.
//! Which environments take a fork's commit (the preview one here) is a guess.

use serde_json::{Value, json};

use crate::answer::json_object;
use crate::gen3::apps::environment;
use crate::gen3::deployments::{Source, add};
use crate::gen3::routes::validation;
use crate::http::{Request, Response};
use crate::state::{Config, State};

/// A fork's commit: pushed (held until accepted) or accepted (perhaps before its push).
#[derive(Debug, Clone, PartialEq)]
pub struct ForkCommit {
    pub app: String,
    pub pull_request: String,
    pub sha: String,
    pub accepted: bool,
    /// A push waits for this commit to be accepted.
    pub held: bool,
}

fn valid_sha(sha: &str) -> bool {
    sha.len() == 40
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A fork's push: held, or deployed at once when its commit was accepted before.
pub fn push(app: &str, pull_request: &str, sha: &str, s: &mut State) {
    let found = s
        .gen3
        .forks
        .iter_mut()
        .find(|f| f.app == app && f.sha == sha);
    match found {
        Some(f) if f.accepted => {
            deploy(app, pull_request, sha, s);
        }
        Some(f) => f.held = true,
        None => s.gen3.forks.push(ForkCommit {
            app: app.into(),
            pull_request: pull_request.into(),
            sha: sha.into(),
            accepted: false,
            held: true,
        }),
    }
}

fn deploy(app: &str, pull_request: &str, sha: &str, s: &mut State) {
    let source = Source::Git {
        git_ref: format!("pull/{pull_request}/head"),
        commit_id: sha.to_string(),
    };
    let description = format!("Fork pull request #{pull_request}");
    add(
        app,
        "preview",
        "QUEUED",
        &description,
        Default::default(),
        source,
        s,
    );
}

/// `POST /apps/{AppName}/fork-pr-authorizations`.
pub fn accept(app: &str, req: &Request, config: &Config, s: &mut State) -> Response {
    let body = match json_object(&req.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    let (env, sha, pr) = (
        text("EnvironmentName"),
        text("CommitSha"),
        text("PullRequestNumber"),
    );
    if env.is_empty() || sha.is_empty() {
        return validation(
            "1 validation error detected: EnvironmentName and CommitSha are required",
        );
    }
    if !valid_sha(sha) {
        return validation(&format!(
            "1 validation error detected: Value '{sha}' at 'commitSha' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-f]{{40}}"
        ));
    }
    let pr_ok = pr.is_empty() || (pr.len() <= 16 && pr.bytes().all(|b| b.is_ascii_digit()));
    if !pr_ok
        || body
            .get("PullRequestNumber")
            .is_some_and(|v| !v.is_string())
    {
        return validation(&format!(
            "1 validation error detected: Value '{pr}' at 'pullRequestNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]+"
        ));
    }
    let e = match environment(config, app, env) {
        Ok((_, e)) => e,
        Err(r) => return r,
    };
    if e.kind() != "PREVIEW" {
        return validation(&format!(
            "Fork pull request deployments go to the preview environment, not {env}."
        ));
    }
    let found = s
        .gen3
        .forks
        .iter_mut()
        .find(|f| f.app == app && f.sha == sha);
    let outcome = match found {
        Some(f) if f.accepted => "ALREADY_ACCEPTED",
        Some(f) => {
            f.accepted = true;
            let (held, number) = (std::mem::take(&mut f.held), f.pull_request.clone());
            if held {
                deploy(app, &number, sha, s);
            }
            "ACCEPTED"
        }
        None => {
            s.gen3.forks.push(ForkCommit {
                app: app.into(),
                pull_request: pr.into(),
                sha: sha.into(),
                accepted: true,
                held: false,
            });
            "ACCEPTED"
        }
    };
    Response::json(200, &json!({ "Outcome": outcome }))
}
