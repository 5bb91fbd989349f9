//! `cancel-previous`: before a start, the branch's builds that a new push made pointless are
//! stopped (the Amplify side of GitHub's `concurrency: cancel-in-progress`). Jobs of this run's
//! own commit are never stopped: they may be ours from an earlier attempt, or a webhook build
//! of the same commit.

use crate::aws::error::ApiError;
use crate::aws::retry::Policy;
use crate::env::Name;
use crate::hosting::api::client::Client;
use crate::hosting::start_job::RetryError;
use crate::hosting::start_job::repeatable;
use crate::runner::untrusted;

pub const CANCEL_PREVIOUS: Name = Name {
    var: "AMPLIFY_CANCEL_PREVIOUS",
    input: "cancel-previous",
};
/// How many of the branch's newest jobs are looked at.
const WINDOW: u8 = 50;

/// A job that has not ended.
pub fn unfinished(status: &str) -> bool {
    matches!(status, "CREATED" | "PENDING" | "PROVISIONING" | "RUNNING")
}

/// What `cancel-previous` did: the jobs it stopped, and the newest job id it saw.
#[derive(Debug, Default)]
pub struct Superseded {
    pub stopped: Vec<String>,
    pub newest: Option<u64>,
}

/// Stops the branch's unfinished jobs of other commits (`commit`: this run's, `None` for a
/// manual deployment, which has none: then every unfinished job goes). Only a failure to list
/// the jobs is an error; a refused stop is a warning.
pub async fn stop_previous(
    client: &Client,
    commit: Option<&str>,
    policy: &Policy,
) -> Result<Superseded, RetryError> {
    let jobs = repeatable(policy, async || client.list_jobs(WINDOW).await).await?;
    let newest = jobs.iter().map(|j| j.number()).max();
    let mut stopped = Vec::new();
    for job in jobs.iter().filter(|j| unfinished(&j.status)) {
        if commit.is_some_and(|c| c == job.commit_id) {
            tracing::info!(
                "job {} ({}) is of this commit: not stopping it",
                job.job_id,
                job.status
            );
            continue;
        }
        match client.stop_job(&job.job_id).await {
            Ok(_) => {
                tracing::warn!(
                    "stopped job {} (commit {}, {}): superseded by this run",
                    job.job_id,
                    untrusted(&job.commit_id),
                    job.status
                );
                stopped.push(job.job_id.clone());
            }
            Err(ApiError::Service { code, message, .. }) if code == "BadRequestException" => {
                tracing::info!(
                    "job {} ended meanwhile ({}): nothing to stop",
                    job.job_id,
                    untrusted(&message)
                );
            }
            Err(e) => tracing::warn!(
                "could not stop job {}: {}; starting anyway",
                job.job_id,
                untrusted(&e.to_string())
            ),
        }
    }
    Ok(Superseded { stopped, newest })
}
