//! The Windows build (x86_64-pc-windows-gnu, cross-built with mingw-w64 by scripts/test) under
//! wine, against amplify-local: a start, a wait, a manual deployment of a folder, and Ctrl-C.
//! Debian's wine 8.0 lacks bcryptprimitives.dll, which Rust's standard library imports, so the
//! test builds a one-function stand-in (tests/windows/bcryptprimitives.c) and puts it in the
//! prefix's system32. Wine turns SIGINT into a console Ctrl-C event, so the Ctrl-C path is the
//! real one; SIGTERM ends a wine process outright, so Ctrl-Break and closing the console are not
//! shown here (their listeners are compiled and installed the same way).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The build scripts/test makes, or the file a release publishes (`AMPLIFY_TEST_WINDOWS_EXE`,
/// which release.yml sets to the .exe in dist/).
fn exe() -> PathBuf {
    let path = std::env::var_os("AMPLIFY_TEST_WINDOWS_EXE").map_or_else(
        || Path::new(ROOT).join("target/x86_64-pc-windows-gnu/release/amplify-start-job.exe"),
        |p| Path::new(ROOT).join(p),
    );
    assert!(
        path.exists(),
        "{} is missing: run scripts/test, which builds it (cargo build --release --target x86_64-pc-windows-gnu -p amplify-start-job, with Debian's gcc-mingw-w64-x86-64)",
        path.display()
    );
    path
}

/// A wine prefix under target/ (made once: wine's first start is slow) with the stand-in DLL.
fn prefix() -> PathBuf {
    need_tool("wine", "Debian's wine and wine64");
    let gcc = need_tool("x86_64-w64-mingw32-gcc", "Debian's gcc-mingw-w64-x86-64");
    let prefix = Path::new(ROOT).join("target/wine-prefix");
    let system32 = prefix.join("drive_c/windows/system32");
    if !system32.join("kernel32.dll").exists() {
        let boot = Command::new("wineboot")
            .arg("--init")
            .env("WINEPREFIX", &prefix)
            .env("WINEDEBUG", "-all")
            .output()
            .expect("wineboot runs");
        assert!(
            system32.join("kernel32.dll").exists(),
            "wineboot made no prefix: {}",
            String::from_utf8_lossy(&boot.stderr)
        );
    }
    let dll = system32.join("bcryptprimitives.dll");
    let src = Path::new(ROOT).join("tests/windows");
    let built = Command::new(gcc)
        .args(["-shared", "-O2", "-o"])
        .arg(&dll)
        .arg(src.join("bcryptprimitives.c"))
        .arg(src.join("bcryptprimitives.def"))
        .arg("-ladvapi32")
        .output()
        .expect("mingw-w64 runs");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    prefix
}

/// The Windows binary under wine, with `env` and nothing of the test's but PATH.
fn wine(prefix: &Path, env: &std::collections::BTreeMap<String, String>) -> Command {
    let mut cmd = Command::new("wine");
    cmd.arg(exe())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env);
    cmd
}

/// A path as a Windows program sees it under wine (drive Z: is the root).
fn windows_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

#[test]
fn the_windows_binary_starts_waits_deploys_a_folder_and_honours_ctrl_c_under_wine() {
    let prefix = prefix();
    let server = Server::start(Config::default());
    let dir = tempfile::tempdir().unwrap();

    // A start and a wait, writing GITHUB_OUTPUT as on a Windows runner.
    let output = dir.path().join("output");
    std::fs::write(&output, "").unwrap();
    let mut env = base_env(&server);
    for (k, v) in [
        ("AMPLIFY_BRANCH_NAME", "main".to_string()),
        ("AMPLIFY_COMMIT_ID", SHA.to_string()),
        ("AMPLIFY_WAIT", "true".to_string()),
        ("AMPLIFY_POLL_INTERVAL", "10ms".to_string()),
        ("GITHUB_OUTPUT", windows_path(&output)),
    ] {
        env.insert(k.into(), v);
    }
    let run = wine(&prefix, &env).output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let written = std::fs::read_to_string(&output).unwrap();
    assert!(
        !written.contains('\r'),
        "no CR in GITHUB_OUTPUT: {written:?}"
    );
    let outputs = parse_outputs(&written);
    assert_eq!(outputs["job-status"], "SUCCEED");
    assert_eq!(outputs["commit-id"], SHA);

    // A manual deployment of a folder: the zip's names use forward slashes.
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("assets")).unwrap();
    std::fs::write(site.join("index.html"), "<h1>hi</h1>").unwrap();
    std::fs::write(site.join("assets/app.js"), "1").unwrap();
    let mut env = base_env(&server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "manual".into());
    env.insert("AMPLIFY_SOURCE".into(), windows_path(&site));
    let run = wine(&prefix, &env).output().unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let upload = &server.uploads()[0];
    assert_eq!(upload.entries, ["assets/", "assets/app.js", "index.html"]);

    // Ctrl-C while waiting: 130, and the job named.
    let mut env = base_env(&server);
    for (k, v) in [
        ("AMPLIFY_BRANCH_NAME", "cancelled"),
        ("AMPLIFY_COMMIT_ID", SHA),
        ("AMPLIFY_WAIT", "true"),
        ("AMPLIFY_POLL_INTERVAL", "60s"),
    ] {
        env.insert(k.into(), v.into());
    }
    let mut child = wine(&prefix, &env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let ready = line.contains("job 1: PROVISIONING");
        seen.push(line);
        if ready {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains("PROVISIONING")),
        "{seen:?}"
    );
    // The wine loader became the program: its pid is the Windows process's.
    send_signal(child.id(), "INT");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("SIGINT: stopping"))
            && rest
                .iter()
                .any(|l| l.contains("interrupted while waiting for Amplify job 1")),
        "{rest:?}"
    );
}
