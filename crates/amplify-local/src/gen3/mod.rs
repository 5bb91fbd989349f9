//! The new AWS Amplify (service `amplifygen3`), one room per resource: apps and their
//! environments, source uploads (with the URL the zip goes to), deployments (with their state
//! machine), aliases (what each environment serves, promotion and rollouts), fork pull
//! requests' commits held until accepted, and the routes to each.

pub mod aliases;
pub mod apps;
pub mod deployments;
pub mod forks;
pub mod routes;
pub mod uploads;

/// What the endpoint holds of the new service.
#[derive(Debug, Default)]
pub struct State {
    pub(crate) uploads: Vec<uploads::SourceUpload>,
    pub(crate) deployments: Vec<deployments::Deployment>,
    /// What each environment's alias routes to: app, environment, deployment id.
    pub(crate) routes: Vec<(String, String, String)>,
    /// Rollouts in progress or ended, by app and environment.
    pub(crate) rollouts: Vec<aliases::RolloutRecord>,
    /// Fork pull requests' commits, pushed or accepted.
    pub(crate) forks: Vec<forks::ForkCommit>,
    /// The `nextToken`s issued: token to the offset it resumes at.
    pub(crate) tokens: std::collections::HashMap<String, usize>,
}
