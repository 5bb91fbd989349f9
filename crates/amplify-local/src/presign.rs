//! URLs presigned as S3's are: the zip upload (`CreateDeployment`), the step logs (`GetJob`) and
//! the artifacts (`GetArtifactUrl`). They carry no SigV4 header; a token names what they grant
//! and when that ends. Refusals are S3's XML errors.

use crate::http::Response;
use crate::state::State;

/// What a presigned URL grants, and until when.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub app_id: String,
    pub branch: String,
    pub job_id: u64,
    /// The step of a log, the index of an artifact; empty for an upload.
    pub item: String,
    /// Seconds since the epoch after which the URL answers 403 "Request has expired".
    pub expires: f64,
}

/// A new URL under `/{path}/` for `grant`, valid for `ttl` seconds from now.
pub(crate) fn issue(s: &mut State, path: &str, mut grant: Grant, ttl: u64) -> String {
    grant.expires = crate::state::now() + ttl as f64;
    let token = format!(
        "{:016x}{:08x}",
        crate::state::scramble(s.presigned.len()),
        grant.job_id
    );
    s.presigned.insert(token.clone(), grant);
    format!(
        "{}/{path}/{token}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires={ttl}&X-Amz-Signature={token}{token}",
        s.base_url
    )
}

/// The grant of a request to a presigned URL: S3's 405 for another method than the URL was
/// signed for, and its 403 for a token never issued or expired.
pub(crate) fn redeem(
    s: &State,
    token: &str,
    method: &str,
    signed_for: &str,
) -> Result<Grant, Response> {
    if method != signed_for {
        return Err(s3_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed",
        ));
    }
    let Some(g) = s.presigned.get(token).cloned() else {
        return Err(s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided",
        ));
    };
    if crate::state::now() >= g.expires {
        return Err(s3_error(403, "AccessDenied", "Request has expired"));
    }
    Ok(g)
}

/// An error as S3 answers it.
pub(crate) fn s3_error(status: u16, code: &str, message: &str) -> Response {
    Response::new(
        status,
        "application/xml",
        format!("<Error><Code>{code}</Code><Message>{message}</Message></Error>"),
    )
}
