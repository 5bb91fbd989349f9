//! The Amplify job API on the wire: rest-json requests, SigV4 signing (service `amplify`),
//! and errors parsed the way AWS rest-json services send them. One call is one attempt;
//! a retry policy wraps [`Client::start_job`] from outside.

use std::time::{Duration, SystemTime};

use std::sync::Arc;

use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credentials::Resolved;
use crate::env::Secret;
use crate::net::{Http, TlsError, error_chain, host_header};
use crate::signing::sigv4_headers;

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

/// The `StartDeployment` body: the job `CreateDeployment` made (its zip uploaded), or a URL
/// Amplify fetches the files from.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StartDeploymentBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url_type: Option<String>,
}

/// The fields of a branch this tool uses (`GetBranch`, `CreateBranch`, `DeleteBranch`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Branch {
    pub branch_name: String,
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
    /// Epoch seconds; which of two same-named branches in two apps is older.
    #[serde(default)]
    pub create_time: Option<f64>,
}

/// The `CreateBranch` body: what a preview branch is created with.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBranchBody {
    pub branch_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The host's first label (`https://<displayName>.<defaultDomain>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub enable_auto_build: bool,
    pub tags: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_basic_auth: Option<bool>,
    /// base64 of `user:password`: a secret, never logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth_credentials: Option<Secret<String>>,
    /// Values are secrets as much as settings: never logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<std::collections::BTreeMap<String, Secret<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_skew_protection: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
}

/// One of a job's artifacts, as `ListArtifacts` names it. The file name is AWS's: untrusted.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub artifact_file_name: String,
    pub artifact_id: String,
}

/// What `CreateDeployment` answers: the new job and where its zip goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub job_id: String,
    pub zip_upload_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartJobResult {
    job_summary: Value,
}

/// What went wrong with one call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// AWS answered with an error.
    #[error("{operation} failed: {code} (HTTP {status}): {message}")]
    Service {
        operation: &'static str,
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
        retry_after: Option<Duration>,
        /// Seconds AWS's clock (its `Date` header) is ahead of ours.
        clock_skew: Option<i64>,
        hint: Option<String>,
    },
    /// No answer: connection refused or reset, timeout. `sent` says whether the request may
    /// have reached the server (then the job may exist).
    #[error("{operation} got no answer from {endpoint}: {detail}")]
    Transport {
        operation: &'static str,
        endpoint: String,
        detail: String,
        sent: bool,
    },
    /// A 2xx answer this tool cannot read.
    #[error("{operation} answered something unreadable: {detail}")]
    Malformed {
        operation: &'static str,
        detail: String,
    },
    #[error("could not sign the request: {0}")]
    Signing(String),
    /// The credentials expired and could not be refreshed.
    #[error("{operation} has no valid credentials: {detail}")]
    Credentials {
        operation: &'static str,
        detail: String,
    },
}

impl ApiError {
    pub fn hint(&self) -> Option<&str> {
        match self {
            ApiError::Service { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }

    /// AWS's message, for an error AWS answered.
    pub fn message(&self) -> Option<&str> {
        match self {
            ApiError::Service { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The same error with `hint` for what to do (only AWS's answers carry one).
    pub fn with_hint(mut self, new: String) -> ApiError {
        if let ApiError::Service { hint, .. } = &mut self {
            *hint = Some(new);
        }
        self
    }
}

/// What to check for each error AWS gives, by its code.
fn hint_for(operation: &str, code: &str, ctx: &Target) -> Option<String> {
    let arn = format!(
        "arn:aws:amplify:{}:<account-id>:apps/{}/branches/{}/jobs/*",
        ctx.region, ctx.app_id, ctx.branch
    );
    Some(match code {
        "AccessDeniedException" | "UnauthorizedException" => format!(
            "the credentials lack permission: allow the IAM action amplify:{operation} on {arn}"
        ),
        "NotFoundException" if operation == "StartJob" => format!(
            "no such app, branch or job: check that app {} has a branch {:?} in region {} (and the job ID for RETRY); for a branch that does not exist yet (a pull-request preview), set create-branch: true",
            ctx.app_id, ctx.branch, ctx.region
        ),
        "NotFoundException" => format!(
            "no such app, branch or job: check that app {} has a branch {:?} in region {} (and the job ID for RETRY)",
            ctx.app_id, ctx.branch, ctx.region
        ),
        "InvalidSignatureException" | "SignatureDoesNotMatch" => {
            "the signature was refused: check AWS_SECRET_ACCESS_KEY, and that this machine's clock is right".into()
        }
        "UnrecognizedClientException" | "InvalidClientTokenId" => {
            "AWS does not know these credentials: check AWS_ACCESS_KEY_ID, and AWS_SESSION_TOKEN for temporary credentials".into()
        }
        "ExpiredTokenException" | "ExpiredToken" => {
            "the session token has expired: get fresh credentials (e.g. rerun configure-aws-credentials) before this step".into()
        }
        "LimitExceededException" | "ThrottlingException" | "TooManyRequestsException" => {
            "AWS is throttling requests or a quota is reached: try again later".into()
        }
        "BadRequestException" => "AWS refused the request's content: see the message above".into(),
        "InternalFailureException" => "an internal AWS failure: try again".into(),
        _ => return None,
    })
}

/// The app and branch an operation addresses.
#[derive(Debug, Clone)]
pub struct Target {
    pub region: String,
    pub app_id: String,
    pub branch: String,
}

pub struct Client {
    /// Seconds added to this machine's clock when signing; set once a skew is measured.
    clock_offset: std::sync::atomic::AtomicI64,
    http: Http,
    endpoint: Url,
    credentials: Arc<Resolved>,
    target: Target,
}

impl Client {
    /// Fails only for an `https` endpoint on a machine without CA certificates.
    pub fn new(
        endpoint: Url,
        http: Http,
        credentials: Arc<Resolved>,
        target: Target,
    ) -> Result<Client, TlsError> {
        http.client_for(&endpoint)?;
        Ok(Client {
            clock_offset: Default::default(),
            http,
            endpoint,
            credentials,
            target,
        })
    }

    /// `POST /apps/{appId}/branches/{branchName}/jobs`, once.
    pub async fn start_job(&self, body: &StartJobBody) -> Result<JobSummary, ApiError> {
        let body = serde_json::to_vec(body).expect("the body serializes");
        let path = self.jobs_path();
        let raw = self
            .call("StartJob", reqwest::Method::POST, &path, body)
            .await?;
        parse_start_job(&raw)
    }

    /// `POST /apps/{appId}/branches/{branchName}/deployments`, once: a manual job and the
    /// presigned URL its zip goes to.
    pub async fn create_deployment(&self) -> Result<Deployment, ApiError> {
        let raw = self
            .call(
                "CreateDeployment",
                reqwest::Method::POST,
                &self.deployments_path(),
                b"{}".to_vec(),
            )
            .await?;
        serde_json::from_slice(&raw).map_err(|e| ApiError::Malformed {
            operation: "CreateDeployment",
            detail: format!("{e}"),
        })
    }

    /// `POST /apps/{appId}/branches/{branchName}/deployments/start`, once.
    pub async fn start_deployment(
        &self,
        body: &StartDeploymentBody,
    ) -> Result<JobSummary, ApiError> {
        let body = serde_json::to_vec(body).expect("the body serializes");
        let path = format!("{}/start", self.deployments_path());
        let raw = self
            .call("StartDeployment", reqwest::Method::POST, &path, body)
            .await?;
        parse_job_summary_result("StartDeployment", &raw)
    }

    /// The same client for another app of the same account and region.
    pub fn for_app(&self, app_id: &str) -> Client {
        Client {
            clock_offset: std::sync::atomic::AtomicI64::new(self.clock_offset()),
            http: self.http.clone(),
            endpoint: self.endpoint.clone(),
            credentials: self.credentials.clone(),
            target: Target {
                app_id: app_id.to_string(),
                ..self.target.clone()
            },
        }
    }

    /// `GET /apps/{appId}/branches/{name}`: another branch's environment variables (names and
    /// values, which are never logged).
    pub async fn branch_variables(
        &self,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
        let path = format!(
            "/apps/{}/branches/{}",
            encode_label(&self.target.app_id),
            encode_label(name)
        );
        let raw = self
            .call("GetBranch", reqwest::Method::GET, &path, Vec::new())
            .await?;
        let v: Value = serde_json::from_slice(&raw).map_err(|e| ApiError::Malformed {
            operation: "GetBranch",
            detail: format!("{e}"),
        })?;
        Ok(v.pointer("/branch/environmentVariables")
            .and_then(|e| serde_json::from_value(e.clone()).ok())
            .unwrap_or_default())
    }

    /// `GET /apps/{appId}/branches`: one page of the app's branch names, and the next token.
    pub async fn list_branches_page(
        &self,
        next_token: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), ApiError> {
        let mut path = format!(
            "/apps/{}/branches?maxResults=50",
            encode_label(&self.target.app_id)
        );
        if let Some(t) = next_token {
            path.push_str(&format!("&nextToken={}", encode_label(t)));
        }
        let raw = self
            .call("ListBranches", reqwest::Method::GET, &path, Vec::new())
            .await?;
        let v: Value = serde_json::from_slice(&raw).map_err(|e| ApiError::Malformed {
            operation: "ListBranches",
            detail: format!("{e}"),
        })?;
        let names = v
            .get("branches")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::Malformed {
                operation: "ListBranches",
                detail: "no branches".into(),
            })?
            .iter()
            .filter_map(|b| b.get("branchName")?.as_str().map(str::to_string))
            .collect();
        let next = v
            .get("nextToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        Ok((names, next))
    }

    /// `GET /apps/{appId}/branches/{branchName}`.
    pub async fn get_branch(&self) -> Result<Branch, ApiError> {
        let raw = self
            .call(
                "GetBranch",
                reqwest::Method::GET,
                &self.branch_path(),
                Vec::new(),
            )
            .await?;
        parse_branch("GetBranch", &raw)
    }

    /// `POST /apps/{appId}/branches`, once.
    pub async fn create_branch(&self, body: &CreateBranchBody) -> Result<Branch, ApiError> {
        let body = serde_json::to_vec(body).expect("the body serializes");
        let path = format!("/apps/{}/branches", encode_label(&self.target.app_id));
        let raw = self
            .call("CreateBranch", reqwest::Method::POST, &path, body)
            .await?;
        parse_branch("CreateBranch", &raw)
    }

    /// `DELETE /apps/{appId}/branches/{branchName}`.
    pub async fn delete_branch(&self) -> Result<Branch, ApiError> {
        let raw = self
            .call(
                "DeleteBranch",
                reqwest::Method::DELETE,
                &self.branch_path(),
                Vec::new(),
            )
            .await?;
        parse_branch("DeleteBranch", &raw)
    }

    /// `GET /apps/{appId}`: the app's default domain.
    pub async fn default_domain(&self) -> Result<String, ApiError> {
        let path = format!("/apps/{}", encode_label(&self.target.app_id));
        let raw = self
            .call("GetApp", reqwest::Method::GET, &path, Vec::new())
            .await?;
        let v: Value = serde_json::from_slice(&raw).map_err(|e| ApiError::Malformed {
            operation: "GetApp",
            detail: format!("{e}"),
        })?;
        v.pointer("/app/defaultDomain")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ApiError::Malformed {
                operation: "GetApp",
                detail: "no app.defaultDomain".into(),
            })
    }

    fn branch_path(&self) -> String {
        format!(
            "/apps/{}/branches/{}",
            encode_label(&self.target.app_id),
            encode_label(&self.target.branch)
        )
    }

    fn deployments_path(&self) -> String {
        format!(
            "/apps/{}/branches/{}/deployments",
            encode_label(&self.target.app_id),
            encode_label(&self.target.branch)
        )
    }

    /// The app, branch and region this client addresses.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The HTTP clients, for requests that are not Amplify's (a presigned upload).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Signs from now on with this machine's clock moved by `secs` (AWS's minus ours).
    pub fn correct_clock(&self, secs: i64) {
        self.clock_offset
            .store(secs, std::sync::atomic::Ordering::Relaxed);
    }

    /// Seconds AWS's clock is taken to be ahead of ours (0 until a skew was measured).
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn signing_time(&self) -> SystemTime {
        let offset = self.clock_offset();
        let magnitude = Duration::from_secs(offset.unsigned_abs());
        if offset >= 0 {
            SystemTime::now() + magnitude
        } else {
            SystemTime::now() - magnitude
        }
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

    /// A job's page in the Amplify console.
    pub fn job_console_url(&self, job_id: &str) -> String {
        console_url(
            &self.target.region,
            &self.target.app_id,
            &self.target.branch,
            job_id,
        )
    }

    /// The branch's deployments in the Amplify console: where to look when a job may exist.
    pub fn branch_console_url(&self) -> String {
        branch_console_url(
            &self.target.region,
            &self.target.app_id,
            &self.target.branch,
        )
    }

    fn jobs_path(&self) -> String {
        format!(
            "/apps/{}/branches/{}/jobs",
            encode_label(&self.target.app_id),
            encode_label(&self.target.branch)
        )
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

    /// `GET /apps/{appId}/branches/{branchName}/jobs/{jobId}/artifacts`: one page of the job's
    /// artifacts, and the token of the next page.
    pub async fn list_artifacts_page(
        &self,
        job_id: &str,
        next_token: Option<&str>,
    ) -> Result<(Vec<Artifact>, Option<String>), ApiError> {
        let mut path = format!("{}/{}/artifacts", self.jobs_path(), encode_label(job_id));
        if let Some(t) = next_token {
            path.push_str(&format!("?nextToken={}", encode_label(t)));
        }
        let raw = self
            .call("ListArtifacts", reqwest::Method::GET, &path, Vec::new())
            .await?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ListArtifactsResult {
            artifacts: Vec<Artifact>,
            #[serde(default)]
            next_token: Option<String>,
        }
        let r: ListArtifactsResult =
            serde_json::from_slice(&raw).map_err(|e| ApiError::Malformed {
                operation: "ListArtifacts",
                detail: format!("{e}"),
            })?;
        Ok((r.artifacts, r.next_token.filter(|t| !t.is_empty())))
    }

    /// `GET /artifacts/{artifactId}`: the artifact's presigned URL.
    pub async fn get_artifact_url(&self, artifact_id: &str) -> Result<String, ApiError> {
        let path = format!("/artifacts/{}", encode_label(artifact_id));
        let raw = self
            .call("GetArtifactUrl", reqwest::Method::GET, &path, Vec::new())
            .await?;
        let v: Value = serde_json::from_slice(&raw).map_err(|e| ApiError::Malformed {
            operation: "GetArtifactUrl",
            detail: format!("{e}"),
        })?;
        v.get("artifactUrl")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ApiError::Malformed {
                operation: "GetArtifactUrl",
                detail: "no artifactUrl".into(),
            })
    }

    /// Every header of a request as it is sent: `host`, `content-type` for a body, and SigV4's.
    async fn signed_headers(
        &self,
        operation: &'static str,
        method: &reqwest::Method,
        url: &Url,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, ApiError> {
        let mut headers: Vec<(&'static str, String)> = vec![("host", host_header(url))];
        if !body.is_empty() {
            headers.push(("content-type", "application/json".into()));
        }
        let credentials = self
            .credentials
            .current()
            .await
            .map_err(|e| ApiError::Credentials {
                operation,
                detail: e.to_string(),
            })?;
        let signed = sigv4_headers(
            &credentials,
            &self.target.region,
            "amplify",
            self.signing_time(),
            method.as_str(),
            url.as_str(),
            &headers,
            body,
        )
        .map_err(ApiError::Signing)?;
        headers.extend(signed);
        Ok(headers)
    }

    /// The `StartJob` request exactly as it would be sent, signed, with the signature and the
    /// session token redacted: what `--dry-run` prints.
    pub async fn describe_start_job(&self, body: &StartJobBody) -> Result<String, ApiError> {
        let body = serde_json::to_vec(body).expect("the body serializes");
        self.describe("StartJob", &self.jobs_path(), body).await
    }

    /// The `CreateDeployment` request a manual deployment starts with, as `--dry-run` shows it.
    pub async fn describe_create_deployment(&self) -> Result<String, ApiError> {
        self.describe("CreateDeployment", &self.deployments_path(), b"{}".to_vec())
            .await
    }

    async fn describe(
        &self,
        operation: &'static str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<String, ApiError> {
        let url = url_for(&self.endpoint, path);
        let headers = self
            .signed_headers(operation, &reqwest::Method::POST, &url, &body)
            .await?;
        let mut text = format!("POST {url}\n");
        for (name, value) in headers {
            let shown = match name {
                "authorization" => match value.split_once("Signature=") {
                    Some((head, _)) => format!("{head}Signature=<redacted>"),
                    None => "<redacted>".into(),
                },
                "x-amz-security-token" => "<redacted>".into(),
                _ => value,
            };
            text.push_str(&format!("{name}: {shown}\n"));
        }
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&body));
        Ok(text)
    }

    async fn call(
        &self,
        operation: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, ApiError> {
        let url = url_for(&self.endpoint, path);
        let headers = self.signed_headers(operation, &method, &url, &body).await?;
        tracing::debug!(operation, %method, path, bytes = body.len(), "sending");
        let client = self
            .http
            .client_for(&url)
            .map_err(|e| ApiError::Transport {
                operation,
                endpoint: url.to_string(),
                detail: e.to_string(),
                sent: false,
            })?;
        let mut req = client.request(method, url.clone()).body(body);
        // reqwest writes Host itself, from the same URL that was signed.
        for (name, value) in headers.iter().filter(|(n, _)| *n != "host") {
            req = req.header(*name, value.as_str());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport(operation, &url, &e))?;
        let status = resp.status().as_u16();
        let request_id = header(&resp, "x-amzn-requestid");
        let error_type = header(&resp, "x-amzn-errortype");
        let retry_after = header(&resp, "retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let clock_skew = header(&resp, "date").and_then(|d| clock_skew(&d, SystemTime::now()));
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport(operation, &url, &e))?;
        tracing::debug!(
            operation,
            status,
            request_id = request_id.as_deref().unwrap_or("-"),
            "answered"
        );
        if (200..300).contains(&status) {
            return Ok(bytes.to_vec());
        }
        let (code, message) = parse_error(status, error_type.as_deref(), &bytes);
        Err(ApiError::Service {
            operation,
            status,
            hint: hint_for(operation, &code, &self.target),
            code,
            message,
            request_id,
            retry_after,
            clock_skew,
        })
    }
}

/// Reads a `StartJob` answer; any bytes give a result or an error, never a panic.
pub fn parse_start_job(raw: &[u8]) -> Result<JobSummary, ApiError> {
    parse_job_summary_result("StartJob", raw)
}

/// `{"jobSummary": {...}}`, the answer of StartJob and StopJob.
fn parse_job_summary_result(operation: &'static str, raw: &[u8]) -> Result<JobSummary, ApiError> {
    let result: StartJobResult = serde_json::from_slice(raw).map_err(|e| ApiError::Malformed {
        operation,
        detail: format!("{e}"),
    })?;
    parse_summary(operation, result.job_summary)
}

fn parse_summary(operation: &'static str, raw: Value) -> Result<JobSummary, ApiError> {
    let mut summary: JobSummary =
        serde_json::from_value(raw.clone()).map_err(|e| ApiError::Malformed {
            operation,
            detail: format!("jobSummary: {e}"),
        })?;
    summary.raw = raw;
    Ok(summary)
}

/// `{"branch": {...}}`, the answer of GetBranch, CreateBranch and DeleteBranch.
fn parse_branch(operation: &'static str, raw: &[u8]) -> Result<Branch, ApiError> {
    #[derive(Deserialize)]
    struct BranchResult {
        branch: Branch,
    }
    serde_json::from_slice::<BranchResult>(raw)
        .map(|r| r.branch)
        .map_err(|e| ApiError::Malformed {
            operation,
            detail: format!("{e}"),
        })
}

/// AWS's clock minus ours, in seconds, from an HTTP `Date` header.
pub fn clock_skew(date: &str, now: SystemTime) -> Option<i64> {
    let server =
        time::OffsetDateTime::parse(date.trim(), &time::format_description::well_known::Rfc2822)
            .ok()?;
    let now = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(server.unix_timestamp() - now)
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

    /// CreateDeployment or StartDeployment refused because job N of the branch has not
    /// ended: "The last job(deployment) N was not finished, ...". Returns N.
    pub fn unfinished_deployment(&self) -> Option<String> {
        let message = self.message()?;
        let rest = message.split("last job").nth(1)?;
        let rest = rest.trim_start_matches("(deployment)").trim_start();
        let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!id.is_empty() && message.contains("not finished")).then_some(id)
    }

    /// AWS refused the signature because this machine's clock is off, and said by how much.
    pub fn skew_to_correct(&self) -> Option<i64> {
        match self {
            ApiError::Service {
                code,
                message,
                clock_skew: Some(skew),
                ..
            } if (code == "InvalidSignatureException"
                && (message.starts_with("Signature expired")
                    || message.starts_with("Signature not yet current")))
                || code == "RequestTimeTooSkewed"
                || code == "RequestExpired" =>
            {
                Some(*skew)
            }
            _ => None,
        }
    }
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn transport(operation: &'static str, url: &Url, e: &reqwest::Error) -> ApiError {
    // A refused connection never carried the request; anything later may have.
    let sent = !e.is_connect();
    let mut detail = error_chain(e);
    if detail.contains("UnknownIssuer") || detail.contains("invalid peer certificate") {
        detail.push_str(
            " (the certificate is not from a CA this run trusts: point AWS_CA_BUNDLE at your network's CA, or set AMPLIFY_CA_STORE=system if it is installed on this machine)",
        );
    }
    ApiError::Transport {
        operation,
        endpoint: format!("{}://{}", url.scheme(), host_header(url)),
        detail,
        sent,
    }
}

/// The error code and message of an error answer: `x-amzn-ErrorType`, then the body's
/// `__type` / `code`; message from `message` / `Message`. Non-JSON bodies (a proxy's HTML)
/// become a short, one-line excerpt.
pub fn parse_error(status: u16, error_type: Option<&str>, body: &[u8]) -> (String, String) {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |names: &[&str]| {
        json.as_ref().and_then(|j| {
            names
                .iter()
                .find_map(|n| j.get(*n).and_then(Value::as_str).map(str::to_string))
        })
    };
    let code = error_type
        .map(str::to_string)
        .or_else(|| field(&["__type", "code", "Code"]))
        .map(|c| sanitize_code(&c))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| format!("HTTP{status}"));
    let message = field(&["message", "Message", "errorMessage"]).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            "(empty body)".into()
        } else {
            crate::env::truncate_chars(&text, 200).0
        }
    });
    (code, message)
}

/// `NotFoundException:http://internal...` and `aws.protocols#NotFoundException` to `NotFoundException`.
fn sanitize_code(code: &str) -> String {
    let code = code.split(':').next().unwrap_or(code);
    code.rsplit('#').next().unwrap_or(code).trim().to_string()
}

/// Percent-encodes a path label: every byte but RFC 3986 unreserved ones, so `/` in a branch
/// name stays inside its segment.
pub fn encode_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The endpoint (with any base path) joined with an already-encoded path.
fn url_for(endpoint: &Url, path_and_query: &str) -> Url {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut url = endpoint.clone();
    let base = endpoint.path().trim_end_matches('/');
    url.set_path(&format!("{base}{path}"));
    url.set_query(query);
    url
}

/// The Amplify console page of a job.
pub fn console_url(region: &str, app_id: &str, branch: &str, job_id: &str) -> String {
    format!("{}/{job_id}", branch_console_url(region, app_id, branch))
}

/// The Amplify console page of a branch's deployments.
pub fn branch_console_url(region: &str, app_id: &str, branch: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "console.amazonaws.cn"
    } else {
        "console.aws.amazon.com"
    };
    format!(
        "https://{region}.{domain}/amplify/apps/{app_id}/branches/{}/deployments",
        encode_label(branch)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_encode_everything_but_unreserved() {
        assert_eq!(
            encode_label("feature/a b+c%d~é"),
            "feature%2Fa%20b%2Bc%25d~%C3%A9"
        );
    }

    #[test]
    fn errors_parse_from_header_body_or_html() {
        let (c, m) = parse_error(
            404,
            Some("NotFoundException:http://internal.amazon.com/coral/com.amazonaws.amplify/"),
            br#"{"message":"App d1 not found."}"#,
        );
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("NotFoundException", "App d1 not found.")
        );
        let (c, m) = parse_error(
            400,
            None,
            br#"{"__type":"com.amazon.coral#ExpiredTokenException","Message":"expired"}"#,
        );
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("ExpiredTokenException", "expired")
        );
        let (c, m) = parse_error(503, None, b"<html>\n<h1>503</h1></html>");
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("HTTP503", "<html> <h1>503</h1></html>")
        );
    }

    #[test]
    fn clock_skew_comes_from_the_date_header() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(clock_skew("Sun, 06 Nov 1994 09:09:37 GMT", now), Some(1200));
        assert_eq!(clock_skew("Sun, 06 Nov 1994 08:49:30 GMT", now), Some(-7));
        assert_eq!(clock_skew("yesterday", now), None);
    }

    #[test]
    fn urls_keep_a_base_path() {
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(
            url_for(&base, "/apps/d1/branches/a%2Fb/jobs").as_str(),
            "http://127.0.0.1:9/prefix/apps/d1/branches/a%2Fb/jobs"
        );
    }
}
