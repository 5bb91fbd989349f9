//! Follow mode (the build Amplify's webhook started for the commit) and cancel-previous
//! (superseded builds stopped before a start), against the local endpoint.

mod common;

use common::*;

const APP: &str = "d1a2b3c4d5e6f7";

fn following(server: &Server) -> Gh {
    let mut gh = github(server, "push", serde_json::json!({}));
    gh.set("AMPLIFY_MODE", "follow")
        .set("AMPLIFY_POLL_INTERVAL", "10ms")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

#[test]
fn a_webhook_job_that_appears_later_is_found_and_followed_to_its_end() {
    let server = Server::start(Config::default());
    // The webhook lags: the first lookup finds nothing, the second finds the job (the wait's
    // read of the branch's history, beside the first lookup, counts as one here).
    server.webhook_job(APP, "main", SHA, 2);
    let gh = following(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StartJob), 0, "follow starts nothing");
    // Two lookups, beside the first the wait's one read of the branch's history, and after
    // the success one look for a newer job that replaced it.
    assert_eq!(calls(&server, Op::ListJobs), 4);
    assert!(
        run.stderr.contains("no job for commit 0123456789abcdef0123456789abcdef01234567 yet: looking again every 5s or more"),
        "lookups are never tighter than 5 s: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("following job 1 (PENDING) for commit"),
        "{}",
        run.stderr
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-id"], "1");
    assert_eq!(outputs["job-status"], "SUCCEED");
    assert_eq!(outputs["commit-id"], SHA);
    assert!(outputs.contains_key("job-duration") && outputs.contains_key("step-log-urls"));
    assert!(
        run.stderr.contains("::group::Waiting for Amplify job 1"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_job_that_already_ended_gives_its_exit_code() {
    for (status, code) in [("SUCCEED", 0), ("FAILED", 5)] {
        let server = Server::start(Config::default());
        server.seed_job_for(APP, "main", "WEB_HOOK", status, SHA);
        let gh = following(&server);
        let run = gh.run();
        assert_eq!(run.code, code, "{status}: {}", run.stderr);
        assert_eq!(calls(&server, Op::GetJob), 1);
        assert_eq!(parse_outputs(&gh.output())["job-status"], status);
    }
}

#[test]
fn of_several_jobs_for_the_commit_the_newest_wins() {
    // AWS's summaries carry no jobType, so the newest job of the commit is its latest build.
    let server = Server::start(Config::default());
    server.seed_job_for(APP, "main", "WEB_HOOK", "SUCCEED", SHA);
    server.seed_job_for(APP, "main", "RETRY", "FAILED", SHA);
    server.seed_job_for(APP, "main", "RELEASE", "SUCCEED", SHA);
    server.seed_job_for(APP, "main", "WEB_HOOK", "FAILED", "another-commit");
    let gh = following(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(parse_outputs(&gh.output())["job-id"], "3", "{}", run.stderr);
}

#[test]
fn no_job_within_the_follow_timeout_exits_6_and_says_why() {
    let server = Server::start(Config::default());
    let mut gh = following(&server);
    gh.set("AMPLIFY_FOLLOW_TIMEOUT", "0");
    let run = gh.run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().last().unwrap(),
        "::error title=amplify-start-job::no Amplify job for commit 0123456789abcdef0123456789abcdef01234567 on branch main \
         within follow-timeout (AMPLIFY_FOLLOW_TIMEOUT) 0s; likely: auto-build is off for the branch, the app is a monorepo \
         whose paths this commit did not change, or the commit was pushed to another branch; raise follow-timeout if the webhook is slow"
    );
    assert!(!gh.output().contains("job-id"));
}

#[test]
fn follow_needs_a_commit() {
    let server = Server::start(Config::default());
    let mut env = base_env(&server);
    env.insert("AMPLIFY_MODE".into(), "follow".into());
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    // No CI, and the working directory is no checkout: no commit anywhere.
    let run = run_with(&env, None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("amplify-start-job: error: AMPLIFY_COMMIT_ID (input commit-id) is not set: follow needs the commit"),
        "{}",
        run.stderr
    );
    assert!(server.requests().is_empty());
}

#[test]
fn the_commit_is_looked_for_two_pages_back_and_no_further() {
    let server = Server::start(Config::default());
    server.seed_job_for(APP, "main", "WEB_HOOK", "SUCCEED", SHA);
    for _ in 0..60 {
        server.seed_job_for(APP, "main", "WEB_HOOK", "SUCCEED", "newer");
    }
    let gh = following(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Two pages, then the wait's one read of the history, and the look for a newer job.
    assert_eq!(calls(&server, Op::ListJobs), 4, "found on the second page");
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-id"], "1");
    // The 60 newer builds succeeded after it: the newest serves the branch.
    assert_eq!(outputs["live-job-id"], "61");

    for _ in 0..40 {
        server.seed_job_for(APP, "main", "WEB_HOOK", "SUCCEED", "newer");
    }
    let mut gh = following(&server);
    gh.set("AMPLIFY_FOLLOW_TIMEOUT", "0");
    let run = gh.run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("(among the branch's 100 newest jobs; an older commit is not looked for)"),
        "{}",
        run.stderr
    );
}

fn superseding(server: &Server) -> Gh {
    let mut gh = github(server, "push", serde_json::json!({}));
    gh.set("AMPLIFY_CANCEL_PREVIOUS", "true")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

#[test]
fn cancel_previous_stops_other_commits_builds_and_keeps_this_commits() {
    let server = Server::start(Config::default());
    let a = server.seed_job_for(APP, "main", "WEB_HOOK", "RUNNING", "older-a");
    let b = server.seed_job_for(APP, "main", "RELEASE", "PENDING", "older-b");
    let ours = server.seed_job_for(APP, "main", "WEB_HOOK", "RUNNING", SHA);
    let done = server.seed_job_for(APP, "main", "RELEASE", "SUCCEED", "older-c");
    let gh = superseding(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StopJob), 2);
    let jobs = server.jobs();
    let status = |id: u64| jobs.iter().find(|j| j.id == id).unwrap().status.clone();
    // The start waits until the stopped jobs have ended: a CANCELLING job holds the branch.
    assert_eq!(
        (status(a), status(b)),
        ("CANCELLED".into(), "CANCELLED".into())
    );
    assert!(
        run.stderr.contains(&format!("job {a} ended: CANCELLED")),
        "{}",
        run.stderr
    );
    assert_eq!(status(ours), "RUNNING", "never a job of this commit");
    assert_eq!(status(done), "SUCCEED");
    assert!(
        run.stderr.contains(&format!(
            "stopped job {a} (commit older-a, RUNNING): superseded by this run"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("stopped job {b} (commit older-b, PENDING)")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "job {ours} (RUNNING) is of this commit: not stopping it"
        )),
        "{}",
        run.stderr
    );
    // The branch is busy with this commit's webhook build: it is adopted, nothing started.
    assert_eq!(calls(&server, Op::StartJob), 1);
    assert_eq!(server.jobs().len(), 4, "no job started");
    assert_eq!(parse_outputs(&gh.output())["job-id"], ours.to_string());
}

#[test]
fn a_job_that_ended_meanwhile_or_a_denied_stop_does_not_block_the_start() {
    for (fault, line) in [
        (
            Fault::error(400, "BadRequestException", "Job 1 has already ended."),
            "ended meanwhile",
        ),
        (
            Fault::error(403, "AccessDeniedException", "not allowed"),
            "could not stop job 1",
        ),
    ] {
        let server = Server::start(Config::default());
        server.seed_job_for(APP, "main", "WEB_HOOK", "RUNNING", "older");
        server.push_faults(Op::StopJob, [fault]);
        let run = superseding(&server).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains(line), "{line}: {}", run.stderr);
        // The job still runs: the branch is busy, the run waits for it (if-busy: wait), then
        // starts once, 5 s or more after the refusal.
        assert!(
            run.stderr.contains(
                "branch main is busy with job 1 (RUNNING, commit older): waiting for it to end"
            ),
            "{}",
            run.stderr
        );
        assert_eq!(calls(&server, Op::StartJob), 2);
        assert_eq!(server.jobs().len(), 2, "one job started");
    }
}

#[test]
fn a_job_stopped_in_this_run_is_never_adopted_as_the_one_it_started() {
    let server = Server::start(Config::default());
    // No commit (no CI, no checkout): every unfinished job of the branch is superseded.
    let stopped = server.seed_job_for(APP, "main", "RELEASE", "RUNNING", "");
    server.push_faults(Op::StartJob, [Fault::Reset]);
    let mut env = base_env(&server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    env.insert("AMPLIFY_CANCEL_PREVIOUS".into(), "true".into());
    env.insert("AMPLIFY_RETRY_BASE_DELAY".into(), "10ms".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StopJob), 1);
    assert_eq!(
        calls(&server, Op::StartJob),
        2,
        "the reset attempt, then a new start"
    );
    let stdout: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_ne!(stdout["jobId"], stopped.to_string(), "{}", run.stderr);
    assert_eq!(stdout["jobId"], "2");
}

#[test]
fn cancel_previous_is_only_for_starts() {
    let server = Server::start(Config::default());
    let mut gh = following(&server);
    gh.set("AMPLIFY_CANCEL_PREVIOUS", "true");
    let run = gh.run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("AMPLIFY_CANCEL_PREVIOUS (input cancel-previous) is \"true\""),
        "{}",
        run.stderr
    );
    assert!(server.requests().is_empty());
}

#[test]
fn a_cancelled_step_shows_amplifys_reason_as_it_is() {
    let server = Server::start(Config {
        outcome: "CANCELLED".into(),
        // A person's cancel (Amplify's own "no diff" skip is not a failure: tests/failures.rs).
        step_reason: Some("Cancelled by alice from the console".into()),
        ..Config::default()
    });
    let mut gh = github(&server, "push", serde_json::json!({}));
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "10ms");
    let run = gh.run();
    assert_eq!(run.code, 5, "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.contains("Amplify job 1 ended CANCELLED: step BUILD CANCELLED (Cancelled by alice from the console)"),
        "{last}"
    );
}
