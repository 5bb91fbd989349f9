//! Fakes of the AWS endpoints around Amplify: STS answers, GitHub's OIDC token endpoint, and
//! the credentials they hand out.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use amplify_local::http::{Request, Response};
use amplify_local::stub::{Reply, Stub};
use amplify_local::{Config, Key, Server};

use super::base_env;

pub const ROLE: &str = "arn:aws:iam::123456789012:role/amplify-deploy";
pub const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9yZy9zaXRlIn0.c2lnbmF0dXJl";
pub const REQUEST_TOKEN: &str = "runtime-request-token-abc";

pub fn key(id: &str) -> Key {
    Key {
        access_key_id: id.into(),
        secret_access_key: format!("{id}-secret/with+chars"),
        session_token: Some(format!("{id}-session-token//ab==")),
    }
}

/// An Amplify endpoint that accepts `keys` (and nothing else).
pub fn amplify(keys: Vec<Key>) -> Server {
    Server::start(Config {
        keys,
        ..Config::default()
    })
}

/// A run outside any CI with no credentials yet: only the app, branch, region and endpoint.
pub fn bare_env(server: &Server) -> BTreeMap<String, String> {
    let mut env = base_env(server);
    env.remove("AWS_ACCESS_KEY_ID");
    env.remove("AWS_SECRET_ACCESS_KEY");
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    env
}

pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = amplify_local::sigv4::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn in_an_hour() -> String {
    rfc3339(SystemTime::now() + Duration::from_secs(3600))
}

pub fn sts_ok(action: &str, k: &Key, expiration: &str) -> Response {
    Response::new(
        200,
        "text/xml",
        format!(
            "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result>\
             <Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
             <SessionToken>{}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
             </{action}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></{action}Response>",
            k.access_key_id,
            k.secret_access_key,
            k.session_token.as_deref().unwrap()
        ),
    )
}

pub fn sts_error(status: u16, code: &str, message: &str) -> Response {
    Response::new(
        status,
        "text/xml",
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
             <Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-2</RequestId></ErrorResponse>"
        ),
    )
}

/// An STS that answers both AssumeRole actions with `k`.
pub fn sts(k: Key) -> Stub {
    Stub::start(move |req| {
        let form = form(req);
        let action = form.get("Action").cloned().unwrap_or_default();
        Reply::Respond(sts_ok(&action, &k, &in_an_hour()))
    })
}

pub fn percent_decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

pub fn form(req: &Request) -> BTreeMap<String, String> {
    String::from_utf8_lossy(&req.body)
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

/// GitHub's token endpoint: checks the request token, answers a JWT for the audience asked.
pub fn github_tokens() -> Stub {
    Stub::start(|req| {
        let bearer = format!("Bearer {REQUEST_TOKEN}");
        if req.header("authorization") != Some(bearer.as_str()) {
            return Reply::Respond(Response::new(401, "text/plain", "bad token"));
        }
        Reply::Respond(Response::json(200, &serde_json::json!({ "value": JWT })))
    })
}

/// Sets up direct GitHub OIDC for a run: no keys, `role-to-assume`, the runner's token URL.
pub fn oidc(gh: &mut super::Gh, tokens: &Stub, sts_url: &str) {
    gh.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .set("AMPLIFY_ROLE_TO_ASSUME", ROLE)
        .set(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            &format!("{}/token?api-version=2.0", tokens.url()),
        )
        .set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
        .set("AWS_ENDPOINT_URL_STS", sts_url);
}

/// A run with `AWS_ROLE_ARN` and a token file holding `token`, against STS at `sts_url`.
pub fn web_identity_env(
    server: &Server,
    sts_url: &str,
    token: &str,
) -> (tempfile::TempDir, BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), token).unwrap();
    let mut env = bare_env(server);
    env.insert("AWS_ROLE_ARN".into(), ROLE.into());
    env.insert(
        "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
        dir.path().join("token").display().to_string(),
    );
    env.insert("AWS_ENDPOINT_URL_STS".into(), sts_url.into());
    (dir, env)
}
