//! The CI's outputs: `GITHUB_OUTPUT` (in blocks no value can end), the dotenv file, and
//! stdout's result (JSON, dotenv or text), for a started job, a deleted branch or nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::env::{Env, SettingsError};
use crate::hosting::logs::FailureLog;
use crate::hosting::wait::Ending;
use crate::random::random_u64;
use crate::report::deployment::DeploymentOutcome;
use crate::report::format::{dotenv, text};
use crate::report::outcome::{Outcome, OutputFormat};

/// Where the outputs go, checked before anything is sent: nothing is written then.
#[derive(Debug, Clone, Default)]
pub struct OutputSettings {
    /// `GITHUB_OUTPUT`, appended to.
    pub github_output: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`, appended to.
    pub github_step_summary: Option<PathBuf>,
    /// `AMPLIFY_OUTPUT_FILE`: the outputs as a dotenv file, replaced at each run.
    pub output_file: Option<PathBuf>,
    /// `AMPLIFY_OUTPUT_FORMAT`: what stdout carries.
    pub format: OutputFormat,
}

impl OutputSettings {
    pub fn from_env(env: &Env) -> Result<OutputSettings, SettingsError> {
        let output_file = dotenv_file(env.get("AMPLIFY_OUTPUT_FILE"))?;
        let format = OutputFormat::from_env(env)?;
        Ok(OutputSettings {
            github_output: writable(env.get("GITHUB_OUTPUT"), "GITHUB_OUTPUT")?,
            github_step_summary: writable(env.get("GITHUB_STEP_SUMMARY"), "GITHUB_STEP_SUMMARY")?,
            output_file,
            format,
        })
    }
}

impl OutputFormat {
    fn from_env(env: &Env) -> Result<OutputFormat, SettingsError> {
        let value = env.get("AMPLIFY_OUTPUT_FORMAT");
        match value.map(str::to_ascii_lowercase).as_deref() {
            None | Some("json") => Ok(OutputFormat::Json),
            Some("dotenv") => Ok(OutputFormat::Dotenv),
            Some("text") => Ok(OutputFormat::Text),
            Some(_) => Err(SettingsError::new(
                "AMPLIFY_OUTPUT_FORMAT",
                None,
                value,
                "not an output format",
                "use json, dotenv or text",
            )),
        }
    }
}

/// Checks the dotenv file can be written, without creating or changing it.
fn dotenv_file(path: Option<&str>) -> Result<Option<PathBuf>, SettingsError> {
    let Some(p) = path else { return Ok(None) };
    let path = PathBuf::from(p);
    let bad = |problem: String| {
        SettingsError::new(
            "AMPLIFY_OUTPUT_FILE",
            None,
            Some(p),
            &problem,
            "point it at a file in an existing, writable directory, e.g. amplify.env",
        )
    };
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => return Err(bad("a directory".into())),
        Ok(m) if m.permissions().readonly() => return Err(bad("read-only".into())),
        Ok(_) => return Ok(Some(path)),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(bad(e.to_string())),
        Err(_) => {}
    }
    let parent = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&parent) {
        Ok(m) if m.is_dir() && !m.permissions().readonly() => Ok(Some(path)),
        Ok(_) => Err(bad(format!(
            "{} is not a writable directory",
            parent.display()
        ))),
        Err(e) => Err(bad(format!("its directory {}: {e}", parent.display()))),
    }
}

/// Checks an output file can be appended to, without writing anything to it.
fn writable(path: Option<&str>, var: &str) -> Result<Option<PathBuf>, SettingsError> {
    let Some(p) = path else { return Ok(None) };
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(p)
        .map_err(|e| {
            SettingsError::new(
                var,
                None,
                Some(p),
                &format!("cannot be opened for appending ({e})"),
                "the runner sets it; unset it outside GitHub Actions or point it at a writable file",
            )
        })?;
    Ok(Some(PathBuf::from(p)))
}

impl Outcome {
    /// The `GITHUB_OUTPUT` names and values, in the order `action.yml` declares them.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("job-id", self.summary.job_id.clone()),
            ("job-arn", self.summary.job_arn.clone()),
            ("job-status", self.status().to_string()),
            ("job-url", self.job_url.clone()),
            ("commit-id", self.commit_id().to_string()),
        ];
        if let Some(url) = &self.branch_url {
            out.push(("branch-url", url.clone()));
        }
        if let Some(w) = &self.waited {
            out.push(("job-skipped", self.skipped().is_some().to_string()));
            out.push(("job-duration", self.duration_secs(w).to_string()));
            let logs: serde_json::Map<String, Value> = self
                .steps()
                .iter()
                .filter_map(|s| Some((s.step_name.clone(), Value::String(s.log_url.clone()?))))
                .collect();
            out.push(("step-log-urls", Value::Object(logs).to_string()));
            let live = self.live.as_ref();
            let deployed = live.and_then(|l| l.deployed_commit.clone());
            out.push(("deployed-commit", deployed.unwrap_or_default()));
            let ours = self.last_seen().map_or(&self.summary, |j| &j.summary);
            let serving = live.and_then(|l| l.serving(ours));
            out.push((
                "live-job-id",
                serving.map(str::to_string).unwrap_or_default(),
            ));
        }
        if let Some(p) = &self.url_probe {
            out.push((
                "url-status",
                p.status.map(|s| s.to_string()).unwrap_or_default(),
            ));
        }
        if let Some(id) = self.github_deployment_id {
            out.push(("github-deployment-id", id.to_string()));
        }
        if let Some(f) = &self.failure_log {
            out.push(("failed-step", f.step.clone()));
            if let Some(url) = &f.log_url {
                out.push(("log-url", url.clone()));
            }
        }
        out.push(("app-id", self.app_id.clone()));
        out
    }

    /// stdout: the `jobSummary` as AWS returned it, plus `jobUrl`; its `commitId` is the
    /// output `commit-id`, and what AWS recorded, when other ("HEAD" for a RELEASE job), is
    /// kept as `recordedCommitId`.
    pub fn json(&self) -> Value {
        let mut v = match self.waited.as_ref().map(|w| &w.ending) {
            Some(Ending::Ended(job)) => job.summary.raw.clone(),
            _ => self.summary.raw.clone(),
        };
        if let Value::Object(map) = &mut v {
            let commit = Value::String(self.commit_id().to_string());
            match map.insert("commitId".into(), commit.clone()) {
                Some(recorded) if recorded != commit => {
                    map.insert("recordedCommitId".into(), recorded);
                }
                _ => {}
            }
            map.insert("jobUrl".into(), Value::String(self.job_url.clone()));
            if let Some(url) = &self.branch_url {
                map.insert("branchUrl".into(), Value::String(url.clone()));
            }
        }
        v
    }

    /// The JSON as one stdout line the runner cannot read as a command: JSON's own escapes keep
    /// it on one line starting with `{`, and `[` after `##` (the legacy command prefix, honoured
    /// anywhere in a line) is written as the equivalent `\u005b`; only strings can hold it.
    pub fn json_line(&self) -> String {
        self.json().to_string().replace("##[", "##\\u005b")
    }

    /// What stdout gets, in the chosen format (without the final newline).
    pub fn stdout(&self) -> String {
        match self.format {
            OutputFormat::Json => self.json_line(),
            OutputFormat::Dotenv => dotenv(&self.outputs()).trim_end().to_string(),
            OutputFormat::Text => text(&self.outputs()),
        }
    }
}

/// What `mode: delete-branch` did, as it is reported.
#[derive(Debug, Clone)]
pub struct BranchDeleted {
    pub app_id: String,
    pub branch: String,
    /// False when there was no such branch.
    pub deleted: bool,
    pub format: OutputFormat,
}

impl BranchDeleted {
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("branch-deleted", self.deleted.to_string()),
            ("app-id", self.app_id.clone()),
        ]
    }

    pub fn stdout(&self) -> String {
        match self.format {
            OutputFormat::Json => serde_json::json!({
                "appId": self.app_id, "branchName": self.branch, "deleted": self.deleted
            })
            .to_string()
            .replace("##[", "##\\u005b"),
            OutputFormat::Dotenv => dotenv(&self.outputs()).trim_end().to_string(),
            OutputFormat::Text => text(&self.outputs()),
        }
    }
}

/// What `mode: prune` did with one branch.
#[derive(Debug, Clone)]
pub struct PrunedRow {
    pub app: String,
    pub branch: String,
    pub verdict: crate::hosting::prune::Verdict,
    pub deleted: bool,
    /// Why it was to go but could not be deleted.
    pub failed: Option<String>,
}

/// What `mode: prune` did, as it is reported.
#[derive(Debug, Clone)]
pub struct Pruned {
    pub rows: Vec<PrunedRow>,
    /// Nothing was deleted: `prune-delete` was not set.
    pub dry_run: bool,
    pub format: OutputFormat,
}

impl Pruned {
    /// `app/branch` of each branch deleted, or in a dry run, each that would be.
    pub fn deleted(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| {
                matches!(r.verdict, crate::hosting::prune::Verdict::Delete(_))
                    && (r.deleted || self.dry_run)
            })
            .map(|r| format!("{}/{}", r.app, r.branch))
            .collect()
    }

    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "pruned-branches",
                serde_json::json!(self.deleted()).to_string(),
            ),
            ("prune-dry-run", self.dry_run.to_string()),
        ]
    }

    /// A table: each branch, what became of it, and why.
    pub fn step_summary(&self) -> String {
        use crate::hosting::prune::Verdict;
        use crate::report::format::cell;
        let mut out = format!(
            "### Amplify previews pruned{}\n\n| App | Branch | Action | Why |\n|---|---|---|---|\n",
            if self.dry_run { " (dry run)" } else { "" }
        );
        for r in &self.rows {
            let (action, why) = match (&r.verdict, r.deleted, &r.failed) {
                (Verdict::Keep(why), ..) => ("kept", why),
                (Verdict::Delete(why), true, _) => ("deleted", why),
                (Verdict::Delete(why), false, Some(_)) => ("not deleted (failed)", why),
                (Verdict::Delete(why), false, None) => ("would be deleted", why),
            };
            out.push_str(&format!(
                "| {} | {} | {action} | {} |\n",
                cell(&r.app),
                cell(&r.branch),
                cell(why)
            ));
        }
        out.push('\n');
        out
    }

    pub fn stdout(&self) -> String {
        match self.format {
            OutputFormat::Json => serde_json::json!({
                "pruned": self.deleted(), "dryRun": self.dry_run,
                "branches": self.rows.iter().map(|r| serde_json::json!({
                    "appId": r.app, "branchName": r.branch, "deleted": r.deleted,
                    "prune": matches!(r.verdict, crate::hosting::prune::Verdict::Delete(_)),
                })).collect::<Vec<_>>(),
            })
            .to_string()
            .replace("##[", "##\\u005b"),
            OutputFormat::Dotenv => dotenv(&self.outputs()).trim_end().to_string(),
            OutputFormat::Text => text(&self.outputs()),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub enum Done {
    Job(Box<Outcome>),
    /// A deployment to the new AWS Amplify.
    Deployment(Box<DeploymentOutcome>),
    Branch(BranchDeleted),
    /// `mode: prune`: the branches kept and deleted.
    Pruned(Pruned),
    /// A promote, rollback or rollout abort on the new AWS Amplify.
    Released(Box<crate::report::release::Released>),
    /// `mode: authorize-fork`: a fork's commit accepted (or nothing to accept).
    Fork(crate::report::release::ForkAccepted),
    /// Nothing was done, for a reason said in a notice (a fork's pull request without
    /// credentials).
    Nothing(String),
}

impl Done {
    pub fn stdout(&self) -> String {
        match self {
            Done::Job(o) => o.stdout(),
            Done::Deployment(d) => d.stdout(),
            Done::Branch(b) => b.stdout(),
            Done::Pruned(p) => p.stdout(),
            Done::Released(r) => r.stdout(),
            Done::Fork(f) => f.stdout(),
            // One JSON line, as a start's result is, so `jq -r .jobId` reads null.
            Done::Nothing(why) => serde_json::json!({ "skipped": true, "reason": why })
                .to_string()
                .replace("##[", "##\\u005b"),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Done::Job(o) => o.exit_code(),
            Done::Deployment(d) => d.exit_code(),
            Done::Released(r) => r.exit_code(),
            Done::Branch(_) | Done::Pruned(_) | Done::Fork(_) | Done::Nothing(_) => 0,
        }
    }

    pub fn failure(&self) -> Option<String> {
        match self {
            Done::Job(o) => o.failure(),
            Done::Deployment(d) => d.failure(),
            Done::Released(r) => r.failure(),
            Done::Branch(_) | Done::Pruned(_) | Done::Fork(_) | Done::Nothing(_) => None,
        }
    }

    /// The failing step and its log, after a failed wait.
    pub fn failure_log(&self) -> Option<&FailureLog> {
        match self {
            Done::Job(o) => o.failure_log(),
            Done::Deployment(_) | Done::Released(_) | Done::Fork(_) => None,
            Done::Branch(_) | Done::Pruned(_) | Done::Nothing(_) => None,
        }
    }
}

/// Appends `name<<DELIMITER` blocks; the delimiter is random and checked against each value,
/// so no value (a commit message with newlines, say) can end a block early.
pub fn append_outputs(path: &Path, outputs: &[(&str, String)]) -> std::io::Result<()> {
    let mut text = String::new();
    for (name, value) in outputs {
        let delimiter = loop {
            let d = format!("ghadelimiter_{}", random_hex());
            if !value.contains(&d) && !name.contains(&d) {
                break d;
            }
        };
        text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    append(path, &text)
}

pub fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.flush()
}

fn random_hex() -> String {
    format!("{:016x}{:016x}", random_u64(), random_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_values_stay_on_their_line() {
        let text = dotenv(&[
            ("job-id", "42".into()),
            ("job-url", "https://x/a?b=c".into()),
            ("step-log-urls", r#"{"BUILD":"https://l"}"#.into()),
            ("commit-id", "it's\nodd".into()),
        ]);
        assert_eq!(
            text,
            "AMPLIFY_JOB_ID=42\nAMPLIFY_JOB_URL='https://x/a?b=c'\n\
             AMPLIFY_STEP_LOG_URLS='{\"BUILD\":\"https://l\"}'\nAMPLIFY_COMMIT_ID=\"it's odd\"\n"
        );
    }

    #[test]
    fn delimiters_differ() {
        assert_ne!(random_hex(), random_hex());
    }
}
