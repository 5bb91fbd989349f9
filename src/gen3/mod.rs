//! The new AWS Amplify (service `amplifygen3`, API 2025-09-18): [`api`] is the wire, one room
//! per resource; the files beside it are what the tool does with it (its settings, the source
//! upload, a deployment made once and never twice, the wait, what the environment serves
//! after, moving it between deployments, and the fork commit to accept), each on the shared
//! [`crate::aws`] layer and never on Hosting.

pub mod api;
pub mod deploy;
pub mod fork;
pub mod live;
pub mod release;
pub mod settings;
pub mod upload;
pub mod wait;
