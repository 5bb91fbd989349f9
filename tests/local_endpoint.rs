//! `amplify-local` answers as AWS does, checked by botocore's own client: request ids on every
//! answer, paging with its paginator, modelled exceptions, oversized and chunked bodies; over
//! plain HTTP and over HTTPS (`--tls-cert`), with the test CA given to the client.

mod common;

use common::*;

#[test]
fn botocore_reads_the_local_endpoint_as_it_reads_aws() {
    let server = Server::start(Config::default());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracle/local_endpoint.py"
    );
    let url = server.url();
    let out = python(&[script.as_ref(), url.as_ref()], std::path::Path::new("."));
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
fn botocore_reads_the_local_endpoint_over_https_as_it_reads_aws() {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    let server = tls_server(Config::default(), dir.path());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracle/local_endpoint.py"
    );
    let url = server.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let ca = dir.path().join("ca.pem");
    let out = python(
        &[script.as_ref(), url.as_ref(), ca.as_os_str()],
        std::path::Path::new("."),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.trim_end().ends_with("passed, 0 failed"), "{stdout}");
    assert!(server.requests().len() > 60);
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
