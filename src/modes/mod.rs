//! One room per mode's pipeline: [`start`], [`follow`], [`delete_branch`], [`prune`] and
//! [`rollback`] on Amplify Hosting; [`deploy`], [`release`] (promote, rollback, abort-rollout)
//! and [`authorize_fork`] on the new AWS Amplify; what they share
//! first ([`prepare`]: settings, credentials, the client, the app) and last ([`finish`]: the
//! wait, the outputs, the reports).

pub mod authorize_fork;
pub mod delete_branch;
pub mod deploy;
pub mod dry_run;
pub mod finish;
pub mod follow;
pub mod prepare;
pub mod prune;
pub mod reads;
pub mod release;
pub mod rollback;
pub mod start;
