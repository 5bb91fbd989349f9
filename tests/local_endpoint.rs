//! `amplify-local` answers as AWS does, checked by botocore's own client: request ids on every
//! answer, paging with its paginator, modelled exceptions, oversized and chunked bodies.

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
