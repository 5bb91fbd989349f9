//! The static release binary runs in an empty root, as in a `scratch` image: no libc, no CA
//! files, nothing from the host. `.ci/run` builds it (musl) first and, as root, requires this
//! test to run; elsewhere it is skipped with a note when the binary, root or chroot is missing.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

fn static_binary() -> Option<PathBuf> {
    let path = std::env::var_os("AMPLIFY_STATIC_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/target/x86_64-unknown-linux-musl/release/amplify-start-job"
            ))
        });
    path.exists().then_some(path)
}

#[test]
fn the_static_binary_starts_a_job_from_an_empty_root() {
    // `.ci/run` sets this where it runs as root: there a skip would hide a failure.
    let in_ci = std::env::var_os("AMPLIFY_REQUIRE_EMPTY_ROOT").is_some();
    let Some(binary) = static_binary() else {
        assert!(
            !in_ci,
            "CI builds the static binary first: cargo build --release --target x86_64-unknown-linux-musl"
        );
        eprintln!(
            "skipped: no static binary (cargo build --release --target x86_64-unknown-linux-musl)"
        );
        return;
    };
    let chroot = ["/usr/sbin/chroot", "/usr/bin/chroot"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let (Some(chroot), true) = (chroot, is_root) else {
        assert!(
            !in_ci,
            "AMPLIFY_REQUIRE_EMPTY_ROOT is set: root and chroot are needed"
        );
        eprintln!("skipped: needs root and chroot");
        return;
    };

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

    // HTTPS without any CA file is a clear settings-class error, not a crash.
    env.insert("AWS_ENDPOINT_URL".into(), "https://127.0.0.1:9".into());
    let out = run(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot set up HTTPS") && stderr.contains("SSL_CERT_FILE"),
        "{stderr}"
    );
}
