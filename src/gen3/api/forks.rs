//! Fork pull requests on the wire: `AcceptForkPullRequestDeployment` (idempotent: a second
//! acceptance answers `ALREADY_ACCEPTED`).

use serde::Deserialize;

use crate::aws::error::ApiError;
use crate::gen3::api::client::{Client, parse};

impl Client {
    /// `POST /apps/{AppName}/fork-pr-authorizations`: the commit may build in the client's
    /// environment. AWS's `Outcome`: `ACCEPTED` or `ALREADY_ACCEPTED`.
    pub async fn accept_fork_pull_request(
        &self,
        commit: &str,
        pull_request: &str,
    ) -> Result<String, ApiError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            outcome: String,
        }
        let body = serde_json::json!({
            "EnvironmentName": self.target().environment,
            "CommitSha": commit,
            "PullRequestNumber": pull_request,
        });
        let path = format!("{}/fork-pr-authorizations", self.app_path());
        let body = serde_json::to_vec(&body).expect("the body serializes");
        const OP: &str = "AcceptForkPullRequestDeployment";
        let raw = self.call(OP, reqwest::Method::POST, &path, body).await?;
        let answer: Answer = parse(OP, &raw)?;
        Ok(answer.outcome)
    }
}
