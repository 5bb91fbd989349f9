//! What is live once a job has ended. A RELEASE job builds the branch's tip when its build
//! starts, not the commit the run sent, and records `commitId: "HEAD"` (amplify-hosting #2100,
//! #599, #751): the commit it really built is the one its BUILD step's log says it switched to.
//! And a newer job may have succeeded after ours and replaced it: the job that serves the branch
//! is the newest one to have succeeded.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use crate::aws::retry::{Policy, last_error, short};
use crate::hosting::api::client::Client;
use crate::hosting::api::jobs::{Job, JobSummary};
use crate::hosting::start_job::repeatable;
use crate::runner::{self, untrusted};
use crate::waiting::OnCommitMismatch;

/// At most this much of the BUILD log is read: the clone is among its first lines.
pub const LOG_HEAD: u64 = 1 << 20;
/// Amplify's line naming the commit it checks out (`[INFO]: # Switching to commit: <sha>`).
const SWITCHING: &str = "# Switching to commit: ";
/// Git's own line after the checkout, with the short id: the fallback.
const HEAD_AT: &str = "HEAD is now at ";
/// A longer line is cut here while scanning (bytes); the lines looked for are short.
const MAX_SCANNED_LINE: usize = 8 * 1024;
/// How many of the commits between the asked and the built one are named.
const BETWEEN: usize = 10;

/// What the run learned of what is live, after its job ended.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// The commit the build checked out: the full SHA when the log gives it, else the short
    /// one; `None` when unknown (or a MANUAL deployment, which builds no commit).
    pub deployed_commit: Option<String>,
    /// The commit the job was to build, when known.
    pub expected: Option<String>,
    /// A newer job that ended `SUCCEED` after ours: it serves the branch.
    pub newer: Option<JobSummary>,
    /// `on-commit-mismatch: fail`, and the build checked out another commit.
    pub fails: bool,
}

impl Live {
    /// The deployed commit is known and is not the one asked for.
    pub fn mismatch(&self) -> bool {
        match (&self.deployed_commit, &self.expected) {
            (Some(d), Some(e)) => !same_commit(d, e),
            _ => false,
        }
    }

    /// The job that serves the branch: the newer one, or ours once it succeeded.
    pub fn serving<'a>(&'a self, ours: &'a JobSummary) -> Option<&'a str> {
        match &self.newer {
            Some(n) => Some(&n.job_id),
            None => (ours.status == "SUCCEED").then_some(ours.job_id.as_str()),
        }
    }
}

/// The commit `job`'s BUILD step log names (its head, one ranged GET), or why it is unknown.
pub async fn built_commit(
    client: &Client,
    policy: &Policy,
    timeout: Duration,
    job: &Job,
) -> Result<String, String> {
    let url = job
        .steps
        .iter()
        .find(|s| s.step_name.eq_ignore_ascii_case("BUILD"))
        .and_then(|s| s.log_url.as_deref())
        .ok_or("the job has no BUILD step log")?;
    let read = repeatable(policy, async || {
        let mut scan = CommitScan::default();
        crate::aws::fetch::head(
            client.http(),
            url,
            "the BUILD step's log",
            timeout,
            LOG_HEAD,
            |b| scan.push(b),
        )
        .await?;
        Ok(scan.finish())
    })
    .await;
    match read {
        Ok(Some(commit)) => Ok(commit),
        Ok(None) => Err("its BUILD log names no commit".into()),
        Err(e) => Err(format!(
            "its BUILD log could not be read ({})",
            short(&last_error(e))
        )),
    }
}

/// A full SHA and a short one (or two full ones) name the same commit.
pub fn same_commit(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a.len() >= 7 && b.len() >= 7 && (a.starts_with(&b) || b.starts_with(&a))
}

/// Reads what is live after `job` ended, says it in the log (on GitHub as annotations), and
/// never fails the run for what it could not read.
pub struct Check<'a> {
    pub client: &'a Client,
    pub policy: &'a Policy,
    pub timeout: Duration,
    /// The commit the run asked for, when known.
    pub asked: Option<&'a str>,
    pub on_mismatch: OnCommitMismatch,
    pub workdir: Option<&'a Path>,
    pub github: bool,
}

impl Check<'_> {
    pub async fn run(&self, job: &Job) -> Live {
        // A failed build deployed nothing: what it checked out is not live.
        let succeeded = job.summary.status == "SUCCEED";
        let built = async {
            if succeeded && builds_from_git(job) {
                Some(self.deployed_commit(job).await)
            } else {
                None
            }
        };
        let newer = async {
            if succeeded {
                self.newer_success(&job.summary).await
            } else {
                None
            }
        };
        let (built, newer) = tokio::join!(built, newer);
        let mut live = Live {
            expected: expected_commit(job, self.asked),
            newer,
            ..Live::default()
        };
        match built {
            None => {}
            Some(Ok(commit)) => live.deployed_commit = Some(commit),
            Some(Err(why)) => self.say_unknown(job, &why),
        }
        self.say_commit(job, &mut live);
        if let Some(n) = &live.newer {
            self.say_newer(job, n);
        }
        live
    }

    async fn deployed_commit(&self, job: &Job) -> Result<String, String> {
        built_commit(self.client, self.policy, self.timeout, job).await
    }

    /// A job newer than ours (a higher id) that ended `SUCCEED` after it, the newest of them.
    async fn newer_success(&self, ours: &JobSummary) -> Option<JobSummary> {
        let listed = repeatable(self.policy, async || self.client.list_jobs(20).await).await;
        match listed {
            Ok(jobs) => newest_success_after(&jobs, ours),
            Err(e) => {
                tracing::warn!(
                    "could not check for a newer job on the branch: {}",
                    untrusted(&short(&last_error(e)))
                );
                None
            }
        }
    }

    fn say_unknown(&self, job: &Job, why: &str) {
        let text = format!(
            "the commit job {} built is unknown: {}",
            job.summary.job_id,
            untrusted(why)
        );
        if self.github {
            runner::notice("Amplify's deployed commit is unknown", &text);
        } else {
            tracing::info!("{text}");
        }
    }

    fn say_commit(&self, job: &Job, live: &mut Live) {
        let (Some(built), Some(expected)) = (&live.deployed_commit, &live.expected) else {
            if let Some(built) = &live.deployed_commit {
                tracing::info!("job {} built commit {built}", job.summary.job_id);
            }
            return;
        };
        if !live.mismatch() {
            tracing::info!(
                "job {} built commit {built}, the commit asked for",
                job.summary.job_id
            );
            return;
        }
        live.fails = self.on_mismatch == OnCommitMismatch::Fail;
        let between = self
            .workdir
            .and_then(|dir| crate::ci::commits_between(dir, expected, built, BETWEEN))
            .filter(|c| !c.is_empty())
            .map(|c| format!("; the commits between them: {}", c.join(", ")))
            .unwrap_or_default();
        let text = format!(
            "job {} built commit {built}, not {expected}: the branch moved on before Amplify cloned it{between}{}",
            job.summary.job_id,
            if live.fails {
                "; on-commit-mismatch is fail, so the run fails"
            } else {
                ""
            }
        );
        if self.github {
            runner::warning("Amplify built another commit", &text);
        } else {
            tracing::warn!("{}", untrusted(&text));
        }
    }

    fn say_newer(&self, job: &Job, newer: &JobSummary) {
        let text = format!(
            "job {} (commit {}) succeeded after job {} and now serves the branch",
            untrusted(&newer.job_id),
            untrusted(&newer.commit_id),
            job.summary.job_id
        );
        if self.github {
            runner::notice("A newer Amplify job serves the branch", &text);
        } else {
            tracing::info!("{text}");
        }
    }
}

/// A build from Git (RELEASE, RETRY, WEB_HOOK) checks out a commit; a MANUAL deployment does
/// not.
pub fn builds_from_git(job: &Job) -> bool {
    !job.summary.job_type.eq_ignore_ascii_case("MANUAL")
        && job
            .steps
            .iter()
            .any(|s| s.step_name.eq_ignore_ascii_case("BUILD"))
}

/// What the job was to build: the commit it recorded when that is one (a RETRY records the
/// retried job's, a webhook job its push's), else the commit the run asked for ("HEAD" is
/// what a RELEASE job records).
pub fn expected_commit(job: &Job, asked: Option<&str>) -> Option<String> {
    let recorded = &job.summary.commit_id;
    if recorded.len() == 40 && recorded.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(recorded.to_ascii_lowercase());
    }
    asked.map(str::to_ascii_lowercase)
}

/// The newest job of `jobs` with a higher id than `ours` that ended `SUCCEED` after it.
pub fn newest_success_after(jobs: &[JobSummary], ours: &JobSummary) -> Option<JobSummary> {
    jobs.iter()
        .filter(|j| j.number() > ours.number() && j.status == "SUCCEED")
        .filter(|j| match (j.end_time, ours.end_time) {
            (Some(theirs), Some(mine)) => theirs >= mine,
            _ => true,
        })
        .max_by_key(|j| j.number())
        .cloned()
}

/// Finds the commit a build log names, line by line, as the bytes arrive: the full SHA of
/// Amplify's `# Switching to commit:` line ends the read; git's `HEAD is now at <short>` is
/// kept in case that line never comes.
#[derive(Default)]
pub struct CommitScan {
    partial: Vec<u8>,
    full: Option<String>,
    short: Option<String>,
}

impl CommitScan {
    pub fn push(&mut self, mut bytes: &[u8]) -> ControlFlow<()> {
        while let Some(i) = bytes.iter().position(|b| *b == b'\n') {
            self.take(&bytes[..i]);
            let line = std::mem::take(&mut self.partial);
            self.line(&line);
            if self.full.is_some() {
                return ControlFlow::Break(());
            }
            bytes = &bytes[i + 1..];
        }
        self.take(bytes);
        ControlFlow::Continue(())
    }

    fn take(&mut self, bytes: &[u8]) {
        let room = MAX_SCANNED_LINE.saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// The commit: the full SHA, else the short one, else `None`.
    pub fn finish(mut self) -> Option<String> {
        if self.full.is_none() && !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line);
        }
        self.full.or(self.short)
    }

    fn line(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        if let Some(i) = text.find(SWITCHING) {
            let sha = hex_run(&text[i + SWITCHING.len()..]);
            if sha.len() == 40 {
                self.full = Some(sha);
            }
        } else if let (None, Some(i)) = (&self.short, text.find(HEAD_AT)) {
            let sha = hex_run(&text[i + HEAD_AT.len()..]);
            if (7..=40).contains(&sha.len()) {
                self.short = Some(sha);
            }
        }
    }
}

/// The hexadecimal digits `text` starts with, lower-cased.
fn hex_run(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BUILD log's first lines as Amplify writes them (quoted in public build logs, 2025-10).
    const LOG: &str = "2025-10-09T10:59:07.533Z [INFO]: # Build environment configured with Standard build compute type: 8GiB Memory, 4vCPUs, 128GB Disk Space
2025-10-09T10:59:08.055Z [INFO]: # Cloning repository: git@github.com:owner/site.git
2025-10-09T10:59:09.393Z [INFO]: Cloning into 'site'...
2025-10-09T10:59:09.394Z [INFO]: # Switching to commit: 7EEC3A40b936f6b5060644134a499b4ee865a72b
2025-10-09T10:59:09.511Z [INFO]: Note: switching to '7eec3a40b936f6b5060644134a499b4ee865a72b'.
                                 HEAD is now at 7eec3a4 errors with string conversion.
";

    fn scan(chunks: &[&[u8]]) -> (Option<String>, bool) {
        let mut s = CommitScan::default();
        let mut stopped = false;
        for c in chunks {
            if s.push(c).is_break() {
                stopped = true;
                break;
            }
        }
        (s.finish(), stopped)
    }

    #[test]
    fn the_switching_line_gives_the_full_sha_and_ends_the_read() {
        let bytes = LOG.as_bytes();
        for cut in [1, 7, 100, 250, 300, bytes.len()] {
            let (a, b) = bytes.split_at(cut.min(bytes.len()));
            let (commit, stopped) = scan(&[a, b, b"more log\n"]);
            assert_eq!(
                commit.as_deref(),
                Some("7eec3a40b936f6b5060644134a499b4ee865a72b"),
                "cut at {cut}"
            );
            assert!(stopped, "cut at {cut}");
        }
    }

    #[test]
    fn git_s_head_line_is_the_fallback_and_nothing_is_none() {
        let without: String = LOG
            .lines()
            .filter(|l| !l.contains(SWITCHING))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            scan(&[without.as_bytes()]),
            (Some("7eec3a4".to_string()), false)
        );
        assert_eq!(
            scan(&[b"[INFO]: # Starting phase: build\nno commit"]).0,
            None
        );
        assert_eq!(scan(&[b"# Switching to commit: HEAD\n"]).0, None);
        // A line longer than the scan keeps is cut, never held whole.
        let long = vec![b'x'; 3 * MAX_SCANNED_LINE];
        assert_eq!(scan(&[&long, b"\n"]).0, None);
    }

    #[test]
    fn a_short_and_a_full_sha_of_one_commit_are_the_same() {
        let full = "7eec3a40b936f6b5060644134a499b4ee865a72b";
        assert!(same_commit(full, "7eec3a4"));
        assert!(same_commit("7EEC3A4", full));
        assert!(!same_commit(full, "7eec3a5"));
        assert!(!same_commit(full, "7eec"));
    }

    fn summary(id: &str, status: &str, end: f64) -> JobSummary {
        serde_json::from_value(serde_json::json!({
            "jobArn": format!("arn:aws:amplify:us-east-1:1:apps/d1/branches/main/jobs/{id}"),
            "jobId": id, "status": status, "commitId": "HEAD", "endTime": end,
        }))
        .unwrap()
    }

    #[test]
    fn only_a_newer_job_that_succeeded_after_ours_serves() {
        let ours = summary("5", "SUCCEED", 100.0);
        let jobs = [
            summary("4", "SUCCEED", 120.0),
            summary("6", "FAILED", 130.0),
            summary("7", "SUCCEED", 140.0),
            summary("8", "SUCCEED", 150.0),
            summary("9", "RUNNING", 0.0),
        ];
        assert_eq!(newest_success_after(&jobs, &ours).unwrap().job_id, "8");
        assert!(newest_success_after(&jobs[..2], &ours).is_none());
        // Ended before ours (an older build that finished first): ours replaced it.
        assert!(newest_success_after(&[summary("6", "SUCCEED", 90.0)], &ours).is_none());
    }
}
