//! The real binary against the local Amplify endpoint: what is sent, what is written.

mod common;

use common::*;
use serde_json::json;

fn push_payload() -> serde_json::Value {
    json!({
        "ref": "refs/heads/main",
        "head_commit": {
            "id": SHA,
            "message": "Fix the header\n\nLonger body.",
            "timestamp": "2024-05-01T14:00:00+02:00"
        }
    })
}

#[test]
fn push_starts_a_release_of_the_pushed_commit_and_writes_outputs() {
    let server = Server::start(Config::default());
    let gh = github(&server, "push", push_payload());
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);

    let reqs = api_requests(&server);
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.request.method, "POST");
    assert_eq!(r.request.target, "/apps/d1a2b3c4d5e6f7/branches/main/jobs");
    assert!(r.signature.is_ok(), "{:?}", r.signature);
    assert_eq!(r.request.header("content-type"), Some("application/json"));
    assert_eq!(
        r.request.header("user-agent"),
        Some(concat!("amplify-start-job/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(
        body(&server, 0),
        json!({
            "jobType": "RELEASE",
            "jobReason": "GitHub Actions: Deploy run 1234 attempt 2 by octocat",
            "commitId": SHA,
            "commitMessage": "Fix the header\n\nLonger body.",
            "commitTime": 1714564800
        })
    );

    let outputs = parse_outputs(&gh.output());
    let url = "https://us-east-1.console.aws.amazon.com/amplify/apps/d1a2b3c4d5e6f7/branches/main/deployments/1";
    assert_eq!(outputs["earlier"], "kept", "GITHUB_OUTPUT is appended to");
    assert_eq!(outputs["job-id"], "1");
    assert_eq!(
        outputs["job-arn"],
        "arn:aws:amplify:us-east-1:123456789012:apps/d1a2b3c4d5e6f7/branches/main/jobs/0000000001"
    );
    assert_eq!(outputs["job-status"], "PENDING");
    assert_eq!(outputs["job-url"], url);
    assert_eq!(outputs["commit-id"], SHA);
    assert_eq!(outputs["app-id"], "d1a2b3c4d5e6f7");
    assert_eq!(outputs.len(), 8, "{outputs:?}");

    let stdout: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(stdout["jobId"], "1");
    assert_eq!(stdout["jobUrl"], url);
    // stdout is the summary as AWS answered it, but its commitId is the output commit-id (the
    // commit the run asked for); AWS records a RELEASE job as "HEAD", kept under its own name.
    assert_eq!(stdout["commitId"], SHA);
    assert_eq!(stdout["recordedCommitId"], "HEAD");
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "stdout holds the result only"
    );

    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(
        summary.contains(&format!(
            "| d1a2b3c4d5e6f7 | main | [1]({url}) | PENDING | `{SHA}` |"
        )),
        "{summary}"
    );
}

#[test]
fn pull_request_builds_the_head_commit_of_the_head_branch() {
    let server = Server::start(Config::default());
    let head = "fedcba9876543210fedcba9876543210fedcba98";
    let mut gh = github(
        &server,
        "pull_request",
        json!({"pull_request": {"head": {"sha": head, "ref": "feature/login"}}}),
    );
    gh.set("GITHUB_HEAD_REF", "feature/login")
        .set("GITHUB_REF_NAME", "7/merge")
        .set("GITHUB_SHA", "1111111111111111111111111111111111111111");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = &first(&server, Op::StartJob);
    assert_eq!(
        r.request.target,
        "/apps/d1a2b3c4d5e6f7/branches/feature%2Flogin/jobs"
    );
    assert_eq!(
        body(&server, 0)["commitId"],
        head,
        "the PR head, not the merge commit"
    );
    assert_eq!(server.jobs()[0].branch, "feature/login");
}

#[test]
fn workflow_dispatch_reads_message_and_time_from_git() {
    let server = Server::start(Config::default());
    let mut gh = github(&server, "workflow_dispatch", json!({"inputs": {}}));
    let sha = git_repo(
        &gh.workspace(),
        "Deploy by hand\n\nwith details",
        1_700_000_000,
    );
    gh.set("GITHUB_SHA", &sha)
        .set("GITHUB_REF_NAME", "release/2.0");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        body(&server, 0),
        json!({
            "jobType": "RELEASE",
            "jobReason": "GitHub Actions: Deploy run 1234 attempt 2 by octocat",
            "commitId": sha,
            "commitMessage": "Deploy by hand\n\nwith details",
            "commitTime": 1700000000
        })
    );
    assert_eq!(server.jobs()[0].branch, "release/2.0");
}

#[test]
fn a_tag_build_without_a_branch_setting_is_refused_before_sending() {
    let server = Server::start(Config::default());
    let mut gh = github(&server, "push", json!({"ref": "refs/tags/v1.2.0"}));
    gh.set("GITHUB_REF_TYPE", "tag")
        .set("GITHUB_REF_NAME", "v1.2.0");
    let run = gh.run();
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "::error title=amplify-start-job::AMPLIFY_BRANCH_NAME (input branch-name) is not set: \
         this run is for tag \"v1.2.0\", not a branch; set it to the Amplify branch to build, e.g. main\n"
    );
    assert!(server.requests().is_empty());
    assert_eq!(gh.output(), "earlier=kept\n");

    gh.set("AMPLIFY_BRANCH_NAME", "production");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.jobs()[0].branch, "production");
}

#[test]
fn explicit_settings_win_over_the_ci_context() {
    let server = Server::start(Config::default());
    let mut gh = github(&server, "push", push_payload());
    gh.set("AMPLIFY_BRANCH_NAME", "staging")
        .set("AMPLIFY_JOB_TYPE", "web_hook")
        .set("AMPLIFY_JOB_REASON", "hotfix")
        .set("AMPLIFY_COMMIT_ID", "abc123")
        .set("AMPLIFY_COMMIT_MESSAGE", "Explicit")
        .set("AMPLIFY_COMMIT_TIME", "1600000000");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        body(&server, 0),
        json!({"jobType": "WEB_HOOK", "jobReason": "hotfix", "commitId": "abc123", "commitMessage": "Explicit", "commitTime": 1600000000})
    );
    assert_eq!(
        first(&server, Op::StartJob).request.target,
        "/apps/d1a2b3c4d5e6f7/branches/staging/jobs"
    );
}

#[test]
fn every_job_type_is_sent_upper_case() {
    let server = Server::start(Config::default());
    let retried = server.seed_job("d1a2b3c4d5e6f7", "main", "FAILED");
    // MANUAL is not sent to StartJob (AWS refuses it there): it deploys a source through
    // CreateDeployment and StartDeployment (tests/manual.rs).
    for (given, sent) in [
        ("release", "RELEASE"),
        ("Web_Hook", "WEB_HOOK"),
        ("RETRY", "RETRY"),
    ] {
        let mut env = base_env(&server);
        env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
        env.insert("AMPLIFY_JOB_TYPE".into(), given.into());
        if sent == "RETRY" {
            env.insert("AMPLIFY_JOB_ID".into(), retried.to_string());
        }
        let run = run_with(&env, None);
        assert_eq!(run.code, 0, "{given}: {}", run.stderr);
        let n = api_requests(&server).len() - 1;
        assert_eq!(body(&server, n)["jobType"], sent);
        if sent == "RETRY" {
            assert_eq!(
                body(&server, n),
                json!({"jobType": "RETRY", "jobId": retried.to_string()})
            );
        }
    }
}

#[test]
fn a_retry_on_github_does_not_send_the_runs_commit() {
    let server = Server::start(Config::default());
    let id = server.seed_job("d1a2b3c4d5e6f7", "main", "FAILED");
    let mut gh = github(&server, "push", push_payload());
    gh.set("AMPLIFY_JOB_TYPE", "RETRY")
        .set("AMPLIFY_JOB_ID", &id.to_string());
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        body(&server, 0),
        json!({"jobType": "RETRY", "jobId": id.to_string(), "jobReason": "GitHub Actions: Deploy run 1234 attempt 2 by octocat"})
    );
}

#[test]
fn tricky_branch_names_reach_the_server_intact() {
    let server = Server::start(Config::default());
    let names = [
        "feature/a/b",
        "with space",
        "a+b",
        "100%",
        "ünïcødé/分支",
        "x~y_z.-",
        "a?b#c&d=e",
        "semi;colon",
    ];
    for name in names {
        let mut env = base_env(&server);
        env.insert("AMPLIFY_BRANCH_NAME".into(), name.into());
        let run = run_with(&env, None);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
    }
    let reqs = api_requests(&server);
    for (r, name) in reqs.iter().zip(names) {
        assert!(r.signature.is_ok(), "{name}: {:?}", r.signature);
        assert!(!r.request.raw_path().contains(' '), "{}", r.request.target);
    }
    let got: Vec<String> = server.jobs().into_iter().map(|j| j.branch).collect();
    assert_eq!(got, names);
}

#[test]
fn a_session_token_is_sent_and_signed() {
    let mut config = Config::default();
    config.keys[0].session_token = Some("FQoGZXIvYXdzEXAMPLETOKEN".into());
    let server = Server::start(config);
    let mut env = base_env(&server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    env.insert(
        "AWS_SESSION_TOKEN".into(),
        "FQoGZXIvYXdzEXAMPLETOKEN".into(),
    );
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let canonical = first(&server, Op::StartJob).signature.clone().unwrap();
    assert!(
        canonical.contains("x-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN\n"),
        "{canonical}"
    );
}

#[test]
fn a_long_commit_message_is_shortened_with_a_warning() {
    let server = Server::start(Config::default());
    let mut env = base_env(&server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    env.insert("AMPLIFY_COMMIT_MESSAGE".into(), "é".repeat(10_050));
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        body(&server, 0)["commitMessage"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        10_000
    );
    assert!(
        run.stderr.contains("the commit message from AMPLIFY_COMMIT_MESSAGE has 10050 characters; sending its first 10000"),
        "{}",
        run.stderr
    );
}

#[test]
fn untrusted_commit_text_cannot_issue_workflow_commands_or_forge_outputs() {
    let server = Server::start(Config::default());
    let evil = "Innocent\n::set-output name=job-id::666\n::add-mask::x\njob-id<<EOF\n666\nEOF\n::error::boom ##[stop-commands]t";
    let mut payload = push_payload();
    payload["head_commit"]["message"] = json!(evil);
    let mut gh = github(&server, "push", payload);
    gh.set("RUST_LOG", "trace");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(body(&server, 0)["commitMessage"], evil, "sent as is");
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-id"], "1");
    assert_eq!(outputs["app-id"], "d1a2b3c4d5e6f7");
    assert_eq!(outputs.len(), 8, "{outputs:?}");
    let own_mask = format!("::add-mask::{}", amplify_local::DEMO_SECRET_ACCESS_KEY);
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        assert!(
            line == own_mask || !line.trim_start().starts_with("::"),
            "a live workflow command: {line}"
        );
        assert!(!line.contains("##["), "a legacy workflow command: {line}");
    }
}

#[test]
fn secrets_never_appear_in_any_output_even_at_trace_level() {
    let mut config = Config::default();
    config.keys[0].session_token = Some("SESSIONTOKENSECRETVALUE".into());
    let server = Server::start(config);
    let mut gh = github(&server, "push", push_payload());
    gh.set("AWS_SESSION_TOKEN", "SESSIONTOKENSECRETVALUE")
        .set("RUST_LOG", "trace");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("sending"),
        "trace logging is on: {}",
        run.stderr
    );
    let secrets = [
        amplify_local::DEMO_SECRET_ACCESS_KEY,
        "SESSIONTOKENSECRETVALUE",
    ];
    // On GitHub each secret is registered as a mask, first; no other line shows it.
    let masks: Vec<String> = secrets.iter().map(|s| format!("::add-mask::{s}")).collect();
    assert_eq!(run.stderr.lines().take(2).collect::<Vec<_>>(), masks);
    let written = format!(
        "{}{}{}{}",
        run.stdout,
        run.stderr.lines().skip(2).collect::<Vec<_>>().join("\n"),
        gh.output(),
        std::fs::read_to_string(gh.summary_path()).unwrap()
    );
    for secret in secrets {
        assert!(!written.contains(secret), "{secret} leaked");
    }

    // Outside GitHub nothing shows them at all.
    gh.unset("GITHUB_ACTIONS")
        .set("AMPLIFY_BRANCH_NAME", "main");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    for secret in secrets {
        assert!(!format!("{}{}", run.stdout, run.stderr).contains(secret));
    }

    // And a failing run.
    gh.set("AWS_SECRET_ACCESS_KEY", "WRONGSECRETVALUE");
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(!format!("{}{}", run.stdout, run.stderr).contains("WRONGSECRETVALUE"));
}

#[test]
fn aws_rejections_exit_3_with_a_hint_and_write_no_outputs() {
    let config = Config {
        apps: vec![("d1a2b3c4d5e6f7".into(), vec!["main".into()])],
        ..Config::default()
    };
    let server = Server::start(config);
    let mut gh = github(&server, "push", push_payload());
    gh.set("AMPLIFY_BRANCH_NAME", "nope");
    let run = gh.run();
    assert_eq!(run.code, 3);
    assert_eq!(
        run.stderr.lines().last().unwrap(),
        "::error title=amplify-start-job::StartJob failed: NotFoundException (HTTP 404): Branch nope not found.%0A\
         hint: no such app, branch or job: check that app d1a2b3c4d5e6f7 has a branch \"nope\" in region us-east-1 (and the job ID for RETRY); \
         for a branch that does not exist yet (a pull-request preview), set create-branch: true"
    );
    assert_eq!(gh.output(), "earlier=kept\n");

    server.push_faults(
        Op::StartJob,
        [Fault::error(
            403,
            "AccessDeniedException",
            "User is not authorized",
        )],
    );
    gh.set("AMPLIFY_BRANCH_NAME", "main")
        .unset("GITHUB_ACTIONS");
    let run = gh.run();
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.ends_with(
            "amplify-start-job: error: StartJob failed: AccessDeniedException (HTTP 403): User is not authorized\n\
             hint: the credentials lack permission: allow the IAM action amplify:StartJob on \
             arn:aws:amplify:us-east-1:<account-id>:apps/d1a2b3c4d5e6f7/branches/main/jobs/*\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_server_message_with_commands_is_escaped() {
    let server = Server::start(Config::default());
    server.push_faults(
        Op::StartJob,
        [Fault::error(
            400,
            "BadRequestException",
            "bad\n::add-mask::oops",
        )],
    );
    let gh = github(&server, "push", push_payload());
    let run = gh.run();
    assert_eq!(run.code, 3);
    for line in run.stderr.lines() {
        assert!(!line.starts_with("::add-mask::oops"), "{line}");
    }
}

#[test]
fn an_unreachable_endpoint_exits_4() {
    let server = Server::start(Config::default());
    let mut env = base_env(&server);
    drop(server);
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    env.insert(
        "AWS_ENDPOINT_URL".into(),
        format!("http://127.0.0.1:{port}"),
    );
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    env.insert("AMPLIFY_MAX_ATTEMPTS".into(), "2".into());
    env.insert("AMPLIFY_RETRY_BASE_DELAY".into(), "10ms".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: gave up after 2 attempt(s) over "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("StartJob got no answer from http://127.0.0.1:"),
        "{}",
        run.stderr
    );
}

/// A start pays one round trip after the handshake: the reads for branch-url (GetBranch,
/// GetApp) go out beside StartJob, not after its answer. StartJob's answer is held back here;
/// both reads arrive while it is held.
#[test]
fn the_branch_url_reads_go_out_beside_start_job_not_after_it() {
    let server = Server::start(Config::default());
    let held = std::time::Duration::from_millis(1500);
    server.push_faults(Op::StartJob, [Fault::Delay(held)]);
    let gh = github(&server, "push", json!({}));
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let start = first(&server, Op::StartJob).at;
    for op in [Op::GetBranch, Op::GetApp] {
        let at = first(&server, op).at;
        assert!(
            at < start + held.as_secs_f64() / 2.0,
            "{op:?} arrived {:.3}s after StartJob, whose answer took {held:?}",
            at - start
        );
    }
    assert!(server.connections() >= 3, "each on its own connection");
    let outputs = parse_outputs(&gh.output());
    assert_eq!(
        outputs["branch-url"],
        "https://main.d1a2b3c4d5e6f7.amplifyapp.com"
    );
}
