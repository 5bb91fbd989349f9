//! Tell GitHub what Amplify did: a deployment of the commit to an environment (`github-deployment`),
//! whose status follows the job (`in_progress`, then `success`, `failure` or `error`), and a commit
//! status that a branch protection rule can require (`github-status`). Both through the REST API
//! with `github-token`; a refusal or a network failure is one warning, never a changed exit code.
//! `mode: delete-branch` marks the environment's deployments inactive. On a fork's pull request,
//! which gets no secrets, missing credentials end the run with a notice (`on-missing-credentials`).

use serde_json::{Value, json};

use crate::aws::net::Http;
use crate::aws::retry::Policy;
use crate::ci;
use crate::env::{Env, Name, SettingsError, boolean};
use crate::github::GitHub;
use crate::report::told::Told;
use crate::runner::untrusted;

pub const GITHUB_DEPLOYMENT: Name = Name {
    var: "AMPLIFY_GITHUB_DEPLOYMENT",
    input: "github-deployment",
};
pub const GITHUB_ENVIRONMENT: Name = Name {
    var: "AMPLIFY_GITHUB_ENVIRONMENT",
    input: "github-environment",
};
pub const GITHUB_STATUS: Name = Name {
    var: "AMPLIFY_GITHUB_STATUS",
    input: "github-status",
};
pub const GITHUB_STATUS_CONTEXT: Name = Name {
    var: "AMPLIFY_GITHUB_STATUS_CONTEXT",
    input: "github-status-context",
};
pub const ON_MISSING_CREDENTIALS: Name = Name {
    var: "AMPLIFY_ON_MISSING_CREDENTIALS",
    input: "on-missing-credentials",
};

/// What a run does when no credential source gives anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnMissing {
    /// On a fork's pull request (no secrets, no OIDC token): exit 0 with a notice. Elsewhere
    /// an error.
    #[default]
    SkipForks,
    /// Always an error (exit 2).
    Fail,
}

impl OnMissing {
    pub fn from_env(env: &Env) -> Result<OnMissing, SettingsError> {
        let v = env.get(ON_MISSING_CREDENTIALS.var);
        match v.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("skip-forks") => Ok(OnMissing::SkipForks),
            Some("fail") => Ok(OnMissing::Fail),
            Some(_) => Err(SettingsError::of(
                ON_MISSING_CREDENTIALS,
                v,
                "not a choice",
                "use skip-forks (the default: a fork's pull request deploys nothing, with a notice) or fail",
            )),
        }
    }
}

/// The notice a fork's pull request ends with when it has no credentials.
pub fn fork_notice(fork: &str) -> String {
    format!(
        "nothing was deployed: this pull request comes from the fork {}, and GitHub gives a fork's pull_request runs no secrets and no OIDC token. To preview forks safely, deploy from a pull_request_target workflow that does not check out the pull request's code (deploy what it built elsewhere), or from a workflow_run workflow that deploys the artifact a pull_request workflow built. Set on-missing-credentials: fail to fail instead.",
        untrusted(fork)
    )
}

/// The warning for `pull_request_target` with a fork's head.
pub const TARGET_WARNING: &str = "this run is for pull_request_target, which has the base repository's secrets, and the pull request comes from a fork: building the fork's code with them lets it read them. Deploy only what was built without secrets (a workflow_run workflow), or check out the base, not the head";

#[derive(Debug, Clone, Default)]
pub enum GitHubReport {
    #[default]
    Off,
    /// Asked for, but this is not GitHub Actions: a notice, nothing sent.
    NotGitHub,
    On(Box<Reporter>),
}

#[derive(Debug, Clone)]
pub struct Reporter {
    github: GitHub,
    deployment: bool,
    status: bool,
    /// The deployment's environment.
    environment: String,
    /// A pull request's preview: GitHub may remove its environment when it is done.
    transient: bool,
    /// The commit status's context; `amplify/<appId>/<branch>` when unset.
    context: Option<String>,
}

impl GitHubReport {
    /// `branch`: the Amplify branch (the environment's default outside pull requests).
    pub fn from_env(
        env: &Env,
        ci: &ci::Context,
        branch: &str,
    ) -> Result<GitHubReport, SettingsError> {
        let deployment = boolean(env.get(GITHUB_DEPLOYMENT.var), GITHUB_DEPLOYMENT)?;
        let status = boolean(env.get(GITHUB_STATUS.var), GITHUB_STATUS)?;
        let environment = env.get(GITHUB_ENVIRONMENT.var);
        if let Some(e) = environment.filter(|e| e.chars().count() > 255 || e.contains('\n')) {
            return Err(SettingsError::of(
                GITHUB_ENVIRONMENT,
                Some(e),
                "not a GitHub environment name (one line, at most 255 characters)",
                "name the environment, e.g. preview",
            ));
        }
        let context = env.get(GITHUB_STATUS_CONTEXT.var);
        if let Some(c) = context.filter(|c| c.contains('\n') || c.chars().count() > 255) {
            return Err(SettingsError::of(
                GITHUB_STATUS_CONTEXT,
                Some(c),
                "not a status context (one line, at most 255 characters)",
                "name the check, e.g. amplify/preview",
            ));
        }
        if !deployment && !status {
            return Ok(GitHubReport::Off);
        }
        if env.get("GITHUB_ACTIONS") != Some("true") {
            return Ok(GitHubReport::NotGitHub);
        }
        let (needs, permission) = if deployment {
            (GITHUB_DEPLOYMENT, "deployments: write")
        } else {
            (GITHUB_STATUS, "statuses: write")
        };
        let github = GitHub::from_env(env, needs, permission)?;
        let environment = environment.map(str::to_string).unwrap_or_else(|| {
            ci.pull_request
                .map_or_else(|| branch.to_string(), |n| format!("pr-{n}"))
        });
        Ok(GitHubReport::On(Box::new(Reporter {
            github,
            deployment,
            status,
            environment,
            transient: ci.pull_request.is_some(),
            context: context.map(str::to_string),
        })))
    }

    /// The reporter, or why there is none (said once).
    pub fn reporter(&self) -> Option<&Reporter> {
        match self {
            GitHubReport::Off => None,
            GitHubReport::NotGitHub => {
                tracing::info!(
                    "github-deployment and github-status report to GitHub Actions only: nothing is sent here"
                );
                None
            }
            GitHubReport::On(r) => Some(r),
        }
    }
}

impl Reporter {
    /// At the start: the deployment (`in_progress`) and the commit status (`pending`). The
    /// deployment's id, when one was made.
    pub async fn started(&self, http: &Http, policy: &Policy, o: &Told) -> Option<u64> {
        let sha = self.sha(o)?;
        let description = o.description.clone();
        if self.status {
            self.commit_status(http, policy, o, sha, "pending", &description)
                .await;
        }
        if !self.deployment {
            return None;
        }
        let body = json!({
            "ref": sha,
            "environment": self.environment,
            "auto_merge": false,
            "required_contexts": [],
            "transient_environment": self.transient,
            "production_environment": o.production,
            "description": description,
            "payload": o.payload,
        });
        let made = self
            .github
            .call(
                http,
                policy,
                reqwest::Method::POST,
                "/deployments",
                Some(&body),
            )
            .await;
        let id = match made.map(|v| v.get("id").and_then(Value::as_u64)) {
            Ok(Some(id)) => id,
            Ok(None) => {
                tracing::warn!("GitHub made no deployment (its answer has no id)");
                return None;
            }
            Err(e) => {
                self.warn("create the GitHub deployment", "deployments: write", &e);
                return None;
            }
        };
        tracing::info!(
            "GitHub deployment {id} of {} to environment {}",
            untrusted(sha),
            untrusted(&self.environment)
        );
        self.deployment_status(http, policy, o, id, "in_progress")
            .await;
        Some(id)
    }

    /// After a wait: the final states; a wait that did not see the end leaves them.
    pub async fn ended(&self, http: &Http, policy: &Policy, o: &Told, deployment: Option<u64>) {
        let Some(sha) = self.sha(o) else { return };
        let Some(state) = o.state else {
            if o.waited {
                tracing::warn!(
                    "the job had not ended: GitHub's deployment stays in_progress and the commit status pending"
                );
            }
            return;
        };
        if self.status {
            self.commit_status(http, policy, o, sha, state, &o.description)
                .await;
        }
        if let Some(id) = deployment {
            self.deployment_status(http, policy, o, id, state).await;
        }
    }

    /// `mode: delete-branch`: the environment's deployments become inactive.
    pub async fn deleted(&self, http: &Http, policy: &Policy) {
        if !self.deployment {
            return;
        }
        let path = format!(
            "/deployments?environment={}&per_page=100",
            crate::aws::rest::encode_label(&self.environment)
        );
        let listed = self
            .github
            .call(http, policy, reqwest::Method::GET, &path, None)
            .await;
        let ids: Vec<u64> = match listed {
            Ok(v) => v
                .as_array()
                .map(|a| a.iter().filter_map(|d| d.get("id")?.as_u64()).collect())
                .unwrap_or_default(),
            Err(e) => {
                return self.warn(
                    "list the environment's deployments",
                    "deployments: write",
                    &e,
                );
            }
        };
        let body = json!({ "state": "inactive" });
        for id in &ids {
            let path = format!("/deployments/{id}/statuses");
            if let Err(e) = self
                .github
                .call(http, policy, reqwest::Method::POST, &path, Some(&body))
                .await
            {
                return self.warn("mark a deployment inactive", "deployments: write", &e);
            }
        }
        tracing::info!(
            "marked {} GitHub deployment(s) of environment {} inactive",
            ids.len(),
            untrusted(&self.environment)
        );
    }

    fn sha<'a>(&self, o: &'a Told) -> Option<&'a str> {
        let sha = o.sha.as_deref().filter(|c| !c.is_empty());
        if sha.is_none() {
            tracing::warn!("no commit for this run: nothing is reported to GitHub");
        }
        sha
    }

    async fn deployment_status(
        &self,
        http: &Http,
        policy: &Policy,
        o: &Told,
        id: u64,
        state: &str,
    ) {
        let mut body = json!({
            "state": state,
            "log_url": o.log_url,
            "description": o.description,
        });
        if let Some(url) = &o.environment_url {
            body["environment_url"] = json!(url);
        }
        let path = format!("/deployments/{id}/statuses");
        if let Err(e) = self
            .github
            .call(http, policy, reqwest::Method::POST, &path, Some(&body))
            .await
        {
            self.warn(
                "set the GitHub deployment's status",
                "deployments: write",
                &e,
            );
        }
    }

    async fn commit_status(
        &self,
        http: &Http,
        policy: &Policy,
        o: &Told,
        sha: &str,
        state: &str,
        description: &str,
    ) {
        let context = self
            .context
            .clone()
            .unwrap_or_else(|| format!("amplify/{}/{}", o.app, o.target));
        let body = json!({
            "state": state,
            "target_url": o.log_url,
            "description": description,
            "context": context,
        });
        let path = format!("/statuses/{}", crate::aws::rest::encode_label(sha));
        match self
            .github
            .call(http, policy, reqwest::Method::POST, &path, Some(&body))
            .await
        {
            Ok(_) => tracing::info!("commit status {} {state}", untrusted(&context)),
            Err(e) => self.warn("set the commit status", "statuses: write", &e),
        }
    }

    fn warn(&self, what: &str, permission: &str, e: &str) {
        tracing::warn!(
            "could not {what}: {} (the job needs permissions: {permission}); the Amplify job is not affected",
            untrusted(e)
        );
    }
}
