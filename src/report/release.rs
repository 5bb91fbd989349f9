//! What a promote, rollback or rollout abort on the new AWS Amplify did, and a fork commit's
//! acceptance, as each audience reads it: the outputs, stdout, the step summary (the
//! environment before and after, the rollout's stages as they passed) and GitHub.

use serde_json::{Value, json};

use crate::report::format::{cell, dotenv, text};
use crate::report::outcome::OutputFormat;
use crate::report::told::{Told, description};

/// One side of the change: the deployment that served, its commit and when it was made.
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub deployment: String,
    pub commit: Option<String>,
    /// Seconds since the epoch.
    pub created: Option<f64>,
}

/// How a release ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// All traffic moved as asked (or nothing had to).
    Done,
    /// The rollout was started and not followed (`wait` unset).
    Started,
    /// The rollout was cancelled (by someone, or by this run on a CI cancel): exit 5.
    Cancelled,
    /// The alias did not route as asked in time, or the rollout outlived `wait-timeout`: exit 6.
    TimedOut,
}

/// What a promote, rollback or abort did.
#[derive(Debug, Clone)]
pub struct Released {
    /// `promote`, `rollback` or `abort-rollout`.
    pub mode: &'static str,
    pub app: String,
    pub environment: String,
    /// The deployment that gets the traffic when the run ends (a rollout's target while it
    /// runs).
    pub active: Option<String>,
    /// The one active before the run; `None` when nothing changed.
    pub previous: Option<String>,
    pub environment_url: Option<String>,
    pub deployment_url: Option<String>,
    /// `NONE`, `IN_PROGRESS`, `COMPLETED` or `CANCELLED`.
    pub rollout_status: String,
    pub before: Option<Side>,
    pub after: Option<Side>,
    /// The rollout's stages as the run saw them pass.
    pub stages: Vec<String>,
    /// One line: what happened.
    pub said: String,
    pub ending: Ending,
    pub github_deployment_id: Option<u64>,
    pub format: OutputFormat,
}

/// `2026-12-07 05:34 UTC`.
fn when(secs: Option<f64>) -> String {
    match secs {
        Some(s) => {
            let t = crate::env::rfc3339(s as i64);
            format!("{} {} UTC", &t[..10], &t[11..16])
        }
        None => String::new(),
    }
}

impl Released {
    pub fn commit(&self) -> Option<&str> {
        self.after.as_ref()?.commit.as_deref()
    }

    pub fn exit_code(&self) -> u8 {
        match self.ending {
            Ending::Done | Ending::Started => 0,
            Ending::Cancelled => 5,
            Ending::TimedOut => 6,
        }
    }

    pub fn failure(&self) -> Option<String> {
        (self.exit_code() != 0).then(|| self.said.clone())
    }

    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("job-id", self.active.clone().unwrap_or_default()),
            (
                "previous-deployment-id",
                self.previous.clone().unwrap_or_default(),
            ),
            ("rollout-status", self.rollout_status.clone()),
            ("commit-id", self.commit().unwrap_or_default().to_string()),
        ];
        if let Some(url) = &self.environment_url {
            out.push(("environment-url", url.clone()));
        }
        if let Some(url) = &self.deployment_url {
            out.push(("deployment-url", url.clone()));
        }
        if let Some(id) = self.github_deployment_id {
            out.push(("github-deployment-id", id.to_string()));
        }
        out
    }

    pub fn json(&self) -> Value {
        let side = |s: &Option<Side>| match s {
            Some(s) => {
                json!({"DeploymentId": s.deployment, "CommitId": s.commit, "CreatedAt": s.created})
            }
            None => Value::Null,
        };
        json!({
            "mode": self.mode,
            "appName": self.app,
            "environmentName": self.environment,
            "deploymentId": self.active,
            "previousDeploymentId": self.previous,
            "rolloutStatus": self.rollout_status,
            "environmentUrl": self.environment_url,
            "deploymentUrl": self.deployment_url,
            "before": side(&self.before),
            "after": side(&self.after),
        })
    }

    pub fn stdout(&self) -> String {
        match self.format {
            OutputFormat::Json => self.json().to_string().replace("##[", "##\\u005b"),
            OutputFormat::Dotenv => dotenv(&self.outputs()).trim_end().to_string(),
            OutputFormat::Text => text(&self.outputs()),
        }
    }

    /// The environment before and after, and the rollout's stages.
    pub fn step_summary(&self) -> String {
        let mut out = format!(
            "### Amplify {}: {} / {}\n\n{}\n\n| | Deployment | Commit | Created |\n|---|---|---|---|\n",
            self.mode,
            cell(&self.app),
            cell(&self.environment),
            cell(&self.said)
        );
        for (label, side) in [("Before", &self.before), ("After", &self.after)] {
            if let Some(s) = side {
                out.push_str(&format!(
                    "| {label} | `{}` | {} | {} |\n",
                    cell(&s.deployment),
                    s.commit
                        .as_deref()
                        .map(|c| format!("`{}`", cell(&c.chars().take(12).collect::<String>())))
                        .unwrap_or_default(),
                    when(s.created)
                ));
            }
        }
        out.push_str(&format!("\nRollout: {}\n", self.rollout_status));
        for stage in &self.stages {
            out.push_str(&format!("- {}\n", cell(stage)));
        }
        if let Some(url) = &self.environment_url {
            out.push_str(&format!("\nEnvironment: {url}\n"));
        }
        out.push('\n');
        out
    }

    /// GitHub's deployment of the commit now live; `success` once all traffic has moved.
    pub fn told(&self, production: bool) -> Told {
        let active = self.active.as_deref().unwrap_or("(none)");
        let text = match self.mode {
            "rollback" => format!("Rolled back to Amplify deployment {active}"),
            _ => format!("Amplify deployment {active} promoted"),
        };
        let state = match self.ending {
            Ending::Done => Some("success"),
            Ending::Started => None,
            Ending::Cancelled | Ending::TimedOut => Some("error"),
        };
        Told {
            sha: self.commit().map(str::to_string),
            app: self.app.clone(),
            target: self.environment.clone(),
            description: description(&text),
            log_url: self
                .deployment_url
                .clone()
                .or(self.environment_url.clone())
                .unwrap_or_default(),
            environment_url: self.environment_url.clone(),
            state,
            waited: true,
            production,
            payload: json!({
                "appName": self.app, "environment": self.environment,
                "deploymentId": self.active, "previousDeploymentId": self.previous,
                "mode": self.mode,
            }),
        }
    }
}

/// What `mode: authorize-fork` did.
#[derive(Debug, Clone)]
pub struct ForkAccepted {
    pub app: String,
    pub environment: String,
    pub commit: String,
    pub pull_request: String,
    /// `ACCEPTED`, `ALREADY_ACCEPTED`, or `NOT_A_FORK` (nothing sent).
    pub outcome: String,
    pub format: OutputFormat,
}

impl ForkAccepted {
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("commit-id", self.commit.clone()),
            ("fork-outcome", self.outcome.clone()),
        ]
    }

    pub fn stdout(&self) -> String {
        match self.format {
            OutputFormat::Json => json!({
                "appName": self.app, "environmentName": self.environment,
                "commitSha": self.commit, "pullRequestNumber": self.pull_request,
                "outcome": self.outcome,
            })
            .to_string()
            .replace("##[", "##\\u005b"),
            OutputFormat::Dotenv => dotenv(&self.outputs()).trim_end().to_string(),
            OutputFormat::Text => text(&self.outputs()),
        }
    }
}
