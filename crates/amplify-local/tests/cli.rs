//! The `amplify-local` binary announces its endpoint once listening and serves it.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

/// The binary started, and the endpoint it announced once listening.
fn start(stderr: Stdio) -> (Child, String) {
    start_with(&[], stderr)
}

/// The binary started with `args`, and the endpoint it announced.
fn start_with(args: &[&str], stderr: Stdio) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_amplify-local"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("AWS_ENDPOINT_URL=")
        .expect(&line)
        .to_string();
    (child, url)
}

#[test]
fn announces_its_endpoint_then_answers_on_it() {
    let (mut child, url) = start(Stdio::null());
    let addr = url.strip_prefix("http://").expect(&url).to_string();
    // Unsigned: refused the way AWS refuses it.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(s, "POST /apps/d1/branches/main/jobs HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(resp.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{resp}");
    assert!(
        resp.contains("x-amzn-ErrorType: MissingAuthenticationTokenException:"),
        "{resp}"
    );
    assert!(
        resp.ends_with(r#"{"message":"Missing Authentication Token"}"#),
        "{resp}"
    );
}

#[test]
fn refuses_unknown_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_amplify-local"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("usage: amplify-local"));
}

#[test]
fn help_prints_the_usage_on_stdout_and_exits_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_amplify-local"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.starts_with("usage: amplify-local"));
    assert!(out.stderr.is_empty());
    // The operations it lists are the router's (its unit test routes one request of each).
    for service in [amplify_local::HOSTING, amplify_local::GEN3] {
        let prefix = format!("Operations served ({service}): ");
        let listed = help
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .expect("--help lists the operations served");
        let listed: Vec<&str> = listed.trim_end_matches('.').split(", ").collect();
        assert_eq!(listed, amplify_local::operations(service));
    }
    assert!(help.contains("StartJob, ") && help.contains("CreateSourceUpload, "));
}

#[test]
fn sigterm_and_sigint_stop_it_at_once_with_exit_0() {
    for signal in ["TERM", "INT"] {
        let (child, _) = start(Stdio::piped());
        let sent = std::time::Instant::now();
        let kill = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{signal}");
        assert!(sent.elapsed() < std::time::Duration::from_secs(2));
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains(&format!("amplify-local: SIG{signal}: stopping")),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn gen3_faults_from_flags_reach_botocore_as_modelled_errors() {
    // The botocore oracle the main crate runs in process, here against the binary, with the
    // apps and the faults it expects given as flags.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let botocore = std::path::Path::new(root).join("target/py-gen3");
    assert!(
        botocore.join("botocore/data/amplifygen3").exists(),
        "botocore 1.44.18 is missing from {}: run scripts/test, which installs it there",
        botocore.display()
    );
    let faults: Vec<String> = ["402", "429:1", "500:2", "409"]
        .iter()
        .map(|spec| format!("ListDeploymentsForApp={spec}"))
        .collect();
    let mut args = vec![
        "--gen3-app",
        "shop,staging:manual,live:LINEAR_10_PERCENT_EVERY_1_MINUTE",
        "--gen3-app",
        "blog,no-repo",
        "--gen3-fork",
        "shop:7:f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0",
    ];
    args.extend(faults.iter().flat_map(|f| ["--gen3-fault", f.as_str()]));
    let (mut child, url) = start_with(&args, Stdio::null());
    let out = Command::new("python3")
        .arg(format!("{root}/tests/oracle/gen3_endpoint.py"))
        .arg(&url)
        .env("PYTHONPATH", &botocore)
        .output()
        .expect("this test needs python3 (the Debian package python3)");
    child.kill().unwrap();
    child.wait().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("passed, 0 failed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_gen3_fault_names_an_operation_of_the_new_service_and_a_modelled_status() {
    for bad in [
        "StartJob=429",
        "GetApp",
        "GetApp=404",
        "GetApp=402:3",
        "GetApp=429:x",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_amplify-local"))
            .args(["--gen3-fault", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("usage: amplify-local"));
    }
}
