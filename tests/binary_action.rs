//! The binary action (binary/action.yml), for runners without Docker: its inputs and outputs are
//! the Docker action's; its script (binary/fetch.sh) picks the runner's release binary from a
//! local file server that holds a release layout, checks its SHA-256, refuses a tampered one
//! (never run, never cached), reuses a cached one; and the binary it picked starts a job with the
//! environment the composite passes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use amplify_local::http::{Request, Response};
use amplify_local::stub::{Reply, Stub};
use common::*;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const TAG: &str = "v1.2.3";
const FILE: &str = "amplify-start-job-x86_64-unknown-linux-musl";

#[test]
fn inputs_outputs_and_the_environment_are_the_docker_action_s() {
    let docker = yaml("action.yml");
    let binary = yaml("binary/action.yml");
    assert_eq!(binary["inputs"], docker["inputs"], "identical inputs");
    for (name, o) in docker["outputs"].as_object().unwrap() {
        assert_eq!(
            binary["outputs"][name]["description"], o["description"],
            "{name}"
        );
        assert_eq!(
            binary["outputs"][name]["value"],
            format!("${{{{ steps.run.outputs.{name} }}}}"),
            "{name}"
        );
    }
    assert_eq!(
        binary["outputs"].as_object().unwrap().len(),
        docker["outputs"].as_object().unwrap().len()
    );
    assert_eq!(binary["runs"]["using"], "composite");
    let steps = binary["runs"]["steps"].as_array().unwrap();
    let run = steps.iter().find(|s| s["id"] == "run").unwrap();
    let mut env = run["env"].as_object().unwrap().clone();
    assert_eq!(
        env.remove("AMPLIFY_BINARY").unwrap(),
        "${{ steps.fetch.outputs.bin }}"
    );
    assert_eq!(
        Value::Object(env),
        docker["runs"]["env"],
        "every input passed as the Docker action passes it"
    );
    let (ok, out) = tool(
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.github-actions",
            "binary/action.yml",
        ],
    );
    assert!(ok, "{out}");
}

/// A release layout: `/<tag>/<file>` answers `bytes`; every request is counted.
struct Release {
    stub: Stub,
    hits: Arc<Mutex<Vec<String>>>,
}

fn release(bytes: Vec<u8>) -> Release {
    let hits: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = hits.clone();
    let stub = Stub::start(move |req: &Request| {
        seen.lock().unwrap().push(req.target.clone());
        if req.raw_path() == format!("/{TAG}/{FILE}") {
            Reply::Respond(Response::new(
                200,
                "application/octet-stream",
                bytes.clone(),
            ))
        } else {
            Reply::Respond(Response::new(404, "text/plain", "Not Found"))
        }
    });
    Release { stub, hits }
}

fn sha256(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, bytes).unwrap();
    let out = Command::new("sha256sum").arg(&f).output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new() -> Runner {
        let dir = tempfile::tempdir().unwrap();
        for d in ["cache", "temp"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Runner { dir }
    }

    fn output(&self) -> PathBuf {
        self.dir.path().join("output")
    }

    /// binary/fetch.sh as the composite's first step runs it, with `pinned` as the checksum.
    fn fetch(&self, base: &str, pinned: &str, os: &str) -> (i32, String) {
        std::fs::write(self.output(), "").unwrap();
        let out = Command::new("bash")
            .arg(Path::new(ROOT).join("binary/fetch.sh"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", self.dir.path().join("cache"))
            .env("RUNNER_TEMP", self.dir.path().join("temp"))
            .env("GITHUB_OUTPUT", self.output())
            .env("AMPLIFY_ACTION_REPOSITORY", "org/amplify-start-job")
            .env("AMPLIFY_DOWNLOAD_URL", base)
            .env("AMPLIFY_RELEASE", TAG)
            .env("AMPLIFY_SHA256_LINUX_X64", pinned)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    fn bin(&self) -> Option<PathBuf> {
        let text = std::fs::read_to_string(self.output()).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("bin="))
            .map(PathBuf::from)
    }

    /// Every file under the tool cache.
    fn cached(&self) -> Vec<PathBuf> {
        fn walk(d: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), out);
                } else {
                    out.push(e.path());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir.path().join("cache"), &mut out);
        out
    }
}

#[test]
fn the_right_binary_is_fetched_checked_cached_and_it_starts_a_job() {
    let real = std::fs::read(static_binary("x86_64-unknown-linux-musl")).unwrap();
    let pinned = sha256(&real);
    let rel = release(real);
    let runner = Runner::new();
    let (code, log) = runner.fetch(&rel.stub.url(), &pinned, "Linux");
    assert_eq!(code, 0, "{log}");
    let bin = runner.bin().expect("the step output names the binary");
    assert!(
        bin.starts_with(runner.dir.path().join("cache/amplify-start-job").join(TAG)),
        "{}",
        bin.display()
    );
    assert_eq!(*rel.hits.lock().unwrap(), [format!("/{TAG}/{FILE}")]);

    // The binary the action picked, run with the composite's environment (as runs.env maps the
    // inputs), starts a job.
    let server = Server::start(Config::default());
    let mut env: BTreeMap<String, String> = base_env(&server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    env.insert("AMPLIFY_COMMIT_ID".into(), SHA.into());
    env.insert("AMPLIFY_IF_BUSY".into(), String::new());
    let out = Command::new(&bin)
        .env_clear()
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(&env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.jobs().len(), 1);

    // A second run takes it from the tool cache: no download.
    let (code, log) = runner.fetch(&rel.stub.url(), &pinned, "Linux");
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("from the tool cache"), "{log}");
    assert_eq!(rel.hits.lock().unwrap().len(), 1);
}

#[test]
fn a_tampered_binary_is_refused_never_run_and_never_cached() {
    let rel = release(b"#!/bin/sh\necho pwned > /tmp/amplify-start-job-pwned\n".to_vec());
    let runner = Runner::new();
    let pinned = sha256(b"the real binary");
    let (code, log) = runner.fetch(&rel.stub.url(), &pinned, "Linux");
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains(&format!("{}/{TAG}/{FILE} has SHA-256 ", rel.stub.url()))
            && log.contains(&format!(
                "not the {pinned} this action pins: it was not run and not kept"
            )),
        "{log}"
    );
    assert!(runner.bin().is_none(), "no binary for the next step");
    assert!(runner.cached().is_empty(), "{:?}", runner.cached());
    assert!(
        std::fs::read_dir(runner.dir.path().join("temp"))
            .unwrap()
            .next()
            .is_none(),
        "the download is removed"
    );
}

#[test]
fn a_failed_download_an_unpinned_commit_and_an_unknown_runner_fail_with_a_clear_message() {
    let rel = release(Vec::new());
    let runner = Runner::new();
    let pinned = sha256(b"x");
    let missing = format!("{}/nowhere", rel.stub.url());
    let (code, log) = runner.fetch(&missing, &pinned, "Linux");
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains(&format!("could not download {missing}/{TAG}/{FILE}")),
        "{log}"
    );
    let (code, log) = runner.fetch(&rel.stub.url(), "", "Linux");
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("use a release tag"), "{log}");
    let (code, log) = runner.fetch(&rel.stub.url(), &pinned, "FreeBSD");
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains("no amplify-start-job binary is built for a FreeBSD X64 runner"),
        "{log}"
    );
    assert!(runner.cached().is_empty());
}

#[test]
fn the_release_pins_the_tag_and_each_binary_s_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let action = dir.path().join("action.yml");
    std::fs::copy(Path::new(ROOT).join("binary/action.yml"), &action).unwrap();
    let files = [
        "amplify-start-job-x86_64-unknown-linux-musl",
        "amplify-start-job-aarch64-unknown-linux-musl",
        "amplify-start-job-x86_64-apple-darwin",
        "amplify-start-job-aarch64-apple-darwin",
        "amplify-start-job-x86_64-pc-windows-gnu.exe",
    ];
    let sums: String = files
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{}  {f}\n", format!("{i}").repeat(64)))
        .collect();
    let sums_file = dir.path().join("SHA256SUMS");
    std::fs::write(&sums_file, sums).unwrap();
    let pin = |tag: &str| {
        Command::new("bash")
            .arg(Path::new(ROOT).join("scripts/pin-binary"))
            .args([tag.as_ref(), sums_file.as_os_str(), action.as_os_str()])
            .output()
            .unwrap()
    };
    assert!(!pin("main").status.success(), "not a version tag");
    let out = pin("v1.2.3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pinned = yaml(action.to_str().unwrap());
    let fetch = &pinned["runs"]["steps"][0]["env"];
    assert_eq!(fetch["AMPLIFY_RELEASE"], "v1.2.3");
    assert_eq!(fetch["AMPLIFY_SHA256_LINUX_X64"], "0".repeat(64));
    assert_eq!(fetch["AMPLIFY_SHA256_WINDOWS_X64"], "4".repeat(64));
    assert_eq!(pinned["inputs"], yaml("binary/action.yml")["inputs"]);
}
