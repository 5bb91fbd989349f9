//! Manual deployments (job type MANUAL, apps without Git): `CreateDeployment`, the zip's upload
//! to the presigned URL it returns, then `StartDeployment`; or `StartDeployment` with a
//! `sourceUrl` that Amplify fetches itself.
//!
//! Neither call is idempotent. After a `CreateDeployment` whose answer was lost, the job it
//! may have made is found (`ListJobs`: made since the first attempt and `PENDING`, as AWS shows
//! a deployment made and never started) and stopped before creating again, so the branch is not
//! blocked by a stuck job. A lost `StartDeployment` of the made job is repeated: it names the
//! same job, so it cannot make a second. Every check and clean-up is retried within the policy;
//! a job this run made and could neither start nor stop is named, with the command to stop it.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::aws::error::ApiError;
use crate::aws::retry::{Backoff, Class, Policy, classify, last_error};
use crate::cancel::Cancel;
use crate::hosting::api::client::Client;
use crate::hosting::api::deployments::{Deployment, StartDeploymentBody};
use crate::hosting::api::jobs::JobSummary;
use crate::hosting::start_job::repeatable;
use crate::hosting::start_job::{CLOCK_SKEW_ALLOWANCE, RetryError};
use crate::runner::untrusted;
use crate::source::Source;

/// After a signal, how long cleaning up (stopping a job not started) may take.
const INTERRUPTED_CLEANUP: Duration = Duration::from_secs(3);
/// How many of the branch's newest jobs are looked through for one of ours.
const RECONCILE_WINDOW: u8 = 20;

/// The status of a job `CreateDeployment` made and `StartDeployment` has not started: AWS shows
/// it `PENDING` (amplify-hosting #3004, amplify-backend #2137), the model names `CREATED` too.
/// A started deployment waiting for a build slot is `PENDING` as well: the status alone cannot
/// tell the two apart.
pub fn not_started(status: &str) -> bool {
    matches!(status, "CREATED" | "PENDING")
}

/// The command that stops a job, for the hints.
pub fn stop_command(client: &Client, job_id: &str) -> String {
    let t = client.target();
    format!(
        "aws amplify stop-job --app-id {} --branch-name {} --job-id {job_id} --region {}",
        t.app_id, t.branch, t.region
    )
}

/// What is deployed: the zip (a folder zipped, or a zip as given), or a URL.
#[derive(Clone, Copy)]
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
                    return Err(self.clean_up(&id, e).await);
                }
                *stage = Stage::Starting(id.clone());
                match self.start(&id).await {
                    Ok(job) => Ok(job),
                    // Refused outright: the job did not start.
                    Err(e @ RetryError::Api(_)) => Err(self.clean_up(&id, e).await),
                    // The last answer was lost: it may have started, or it may not.
                    Err(
                        e @ RetryError::GaveUp {
                            maybe_started: true,
                            ..
                        },
                    ) => Err(self.stuck(&id, "PENDING", e)),
                    Err(e) => Err(self.clean_up(&id, e).await),
                }
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
            let err = if hint { with_hint(err) } else { err };
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

    /// Stops the jobs this run may have made and never started: made since the first attempt,
    /// and not started (`PENDING`). No `jobType` is asked for: AWS's summaries often lack it.
    async fn stop_ours(&self, since: f64) -> Result<(), ApiError> {
        let since = since + self.client.clock_offset() as f64;
        let jobs = repeatable(self.policy, async || {
            self.client.list_jobs(RECONCILE_WINDOW).await
        })
        .await
        .map_err(last_error)?;
        for job in jobs
            .iter()
            .filter(|j| not_started(&j.status) && j.start_time.is_none_or(|s| s >= since))
        {
            tracing::warn!(
                "stopping job {} ({}), made by an attempt whose answer was lost and never started",
                job.job_id,
                job.status
            );
            self.stop_job(&job.job_id).await?;
        }
        Ok(())
    }

    /// StopJob under the retry policy; a job that has ended meanwhile is stopped enough.
    async fn stop_job(&self, job_id: &str) -> Result<(), ApiError> {
        match repeatable(self.policy, async || self.client.stop_job(job_id).await).await {
            Ok(_) => Ok(()),
            Err(RetryError::Api(e)) if ended_meanwhile(&e) => Ok(()),
            Err(e) => Err(last_error(e)),
        }
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
            let err = match crate::aws::upload::put(
                http,
                url,
                zip,
                self.request_timeout,
                ("CreateDeployment", "zipUploadUrl"),
                &[],
            )
            .await
            {
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

    /// `StartDeployment` for the made job. It names the job, so repeating it cannot make a
    /// second: after a lost answer it is simply sent again. A refusal of that repeat ("already
    /// started") is the lost answer's success: `GetJob` gives the job.
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
            let err = match self.client.start_deployment(&body).await {
                Ok(job) => return Ok(job),
                Err(e) => e,
            };
            if unsure && created_class(&err) == Class::Fatal {
                return self.started_after_all(job_id, err).await;
            }
            unsure |= self.after_failure(&mut backoff, err, false).await?;
        }
    }

    /// A repeat of a lost `StartDeployment` was refused: the job started when `GetJob` shows
    /// it past `PENDING`, or when the refusal says it was started already.
    async fn started_after_all(
        &self,
        job_id: &str,
        refusal: ApiError,
    ) -> Result<JobSummary, RetryError> {
        let job = repeatable(self.policy, async || self.client.get_job(job_id).await).await?;
        let said_started = refusal
            .message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("already"));
        if !not_started(&job.summary.status) || said_started {
            tracing::warn!(
                "job {job_id} started: the lost StartDeployment answer was a success ({})",
                job.summary.status
            );
            return Ok(job.summary);
        }
        Err(RetryError::Api(refusal))
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

    /// The job an earlier `StartDeployment` with a URL made: started since the first attempt
    /// (the branch has at most one unfinished job), the newest.
    async fn find_ours(&self, since: f64) -> Result<Option<JobSummary>, ApiError> {
        let since = since + self.client.clock_offset() as f64;
        let jobs = repeatable(self.policy, async || {
            self.client.list_jobs(RECONCILE_WINDOW).await
        })
        .await
        .map_err(last_error)?;
        Ok(jobs
            .into_iter()
            .filter(|j| match j.start_time {
                Some(s) => s >= since,
                None => !crate::hosting::api::jobs::is_final(&j.status),
            })
            .max_by_key(JobSummary::number))
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

    /// Stops a job made and not started; true when it could not be stopped.
    async fn stop_created(&self, job_id: &str) -> bool {
        match self.stop_job(job_id).await {
            Ok(()) => {
                tracing::warn!("stopped job {job_id}, made and never started");
                false
            }
            Err(e) => {
                tracing::warn!("could not stop job {job_id}: {}", untrusted(&e.to_string()));
                true
            }
        }
    }

    /// After `err`, the made job is stopped; when it cannot be, the error names it.
    async fn clean_up(&self, job_id: &str, err: RetryError) -> RetryError {
        if self.stop_created(job_id).await {
            return self.stuck(job_id, "PENDING", err);
        }
        err
    }

    fn stuck(&self, job_id: &str, status: &str, err: RetryError) -> RetryError {
        RetryError::Stuck {
            job_id: job_id.to_string(),
            status: status.to_string(),
            stop: stop_command(self.client, job_id),
            source: Box::new(err),
        }
    }
}

/// StopJob's refusal of a job that has ended: nothing is left to stop.
fn ended_meanwhile(e: &ApiError) -> bool {
    matches!(e, ApiError::Service { code, message, .. }
        if code == "BadRequestException" && message.to_ascii_lowercase().contains("ended"))
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

/// Amplify's refusals of a manual deployment, with what to do about them. A job not finished
/// ("The last job(deployment) N was not finished") is the busy branch's, which `if-busy`
/// handles above this module.
fn with_hint(err: ApiError) -> ApiError {
    let message = err.message().unwrap_or_default();
    if message.contains("already connected") {
        return err.with_hint("this app builds from a Git repository: start a build with job-type RELEASE (no source or source-url), or deploy to an app without a repository".into());
    }
    err
}

/// What to do about job `job` that keeps the branch from a new deployment.
pub fn unfinished_hint(client: &Client, job: &str, status: Option<&str>) -> String {
    let stop = stop_command(client, job);
    match status {
        Some(s) if not_started(s) => format!(
            "job {job} is {s}: a deployment made and never started (a run that ended between CreateDeployment and StartDeployment) stays {s} and blocks the branch until it is stopped; one started and queued for a build slot starts by itself. If it is not queued, stop it with `{stop}` or run with if-busy: cancel, then run again"
        ),
        Some(s) => format!(
            "job {job} is {s}: wait for it to end (if-busy: wait does), or stop it with `{stop}` (or run with if-busy: cancel), then run again"
        ),
        None => format!(
            "job {job} could not be looked at: check it in the console, or stop it with `{stop}`, then run again"
        ),
    }
}
