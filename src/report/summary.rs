//! The step summary (`GITHUB_STEP_SUMMARY`): the job, its steps and their logs, the timing,
//! a skip's notice, the failing step's last lines; untrusted text in table cells, code spans
//! and fenced blocks only.

use crate::hosting::api::jobs::Step;
use crate::hosting::logs::FailureLog;
use crate::report::format::{cell, code_cell};
use crate::report::outcome::Outcome;

impl Outcome {
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
        if let Some(live) = &self.live {
            out.push_str(&live_lines(live, &self.summary.job_id));
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

/// What is live: the commit the build checked out against the one asked for, and a newer job
/// that replaced ours.
fn live_lines(live: &crate::hosting::live::Live, ours: &str) -> String {
    let mut out = String::new();
    match (&live.deployed_commit, &live.expected) {
        (Some(built), Some(asked)) if live.mismatch() => out.push_str(&format!(
            "Deployed commit: `{}`, **not** the commit asked for (`{}`): the branch moved on before Amplify cloned it.\n\n",
            code_cell(built),
            code_cell(asked)
        )),
        (Some(built), Some(_)) => out.push_str(&format!(
            "Deployed commit: `{}`, the commit asked for.\n\n",
            code_cell(built)
        )),
        (Some(built), None) => {
            out.push_str(&format!("Deployed commit: `{}`.\n\n", code_cell(built)))
        }
        (None, _) => {}
    }
    if let Some(n) = &live.newer {
        out.push_str(&format!(
            "Job {} (commit `{}`) succeeded after job {ours} and serves the branch.\n\n",
            cell(&n.job_id),
            code_cell(&n.commit_id)
        ));
    }
    out
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

/// A step's log as a Markdown link, or nothing when Amplify gave none.
pub fn log_link(step: &Step) -> String {
    step.log_url
        .as_deref()
        .map(|u| format!("[log]({u})"))
        .unwrap_or_default()
}
