//! `amplify-local` answers as AWS does, checked by botocore's own client (request ids on every
//! answer, paging with its paginator, modelled exceptions, oversized and chunked bodies) and by
//! the AWS SDK for JavaScript v3 (every operation, its paginator and exceptions, an upload with
//! fetch); over plain HTTP and over HTTPS (`--tls-cert`), with the test CA given to the client.

mod common;

use common::*;

/// Runs `tests/oracle/local_endpoint.py` against `server` (trusting `ca` for HTTPS); fails
/// unless every check of it passed.
fn botocore_checks(server: &Server, ca: Option<&std::path::Path>) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracle/local_endpoint.py"
    );
    let url = server.url();
    let mut args = vec![script.as_ref(), url.as_ref()];
    args.extend(ca.map(|c| c.as_os_str()));
    let out = python(&args, std::path::Path::new("."));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.trim_end().ends_with("passed, 0 failed"), "{stdout}");
    // Every answer the endpoint gave carried a request id: its own check is in the script.
    assert!(server.requests().len() > 60);
}

#[test]
fn botocore_reads_the_local_endpoint_as_it_reads_aws() {
    botocore_checks(&Server::start(Config::default()), None);
}

#[test]
fn botocore_reads_the_local_endpoint_over_https_as_it_reads_aws() {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    let server = tls_server(Config::default(), dir.path());
    assert!(
        server.url().starts_with("https://127.0.0.1:"),
        "{}",
        server.url()
    );
    botocore_checks(&server, Some(&dir.path().join("ca.pem")));
}

/// Runs `tests/oracle/sdk_js.cjs` against `server` (trusting `ca` for HTTPS); fails unless
/// every check of it passed.
fn javascript_sdk_checks(server: &Server, ca: Option<&std::path::Path>) {
    let envs: Vec<(&str, &std::path::Path)> =
        ca.map(|c| ("NODE_EXTRA_CA_CERTS", c)).into_iter().collect();
    let out = node("oracle/sdk_js.cjs", &[&server.url()], &envs);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.trim_end().ends_with(" passed, 0 failed"), "{stdout}");
    assert!(
        server.requests().iter().all(|r| r.signature.is_ok()),
        "every request of the SDK was signed as AWS expects"
    );
}

#[test]
fn the_javascript_sdk_reads_the_local_endpoint_as_it_reads_aws() {
    javascript_sdk_checks(&Server::start(Config::default()), None);
}

#[test]
fn the_javascript_sdk_reads_the_local_endpoint_over_https() {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    let server = tls_server(Config::default(), dir.path());
    javascript_sdk_checks(&server, Some(&dir.path().join("ca.pem")));
}

#[test]
fn the_binary_reaches_the_https_endpoint_directly_only_with_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    let server = tls_server(Config::default(), dir.path());
    // Mozilla's roots (the default) lack the test CA: the handshake fails, no request is read.
    // Loopback is reached directly, never through a proxy.
    let mut env = base_env(&server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    env.insert("AMPLIFY_MAX_ATTEMPTS".into(), "1".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
    assert!(server.requests().is_empty());
    env.insert(
        "AWS_CA_BUNDLE".into(),
        dir.path().join("ca.pem").display().to_string(),
    );
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.jobs().len(), 1);
}
