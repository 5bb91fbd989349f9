//! The Amplify Hosting API on the wire, one room per resource: the client and its target, jobs,
//! deployments, branches, apps, artifacts. One call is one attempt: retries wrap them from
//! outside.

pub mod apps;
pub mod artifacts;
pub mod branches;
pub mod client;
pub mod deployments;
pub mod jobs;
