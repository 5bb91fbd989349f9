//! One signed rest-json call to an AWS service, for every service: the request signed with
//! SigV4 for the service's signing name (`amplify`, `amplifygen3`), sent once over [`Http`],
//! its answer's bytes or AWS's error. The clock is corrected once AWS says it is off. Retries
//! wrap calls from outside ([`crate::aws::retry`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Url;

use crate::aws::credentials::Resolved;
use crate::aws::error::{ApiError, clock_skew, header, parse_error, quota_code, transport};
use crate::aws::net::{Http, TlsError, host_header};
use crate::aws::signing::sigv4_headers;

/// An AWS service's endpoint in a region, with the credentials that sign for it.
pub struct Rest {
    /// Seconds added to this machine's clock when signing; set once a skew is measured.
    clock_offset: std::sync::atomic::AtomicI64,
    http: Http,
    endpoint: Url,
    credentials: Arc<Resolved>,
    region: String,
    /// The SigV4 signing name.
    service: &'static str,
}

impl Rest {
    /// Fails only for an `https` endpoint on a machine without CA certificates.
    pub fn new(
        endpoint: Url,
        http: Http,
        credentials: Arc<Resolved>,
        region: &str,
        service: &'static str,
    ) -> Result<Rest, TlsError> {
        http.client_for(&endpoint)?;
        Ok(Rest {
            clock_offset: Default::default(),
            http,
            endpoint,
            credentials,
            region: region.to_string(),
            service,
        })
    }

    /// The same endpoint and credentials, with the clock correction measured so far.
    pub fn fork(&self) -> Rest {
        Rest {
            clock_offset: std::sync::atomic::AtomicI64::new(self.clock_offset()),
            http: self.http.clone(),
            endpoint: self.endpoint.clone(),
            credentials: self.credentials.clone(),
            region: self.region.clone(),
            service: self.service,
        }
    }

    /// The HTTP clients, for requests that are not signed (a presigned upload).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Signs from now on with this machine's clock moved by `secs` (AWS's minus ours).
    pub fn correct_clock(&self, secs: i64) {
        self.clock_offset
            .store(secs, std::sync::atomic::Ordering::Relaxed);
    }

    /// Seconds AWS's clock is taken to be ahead of ours (0 until a skew was measured).
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn signing_time(&self) -> SystemTime {
        let offset = self.clock_offset();
        let magnitude = Duration::from_secs(offset.unsigned_abs());
        if offset >= 0 {
            SystemTime::now() + magnitude
        } else {
            SystemTime::now() - magnitude
        }
    }

    /// Every header of a request as it is sent: `host`, `content-type` for a body, and SigV4's.
    async fn signed_headers(
        &self,
        operation: &'static str,
        method: &reqwest::Method,
        url: &Url,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, ApiError> {
        let mut headers: Vec<(&'static str, String)> = vec![("host", host_header(url))];
        if !body.is_empty() {
            headers.push(("content-type", "application/json".into()));
        }
        let credentials = self
            .credentials
            .current()
            .await
            .map_err(|e| ApiError::Credentials {
                operation,
                detail: e.to_string(),
            })?;
        let signed = sigv4_headers(
            &credentials,
            &self.region,
            self.service,
            self.signing_time(),
            method.as_str(),
            url.as_str(),
            &headers,
            body,
        )
        .map_err(ApiError::Signing)?;
        headers.extend(signed);
        Ok(headers)
    }

    /// A `POST` exactly as it would be sent, signed, with the signature and the session token
    /// redacted: what `--dry-run` prints.
    pub async fn describe(
        &self,
        operation: &'static str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<String, ApiError> {
        let url = url_for(&self.endpoint, path);
        let headers = self
            .signed_headers(operation, &reqwest::Method::POST, &url, &body)
            .await?;
        let mut text = format!("POST {url}\n");
        for (name, value) in headers {
            let shown = match name {
                "authorization" => match value.split_once("Signature=") {
                    Some((head, _)) => format!("{head}Signature=<redacted>"),
                    None => "<redacted>".into(),
                },
                "x-amz-security-token" => "<redacted>".into(),
                _ => value,
            };
            text.push_str(&format!("{name}: {shown}\n"));
        }
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&body));
        Ok(text)
    }

    /// Sends one request and returns the answer's bytes, or AWS's error (without a hint: the
    /// service's client adds its own).
    pub async fn call(
        &self,
        operation: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, ApiError> {
        let url = url_for(&self.endpoint, path);
        let headers = self.signed_headers(operation, &method, &url, &body).await?;
        tracing::debug!(operation, %method, path, bytes = body.len(), "sending");
        let client = self
            .http
            .client_for(&url)
            .map_err(|e| ApiError::Transport {
                operation,
                endpoint: url.to_string(),
                detail: e.to_string(),
                sent: false,
            })?;
        let mut req = client.request(method, url.clone()).body(body);
        // reqwest writes Host itself, from the same URL that was signed.
        for (name, value) in headers.iter().filter(|(n, _)| *n != "host") {
            req = req.header(*name, value.as_str());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport(operation, &url, &e))?;
        let status = resp.status().as_u16();
        let request_id = header(&resp, "x-amzn-requestid");
        let error_type = header(&resp, "x-amzn-errortype");
        let retry_after = header(&resp, "retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let clock_skew = header(&resp, "date").and_then(|d| clock_skew(&d, SystemTime::now()));
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport(operation, &url, &e))?;
        tracing::debug!(
            operation,
            status,
            request_id = request_id.as_deref().unwrap_or("-"),
            "answered"
        );
        if (200..300).contains(&status) {
            return Ok(bytes.to_vec());
        }
        let (code, message) = parse_error(status, error_type.as_deref(), &bytes);
        let quota_code = quota_code(&bytes);
        Err(ApiError::Service {
            operation,
            status,
            hint: None,
            code,
            message,
            request_id,
            retry_after,
            clock_skew,
            quota_code,
        })
    }
}

/// Percent-encodes a path label: every byte but RFC 3986 unreserved ones, so `/` in a branch
/// name stays inside its segment.
pub fn encode_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The endpoint (with any base path) joined with an already-encoded path.
fn url_for(endpoint: &Url, path_and_query: &str) -> Url {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut url = endpoint.clone();
    let base = endpoint.path().trim_end_matches('/');
    url.set_path(&format!("{base}{path}"));
    url.set_query(query);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_encode_everything_but_unreserved() {
        assert_eq!(
            encode_label("feature/a b+c%d~é"),
            "feature%2Fa%20b%2Bc%25d~%C3%A9"
        );
    }

    #[test]
    fn urls_keep_a_base_path() {
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(
            url_for(&base, "/apps/d1/branches/a%2Fb/jobs").as_str(),
            "http://127.0.0.1:9/prefix/apps/d1/branches/a%2Fb/jobs"
        );
    }
}
