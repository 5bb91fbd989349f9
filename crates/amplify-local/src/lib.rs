//! A local AWS Amplify endpoint: the Hosting API's jobs, deployments, branches, apps and
//! artifacts.
//!
//! Faithful to the service model (`amplify-2017-07-25`): it verifies SigV4 with its own
//! canonical-request code, validates inputs against the model's limits, answers errors as
//! rest-json services do (`x-amzn-ErrorType` and a `{"message": ...}` body), runs a job state
//! machine, records every request, and plays scripted faults per operation.
//!
//! The house: [`server`] (listening, recording, request ids), [`router`] (the service by the
//! SigV4 scope, then the operation), [`state`] (configuration, what exists, faults),
//! [`answer`] (AWS's rest-json answers and validation), then a folder per service
//! ([`hosting`], [`gen3`]: one room per resource); [`sigv4`], [`presign`], [`http`] and [`tls`] beneath.

mod answer;
pub(crate) mod gen3;
pub mod hosting;
pub mod http;
mod presign;
mod router;
mod server;
pub mod sigv4;
mod sites;
mod state;
pub mod stub;
mod tls;

pub use answer::aws_error;
pub use gen3::apps::{Gen3App, Gen3Environment};
pub use gen3::deployments::{Deployment as Gen3Deployment, Source as Gen3Source};
pub use gen3::uploads::SourceUpload as Gen3Upload;
pub use hosting::branches::{BranchRecord, MAX_BRANCHES};
pub use hosting::deployments::{Upload, zip_entries};
pub use hosting::jobs::summary;
pub use hosting::logs::ERROR_LINE;
pub use router::{GEN3, HOSTING, Op, operations};
pub use server::Server;
pub use sigv4::Key;
pub use state::{Config, Fault, Job, KeySource, Recorded};
pub use tls::server_config as tls_server_config;

/// The credentials a default endpoint accepts; the README's demo uses them.
pub const DEMO_ACCESS_KEY_ID: &str = "AKIDLOCALAMPLIFY";
pub const DEMO_SECRET_ACCESS_KEY: &str = "local-secret-not-for-aws";
pub const DEMO_REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
