//! Outputs: `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, the JSON result on stdout, and workflow
//! commands made safe for untrusted text.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::amplify::{Job, JobSummary, Step};
use crate::buildlog::FailureLog;
use crate::env::{Env, SettingsError, show_duration};
use crate::random::random_u64;
use crate::runner::untrusted;
use crate::wait::{Ending, Waited};

/// What a started job reports.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub app_id: String,
    pub branch: String,
    pub summary: JobSummary,
    pub job_url: String,
    /// The commit the run asked for. Amplify records an API-started build as "HEAD", and a
    /// deployment with no commit, so the outputs name this one when it is known.
    pub commit: Option<String>,
    /// The branch's site, `https://<displayName>.<defaultDomain>`, when it could be read.
    pub branch_url: Option<String>,
    /// Set when the job was followed (`AMPLIFY_WAIT=true`).
    pub waited: Option<Waited>,
    /// After a wait that ended in a failure: the failing step and its log's last lines.
    pub failure_log: Option<FailureLog>,
    /// The GitHub deployment made for the job (`github-deployment`).
    pub github_deployment_id: Option<u64>,
    /// How the result is printed on stdout.
    pub format: OutputFormat,
}

/// `AMPLIFY_OUTPUT_FORMAT`: what stdout carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// The job summary as one JSON line (with `jobUrl`).
    #[default]
    Json,
    /// `AMPLIFY_JOB_ID=...` lines, as `AMPLIFY_OUTPUT_FILE` holds them.
    Dotenv,
    /// `job-id: ...` lines, for people.
    Text,
}

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

    /// The job as the wait last saw it.
    fn last_seen(&self) -> Option<&Job> {
        match self.waited.as_ref().map(|w| &w.ending) {
            Some(Ending::Ended(job))
            | Some(Ending::TimedOut {
                last: Some(job), ..
            }) => Some(job),
            _ => None,
        }
    }

    /// The failing step and its log, after a failed wait.
    pub fn failure_log(&self) -> Option<&FailureLog> {
        self.failure_log.as_ref()
    }

    /// Amplify cancelled the job itself because nothing changed: the reason it gave.
    pub fn skipped(&self) -> Option<&str> {
        match self.waited.as_ref().map(|w| &w.ending) {
            Some(Ending::Ended(job)) => crate::buildlog::skipped(job),
            _ => None,
        }
    }

    /// After a wait: seconds the job was queued (from its start to its first step's) and ran
    /// (from its first step to its end, or to its last step's end while it runs).
    pub fn timing(&self) -> Option<(u64, u64)> {
        let job = self.last_seen()?;
        let start = job.summary.start_time?;
        let run = job
            .steps
            .iter()
            .filter_map(|s| s.start_time)
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.min(t))))?;
        let end = job.summary.end_time.or_else(|| {
            job.steps
                .iter()
                .filter_map(|s| s.end_time)
                .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))))
        })?;
        let secs = |d: f64| d.max(0.0).round() as u64;
        Some((secs(run - start), secs(end - run)))
    }

    /// `queued 3s, running 1m 12s`, or nothing before a wait.
    pub fn timing_text(&self) -> Option<String> {
        let (queued, running) = self.timing()?;
        let show = |s: u64| show_duration(std::time::Duration::from_secs(s));
        Some(format!(
            "queued {}, running {}",
            show(queued),
            show(running)
        ))
    }

    /// The notice for a job Amplify skipped itself.
    pub fn skip_notice(&self) -> Option<String> {
        let reason = self.skipped()?;
        Some(format!(
            "Amplify cancelled job {} itself: {} (nothing changed for this app, as in a monorepo whose other folders changed); nothing was deployed, and the run counts it as done",
            self.summary.job_id,
            untrusted(reason)
        ))
    }

    /// The job's commit: the one the run asked for, else what Amplify recorded.
    pub fn commit_id(&self) -> &str {
        self.commit.as_deref().unwrap_or(&self.summary.commit_id)
    }

    /// The latest status known: the final one after a wait.
    pub fn status(&self) -> &str {
        match self.waited.as_ref().map(|w| &w.ending) {
            Some(Ending::Ended(job)) => &job.summary.status,
            Some(Ending::TimedOut {
                last: Some(job), ..
            }) => &job.summary.status,
            _ => &self.summary.status,
        }
    }

    fn steps(&self) -> &[Step] {
        self.last_seen().map_or(&[], |j| &j.steps)
    }

    /// After a wait, the job's duration in whole seconds.
    pub fn duration(&self) -> Option<u64> {
        self.waited.as_ref().map(|w| self.duration_secs(w))
    }

    /// Whole seconds from the job's start to its end (or to now, if it has not ended).
    fn duration_secs(&self, w: &Waited) -> u64 {
        if let Ending::Ended(job) = &w.ending {
            if let (Some(start), Some(end)) = (job.summary.start_time, job.summary.end_time) {
                return (end - start).max(0.0).round() as u64;
            }
        }
        w.elapsed.as_secs()
    }

    /// The exit code of a run that started its job: 0, or after a wait 5 (FAILED or
    /// CANCELLED), 6 (timed out), 130/143 (interrupted).
    pub fn exit_code(&self) -> u8 {
        match self.waited.as_ref().map(|w| &w.ending) {
            None => 0,
            Some(Ending::Ended(job)) if job.summary.status == "SUCCEED" => 0,
            Some(Ending::Ended(_)) if self.skipped().is_some() => 0,
            Some(Ending::Ended(_)) => 5,
            Some(Ending::TimedOut { .. }) => 6,
            Some(Ending::Interrupted { exit_code, .. }) => *exit_code,
        }
    }

    /// What went wrong, for a non-zero exit code: one line naming the failed step.
    pub fn failure(&self) -> Option<String> {
        let w = self.waited.as_ref()?;
        let id = &self.summary.job_id;
        Some(match &w.ending {
            Ending::Ended(job) if job.summary.status == "SUCCEED" => return None,
            Ending::Ended(_) if self.skipped().is_some() => return None,
            Ending::Ended(job) => {
                let failed = job
                    .steps
                    .iter()
                    .find(|s| s.status == "FAILED" || s.status == "CANCELLED");
                match failed {
                    Some(s) => format!(
                        "Amplify job {id} ended {}: step {} {}{}; logs: {}",
                        job.summary.status,
                        s.step_name,
                        s.status,
                        s.status_reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default(),
                        s.log_url.as_deref().unwrap_or(&self.job_url)
                    ),
                    None => format!(
                        "Amplify job {id} ended {}: {}",
                        job.summary.status, self.job_url
                    ),
                }
            }
            Ending::TimedOut {
                last,
                stopped,
                limit,
            } => {
                let seen = last
                    .as_ref()
                    .map_or("of unknown status", |j| j.summary.status.as_str());
                let what = if *stopped {
                    format!("it was {seen}, and was stopped")
                } else {
                    format!("it is still {seen}")
                };
                format!(
                    "gave up waiting for Amplify job {id} after {}s; {what}: {}; the limit, wait-timeout (AMPLIFY_WAIT_TIMEOUT), is {}: raise it (e.g. 45m) to wait longer",
                    w.elapsed.as_secs(),
                    self.job_url,
                    show_duration(*limit)
                )
            }
            Ending::Interrupted { stopped, .. } => format!(
                "interrupted while waiting for Amplify job {id}{}: {}",
                if *stopped {
                    "; the job was stopped"
                } else {
                    "; the job goes on"
                },
                self.job_url
            ),
        })
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

    pub fn step_summary(&self) -> String {
        let s = &self.summary;
        let mut out = format!(
            "### Amplify job {}\n\n| App | Branch | Job | Status | Commit |\n|---|---|---|---|---|\n| {} | {} | [{}]({}) | {} | `{}` |\n\n",
            if self.waited.is_some() {
                "finished"
            } else {
                "started"
            },
            cell(&self.app_id),
            cell(&self.branch),
            cell(&s.job_id),
            self.job_url,
            cell(self.status()),
            code_cell(self.commit_id()),
        );
        if let Some(url) = &self.branch_url {
            out.push_str(&format!("Preview: {url}\n\n"));
        }
        if !self.steps().is_empty() {
            out.push_str("| Step | Status | Duration | Log |\n|---|---|---|---|\n");
            for step in self.steps() {
                let secs = match (step.start_time, step.end_time) {
                    (Some(a), Some(b)) => format!("{}s", (b - a).max(0.0).round() as u64),
                    _ => "-".into(),
                };
                out.push_str(&format!(
                    "| {} | {} | {secs} | {} |\n",
                    cell(&step.step_name),
                    cell(&step.status),
                    log_link(step)
                ));
            }
            out.push('\n');
        }
        if let Some(t) = self.timing_text() {
            out.push_str(&format!("The job was {t}.\n\n"));
        }
        if let Some(notice) = self.skip_notice() {
            out.push_str(&format!("{}\n\n", cell(&notice)));
        }
        if let Some(f) = self.failure_log.as_ref().filter(|f| !f.tail.is_empty()) {
            out.push_str(&details(f));
        }
        out
    }
}

/// The failing step's last lines (at most 60) in a collapsed block: a fenced code block whose
/// fence is longer than any run of backquotes in them, so no line can end it.
fn details(f: &FailureLog) -> String {
    let lines = &f.tail[f.tail.len().saturating_sub(60)..];
    let longest = lines
        .iter()
        .flat_map(|l| l.split(|c| c != '`').map(str::len))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    format!(
        "<details><summary>Last {} lines of the {} log</summary>\n\n{fence}text\n{}\n{fence}\n\n</details>\n\n",
        lines.len(),
        cell(&f.step).replace(['<', '>', '&'], "_"),
        lines.join("\n")
    )
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

/// `name: value` lines, for people: each value one inert line.
fn text(outputs: &[(&str, String)]) -> String {
    outputs
        .iter()
        .map(|(n, v)| format!("{n}: {}", untrusted(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text for a Markdown table cell: escapes and line breaks cannot end the cell or the row.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Text for a code span in a table cell: a backquote cannot end the span.
fn code_cell(s: &str) -> String {
    cell(s).replace('`', "'")
}

/// A step's log as a Markdown link, or nothing when Amplify gave none.
fn log_link(step: &Step) -> String {
    step.log_url
        .as_deref()
        .map(|u| format!("[log]({u})"))
        .unwrap_or_default()
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

/// What a run did.
#[derive(Debug, Clone)]
pub enum Done {
    Job(Box<Outcome>),
    Branch(BranchDeleted),
    /// Nothing was done, for a reason said in a notice (a fork's pull request without
    /// credentials).
    Nothing(String),
}

impl Done {
    pub fn stdout(&self) -> String {
        match self {
            Done::Job(o) => o.stdout(),
            Done::Branch(b) => b.stdout(),
            // One JSON line, as a start's result is, so `jq -r .jobId` reads null.
            Done::Nothing(why) => serde_json::json!({ "skipped": true, "reason": why })
                .to_string()
                .replace("##[", "##\\u005b"),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Done::Job(o) => o.exit_code(),
            Done::Branch(_) | Done::Nothing(_) => 0,
        }
    }

    pub fn failure(&self) -> Option<String> {
        match self {
            Done::Job(o) => o.failure(),
            Done::Branch(_) | Done::Nothing(_) => None,
        }
    }

    /// The failing step and its log, after a failed wait.
    pub fn failure_log(&self) -> Option<&FailureLog> {
        match self {
            Done::Job(o) => o.failure_log(),
            Done::Branch(_) | Done::Nothing(_) => None,
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

/// The outputs as a dotenv file (GitLab's `artifacts:reports:dotenv` and most loaders):
/// `AMPLIFY_JOB_ID=42`, one per line. A value with characters beyond a plain set is quoted,
/// and line breaks never survive into it.
pub fn dotenv(outputs: &[(&str, String)]) -> String {
    let mut text = String::new();
    for (name, value) in outputs {
        let key = format!("AMPLIFY_{}", name.to_ascii_uppercase().replace('-', "_"));
        let value = value.replace(['\r', '\n'], " ");
        let plain = value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:@%+=,-~".contains(&b));
        let value = if plain {
            value
        } else if !value.contains('\'') {
            format!("'{value}'")
        } else {
            format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
        };
        text.push_str(&format!("{key}={value}\n"));
    }
    text
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
