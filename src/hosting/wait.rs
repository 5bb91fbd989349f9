//! Follow a started job with `GetJob` until it ends, the wait times out, or CI cancels the run.
//! One log line per status or step change, never one per poll.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::aws::error::ApiError;
use crate::aws::retry::{Class, classify};
use crate::cancel::Cancel;
use crate::hosting::api::client::Client;
use crate::hosting::api::jobs::Job;
use crate::runner::untrusted;
use crate::schedule::Schedule;
pub use crate::waiting::WaitSettings;

/// The first poll interval when none is set.
pub const MIN_POLL: Duration = Duration::from_secs(5);

/// Polls slow down to this; throttling and transient errors push toward it.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub enum Ending {
    /// The job reached SUCCEED, FAILED or CANCELLED.
    Ended(Job),
    /// The wait ran out; the job (as last seen) is still going, unless it was stopped.
    TimedOut {
        last: Option<Job>,
        stopped: bool,
        /// The wait limit that ran out (`wait-timeout`).
        limit: Duration,
    },
    /// CI sent SIGINT (130) or SIGTERM (143).
    Interrupted { exit_code: u8, stopped: bool },
}

#[derive(Debug, Clone)]
pub struct Waited {
    pub ending: Ending,
    pub elapsed: Duration,
}

pub use crate::hosting::api::jobs::is_final;

/// A job still `PENDING` this long after it started waits for a build slot: said once.
pub const QUEUED_NOTICE_AFTER: f64 = 60.0;

/// How long stopping the job may take after a signal: the run must end before CI kills it
/// (GitHub: SIGTERM 7.5 s after SIGINT, then the kill 2.5 s later).
pub const STOP_ON_ABORT_LIMIT: Duration = Duration::from_secs(5);

/// Where the job is in its life: what the poll schedule is planned from.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Durations (seconds) of the branch's recent successful jobs.
    pub history: Vec<f64>,
    /// Seconds the job had run when the wait began (0 for a job just started).
    pub age: f64,
}

/// The branch's last successful jobs and their durations (one `ListJobs` of 20; without them,
/// the plain schedule). It needs nothing of the job, so it is read beside the start.
pub async fn history(client: &Client) -> Vec<(String, f64)> {
    match client.list_jobs(20).await {
        Ok(jobs) => jobs
            .iter()
            .filter(|j| j.status == "SUCCEED")
            .filter_map(|j| Some((j.job_id.clone(), j.end_time? - j.start_time?)))
            .collect(),
        Err(e) => {
            tracing::debug!("no history to plan the polls: {e}");
            Vec::new()
        }
    }
}

/// The plan for `job`: the durations of the other jobs of the branch's `history`, and the
/// job's age.
pub fn plan(
    client: &Client,
    history: Vec<(String, f64)>,
    job: &crate::hosting::api::jobs::JobSummary,
) -> Plan {
    let history = history
        .into_iter()
        .filter(|(id, _)| *id != job.job_id)
        .map(|(_, d)| d)
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
        + client.clock_offset() as f64;
    let age = job.start_time.map_or(0.0, |s| (now - s).max(0.0));
    Plan { history, age }
}

/// Follows the job: one `GetJob` at once, then on the schedule planned from the branch's
/// history (see [`crate::schedule`]), and one more at the deadline before giving up, so a
/// timed-out wait always reports a status it saw.
pub async fn follow(
    client: &Client,
    job_id: &str,
    s: &WaitSettings,
    plan: &Plan,
    github: bool,
    cancel: &Cancel,
) -> Result<Waited, ApiError> {
    let started = Instant::now();
    let deadline = started + s.timeout;
    let mut schedule = Schedule::new(s.poll_interval, &plan.history);
    if let Some(end) = schedule.expected_end() {
        tracing::debug!("recent builds took about {end:.0}s: polling densely around that");
    }
    let since_start = |now: Instant| plan.age + (now - started).as_secs_f64();
    let mut progress = Progress {
        github,
        console: client.job_console_url(job_id),
        ..Progress::default()
    };
    if github {
        crate::runner::group(&format!("Waiting for Amplify job {job_id}"));
    }
    let mut next = started;
    let mut delay: f64;
    let ending = loop {
        let polled = tokio::select! {
            biased;
            code = cancel.cancelled() => Err(code),
            r = async {
                tokio::time::sleep_until(next).await;
                (Instant::now() >= deadline, client.get_job(job_id).await)
            } => Ok(r),
        };
        let (at_deadline, result) = match polled {
            Ok(r) => r,
            Err(code) => {
                let stopped = s.cancel_on_abort && stop_within(client, job_id).await;
                break Ending::Interrupted {
                    exit_code: code,
                    stopped,
                };
            }
        };
        match progress.take(job_id, result, &mut schedule, since_start(Instant::now())) {
            Polled::Ended(job) => break Ending::Ended(job),
            Polled::Next(d) => delay = d,
            Polled::Fatal(e) => {
                if github {
                    crate::runner::endgroup();
                }
                return Err(e);
            }
        }
        if at_deadline {
            let stopped = s.cancel_on_timeout && stop(client, job_id).await;
            break Ending::TimedOut {
                last: progress.last.clone(),
                stopped,
                limit: s.timeout,
            };
        }
        next = (Instant::now() + Duration::from_secs_f64(delay)).min(deadline);
    };
    if github {
        crate::runner::endgroup();
    }
    Ok(Waited {
        ending,
        elapsed: started.elapsed(),
    })
}

/// What has been logged: one line per status or step change, never one per poll.
#[derive(Default)]
struct Progress {
    last: Option<Job>,
    seen: BTreeMap<String, String>,
    status: String,
    github: bool,
    /// The job in the console, for the queued notice.
    console: String,
    /// The queued notice was given.
    queued: bool,
}

/// What one poll says to do next.
enum Polled {
    Ended(Job),
    /// Poll again after this many seconds.
    Next(f64),
    Fatal(ApiError),
}

impl Progress {
    /// Takes one poll's result: logs what changed, and says when to poll again.
    fn take(
        &mut self,
        job_id: &str,
        result: Result<Job, ApiError>,
        schedule: &mut Schedule,
        t: f64,
    ) -> Polled {
        match result {
            Ok(job) => {
                self.log(job_id, &job, t as u64);
                if job.summary.status == "PENDING" && t >= QUEUED_NOTICE_AFTER && !self.queued {
                    self.queued = true;
                    self.notice_queued(job_id, t);
                }
                let done = is_final(&job.summary.status);
                self.last = Some(job);
                if done {
                    return Polled::Ended(self.last.clone().expect("just set"));
                }
                Polled::Next(schedule.next_delay(t))
            }
            Err(e) if classify(&e) != Class::Fatal => {
                let delay = schedule.back_off();
                tracing::warn!(
                    "GetJob failed: {}; polling every {delay:.1}s",
                    untrusted(&e.to_string()),
                );
                Polled::Next(delay)
            }
            Err(e) => Polled::Fatal(e),
        }
    }

    /// Once: the job waits in Amplify's queue, and why that happens.
    fn notice_queued(&self, job_id: &str, t: f64) {
        let text = format!(
            "job {job_id} is still PENDING {t:.0}s after it was started: it is queued. Amplify runs at most 5 jobs at a time per account by default (the concurrent jobs quota, which can be raised in Service Quotas); it starts when a slot frees: {}",
            self.console
        );
        if self.github {
            crate::runner::notice("Amplify job queued", &text);
        } else {
            tracing::warn!("{text}");
        }
    }

    fn log(&mut self, job_id: &str, job: &Job, elapsed: u64) {
        if job.summary.status != self.status {
            self.status = job.summary.status.clone();
            tracing::info!("job {job_id}: {} ({elapsed}s)", self.status);
        }
        for step in &job.steps {
            if self.seen.get(&step.step_name) != Some(&step.status) {
                self.seen
                    .insert(step.step_name.clone(), step.status.clone());
                tracing::info!(
                    "  step {}: {} ({elapsed}s)",
                    untrusted(&step.step_name),
                    step.status
                );
            }
        }
    }
}

/// `cancel-on-abort`: stop the job, giving up after [`STOP_ON_ABORT_LIMIT`].
async fn stop_within(client: &Client, job_id: &str) -> bool {
    match tokio::time::timeout(STOP_ON_ABORT_LIMIT, stop(client, job_id)).await {
        Ok(stopped) => stopped,
        Err(_) => {
            tracing::warn!(
                "could not stop job {job_id} within {}s",
                STOP_ON_ABORT_LIMIT.as_secs()
            );
            false
        }
    }
}

async fn stop(client: &Client, job_id: &str) -> bool {
    match client.stop_job(job_id).await {
        Ok(_) => {
            tracing::warn!("stopped job {job_id}");
            true
        }
        Err(e) => {
            tracing::warn!("could not stop job {job_id}: {}", untrusted(&e.to_string()));
            false
        }
    }
}
