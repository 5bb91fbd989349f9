//! The Amplify Hosting client: the app, branch and region it addresses, its paths, the console
//! pages, and what to check for each error AWS gives. Calls go through the shared
//! [`Rest`] (SigV4 signing name `amplify`); each resource's operations are in its own room.

use std::sync::Arc;

use reqwest::Url;

use crate::aws::credentials::Resolved;
use crate::aws::error::ApiError;
use crate::aws::net::{Http, TlsError};
use crate::aws::rest::{Rest, encode_label};

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
    rest: Rest,
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
        let rest = Rest::new(endpoint, http, credentials, &target.region, "amplify")?;
        Ok(Client { rest, target })
    }

    /// The same client for another app of the same account and region.
    pub fn for_app(&self, app_id: &str) -> Client {
        Client {
            rest: self.rest.fork(),
            target: Target {
                app_id: app_id.to_string(),
                ..self.target.clone()
            },
        }
    }

    /// The same client for another branch of the same app.
    pub fn for_branch(&self, branch: &str) -> Client {
        Client {
            rest: self.rest.fork(),
            target: Target {
                branch: branch.to_string(),
                ..self.target.clone()
            },
        }
    }

    /// One call, once; AWS's error with what to check for it.
    pub async fn call(
        &self,
        operation: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, ApiError> {
        let result = self.rest.call(operation, method, path, body).await;
        result.map_err(|e| e.hinted(|code| hint_for(operation, code, &self.target)))
    }

    /// A `POST` as `--dry-run` shows it: signed, the signature and session token redacted.
    pub async fn describe(
        &self,
        operation: &'static str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<String, ApiError> {
        self.rest.describe(operation, path, body).await
    }

    /// The app, branch and region this client addresses.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The HTTP clients, for requests that are not Amplify's (a presigned upload).
    pub fn http(&self) -> &Http {
        self.rest.http()
    }

    /// Signs from now on with this machine's clock moved by `secs` (AWS's minus ours).
    pub fn correct_clock(&self, secs: i64) {
        self.rest.correct_clock(secs)
    }

    /// Seconds AWS's clock is taken to be ahead of ours (0 until a skew was measured).
    pub fn clock_offset(&self) -> i64 {
        self.rest.clock_offset()
    }

    /// A job's page in the Amplify console.
    pub fn job_console_url(&self, job_id: &str) -> String {
        console_url(
            &self.target().region,
            &self.target().app_id,
            &self.target().branch,
            job_id,
        )
    }

    /// The branch's deployments in the Amplify console: where to look when a job may exist.
    pub fn branch_console_url(&self) -> String {
        branch_console_url(
            &self.target().region,
            &self.target().app_id,
            &self.target().branch,
        )
    }

    /// `/apps/{appId}`.
    pub fn app_path(&self) -> String {
        format!("/apps/{}", encode_label(&self.target.app_id))
    }

    /// `/apps/{appId}/branches/{branchName}`.
    pub fn branch_path(&self) -> String {
        format!(
            "/apps/{}/branches/{}",
            encode_label(&self.target.app_id),
            encode_label(&self.target.branch)
        )
    }

    pub fn deployments_path(&self) -> String {
        format!(
            "/apps/{}/branches/{}/deployments",
            encode_label(&self.target.app_id),
            encode_label(&self.target.branch)
        )
    }

    pub fn jobs_path(&self) -> String {
        format!(
            "/apps/{}/branches/{}/jobs",
            encode_label(&self.target.app_id),
            encode_label(&self.target.branch)
        )
    }
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
