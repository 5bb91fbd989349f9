//! Amplify Hosting (service `amplify`), one room per resource: jobs (with their state machine),
//! deployments (with the upload URL), branches and apps, artifacts, step logs, and the routes to each.

pub mod artifacts;
pub mod branches;
pub mod deployments;
pub mod jobs;
pub mod logs;
pub mod routes;
