//! STS's query API: `AssumeRoleWithWebIdentity` (unsigned: the token is the proof) and
//! `AssumeRole` (signed with the source credentials, service `sts`). Form-encoded POSTs, XML
//! answers; the few elements read here are found by name.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use reqwest::Url;

use super::{Attempt, Ctx, ProviderError, parse_expiration, with_retries};
use crate::aws::net::{error_chain, host_header};
use crate::aws::signing::sigv4_headers;

pub async fn assume_role_with_web_identity(
    ctx: &Ctx,
    role_arn: &str,
    session_name: &str,
    duration_secs: Option<u32>,
    token: &str,
) -> Result<Credentials, ProviderError> {
    let mut params = vec![
        ("Action", "AssumeRoleWithWebIdentity".to_string()),
        ("Version", "2011-06-15".into()),
        ("RoleArn", role_arn.into()),
        ("RoleSessionName", session_name.into()),
        ("WebIdentityToken", token.into()),
    ];
    if let Some(d) = duration_secs {
        params.push(("DurationSeconds", d.to_string()));
    }
    call(ctx, "AssumeRoleWithWebIdentity", role_arn, &params, None).await
}

pub async fn assume_role(
    ctx: &Ctx,
    source: &Credentials,
    role_arn: &str,
    session_name: &str,
    external_id: Option<&str>,
    duration_secs: Option<u32>,
) -> Result<Credentials, ProviderError> {
    let mut params = vec![
        ("Action", "AssumeRole".to_string()),
        ("Version", "2011-06-15".into()),
        ("RoleArn", role_arn.into()),
        ("RoleSessionName", session_name.into()),
    ];
    if let Some(d) = duration_secs {
        params.push(("DurationSeconds", d.to_string()));
    }
    if let Some(x) = external_id {
        params.push(("ExternalId", x.to_string()));
    }
    call(ctx, "AssumeRole", role_arn, &params, Some(source)).await
}

/// `application/x-www-form-urlencoded`, as Url's query serializer writes it.
pub fn form(params: &[(&str, String)]) -> String {
    let mut u = Url::parse("http://form.invalid/").expect("a fixed URL parses");
    u.query_pairs_mut()
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
    u.query().unwrap_or_default().to_string()
}

async fn call(
    ctx: &Ctx,
    action: &'static str,
    role_arn: &str,
    params: &[(&str, String)],
    signer: Option<&Credentials>,
) -> Result<Credentials, ProviderError> {
    let url = ctx.config.sts_endpoint.clone();
    let client = ctx
        .http
        .client_for(&url)
        .map_err(|e| ProviderError::failed(e.to_string()))?;
    let body = form(params);
    let what = format!("STS {action} at {}", host_header(&url));
    let answer = with_retries(&what, async || {
        let mut headers = vec![
            ("host", host_header(&url)),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            ),
        ];
        if let Some(source) = signer {
            match sigv4_headers(
                source,
                &ctx.config.region,
                "sts",
                SystemTime::now(),
                "POST",
                url.as_str(),
                &headers,
                body.as_bytes(),
            ) {
                Ok(signed) => headers.extend(signed),
                Err(e) => {
                    return Attempt::Fail(ProviderError::failed(format!(
                        "could not sign {action}: {e}"
                    )));
                }
            }
        }
        let mut req = client
            .post(url.clone())
            .timeout(ctx.config.timeout)
            .body(body.clone());
        for (n, v) in headers.iter().filter(|(n, _)| *n != "host") {
            req = req.header(*n, v.as_str());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(error_chain(&e)),
        };
        let status = resp.status().as_u16();
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => return Attempt::Retry(error_chain(&e)),
        };
        if (200..300).contains(&status) {
            return Attempt::Done(text);
        }
        let code = xml_text(&text, "Code").unwrap_or_else(|| format!("HTTP{status}"));
        let message = xml_text(&text, "Message").unwrap_or_default();
        let detail = format!("{action} failed: {code} (HTTP {status}): {message}");
        if status >= 500
            || status == 429
            || matches!(
                code.as_str(),
                "Throttling" | "ThrottlingException" | "IDPCommunicationError"
            )
        {
            return Attempt::Retry(detail);
        }
        Attempt::Fail(match hint(&code, role_arn) {
            Some(h) => ProviderError::with_hint(detail, h),
            None => ProviderError::failed(detail),
        })
    })
    .await?;
    parse_credentials(&answer, action)
}

fn hint(code: &str, role_arn: &str) -> Option<String> {
    Some(match code {
        "AccessDenied" => format!(
            "the trust policy of {role_arn} does not let this identity assume it: for GitHub OIDC it must trust \
             token.actions.githubusercontent.com with a `sub` condition matching this repository (README: Credentials)"
        ),
        "InvalidIdentityToken" => "STS refused the OIDC token: check that the IAM OIDC provider exists for its issuer and that the audience matches".into(),
        "ExpiredTokenException" | "ExpiredToken" => "the token expired: fetch a fresh one before this step".into(),
        "RegionDisabledException" => "STS is not activated in this region: activate it in IAM > Account settings, or set AWS_ENDPOINT_URL_STS".into(),
        "ValidationError" => "check the role ARN, session name and duration".into(),
        _ => return None,
    })
}

/// The `<Credentials>` of an AssumeRole* answer.
pub fn parse_credentials(xml: &str, action: &str) -> Result<Credentials, ProviderError> {
    let creds = section(xml, "Credentials")
        .ok_or_else(|| ProviderError::failed(format!("{action} answered without <Credentials>")))?;
    let field = |name: &str| {
        xml_text(creds, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ProviderError::failed(format!("{action} answered without <{name}>")))
    };
    let (id, secret, token) = (
        field("AccessKeyId")?,
        field("SecretAccessKey")?,
        field("SessionToken")?,
    );
    let expiration = field("Expiration")?;
    let expiry = parse_expiration(&expiration).ok_or_else(|| {
        ProviderError::failed(format!(
            "{action} answered an Expiration that is not a time: {}",
            crate::env::show(&expiration)
        ))
    })?;
    Ok(Credentials::new(
        id,
        secret,
        Some(token),
        Some(expiry),
        "sts",
    ))
}

/// The inside of the first `<name>...</name>`.
fn section<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(&xml[start..end])
}

/// The text of the first `<name>`, with XML's entities decoded.
pub fn xml_text(xml: &str, name: &str) -> Option<String> {
    section(xml, name).map(|s| unescape(s.trim()))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>repo:org/site:ref:refs/heads/main</SubjectFromWebIdentityToken>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>se/cret+key</SecretAccessKey>
      <SessionToken>to&amp;ken</SessionToken>
      <Expiration>2026-11-28T23:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"#;

    #[test]
    fn credentials_parse_from_the_answer() {
        let c = parse_credentials(OK, "AssumeRoleWithWebIdentity").unwrap();
        assert_eq!(c.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(c.secret_access_key(), "se/cret+key");
        assert_eq!(c.session_token(), Some("to&ken"));
        assert!(c.expiry().is_some());
    }

    #[test]
    fn incomplete_answers_are_errors() {
        for bad in [
            "",
            "<html>oops</html>",
            &OK.replace("<SessionToken>to&amp;ken</SessionToken>", ""),
            &OK.replace("2026-11-28T23:00:00Z", "later"),
        ] {
            assert!(parse_credentials(bad, "AssumeRole").is_err(), "{bad}");
        }
    }

    #[test]
    fn entities_decode() {
        assert_eq!(
            unescape("a&lt;b&gt;&amp;&#65;&#x42;&bogus;"),
            "a<b>&AB&bogus;"
        );
    }

    #[test]
    fn forms_encode_like_botocore() {
        assert_eq!(
            form(&[
                ("Action", "AssumeRole".into()),
                ("RoleArn", "arn:aws:iam::123456789012:role/a b".into())
            ]),
            "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fa+b"
        );
    }
}
