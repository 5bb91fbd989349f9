//! Corporate networks: the binary reaches an HTTPS endpoint (the local endpoint serving TLS)
//! only through a CONNECT proxy named by `HTTPS_PROXY` (the endpoint's name resolves nowhere
//! but at the proxy), and trusts the endpoint's certificate only because `AWS_CA_BUNDLE` adds
//! the test CA that signed it.

mod common;

use std::collections::BTreeMap;

use common::*;

#[test]
fn https_through_a_connect_proxy_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    let server = tls_server(Config::default(), dir.path());
    let tls = server.url().rsplit(':').next().unwrap().to_string();
    let proxy = proxy_to(&server, dir.path());
    let mut env: BTreeMap<String, String> = base_env(&server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    env.insert(
        "AWS_ENDPOINT_URL".into(),
        format!("https://amplify.test:{}", tls),
    );
    env.insert("AMPLIFY_MAX_ATTEMPTS".into(), "1".into());

    // Without the CA the certificate is refused (the proxy was used: the name resolves nowhere else).
    env.insert(
        "HTTPS_PROXY".into(),
        format!("http://127.0.0.1:{}", proxy.port),
    );
    let run = run_with(&env, None);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
    assert!(server.requests().is_empty());

    // With AWS_CA_BUNDLE, and the proxy named in lower case this time.
    env.remove("HTTPS_PROXY");
    env.insert(
        "https_proxy".into(),
        format!("http://127.0.0.1:{}", proxy.port),
    );
    env.insert(
        "AWS_CA_BUNDLE".into(),
        dir.path().join("ca.pem").display().to_string(),
    );
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reqs = api_requests(&server);
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].signature.is_ok(), "{:?}", reqs[0].signature);
    assert_eq!(
        reqs[0].request.header("host"),
        Some(format!("amplify.test:{}", tls).as_str())
    );
    let connects = std::fs::read_to_string(dir.path().join("connects.log")).unwrap();
    let tunnels: Vec<&str> = connects.lines().collect();
    assert!(
        tunnels.len() >= 2
            && tunnels
                .iter()
                .all(|t| *t == format!("amplify.test:{}", tls)),
        "every HTTPS request went through the proxy (the refused run's, then this run's): {connects}"
    );

    // A bundle that is not one is a settings error, before anything is sent.
    std::fs::write(dir.path().join("bad.pem"), "not a certificate").unwrap();
    env.insert(
        "AWS_CA_BUNDLE".into(),
        dir.path().join("bad.pem").display().to_string(),
    );
    let run = run_with(&env, None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("AWS_CA_BUNDLE is"), "{}", run.stderr);
    assert_eq!(api_requests(&server).len(), 1);
}

#[test]
fn ca_bundles_are_not_read_when_no_https_connection_is_made() {
    let server = Server::start(Config::default());
    let mut env = base_env(&server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    // Unreadable: reading it would be an error, so a run that passes never read it.
    env.insert("AWS_CA_BUNDLE".into(), "/nonexistent/ca.pem".into());
    env.insert("SSL_CERT_FILE".into(), "/nonexistent/ca.pem".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.jobs().len(), 1);
}
