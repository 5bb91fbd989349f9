//! The one HTTP client of a run, shared by the Amplify API and every credential endpoint, and
//! the SigV4 signing both the Amplify API and STS `AssumeRole` use.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use reqwest::Url;

use crate::credentials::Credentials;

pub const USER_AGENT: &str = concat!("amplify-start-job/", env!("CARGO_PKG_VERSION"));
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// No HTTPS client could be made, almost always for want of CA certificates.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "cannot set up HTTPS ({0}); point SSL_CERT_FILE at a CA bundle such as /etc/ssl/certs/ca-certificates.crt"
)]
pub struct TlsError(String);

/// The clients of a run: one for plain HTTP (the local endpoint, IMDS, container credentials),
/// with no CA store, so it works in an empty root and costs nothing to build; one for HTTPS,
/// built on first use, since loading the CA store is most of a start's work.
#[derive(Clone)]
pub struct Http {
    plain: reqwest::Client,
    tls: Arc<OnceLock<Result<reqwest::Client, TlsError>>>,
    request_timeout: Duration,
}

impl Http {
    /// `request_timeout` bounds each request unless the request sets its own.
    pub fn new(request_timeout: Duration) -> Http {
        // reqwest is built without a default crypto provider; ring is ours (smaller, faster to build).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let plain = builder(request_timeout)
            .tls_certs_only(std::iter::empty())
            .build()
            .expect("an HTTP client without CA certificates builds");
        Http {
            plain,
            tls: Arc::new(OnceLock::new()),
            request_timeout,
        }
    }

    /// The client for `url`: an `https` URL needs CA certificates, loaded here the first time.
    pub fn client_for(&self, url: &Url) -> Result<&reqwest::Client, TlsError> {
        if url.scheme() != "https" {
            return Ok(&self.plain);
        }
        self.tls
            .get_or_init(|| {
                builder(self.request_timeout).build().map_err(|e| {
                    let mut detail = e.to_string();
                    if let Some(source) = std::error::Error::source(&e) {
                        detail = format!("{detail}: {source}");
                    }
                    TlsError(detail)
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn builder(request_timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(request_timeout)
}

/// The headers SigV4 adds (`authorization`, `x-amz-date`, `x-amz-security-token`) for a
/// request with `headers` (which must include `host`) and `body`.
#[allow(clippy::too_many_arguments)]
pub fn sigv4_headers(
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<Vec<(&'static str, String)>, String> {
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(n, v)| (*n, v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let (headers, _) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| (h.name(), h.value().to_string()))
        .collect())
}

/// `host[:port]` as the `Host` header carries it.
pub fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// A reqwest error with its causes, on one line.
pub fn error_chain(e: &reqwest::Error) -> String {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    detail
}
