//! Aliases on the wire: `ListAliases` (the environment's alias: its stable URL and the
//! deployment it serves), `GetAlias` (with a gradual rollout's state), `UpdateAliasRouting`
//! (promote, roll back: idempotent in effect, not in answer) and `CancelGradualRollout`.

use serde::Deserialize;
use serde_json::Value;

use crate::aws::error::ApiError;
use crate::aws::rest::encode_label;
use crate::gen3::api::client::{Client, page_query, parse};

/// An alias: a URL and the deployment(s) it routes to.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alias {
    pub alias_name: String,
    /// `ENVIRONMENT`, `BRANCH` or `PULL_REQUEST`.
    #[serde(rename = "Type", default)]
    pub kind: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub routing_config: Vec<Route>,
    #[serde(default)]
    pub gradual_rollout_state: Option<Rollout>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Route {
    pub deployment_id: String,
    #[serde(default)]
    pub weight: u32,
}

/// `GradualRolloutState`: `IN_PROGRESS`, `COMPLETED` or `CANCELLED`, its stages and where it is.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rollout {
    pub status: String,
    #[serde(default)]
    pub source_routing_config: Vec<Route>,
    #[serde(default)]
    pub target_routing_config: Vec<Route>,
    #[serde(default)]
    pub schedule: Vec<Value>,
    #[serde(default)]
    pub current_stage_index: usize,
}

impl Rollout {
    /// The deployment the rollout moves the traffic to.
    pub fn target(&self) -> Option<&str> {
        self.target_routing_config
            .first()
            .map(|r| r.deployment_id.as_str())
    }

    /// The deployment the traffic comes from (and goes back to when it is cancelled).
    pub fn source(&self) -> Option<&str> {
        self.source_routing_config
            .first()
            .map(|r| r.deployment_id.as_str())
    }

    /// When the next stage takes effect, as AWS gives it (seconds since the epoch).
    pub fn next_stage_at(&self) -> Option<f64> {
        let next = self.schedule.get(self.current_stage_index + 1)?;
        match next.get("EffectiveAt")? {
            Value::Number(n) => n.as_f64(),
            Value::String(t) => crate::env::parse_time(t).map(|t| t as f64),
            _ => None,
        }
    }

    /// The share of the traffic (percent) the new deployment has at the current stage.
    pub fn stage_weight(&self) -> u64 {
        self.schedule
            .get(self.current_stage_index)
            .and_then(|s| s.get("Weight"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }
}

impl Alias {
    /// The deployment that gets the traffic (the heaviest route).
    pub fn active(&self) -> Option<&str> {
        self.routing_config
            .iter()
            .max_by_key(|r| r.weight)
            .map(|r| r.deployment_id.as_str())
    }
}

impl Client {
    /// The environment's own alias (`Type: ENVIRONMENT`), from `ListAliases`' pages.
    pub async fn environment_alias(&self) -> Result<Option<Alias>, ApiError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Page {
            aliases: Vec<Alias>,
            #[serde(default)]
            next_token: Option<String>,
        }
        let mut next: Option<String> = None;
        for _ in 0..20 {
            let path = format!(
                "{}/aliases{}",
                self.environment_path(),
                page_query(50, next.as_deref())
            );
            let raw = self
                .call("ListAliases", reqwest::Method::GET, &path, Vec::new())
                .await?;
            let page: Page = parse("ListAliases", &raw)?;
            if let Some(a) = page.aliases.into_iter().find(|a| a.kind == "ENVIRONMENT") {
                return Ok(Some(a));
            }
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(t) => next = Some(t),
                None => break,
            }
        }
        Ok(None)
    }

    /// `GET .../aliases/{AliasName}`.
    pub async fn get_alias(&self, name: &str) -> Result<Alias, ApiError> {
        let path = format!("{}/aliases/{}", self.environment_path(), encode_label(name));
        let raw = self
            .call("GetAlias", reqwest::Method::GET, &path, Vec::new())
            .await?;
        parse("GetAlias", &raw)
    }

    /// `PATCH .../aliases/{AliasName}`: all traffic to `deployment`, at once or by `preset`
    /// (none: the environment's own). The rollout it started, if AWS says one did.
    pub async fn update_alias_routing(
        &self,
        name: &str,
        deployment: &str,
        preset: Option<&str>,
    ) -> Result<Option<Rollout>, ApiError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            #[serde(default)]
            gradual_rollout_state: Option<Rollout>,
        }
        let mut body = serde_json::json!({
            "RoutingConfig": [{"DeploymentId": deployment, "Weight": 100}],
        });
        if let Some(p) = preset {
            body["GradualRolloutConfig"] = serde_json::json!({"PresetConfig": {"Preset": p}});
        }
        let path = format!("{}/aliases/{}", self.environment_path(), encode_label(name));
        let body = serde_json::to_vec(&body).expect("the body serializes");
        let raw = self
            .call("UpdateAliasRouting", reqwest::Method::PATCH, &path, body)
            .await?;
        let answer: Answer = if raw.iter().all(u8::is_ascii_whitespace) {
            Answer {
                gradual_rollout_state: None,
            }
        } else {
            parse("UpdateAliasRouting", &raw)?
        };
        Ok(answer.gradual_rollout_state)
    }

    /// `POST .../aliases/{AliasName}/rollout/cancel`: the rollout's traffic goes back.
    pub async fn cancel_gradual_rollout(&self, name: &str) -> Result<(), ApiError> {
        let path = format!(
            "{}/aliases/{}/rollout/cancel",
            self.environment_path(),
            encode_label(name)
        );
        self.call(
            "CancelGradualRollout",
            reqwest::Method::POST,
            &path,
            Vec::new(),
        )
        .await?;
        Ok(())
    }
}
