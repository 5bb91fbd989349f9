//! The aarch64 static release binary works: run under qemu-user-static, it prints its version
//! and starts a job against the local endpoint over loopback, writing the outputs. scripts/test
//! cross-builds it (Debian's gcc-aarch64-linux-gnu; see .cargo/config.toml).

mod common;

use std::process::Command;

use common::*;

#[test]
fn the_aarch64_binary_runs_under_qemu_and_starts_a_job() {
    let qemu = need_tool("qemu-aarch64-static", "the Debian package qemu-user-static");
    // The build scripts/test makes, or the file a release publishes (release.yml sets
    // AMPLIFY_TEST_ARM64_BINARY to the one in dist/).
    let binary = match std::env::var_os("AMPLIFY_TEST_ARM64_BINARY") {
        Some(p) => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p),
        None => static_binary("aarch64-unknown-linux-musl"),
    };
    let elf = std::fs::read(&binary).unwrap();
    // e_machine 183 is EM_AARCH64: this is not the host's binary.
    assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), 183);

    let version = Command::new(&qemu)
        .arg(&binary)
        .arg("--version")
        .output()
        .unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("amplify-start-job {}\n", env!("CARGO_PKG_VERSION"))
    );

    let server = Server::start(Config::default());
    let gh = github(&server, "push", serde_json::json!({}));
    let out = Command::new(&qemu)
        .arg(&binary)
        .env_clear()
        .env("HOME", gh.dir.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(&gh.env)
        .current_dir(gh.workspace())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(server.jobs().len(), 1);
    assert!(server.requests()[0].signature.is_ok());
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-id"], "1");
    assert_eq!(outputs["commit-id"], SHA);
}
