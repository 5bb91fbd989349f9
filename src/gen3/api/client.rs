//! The new AWS Amplify's client: the app, environment and region it addresses, its paths, and
//! what to check for each error AWS gives. Calls go through the shared [`Rest`] (SigV4 signing
//! name `amplifygen3`); each resource's operations are in its own room.

use std::sync::Arc;

use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use crate::aws::credentials::Resolved;
use crate::aws::error::ApiError;
use crate::aws::net::{Http, TlsError};
use crate::aws::rest::{Rest, encode_label};

/// The SigV4 signing name, and the endpoint's first label.
pub const SERVICE: &str = "amplifygen3";

/// The app and environment an operation addresses.
#[derive(Debug, Clone)]
pub struct Target {
    pub region: String,
    pub app: String,
    pub environment: String,
}

pub struct Client {
    rest: Rest,
    target: Target,
}

/// What to check for each error AWS gives, by its code.
fn hint_for(operation: &str, code: &str, t: &Target) -> Option<String> {
    Some(match code {
        "AccessDeniedException" | "UnauthorizedException" => format!(
            "the credentials lack permission: allow the IAM action amplifygen3:{operation} on arn:aws:amplifygen3:{}:<account-id>:app/{}/*",
            t.region, t.app
        ),
        "RoleNotAssumableException" => {
            "Amplify could not assume the environment's role: fix that role's trust policy so amplifygen3.amazonaws.com may assume it".into()
        }
        "ServiceQuotaExceededException" => {
            "a service quota is reached: see the quota code, and ask for an increase in Service Quotas".into()
        }
        "InvalidSignatureException" | "SignatureDoesNotMatch" => {
            "the signature was refused: check AWS_SECRET_ACCESS_KEY, and that this machine's clock is right".into()
        }
        "UnrecognizedClientException" | "InvalidClientTokenId" => {
            "AWS does not know these credentials: check AWS_ACCESS_KEY_ID, and AWS_SESSION_TOKEN for temporary credentials".into()
        }
        "ExpiredTokenException" | "ExpiredToken" => {
            "the session token has expired: get fresh credentials before this step".into()
        }
        "ThrottlingException" => "AWS is throttling requests: try again later".into(),
        "ValidationException" => "AWS refused the request's content: see the message above".into(),
        _ => return None,
    })
}

impl Client {
    /// Fails only for an `https` endpoint on a machine without CA certificates.
    pub fn new(
        endpoint: Url,
        http: Http,
        credentials: Arc<Resolved>,
        target: Target,
    ) -> Result<Client, TlsError> {
        let rest = Rest::new(endpoint, http, credentials, &target.region, SERVICE)?;
        Ok(Client { rest, target })
    }

    /// One call, once; AWS's error with what to check for it.
    pub async fn call(
        &self,
        operation: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, ApiError> {
        let result = self.rest.call(operation, method, path, body).await;
        result.map_err(|e| e.hinted(|code| hint_for(operation, code, &self.target)))
    }

    /// A `POST` as `--dry-run` shows it: signed, the signature and session token redacted.
    pub async fn describe(
        &self,
        operation: &'static str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<String, ApiError> {
        self.rest.describe(operation, path, body).await
    }

    /// The app, environment and region this client addresses.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The HTTP clients, for requests that are not Amplify's (a presigned upload).
    pub fn http(&self) -> &Http {
        self.rest.http()
    }

    /// Seconds AWS's clock is taken to be ahead of ours (0 until a skew was measured).
    pub fn clock_offset(&self) -> i64 {
        self.rest.clock_offset()
    }

    /// Signs from now on with this machine's clock moved by `secs` (AWS's minus ours).
    pub fn correct_clock(&self, secs: i64) {
        self.rest.correct_clock(secs)
    }

    /// `/apps/{AppName}`.
    pub fn app_path(&self) -> String {
        format!("/apps/{}", encode_label(&self.target.app))
    }

    /// `/apps/{AppName}/environments/{EnvironmentName}`.
    pub fn environment_path(&self) -> String {
        format!(
            "{}/environments/{}",
            self.app_path(),
            encode_label(&self.target.environment)
        )
    }
}

/// A JSON answer read as `T`, or [`ApiError::Malformed`] naming the operation.
pub fn parse<T: serde::de::DeserializeOwned>(
    operation: &'static str,
    raw: &[u8],
) -> Result<T, ApiError> {
    serde_json::from_slice(raw).map_err(|e| ApiError::Malformed {
        operation,
        detail: format!("{e}"),
    })
}

/// A timestamp as rest-json sends it (epoch seconds) or as the documentation says it
/// (ISO 8601): both are read, as seconds since the epoch.
pub fn timestamp<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => crate::env::parse_time(&s).map(|t| t as f64),
        _ => None,
    })
}

/// The `nextToken` query parameter of a list call's next page.
pub fn page_query(max: u8, next: Option<&str>) -> String {
    match next {
        Some(t) => format!("?maxResults={max}&nextToken={}", encode_label(t)),
        None => format!("?maxResults={max}"),
    }
}
