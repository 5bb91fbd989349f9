//! Why a deploy failed, in the CI log: the failing step's log (its `logUrl`, presigned by
//! Amplify) read to its last lines, streamed so that memory stays bounded whatever its size, and
//! the line that tells most. Amplify's own skips (a monorepo build it cancelled because nothing
//! changed) are told apart from failures. Everything read from a log is untrusted text.

use std::collections::VecDeque;
use std::time::Duration;

use crate::aws::retry::{Policy, last_error};
use crate::env::{Env, Name, SettingsError};
use crate::hosting::api::client::Client;
use crate::hosting::api::jobs::{Job, Step};
use crate::hosting::start_job::repeatable;
use crate::runner::untrusted;

pub const LOG_LINES: Name = Name {
    var: "AMPLIFY_LOG_LINES",
    input: "log-lines",
};
/// The last lines of a failing step's log that are shown, by default.
pub const DEFAULT_LOG_LINES: usize = 60;
/// At most this many lines may be asked for.
pub const MAX_LOG_LINES: usize = 10_000;
/// A longer line is cut here (characters).
pub const MAX_LINE: usize = 2_000;

/// `AMPLIFY_LOG_LINES`: how many of the failing step's last lines are shown (0: no log is
/// read).
pub fn log_lines(env: &Env) -> Result<usize, SettingsError> {
    let Some(v) = env.get(LOG_LINES.var) else {
        return Ok(DEFAULT_LOG_LINES);
    };
    match v.trim().parse::<usize>() {
        Ok(n) if n <= MAX_LOG_LINES => Ok(n),
        _ => Err(SettingsError::of(
            LOG_LINES,
            Some(v),
            "not a whole number from 0 to 10000",
            "set how many of the failing step's last log lines to show, e.g. 60 (0 reads no log)",
        )),
    }
}

/// The failing step of an ended job, and what its log says.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureLog {
    pub step: String,
    /// The step's log, as Amplify gave it (presigned; it expires).
    pub log_url: Option<String>,
    /// The log's last lines, each cut at [`MAX_LINE`] characters; empty when it was not read.
    pub tail: Vec<String>,
    /// The line that tells most: the first of the tail that looks like an error, else Amplify's
    /// `statusReason`, else the tail's last line.
    pub telling: Option<String>,
}

/// The step that made the job fail: the first `FAILED` one, else (for a cancelled job) the first
/// `CANCELLED` one that has a log.
pub fn failing_step(job: &Job) -> Option<&Step> {
    job.steps.iter().find(|s| s.status == "FAILED").or_else(|| {
        job.steps
            .iter()
            .find(|s| s.status == "CANCELLED" && s.log_url.is_some())
    })
}

/// Amplify cancelled the job itself because nothing changed for the app (a monorepo's other
/// folder changed: "cancelled - no diff detected from previous commit", amplify-hosting #973;
/// "Cancelling build because no changes found for appRoot ...", #909): the reason it gave.
pub fn skipped(job: &Job) -> Option<&str> {
    if job.summary.status != "CANCELLED" {
        return None;
    }
    job.steps
        .iter()
        .filter_map(|s| s.status_reason.as_deref())
        .find(|r| {
            let r = r.to_ascii_lowercase();
            [
                "no diff",
                "no changes",
                "no change detected",
                "nothing changed",
            ]
            .iter()
            .any(|p| r.contains(p))
        })
}

/// Reads the failing step's log (when `lines` > 0) and picks the telling line. A log that cannot
/// be read (expired, missing, a reset, a timeout) is one warning with `console`, never an error.
pub async fn failure(
    client: &Client,
    job: &Job,
    lines: usize,
    policy: &Policy,
    timeout: Duration,
    console: &str,
) -> Option<FailureLog> {
    let step = failing_step(job)?;
    let mut tail = Vec::new();
    if let (Some(url), true) = (&step.log_url, lines > 0) {
        let read = repeatable(policy, async || {
            let mut t = Tail::new(lines);
            crate::aws::fetch::get(client.http(), url, "the step's log", timeout, |b| {
                t.push(b);
                Ok(())
            })
            .await?;
            Ok(t.finish())
        })
        .await;
        match read {
            Ok(t) => tail = t,
            Err(e) => tracing::warn!(
                "could not read the {} log: {}; see it in the console: {console}",
                untrusted(&step.step_name),
                untrusted(&last_error(e).to_string())
            ),
        }
    }
    let telling = tail
        .iter()
        .find(|l| looks_like_error(l))
        .cloned()
        .or_else(|| step.status_reason.clone())
        .or_else(|| tail.last().cloned());
    Some(FailureLog {
        step: step.step_name.clone(),
        log_url: step.log_url.clone(),
        tail,
        telling,
    })
}

/// The last `n` lines of a stream of bytes, each cut at [`MAX_LINE`] characters: memory stays
/// within `n` lines whatever the stream's length.
pub struct Tail {
    n: usize,
    lines: VecDeque<String>,
    partial: Vec<u8>,
}

impl Tail {
    pub fn new(n: usize) -> Tail {
        Tail {
            n,
            lines: VecDeque::with_capacity(n.min(1024)),
            partial: Vec::new(),
        }
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        while let Some(i) = bytes.iter().position(|b| *b == b'\n') {
            self.take(&bytes[..i]);
            let line = std::mem::take(&mut self.partial);
            self.keep(line);
            bytes = &bytes[i + 1..];
        }
        self.take(bytes);
    }

    /// Adds to the line being read, never past what a cut line keeps (4 bytes a character).
    fn take(&mut self, bytes: &[u8]) {
        let room = (MAX_LINE * 4).saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn keep(&mut self, line: Vec<u8>) {
        if self.n == 0 {
            return;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\r');
        let cut: String = text.chars().take(MAX_LINE).collect();
        if self.lines.len() == self.n {
            self.lines.pop_front();
        }
        self.lines.push_back(cut);
    }

    pub fn finish(mut self) -> Vec<String> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.keep(line);
        }
        self.lines.into()
    }
}

/// Does a log line look like an error: `[ERROR]`, `npm ERR!`, the word "error", "failed", or a
/// non-zero exit code?
pub fn looks_like_error(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.contains("[error]")
        || l.contains("npm err!")
        || l.contains("failed")
        || has_word(&l, "error")
        || nonzero_exit(&l)
}

fn has_word(text: &str, word: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(word).any(|(i, _)| {
        !alnum(text[..i].chars().next_back()) && !alnum(text[i + word.len()..].chars().next())
    })
}

/// "exit code 2", "exit status 1", "exited with code 127": a code that is not 0.
fn nonzero_exit(text: &str) -> bool {
    ["exit code ", "exit status ", "exited with code "]
        .iter()
        .any(|p| {
            text.match_indices(p).any(|(i, _)| {
                let digits: String = text[i + p.len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse::<u32>().is_ok_and(|c| c != 0)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_lines_cut_to_length() {
        let mut t = Tail::new(3);
        for chunk in [
            &b"one\ntw"[..],
            b"o\r\nthree\nfour",
            b"\n",
            &[b'x'; 5000],
            b"\nlast",
        ] {
            t.push(chunk);
        }
        let lines = t.finish();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "four");
        assert_eq!(lines[1].len(), MAX_LINE);
        assert_eq!(lines[2], "last");
        let mut none = Tail::new(0);
        none.push(b"a\nb\n");
        assert!(none.finish().is_empty());
    }

    #[test]
    fn error_lines_are_told_apart_from_the_rest() {
        for l in [
            "2026-12-03T10:00:00.000Z [ERROR]: !!! Build failed",
            "npm ERR! code ELIFECYCLE",
            "src/App.tsx(12,5): error TS2322: Type 'string'",
            "Error: Cannot find module 'x'",
            "Command failed with exit code 2",
            "process exited with code 127",
        ] {
            assert!(looks_like_error(l), "{l}");
        }
        for l in [
            "[INFO]: added package 3 of 40",
            "Found 0 errors",
            "exit code 0",
            "[INFO]: # Completed phase: build",
            "terrors of the deep",
        ] {
            assert!(!looks_like_error(l), "{l}");
        }
    }
}
