//! What AWS really answers, and what the tool does about it: one unfinished job per branch
//! (`if-busy`), "HEAD" commit ids and sparse summaries after a lost answer, deployments that are
//! PENDING until started, the real CreateBranch texts, and host names that resolve. amplify-local
//! plays each as its README's fidelity table says, with the sources.

mod common;

use common::*;

const APP: &str = "d1a2b3c4d5e6f7";

fn push(server: &Server) -> Gh {
    let mut gh = github(server, "push", serde_json::json!({}));
    gh.set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

fn start_times(server: &Server) -> Vec<f64> {
    server
        .requests()
        .iter()
        .filter(|r| r.op == Some(Op::StartJob))
        .map(|r| r.at)
        .collect()
}

#[test]
fn a_busy_branch_is_not_throttling_the_run_waits_for_its_job_then_starts_once() {
    let server = Server::start(Config::default());
    let other = server.seed_job_for(APP, "main", "WEB_HOOK", "RUNNING", "older");
    let gh = push(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "branch main is busy with job {other} (RUNNING, commit older): waiting for it to end before starting (if-busy: wait)"
        )),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("retrying in"),
        "a busy branch is not retried as throttling: {}",
        run.stderr
    );
    let starts = start_times(&server);
    assert_eq!(starts.len(), 2, "refused once, then started");
    assert!(
        starts[1] - starts[0] >= 5.0,
        "never more often than every 5 s: {starts:?}"
    );
    assert_eq!(server.jobs().len(), 2, "one job started");
    assert_eq!(parse_outputs(&gh.output())["job-id"], "2");
}

#[test]
fn if_busy_cancel_stops_the_job_and_starts_once_it_has_ended() {
    let server = Server::start(Config::default());
    let other = server.seed_job_for(APP, "main", "WEB_HOOK", "RUNNING", "older");
    let mut gh = push(&server);
    gh.set("AMPLIFY_IF_BUSY", "cancel");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StopJob), 1);
    let jobs = server.jobs();
    assert_eq!(jobs[0].status, "CANCELLED", "{}", run.stderr);
    assert!(
        run.stderr.contains("stopping it (if-busy: cancel)")
            && run
                .stderr
                .contains(&format!("job {other} ended: CANCELLED")),
        "{}",
        run.stderr
    );
    assert_eq!(jobs.len(), 2);
    assert_eq!(calls(&server, Op::StartJob), 2);
}

#[test]
fn if_busy_fail_exits_3_naming_the_job_and_writes_nothing() {
    let server = Server::start(Config::default());
    server.seed_job_for(APP, "main", "WEB_HOOK", "RUNNING", "older");
    let mut gh = push(&server);
    gh.set("AMPLIFY_IF_BUSY", "fail");
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "branch main is busy with job 1 (RUNNING, commit older), and if-busy (AMPLIFY_IF_BUSY) is fail"
        ) && run.stderr.contains("set if-busy: wait (the default)"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::StartJob), 1);
    assert_eq!(gh.output(), "earlier=kept\n", "no outputs");
}

#[test]
fn a_busy_branch_past_wait_timeout_exits_6_having_started_nothing() {
    let server = Server::start(Config::default());
    // Queued: it takes three looks to end, and the limit allows two.
    server.seed_job_for(APP, "main", "WEB_HOOK", "PENDING", "older");
    let mut gh = push(&server);
    gh.set("AMPLIFY_WAIT_TIMEOUT", "1s");
    let run = gh.run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr.contains("branch main was still busy with job 1 (RUNNING) after 1s, the limit wait-timeout (AMPLIFY_WAIT_TIMEOUT) sets; nothing was started"),
        "{}",
        run.stderr
    );
    assert_eq!(server.jobs().len(), 1);
}

#[test]
fn a_busy_branch_building_this_very_commit_is_adopted_not_doubled() {
    let server = Server::start(Config::default());
    let webhook = server.seed_job_for(APP, "main", "WEB_HOOK", "RUNNING", SHA);
    let mut gh = push(&server);
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "10ms");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "job {webhook} (RUNNING) of branch main builds this very commit {SHA}: adopting it instead of starting another"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::StartJob), 1, "the refused one only");
    assert_eq!(server.jobs().len(), 1, "nothing started");
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-id"], webhook.to_string());
    assert_eq!(outputs["job-status"], "SUCCEED");
    assert_eq!(outputs["commit-id"], SHA);
}

#[test]
fn a_lost_start_job_answer_is_decided_from_aws_s_sparse_summaries_even_when_the_check_fails_once() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartJob, [Fault::ApplyThenReset]);
    server.push_faults(Op::ListJobs, [Fault::internal()]);
    let gh = push(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The job is listed with commitId HEAD and no jobType, as AWS lists it: it is still ours.
    assert!(
        run.stderr
            .contains("adopting job 1 started by an earlier attempt whose answer was lost"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::StartJob), 1, "never a second StartJob");
    assert_eq!(server.jobs().len(), 1);
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-id"], "1");
    assert_eq!(outputs["commit-id"], SHA, "the commit asked for, not HEAD");
}

#[test]
fn a_lost_start_job_answer_with_another_commit_s_webhook_build_meanwhile_is_not_adopted() {
    let server = Server::start(Config::default());
    // The attempt never reached AWS (reset before applying), and a webhook build of another
    // commit started meanwhile: not ours, so the branch is busy and the run waits for it.
    server.push_faults(Op::StartJob, [Fault::Reset]);
    server.webhook_job(APP, "main", "another", 0);
    let gh = push(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("adopting"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("branch main is busy with job 1 (RUNNING, commit another)")
            || run
                .stderr
                .contains("branch main is busy with job 1 (PROVISIONING, commit another)")
            || run
                .stderr
                .contains("branch main is busy with job 1 (PENDING, commit another)"),
        "{}",
        run.stderr
    );
    assert_eq!(parse_outputs(&gh.output())["job-id"], "2");
    assert_eq!(server.jobs().len(), 2);
}

fn deploying(server: &Server) -> Gh {
    let mut gh = push(server);
    gh.set("AMPLIFY_SOURCE", "dist");
    let dir = gh.workspace().join("dist");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>hi</h1>").unwrap();
    gh
}

#[test]
fn a_lost_create_deployment_answer_is_recovered_though_the_check_and_the_stop_fail_once() {
    let server = Server::start(Config::default());
    server.push_faults(Op::CreateDeployment, [Fault::ApplyThenReset]);
    server.push_faults(Op::ListJobs, [Fault::internal()]);
    server.push_faults(Op::StopJob, [Fault::Reset]);
    let gh = deploying(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let jobs = server.jobs();
    assert_eq!(jobs.len(), 2, "{}", run.stderr);
    assert_eq!(jobs[0].status, "CANCELLED", "the PENDING orphan is stopped");
    assert!(!jobs[0].started);
    assert_eq!(parse_outputs(&gh.output())["job-id"], "2");
    assert!(
        run.stderr.contains(
            "stopping job 1 (PENDING), made by an attempt whose answer was lost and never started"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_lost_start_deployment_answer_whose_repeat_fails_once_is_still_one_job() {
    let server = Server::start(Config::default());
    server.push_faults(
        Op::StartDeployment,
        [Fault::ApplyThenReset, Fault::internal()],
    );
    // The repeat is refused as started; the GetJob that confirms it fails once too.
    server.push_faults(Op::GetJob, [Fault::internal()]);
    let gh = deploying(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.jobs().len(), 1);
    assert!(server.jobs()[0].started);
    assert_eq!(parse_outputs(&gh.output())["job-id"], "1");
}

#[test]
fn a_job_neither_started_nor_stopped_is_named_and_a_later_run_with_if_busy_cancel_clears_it() {
    let server = Server::start(Config::default());
    // The upload is refused, and so is the clean-up's StopJob.
    server.push_faults(
        Op::Upload,
        [Fault::Answer {
            status: 403,
            error_type: None,
            content_type: "application/xml".into(),
            body: "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
                .into(),
            retry_after: None,
        }],
    );
    server.push_faults(
        Op::StopJob,
        [Fault::error(403, "AccessDeniedException", "not allowed")],
    );
    let gh = deploying(&server);
    let run = gh.run();
    assert_ne!(run.code, 0, "{}", run.stderr);
    let last: Vec<&str> = run.stderr.lines().rev().take(2).collect();
    assert!(
        last.iter().any(|l| l.contains(
            "job 1 (PENDING), made by this run, could be neither started nor stopped"
        )) && last.iter().any(|l| l.contains(
            "stop it with `aws amplify stop-job --app-id d1a2b3c4d5e6f7 --branch-name main --job-id 1 --region us-east-1`, or run again with cancel-previous: true or if-busy: cancel"
        )),
        "{}",
        run.stderr
    );

    // The next run meets AWS's refusal; if-busy: cancel stops the orphan and deploys.
    let mut gh = deploying(&server);
    gh.set("AMPLIFY_IF_BUSY", "cancel");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let jobs = server.jobs();
    assert_eq!(jobs[0].status, "CANCELLED");
    assert_eq!(jobs.len(), 2);
    assert_eq!(parse_outputs(&gh.output())["job-id"], "2");
}

#[test]
fn a_pending_orphan_is_named_with_the_command_and_cancel_previous_clears_it() {
    let server = Server::start(Config::default());
    let orphan = server.seed_deployment(APP, "main");
    let gh = deploying(&server);
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "job {orphan} is PENDING: a deployment made and never started"
        )) && run.stderr.contains(&format!(
            "stop it with `aws amplify stop-job --app-id {APP} --branch-name main --job-id {orphan} --region us-east-1` or run with if-busy: cancel"
        )),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("wait for it to end"),
        "no advice that contradicts itself: {}",
        run.stderr
    );

    let mut gh = deploying(&server);
    gh.set("AMPLIFY_CANCEL_PREVIOUS", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.jobs()[0].status, "CANCELLED");
    assert_eq!(server.jobs().len(), 2);
}

fn previewing(server: &Server, branch: &str) -> Gh {
    let payload =
        serde_json::json!({"pull_request": {"number": 7, "head": {"sha": SHA, "ref": branch}}});
    let mut gh = github(server, "pull_request", payload);
    gh.set("GITHUB_HEAD_REF", branch)
        .set("GITHUB_REPOSITORY", "octo/site")
        .set("AMPLIFY_CREATE_BRANCH", "true")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

fn strict() -> Server {
    Server::start(Config {
        strict_branches: true,
        ..Config::default()
    })
}

#[test]
fn a_long_mixed_case_branch_gets_a_host_name_that_resolves() {
    let server = strict();
    let branch = "Feature/FPAFE-6_when-the-user-logs-in-if-the-password-is-about-to-expire-display-a-countdown";
    let gh = previewing(&server, branch);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let created = &server.branches()[0];
    assert_eq!(created.name, branch);
    let label = &created.display_name;
    assert!(label.len() <= 63, "{label}");
    assert!(
        label.starts_with("feature-fpafe-6-when-the-user-logs-in-if-the-password")
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "{label}"
    );
    assert_eq!(
        parse_outputs(&gh.output())["branch-url"],
        format!("https://{label}.{APP}.amplifyapp.com")
    );
}

#[test]
fn a_branch_url_without_a_display_name_follows_aws_s_mapping() {
    let server = Server::start(Config::default());
    let mut gh = push(&server);
    gh.set("AMPLIFY_BRANCH_NAME", "Release/6.2_RC");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        parse_outputs(&gh.output())["branch-url"],
        format!("https://release-6-2-rc.{APP}.amplifyapp.com")
    );
}

#[test]
fn a_branch_still_being_deleted_past_the_retry_timeout_exits_3_saying_it_can_take_long() {
    let server = strict();
    let mut gone = amplify_local::BranchRecord::new(APP, "pr-7", "PULL_REQUEST");
    gone.deleting = 1000;
    server.seed_branch(gone);
    let mut gh = previewing(&server, "pr-7");
    gh.set("AMPLIFY_RETRY_TIMEOUT", "100ms");
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("The branch is deleting for the app")
            && run
                .stderr
                .contains("still being deleted, which can take from minutes to days"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::StartJob), 0);
}

#[test]
fn an_unreadable_create_branch_answer_is_checked_with_get_branch() {
    let server = strict();
    server.push_faults(Op::CreateBranch, [Fault::ApplyThenCutOff]);
    let gh = previewing(&server, "pr-8");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::CreateBranch), 1);
    assert_eq!(server.branches().len(), 1);
    assert_eq!(server.jobs().len(), 1);
}

fn following(server: &Server) -> Gh {
    // The commit's time (2024-05-01T12:00:00Z) comes from the push payload.
    let payload = serde_json::json!({
        "head_commit": {
            "id": SHA,
            "message": "Fix",
            "timestamp": "2024-05-01T14:00:00+02:00"
        }
    });
    let mut gh = github(server, "push", payload);
    gh.set("AMPLIFY_MODE", "follow")
        .set("AMPLIFY_POLL_INTERVAL", "10ms")
        .set("AMPLIFY_FOLLOW_TIMEOUT", "0s");
    gh
}

#[test]
fn follow_takes_the_one_head_build_started_after_the_commit() {
    let server = Server::start(Config::default());
    // The first build of a new branch, recorded as HEAD, as Amplify records some.
    let head = server.seed_job_for(APP, "main", "WEB_HOOK", "RUNNING", "HEAD");
    let gh = following(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "following job {head} (RUNNING): no job records commit {SHA}, and this one, recorded as HEAD"
        )),
        "{}",
        run.stderr
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-id"], head.to_string());
    assert_eq!(outputs["commit-id"], SHA);
}

#[test]
fn follow_with_several_head_builds_names_them_and_exits_6() {
    let server = Server::start(Config::default());
    let a = server.seed_job_for(APP, "main", "WEB_HOOK", "SUCCEED", "HEAD");
    let b = server.seed_job_for(APP, "main", "RELEASE", "RUNNING", "HEAD");
    let run = following(&server).run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "several recorded as HEAD started after it: {b} (RUNNING), {a} (SUCCEED)"
        )),
        "{}",
        run.stderr
    );
}
