//! Apps on the wire: `GetApp` (its build settings, whether a repository is connected).

use serde::Deserialize;
use serde_json::Value;

use crate::aws::error::ApiError;
use crate::gen3::api::client::{Client, parse};

/// The fields of an app this tool uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct App {
    pub app_name: String,
    #[serde(default)]
    pub app_arn: String,
    /// A connected repository (`GitHubSource`, `GitLabSource`): Git deployments need one.
    #[serde(default)]
    pub source_config: Option<Value>,
    #[serde(default)]
    pub web: Option<Web>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Web {
    #[serde(default)]
    pub build_config: Option<BuildConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BuildConfig {
    #[serde(default)]
    pub root_directory: Option<String>,
    #[serde(default)]
    pub output_directory: Option<String>,
}

impl App {
    /// The build output folder, relative to the source's root (`RootDirectory` joined).
    pub fn output_directory(&self) -> Option<String> {
        let build = self.web.as_ref()?.build_config.as_ref()?;
        let out = build.output_directory.as_deref()?.trim_matches('/');
        let root = build
            .root_directory
            .as_deref()
            .unwrap_or("")
            .trim_matches('/');
        Some(match root {
            "" | "." => out.to_string(),
            root => format!("{root}/{out}"),
        })
    }

    /// Whether a repository is connected (a Git deployment needs one).
    pub fn connected(&self) -> bool {
        self.source_config
            .as_ref()
            .and_then(Value::as_object)
            .is_some_and(|o| !o.is_empty())
    }
}

impl Client {
    /// `GET /apps/{AppName}`.
    pub async fn get_app(&self) -> Result<App, ApiError> {
        let raw = self
            .call("GetApp", reqwest::Method::GET, &self.app_path(), Vec::new())
            .await?;
        parse("GetApp", &raw)
    }
}
