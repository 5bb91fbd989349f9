//! The image, built from the project's own Dockerfile and run, without a Docker daemon:
//! buildah builds it (vfs storage, chroot isolation) and podman runs it with runc. The base is
//! `scratch`, so no registry is needed. Needs root; scripts/test installs the tools and builds
//! the static binaries the Dockerfile copies.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const TAG: &str = "localhost/amplify-start-job:test";
/// What a registry may store of the image, gzip-compressed (README, Image).
const COMPRESSED_BUDGET: u64 = 2_500_000;

/// buildah and podman on a private, throw-away store.
struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn flags(&self) -> Vec<String> {
        let d = self.dir.path();
        vec![
            "--root".into(),
            d.join("root").display().to_string(),
            "--runroot".into(),
            d.join("run").display().to_string(),
            "--storage-driver".into(),
            "vfs".into(),
        ]
    }

    fn cmd(&self, tool: &str) -> Command {
        let mut c = Command::new(tool);
        c.args(self.flags());
        c
    }

    /// Builds `ctx` for `platform` as `tag` (buildah, chroot isolation, no daemon) and checks the
    /// image is of that platform's architecture.
    fn build(&self, ctx: &Path, platform: &str, tag: &str) {
        ok(
            self.cmd("buildah")
                .args(["bud", "--quiet", "--isolation", "chroot"])
                .args(["--platform", platform, "-t", tag])
                .arg(ctx)
                .output()
                .unwrap(),
            "buildah bud",
        );
        let arch = ok(
            self.cmd("podman")
                .args(["image", "inspect", "--format", "{{.Architecture}}", tag])
                .output()
                .unwrap(),
            "inspect",
        );
        assert_eq!(arch.trim(), platform.trim_start_matches("linux/"));
    }

    /// `podman run` as CI would use it here: runc, and limits the sandbox lets runc set.
    fn run(&self, network: &str, args: &[&str]) -> Command {
        let mut c = self.cmd("podman");
        c.args(["run", "--rm", "--runtime", "runc", "--network", network])
            .args([
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .args(args);
        c
    }
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The build context: the Dockerfile and scripts/dist's layout of the static binaries.
fn context() -> tempfile::TempDir {
    let ctx = tempfile::tempdir().unwrap();
    ok(
        Command::new(format!("{ROOT}/scripts/dist"))
            .arg(ctx.path().join("dist"))
            .output()
            .unwrap(),
        "scripts/dist",
    );
    for f in ["Dockerfile", ".dockerignore"] {
        std::fs::copy(Path::new(ROOT).join(f), ctx.path().join(f)).unwrap();
    }
    ctx
}

/// The gzip-compressed size of the image's layers, as a registry stores them.
fn compressed_size(store: &Store, image: &str) -> u64 {
    let oci = store.dir.path().join("oci");
    ok(
        store
            .cmd("buildah")
            .args(["push", "--quiet", "--compression-format", "gzip", image])
            .arg(format!("oci:{}:x", oci.display()))
            .output()
            .unwrap(),
        "buildah push",
    );
    let blob = |digest: &str| {
        let hex = digest.strip_prefix("sha256:").unwrap();
        serde_json::from_slice::<serde_json::Value>(
            &std::fs::read(oci.join("blobs/sha256").join(hex)).unwrap(),
        )
        .unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(oci.join("index.json")).unwrap()).unwrap();
    let manifest = blob(index["manifests"][0]["digest"].as_str().unwrap());
    let layers = manifest["layers"].as_array().unwrap();
    assert!(
        layers
            .iter()
            .all(|l| l["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip")
    );
    layers.iter().map(|l| l["size"].as_u64().unwrap()).sum()
}

#[test]
fn the_image_builds_from_scratch_and_runs() {
    if !need_root("building and running the image") {
        return;
    }
    for (tool, package) in [
        ("buildah", "buildah"),
        ("podman", "podman"),
        ("runc", "runc"),
    ] {
        need_tool(tool, &format!("the Debian package {package}"));
    }
    let dockerfile = std::fs::read_to_string(format!("{ROOT}/Dockerfile")).unwrap();
    let bases: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .collect();
    assert_eq!(bases, ["scratch"], "no base image that needs a registry");

    let ctx = context();
    let store = Store {
        dir: tempfile::tempdir().unwrap(),
    };
    for (platform, tag) in [
        ("linux/amd64", TAG),
        ("linux/arm64", "localhost/amplify-start-job:arm64"),
    ] {
        store.build(ctx.path(), platform, tag);
    }

    let size: u64 = ok(
        store
            .cmd("podman")
            .args(["image", "inspect", "--format", "{{.Size}}", TAG])
            .output()
            .unwrap(),
        "inspect",
    )
    .trim()
    .parse()
    .unwrap();
    let compressed = compressed_size(&store, TAG);
    eprintln!("image size: {size} bytes uncompressed, {compressed} bytes gzip-compressed");
    assert!(
        compressed <= COMPRESSED_BUDGET,
        "{compressed} bytes compressed"
    );

    let version = ok(
        store.run("none", &[TAG, "--version"]).output().unwrap(),
        "--version",
    );
    assert_eq!(
        version,
        format!("amplify-start-job {}\n", env!("CARGO_PKG_VERSION"))
    );
    let help = ok(
        store.run("none", &[TAG, "--help"]).output().unwrap(),
        "--help",
    );
    assert_eq!(
        help,
        std::fs::read_to_string(format!("{ROOT}/tests/snapshots/help.txt")).unwrap()
    );

    let bad = store
        .run("none", &["-e", "AMPLIFY_APP_ID=App-1", TAG])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .starts_with("amplify-start-job: error: AMPLIFY_APP_ID (input app-id) is \"App-1\""),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    // A job start against the local endpoint on the host network, outputs in a mounted file.
    let server = Server::start(Config::default());
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("output"), "").unwrap();
    let mut args: Vec<String> = vec![
        "-v".into(),
        format!("{}:/github/file_commands", files.path().display()),
        "-e".into(),
        "GITHUB_OUTPUT=/github/file_commands/output".into(),
        "-e".into(),
        "AMPLIFY_BRANCH_NAME=main".into(),
        "-e".into(),
        format!("AMPLIFY_COMMIT_ID={SHA}"),
    ];
    for (k, v) in base_env(&server) {
        args.extend(["-e".into(), format!("{k}={v}")]);
    }
    args.push(TAG.into());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = store.run("host", &argv).output().unwrap();
    ok(started, "a job start");
    assert_eq!(server.jobs().len(), 1);
    let outputs = parse_outputs(&std::fs::read_to_string(files.path().join("output")).unwrap());
    assert_eq!(outputs["job-id"], "1");
    assert_eq!(outputs["commit-id"], SHA);

    // The entrypoint is PID 1: SIGTERM sent to it (what `docker stop` and `podman stop` do)
    // ends the run at once with 143. It goes through `podman kill`, not to `podman run`'s own
    // process: podman's signal proxy, signalled itself, sometimes ends podman alone with 0.
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::Hang]);
    let url = format!("AWS_ENDPOINT_URL={}", server.url());
    let name = format!("asj-sigterm-{}", std::process::id());
    let argv: Vec<&str> = ["--name", name.as_str()]
        .into_iter()
        .chain(argv.iter().map(|a| {
            if a.starts_with("AWS_ENDPOINT_URL=") {
                url.as_str()
            } else {
                a
            }
        }))
        .collect();
    let mut child = store
        .run("host", &argv)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader = {
        let (lines, stderr) = (lines.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                lines.lock().unwrap().push(line);
            }
        })
    };
    wait_for(
        || (calls(&server, Op::StartJob) >= 1).then_some(()),
        "the hanging StartJob",
    );
    let sent = Instant::now();
    ok(
        store
            .cmd("podman")
            .args(["kill", "--signal", "TERM", &name])
            .output()
            .unwrap(),
        "podman kill --signal TERM",
    );
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let stderr = lines.lock().unwrap().join("\n");
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "{:?}",
        sent.elapsed()
    );
    assert!(stderr.contains("a job may have been started"), "{stderr}");
    assert!(server.jobs().is_empty());
    assert_eq!(
        calls(&server, Op::ListJobs),
        1,
        "one quick check after the signal"
    );
}

/// amplify-local's image: built from its Dockerfile, a few MB, answering the AWS CLI, and
/// stopping at once on SIGTERM as PID 1 (as `docker stop` and a `services:` container need).
#[test]
fn the_amplify_local_image_answers_the_aws_cli_and_stops_on_sigterm() {
    if !need_root("building and running amplify-local's image") {
        return;
    }
    for tool in ["buildah", "podman", "runc"] {
        need_tool(tool, &format!("the Debian package {tool}"));
    }
    // The README's steps: both static builds, scripts/dist's layout, the Dockerfile.
    for (triple, arch, machine) in [
        ("x86_64-unknown-linux-musl", "amd64", 62u16),
        ("aarch64-unknown-linux-musl", "arm64", 183),
    ] {
        let local = Path::new(ROOT).join(format!("target/{triple}/release/amplify-local"));
        assert!(
            local.exists(),
            "{} is missing: run scripts/test, which builds it (cargo build --release --target {triple} -p amplify-local)",
            local.display()
        );
        let ctx = context();
        let laid = std::fs::read(ctx.path().join(format!("dist/{arch}/amplify-local")))
            .unwrap_or_else(|e| panic!("scripts/dist lays out dist/{arch}/amplify-local: {e}"));
        assert_eq!(u16::from_le_bytes([laid[18], laid[19]]), machine, "{arch}");
    }
    let ctx = context();
    std::fs::copy(
        Path::new(ROOT).join("crates/amplify-local/Dockerfile"),
        ctx.path().join("Dockerfile"),
    )
    .unwrap();
    let store = Store {
        dir: tempfile::tempdir().unwrap(),
    };
    let tag = "localhost/amplify-local:test";
    for (platform, tag) in [
        ("linux/arm64", "localhost/amplify-local:arm64"),
        ("linux/amd64", tag),
    ] {
        store.build(ctx.path(), platform, tag);
    }
    let compressed = compressed_size(&store, tag);
    eprintln!("amplify-local's image: {compressed} bytes gzip-compressed");
    assert!(compressed <= 4_000_000, "{compressed} bytes compressed");

    // On the host's loopback (never another address), any free port.
    let name = format!("amplify-local-sigterm-{}", std::process::id());
    let mut child = store
        .run(
            "host",
            &["--name", &name, tag, "--bind", "127.0.0.1", "--port", "0"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let endpoint = first
        .trim()
        .strip_prefix("AWS_ENDPOINT_URL=")
        .unwrap_or_else(|| panic!("the readiness line: {first:?}"))
        .to_string();
    let aws = need_tool("aws", "PyPI's awscli (tests/requirements.txt)");
    let cli = |args: &[&str]| {
        let out = Command::new(&aws)
            .args([
                "amplify",
                "--endpoint-url",
                &endpoint,
                "--region",
                "us-east-1",
            ])
            .args(["--output", "json"])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", ctx.path())
            .env("AWS_ACCESS_KEY_ID", amplify_local::DEMO_ACCESS_KEY_ID)
            .env(
                "AWS_SECRET_ACCESS_KEY",
                amplify_local::DEMO_SECRET_ACCESS_KEY,
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        let text = ok(out, &format!("aws amplify {}", args[0]));
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let app = ["--app-id", "d1a2b3c4d5e6f7", "--branch-name", "main"];
    let started = cli(&[&["start-job"][..], &app, &["--job-type", "RELEASE"]].concat());
    assert_eq!(started["jobSummary"]["jobId"], "1");
    assert_eq!(started["jobSummary"]["commitId"], "HEAD");
    let listed = cli(&[&["list-jobs"][..], &app].concat());
    assert_eq!(listed["jobSummaries"][0]["status"], "PENDING");

    // `podman stop`'s signal, to PID 1 (see the test above for why not to `podman run`).
    let sent = Instant::now();
    ok(
        store
            .cmd("podman")
            .args(["kill", "--signal", "TERM", &name])
            .output()
            .unwrap(),
        "podman kill --signal TERM",
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "stopped by its own handler, not killed after podman's timeout: {:?}",
        sent.elapsed()
    );
    assert!(
        stderr.contains("amplify-local: SIGTERM: stopping"),
        "{stderr}"
    );
}
