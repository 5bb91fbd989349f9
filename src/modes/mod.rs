//! One room per mode's pipeline: [`start`], [`follow`], [`delete_branch`], [`prune`]; what they share
//! first ([`prepare`]: settings, credentials, the client, the app) and last ([`finish`]: the
//! wait, the outputs, the reports).

pub mod delete_branch;
pub mod deploy;
pub mod dry_run;
pub mod finish;
pub mod follow;
pub mod prepare;
pub mod prune;
pub mod reads;
pub mod start;
