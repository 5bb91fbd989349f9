//! A GET of a presigned URL (a step's log, an artifact): the URL exactly as Amplify gave it, no
//! SigV4, through the same proxy and CA rules as every request, within the request timeout. The
//! body goes to a sink chunk by chunk and is never held whole, whatever its size.

use std::time::Duration;

use reqwest::Url;

use crate::aws::error::ApiError;
use crate::aws::net::{Http, error_chain, host_header};

/// A presigned URL, ready for one request: the URL as given, the client its host takes (proxy,
/// CA rules), and how its failures are told.
pub struct Presigned<'a> {
    pub url: Url,
    pub client: &'a reqwest::Client,
    operation: &'static str,
    endpoint: String,
}

impl<'a> Presigned<'a> {
    /// `given_by` and `what`: the operation that answered the URL and its member, for the
    /// error when it is not one (AWS's answer was then unreadable).
    pub fn open(
        http: &'a Http,
        url: &str,
        operation: &'static str,
        (given_by, what): (&'static str, &str),
    ) -> Result<Presigned<'a>, ApiError> {
        let parsed = Url::parse(url).map_err(|e| ApiError::Malformed {
            operation: given_by,
            detail: format!("{what} is not a URL: {e}"),
        })?;
        let endpoint = format!("{}://{}", parsed.scheme(), host_header(&parsed));
        let client = http.client_for(&parsed).map_err(|e| ApiError::Transport {
            operation,
            endpoint: endpoint.clone(),
            detail: e.to_string(),
            sent: false,
        })?;
        Ok(Presigned {
            url: parsed,
            client,
            operation,
            endpoint,
        })
    }

    /// No answer: `sent` when the request may have reached the host.
    pub fn transport(&self, detail: String, sent: bool) -> ApiError {
        ApiError::Transport {
            operation: self.operation,
            endpoint: self.endpoint.clone(),
            detail,
            sent,
        }
    }

    /// The request's own failure to send.
    pub fn failed(&self, e: &reqwest::Error) -> ApiError {
        self.transport(error_chain(e), !e.is_connect())
    }

    /// A non-2xx answer, as S3 words it (XML) or as any other server does.
    pub async fn refusal(&self, resp: reqwest::Response, hint: Option<String>) -> ApiError {
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let (code, message) = s3_error(&text)
            .unwrap_or_else(|| crate::aws::error::parse_error(status, None, text.as_bytes()));
        ApiError::Service {
            operation: self.operation,
            status,
            code,
            message,
            request_id: None,
            retry_after: None,
            clock_skew: None,
            quota_code: None,
            hint,
        }
    }
}

/// One attempt: the body's bytes handed to `sink` as they arrive; the number of bytes read.
/// A sink that fails (a full disk) ends it as [`ApiError::Malformed`], which is not retried.
pub async fn get(
    http: &Http,
    url: &str,
    operation: &'static str,
    timeout: Duration,
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<u64, ApiError> {
    let p = Presigned::open(http, url, operation, (operation, "the URL"))?;
    let mut resp = p
        .client
        .get(p.url.clone())
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| p.failed(&e))?;
    if !resp.status().is_success() {
        return Err(p.refusal(resp, None).await);
    }
    let mut read = 0u64;
    while let Some(chunk) = resp.chunk().await.map_err(|e| p.failed(&e))? {
        read += chunk.len() as u64;
        sink(&chunk).map_err(|e| ApiError::Malformed {
            operation,
            detail: format!("cannot keep what was read: {e}"),
        })?;
    }
    Ok(read)
}

/// The first bytes of a presigned object, at most `limit`: asked for as a `Range` (S3 answers
/// 206 with them), and cut at `limit` where the range is ignored (200 with the whole object).
/// `sink` may end the read sooner (`ControlFlow::Break`); the rest is never downloaded.
pub async fn head(
    http: &Http,
    url: &str,
    operation: &'static str,
    timeout: Duration,
    limit: u64,
    mut sink: impl FnMut(&[u8]) -> std::ops::ControlFlow<()>,
) -> Result<u64, ApiError> {
    let p = Presigned::open(http, url, operation, (operation, "the URL"))?;
    let mut resp = p
        .client
        .get(p.url.clone())
        .header(
            reqwest::header::RANGE,
            format!("bytes=0-{}", limit.max(1) - 1),
        )
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| p.failed(&e))?;
    // 416: the range starts past the end, which only an empty object does.
    if resp.status() == reqwest::StatusCode::RANGE_NOT_SATISFIABLE {
        return Ok(0);
    }
    if !resp.status().is_success() {
        return Err(p.refusal(resp, None).await);
    }
    let mut read = 0u64;
    while read < limit {
        let Some(chunk) = resp.chunk().await.map_err(|e| p.failed(&e))? else {
            break;
        };
        let take = chunk.len().min((limit - read) as usize);
        read += take as u64;
        if sink(&chunk[..take]).is_break() {
            break;
        }
    }
    Ok(read)
}

/// The code and message of an S3-style XML error (`<Error><Code>..</Code><Message>..`).
pub fn s3_error(body: &str) -> Option<(String, String)> {
    let element = |name: &str| {
        let start = body.find(&format!("<{name}>"))? + name.len() + 2;
        let end = body[start..].find(&format!("</{name}>"))? + start;
        Some(body[start..end].trim().to_string())
    };
    Some((element("Code")?, element("Message").unwrap_or_default()))
}
