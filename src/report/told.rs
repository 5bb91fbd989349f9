//! What GitHub is told of a run, whichever service made it: the commit, a description, where
//! the details are, what the deployment serves, and the final state as GitHub names it.

use serde_json::Value;

use crate::env::truncate_chars;

/// GitHub's limit on a commit status's description.
const MAX_DESCRIPTION: usize = 140;

/// What GitHub is told of a run, whichever service made it.
#[derive(Debug, Clone)]
pub struct Told {
    /// The commit the deployment and the status are for.
    pub sha: Option<String>,
    /// The app and the branch or environment: the status's default context.
    pub app: String,
    pub target: String,
    /// `Amplify job 7: SUCCEED in 2m 3s`, at most 140 characters.
    pub description: String,
    /// Where the details are: the job's console page, or the deployment's own URL.
    pub log_url: String,
    /// What the deployment serves.
    pub environment_url: Option<String>,
    /// The final state as GitHub names it; `None` while it has not ended.
    pub state: Option<&'static str>,
    /// The run followed its deployment (a state missing then means the wait ran out).
    pub waited: bool,
    /// The deployment is a production one.
    pub production: bool,
    /// The deployment's payload.
    pub payload: Value,
}

/// A description cut to GitHub's limit.
pub fn description(text: &str) -> String {
    truncate_chars(text, MAX_DESCRIPTION).0
}
