//! Manual deployments on the wire: `CreateDeployment` (a job and the presigned URL its zip
//! goes to) and `StartDeployment`, and the refusal that names the branch's unfinished job.

use serde::{Deserialize, Serialize};

use crate::aws::error::ApiError;
use crate::hosting::api::client::Client;
use crate::hosting::api::jobs::{JobSummary, parse_job_summary_result};

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

/// What `CreateDeployment` answers: the new job and where its zip goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub job_id: String,
    pub zip_upload_url: String,
}

impl Client {
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

    /// The `CreateDeployment` request a manual deployment starts with, as `--dry-run` shows it.
    pub async fn describe_create_deployment(&self) -> Result<String, ApiError> {
        self.describe("CreateDeployment", &self.deployments_path(), b"{}".to_vec())
            .await
    }
}

impl ApiError {
    /// CreateDeployment or StartDeployment refused because job N of the branch has not
    /// ended: "The last job(deployment) N was not finished, ...". Returns N.
    pub fn unfinished_deployment(&self) -> Option<String> {
        let message = self.message()?;
        let rest = message.split("last job").nth(1)?;
        let rest = rest.trim_start_matches("(deployment)").trim_start();
        let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!id.is_empty() && message.contains("not finished")).then_some(id)
    }
}
