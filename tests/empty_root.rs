//! The static release binary runs in an empty root, as in a `scratch` image: no libc, no CA
//! files, nothing from the host. scripts/test builds it (musl) first; chroot needs root, so
//! elsewhere the test is skipped with a note, and under CI it must run.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

#[test]
fn the_static_binary_starts_a_job_from_an_empty_root() {
    if !need_root("chroot") {
        return;
    }
    let binary = static_binary("x86_64-unknown-linux-musl");
    let chroot = ["/usr/sbin/chroot", "/usr/bin/chroot"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("chroot, from the Debian package coreutils");

    let root = tempfile::tempdir().unwrap();
    std::fs::copy(&binary, root.path().join("amplify-start-job")).unwrap();
    std::fs::create_dir_all(root.path().join("github/file_commands")).unwrap();
    std::fs::create_dir_all(root.path().join("github/workspace")).unwrap();
    let entries: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        entries.len(),
        2,
        "only the binary and the runner's mount points: {entries:?}"
    );

    let server = Server::start(Config::default());
    let run = |env: &std::collections::BTreeMap<String, String>| {
        Command::new(&chroot)
            .arg(root.path())
            .arg("/amplify-start-job")
            .env_clear()
            .envs(env)
            .output()
            .unwrap()
    };
    let mut env = base_env(&server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    env.insert(
        "GITHUB_OUTPUT".into(),
        "/github/file_commands/output".into(),
    );
    let out = run(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(server.jobs().len(), 1);
    let outputs = parse_outputs(
        &std::fs::read_to_string(root.path().join("github/file_commands/output")).unwrap(),
    );
    assert_eq!(outputs["job-id"], "1");

    // HTTPS needs no CA file: Mozilla's roots are compiled in. Nothing listens there, so the
    // run fails to connect, not to set up TLS.
    env.insert("AWS_ENDPOINT_URL".into(), "https://127.0.0.1:9".into());
    env.insert("AMPLIFY_MAX_ATTEMPTS".into(), "1".into());
    let out = run(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(!stderr.contains("cannot set up HTTPS"), "{stderr}");

    // The system store, in an empty root, has no CA file: a clear settings-class error.
    env.insert("AMPLIFY_CA_STORE".into(), "system".into());
    let out = run(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot set up HTTPS") && stderr.contains("SSL_CERT_FILE"),
        "{stderr}"
    );
}
