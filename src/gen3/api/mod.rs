//! The new AWS Amplify's API on the wire, one room per resource: the client and what it
//! addresses, apps, environments, source uploads, deployments, aliases and fork pull requests. One call is one
//! attempt: retries wrap them from outside.

pub mod aliases;
pub mod apps;
pub mod client;
pub mod deployments;
pub mod environments;
pub mod forks;
pub mod uploads;
