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

/// The clients of a run. Loopback and link-local hosts (the local endpoint, IMDS, container
/// credentials) get a direct client: no proxy can reach them, and it has no CA store, so it
/// works in an empty root and costs nothing to build. Other hosts go through the proxies the
/// environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, either case), with
/// a client built on first use; for HTTPS it loads the system CA store (most of a start's
/// work, hence lazily) plus any extra bundle (`AWS_CA_BUNDLE`, `SSL_CERT_FILE`).
#[derive(Clone)]
pub struct Http {
    direct: reqwest::Client,
    proxied: Arc<OnceLock<reqwest::Client>>,
    tls: Arc<OnceLock<Result<reqwest::Client, TlsError>>>,
    request_timeout: Duration,
    extra_roots: Arc<Vec<reqwest::Certificate>>,
}

impl Http {
    /// `request_timeout` bounds each request unless the request sets its own; `extra_roots`
    /// are trusted besides the system's.
    pub fn new(request_timeout: Duration, extra_roots: Vec<reqwest::Certificate>) -> Http {
        // reqwest is built without a default crypto provider; ring is ours (smaller, faster to build).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let direct = builder(request_timeout)
            .no_proxy()
            .tls_certs_only(std::iter::empty())
            .build()
            .expect("an HTTP client without CA certificates builds");
        Http {
            direct,
            proxied: Arc::new(OnceLock::new()),
            tls: Arc::new(OnceLock::new()),
            request_timeout,
            extra_roots: Arc::new(extra_roots),
        }
    }

    /// The client for `url`: an `https` URL elsewhere needs CA certificates, loaded here the
    /// first time.
    pub fn client_for(&self, url: &Url) -> Result<&reqwest::Client, TlsError> {
        if is_local(url) && url.scheme() == "http" {
            return Ok(&self.direct);
        }
        if url.scheme() != "https" {
            return Ok(self.proxied.get_or_init(|| {
                builder(self.request_timeout)
                    .tls_certs_only(std::iter::empty())
                    .build()
                    .expect("an HTTP client without CA certificates builds")
            }));
        }
        self.tls
            .get_or_init(|| {
                let mut b = builder(self.request_timeout);
                if is_local(url) {
                    b = b.no_proxy();
                }
                b.tls_certs_merge(self.extra_roots.iter().cloned())
                    .build()
                    .map_err(|e| {
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

/// The address a URL's host names, when it is an IP literal or `localhost` (taken as
/// 127.0.0.1); `None` for other names.
pub fn host_ip(url: &Url) -> Option<std::net::IpAddr> {
    let host = url.host_str()?;
    if host.eq_ignore_ascii_case("localhost") {
        return Some([127, 0, 0, 1].into());
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Loopback or link-local: `localhost`, 127.0.0.0/8, ::1, 169.254.0.0/16, fe80::/10, and
/// the EC2 / EKS addresses fd00:ec2::/32.
pub fn is_local(url: &Url) -> bool {
    match host_ip(url) {
        Some(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_link_local(),
        Some(std::net::IpAddr::V6(ip)) => {
            let s = ip.segments();
            ip.is_loopback() || (s[0] & 0xffc0) == 0xfe80 || (s[0] == 0xfd00 && s[1] == 0x0ec2)
        }
        None => false,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_and_link_local_hosts_skip_the_proxy() {
        for local in [
            "http://127.0.0.1:9/",
            "http://localhost/",
            "http://[::1]/",
            "http://169.254.169.254/latest",
            "http://169.254.170.2/v2",
            "http://[fd00:ec2::254]/",
        ] {
            assert!(is_local(&Url::parse(local).unwrap()), "{local}");
        }
        for remote in [
            "https://amplify.us-east-1.amazonaws.com/",
            "http://10.0.0.1/",
            "http://[2001:db8::1]/",
        ] {
            assert!(!is_local(&Url::parse(remote).unwrap()), "{remote}");
        }
    }
}
