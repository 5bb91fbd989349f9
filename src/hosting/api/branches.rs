//! Branches on the wire: `GetBranch`, `CreateBranch`, `DeleteBranch`, `ListBranches`, and
//! another branch's environment variables.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::error::ApiError;
use crate::aws::rest::encode_label;
use crate::env::Secret;
use crate::hosting::api::client::Client;

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

impl Client {
    /// `GET /apps/{appId}/branches/{name}`: another branch's environment variables (names and
    /// values, which are never logged).
    pub async fn branch_variables(
        &self,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
        let path = format!(
            "/apps/{}/branches/{}",
            encode_label(&self.target().app_id),
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

    /// `GET /apps/{appId}/branches`: one page of the app's branches, and the next token.
    pub async fn list_branches_page(
        &self,
        next_token: Option<&str>,
    ) -> Result<(Vec<Branch>, Option<String>), ApiError> {
        let mut path = format!(
            "/apps/{}/branches?maxResults=50",
            encode_label(&self.target().app_id)
        );
        if let Some(t) = next_token {
            path.push_str(&format!("&nextToken={}", encode_label(t)));
        }
        let raw = self
            .call("ListBranches", reqwest::Method::GET, &path, Vec::new())
            .await?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            branches: Vec<Branch>,
            #[serde(default)]
            next_token: Option<String>,
        }
        let page: Page = serde_json::from_slice(&raw).map_err(|e| ApiError::Malformed {
            operation: "ListBranches",
            detail: format!("{e}"),
        })?;
        let next = page.next_token.filter(|t| !t.is_empty());
        Ok((page.branches, next))
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
        let path = format!("/apps/{}/branches", encode_label(&self.target().app_id));
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
