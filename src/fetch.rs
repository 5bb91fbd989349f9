//! A GET of a presigned URL (a step's log, an artifact): the URL exactly as Amplify gave it, no
//! SigV4, through the same proxy and CA rules as every request, within the request timeout. The
//! body goes to a sink chunk by chunk and is never held whole, whatever its size.

use std::time::Duration;

use reqwest::Url;

use crate::amplify::ApiError;
use crate::net::{Http, error_chain, host_header};

/// One attempt: the body's bytes handed to `sink` as they arrive; the number of bytes read.
/// A sink that fails (a full disk) ends it as [`ApiError::Malformed`], which is not retried.
pub async fn get(
    http: &Http,
    url: &str,
    operation: &'static str,
    timeout: Duration,
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<u64, ApiError> {
    let parsed = Url::parse(url).map_err(|e| ApiError::Malformed {
        operation,
        detail: format!("not a URL: {e}"),
    })?;
    let endpoint = format!("{}://{}", parsed.scheme(), host_header(&parsed));
    let transport = |detail: String, sent: bool| ApiError::Transport {
        operation,
        endpoint: endpoint.clone(),
        detail,
        sent,
    };
    let client = http
        .client_for(&parsed)
        .map_err(|e| transport(e.to_string(), false))?;
    let mut resp = client
        .get(parsed.clone())
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| transport(error_chain(&e), !e.is_connect()))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        let text = resp.text().await.unwrap_or_default();
        let (code, message) = s3_error(&text)
            .unwrap_or_else(|| crate::amplify::parse_error(status, None, text.as_bytes()));
        return Err(ApiError::Service {
            operation,
            status,
            code,
            message,
            request_id: None,
            retry_after: None,
            clock_skew: None,
            hint: None,
        });
    }
    let mut read = 0u64;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport(error_chain(&e), true))?
    {
        read += chunk.len() as u64;
        sink(&chunk).map_err(|e| ApiError::Malformed {
            operation,
            detail: format!("cannot keep what was read: {e}"),
        })?;
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
