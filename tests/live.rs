//! What is live once a waited job ends: the commit its BUILD log says it checked out (a RELEASE
//! job builds the branch's tip when it starts, not the commit sent), and the job that serves
//! the branch (a newer one may have succeeded after ours).

mod common;

use std::process::Command;

use common::*;

const APP: &str = "d1a2b3c4d5e6f7";

fn waiting(server: &Server) -> Gh {
    let mut gh = github(server, "push", serde_json::json!({}));
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "10ms")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

fn log_gets(server: &Server) -> Vec<amplify_local::Recorded> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.op == Some(Op::Log))
        .collect()
}

fn annotations<'a>(stderr: &'a str, kind: &str) -> Vec<&'a str> {
    stderr
        .lines()
        .filter(|l| l.starts_with(&format!("::{kind} ")))
        .collect()
}

#[test]
fn the_commit_asked_for_is_said_to_be_deployed_reading_only_the_log_s_head() {
    let server = Server::start(Config::default());
    let gh = waiting(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["deployed-commit"], SHA);
    assert_eq!(outputs["live-job-id"], "1");
    assert!(
        run.stderr
            .contains(&format!("job 1 built commit {SHA}, the commit asked for")),
        "{}",
        run.stderr
    );
    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(
        summary.contains(&format!("Deployed commit: `{SHA}`, the commit asked for.")),
        "{summary}"
    );
    // One GET of the BUILD log, for its first MiB at most, answered 206.
    let gets = log_gets(&server);
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].request.header("range"), Some("bytes=0-1048575"));
    assert_eq!(gets[0].status, Some(206));
    assert!(
        annotations(&run.stderr, "warning").is_empty(),
        "{}",
        run.stderr
    );
}

#[test]
fn a_moved_branch_is_one_warning_naming_both_commits_and_those_between() {
    // The checkout: the commit the run asks for, then one pushed after it.
    let checkout = tempfile::tempdir().unwrap();
    let repo = checkout.path();
    let asked = git_repo(repo, "the commit asked for", 1_764_000_000);
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(repo)
            .env("HOME", repo)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "pushed while it queued",
    ]);
    let moved = git(&["rev-parse", "HEAD"]);
    let server = Server::start(Config {
        moved_tip: Some(moved.clone()),
        ..Config::default()
    });
    let mut gh = waiting(&server);
    gh.set("GITHUB_WORKSPACE", repo.to_str().unwrap())
        .set("GITHUB_SHA", &asked);
    let run = gh.run();
    assert_eq!(run.code, 0, "warn is the default: {}", run.stderr);
    let warnings = annotations(&run.stderr, "warning");
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    let short = &moved[..7];
    for part in [
        format!("job 1 built commit {moved}, not {asked}"),
        format!("the commits between them: {short} pushed while it queued"),
    ] {
        assert!(warnings[0].contains(&part), "{part}: {}", warnings[0]);
    }
    assert!(
        !run.stderr
            .lines()
            .any(|l| !l.starts_with("::") && l.contains("built commit")),
        "the annotation, not also a plain line: {}",
        run.stderr
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["deployed-commit"], moved);
    assert_eq!(outputs["commit-id"], asked);
    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(
        summary.contains("**not** the commit asked for"),
        "{summary}"
    );
}

#[test]
fn on_commit_mismatch_fail_exits_5_saying_why() {
    let moved = "89abcdef0123456789abcdef0123456789abcdef";
    let server = Server::start(Config {
        moved_tip: Some(moved.into()),
        ..Config::default()
    });
    let mut gh = waiting(&server);
    gh.set("AMPLIFY_ON_COMMIT_MISMATCH", "FAIL");
    let run = gh.run();
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "Amplify job 1 succeeded, but built commit {moved}, not {SHA}: on-commit-mismatch is fail"
        )),
        "{}",
        run.stderr
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["deployed-commit"], moved);
    assert_eq!(outputs["job-status"], "SUCCEED");
}

#[test]
fn a_log_without_the_line_or_an_expired_log_leaves_the_commit_unknown_never_failing() {
    for (config, why) in [
        (
            Config {
                log_names_commit: false,
                ..Config::default()
            },
            "its BUILD log names no commit",
        ),
        (
            Config {
                log_ttl_secs: 0,
                ..Config::default()
            },
            "its BUILD log could not be read",
        ),
    ] {
        let server = Server::start(config);
        let mut gh = waiting(&server);
        gh.set("AMPLIFY_ON_COMMIT_MISMATCH", "fail");
        let run = gh.run();
        assert_eq!(run.code, 0, "{why}: {}", run.stderr);
        let notices: Vec<&str> = annotations(&run.stderr, "notice")
            .into_iter()
            .filter(|l| l.contains("is unknown"))
            .collect();
        assert_eq!(notices.len(), 1, "{why}: {}", run.stderr);
        assert!(notices[0].contains(why), "{}", notices[0]);
        let outputs = parse_outputs(&gh.output());
        assert_eq!(outputs["deployed-commit"], "", "{why}");
        assert_eq!(outputs["live-job-id"], "1", "{why}");
    }
}

#[test]
fn a_newer_job_that_succeeded_after_ours_is_named_as_the_one_that_serves() {
    let server = Server::start(Config {
        concurrent_jobs: true,
        step_secs: 0.2,
        ..Config::default()
    });
    let gh = waiting(&server);
    let child = gh.spawn();
    wait_for(
        || (calls(&server, Op::StartJob) == 1).then_some(()),
        "StartJob",
    );
    // Another push's job: it ends after ours.
    let newer = server.seed_job(APP, "main", "SUCCEED");
    server.update_job(APP, "main", newer, |j| {
        j.commit_id = "fedcba9876543210fedcba9876543210fedcba98".into();
        j.end_time = Some(j.start_time + 3600.0);
    });
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let notices: Vec<&str> = annotations(&stderr, "notice")
        .into_iter()
        .filter(|l| l.contains("serves the branch"))
        .collect();
    assert_eq!(notices.len(), 1, "{stderr}");
    assert!(
        notices[0].contains(&format!(
            "job {newer} (commit fedcba9876543210fedcba9876543210fedcba98) succeeded after job 1"
        )),
        "{}",
        notices[0]
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["live-job-id"], newer.to_string());
}

#[test]
fn on_commit_mismatch_needs_a_wait_and_takes_warn_or_fail() {
    let server = Server::start(Config::default());
    for (wait, value, says) in [
        ("false", "fail", "this run does not wait"),
        ("true", "maybe", "neither warn nor fail"),
    ] {
        let mut gh = waiting(&server);
        gh.set("AMPLIFY_WAIT", wait)
            .set("AMPLIFY_ON_COMMIT_MISMATCH", value);
        let run = gh.run();
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains("on-commit-mismatch") && run.stderr.contains(says),
            "{}",
            run.stderr
        );
    }
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[test]
fn a_manual_deployment_has_no_deployed_commit_and_no_notice() {
    let server = Server::start(Config::default());
    let mut gh = waiting(&server);
    let site = gh.workspace().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("index.html"), "<h1>hi</h1>").unwrap();
    gh.set("AMPLIFY_SOURCE", site.to_str().unwrap());
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(log_gets(&server).is_empty(), "no log read");
    assert!(!run.stderr.contains("is unknown"), "{}", run.stderr);
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["deployed-commit"], "");
    assert_eq!(outputs["live-job-id"], "1");
}
