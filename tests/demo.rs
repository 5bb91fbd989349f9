//! The README's first command keeps working: `scripts/demo` starts a job end to end.

use std::path::Path;

/// Runs `scripts/demo ARG` with the binaries `cargo test --workspace` built; its stdout, and
/// the result's JSON (the first line).
fn demo(arg: &str) -> (String, serde_json::Value) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_amplify-start-job"))
        .parent()
        .unwrap();
    assert!(
        bin_dir.join("amplify-local").exists(),
        "amplify-local is built by `cargo test --workspace` (the README's test command)"
    );
    let out = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo"))
        .arg(arg)
        .env("AMPLIFY_BIN_DIR", bin_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    (stdout, result)
}

#[test]
fn the_readme_demo_starts_a_job_against_the_local_endpoint() {
    let (stdout, result) = demo("feature/demo");
    assert_eq!(result["jobId"], "1");
    assert_eq!(result["status"], "PENDING");
    assert_eq!(
        result["recordedCommitId"], "HEAD",
        "as AWS records a RELEASE job"
    );
    let commit = result["commitId"].as_str().unwrap();
    let output = stdout.split("\ncommit-id<<").nth(1).unwrap_or_default();
    assert_eq!(
        output.lines().nth(1),
        Some(commit),
        "the JSON's commitId is the output commit-id: {stdout}"
    );
    assert_ne!(commit, "HEAD");
    assert!(stdout.contains("\njob-url<<ghadelimiter_"), "{stdout}");
    assert!(
        stdout.contains("/branches/feature%2Fdemo/deployments/1\n"),
        "{stdout}"
    );
}

#[test]
fn the_readme_demo_deploys_to_the_new_amplify_too() {
    let (stdout, result) = demo("--new-amplify");
    assert_eq!(result["Status"], "SUCCEEDED");
    assert!(
        stdout.contains("\ndeployment-url<<ghadelimiter_"),
        "{stdout}"
    );
}
