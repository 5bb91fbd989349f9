//! Apps on the wire: `GetApp`, for the app's default domain (a branch's URL) and its production
//! branch.

use serde_json::Value;

use crate::aws::error::ApiError;
use crate::aws::rest::encode_label;
use crate::hosting::api::client::Client;

impl Client {
    /// `GET /apps/{appId}`: the app's default domain.
    pub async fn default_domain(&self) -> Result<String, ApiError> {
        self.get_app()
            .await?
            .pointer("/app/defaultDomain")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ApiError::Malformed {
                operation: "GetApp",
                detail: "no app.defaultDomain".into(),
            })
    }

    /// `GET /apps/{appId}`: the app's production branch, when it has one.
    pub async fn production_branch(&self) -> Result<Option<String>, ApiError> {
        Ok(self
            .get_app()
            .await?
            .pointer("/app/productionBranch/branchName")
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    /// `GET /apps/{appId}`, as JSON.
    async fn get_app(&self) -> Result<Value, ApiError> {
        let path = format!("/apps/{}", encode_label(&self.target().app_id));
        let raw = self
            .call("GetApp", reqwest::Method::GET, &path, Vec::new())
            .await?;
        serde_json::from_slice(&raw).map_err(|e| ApiError::Malformed {
            operation: "GetApp",
            detail: format!("{e}"),
        })
    }
}
