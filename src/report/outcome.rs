//! What a run did: the job it started or followed, what the wait saw, how it ends (exit code,
//! failure), and what stdout carries. How each audience is told is in the rooms beside it.

use crate::env::show_duration;
use crate::hosting::api::jobs::{Job, JobSummary, Step};
use crate::hosting::logs::FailureLog;
use crate::hosting::wait::{Ending, Waited};
use crate::runner::untrusted;

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
    /// After a wait that ended: the commit the build checked out, the job that serves.
    pub live: Option<crate::hosting::live::Live>,
    /// `wait-for-url`: what the branch's site answered after the success.
    pub url_probe: Option<crate::probe::Probe>,
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

impl Outcome {
    /// The job as the wait last saw it.
    pub fn last_seen(&self) -> Option<&Job> {
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
            Some(Ending::Ended(job)) => crate::hosting::logs::skipped(job),
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

    pub fn steps(&self) -> &[Step] {
        self.last_seen().map_or(&[], |j| &j.steps)
    }

    /// After a wait, the job's duration in whole seconds.
    pub fn duration(&self) -> Option<u64> {
        self.waited.as_ref().map(|w| self.duration_secs(w))
    }

    /// Whole seconds from the job's start to its end (or to now, if it has not ended).
    pub fn duration_secs(&self, w: &Waited) -> u64 {
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
            Some(Ending::Ended(job))
                if job.summary.status == "SUCCEED"
                    && self.live.as_ref().is_some_and(|l| l.fails) =>
            {
                5
            }
            Some(Ending::Ended(job)) if job.summary.status == "SUCCEED" => {
                self.url_probe.as_ref().map_or(0, |p| p.exit_code())
            }
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
            Ending::Ended(job) if job.summary.status == "SUCCEED" => {
                let Some(live) = self.live.as_ref().filter(|l| l.fails) else {
                    return self.url_probe.as_ref()?.failure();
                };
                format!(
                    "Amplify job {id} succeeded, but built commit {}, not {}: on-commit-mismatch is fail; {}",
                    live.deployed_commit.as_deref().unwrap_or_default(),
                    live.expected.as_deref().unwrap_or_default(),
                    self.job_url
                )
            }
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
}

impl Outcome {
    /// What GitHub is told of the job (`stage`: the branch's, `PRODUCTION` marks a production
    /// deployment).
    pub fn told(&self, stage: Option<&str>) -> crate::report::told::Told {
        let mut text = format!("Amplify job {}: {}", self.summary.job_id, self.status());
        if let Some(secs) = self.duration() {
            text.push_str(&format!(
                " in {}",
                show_duration(std::time::Duration::from_secs(secs))
            ));
        }
        let state = match self.waited.as_ref().map(|w| &w.ending) {
            Some(Ending::Ended(job)) => Some(match job.summary.status.as_str() {
                "SUCCEED" if self.live.as_ref().is_some_and(|l| l.fails) => "failure",
                "SUCCEED" if self.url_probe.as_ref().is_some_and(|p| p.exit_code() != 0) => "error",
                "SUCCEED" => "success",
                "CANCELLED" if self.skipped().is_some() => "success",
                "FAILED" => "failure",
                _ => "error",
            }),
            _ => None,
        };
        crate::report::told::Told {
            sha: self.commit.clone(),
            app: self.app_id.clone(),
            target: self.branch.clone(),
            description: crate::report::told::description(&text),
            log_url: self.job_url.clone(),
            environment_url: self.branch_url.clone(),
            state,
            waited: self.waited.is_some(),
            production: stage == Some("PRODUCTION"),
            payload: serde_json::json!({
                "appId": self.app_id, "branch": self.branch, "jobId": self.summary.job_id
            }),
        }
    }
}
