//! The credential chain, provider by provider, each against a local fake of its endpoint:
//! GitHub's OIDC token endpoint, STS (query API, XML), the container endpoint, IMDSv2. The
//! credentials obtained must then sign a `StartJob` the local Amplify endpoint verifies.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use amplify_local::http::Response;
use amplify_local::stub::{Reply, Stub};
use amplify_local::{DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY, Key};
use common::aws::*;
use common::*;

fn signed_with(server: &Server) -> Vec<String> {
    api_requests(server)
        .iter()
        .map(|r| {
            assert!(r.signature.is_ok(), "signature verifies: {:?}", r.signature);
            amplify_local::sigv4::access_key_id(&r.request)
                .unwrap()
                .to_string()
        })
        .collect()
}

/// Every line that shows a secret is a mask, and every mask comes before the first log line
/// that follows it from the credentials.
fn assert_masked(stderr: &str, secrets: &[&str]) {
    for s in secrets {
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(s)).collect();
        assert!(!lines.is_empty(), "{s} is masked: {stderr}");
        for l in lines {
            assert_eq!(l, format!("::add-mask::{s}"), "only masks show {s}");
        }
    }
    let first_mask = stderr.lines().position(|l| l.starts_with("::add-mask::"));
    let used = stderr.lines().position(|l| l.contains("credentials: "));
    assert!(first_mask < used, "masks come first: {stderr}");
}

/// An Amplify endpoint that accepts any access key, with the secret [`key`] derives from it.
fn amplify_trusting_any() -> Server {
    Server::start(Config {
        key_source: Some(Arc::new(|id: &str| Some(key(id)))),
        ..Config::default()
    })
}

#[test]
fn github_oidc_assumes_the_role_and_starts_the_job() {
    let issued = key("ASIAGITHUBOIDC");
    let server = amplify(vec![issued.clone()]);
    let sts = sts(issued.clone());
    let tokens = github_tokens();
    let mut gh = github(&server, "push", serde_json::json!({}));
    oidc(&mut gh, &tokens, &sts.url());
    gh.set("RUST_LOG", "trace");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);

    let token_req = &tokens.requests()[0];
    assert_eq!(token_req.method, "GET");
    assert_eq!(
        token_req.target,
        "/token?api-version=2.0&audience=sts.amazonaws.com"
    );
    let sts_req = &sts.requests()[0];
    assert_eq!(sts_req.method, "POST");
    assert_eq!(
        sts_req.header("content-type"),
        Some("application/x-www-form-urlencoded; charset=utf-8")
    );
    assert_eq!(
        sts_req.header("authorization"),
        None,
        "the token is the proof"
    );
    let f = form(sts_req);
    assert_eq!(f["Action"], "AssumeRoleWithWebIdentity");
    assert_eq!(f["Version"], "2011-06-15");
    assert_eq!(f["RoleArn"], ROLE);
    assert_eq!(f["WebIdentityToken"], JWT);
    assert_eq!(f["RoleSessionName"], "amplify-start-job-1234-2");
    assert_eq!(f["DurationSeconds"], "3600");

    assert_eq!(signed_with(&server), ["ASIAGITHUBOIDC"]);
    let started = &first(&server, Op::StartJob).request;
    assert_eq!(
        started.header("x-amz-security-token"),
        issued.session_token.as_deref()
    );
    assert!(
        run.stderr
            .contains(&format!("credentials: GitHub OIDC, role {ROLE}")),
        "{}",
        run.stderr
    );
    assert_masked(
        &run.stderr,
        &[
            JWT,
            &issued.secret_access_key,
            issued.session_token.as_deref().unwrap(),
        ],
    );
    assert!(!run.stdout.contains(&issued.secret_access_key));
}

#[test]
fn oidc_audience_session_name_and_duration_are_settable() {
    let issued = key("ASIAGITHUBOIDC");
    let server = amplify(vec![issued.clone()]);
    let sts = sts(issued);
    let tokens = github_tokens();
    let mut gh = github(&server, "push", serde_json::json!({}));
    oidc(&mut gh, &tokens, &sts.url());
    gh.unset("AMPLIFY_ROLE_TO_ASSUME")
        .set("AWS_ROLE_TO_ASSUME", ROLE)
        .set("AMPLIFY_OIDC_AUDIENCE", "api://amplify deploy")
        .set("AMPLIFY_ROLE_SESSION_NAME", "site-deploy")
        .set("AMPLIFY_ROLE_DURATION_SECONDS", "900");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        tokens.requests()[0].target,
        "/token?api-version=2.0&audience=api%3A%2F%2Famplify+deploy"
    );
    let f = form(&sts.requests()[0]);
    assert_eq!(
        (f["RoleSessionName"].as_str(), f["DurationSeconds"].as_str()),
        ("site-deploy", "900")
    );
}

#[test]
fn a_job_without_id_token_permission_is_told_how_to_fix_it() {
    let server = amplify(vec![]);
    let mut gh = github(&server, "push", serde_json::json!({}));
    gh.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .set("AMPLIFY_ROLE_TO_ASSUME", ROLE);
    let run = gh.run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("ACTIONS_ID_TOKEN_REQUEST_URL")
            && run.stderr.contains("permissions: id-token: write"),
        "{}",
        run.stderr
    );
    assert!(server.requests().is_empty());
    assert_eq!(gh.output(), "earlier=kept\n");
}

#[test]
fn a_refused_github_token_request_is_explained() {
    let server = amplify(vec![]);
    let tokens = Stub::start(|_| Reply::Respond(Response::new(403, "text/plain", "expired")));
    let mut gh = github(&server, "push", serde_json::json!({}));
    oidc(&mut gh, &tokens, "http://127.0.0.1:1");
    let run = gh.run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("GitHub's OIDC token endpoint refused the request token (HTTP 403)")
            && run.stderr.contains("id-token: write"),
        "{}",
        run.stderr
    );
    assert_eq!(tokens.requests().len(), 1, "a refusal is not retried");
    assert!(server.requests().is_empty());
}

#[test]
fn sts_refusals_stop_the_run_with_a_hint_and_are_not_retried() {
    for (status, code, expect) in [
        (403, "AccessDenied", "trust policy"),
        (400, "InvalidIdentityToken", "IAM OIDC provider"),
        (400, "ExpiredTokenException", "fresh one"),
    ] {
        let server = amplify(vec![]);
        let sts = Stub::start(move |_| Reply::Respond(sts_error(status, code, "Not authorized")));
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, JWT).unwrap();
        let mut env = bare_env(&server);
        env.insert("AWS_ROLE_ARN".into(), ROLE.into());
        env.insert(
            "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
            token_file.display().to_string(),
        );
        env.insert("AWS_ENDPOINT_URL_STS".into(), sts.url());
        let run = run_with(&env, None);
        assert_eq!(run.code, 2, "{code}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "AssumeRoleWithWebIdentity failed: {code} (HTTP {status}): Not authorized"
            )) && run.stderr.contains(expect),
            "{}",
            run.stderr
        );
        assert_eq!(sts.requests().len(), 1, "{code} is not retried");
        assert!(server.requests().is_empty());
        assert!(!run.stderr.contains(JWT), "the token is never printed");
    }
}

#[test]
fn sts_throttling_and_server_errors_are_retried() {
    let issued = key("ASIAAFTERTHROTTLE");
    let server = amplify(vec![issued.clone()]);
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    let sts = Stub::start(move |_| {
        Reply::Respond(match seen.fetch_add(1, Ordering::SeqCst) {
            0 => sts_error(400, "Throttling", "Rate exceeded"),
            1 => sts_error(503, "ServiceUnavailable", "try again"),
            _ => sts_ok("AssumeRoleWithWebIdentity", &issued, &in_an_hour()),
        })
    });
    let (_dir, env) = web_identity_env(&server, &sts.url(), &format!("{JWT}\n"));
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(n.load(Ordering::SeqCst), 3);
    assert_eq!(
        run.stderr.matches("retrying in").count(),
        2,
        "each retry is logged: {}",
        run.stderr
    );
    assert_eq!(signed_with(&server), ["ASIAAFTERTHROTTLE"]);
}

#[test]
fn an_sts_that_never_answers_times_out() {
    let server = amplify(vec![]);
    let sts = Stub::start(|_| Reply::Hang);
    let (_dir, mut env) = web_identity_env(&server, &sts.url(), JWT);
    env.insert("AMPLIFY_REQUEST_TIMEOUT".into(), "200ms".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("timed out") && run.stderr.contains("after 3 attempts"),
        "{}",
        run.stderr
    );
    assert_eq!(sts.requests().len(), 3);
    assert!(server.requests().is_empty());
}

#[test]
fn malformed_sts_answers_are_errors() {
    for body in [
        "<html>proxy</html>",
        "<AssumeRoleWithWebIdentityResponse><Credentials><AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResponse>",
    ] {
        let server = amplify(vec![]);
        let sts = Stub::start(move |_| Reply::Respond(Response::new(200, "text/xml", body)));
        let (_dir, env) = web_identity_env(&server, &sts.url(), JWT);
        let run = run_with(&env, None);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("answered without <"), "{}", run.stderr);
        assert!(server.requests().is_empty());
    }
}

#[test]
fn a_web_identity_token_file_with_its_session_name() {
    let issued = key("ASIAGITLAB");
    let server = amplify(vec![issued.clone()]);
    let sts = sts(issued);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), format!("  {JWT}\n")).unwrap();
    let mut env = bare_env(&server);
    env.insert("AWS_ROLE_ARN".into(), ROLE.into());
    env.insert(
        "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
        dir.path().join("token").display().to_string(),
    );
    env.insert("AWS_ROLE_SESSION_NAME".into(), "gitlab-pipeline-77".into());
    env.insert("AWS_ENDPOINT_URL_STS".into(), sts.url());
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let f = form(&sts.requests()[0]);
    assert_eq!(f["WebIdentityToken"], JWT);
    assert_eq!(f["RoleSessionName"], "gitlab-pipeline-77");
    assert!(!f.contains_key("DurationSeconds"), "STS's default applies");
    assert_eq!(signed_with(&server), ["ASIAGITLAB"]);
    assert!(!run.stderr.contains("::add-mask::"), "masks only on GitHub");
}

#[test]
fn half_set_web_identity_is_an_error() {
    let server = amplify(vec![]);
    let mut env = bare_env(&server);
    env.insert("AWS_ROLE_ARN".into(), ROLE.into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not"),
        "{}",
        run.stderr
    );
    assert!(server.requests().is_empty());
}

/// Writes the config and credentials files and points the run at them.
fn profiles(env: &mut BTreeMap<String, String>, dir: &std::path::Path, config: &str, creds: &str) {
    std::fs::write(dir.join("config"), config).unwrap();
    std::fs::write(dir.join("credentials"), creds).unwrap();
    env.insert(
        "AWS_CONFIG_FILE".into(),
        dir.join("config").display().to_string(),
    );
    env.insert(
        "AWS_SHARED_CREDENTIALS_FILE".into(),
        dir.join("credentials").display().to_string(),
    );
}

#[test]
fn the_default_profile_in_home_gives_static_keys() {
    let server = Server::start(Config::default());
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        format!(
            "[default]\naws_access_key_id = {DEMO_ACCESS_KEY_ID}\naws_secret_access_key = {DEMO_SECRET_ACCESS_KEY}\n"
        ),
    )
    .unwrap();
    let mut env = bare_env(&server);
    env.insert("HOME".into(), home.path().display().to_string());
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("credentials: profile default (keys)"),
        "{}",
        run.stderr
    );
    assert_eq!(signed_with(&server), [DEMO_ACCESS_KEY_ID]);
}

#[test]
fn a_profile_role_is_assumed_with_its_source_profile_signing() {
    let issued = key("ASIAASSUMED");
    let server = amplify(vec![issued.clone()]);
    let sts = Stub::start(move |req| {
        // AssumeRole is signed by the source profile's keys: check it as STS would.
        let keys = [Key {
            access_key_id: DEMO_ACCESS_KEY_ID.into(),
            secret_access_key: DEMO_SECRET_ACCESS_KEY.into(),
            session_token: None,
        }];
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        match amplify_local::sigv4::verify(req, &keys, "us-east-1", "sts", now) {
            Ok(_) => Reply::Respond(sts_ok("AssumeRole", &issued, &in_an_hour())),
            Err(e) => Reply::Respond(sts_error(403, "SignatureDoesNotMatch", &format!("{e:?}"))),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut env = bare_env(&server);
    profiles(
        &mut env,
        dir.path(),
        &format!(
            "[profile deploy]\nrole_arn = {ROLE}\nsource_profile = base\nexternal_id = ext-42\nrole_session_name = jenkins\nduration_seconds = 1800\n"
        ),
        &format!(
            "[base]\naws_access_key_id = {DEMO_ACCESS_KEY_ID}\naws_secret_access_key = {DEMO_SECRET_ACCESS_KEY}\n"
        ),
    );
    env.insert("AWS_PROFILE".into(), "deploy".into());
    env.insert("AWS_ENDPOINT_URL_STS".into(), sts.url());
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let f = form(&sts.requests()[0]);
    assert_eq!(f["Action"], "AssumeRole");
    assert_eq!(f["RoleArn"], ROLE);
    assert_eq!(f["ExternalId"], "ext-42");
    assert_eq!(f["RoleSessionName"], "jenkins");
    assert_eq!(f["DurationSeconds"], "1800");
    assert_eq!(signed_with(&server), ["ASIAASSUMED"]);
    assert!(
        run.stderr.contains(&format!(
            "credentials: role {ROLE} assumed with profile base (keys)"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_profile_web_identity_token_file_is_exchanged_at_sts() {
    let issued = key("ASIAPROFILEWEBID");
    let server = amplify(vec![issued.clone()]);
    let sts = sts(issued);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), JWT).unwrap();
    let mut env = bare_env(&server);
    profiles(
        &mut env,
        dir.path(),
        &format!(
            "[profile eks]\nrole_arn = {ROLE}\nweb_identity_token_file = {}\n",
            dir.path().join("token").display()
        ),
        "",
    );
    env.insert("AWS_PROFILE".into(), "eks".into());
    env.insert("AWS_ENDPOINT_URL_STS".into(), sts.url());
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let f = form(&sts.requests()[0]);
    assert_eq!(f["Action"], "AssumeRoleWithWebIdentity");
    assert_eq!(f["WebIdentityToken"], JWT);
    assert_eq!(signed_with(&server), ["ASIAPROFILEWEBID"]);
}

#[test]
fn a_profile_credential_process_is_run() {
    let server = Server::start(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let mut env = bare_env(&server);
    profiles(
        &mut env,
        dir.path(),
        &format!(
            "[default]\ncredential_process = printf '{{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\"}}' {DEMO_ACCESS_KEY_ID} {DEMO_SECRET_ACCESS_KEY}\n"
        ),
        "",
    );
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("credentials: credential_process of profile default")
    );
    assert_eq!(signed_with(&server), [DEMO_ACCESS_KEY_ID]);

    let mut env = bare_env(&server);
    profiles(
        &mut env,
        dir.path(),
        "[default]\ncredential_process = echo 'no such account' >&2; exit 3\n",
        "",
    );
    let run = run_with(&env, None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no such account")
            && run
                .stderr
                .contains("credential_process exited with exit status: 3"),
        "{}",
        run.stderr
    );
}

#[test]
fn profiles_that_cannot_work_in_ci_are_refused_clearly() {
    let server = amplify(vec![]);
    let dir = tempfile::tempdir().unwrap();
    for (config, profile, expect) in [
        (
            "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n",
            "sso",
            "IAM Identity Center (SSO) profile",
        ),
        (
            "[default]\nregion = us-east-1\n",
            "missing",
            "AWS_PROFILE is \"missing\" but no such profile",
        ),
        (
            "[profile loop]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = other\n[profile other]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = loop\n",
            "loop",
            "loops",
        ),
        (
            "[profile empty]\nregion = us-east-1\n",
            "empty",
            "has no aws_access_key_id",
        ),
    ] {
        let mut env = bare_env(&server);
        profiles(&mut env, dir.path(), config, "");
        env.insert("AWS_PROFILE".into(), profile.into());
        let run = run_with(&env, None);
        assert_eq!(run.code, 2, "{profile}: {}", run.stderr);
        assert!(run.stderr.contains(expect), "{profile}: {}", run.stderr);
    }
    assert!(server.requests().is_empty());
}

#[test]
fn container_credentials_use_the_authorization_token_file() {
    let server = amplify_trusting_any();
    let k = key("ASIACONTAINER");
    let container = Stub::start(move |req| {
        if req.header("authorization") != Some("pod-identity-token") {
            return Reply::Respond(Response::new(401, "text/plain", "no"));
        }
        Reply::Respond(Response::json(
            200,
            &serde_json::json!({
                "AccessKeyId": k.access_key_id,
                "SecretAccessKey": k.secret_access_key,
                "Token": k.session_token,
                "Expiration": in_an_hour(),
            }),
        ))
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "pod-identity-token\n").unwrap();
    let mut env = bare_env(&server);
    env.insert(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
        format!("{}/v1/credentials", container.url()),
    );
    env.insert(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE".into(),
        dir.path().join("token").display().to_string(),
    );
    env.insert("AWS_CONTAINER_AUTHORIZATION_TOKEN".into(), "ignored".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(container.requests()[0].target, "/v1/credentials");
    assert_eq!(signed_with(&server), ["ASIACONTAINER"]);
}

#[test]
fn container_endpoint_failures() {
    let server = amplify(vec![]);
    // Only loopback and the container hosts may receive the token.
    let mut env = bare_env(&server);
    env.insert(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
        "http://credentials.example.com/v1".into(),
    );
    let run = run_with(&env, None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("only loopback"), "{}", run.stderr);

    for (answer, expect) in [
        (
            Response::new(200, "application/json", "{not json"),
            "not credentials JSON",
        ),
        (
            Response::new(403, "text/plain", "denied"),
            "HTTP 403: denied",
        ),
    ] {
        let answer = Arc::new(answer);
        let container = Stub::start(move |_| {
            Reply::Respond(Response::new(
                answer.status,
                "application/json",
                answer.body.clone(),
            ))
        });
        let mut env = bare_env(&server);
        env.insert(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
            format!("{}/creds", container.url()),
        );
        let run = run_with(&env, None);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains(expect), "{}", run.stderr);
    }
    assert!(server.requests().is_empty());
}

/// IMDSv2: a token from PUT with a TTL, then the role and its credentials with that token;
/// a GET without a valid token is 401. `expire_first` makes the first token stop working.
fn imds(k: Key, expire_first: bool) -> Stub {
    let tokens = Arc::new(AtomicUsize::new(0));
    Stub::start(move |req| {
        let path = req.raw_path();
        if req.method == "PUT" && path == "/latest/api/token" {
            if req.header("x-aws-ec2-metadata-token-ttl-seconds").is_none() {
                return Reply::Respond(Response::new(400, "text/plain", "missing TTL"));
            }
            let n = tokens.fetch_add(1, Ordering::SeqCst) + 1;
            return Reply::Respond(Response::new(200, "text/plain", format!("imds-token-{n}")));
        }
        let current = format!("imds-token-{}", tokens.load(Ordering::SeqCst));
        let valid = req.header("x-aws-ec2-metadata-token") == Some(current.as_str())
            && !(expire_first && current == "imds-token-1");
        if !valid {
            return Reply::Respond(Response::new(401, "text/plain", "Unauthorized"));
        }
        Reply::Respond(match path {
            "/latest/meta-data/iam/security-credentials/" => {
                Response::new(200, "text/plain", "runner-role")
            }
            "/latest/meta-data/iam/security-credentials/runner-role" => Response::json(
                200,
                &serde_json::json!({
                    "Code": "Success",
                    "Type": "AWS-HMAC",
                    "AccessKeyId": k.access_key_id,
                    "SecretAccessKey": k.secret_access_key,
                    "Token": k.session_token,
                    "Expiration": in_an_hour(),
                }),
            ),
            _ => Response::new(404, "text/plain", "Not Found"),
        })
    })
}

#[test]
fn instance_metadata_v2_gives_the_instance_role() {
    let issued = key("ASIAINSTANCE");
    let server = amplify(vec![issued.clone()]);
    for expire_first in [false, true] {
        let imds = imds(issued.clone(), expire_first);
        let mut env = bare_env(&server);
        env.insert("AWS_EC2_METADATA_DISABLED".into(), "false".into());
        env.insert("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), imds.url());
        // A branch per run: AWS refuses a start while the branch's last job is unfinished.
        env.insert("AMPLIFY_BRANCH_NAME".into(), format!("run-{expire_first}"));
        let run = run_with(&env, None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let puts = imds.requests().iter().filter(|r| r.method == "PUT").count();
        assert_eq!(
            puts,
            if expire_first { 2 } else { 1 },
            "a 401 gets one new token"
        );
        assert!(run.stderr.contains("credentials: EC2 instance metadata"));
    }
    assert_eq!(signed_with(&server), ["ASIAINSTANCE", "ASIAINSTANCE"]);
}

#[test]
fn off_ec2_instance_metadata_is_skipped_quickly_and_listed() {
    let server = amplify(vec![]);
    // The token request gets no answer, as off EC2: its short timeout ends the probe.
    let imds = Stub::start(|_| Reply::Hang);
    let mut env = bare_env(&server);
    env.insert("AWS_EC2_METADATA_DISABLED".into(), "false".into());
    env.insert("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), imds.url());
    let run = run_with(&env, None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for tried in [
        "environment (AWS_ACCESS_KEY_ID not set)",
        "GitHub OIDC (role-to-assume not set)",
        "web identity (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE not set)",
        "profile default (not in",
        "container endpoint",
        "no answer to the IMDSv2 token request within 500ms",
    ] {
        assert!(run.stderr.contains(tried), "{tried}: {}", run.stderr);
    }
    assert!(
        run.stderr
            .contains("hint: on GitHub, let the action assume an IAM role with OIDC")
    );
    assert_eq!(imds.requests().len(), 1, "no retry of the probe");

    // Disabled: not even asked.
    env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("disabled by AWS_EC2_METADATA_DISABLED"));
    assert_eq!(imds.requests().len(), 1);
    assert!(server.requests().is_empty());
}

#[test]
fn the_first_provider_set_up_wins() {
    let server = amplify_trusting_any();
    // GitHub's token and the token file differ, so STS's answer tells which link asked.
    let sts = Stub::start(|req| {
        let k = match form(req)["WebIdentityToken"].as_str() {
            JWT => key("ASIAGITHUBOIDC"),
            _ => key("ASIAWEBIDENTITY"),
        };
        Reply::Respond(sts_ok("AssumeRoleWithWebIdentity", &k, &in_an_hour()))
    });
    let tokens = github_tokens();
    let container = Stub::start(|_| {
        let k = key("ASIACONTAINER");
        Reply::Respond(Response::json(
            200,
            &serde_json::json!({"AccessKeyId": k.access_key_id, "SecretAccessKey": k.secret_access_key, "Token": k.session_token}),
        ))
    });
    let imds = imds(key("ASIAINSTANCE"), false);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "file-token").unwrap();
    let k = key("AKIAPROFILE");

    // From the full chain down, removing the winner each time.
    let mut env = bare_env(&server);
    env.insert(
        "AWS_ACCESS_KEY_ID".into(),
        key("AKIAENVIRONMENT").access_key_id,
    );
    env.insert(
        "AWS_SECRET_ACCESS_KEY".into(),
        key("AKIAENVIRONMENT").secret_access_key,
    );
    env.insert(
        "AWS_SESSION_TOKEN".into(),
        key("AKIAENVIRONMENT").session_token.unwrap(),
    );
    env.insert("AMPLIFY_ROLE_TO_ASSUME".into(), ROLE.into());
    env.insert(
        "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
        format!("{}/token?api-version=2.0", tokens.url()),
    );
    env.insert(
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
        REQUEST_TOKEN.into(),
    );
    env.insert("AWS_ROLE_ARN".into(), ROLE.into());
    env.insert(
        "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
        dir.path().join("token").display().to_string(),
    );
    env.insert("AWS_ENDPOINT_URL_STS".into(), sts.url());
    profiles(
        &mut env,
        dir.path(),
        "",
        &format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            k.access_key_id,
            k.secret_access_key,
            k.session_token.as_deref().unwrap()
        ),
    );
    env.insert(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
        format!("{}/creds", container.url()),
    );
    env.insert("AWS_EC2_METADATA_DISABLED".into(), "false".into());
    env.insert("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), imds.url());

    let order = [
        (
            "AKIAENVIRONMENT",
            vec!["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
        ),
        ("ASIAGITHUBOIDC", vec!["AMPLIFY_ROLE_TO_ASSUME"]),
        (
            "ASIAWEBIDENTITY",
            vec!["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"],
        ),
        ("AKIAPROFILE", vec!["AWS_SHARED_CREDENTIALS_FILE"]),
        ("ASIACONTAINER", vec!["AWS_CONTAINER_CREDENTIALS_FULL_URI"]),
        ("ASIAINSTANCE", vec![]),
    ];
    let mut expected = Vec::new();
    for (winner, remove) in order {
        let before = (
            sts.requests().len(),
            container.requests().len(),
            imds.requests().len(),
            tokens.requests().len(),
        );
        // A branch per run: AWS refuses a start while the branch's last job is unfinished.
        env.insert(
            "AMPLIFY_BRANCH_NAME".into(),
            format!("run-{}", expected.len()),
        );
        let run = run_with(&env, None);
        assert_eq!(run.code, 0, "{winner}: {}", run.stderr);
        expected.push(winner.to_string());
        assert_eq!(signed_with(&server), expected, "{winner} wins");
        let after = (
            sts.requests().len(),
            container.requests().len(),
            imds.requests().len(),
            tokens.requests().len(),
        );
        let asked = |i: usize| {
            [
                after.0 - before.0,
                after.1 - before.1,
                after.2 - before.2,
                after.3 - before.3,
            ][i] > 0
        };
        assert_eq!(
            asked(0),
            winner == "ASIAWEBIDENTITY" || winner == "ASIAGITHUBOIDC",
            "{winner}: STS asked only when it wins"
        );
        assert_eq!(
            asked(3),
            winner == "ASIAGITHUBOIDC",
            "{winner}: GitHub's token endpoint asked only when it wins"
        );
        assert_eq!(
            asked(1),
            winner == "ASIACONTAINER",
            "{winner}: container asked only when it wins"
        );
        assert_eq!(
            asked(2),
            winner == "ASIAINSTANCE",
            "{winner}: IMDS asked only when it wins"
        );
        for var in remove {
            env.remove(var);
        }
    }
}

#[test]
fn temporary_credentials_are_refreshed_during_a_long_wait() {
    let server = amplify_trusting_any();
    // Each fetch hands out new credentials that expire within the refresh window, so every
    // request of the wait needs fresh ones.
    let n = Arc::new(AtomicUsize::new(0));
    let issued = n.clone();
    let container = Stub::start(move |_| {
        let k = key(&format!(
            "ASIAROTATING{}",
            issued.fetch_add(1, Ordering::SeqCst)
        ));
        Reply::Respond(Response::json(
            200,
            &serde_json::json!({
                "AccessKeyId": k.access_key_id,
                "SecretAccessKey": k.secret_access_key,
                "Token": k.session_token,
                "Expiration": rfc3339(SystemTime::now() + Duration::from_secs(120)),
            }),
        ))
    });
    let mut env = bare_env(&server);
    env.insert(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
        format!("{}/creds", container.url()),
    );
    env.insert("AMPLIFY_WAIT".into(), "true".into());
    env.insert("AMPLIFY_POLL_INTERVAL".into(), "1ms".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let used = signed_with(&server);
    assert!(used.len() >= 3, "StartJob and GetJob calls: {used:?}");
    let mut distinct = used.clone();
    distinct.dedup();
    assert_eq!(
        distinct, used,
        "each request signed with freshly fetched credentials"
    );
    // The GET of the BUILD log's presigned URL needs no credentials.
    let signed = server
        .requests()
        .iter()
        .filter(|r| r.op != Some(Op::Log))
        .count();
    assert_eq!(
        container.requests().len(),
        signed + 1,
        "the first fetch, then one per request"
    );
    assert!(
        run.stderr.contains("credentials refreshed"),
        "{}",
        run.stderr
    );
}
