//! Amplify Hosting (service `amplify`, API 2017-07-25): [`api`] is the wire, one room per
//! resource; the files beside it are what the tool does with it (starting a job without doubling
//! it, waiting, busy branches, manual deployments, preview branches, logs, artifacts, several
//! apps, finding a webhook's job), each on the shared [`crate::aws`] layer.

pub mod api;
pub mod apps;
pub mod artifacts;
pub mod branch;
pub mod busy;
pub mod deploy;
pub mod follow;
pub mod job;
pub mod live;
pub mod logs;
pub mod preview;
pub mod prune;
pub mod rollback;
pub mod start_job;
pub mod supersede;
pub mod wait;
