//! The one HTTP client of a run, shared by the Amplify API and every credential endpoint:
//! proxies, CA bundles, and which hosts are reached directly.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::Url;

use crate::env::{Env, SettingsError};

pub const USER_AGENT: &str = concat!("amplify-start-job/", env!("CARGO_PKG_VERSION"));
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// No HTTPS client could be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsError {
    /// Almost always for want of CA certificates.
    #[error(
        "cannot set up HTTPS ({0}); point SSL_CERT_FILE at a CA bundle such as /etc/ssl/certs/ca-certificates.crt"
    )]
    Setup(String),
    /// A bundle `AWS_CA_BUNDLE` or `SSL_CERT_FILE` names cannot be used: a settings error,
    /// found when the first HTTPS client is built, before any request is sent.
    #[error("{0}")]
    Bundle(String),
}

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
    tls_config: Arc<TlsConfig>,
}

/// The roots HTTPS trusts: Mozilla's, compiled in (fast to load, and present in an empty
/// image), or the system's (`AMPLIFY_CA_STORE=system`, for CAs installed there); either way
/// with the bundles `AWS_CA_BUNDLE` and `SSL_CERT_FILE` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaStore {
    #[default]
    Builtin,
    System,
}

#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    pub store: CaStore,
    /// The extra bundles, by the variable naming each: read when an HTTPS client is built.
    pub bundles: Vec<(&'static str, PathBuf)>,
}

impl TlsConfig {
    /// `AMPLIFY_CA_STORE`, `AWS_CA_BUNDLE`, `SSL_CERT_FILE`.
    pub fn from_env(env: &Env) -> Result<TlsConfig, SettingsError> {
        let store = match env
            .get("AMPLIFY_CA_STORE")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("builtin") => CaStore::Builtin,
            Some("system") => CaStore::System,
            Some(_) => {
                return Err(SettingsError::new(
                    "AMPLIFY_CA_STORE",
                    None,
                    env.get("AMPLIFY_CA_STORE"),
                    "not a CA store",
                    "use builtin (Mozilla's roots, the default) or system (the machine's)",
                ));
            }
        };
        Ok(TlsConfig {
            store,
            bundles: ca_bundles(env),
        })
    }
}

impl Http {
    /// `request_timeout` bounds each request unless the request sets its own; the CA bundles
    /// (by the variable that names each) are trusted besides the system's.
    pub fn new(request_timeout: Duration, tls_config: TlsConfig) -> Http {
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
            tls_config: Arc::new(tls_config),
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
                let extra = extra_roots(&self.tls_config.bundles)?;
                match self.tls_config.store {
                    CaStore::Builtin => b.tls_certs_only(builtin_roots().chain(extra)),
                    CaStore::System => b.tls_certs_merge(extra),
                }
                .build()
                .map_err(|e| {
                    let mut detail = e.to_string();
                    if let Some(source) = std::error::Error::source(&e) {
                        detail = format!("{detail}: {source}");
                    }
                    TlsError::Setup(detail)
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Mozilla's root certificates, compiled in.
fn builtin_roots() -> impl Iterator<Item = reqwest::Certificate> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|c| reqwest::Certificate::from_der(c.as_ref()).ok())
}

/// The CA bundles `AWS_CA_BUNDLE` and `SSL_CERT_FILE` name, by the variable naming each; they
/// are read only when an HTTPS client is built.
fn ca_bundles(env: &Env) -> Vec<(&'static str, PathBuf)> {
    ["AWS_CA_BUNDLE", "SSL_CERT_FILE"]
        .into_iter()
        .filter_map(|var| Some((var, PathBuf::from(env.get(var)?))))
        .collect()
}

/// The certificates of the CA bundles, each file read once even when both variables name it.
fn extra_roots(bundles: &[(&'static str, PathBuf)]) -> Result<Vec<reqwest::Certificate>, TlsError> {
    let mut read: Vec<PathBuf> = Vec::new();
    let mut roots = Vec::new();
    for (var, path) in bundles {
        let same = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        if read.contains(&same) {
            continue;
        }
        read.push(same);
        roots.extend(ca_bundle(var, path)?);
    }
    Ok(roots)
}

/// The certificates of a PEM bundle, or why it cannot be used.
fn ca_bundle(var: &str, path: &Path) -> Result<Vec<reqwest::Certificate>, TlsError> {
    let bad = |problem: String| {
        TlsError::Bundle(
            SettingsError::new(
                var,
                None,
                Some(&path.display().to_string()),
                &problem,
                "point it at a PEM file of CA certificates, e.g. your proxy's CA",
            )
            .to_string(),
        )
    };
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot be read ({e})")))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(bad("holds no PEM certificate".into())),
        Err(e) => Err(bad(format!("is not a PEM bundle ({e})"))),
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

    /// A self-signed test CA (made with openssl; its key was thrown away).
    const TEST_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBnzCCAUWgAwIBAgIUKgJEMS+BM3vSb9MloIJLgUCrS+4wCgYIKoZIzj0EAwIw\nJDEiMCAGA1UEAwwZYW1wbGlmeS1zdGFydC1qb2IgdGVzdCBDQTAgFw0yNjEyMDEx\nMzQyNTVaGA8yMTI2MTEwNzEzNDI1NVowJDEiMCAGA1UEAwwZYW1wbGlmeS1zdGFy\ndC1qb2IgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABCR4ziiHLRLf\nxDZtU+vghLIKWFYYqrJ943cN/Bn2nGKVL5EqjeZOAW68+ZaSjn3Vy4THtAtAvo7r\njjsMvmq8hcujUzBRMB0GA1UdDgQWBBThBnTa9l8rca++j1EKimhoe0InBzAfBgNV\nHSMEGDAWgBThBnTa9l8rca++j1EKimhoe0InBzAPBgNVHRMBAf8EBTADAQH/MAoG\nCCqGSM49BAMCA0gAMEUCIH2+tROGUf7P/xSOsNWv8r02+6JInP7596Av2UOUiuf7\nAiEAx4rgpOaY8VWz9nzYkyWFyx5nLyQcMCeI8RpctK0zVfg=\n-----END CERTIFICATE-----\n";

    #[test]
    fn a_bundle_named_twice_is_read_once_and_a_bad_one_names_its_variable() {
        let dir = std::env::temp_dir().join(format!("ca-{}", crate::random::random_u64()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = dir.join("ca.pem");
        std::fs::write(&pem, format!("{TEST_CA}{TEST_CA}")).unwrap();
        let one = extra_roots(&[("AWS_CA_BUNDLE", pem.clone())]).unwrap();
        let both = extra_roots(&[
            ("AWS_CA_BUNDLE", pem.clone()),
            ("SSL_CERT_FILE", dir.join(".").join("ca.pem")),
        ])
        .unwrap();
        assert_eq!((one.len(), both.len()), (2, 2), "the same file, once");
        let missing = dir.join("missing.pem");
        let err = extra_roots(&[("SSL_CERT_FILE", missing)]).unwrap_err();
        assert!(
            err.to_string().starts_with("SSL_CERT_FILE is \"")
                && err.to_string().contains("cannot be read"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

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
