//! An STS that is not ours: moto's implementation (PyPI) in server mode. The binary gets
//! credentials from it with `AssumeRoleWithWebIdentity` (GitHub OIDC) and `AssumeRole` (a
//! profile's role), then starts a job the local Amplify endpoint verifies with the secret moto
//! issued.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout};
use std::sync::{Arc, Mutex};

use amplify_local::{DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY, Key};
use common::aws::{self, ROLE};
use common::*;

struct Moto {
    child: Child,
    io: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    url: String,
}

impl Moto {
    /// Starts moto and returns once it listens (its first line is its URL).
    fn start() -> Arc<Moto> {
        need_python_modules(&["moto"]);
        let mut child = python_server("moto/sts_server.py", &[], std::path::Path::new("."));
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut url = String::new();
        stdout.read_line(&mut url).unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "moto started: {url:?}"
        );
        Arc::new(Moto {
            child,
            io: Mutex::new((stdin, stdout)),
            url: url.trim().to_string(),
        })
    }

    /// The secret and session token moto issued with `access_key_id`.
    fn issued(&self, access_key_id: &str) -> Option<Key> {
        let mut io = self.io.lock().unwrap();
        writeln!(io.0, "{access_key_id}").unwrap();
        io.0.flush().unwrap();
        let mut line = String::new();
        io.1.read_line(&mut line).unwrap();
        let (secret, token) = line.trim_end_matches('\n').split_once('\t')?;
        Some(Key {
            access_key_id: access_key_id.into(),
            secret_access_key: secret.into(),
            session_token: Some(token.into()),
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn amplify_trusting(moto: &Arc<Moto>) -> Server {
    let m = moto.clone();
    Server::start(Config {
        key_source: Some(Arc::new(move |id: &str| m.issued(id))),
        ..Config::default()
    })
}

fn assert_started_with_moto_credentials(server: &Server, moto: &Moto) {
    let reqs = api_requests(server);
    assert_eq!(reqs.len(), 1);
    assert!(
        reqs[0].signature.is_ok(),
        "signed with moto's credentials: {:?}",
        reqs[0].signature
    );
    let id = amplify_local::sigv4::access_key_id(&reqs[0].request).unwrap();
    assert!(id.starts_with("ASIA"), "temporary credentials: {id}");
    assert_eq!(
        reqs[0].request.header("x-amz-security-token"),
        moto.issued(id).unwrap().session_token.as_deref()
    );
    assert_eq!(server.jobs().len(), 1);
}

#[test]
fn credentials_from_moto_sts_start_a_verified_job() {
    let moto = Moto::start();

    // GitHub OIDC: the runner's token, exchanged with AssumeRoleWithWebIdentity.
    let server = amplify_trusting(&moto);
    let tokens = aws::github_tokens();
    let mut gh = github(&server, "push", serde_json::json!({}));
    aws::oidc(&mut gh, &tokens, &moto.url);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_started_with_moto_credentials(&server, &moto);

    // A profile's role, assumed with AssumeRole signed by its source profile's keys.
    let server = amplify_trusting(&moto);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config"),
        format!("[profile deploy]\nrole_arn = {ROLE}\nsource_profile = base\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("credentials"),
        format!(
            "[base]\naws_access_key_id = {DEMO_ACCESS_KEY_ID}\naws_secret_access_key = {DEMO_SECRET_ACCESS_KEY}\n"
        ),
    )
    .unwrap();
    let mut env: BTreeMap<String, String> = base_env(&server);
    env.remove("AWS_ACCESS_KEY_ID");
    env.remove("AWS_SECRET_ACCESS_KEY");
    for (k, v) in [
        ("AMPLIFY_BRANCH_NAME", "main".to_string()),
        ("AWS_PROFILE", "deploy".into()),
        (
            "AWS_CONFIG_FILE",
            dir.path().join("config").display().to_string(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials").display().to_string(),
        ),
        ("AWS_ENDPOINT_URL_STS", moto.url.clone()),
    ] {
        env.insert(k.into(), v);
    }
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_started_with_moto_credentials(&server, &moto);
}
