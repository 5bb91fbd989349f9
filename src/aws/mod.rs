//! The shared AWS layer: what every AWS service this tool speaks needs, and nothing of any one
//! service. SigV4 signing, the HTTP clients, presigned S3 URLs, AWS's rest-json error shape and
//! signed calls, the retry policy and backoff, and the credential chain.

pub mod credentials;
pub mod error;
pub mod fetch;
pub mod net;
pub mod rest;
pub mod retry;
pub mod signing;
pub mod upload;
