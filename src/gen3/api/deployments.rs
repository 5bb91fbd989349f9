//! Deployments on the wire: `CreateDeployment` (no idempotency token: a second call makes a
//! second deployment), `GetDeployment`, and `ListDeploymentsForEnvironment` (paged).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::error::ApiError;
use crate::aws::rest::encode_label;
use crate::gen3::api::client::{Client, page_query, parse, timestamp};

/// The `CreateDeployment` body: where the deployment comes from, and what marks it as this
/// run's.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateDeploymentBody {
    pub source_config: SourceConfigRequest,
    pub description: String,
    pub tags: BTreeMap<String, String>,
}

/// A union: exactly one member is set.
#[derive(Debug, Clone, Serialize)]
pub enum SourceConfigRequest {
    #[serde(rename = "GitSource")]
    Git {
        #[serde(rename = "GitRef")]
        git_ref: String,
    },
    #[serde(rename = "ManualUploadSource")]
    Upload {
        #[serde(rename = "SourceUploadId")]
        source_upload_id: String,
        /// `PREBUILT_ARTIFACT` or `SOURCE_CODE`.
        #[serde(rename = "SourceType")]
        source_type: String,
    },
}

/// What `CreateDeployment` answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Created {
    pub deployment_id: String,
    pub deployment_arn: String,
    pub status: String,
}

/// A deployment as `GetDeployment` or a listing gives it; the whole object is kept in `raw`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Deployment {
    pub deployment_id: String,
    #[serde(default)]
    pub deployment_arn: String,
    pub status: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub domain_name: Option<String>,
    #[serde(default, deserialize_with = "timestamp")]
    pub created_at: Option<f64>,
    #[serde(default, deserialize_with = "timestamp")]
    pub started_at: Option<f64>,
    #[serde(default, deserialize_with = "timestamp")]
    pub ended_at: Option<f64>,
    #[serde(default)]
    pub status_reason: Option<String>,
    #[serde(default)]
    pub status_reason_code: Option<String>,
    #[serde(default)]
    pub source_config: Option<Value>,
    #[serde(default)]
    pub steps: Option<BTreeMap<String, Value>>,
    #[serde(skip)]
    pub raw: Value,
}

/// A deployment has ended in one of these.
pub fn is_final(status: &str) -> bool {
    matches!(status, "SUCCEEDED" | "FAILED" | "CANCELLED" | "EXPIRED")
}

impl Deployment {
    /// The steps in AWS's order (Build, Migration, Deploy) with their status.
    pub fn steps(&self) -> Vec<(String, String)> {
        let Some(steps) = &self.steps else {
            return Vec::new();
        };
        let order = ["Build", "Migration", "Deploy"];
        let mut out: Vec<(String, String)> = order
            .iter()
            .filter_map(|n| {
                let status = steps.get(*n)?.get("Status")?.as_str()?;
                Some((n.to_string(), status.to_string()))
            })
            .collect();
        for (name, step) in steps.iter().filter(|(n, _)| !order.contains(&n.as_str())) {
            if let Some(status) = step.get("Status").and_then(Value::as_str) {
                out.push((name.clone(), status.to_string()));
            }
        }
        out
    }

    /// The commit a Git deployment built (`SourceConfig.GitSource.CommitId`).
    pub fn git_commit(&self) -> Option<&str> {
        self.source_config
            .as_ref()?
            .pointer("/GitSource/CommitId")?
            .as_str()
            .filter(|c| !c.is_empty())
    }

    /// `https://` + `DomainName`: this deployment's own URL, for as long as it is kept.
    pub fn url(&self) -> Option<String> {
        let domain = self.domain_name.as_deref()?.trim();
        if domain.is_empty() {
            return None;
        }
        Some(if domain.starts_with("https://") {
            domain.to_string()
        } else {
            format!("https://{domain}")
        })
    }
}

fn with_raw(operation: &'static str, raw: Value) -> Result<Deployment, ApiError> {
    let mut d: Deployment =
        serde_json::from_value(raw.clone()).map_err(|e| ApiError::Malformed {
            operation,
            detail: format!("{e}"),
        })?;
    d.raw = raw;
    Ok(d)
}

impl Client {
    /// `POST /apps/{AppName}/environments/{EnvironmentName}/deployments`, once.
    pub async fn create_deployment(
        &self,
        body: &CreateDeploymentBody,
    ) -> Result<Created, ApiError> {
        let body = serde_json::to_vec(body).expect("the body serializes");
        let path = format!("{}/deployments", self.environment_path());
        let raw = self
            .call("CreateDeployment", reqwest::Method::POST, &path, body)
            .await?;
        parse("CreateDeployment", &raw)
    }

    /// The `CreateDeployment` request as `--dry-run` shows it.
    pub async fn describe_create_deployment(
        &self,
        body: &CreateDeploymentBody,
    ) -> Result<String, ApiError> {
        let body = serde_json::to_vec(body).expect("the body serializes");
        let path = format!("{}/deployments", self.environment_path());
        self.describe("CreateDeployment", &path, body).await
    }

    /// `GET /apps/{AppName}/environments/{EnvironmentName}/deployments/{DeploymentId}`.
    pub async fn get_deployment(&self, id: &str) -> Result<Deployment, ApiError> {
        let path = format!(
            "{}/deployments/{}",
            self.environment_path(),
            encode_label(id)
        );
        let raw = self
            .call("GetDeployment", reqwest::Method::GET, &path, Vec::new())
            .await?;
        with_raw("GetDeployment", parse("GetDeployment", &raw)?)
    }

    /// One page of the environment's deployments, and the next page's token.
    pub async fn list_deployments_page(
        &self,
        next: Option<&str>,
    ) -> Result<(Vec<Deployment>, Option<String>), ApiError> {
        const OP: &str = "ListDeploymentsForEnvironment";
        let path = format!(
            "{}/deployments{}",
            self.environment_path(),
            page_query(50, next)
        );
        let raw = self
            .call(OP, reqwest::Method::GET, &path, Vec::new())
            .await?;
        let page: Value = parse(OP, &raw)?;
        let list = page
            .get("Deployments")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::Malformed {
                operation: OP,
                detail: "no Deployments".into(),
            })?;
        let deployments = list
            .iter()
            .map(|d| with_raw(OP, d.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let next = page
            .get("NextToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        Ok((deployments, next))
    }
}
