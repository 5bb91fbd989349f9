//! When a deploy fails, why, in the CI log: the failing step's last log lines (read from the
//! presigned URL amplify-local serves), one annotation with the telling line, the outputs and the
//! step summary; Amplify's own skips are not failures; a queued job is explained; artifacts are
//! downloaded with their names checked.

mod common;

use common::*;

const APP: &str = "d1a2b3c4d5e6f7";

fn failing(config: Config) -> Server {
    Server::start(Config {
        outcome: "FAILED".into(),
        ..config
    })
}

fn waiting(server: &Server) -> Gh {
    let mut gh = github(server, "push", serde_json::json!({}));
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "10ms")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

/// The lines between the log group's start and its end.
fn grouped(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .skip_while(|l| !l.starts_with("::group::Last "))
        .skip(1)
        .take_while(|l| *l != "::endgroup::")
        .collect()
}

#[test]
fn a_failed_job_shows_the_last_lines_of_its_5000_line_log_and_the_telling_line() {
    let server = failing(Config {
        log_lines: 5_000,
        ..Config::default()
    });
    let gh = waiting(&server);
    let run = gh.run();
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("::group::Last 60 lines of the BUILD log\n"),
        "{}",
        run.stderr
    );
    let tail = grouped(&run.stderr);
    assert_eq!(tail.len(), 60);
    // The generated log: 5,000 package lines, the build command, the error and Amplify's lines.
    assert!(
        tail[0].ends_with("[INFO]: added package 4947 of 5000"),
        "{}",
        tail[0]
    );
    assert!(
        tail[54].ends_with("# Executing command: npm run build"),
        "{}",
        tail[54]
    );
    assert!(
        tail[55].ends_with(amplify_local::ERROR_LINE),
        "{}",
        tail[55]
    );
    assert!(tail[59].ends_with("[INFO]: # Environment caching completed"));
    let annotation = run
        .stderr
        .lines()
        .find(|l| l.starts_with("::error "))
        .unwrap();
    assert_eq!(
        annotation,
        format!(
            "::error title=Amplify BUILD failed::2026-12-03T10:00:00.000Z {}%0AAmplify job 1 ended FAILED: step BUILD FAILED (Build failed: the build command exited with code 1); logs: {}",
            amplify_local::ERROR_LINE,
            parse_outputs(&gh.output())["log-url"]
        )
    );
    assert_eq!(
        run.stderr.matches("::error").count(),
        1,
        "one annotation: {}",
        run.stderr
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["failed-step"], "BUILD");
    assert!(outputs["log-url"].contains("/_logs/"), "{outputs:?}");
    assert_eq!(outputs["job-skipped"], "false");
    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(
        summary.contains("<details><summary>Last 60 lines of the BUILD log</summary>")
            && summary.contains(amplify_local::ERROR_LINE),
        "{summary}"
    );
}

#[test]
fn log_lines_0_reads_no_log_and_the_annotation_says_amplify_s_reason() {
    let server = failing(Config::default());
    let mut gh = waiting(&server);
    gh.set("AMPLIFY_LOG_LINES", "0");
    let run = gh.run();
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(calls(&server, Op::Log), 0);
    assert!(!run.stderr.contains("::group::Last"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "::error title=Amplify BUILD failed::Build failed: the build command exited with code 1%0A"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_log_full_of_workflow_commands_prints_none_that_acts() {
    let evil = [
        "::add-mask::AKIDLOCALAMPLIFY",
        "::set-output name=job-id::666",
        "::stop-commands::pwned",
        "  ::error file=x::forged annotation",
        "::warning::forged",
        "##[error]legacy command",
        "%0A::debug::x",
    ]
    .join("\n");
    let server = failing(Config {
        log_content: Some(evil),
        ..Config::default()
    });
    let gh = waiting(&server);
    let run = gh.run();
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(grouped(&run.stderr).len(), 7, "{}", run.stderr);
    for line in run.stderr.lines() {
        let l = line.trim_start();
        let ours = [
            "::add-mask::",
            "::group::",
            "::endgroup::",
            "::error title=",
        ]
        .iter()
        .any(|p| l.starts_with(p));
        assert!(
            !l.starts_with("::") || ours,
            "a log line acts as a command: {line:?}"
        );
        assert!(!l.contains("##[error]"), "{line:?}");
        if let Some(mask) = l.strip_prefix("::add-mask::") {
            assert_ne!(mask, "AKIDLOCALAMPLIFY", "the log masked nothing");
        }
    }
    // The telling line is the forged error, inert inside the one real annotation.
    let annotation = run
        .stderr
        .lines()
        .find(|l| l.starts_with("::error "))
        .unwrap();
    assert!(
        annotation.starts_with(
            "::error title=Amplify BUILD failed::  :\u{200b}:error file=x::forged annotation%0A"
        ),
        "{annotation}"
    );
    assert_eq!(parse_outputs(&gh.output())["job-id"], "1");
}

#[test]
fn an_expired_log_url_is_one_warning_with_the_console_link_and_the_same_exit_code() {
    let server = failing(Config {
        log_ttl_secs: 0,
        ..Config::default()
    });
    let gh = waiting(&server);
    let run = gh.run();
    assert_eq!(run.code, 5, "{}", run.stderr);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("could not read the BUILD log"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("AccessDenied (HTTP 403): Request has expired")
            && warnings[0].contains(
                "see it in the console: https://us-east-1.console.aws.amazon.com/amplify/apps/d1a2b3c4d5e6f7/branches/main/deployments/1"
            ),
        "{}",
        warnings[0]
    );
    assert_eq!(calls(&server, Op::Log), 1, "a 403 is not retried");
    assert!(
        run.stderr
            .contains("::error title=Amplify BUILD failed::Build failed: the build command"),
        "{}",
        run.stderr
    );
}

#[test]
fn amplify_s_own_no_diff_cancel_is_exit_0_and_a_person_s_cancel_is_exit_5() {
    for (reason, code, skipped) in [
        (
            Some("cancelled - no diff detected from previous commit"),
            0,
            "true",
        ),
        (
            Some("Cancelling build because no changes found for appRoot apps/site"),
            0,
            "true",
        ),
        (None, 5, "false"),
    ] {
        let server = Server::start(Config {
            outcome: "CANCELLED".into(),
            step_reason: reason.map(str::to_string),
            ..Config::default()
        });
        let gh = waiting(&server);
        let run = gh.run();
        assert_eq!(run.code, code, "{reason:?}: {}", run.stderr);
        let outputs = parse_outputs(&gh.output());
        assert_eq!(outputs["job-status"], "CANCELLED");
        assert_eq!(outputs["job-skipped"], skipped);
        if code == 0 {
            assert!(
                run.stderr.contains(
                    "::notice title=Amplify skipped the build::Amplify cancelled job 1 itself: "
                ) && !run.stderr.contains("::error"),
                "{}",
                run.stderr
            );
            assert!(!outputs.contains_key("failed-step"));
        } else {
            assert!(run.stderr.contains("::error"), "{}", run.stderr);
        }
    }
}

#[test]
fn a_job_queued_past_a_minute_is_explained_once_and_its_times_reported() {
    let server = Server::start(Config::default());
    let id = server.seed_job_for(APP, "main", "WEB_HOOK", "PENDING", SHA);
    // Started 90 s ago (the server's clock), still queued for two more looks.
    server.update_job(APP, "main", id, |j| {
        j.start_time -= 90.0;
        j.run_start = None;
        j.pending = ["PENDING", "PENDING", "RUNNING", "SUCCEED"]
            .map(String::from)
            .into();
    });
    let mut gh = github(&server, "push", serde_json::json!({}));
    gh.set("AMPLIFY_MODE", "follow")
        .set("AMPLIFY_POLL_INTERVAL", "10ms");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let notices: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("::notice title=Amplify job queued::"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", run.stderr);
    assert!(
        notices[0].contains("job 1 is still PENDING 9")
            && notices[0].contains("Amplify runs at most 5 jobs at a time per account by default")
            && notices[0].contains("/branches/main/deployments/1"),
        "{}",
        notices[0]
    );
    let ended = run
        .stderr
        .lines()
        .find(|l| l.contains("job 1 ended SUCCEED: queued "))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let queued: u64 = ended
        .split("queued ")
        .nth(1)
        .unwrap()
        .split('s')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((90..100).contains(&queued), "{ended}");
    assert!(ended.contains(", running "), "{ended}");
    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(summary.contains("The job was queued 9"), "{summary}");
}

#[test]
fn artifacts_are_downloaded_and_hostile_names_refused() {
    let server = Server::start(Config {
        artifacts: vec![
            ("report.xml".into(), b"<testsuite/>".to_vec()),
            ("e2e/shot.png".into(), vec![0x89, b'P', b'N', b'G']),
            ("../escaped.txt".into(), b"x".to_vec()),
            ("/etc/amplify-owned".into(), b"x".to_vec()),
            ("a\0b".into(), b"x".to_vec()),
        ],
        ..Config::default()
    });
    let mut gh = waiting(&server);
    gh.set("AMPLIFY_DOWNLOAD_ARTIFACTS", "out");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = gh.workspace().join("out");
    assert_eq!(
        std::fs::read(out.join("report.xml")).unwrap(),
        b"<testsuite/>"
    );
    assert_eq!(
        std::fs::read(out.join("e2e/shot.png")).unwrap(),
        [0x89, b'P', b'N', b'G']
    );
    assert!(!gh.workspace().join("escaped.txt").exists());
    assert!(!std::path::Path::new("/etc/amplify-owned").exists());
    assert_eq!(
        run.stderr
            .matches("is not a safe relative file name: not written")
            .count(),
        3,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("downloaded 2 of 5 artifacts into out"),
        "{}",
        run.stderr
    );
    assert_eq!(
        calls(&server, Op::GetArtifactUrl),
        2,
        "refused names are not fetched"
    );
}
