//! SigV4 verification written from the AWS documentation ("Create a canonical request for
//! Signature Version 4"), independently of the aws-sigv4 crate the client signs with.
//! Non-S3 rule: the canonical URI is the request path as sent, URI-encoded once more.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::http::Request;

/// A key pair (and optional session token) the endpoint accepts.
#[derive(Clone)]
pub struct Key {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// Why a request was refused, shaped as AWS answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
}

fn reject(code: &'static str, message: impl Into<String>) -> Rejection {
    Rejection {
        code,
        message: message.into(),
    }
}

pub struct Verified {
    pub access_key_id: String,
    pub canonical_request: String,
}

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Amplify refuses signatures more than 5 minutes away from its clock (the texts of
/// "Signature expired" and "Signature not yet current" that AWS's services answer say "5 min.").
const MAX_SKEW_SECS: i64 = 5 * 60;

/// The access key ID a request's `Authorization` header names.
pub fn access_key_id(req: &Request) -> Option<&str> {
    let auth = req.header("authorization")?;
    let credential = auth.split("Credential=").nth(1)?;
    credential.split('/').next()
}

/// The service a request is signed for: its credential scope's fourth part
/// (`AKID/20261207/us-east-1/amplify/aws4_request`).
pub fn scope_service(req: &Request) -> Option<&str> {
    let auth = req.header("authorization")?;
    let credential = auth.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    scope.split('/').nth(3)
}

pub fn verify(
    req: &Request,
    keys: &[Key],
    region: &str,
    service: &str,
    now_epoch: i64,
) -> Result<Verified, Rejection> {
    let auth = req.header("authorization").ok_or_else(|| {
        reject(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    })?;
    let rest = auth
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| reject("IncompleteSignatureException", "Unsupported algorithm"))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| reject("IncompleteSignatureException", "Malformed Authorization"))?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let (credential, signed_headers, signature) = match (credential, signed_headers, signature) {
        (Some(c), Some(h), Some(s)) => (c, h, s),
        _ => {
            return Err(reject(
                "IncompleteSignatureException",
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'",
            ));
        }
    };
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[4] != "aws4_request" {
        return Err(reject(
            "IncompleteSignatureException",
            "Credential must have five slash-separated parts",
        ));
    }
    let (akid, date, scope_region, scope_service) = (scope[0], scope[1], scope[2], scope[3]);
    let key = keys
        .iter()
        .find(|k| k.access_key_id == akid)
        .ok_or_else(|| {
            reject(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        })?;
    if scope_service != service {
        return Err(reject(
            "InvalidSignatureException",
            format!("Credential should be scoped to correct service: '{service}'."),
        ));
    }
    if scope_region != region {
        return Err(reject(
            "InvalidSignatureException",
            format!(
                "Credential should be scoped to a valid region, not '{scope_region}'. Expected '{region}'."
            ),
        ));
    }
    let amz_date = req.header("x-amz-date").ok_or_else(|| {
        reject(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    let signed_at = parse_amz_date(amz_date)
        .ok_or_else(|| reject("IncompleteSignatureException", "Malformed X-Amz-Date"))?;
    if !amz_date.starts_with(date) {
        return Err(reject(
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP",
        ));
    }
    let (now, min) = (amz_date_of(now_epoch), MAX_SKEW_SECS / 60);
    if signed_at < now_epoch - MAX_SKEW_SECS {
        let bound = amz_date_of(now_epoch - MAX_SKEW_SECS);
        return Err(reject(
            "InvalidSignatureException",
            format!(
                "Signature expired: {amz_date} is now earlier than {bound} ({now} - {min} min.)"
            ),
        ));
    }
    if signed_at > now_epoch + MAX_SKEW_SECS {
        let bound = amz_date_of(now_epoch + MAX_SKEW_SECS);
        return Err(reject(
            "InvalidSignatureException",
            format!(
                "Signature not yet current: {amz_date} is still later than {bound} ({now} + {min} min.)"
            ),
        ));
    }
    let signed: Vec<&str> = signed_headers.split(';').collect();
    for required in ["host", "x-amz-date"] {
        if !signed.contains(&required) {
            return Err(reject(
                "InvalidSignatureException",
                format!("'{required}' must be a signed header"),
            ));
        }
    }
    match (&key.session_token, req.header("x-amz-security-token")) {
        (Some(expected), Some(got)) if expected == got => {
            if !signed.contains(&"x-amz-security-token") {
                return Err(reject(
                    "InvalidSignatureException",
                    "'x-amz-security-token' must be a signed header",
                ));
            }
        }
        (None, None) => {}
        _ => {
            return Err(reject(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ));
        }
    }

    let canonical_request = canonical_request(req, &signed)?;
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut k = hmac(
        format!("AWS4{}", key.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [region, service, "aws4_request"] {
        k = hmac(&k, part.as_bytes());
    }
    let expected = hex(&hmac(&k, string_to_sign.as_bytes()));
    if expected != signature {
        return Err(reject(
            "InvalidSignatureException",
            format!(
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n\
                 The Canonical String for this request should have been\n'{canonical_request}'\n\n\
                 The String-to-Sign should have been\n'{string_to_sign}'\n"
            ),
        ));
    }
    Ok(Verified {
        access_key_id: akid.to_string(),
        canonical_request,
    })
}

fn canonical_request(req: &Request, signed: &[&str]) -> Result<String, Rejection> {
    let mut out = String::new();
    out.push_str(&req.method);
    out.push('\n');
    // The path exactly as it came on the wire, encoded a second time ('/' kept).
    out.push_str(&uri_encode(req.raw_path(), true));
    out.push('\n');
    let mut query: Vec<(String, String)> = req
        .raw_query()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    out.push_str(&query.join("&"));
    out.push('\n');
    for name in signed {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(reject(
                "InvalidSignatureException",
                format!("Signed header '{name}' is missing from the request"),
            ));
        }
        out.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    out.push('\n');
    out.push_str(&signed.join(";"));
    out.push('\n');
    out.push_str(&hex(&Sha256::digest(&req.body)));
    Ok(out)
}

/// RFC 3986 unreserved characters stay; everything else becomes %XX (upper-case hex).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(v) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYYMMDDTHHMMSSZ` to Unix seconds.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// (year, month, day) of a day counted from 1970-01-01 (Howard Hinnant's civil-from-days).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as HTTP `Date` headers carry.
pub fn http_date(epoch: i64) -> String {
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m - 1) as usize];
    format!(
        "{weekday}, {d:02} {month} {y} {:02}:{:02}:{:02} GMT",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `20150830T123600Z`, as `X-Amz-Date` carries a time.
pub fn amz_date_of(epoch: i64) -> String {
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Howard Hinnant's days-from-civil algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the AWS SigV4 documentation (IAM ListUsers, GET, us-east-1).
    #[test]
    fn verifies_the_aws_documentation_example() {
        let req = Request {
            method: "GET".into(),
            target: "/?Action=ListUsers&Version=2010-05-08".into(),
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                ),
                ("Host".into(), "iam.amazonaws.com".into()),
                ("X-Amz-Date".into(), "20150830T123600Z".into()),
                (
                    "Authorization".into(),
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-date, \
                     Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
                        .into(),
                ),
            ],
            body: vec![],
        };
        let keys = [Key {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }];
        let now = parse_amz_date("20150830T123600Z").unwrap();
        verify(&req, &keys, "us-east-1", "iam", now).expect("documented signature verifies");
        let err = verify(&req, &keys, "us-east-1", "iam", now + 3600)
            .err()
            .expect("an hour of skew is refused");
        assert_eq!(
            err.message,
            "Signature expired: 20150830T123600Z is now earlier than 20150830T133100Z (20150830T133600Z - 5 min.)"
        );
        let err = verify(&req, &keys, "us-east-1", "iam", now - 301)
            .err()
            .expect("a client 5 minutes ahead is refused");
        assert_eq!(
            err.message,
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T123059Z + 5 min.)"
        );
        verify(&req, &keys, "us-east-1", "iam", now - 300).expect("5 minutes is within the window");
    }

    #[test]
    fn double_encodes_the_path() {
        assert_eq!(
            uri_encode("/apps/d1/branches/feature%2Fx/jobs", true),
            "/apps/d1/branches/feature%252Fx/jobs"
        );
        assert_eq!(percent_decode("a%2Fb%zz%"), "a/b%zz%");
    }

    #[test]
    fn formats_http_dates() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(1_709_251_199), "Thu, 29 Feb 2024 23:59:59 GMT");
    }

    #[test]
    fn parses_amz_dates() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(1_709_251_199));
        assert_eq!(parse_amz_date("2024-02-29"), None);
    }
}
