//! Following a deployment with `GetDeployment` until it ends, the wait runs out, or CI cancels
//! the run. One log line per status or step change, never one per poll; one notice for each
//! reason a deployment waits in the queue. No API stops a deployment: a wait that ends early
//! says that it goes on, and how to watch it.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use crate::aws::error::ApiError;
use crate::aws::retry::{Class, classify};
use crate::cancel::Cancel;
use crate::gen3::api::client::Client;
use crate::gen3::api::deployments::{Deployment, is_final};
use crate::runner::{self, untrusted};
use crate::waiting::WaitSettings;

/// Transient failures push polls toward this.
const MAX_POLL: Duration = Duration::from_secs(30);

/// The reasons a deployment waits in the queue, and what each notice says.
const QUEUE_REASONS: [(&str, &str); 2] = [
    (
        "OTHER_DEPLOYMENT_IN_PROGRESS",
        "another deployment from the same source is running in this environment: deployments from one source run one at a time",
    ),
    (
        "AT_ACCOUNT_CONCURRENCY_LIMIT",
        "the account runs as many deployments as its concurrency quota allows: this one waits for a slot",
    ),
];

#[derive(Debug, Clone)]
pub enum Ending {
    /// `SUCCEEDED`, `FAILED`, `CANCELLED` or `EXPIRED`.
    Ended(Deployment),
    /// The wait ran out; the deployment (as last seen) goes on.
    TimedOut {
        last: Option<Deployment>,
        limit: Duration,
    },
    /// CI sent SIGINT (130) or SIGTERM (143); the deployment goes on.
    Interrupted {
        exit_code: u8,
        last: Option<Deployment>,
    },
}

#[derive(Debug, Clone)]
pub struct Waited {
    pub ending: Ending,
    pub elapsed: Duration,
}

/// What the log has said, so each change is said once.
#[derive(Default)]
struct Seen {
    status: Option<String>,
    steps: Vec<(String, String)>,
    notices: BTreeSet<String>,
}

impl Seen {
    fn note(&mut self, d: &Deployment, github: bool) {
        if self.status.as_deref() != Some(d.status.as_str()) {
            tracing::info!("deployment {}: {}", d.deployment_id, d.status);
            self.status = Some(d.status.clone());
        }
        for (name, status) in d.steps() {
            let known = self.steps.iter().any(|(n, s)| *n == name && *s == status);
            if !known {
                tracing::info!("deployment {}: {name} {status}", d.deployment_id);
                self.steps.retain(|(n, _)| *n != name);
                self.steps.push((name, status));
            }
        }
        let reason = d.status_reason_code.as_deref().unwrap_or_default();
        if d.status == "QUEUED" && self.notices.insert(reason.to_string()) {
            if let Some((_, text)) = QUEUE_REASONS.iter().find(|(r, _)| *r == reason) {
                let text = format!("deployment {} is queued: {text}", d.deployment_id);
                if github {
                    runner::notice("Amplify deployment queued", &text);
                } else {
                    tracing::info!("{text}");
                }
            }
        }
    }
}

/// Follows the deployment: one `GetDeployment` at once, then one every poll interval, and one
/// more at the deadline before giving up, so a timed-out wait reports a status it saw.
pub async fn follow(
    client: &Client,
    id: &str,
    s: &WaitSettings,
    github: bool,
    cancel: &Cancel,
) -> Result<Waited, ApiError> {
    let started = Instant::now();
    let deadline = started + s.timeout;
    let mut seen = Seen::default();
    let mut last: Option<Deployment> = None;
    let mut interval = s.poll_interval;
    if github {
        runner::group(&format!("Waiting for Amplify deployment {id}"));
    }
    let ending = loop {
        let poll = tokio::select! {
            biased;
            code = cancel.cancelled() => break Ending::Interrupted { exit_code: code, last },
            r = client.get_deployment(id) => r,
        };
        match poll {
            Ok(d) => {
                seen.note(&d, github);
                interval = s.poll_interval;
                if is_final(&d.status) {
                    break Ending::Ended(d);
                }
                last = Some(d);
            }
            Err(e) if classify(&e) != Class::Fatal => {
                tracing::warn!(
                    "reading the deployment failed: {}; trying again",
                    untrusted(&e.to_string())
                );
                interval = (interval * 2).min(MAX_POLL).max(s.poll_interval);
            }
            Err(e) => {
                if github {
                    runner::endgroup();
                }
                return Err(e);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            break Ending::TimedOut {
                last,
                limit: s.timeout,
            };
        }
        let next = (now + interval).min(deadline);
        tokio::select! {
            biased;
            code = cancel.cancelled() => break Ending::Interrupted { exit_code: code, last },
            _ = tokio::time::sleep_until(next) => {}
        }
    };
    if github {
        runner::endgroup();
    }
    Ok(Waited {
        ending,
        elapsed: started.elapsed(),
    })
}
