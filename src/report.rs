//! Outputs: `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, the JSON result on stdout, and workflow
//! commands made safe for untrusted text.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::Path;

use serde_json::Value;

use crate::amplify::JobSummary;

/// What a started job reports.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub app_id: String,
    pub branch: String,
    pub summary: JobSummary,
    pub job_url: String,
}

impl Outcome {
    /// The `GITHUB_OUTPUT` names and values, in the order `action.yml` declares them.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("job-id", self.summary.job_id.clone()),
            ("job-arn", self.summary.job_arn.clone()),
            ("job-status", self.summary.status.clone()),
            ("job-url", self.job_url.clone()),
            ("commit-id", self.summary.commit_id.clone()),
        ]
    }

    /// stdout: the `jobSummary` as AWS returned it, plus `jobUrl`.
    pub fn json(&self) -> Value {
        let mut v = self.summary.raw.clone();
        if let Value::Object(map) = &mut v {
            map.insert("jobUrl".into(), Value::String(self.job_url.clone()));
        }
        v
    }

    pub fn step_summary(&self) -> String {
        let cell = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('|', "\\|")
                .replace(['\r', '\n'], " ")
        };
        let s = &self.summary;
        format!(
            "### Amplify job started\n\n| App | Branch | Job | Status | Commit |\n|---|---|---|---|---|\n| {} | {} | [{}]({}) | {} | `{}` |\n\n",
            cell(&self.app_id),
            cell(&self.branch),
            cell(&s.job_id),
            self.job_url,
            cell(&s.status),
            cell(&s.commit_id).replace('`', "'"),
        )
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
    // RandomState is seeded from the OS's random source; two draws give 128 bits.
    let draw = || {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0);
        h.finish()
    };
    format!("{:016x}{:016x}", draw(), draw())
}

/// Escapes the data of a workflow command (`%`, CR, LF), as @actions/core does, so a value
/// stays on one line and cannot start a command of its own.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// One line of untrusted text for a log: control characters escaped, and `::` broken so the
/// runner never reads it as a workflow command.
pub fn untrusted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.replace("::", ":\u{200b}:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_is_one_inert_line() {
        assert_eq!(
            untrusted("a\n::add-mask::x"),
            "a\\n:\u{200b}:add-mask:\u{200b}:x"
        );
        assert_eq!(escape_data("50%\nx"), "50%25%0Ax");
    }

    #[test]
    fn delimiters_differ() {
        assert_ne!(random_hex(), random_hex());
    }
}
