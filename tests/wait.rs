//! Following a job to its end against the local endpoint's state machine
//! (PENDING -> PROVISIONING -> RUNNING -> final, one step per GetJob).

mod common;

use std::io::{BufRead, BufReader};

use common::*;

fn waiting(server: &Server) -> Gh {
    let mut gh = github(server, "push", serde_json::json!({}));
    gh.set("AMPLIFY_WAIT", "TRUE")
        .set("AMPLIFY_POLL_INTERVAL", "10ms")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

#[test]
fn a_successful_job_exits_0_with_its_final_status_duration_and_step_logs() {
    let server = Server::start(Config::default());
    let gh = waiting(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::GetJob), 3);
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-status"], "SUCCEED");
    assert!(outputs["job-duration"].parse::<u64>().is_ok());
    let logs: serde_json::Value = serde_json::from_str(&outputs["step-log-urls"]).unwrap();
    assert_eq!(
        logs.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["BUILD", "DEPLOY", "VERIFY"]
    );
    let status_lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("job 1: "))
        .collect();
    assert_eq!(
        status_lines.len(),
        3,
        "one line per status change: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("::group::Waiting for Amplify job 1\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("::endgroup::\n"));
    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(summary.contains("| BUILD | SUCCEED | "), "{summary}");
    let stdout: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(stdout["status"], "SUCCEED");
}

#[test]
fn a_failed_job_exits_5_naming_the_failed_step() {
    let server = Server::start(Config {
        outcome: "FAILED".into(),
        ..Config::default()
    });
    let gh = waiting(&server);
    let run = gh.run();
    assert_eq!(run.code, 5, "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap();
    // One annotation titled after the step: the log's telling line, then what ended how.
    assert!(
        last.starts_with("::error title=Amplify BUILD failed::"),
        "{last}"
    );
    assert!(last.contains("%0AAmplify job 1 ended FAILED: step BUILD FAILED (Build failed: the build command exited with code 1); logs: http://127.0.0.1:"), "{last}");
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-status"], "FAILED");
    // Only the failing step failed; the steps after it never ran.
    let logs: serde_json::Value = serde_json::from_str(&outputs["step-log-urls"]).unwrap();
    assert_eq!(
        logs.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["BUILD"]
    );
}

#[test]
fn a_cancelled_job_exits_5() {
    let server = Server::start(Config {
        outcome: "CANCELLED".into(),
        ..Config::default()
    });
    let run = waiting(&server).run();
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("Amplify job 1 ended CANCELLED"),
        "{}",
        run.stderr
    );
}

#[test]
fn throttled_polls_slow_down_but_do_not_end_the_wait() {
    let server = Server::start(Config::default());
    server.push_faults(Op::GetJob, [Fault::throttle(), Fault::throttle()]);
    let gh = waiting(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::GetJob), 5);
    assert_eq!(
        run.stderr
            .matches("GetJob failed: GetJob failed: LimitExceededException")
            .count(),
        2,
        "{}",
        run.stderr
    );
}

#[test]
fn a_wait_timeout_exits_6_and_leaves_the_job_running() {
    let server = Server::start(Config::default());
    let mut gh = waiting(&server);
    gh.set("AMPLIFY_POLL_INTERVAL", "1h")
        .set("AMPLIFY_WAIT_TIMEOUT", "50ms");
    let run = gh.run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    // A limit below the poll interval still looks: once at the start, once at the deadline.
    assert_eq!(calls(&server, Op::GetJob), 2);
    assert!(
        run.stderr.contains(
            "gave up waiting for Amplify job 1 after 0s; it is still RUNNING: https://us-east-1.console.aws.amazon.com/amplify/apps/d1a2b3c4d5e6f7/branches/main/deployments/1; \
             the limit, wait-timeout (AMPLIFY_WAIT_TIMEOUT), is 50ms: raise it (e.g. 45m) to wait longer"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::StopJob), 0);
    assert_eq!(
        parse_outputs(&gh.output())["job-id"],
        "1",
        "outputs are written on timeout too"
    );
}

#[test]
fn a_wait_timeout_with_cancel_stops_the_job() {
    let server = Server::start(Config::default());
    let mut gh = waiting(&server);
    gh.set("AMPLIFY_POLL_INTERVAL", "1h")
        .set("AMPLIFY_WAIT_TIMEOUT", "50ms")
        .set("AMPLIFY_CANCEL_ON_TIMEOUT", "true");
    let run = gh.run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StopJob), 1);
    assert_eq!(server.jobs()[0].status, "CANCELLING");
    assert!(
        run.stderr.contains("it was RUNNING, and was stopped"),
        "{}",
        run.stderr
    );
}

#[test]
fn sigterm_while_waiting_stops_the_job_and_exits_143() {
    let server = Server::start(Config::default());
    let mut gh = waiting(&server);
    gh.set("AMPLIFY_POLL_INTERVAL", "1h")
        .set("AMPLIFY_CANCEL_ON_ABORT", "true");
    let mut child = gh.spawn();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    // The group opens once the signal handlers are in place: wait on it, not on a timer.
    while !line.starts_with("::group::") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the wait started");
    }
    send_signal(child.id(), "TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert_eq!(calls(&server, Op::StopJob), 1);
}

#[test]
fn wait_booleans_are_strict() {
    let server = Server::start(Config::default());
    for (var, value) in [("AMPLIFY_WAIT", "yes"), ("AMPLIFY_CANCEL_ON_ABORT", "1")] {
        let mut gh = waiting(&server);
        gh.set(var, value);
        let run = gh.run();
        assert_eq!(run.code, 2, "{var}");
        assert!(
            run.stderr.contains(&format!("{var} (input ")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("not a boolean; set it to true or false"),
            "{}",
            run.stderr
        );
    }
    assert!(server.requests().is_empty());
}

/// AWS closes a kept-alive connection that stays idle; a wait of an hour polls across many
/// such closes. Each poll here comes after the endpoint closed the last connection: the wait
/// opens a new one and goes on, every poll answered, none failed.
#[test]
fn a_wait_goes_on_when_the_endpoint_closes_idle_connections() {
    let server = Server::start(Config {
        idle_timeout: Some(std::time::Duration::from_millis(100)),
        ..Config::default()
    });
    let mut gh = waiting(&server);
    gh.set("AMPLIFY_POLL_INTERVAL", "400ms");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::GetJob), 3);
    assert_eq!(parse_outputs(&gh.output())["job-status"], "SUCCEED");
    assert!(
        server.connections() >= 4,
        "a new connection after each idle close: {}",
        server.connections()
    );
    assert!(
        !run.stderr.contains("attempt 1 of"),
        "no poll failed: {}",
        run.stderr
    );
}
