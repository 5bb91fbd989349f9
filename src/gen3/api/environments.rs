//! Environments on the wire: `GetEnvironment` (its type, routing mode and rollout preset) and
//! `ListEnvironments` (every page: the names a missing environment's error lists).

use serde::Deserialize;
use serde_json::Value;

use crate::aws::error::ApiError;
use crate::gen3::api::client::{Client, page_query, parse};

/// The fields of an environment this tool uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    pub environment_name: String,
    /// `PRODUCTION`, `PREVIEW` or `CUSTOM`.
    #[serde(rename = "Type", default)]
    pub kind: String,
    #[serde(default)]
    pub web: Option<Value>,
    #[serde(default)]
    pub gradual_rollout_config: Option<Value>,
}

impl Environment {
    /// `AUTO_ROUTE_TO_LATEST` (AWS's default) or `MANUAL`.
    pub fn routing_mode(&self) -> &str {
        self.web
            .as_ref()
            .and_then(|w| w.pointer("/EnvironmentAliasConfig/RoutingMode"))
            .and_then(Value::as_str)
            .unwrap_or("AUTO_ROUTE_TO_LATEST")
    }
}

impl Client {
    /// `GET /apps/{AppName}/environments/{EnvironmentName}`.
    pub async fn get_environment(&self) -> Result<Environment, ApiError> {
        let path = self.environment_path();
        let raw = self
            .call("GetEnvironment", reqwest::Method::GET, &path, Vec::new())
            .await?;
        parse("GetEnvironment", &raw)
    }

    /// `GET /apps/{AppName}/environments`: one page of the app's environments, and the next
    /// page's token.
    pub async fn list_environments_page(
        &self,
        next: Option<&str>,
    ) -> Result<(Vec<Environment>, Option<String>), ApiError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Page {
            environments: Vec<Environment>,
            #[serde(default)]
            next_token: Option<String>,
        }
        let path = format!("{}/environments{}", self.app_path(), page_query(50, next));
        let raw = self
            .call("ListEnvironments", reqwest::Method::GET, &path, Vec::new())
            .await?;
        let page: Page = parse("ListEnvironments", &raw)?;
        Ok((page.environments, page.next_token.filter(|t| !t.is_empty())))
    }
}
