//! Artifacts on the wire: `ListArtifacts` (paged) and `GetArtifactUrl` (a presigned URL).

use serde::Deserialize;
use serde_json::Value;

use crate::aws::error::ApiError;
use crate::aws::rest::encode_label;
use crate::hosting::api::client::Client;

/// One of a job's artifacts, as `ListArtifacts` names it. The file name is AWS's: untrusted.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub artifact_file_name: String,
    pub artifact_id: String,
}

impl Client {
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
}
