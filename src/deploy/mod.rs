//! Manual deployments (job type MANUAL, apps without Git): `CreateDeployment`, the zip's upload
//! to the presigned URL it returns, then `StartDeployment`; or `StartDeployment` with a
//! `sourceUrl` that Amplify fetches itself.
//!
//! Neither call is idempotent. After a `CreateDeployment` whose answer was lost, the job it
//! may have made is found (`ListJobs`: MANUAL, since the first attempt, never started) and
//! stopped before creating again, so the branch is not blocked by a stuck job. After a lost
//! `StartDeployment`, `GetJob` says whether it started; it is never started twice.

mod upload;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::amplify::{ApiError, Client, Deployment, JobSummary, StartDeploymentBody};
use crate::cancel::Cancel;
use crate::retry::{Backoff, CLOCK_SKEW_ALLOWANCE, Class, Policy, RetryError, classify};
use crate::runner::untrusted;
use crate::source::Source;

/// After a signal, how long cleaning up (stopping a job not started) may take.
const INTERRUPTED_CLEANUP: Duration = Duration::from_secs(3);
/// How many of the branch's newest jobs are looked through for one of ours.
const RECONCILE_WINDOW: u8 = 20;

/// The status of a job `CreateDeployment` made and `StartDeployment` has not started.
fn not_started(status: &str) -> bool {
    status == "CREATED"
}

/// What is deployed: the zip (a folder zipped, or a zip as given), or a URL.
pub enum Payload<'a> {
    Zip(&'a Path),
    Url(&'a Source),
}

pub struct Deploy<'a> {
    pub client: &'a Client,
    pub policy: &'a Policy,
    pub request_timeout: Duration,
    pub cancel: &'a Cancel,
}

/// Where a deployment got to, for what a signal leaves behind.
enum Stage {
    Creating,
    Created(String),
    Starting(String),
    StartingUrl,
}

impl Deploy<'_> {
    /// Runs the deployment to its started job.
    pub async fn run(&self, payload: Payload<'_>) -> Result<JobSummary, RetryError> {
        let since = seconds_now() - CLOCK_SKEW_ALLOWANCE.as_secs_f64();
        let mut stage = Stage::Creating;
        let result = tokio::select! {
            biased;
            code = self.cancel.cancelled() => Err(code),
            r = self.steps(&payload, since, &mut stage) => Ok(r),
        };
        match result {
            Ok(r) => r,
            Err(code) => Err(self.interrupted(code, stage, since).await),
        }
    }

    async fn steps(
        &self,
        payload: &Payload<'_>,
        since: f64,
        stage: &mut Stage,
    ) -> Result<JobSummary, RetryError> {
        match payload {
            Payload::Url(Source::Url { url, kind }) => {
                *stage = Stage::StartingUrl;
                let body = StartDeploymentBody {
                    job_id: None,
                    source_url: Some(url.clone()),
                    source_url_type: Some(kind.as_str().into()),
                };
                self.start_from_url(&body, since).await
            }
            Payload::Url(_) => unreachable!("a URL payload holds a URL source"),
            Payload::Zip(zip) => {
                let deployment = self.create(since).await?;
                let id = deployment.job_id.clone();
                tracing::info!("created deployment job {id}");
                *stage = Stage::Created(id.clone());
                if let Err(e) = self.upload(&deployment, zip).await {
                    // Never leave a job that will not start blocking the branch.
                    self.stop_created(&id).await;
                    return Err(e);
                }
                *stage = Stage::Starting(id.clone());
                let started = self.start(&id).await;
                if let Err(RetryError::Api(_)) = &started {
                    // Refused outright: the job did not start.
                    self.stop_created(&id).await;
                }
                started
            }
        }
    }

    /// After a failed `CreateDeployment` or `StartDeployment`: `Ok(unsure)` (whether the call
    /// may have taken effect) once the backoff's delay has passed, or the error the run ends
    /// with: a fatal one (with Amplify's refusals explained when `hint`), or the last one when
    /// the retries are spent.
    async fn after_failure(
        &self,
        backoff: &mut Backoff,
        err: ApiError,
        hint: bool,
    ) -> Result<bool, RetryError> {
        let class = created_class(&err);
        if class == Class::Fatal {
            let err = if hint {
                with_hint(err, self.client).await
            } else {
                err
            };
            return Err(RetryError::Api(err));
        }
        let unsure = class == Class::Ambiguous;
        match backoff.next_delay(&err) {
            Some(d) => {
                tokio::time::sleep(d).await;
                Ok(unsure)
            }
            None => Err(backoff.gave_up(err, unsure, self.client.branch_console_url())),
        }
    }

    /// `CreateDeployment` under the retry policy; a lost answer's job is stopped first.
    async fn create(&self, since: f64) -> Result<Deployment, RetryError> {
        let mut backoff = Backoff::new(self.policy);
        let mut unsure = false;
        loop {
            backoff.attempt();
            if unsure {
                if let Err(e) = self.stop_ours(since).await {
                    return Err(backoff.gave_up(e, true, self.client.branch_console_url()));
                }
            }
            let err = match self.client.create_deployment().await {
                Ok(d) => return Ok(d),
                Err(e) => e,
            };
            unsure = self.after_failure(&mut backoff, err, true).await?;
        }
    }

    /// Stops the MANUAL jobs this run may have created and never started.
    async fn stop_ours(&self, since: f64) -> Result<(), ApiError> {
        let since = since + self.client.clock_offset() as f64;
        let jobs = self.client.list_jobs(RECONCILE_WINDOW).await?;
        for job in jobs.iter().filter(|j| {
            j.job_type == "MANUAL"
                && not_started(&j.status)
                && j.start_time.is_some_and(|s| s >= since)
        }) {
            tracing::warn!(
                "stopping job {}, created by an attempt whose answer was lost and never started",
                job.job_id
            );
            self.client.stop_job(&job.job_id).await?;
        }
        Ok(())
    }

    /// The upload, retried (a `PUT` to the same URL is safe to repeat) for 5xx, resets and
    /// timeouts; the URL is reused until it expires.
    async fn upload(&self, deployment: &Deployment, zip: &Path) -> Result<(), RetryError> {
        let size = std::fs::metadata(zip).map(|m| m.len()).unwrap_or(0);
        tracing::info!("uploading {size} bytes");
        let mut backoff = Backoff::new(self.policy);
        loop {
            backoff.attempt();
            let http = self.client.http();
            let url = &deployment.zip_upload_url;
            let err = match upload::put(http, url, zip, self.request_timeout).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if classify(&err) == Class::Fatal {
                return Err(RetryError::Api(err));
            }
            match backoff.next_delay(&err) {
                Some(d) => tokio::time::sleep(d).await,
                None => return Err(backoff.gave_up(err, false, self.client.branch_console_url())),
            }
        }
    }

    /// `StartDeployment` for the created job; after a lost answer `GetJob` says whether it
    /// started, and a started job is never started again.
    async fn start(&self, job_id: &str) -> Result<JobSummary, RetryError> {
        let body = StartDeploymentBody {
            job_id: Some(job_id.to_string()),
            source_url: None,
            source_url_type: None,
        };
        let mut backoff = Backoff::new(self.policy);
        let mut unsure = false;
        loop {
            backoff.attempt();
            if unsure {
                match self.client.get_job(job_id).await {
                    Ok(job) if !not_started(&job.summary.status) => {
                        tracing::warn!(
                            "job {job_id} started: the lost StartDeployment answer was a success"
                        );
                        return Ok(job.summary);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        return Err(backoff.gave_up(e, true, self.client.branch_console_url()));
                    }
                }
            }
            let err = match self.client.start_deployment(&body).await {
                Ok(job) => return Ok(job),
                Err(e) => e,
            };
            unsure = self.after_failure(&mut backoff, err, false).await?;
        }
    }

    /// `StartDeployment` with a URL makes a job each time: after a lost answer, a MANUAL job
    /// started since the first attempt is adopted instead.
    async fn start_from_url(
        &self,
        body: &StartDeploymentBody,
        since: f64,
    ) -> Result<JobSummary, RetryError> {
        let mut backoff = Backoff::new(self.policy);
        let mut unsure = false;
        loop {
            backoff.attempt();
            if unsure {
                match self.find_ours(since).await {
                    Ok(Some(job)) => {
                        tracing::warn!(
                            "adopting job {} started by an earlier attempt whose answer was lost",
                            job.job_id
                        );
                        return Ok(job);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        return Err(backoff.gave_up(e, true, self.client.branch_console_url()));
                    }
                }
            }
            let err = match self.client.start_deployment(body).await {
                Ok(job) => return Ok(job),
                Err(e) => e,
            };
            unsure = self.after_failure(&mut backoff, err, true).await?;
        }
    }

    async fn find_ours(&self, since: f64) -> Result<Option<JobSummary>, ApiError> {
        let since = since + self.client.clock_offset() as f64;
        let jobs = self.client.list_jobs(RECONCILE_WINDOW).await?;
        Ok(jobs
            .into_iter()
            .find(|j| j.job_type == "MANUAL" && j.start_time.is_some_and(|s| s >= since)))
    }

    /// What a signal leaves: a created job that never started is stopped (so the branch is not
    /// blocked); one whose start was in flight is looked at, and named if it started.
    async fn interrupted(&self, code: u8, stage: Stage, since: f64) -> RetryError {
        let cleanup = async {
            match stage {
                Stage::Creating => (self.stop_ours(since).await.is_err(), None),
                Stage::Created(id) => (self.stop_created(&id).await, None),
                Stage::Starting(id) => match self.client.get_job(&id).await {
                    Ok(job) if !not_started(&job.summary.status) => (false, Some(job.summary)),
                    Ok(_) => (self.stop_created(&id).await, None),
                    Err(_) => (true, None),
                },
                Stage::StartingUrl => match self.find_ours(since).await {
                    Ok(job) => (false, job),
                    Err(_) => (true, None),
                },
            }
        };
        let (maybe_started, job) = tokio::time::timeout(INTERRUPTED_CLEANUP, cleanup)
            .await
            .unwrap_or((true, None));
        RetryError::Interrupted {
            code,
            maybe_started,
            job,
        }
    }

    /// Stops a job created and not started; true when it could not be stopped.
    async fn stop_created(&self, job_id: &str) -> bool {
        match self.client.stop_job(job_id).await {
            Ok(_) => {
                tracing::warn!("stopped job {job_id}, created and never started");
                false
            }
            Err(e) => {
                tracing::warn!("could not stop job {job_id}: {}", untrusted(&e.to_string()));
                true
            }
        }
    }
}

/// As [`classify`] says, except that a 2xx that cannot be read probably made the job.
fn created_class(err: &ApiError) -> Class {
    match err {
        ApiError::Malformed { .. } => Class::Ambiguous,
        other => classify(other),
    }
}

fn seconds_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Amplify's refusals of a manual deployment, with what to do about them.
async fn with_hint(err: ApiError, client: &Client) -> ApiError {
    let message = err.message().unwrap_or_default().to_string();
    if message.contains("already connected") {
        return err.with_hint("this app builds from a Git repository: start a build with job-type RELEASE (no source or source-url), or deploy to an app without a repository".into());
    }
    match unfinished_job(&message) {
        Some(job) => {
            let hint = unfinished_hint(client, &job).await;
            err.with_hint(hint)
        }
        None => err,
    }
}

/// The job named by "The last job(deployment) N was not finished".
fn unfinished_job(message: &str) -> Option<String> {
    let rest = message.split("last job").nth(1)?;
    let rest = rest.trim_start_matches("(deployment)").trim_start();
    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty() && message.contains("not finished")).then_some(id)
}

async fn unfinished_hint(client: &Client, job: &str) -> String {
    let state = match client.get_job(job).await {
        Ok(j) if not_started(&j.summary.status) => {
            "was created but never started (stuck)".to_string()
        }
        Ok(j) => format!("is {}", j.summary.status),
        Err(_) => "could not be looked at".to_string(),
    };
    let t = client.target();
    format!(
        "job {job} {state}: wait for it to end, or stop it with `aws amplify stop-job --app-id {} --branch-name {} --job-id {job} --region {}`, then run again",
        t.app_id, t.branch, t.region
    )
}
