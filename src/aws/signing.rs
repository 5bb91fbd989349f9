//! SigV4 request signing over a credentials value: the Amplify API (service `amplify`) and STS
//! `AssumeRole` both sign through here.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

/// Access key, secret key and session token; its `Debug` redacts the secrets.
pub use aws_credential_types::Credentials;

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
