//! Follow a started job with `GetJob` until it ends, the wait times out, or CI cancels the run.
//! One log line per status or step change, never one per poll.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::amplify::{ApiError, Client, Job};
use crate::report::untrusted;
use crate::retry::{Class, classify};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitSettings {
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub cancel_on_timeout: bool,
    pub cancel_on_abort: bool,
}

/// Polls slow down to this; throttling and transient errors push toward it.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub enum Ending {
    /// The job reached SUCCEED, FAILED or CANCELLED.
    Ended(Job),
    /// The wait ran out; the job (as last seen) is still going, unless it was stopped.
    TimedOut { last: Option<Job>, stopped: bool },
    /// CI sent SIGINT (130) or SIGTERM (143).
    Interrupted { exit_code: u8, stopped: bool },
}

#[derive(Debug, Clone)]
pub struct Waited {
    pub ending: Ending,
    pub elapsed: Duration,
}

pub fn is_final(status: &str) -> bool {
    matches!(status, "SUCCEED" | "FAILED" | "CANCELLED")
}

pub async fn follow(
    client: &Client,
    job_id: &str,
    s: &WaitSettings,
    github: bool,
) -> Result<Waited, ApiError> {
    let started = Instant::now();
    let deadline = started + s.timeout;
    let mut interval = s.poll_interval;
    let mut last: Option<Job> = None;
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut status = String::new();
    let mut signals = Signals::new();
    if github {
        eprintln_group(&format!("Waiting for Amplify job {job_id}"));
    }
    let ending = loop {
        let wake = (Instant::now() + interval).min(deadline);
        tokio::select! {
            code = signals.recv() => {
                let stopped = s.cancel_on_abort && stop(client, job_id).await;
                break Ending::Interrupted { exit_code: code, stopped };
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
        if Instant::now() >= deadline {
            let stopped = s.cancel_on_timeout && stop(client, job_id).await;
            break Ending::TimedOut {
                last: last.clone(),
                stopped,
            };
        }
        match client.get_job(job_id).await {
            Ok(job) => {
                let elapsed = started.elapsed().as_secs();
                if job.summary.status != status {
                    status = job.summary.status.clone();
                    tracing::info!("job {job_id}: {status} ({elapsed}s)");
                }
                for step in &job.steps {
                    if seen.get(&step.step_name) != Some(&step.status) {
                        seen.insert(step.step_name.clone(), step.status.clone());
                        tracing::info!(
                            "  step {}: {} ({elapsed}s)",
                            untrusted(&step.step_name),
                            step.status
                        );
                    }
                }
                let done = is_final(&job.summary.status);
                last = Some(job);
                if done {
                    break Ending::Ended(last.clone().expect("just set"));
                }
                interval = (interval.mul_f64(1.5)).min(MAX_POLL_INTERVAL);
            }
            Err(e) if classify(&e) != Class::Fatal => {
                interval = (interval * 2).min(MAX_POLL_INTERVAL);
                tracing::warn!(
                    "GetJob failed: {}; polling every {:.1}s",
                    untrusted(&e.to_string()),
                    interval.as_secs_f64()
                );
            }
            Err(e) => {
                if github {
                    eprintln_endgroup();
                }
                return Err(e);
            }
        }
    };
    if github {
        eprintln_endgroup();
    }
    Ok(Waited {
        ending,
        elapsed: started.elapsed(),
    })
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

#[allow(clippy::print_stderr)]
fn eprintln_group(title: &str) {
    eprintln!("::group::{}", crate::report::escape_data(title));
}

#[allow(clippy::print_stderr)]
fn eprintln_endgroup() {
    eprintln!("::endgroup::");
}

/// SIGINT and SIGTERM as exit codes 130 and 143.
struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    async fn recv(&mut self) -> u8 {
        async fn on(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = on(&mut self.int) => 130,
            _ = on(&mut self.term) => 143,
        }
    }
}
