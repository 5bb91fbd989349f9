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
    all_passed(&out);
    // Every answer the endpoint gave carried a request id: its own check is in the script.
    assert!(server.requests().len() > 60);
}

#[test]
fn botocore_reads_the_local_endpoint_as_it_reads_aws() {
    botocore_checks(&Server::start(sdk_config()), None);
}

#[test]
fn botocore_reads_the_local_endpoint_over_https_as_it_reads_aws() {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    let server = tls_server(sdk_config(), dir.path());
    assert!(
        server.url().starts_with("https://127.0.0.1:"),
        "{}",
        server.url()
    );
    botocore_checks(&server, Some(&dir.path().join("ca.pem")));
}

/// Runs `tests/oracle/sdk_js.cjs` against `server` and `throttled` (see [`throttled`]),
/// trusting `ca` for HTTPS; fails unless every check of it passed.
fn javascript_sdk_checks(server: &Server, throttled: &Server, ca: Option<&std::path::Path>) {
    let envs: Vec<(&str, &std::path::Path)> =
        ca.map(|c| ("NODE_EXTRA_CA_CERTS", c)).into_iter().collect();
    let out = node(
        "oracle/sdk_js.cjs",
        &[&server.url(), &throttled.url()],
        &envs,
    );
    all_passed(&out);
    assert!(
        server.requests().iter().all(|r| r.signature.is_ok()),
        "every request of the SDK was signed as AWS expects"
    );
}

/// A StartJob token bucket of one token that refills about never.
/// The endpoint the SDKs read: every job has one artifact (ListArtifacts, GetArtifactUrl).
fn sdk_config() -> Config {
    Config {
        artifacts: vec![("reports/junit.xml".into(), b"<testsuite/>".to_vec())],
        ..Config::default()
    }
}

fn throttled() -> Config {
    Config {
        start_job_rate: Some((1e-6, 1.0)),
        ..Config::default()
    }
}

#[test]
fn the_javascript_sdk_reads_the_local_endpoint_as_it_reads_aws() {
    let throttled = Server::start(throttled());
    javascript_sdk_checks(&Server::start(sdk_config()), &throttled, None);
    assert_eq!(
        calls(&throttled, Op::StartJob),
        4,
        "one start, then 1 and 2 attempts"
    );
}

#[test]
fn the_javascript_sdk_reads_the_local_endpoint_over_https() {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    let server = tls_server(sdk_config(), dir.path());
    let throttled = tls_server(throttled(), dir.path());
    javascript_sdk_checks(&server, &throttled, Some(&dir.path().join("ca.pem")));
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

/// The AWS SDK for Rust against `server` over its own rustls client (ring), trusting only `ca`
/// when given, with retries off so every answer is the endpoint's own.
fn rust_sdk(server: &Server, ca: Option<&std::path::Path>) -> aws_sdk_amplify::Client {
    use aws_sdk_amplify::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let mut trust = TrustStore::empty().with_native_roots(false);
    if let Some(ca) = ca {
        trust = trust.with_pem_certificate(std::fs::read(ca).unwrap());
    }
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .unwrap(),
        )
        .build_https();
    let config = aws_sdk_amplify::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDLOCALAMPLIFY",
            "local-secret-not-for-aws",
            None,
            None,
            "test",
        ))
        .endpoint_url(server.url())
        .retry_config(RetryConfig::disabled())
        .http_client(http)
        .build();
    aws_sdk_amplify::Client::from_conf(config)
}

/// A call the endpoint refused: the modelled error `is` picks, with `status` and a request id.
/// Returns the error as the SDK shows it, its message included.
fn refused<T, E>(
    result: Result<
        T,
        aws_sdk_amplify::error::SdkError<E, aws_sdk_amplify::config::http::HttpResponse>,
    >,
    is: impl Fn(&E) -> bool,
    status: u16,
) -> String
where
    T: std::fmt::Debug,
    E: aws_sdk_amplify::operation::RequestId + std::error::Error + 'static,
{
    let e = result.unwrap_err();
    assert!(e.as_service_error().is_some_and(is), "{e:?}");
    assert_eq!(status_and_id(&e), (status, true), "{e:?}");
    aws_sdk_amplify::error::DisplayErrorContext(&e).to_string()
}

/// The HTTP status of a failed SDK call, and whether the error carried a request id.
fn status_and_id<E: aws_sdk_amplify::operation::RequestId>(
    e: &aws_sdk_amplify::error::SdkError<E, aws_sdk_amplify::config::http::HttpResponse>,
) -> (u16, bool) {
    let status = e.raw_response().map_or(0, |r| r.status().as_u16());
    let id = e
        .as_service_error()
        .and_then(|s| s.request_id())
        .is_some_and(|id| !id.is_empty());
    (status, id)
}

const APP: &str = "d1a2b3c4d5e6f7";

/// What the JavaScript check does, through the Rust SDK: every operation, the paginator, the
/// modelled errors with status and request id, and a manual deployment; every request signed
/// as AWS expects.
async fn rust_sdk_checks(
    server: &Server,
    client: &aws_sdk_amplify::Client,
    ca: Option<&std::path::Path>,
) {
    rust_sdk_jobs(client).await;
    rust_sdk_artifacts(client, ca).await;
    rust_sdk_apps_and_branches(client).await;
    rust_sdk_deployment(client, ca).await;
    assert!(
        server.requests().iter().all(|r| r.signature.is_ok()),
        "every request of the SDK was signed as AWS expects"
    );
}

/// StartJob, GetJob, the ListJobs paginator, StopJob and their modelled errors.
async fn rust_sdk_jobs(client: &aws_sdk_amplify::Client) {
    use aws_sdk_amplify::operation::RequestId;
    use aws_sdk_amplify::types::JobType;
    let branch = "feature/paging";
    let start = || {
        client
            .start_job()
            .app_id(APP)
            .branch_name(branch)
            .job_type(JobType::Release)
    };
    let get = |id: String| client.get_job().app_id(APP).branch_name(branch).job_id(id);
    // AWS runs one job per branch: each job but the last is stopped and seen to end first.
    for i in 1..=57 {
        let out = start().commit_id(format!("c{i}")).send().await.unwrap();
        assert!(out.request_id().is_some_and(|id| !id.is_empty()));
        let job = out.job_summary().unwrap();
        assert_eq!(
            (job.job_id(), job.commit_id(), job.status().as_str()),
            (i.to_string().as_str(), "HEAD", "PENDING"),
            "a RELEASE job is recorded as HEAD"
        );
        if i < 57 {
            let stop = client.stop_job().app_id(APP).branch_name(branch);
            stop.job_id(i.to_string()).send().await.unwrap();
            get(i.to_string()).send().await.unwrap();
        }
    }
    let busy = refused(
        start().send().await,
        |s| s.is_limit_exceeded_exception(),
        429,
    );
    assert!(
        busy.contains("already have pending or running jobs"),
        "{busy}"
    );
    let got = get("57".into()).send().await.unwrap();
    let summary = got.job().unwrap().summary().unwrap();
    assert_eq!(summary.job_id(), "57");
    assert!(summary.start_time().secs() > 1_600_000_000, "{summary:?}");

    let pages: Vec<_> = client
        .list_jobs()
        .app_id(APP)
        .branch_name(branch)
        .into_paginator()
        .page_size(20)
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let sizes: Vec<usize> = pages.iter().map(|p| p.job_summaries().len()).collect();
    assert_eq!(sizes, [20, 20, 17]);
    let ids: Vec<String> = pages
        .iter()
        .flat_map(|p| p.job_summaries())
        .map(|j| j.job_id().to_string())
        .collect();
    let newest_first: Vec<String> = (1..=57).rev().map(|i| i.to_string()).collect();
    assert_eq!(
        ids, newest_first,
        "the paginator reads every job once, newest first"
    );

    refused(
        client
            .list_jobs()
            .app_id(APP)
            .branch_name(branch)
            .max_results(51)
            .send()
            .await,
        |s| s.is_bad_request_exception(),
        400,
    );
    refused(
        client
            .get_job()
            .app_id(APP)
            .branch_name(branch)
            .job_id("999")
            .send()
            .await,
        |s| s.is_not_found_exception(),
        404,
    );
    refused(
        client
            .start_job()
            .app_id(APP)
            .branch_name(branch)
            .job_type(JobType::Retry)
            .send()
            .await,
        |s| s.is_bad_request_exception(),
        400,
    );
    let manual = refused(
        client
            .start_job()
            .app_id(APP)
            .branch_name("main")
            .job_type(JobType::Manual)
            .send()
            .await,
        |s| s.is_bad_request_exception(),
        400,
    );
    assert!(
        manual.contains("The requested jobType MANUAL does not support."),
        "AWS's text (aws/aws-sdk #121): {manual}"
    );
    let stopped = client
        .stop_job()
        .app_id(APP)
        .branch_name(branch)
        .job_id("57")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stopped.job_summary().unwrap().status().as_str(),
        "CANCELLING"
    );
}

/// ListArtifacts and GetArtifactUrl, and the artifact read from its presigned URL.
async fn rust_sdk_artifacts(client: &aws_sdk_amplify::Client, ca: Option<&std::path::Path>) {
    let listed = client
        .list_artifacts()
        .app_id(APP)
        .branch_name("feature/paging")
        .job_id("1")
        .send()
        .await
        .unwrap();
    let artifact = &listed.artifacts()[0];
    assert_eq!(artifact.artifact_file_name(), "reports/junit.xml");
    let url = client
        .get_artifact_url()
        .artifact_id(artifact.artifact_id())
        .send()
        .await
        .unwrap();
    assert_eq!(url.artifact_id(), artifact.artifact_id());
    assert_eq!(get(url.artifact_url(), ca).await, b"<testsuite/>");
    refused(
        client.get_artifact_url().artifact_id("nope").send().await,
        |s| s.is_not_found_exception(),
        404,
    );
}

/// GetApp, CreateBranch, GetBranch, DeleteBranch and their modelled errors.
async fn rust_sdk_apps_and_branches(client: &aws_sdk_amplify::Client) {
    use aws_sdk_amplify::types::Stage;
    let app = client.get_app().app_id(APP).send().await.unwrap();
    assert_eq!(
        app.app().unwrap().default_domain(),
        format!("{APP}.amplifyapp.com")
    );
    let created = client
        .create_branch()
        .app_id(APP)
        .branch_name("pr-7")
        .stage(Stage::PullRequest)
        .send()
        .await
        .unwrap();
    assert_eq!(created.branch().unwrap().stage(), &Stage::PullRequest);
    let read = client
        .get_branch()
        .app_id(APP)
        .branch_name("pr-7")
        .send()
        .await
        .unwrap();
    assert_eq!(read.branch().unwrap().branch_name(), "pr-7");
    let exists = refused(
        client
            .create_branch()
            .app_id(APP)
            .branch_name("pr-7")
            .send()
            .await,
        |s| s.is_bad_request_exception(),
        400,
    );
    assert!(
        exists.contains(&format!(
            "Failed to create branch. The branch pr-7 already exists for the app {APP}"
        )),
        "AWS's text (amplify-hosting #2604): {exists}"
    );
    let deleted = client
        .delete_branch()
        .app_id(APP)
        .branch_name("pr-7")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.branch().unwrap().branch_name(), "pr-7");
}

/// Beyond its token bucket StartJob answers 429 LimitExceededException, which the SDK retries
/// as throttling.
async fn rust_sdk_throttled(throttled: &Server, ca: Option<&std::path::Path>) {
    use aws_sdk_amplify::config::retry::RetryConfig;
    use aws_sdk_amplify::types::JobType;
    let once = rust_sdk(throttled, ca);
    let start = |c: &aws_sdk_amplify::Client| {
        c.start_job()
            .app_id(APP)
            .branch_name("main")
            .job_type(JobType::Release)
            .send()
    };
    start(&once)
        .await
        .expect("the bucket's one token starts a job");
    refused(start(&once).await, |s| s.is_limit_exceeded_exception(), 429);
    let config = once
        .config()
        .to_builder()
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .build();
    let twice = aws_sdk_amplify::Client::from_conf(config);
    assert!(start(&twice).await.is_err());
    assert_eq!(
        calls(throttled, Op::StartJob),
        4,
        "one start, then 1 and 2 attempts"
    );
}

/// CreateDeployment, the upload, StartDeployment before and after it.
async fn rust_sdk_deployment(client: &aws_sdk_amplify::Client, ca: Option<&std::path::Path>) {
    let deployment = client
        .create_deployment()
        .app_id(APP)
        .branch_name("manual")
        .send()
        .await
        .unwrap();
    refused(
        client
            .start_deployment()
            .app_id(APP)
            .branch_name("manual")
            .job_id(deployment.job_id().unwrap())
            .send()
            .await,
        |s| s.is_bad_request_exception(),
        400,
    );
    upload_zip(deployment.zip_upload_url(), ca).await;
    let started = client
        .start_deployment()
        .app_id(APP)
        .branch_name("manual")
        .job_id(deployment.job_id().unwrap())
        .send()
        .await
        .unwrap();
    let job = started.job_summary().unwrap();
    assert_eq!(
        (job.job_id(), job.status().as_str()),
        (deployment.job_id().unwrap(), "PENDING")
    );
}

/// A one-file zip PUT to an upload URL (over HTTPS trusting only `ca`, when given).
async fn upload_zip(url: &str, ca: Option<&std::path::Path>) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("index.html", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"<h1>hi</h1>").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let put = http(ca).put(url).body(bytes).send().await.unwrap();
    assert_eq!(put.status(), 200, "the upload of the zip");
}

/// An HTTP client for presigned URLs (over HTTPS trusting only `ca`, when given).
fn http(ca: Option<&std::path::Path>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots = ca.map(|ca| reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap());
    reqwest::Client::builder()
        .tls_certs_only(roots)
        .build()
        .unwrap()
}

/// The body of a GET of a presigned URL.
async fn get(url: &str, ca: Option<&std::path::Path>) -> Vec<u8> {
    let resp = http(ca).get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "GET {url}");
    resp.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "current_thread")]
async fn the_rust_sdk_reads_the_local_endpoint_as_it_reads_aws() {
    let server = Server::start(sdk_config());
    rust_sdk_checks(&server, &rust_sdk(&server, None), None).await;
    rust_sdk_throttled(&Server::start(throttled()), None).await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_rust_sdk_reads_the_local_endpoint_over_https() {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    let server = tls_server(sdk_config(), dir.path());
    let ca = dir.path().join("ca.pem");
    rust_sdk_checks(&server, &rust_sdk(&server, Some(&ca)), Some(&ca)).await;
    rust_sdk_throttled(&tls_server(throttled(), dir.path()), Some(&ca)).await;
}
