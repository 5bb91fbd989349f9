//! Transient failures are ridden out; a retry never starts a second job.

mod common;

use common::*;

fn env(server: &Server) -> std::collections::BTreeMap<String, String> {
    let mut env = base_env(server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    env.insert("AMPLIFY_COMMIT_ID".into(), SHA.into());
    // Small delays keep the suite fast; the schedule's shape is unit-tested in src/retry.rs.
    env.insert("AMPLIFY_RETRY_BASE_DELAY".into(), "10ms".into());
    env
}

fn retry_lines(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.contains("failed:") && l.contains("retrying in"))
        .collect()
}

#[test]
fn throttling_twice_then_success_starts_one_job() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::throttle(), Fault::throttle()]);
    let run = run_with(&env(&server), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StartJob), 3);
    assert_eq!(
        calls(&server, Op::ListJobs),
        0,
        "a 429 was surely not applied: no reconciliation"
    );
    assert_eq!(server.jobs().len(), 1);
    let lines = retry_lines(&run);
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(lines[0].contains("attempt 1 of 8 failed: StartJob: LimitExceededException (HTTP 429): Rate exceeded; retrying in"), "{}", lines[0]);
    assert!(lines[1].contains("attempt 2 of 8 failed"), "{}", lines[1]);
}

#[test]
fn internal_failure_then_success_reconciles_and_starts_one_job() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::internal()]);
    let run = run_with(&env(&server), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StartJob), 2);
    assert_eq!(
        calls(&server, Op::ListJobs),
        1,
        "a 500 may have been applied: list before starting again"
    );
    assert_eq!(server.jobs().len(), 1);
}

#[test]
fn html_503_from_a_proxy_then_success() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::html_503()]);
    let run = run_with(&env(&server), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("StartJob: HTTP503 (HTTP 503): <html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"), "{}", run.stderr);
    assert_eq!(server.jobs().len(), 1);
}

#[test]
fn a_reset_before_applying_then_success_starts_one_job() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::Reset]);
    let run = run_with(&env(&server), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StartJob), 2);
    assert_eq!(calls(&server, Op::ListJobs), 1);
    assert_eq!(server.jobs().len(), 1);
}

#[test]
fn a_job_created_before_the_connection_dropped_is_adopted_not_doubled() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::ApplyThenReset]);
    let mut gh = github(&server, "push", serde_json::json!({}));
    gh.set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StartJob), 1, "never a second StartJob");
    assert_eq!(server.jobs().len(), 1, "exactly one job");
    assert!(
        run.stderr
            .contains("adopting job 1 started by an earlier attempt"),
        "{}",
        run.stderr
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-id"], "1");
}

#[test]
fn retry_after_is_honoured() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::throttle().with_retry_after("1")]);
    let run = run_with(&env(&server), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        retry_lines(&run)[0].ends_with("retrying in 1.0s (Retry-After)"),
        "{}",
        run.stderr
    );
}

#[test]
fn throttled_forever_gives_up_within_the_attempts_with_exit_4_and_no_outputs() {
    let server = Server::start(Config::default());
    server.always(Op::StartJob, Fault::throttle());
    let mut gh = github(&server, "push", serde_json::json!({}));
    gh.set("AMPLIFY_RETRY_BASE_DELAY", "10ms")
        .set("AMPLIFY_MAX_ATTEMPTS", "4");
    let run = gh.run();
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StartJob), 4);
    assert!(server.jobs().is_empty());
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("::error title=amplify-start-job::gave up after 4 attempt(s) over "),
        "{last}"
    );
    assert!(
        last.contains("s: StartJob failed: LimitExceededException (HTTP 429): Rate exceeded"),
        "{last}"
    );
    assert_eq!(gh.output(), "earlier=kept\n");
}

#[test]
fn throttled_forever_stops_at_the_retry_timeout() {
    let server = Server::start(Config::default());
    server.always(Op::StartJob, Fault::throttle());
    let mut env = env(&server);
    env.insert("AMPLIFY_MAX_ATTEMPTS".into(), "100".into());
    env.insert("AMPLIFY_RETRY_BASE_DELAY".into(), "100ms".into());
    env.insert("AMPLIFY_RETRY_TIMEOUT".into(), "300ms".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let n = calls(&server, Op::StartJob);
    assert!((2..100).contains(&n), "bounded by time, not attempts: {n}");
}

#[test]
fn a_hang_longer_than_the_request_timeout_is_retried_once_reconciled() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::Hang]);
    let mut env = env(&server);
    env.insert("AMPLIFY_REQUEST_TIMEOUT".into(), "200ms".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        retry_lines(&run)[0].contains("operation timed out")
            || retry_lines(&run)[0].contains("timed out"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::ListJobs), 1);
    assert_eq!(server.jobs().len(), 1);
}

#[test]
fn client_errors_are_sent_exactly_once() {
    for (status, code) in [
        (400, "BadRequestException"),
        (401, "UnauthorizedException"),
        (403, "AccessDeniedException"),
        (404, "NotFoundException"),
    ] {
        let server = Server::start(Config::default());
        server.always(Op::StartJob, Fault::error(status, code, "no"));
        let run = run_with(&env(&server), None);
        assert_eq!(run.code, 3, "{code}: {}", run.stderr);
        assert_eq!(calls(&server, Op::StartJob), 1, "{code}");
        assert!(retry_lines(&run).is_empty(), "{code}");
    }
}

#[test]
fn a_lost_answer_that_cannot_be_checked_says_a_job_may_exist() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::ApplyThenReset]);
    server.always(
        Op::ListJobs,
        Fault::error(403, "AccessDeniedException", "not allowed"),
    );
    let run = run_with(&env(&server), None);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(
        calls(&server, Op::StartJob),
        1,
        "unsure, so no second StartJob"
    );
    assert!(
        run.stderr
            .contains("hint: an attempt's answer was lost, so a job may have been started"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("allow the IAM action amplify:ListJobs"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_retry_settings_are_refused() {
    let server = Server::start(Config::default());
    for (var, value) in [
        ("AMPLIFY_MAX_ATTEMPTS", "0"),
        ("AWS_MAX_ATTEMPTS", "many"),
        ("AMPLIFY_RETRY_TIMEOUT", "2 minutes"),
        ("AMPLIFY_REQUEST_TIMEOUT", "0s"),
    ] {
        let mut env = env(&server);
        env.insert(var.into(), value.into());
        let run = run_with(&env, None);
        assert_eq!(run.code, 2, "{var}");
        assert!(
            run.stderr
                .starts_with(&format!("amplify-start-job: error: {var} (input ")),
            "{}",
            run.stderr
        );
    }
    assert!(server.requests().is_empty());
}

#[test]
fn a_clock_skew_rejection_is_retried_once_with_aws_time() {
    // AWS ahead of this machine: "Signature expired"; behind it: "Signature not yet current".
    for (offset, text, words) in [
        (20 * 60, "Signature expired", "1200s behind AWS's"),
        (
            -20 * 60,
            "Signature not yet current",
            "1200s ahead of AWS's",
        ),
    ] {
        let server = Server::start(Config {
            clock_offset_secs: offset,
            ..Config::default()
        });
        let run = run_with(&env(&server), None);
        assert_eq!(run.code, 0, "{text}: {}", run.stderr);
        let codes: Vec<Option<u16>> = api_requests(&server).iter().map(|r| r.status).collect();
        assert_eq!(codes, [Some(403), Some(200)], "refused once, then accepted");
        assert!(run.stderr.contains(text), "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "attempt 1 was refused because this machine's clock is {words}"
            )),
            "{}",
            run.stderr
        );
        assert_eq!(server.jobs().len(), 1);
    }
}

#[test]
fn a_signature_refused_for_another_reason_is_not_retried() {
    let server = Server::start(Config::default());
    let mut env = env(&server);
    env.insert("AWS_SECRET_ACCESS_KEY".into(), "not-the-secret".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 3, "{}", run.stderr);
    // StartJob once, and each read beside it (GetBranch, GetApp) at most once (a refused
    // start drops the reads still in flight): none is retried.
    assert_eq!(calls(&server, Op::StartJob), 1);
    assert!(calls(&server, Op::GetBranch) <= 1 && calls(&server, Op::GetApp) <= 1);
    assert!(server.requests().len() <= 3);
}

#[test]
fn an_unreadable_200_is_reconciled_and_the_job_adopted_not_doubled() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::ApplyThenCutOff]);
    let run = run_with(&env(&server), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StartJob), 1, "{}", run.stderr);
    assert_eq!(calls(&server, Op::ListJobs), 1);
    assert_eq!(server.jobs().len(), 1, "one job, adopted");
    assert!(
        run.stderr
            .contains("StartJob answered something unreadable")
            && run.stderr.contains("adopting job 1"),
        "{}",
        run.stderr
    );
    let stdout: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(stdout["jobId"], "1");
}

#[test]
fn an_unreadable_200_that_cannot_be_checked_names_the_console_link() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::ApplyThenCutOff]);
    server.always(
        Op::ListJobs,
        Fault::error(403, "AccessDeniedException", "not allowed"),
    );
    let run = run_with(&env(&server), None);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StartJob), 1);
    assert!(
        run.stderr.contains(
            "hint: an attempt's answer was lost, so a job may have been started: check the branch's jobs at \
             https://us-east-1.console.aws.amazon.com/amplify/apps/d1a2b3c4d5e6f7/branches/main/deployments before running again"
        ),
        "{}",
        run.stderr
    );
}
