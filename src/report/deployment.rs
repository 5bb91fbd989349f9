//! What a deployment to the new AWS Amplify reports: its id, ARN, status and URLs, how the
//! wait ended, and the exit code; as outputs, stdout's result, the step summary, the
//! pull-request comment and what GitHub is told.

use serde_json::{Value, json};

use crate::env::show_duration;
use crate::gen3::api::deployments::{Created, Deployment};
use crate::gen3::live::RolloutEnd;
use crate::gen3::wait::{Ending, Waited};
use crate::report::format::{cell, code_cell, dotenv, text};
use crate::report::outcome::OutputFormat;
use crate::report::told::{Told, description};

#[derive(Debug, Clone)]
pub struct DeploymentOutcome {
    pub app: String,
    pub environment: String,
    pub created: Created,
    /// The deployment as last read (once after creating it, or at the end of the wait).
    pub last: Option<Deployment>,
    /// Set when the deployment was followed (`wait`).
    pub waited: Option<Waited>,
    /// The commit deployed: what a Git deployment built, else the run's commit.
    pub commit: Option<String>,
    /// The environment's stable URL.
    pub environment_url: Option<String>,
    /// A superseded deployment (`CANCELLED`, `COLLAPSED`): the newer one that replaced it.
    pub superseded_by: Option<String>,
    /// After `wait-rollout`: how the rollout ended.
    pub rollout: Option<RolloutEnd>,
    /// The GitHub deployment made for it (`github-deployment`).
    pub github_deployment_id: Option<u64>,
    /// It succeeded, but a Git deployment built another commit than the run's, and
    /// `on-commit-mismatch` is `fail`.
    pub mismatch_fails: bool,
    /// After a success: the deployment the environment's alias routes all traffic to.
    pub serving: Option<String>,
    /// `wait-for-url`: what the deployment's URL answered after the success.
    pub url_probe: Option<crate::probe::Probe>,
    pub format: OutputFormat,
}

impl DeploymentOutcome {
    /// The deployment as last seen: at its end, at the wait's end, or after it was made.
    pub fn seen(&self) -> Option<&Deployment> {
        match self.waited.as_ref().map(|w| &w.ending) {
            Some(Ending::Ended(d)) => Some(d),
            Some(Ending::TimedOut { last: Some(d), .. })
            | Some(Ending::Interrupted { last: Some(d), .. }) => Some(d),
            _ => self.last.as_ref(),
        }
    }

    /// The wait saw it end `SUCCEEDED`.
    pub fn succeeded(&self) -> bool {
        self.ended().is_some_and(|d| d.status == "SUCCEEDED")
    }

    fn ended(&self) -> Option<&Deployment> {
        match self.waited.as_ref().map(|w| &w.ending) {
            Some(Ending::Ended(d)) => Some(d),
            _ => None,
        }
    }

    pub fn id(&self) -> &str {
        &self.created.deployment_id
    }

    /// The latest status known: the final one after a wait.
    pub fn status(&self) -> &str {
        self.seen()
            .map_or(self.created.status.as_str(), |d| d.status.as_str())
    }

    /// This deployment's own URL, when AWS gave its `DomainName`.
    pub fn deployment_url(&self) -> Option<String> {
        self.seen()
            .and_then(Deployment::url)
            .or_else(|| self.last.as_ref().and_then(Deployment::url))
    }

    /// A newer deployment from the same source replaced it: not a failure.
    pub fn skipped(&self) -> bool {
        self.ended().is_some_and(|d| {
            d.status == "CANCELLED" && d.status_reason_code.as_deref() == Some("COLLAPSED")
        })
    }

    /// The step that failed, as AWS names it (`Build`, `Migration`, `Deploy`).
    pub fn failed_step(&self) -> Option<String> {
        let d = self.ended().filter(|d| d.status != "SUCCEEDED")?;
        d.steps()
            .into_iter()
            .find(|(_, s)| s == "FAILED")
            .map(|(n, _)| n)
    }

    /// Whole seconds from `StartedAt` (`CreatedAt` when absent) to `EndedAt`.
    pub fn duration(&self) -> Option<u64> {
        let w = self.waited.as_ref()?;
        let d = self.ended();
        let start = d.and_then(|d| d.started_at.or(d.created_at));
        match (start, d.and_then(|d| d.ended_at)) {
            (Some(a), Some(b)) => Some((b - a).max(0.0).round() as u64),
            _ => Some(w.elapsed.as_secs()),
        }
    }

    /// 0; after a wait 5 (FAILED, EXPIRED, CANCELLED but superseded, or a cancelled rollout),
    /// 6 (timed out), 130/143 (interrupted).
    pub fn exit_code(&self) -> u8 {
        match self.waited.as_ref().map(|w| &w.ending) {
            None => 0,
            Some(Ending::Ended(d)) if d.status == "SUCCEEDED" => match &self.rollout {
                _ if self.mismatch_fails => 5,
                Some(RolloutEnd::Ended(s)) if s == "CANCELLED" => 5,
                Some(RolloutEnd::TimedOut) => 6,
                Some(RolloutEnd::Interrupted(code)) => *code,
                _ => self.url_probe.as_ref().map_or(0, |p| p.exit_code()),
            },
            Some(Ending::Ended(_)) if self.skipped() => 0,
            Some(Ending::Ended(_)) => 5,
            Some(Ending::TimedOut { .. }) => 6,
            Some(Ending::Interrupted { exit_code, .. }) => *exit_code,
        }
    }

    /// The command that shows a deployment's log (no API returns its text).
    pub fn logs_command(&self) -> String {
        format!(
            "aws amplifygen3 logs get --log-type deployment --deployment-id {} --app {} --env {}",
            self.id(),
            self.app,
            self.environment
        )
    }

    /// The command that follows a deployment that goes on after the run.
    pub fn watch_command(&self) -> String {
        format!(
            "aws amplifygen3 deployment get --app {} --env {} --deployment-id {} --watch",
            self.app,
            self.environment,
            self.id()
        )
    }

    /// What went wrong, for a non-zero exit code.
    pub fn failure(&self) -> Option<String> {
        let w = self.waited.as_ref()?;
        let id = self.id();
        Some(match &w.ending {
            Ending::Ended(d) if d.status == "SUCCEEDED" => match &self.rollout {
                _ if self.mismatch_fails => format!(
                    "deployment {id} succeeded, but built commit {}, not this run's: on-commit-mismatch is fail",
                    self.commit.as_deref().unwrap_or_default()
                ),
                Some(RolloutEnd::Ended(s)) if s == "CANCELLED" => format!(
                    "deployment {id} succeeded, but its gradual rollout to {} was cancelled: traffic went back to the deployment before it",
                    self.environment
                ),
                Some(RolloutEnd::TimedOut) => format!(
                    "gave up waiting for the rollout of deployment {id} after wait-timeout; it goes on: {}",
                    self.watch_command()
                ),
                Some(RolloutEnd::Interrupted(_)) => format!(
                    "interrupted while following the rollout of deployment {id}; it goes on: {}",
                    self.watch_command()
                ),
                _ => return self.url_probe.as_ref()?.failure(),
            },
            Ending::Ended(_) if self.skipped() => return None,
            Ending::Ended(d) => {
                let step = self
                    .failed_step()
                    .map(|s| format!(" in its {s} step"))
                    .unwrap_or_default();
                let reason = match (&d.status_reason_code, &d.status_reason) {
                    (Some(c), Some(r)) => format!(": {c}: {r}"),
                    (Some(c), None) => format!(": {c}"),
                    (None, Some(r)) => format!(": {r}"),
                    (None, None) => String::new(),
                };
                format!(
                    "Amplify deployment {id} ended {}{step}{reason}; its log: {}",
                    d.status,
                    self.logs_command()
                )
            }
            Ending::TimedOut { last, limit } => format!(
                "gave up waiting for Amplify deployment {id} after {}s; it is still {} and goes on (no API stops a deployment): {}; the limit, wait-timeout (AMPLIFY_WAIT_TIMEOUT), is {}: raise it (e.g. 45m) to wait longer",
                w.elapsed.as_secs(),
                last.as_ref()
                    .map_or("of unknown status", |d| d.status.as_str()),
                self.watch_command(),
                show_duration(*limit)
            ),
            Ending::Interrupted { .. } => format!(
                "interrupted while waiting for Amplify deployment {id}; the deployment goes on (no API stops one): {}",
                self.watch_command()
            ),
        })
    }

    /// The outputs, in the order `action.yml` declares them.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("job-id", self.id().to_string()),
            ("job-arn", self.created.deployment_arn.clone()),
            ("job-status", self.status().to_string()),
            ("commit-id", self.commit.clone().unwrap_or_default()),
        ];
        if let Some(url) = self.deployment_url() {
            out.push(("deployment-url", url));
        }
        if let Some(url) = &self.environment_url {
            out.push(("environment-url", url.clone()));
        }
        if self.waited.is_some() {
            out.push(("job-skipped", self.skipped().to_string()));
            out.push((
                "job-duration",
                self.duration().unwrap_or_default().to_string(),
            ));
            if let Some(step) = self.failed_step() {
                out.push(("failed-step", step));
            }
            out.push(("live-job-id", self.serving.clone().unwrap_or_default()));
        }
        if let Some(p) = &self.url_probe {
            out.push((
                "url-status",
                p.status.map(|s| s.to_string()).unwrap_or_default(),
            ));
        }
        out
    }

    /// stdout: the deployment as AWS last answered it, with the URLs and the commit.
    pub fn json(&self) -> Value {
        let mut v = match self.seen() {
            Some(d) if d.raw.is_object() => d.raw.clone(),
            _ => json!({
                "DeploymentId": self.id(),
                "DeploymentArn": self.created.deployment_arn,
                "Status": self.status(),
            }),
        };
        if let Value::Object(map) = &mut v {
            map.insert("deploymentUrl".into(), json!(self.deployment_url()));
            map.insert("environmentUrl".into(), json!(self.environment_url));
            map.insert("commitId".into(), json!(self.commit));
        }
        v
    }

    /// What stdout gets, in the chosen format (without the final newline).
    pub fn stdout(&self) -> String {
        match self.format {
            OutputFormat::Json => self.json().to_string().replace("##[", "##\\u005b"),
            OutputFormat::Dotenv => dotenv(&self.outputs()).trim_end().to_string(),
            OutputFormat::Text => text(&self.outputs()),
        }
    }

    /// The step summary: the deployment, its URLs and steps, and for a failure the failed step,
    /// AWS's reason and the command that shows the log.
    pub fn step_summary(&self) -> String {
        let mut out = format!(
            "### Amplify deployment {}\n\n| App | Environment | Deployment | Status | Commit |\n|---|---|---|---|---|\n| {} | {} | `{}` | {} | `{}` |\n\n",
            if self.waited.is_some() {
                "finished"
            } else {
                "created"
            },
            cell(&self.app),
            cell(&self.environment),
            code_cell(self.id()),
            cell(self.status()),
            code_cell(self.commit.as_deref().unwrap_or_default()),
        );
        if let Some(url) = self.deployment_url() {
            out.push_str(&format!("This deployment: {url}\n\n"));
        }
        if let Some(url) = &self.environment_url {
            out.push_str(&format!("The environment: {url}\n\n"));
        }
        if let Some(d) = self.seen().filter(|d| !d.steps().is_empty()) {
            out.push_str("| Step | Status |\n|---|---|\n");
            for (name, status) in d.steps() {
                out.push_str(&format!("| {} | {} |\n", cell(&name), cell(&status)));
            }
            out.push('\n');
        }
        if let Some(newer) = &self.superseded_by {
            out.push_str(&format!(
                "Superseded: a newer deployment from the same source, `{}`, replaced it.\n\n",
                code_cell(newer)
            ));
        }
        if let Some(d) = self
            .ended()
            .filter(|_| self.exit_code() == 5 && !self.skipped())
        {
            out.push_str(&format!(
                "#### Why it failed\n\n| Failed step | Reason code | Reason |\n|---|---|---|\n| {} | {} | {} |\n\nThe log (no API returns its text):\n\n```sh\n{}\n```\n\n",
                cell(&self.failed_step().unwrap_or_else(|| "-".into())),
                cell(d.status_reason_code.as_deref().unwrap_or("-")),
                cell(d.status_reason.as_deref().unwrap_or("-")),
                self.logs_command()
            ));
        }
        out
    }

    /// The pull-request comment: `marker` (hidden), the deployment and its own URL, so the
    /// link keeps showing this pull request's build.
    pub fn pr_comment(&self, marker: &str) -> String {
        let commit: String = self
            .commit
            .as_deref()
            .unwrap_or_default()
            .chars()
            .take(12)
            .collect();
        let mut out = format!(
            "{marker}\n### Amplify: {}\n\n| App | Environment | Status | Commit |\n|---|---|---|---|\n| {} | {} | {} | `{}` |\n\n",
            cell(self.status()),
            cell(&self.app),
            cell(&self.environment),
            cell(self.status()),
            code_cell(&commit),
        );
        match self.deployment_url() {
            Some(url) => out.push_str(&format!("[Deployment {}]({url})\n", cell(self.id()))),
            None => out.push_str(&format!("Deployment `{}`\n", code_cell(self.id()))),
        }
        out
    }

    /// What GitHub is told: the deployment's own URL, so a pull request's link keeps showing
    /// its build.
    pub fn told(&self, production: bool) -> Told {
        let mut text = format!("Amplify deployment {}: {}", self.id(), self.status());
        if let Some(secs) = self.duration() {
            text.push_str(&format!(
                " in {}",
                show_duration(std::time::Duration::from_secs(secs))
            ));
        }
        let state = match self.waited.as_ref().map(|w| &w.ending) {
            Some(Ending::Ended(_)) => Some(match self.exit_code() {
                0 => "success",
                _ if self.status() == "FAILED" => "failure",
                _ => "error",
            }),
            _ => None,
        };
        let url = self.deployment_url();
        Told {
            sha: self.commit.clone(),
            app: self.app.clone(),
            target: self.environment.clone(),
            description: description(&text),
            log_url: url.clone().unwrap_or_default(),
            environment_url: url,
            state,
            waited: self.waited.is_some(),
            production,
            payload: json!({
                "appName": self.app, "environment": self.environment, "deploymentId": self.id()
            }),
        }
    }
}
