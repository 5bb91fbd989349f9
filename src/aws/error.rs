//! AWS's rest-json error shape, for every service: what went wrong with one call, the code
//! and message read from an error answer (`x-amzn-ErrorType`, the body's `__type`/`code`,
//! `message`), the clock skew AWS's `Date` tells, and a failed connection's text.

use std::time::{Duration, SystemTime};

use reqwest::Url;
use serde_json::Value;

use crate::aws::net::{error_chain, host_header};

/// What went wrong with one call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// AWS answered with an error.
    #[error("{operation} failed: {code} (HTTP {status}): {message}")]
    Service {
        operation: &'static str,
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
        retry_after: Option<Duration>,
        /// Seconds AWS's clock (its `Date` header) is ahead of ours.
        clock_skew: Option<i64>,
        hint: Option<String>,
        /// The quota a `ServiceQuotaExceededException` (or a throttle) names, as AWS's body
        /// gives it (`quotaCode`).
        quota_code: Option<String>,
    },
    /// No answer: connection refused or reset, timeout. `sent` says whether the request may
    /// have reached the server (then the job may exist).
    #[error("{operation} got no answer from {endpoint}: {detail}")]
    Transport {
        operation: &'static str,
        endpoint: String,
        detail: String,
        sent: bool,
    },
    /// A 2xx answer this tool cannot read.
    #[error("{operation} answered something unreadable: {detail}")]
    Malformed {
        operation: &'static str,
        detail: String,
    },
    #[error("could not sign the request: {0}")]
    Signing(String),
    /// The credentials expired and could not be refreshed.
    #[error("{operation} has no valid credentials: {detail}")]
    Credentials {
        operation: &'static str,
        detail: String,
    },
}

impl ApiError {
    pub fn hint(&self) -> Option<&str> {
        match self {
            ApiError::Service { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }

    /// AWS's message, for an error AWS answered.
    pub fn message(&self) -> Option<&str> {
        match self {
            ApiError::Service { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The same error with what to check for its code, as `hint_for` says (only AWS's answers
    /// carry one), and the quota's code when AWS named one.
    pub fn hinted(self, hint_for: impl FnOnce(&str) -> Option<String>) -> ApiError {
        let ApiError::Service {
            code, quota_code, ..
        } = &self
        else {
            return self;
        };
        match (hint_for(code), quota_code.clone()) {
            (Some(hint), Some(q)) => self.with_hint(format!("{hint} (quota code {q})")),
            (Some(hint), None) => self.with_hint(hint),
            (None, _) => self,
        }
    }

    /// The same error with `hint` for what to do (only AWS's answers carry one).
    pub fn with_hint(mut self, new: String) -> ApiError {
        if let ApiError::Service { hint, .. } = &mut self {
            *hint = Some(new);
        }
        self
    }
}

impl ApiError {
    /// AWS refused the signature because this machine's clock is off, and said by how much.
    pub fn skew_to_correct(&self) -> Option<i64> {
        match self {
            ApiError::Service {
                code,
                message,
                clock_skew: Some(skew),
                ..
            } if (code == "InvalidSignatureException"
                && (message.starts_with("Signature expired")
                    || message.starts_with("Signature not yet current")))
                || code == "RequestTimeTooSkewed"
                || code == "RequestExpired" =>
            {
                Some(*skew)
            }
            _ => None,
        }
    }
}

/// AWS's clock minus ours, in seconds, from an HTTP `Date` header.
pub fn clock_skew(date: &str, now: SystemTime) -> Option<i64> {
    let server =
        time::OffsetDateTime::parse(date.trim(), &time::format_description::well_known::Rfc2822)
            .ok()?;
    let now = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(server.unix_timestamp() - now)
}

pub fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub fn transport(operation: &'static str, url: &Url, e: &reqwest::Error) -> ApiError {
    // A refused connection never carried the request; anything later may have.
    let sent = !e.is_connect();
    let mut detail = error_chain(e);
    if detail.contains("UnknownIssuer") || detail.contains("invalid peer certificate") {
        detail.push_str(
            " (the certificate is not from a CA this run trusts: point AWS_CA_BUNDLE at your network's CA, or set AMPLIFY_CA_STORE=system if it is installed on this machine)",
        );
    }
    ApiError::Transport {
        operation,
        endpoint: format!("{}://{}", url.scheme(), host_header(url)),
        detail,
        sent,
    }
}

/// The error code and message of an error answer: `x-amzn-ErrorType`, then the body's
/// `__type` / `code`; message from `message` / `Message`. Non-JSON bodies (a proxy's HTML)
/// become a short, one-line excerpt.
pub fn parse_error(status: u16, error_type: Option<&str>, body: &[u8]) -> (String, String) {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |names: &[&str]| {
        json.as_ref().and_then(|j| {
            names
                .iter()
                .find_map(|n| j.get(*n).and_then(Value::as_str).map(str::to_string))
        })
    };
    let code = error_type
        .map(str::to_string)
        .or_else(|| field(&["__type", "code", "Code"]))
        .map(|c| sanitize_code(&c))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| format!("HTTP{status}"));
    let message = field(&["message", "Message", "errorMessage"]).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            "(empty body)".into()
        } else {
            crate::env::truncate_chars(&text, 200).0
        }
    });
    (code, message)
}

/// The `quotaCode` an error answer's body names, if any.
pub fn quota_code(body: &[u8]) -> Option<String> {
    let json: Value = serde_json::from_slice(body).ok()?;
    json.get("quotaCode")?.as_str().map(str::to_string)
}

/// `NotFoundException:http://internal...` and `aws.protocols#NotFoundException` to `NotFoundException`.
fn sanitize_code(code: &str) -> String {
    let code = code.split(':').next().unwrap_or(code);
    code.rsplit('#').next().unwrap_or(code).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_parse_from_header_body_or_html() {
        let (c, m) = parse_error(
            404,
            Some("NotFoundException:http://internal.amazon.com/coral/com.amazonaws.amplify/"),
            br#"{"message":"App d1 not found."}"#,
        );
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("NotFoundException", "App d1 not found.")
        );
        let (c, m) = parse_error(
            400,
            None,
            br#"{"__type":"com.amazon.coral#ExpiredTokenException","Message":"expired"}"#,
        );
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("ExpiredTokenException", "expired")
        );
        let (c, m) = parse_error(503, None, b"<html>\n<h1>503</h1></html>");
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("HTTP503", "<html> <h1>503</h1></html>")
        );
    }

    #[test]
    fn clock_skew_comes_from_the_date_header() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(clock_skew("Sun, 06 Nov 1994 09:09:37 GMT", now), Some(1200));
        assert_eq!(clock_skew("Sun, 06 Nov 1994 08:49:30 GMT", now), Some(-7));
        assert_eq!(clock_skew("yesterday", now), None);
    }
}
