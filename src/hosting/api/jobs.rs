//! Jobs on the wire: `StartJob`, `GetJob`, `ListJobs`, `StopJob`, the job summaries AWS
//! answers (sparse: read what is there, keep the rest in `raw`), and which statuses have ended.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::error::ApiError;
use crate::aws::rest::encode_label;
use crate::hosting::api::client::Client;

/// The `StartJob` body: exactly the members that are set.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StartJobBody {
    pub job_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_message: Option<String>,
    /// rest-json sends timestamps in bodies as epoch seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_time: Option<i64>,
}

/// The fields of a `JobSummary` this tool uses; the whole object is kept in `raw`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSummary {
    pub job_arn: String,
    pub job_id: String,
    pub status: String,
    #[serde(default)]
    pub commit_id: String,
    #[serde(default)]
    pub commit_message: String,
    #[serde(default)]
    pub commit_time: Option<f64>,
    #[serde(default)]
    pub start_time: Option<f64>,
    #[serde(default)]
    pub end_time: Option<f64>,
    #[serde(default)]
    pub job_type: String,
    #[serde(skip)]
    pub raw: Value,
}

/// A job with its steps, as `GetJob` returns it.
#[derive(Debug, Clone)]
pub struct Job {
    pub summary: JobSummary,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub step_name: String,
    pub status: String,
    #[serde(default)]
    pub start_time: Option<f64>,
    #[serde(default)]
    pub end_time: Option<f64>,
    #[serde(default)]
    pub log_url: Option<String>,
    #[serde(default)]
    pub status_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartJobResult {
    job_summary: Value,
}

impl Client {
    /// `POST /apps/{appId}/branches/{branchName}/jobs`, once.
    pub async fn start_job(&self, body: &StartJobBody) -> Result<JobSummary, ApiError> {
        let body = serde_json::to_vec(body).expect("the body serializes");
        let path = self.jobs_path();
        let raw = self
            .call("StartJob", reqwest::Method::POST, &path, body)
            .await?;
        parse_start_job(&raw)
    }

    /// `GET /apps/{appId}/branches/{branchName}/jobs?maxResults=N`: the newest jobs first.
    /// `GET /apps/{appId}/branches/{branchName}/jobs/{jobId}`: the job and its steps.
    pub async fn get_job(&self, job_id: &str) -> Result<Job, ApiError> {
        let path = format!("{}/{}", self.jobs_path(), encode_label(job_id));
        let raw = self
            .call("GetJob", reqwest::Method::GET, &path, Vec::new())
            .await?;
        #[derive(Deserialize)]
        struct GetJobResult {
            job: RawJob,
        }
        #[derive(Deserialize)]
        struct RawJob {
            summary: Value,
            #[serde(default)]
            steps: Vec<Step>,
        }
        let result: GetJobResult =
            serde_json::from_slice(&raw).map_err(|e| ApiError::Malformed {
                operation: "GetJob",
                detail: format!("{e}"),
            })?;
        Ok(Job {
            summary: parse_summary("GetJob", result.job.summary)?,
            steps: result.job.steps,
        })
    }

    /// `DELETE /apps/{appId}/branches/{branchName}/jobs/{jobId}/stop`.
    pub async fn stop_job(&self, job_id: &str) -> Result<JobSummary, ApiError> {
        let path = format!("{}/{}/stop", self.jobs_path(), encode_label(job_id));
        let raw = self
            .call("StopJob", reqwest::Method::DELETE, &path, Vec::new())
            .await?;
        parse_job_summary_result("StopJob", &raw)
    }

    pub async fn list_jobs(&self, max_results: u8) -> Result<Vec<JobSummary>, ApiError> {
        Ok(self.list_jobs_page(max_results, None).await?.0)
    }

    /// One page of the branch's jobs, newest first, and the token of the next page.
    pub async fn list_jobs_page(
        &self,
        max_results: u8,
        next_token: Option<&str>,
    ) -> Result<(Vec<JobSummary>, Option<String>), ApiError> {
        let mut path = format!("{}?maxResults={max_results}", self.jobs_path());
        if let Some(t) = next_token {
            path.push_str(&format!("&nextToken={}", encode_label(t)));
        }
        let raw = self
            .call("ListJobs", reqwest::Method::GET, &path, Vec::new())
            .await?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ListJobsResult {
            job_summaries: Vec<Value>,
            #[serde(default)]
            next_token: Option<String>,
        }
        let result: ListJobsResult =
            serde_json::from_slice(&raw).map_err(|e| ApiError::Malformed {
                operation: "ListJobs",
                detail: format!("{e}"),
            })?;
        let jobs = result
            .job_summaries
            .into_iter()
            .map(|j| parse_summary("ListJobs", j))
            .collect::<Result<_, _>>()?;
        Ok((jobs, result.next_token.filter(|t| !t.is_empty())))
    }

    /// The `StartJob` request exactly as it would be sent, signed, with the signature and the
    /// session token redacted: what `--dry-run` prints.
    pub async fn describe_start_job(&self, body: &StartJobBody) -> Result<String, ApiError> {
        let body = serde_json::to_vec(body).expect("the body serializes");
        self.describe("StartJob", &self.jobs_path(), body).await
    }
}

/// Reads a `StartJob` answer; any bytes give a result or an error, never a panic.
pub fn parse_start_job(raw: &[u8]) -> Result<JobSummary, ApiError> {
    parse_job_summary_result("StartJob", raw)
}

/// `{"jobSummary": {...}}`, the answer of StartJob and StopJob.
pub fn parse_job_summary_result(
    operation: &'static str,
    raw: &[u8],
) -> Result<JobSummary, ApiError> {
    let result: StartJobResult = serde_json::from_slice(raw).map_err(|e| ApiError::Malformed {
        operation,
        detail: format!("{e}"),
    })?;
    parse_summary(operation, result.job_summary)
}

pub fn parse_summary(operation: &'static str, raw: Value) -> Result<JobSummary, ApiError> {
    let mut summary: JobSummary =
        serde_json::from_value(raw.clone()).map_err(|e| ApiError::Malformed {
            operation,
            detail: format!("jobSummary: {e}"),
        })?;
    summary.raw = raw;
    Ok(summary)
}

/// A job in this status has ended: `SUCCEED`, `FAILED` or `CANCELLED`. Any other status
/// (`CREATED`, `PENDING`, `PROVISIONING`, `RUNNING`, `CANCELLING`) keeps the branch busy.
pub fn is_final(status: &str) -> bool {
    matches!(status, "SUCCEED" | "FAILED" | "CANCELLED")
}

/// The newest of `jobs` that has not ended: AWS lets a branch have one.
pub fn unfinished(jobs: &[JobSummary]) -> Option<&JobSummary> {
    jobs.iter()
        .filter(|j| !is_final(&j.status))
        .max_by_key(|j| j.number())
}

impl JobSummary {
    /// The job id as a number (ids count up per branch); 0 when it is not one.
    pub fn number(&self) -> u64 {
        self.job_id.parse().unwrap_or(0)
    }
}

impl ApiError {
    /// StartJob refused because the branch has an unfinished job: AWS answers it as a 429
    /// `LimitExceededException`, "The requested branch B already have pending or running
    /// jobs". It is not throttling: it passes when that job ends, not with time.
    pub fn is_busy(&self) -> bool {
        matches!(self, ApiError::Service { message, .. }
            if message.contains("already have pending or running jobs"))
    }
}
