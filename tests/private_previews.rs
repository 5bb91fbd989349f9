//! Previews that stay private and scale: basic auth on a created branch (the secret never shown),
//! variables inherited from another branch and overridden, and several apps past the 50-branch
//! limit of one, against amplify-local with strict branches.

mod common;

use std::collections::BTreeMap;

use amplify_local::BranchRecord;
use common::*;
use serde_json::{Value, json};

const D1: &str = "d1a2b3c4d5e6f7";
const D2: &str = "d2b3c4d5e6f7a8";
const D3: &str = "d3c4d5e6f7a8b9";
const BRANCH: &str = "feature/login";

fn strict() -> Server {
    Server::start(Config {
        strict_branches: true,
        ..Config::default()
    })
}

fn previewing(server: &Server) -> Gh {
    let payload = json!({"pull_request": {"number": 7, "head": {"sha": SHA, "ref": BRANCH}}});
    let mut gh = github(server, "pull_request", payload);
    gh.set("GITHUB_HEAD_REF", BRANCH)
        .set("GITHUB_REPOSITORY", "octo/site")
        .set("AMPLIFY_CREATE_BRANCH", "true")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

fn create_body(server: &Server) -> Value {
    let create = server
        .requests()
        .into_iter()
        .find(|r| r.op == Some(Op::CreateBranch))
        .expect("a CreateBranch");
    serde_json::from_slice(&create.request.body).unwrap()
}

#[test]
fn a_created_preview_gets_basic_auth_and_the_secret_is_never_shown() {
    let server = strict();
    let mut gh = previewing(&server);
    gh.set("AMPLIFY_PREVIEW_BASIC_AUTH", "reviewer:s3cr3t-Pa55")
        .set("AMPLIFY_SKEW_PROTECTION", "true")
        .set("AMPLIFY_FRAMEWORK", "Next.js - SSR")
        .set("RUST_LOG", "trace");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body = create_body(&server);
    let encoded = "cmV2aWV3ZXI6czNjcjN0LVBhNTU=";
    assert_eq!(body["enableBasicAuth"], true);
    assert_eq!(body["basicAuthCredentials"], encoded);
    assert_eq!(body["enableSkewProtection"], true);
    assert_eq!(body["framework"], "Next.js - SSR");
    let created = &server.branches()[0];
    assert!(created.enable_basic_auth && created.enable_skew_protection);

    // Masked first on GitHub, then never printed: not in stderr (at trace level), stdout, the
    // outputs or the step summary.
    let masks: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .collect();
    for secret in ["reviewer:s3cr3t-Pa55", encoded, "s3cr3t-Pa55"] {
        assert!(masks.contains(&secret), "{secret} is masked: {masks:?}");
        let shown = run
            .stderr
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .any(|l| l.contains(secret));
        assert!(!shown, "{secret} in stderr:\n{}", run.stderr);
        assert!(!run.stdout.contains(secret));
        assert!(!gh.output().contains(secret));
        let summary = std::fs::read_to_string(gh.summary_path()).unwrap_or_default();
        assert!(!summary.contains(secret));
    }
    // Every mask comes before any other line, debug and trace lines (git's) included.
    let lines: Vec<&str> = run.stderr.lines().collect();
    let first_other = lines
        .iter()
        .position(|l| !l.starts_with("::add-mask::"))
        .unwrap();
    assert!(
        lines[first_other..]
            .iter()
            .all(|l| !l.starts_with("::add-mask::")),
        "masked before anything is logged:\n{}",
        run.stderr
    );
    assert!(first_other >= 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the branch gets basic auth (preview-basic-auth)")
    );
}

#[test]
fn inherited_variables_are_overridden_and_their_values_never_printed() {
    let server = strict();
    let mut main = BranchRecord::new(D1, "main", "PRODUCTION");
    main.environment_variables = BTreeMap::from([
        ("API_URL".to_string(), "https://api.example.com".to_string()),
        ("STRIPE_KEY".to_string(), "sk_live_abc123".to_string()),
    ]);
    server.seed_branch(main);
    let mut gh = previewing(&server);
    gh.set("AMPLIFY_INHERIT_ENV_FROM", "main")
        .set(
            "AMPLIFY_ENVIRONMENT_VARIABLES",
            "API_URL=https://staging.example.com\nPREVIEW=pr-7\n",
        )
        .set("RUST_LOG", "debug");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let created = server
        .branches()
        .into_iter()
        .find(|b| b.name == BRANCH)
        .unwrap();
    assert_eq!(
        created.environment_variables,
        BTreeMap::from([
            (
                "API_URL".to_string(),
                "https://staging.example.com".to_string()
            ),
            ("PREVIEW".to_string(), "pr-7".to_string()),
            ("STRIPE_KEY".to_string(), "sk_live_abc123".to_string()),
        ])
    );
    assert!(
        run.stderr
            .contains("variables from branch main: API_URL, STRIPE_KEY")
            && run
                .stderr
                .contains("variables from environment-variables: API_URL, PREVIEW"),
        "{}",
        run.stderr
    );
    for value in [
        "sk_live_abc123",
        "staging.example.com",
        "pr-7\n",
        "api.example.com",
    ] {
        assert!(!run.stderr.contains(value), "{value}: {}", run.stderr);
    }
}

#[test]
fn bad_preview_settings_exit_2_naming_the_setting_never_the_secret() {
    for (var, value, says) in [
        (
            "AMPLIFY_PREVIEW_BASIC_AUTH",
            "reviewer-hunter2",
            "AMPLIFY_PREVIEW_BASIC_AUTH (input preview-basic-auth)",
        ),
        (
            "AMPLIFY_PREVIEW_BASIC_AUTH",
            "reviewer:",
            "it is not user:password with both parts set",
        ),
        (
            "AMPLIFY_ENVIRONMENT_VARIABLES",
            "OK=1\n9LIVES=hunter2",
            "\"9LIVES\" is not a variable name",
        ),
        (
            "AMPLIFY_SKEW_PROTECTION",
            "maybe",
            "AMPLIFY_SKEW_PROTECTION",
        ),
        (
            "AMPLIFY_APP_ID",
            "d1a2b3c4d5e6f7,nope",
            "\"nope\" is not an app ID",
        ),
        (
            "AMPLIFY_APP_ID",
            "d1a2b3c4d5e6f7, d1a2b3c4d5e6f7",
            "listed twice",
        ),
    ] {
        let server = strict();
        let mut gh = previewing(&server);
        gh.set(var, value);
        let run = gh.run();
        assert_eq!(run.code, 2, "{var}={value}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{var}: {}", run.stderr);
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
        assert!(server.requests().is_empty(), "nothing sent");
    }
}

fn several(server: &Server, apps: &[&str]) -> Gh {
    let mut gh = previewing(server);
    gh.set("AMPLIFY_APP_ID", &apps.join(","));
    gh
}

fn fill(server: &Server, app: &str, n: usize) {
    for i in 0..n {
        server.seed_branch(BranchRecord::new(app, &format!("pr-{i}"), "PULL_REQUEST"));
    }
}

#[test]
fn with_three_apps_a_preview_goes_to_the_first_with_room() {
    let server = strict();
    fill(&server, D1, 50);
    // D2 looks as if it had room, but AWS refuses: the limit answer moves on too.
    fill(&server, D2, 49);
    server.push_faults(
        Op::CreateBranch,
        [Fault::error(
            400,
            "BadRequestException",
            "Failed to create branch. You have reached the maximum number of branches in this app.",
        )],
    );
    let gh = several(&server, &[D1, D2, D3]);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let created: Vec<_> = server
        .branches()
        .into_iter()
        .filter(|b| b.name == BRANCH)
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].app_id, D3);
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["app-id"], D3);
    assert!(outputs["job-url"].contains(&format!("/apps/{D3}/")));
    assert_eq!(server.jobs()[0].app_id, D3);
    assert!(
        run.stderr.contains(&format!(
            "app {D1} has 50 branches, its limit: trying the next"
        )) && run.stderr.contains(&format!(
            "app {D2} refused a branch for its limit: trying the next"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_branch_in_the_second_app_is_found_for_a_start_a_delete_and_follow() {
    let server = strict();
    server.seed_branch(BranchRecord::new(D2, BRANCH, "PULL_REQUEST"));
    // A start (no create-branch): the job goes to the app that has the branch.
    let mut gh = several(&server, &[D1, D2]);
    gh.unset("AMPLIFY_CREATE_BRANCH")
        .set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "10ms");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(parse_outputs(&gh.output())["app-id"], D2);
    assert_eq!(server.jobs()[0].app_id, D2);

    // Follow: the webhook's build in that app.
    server.webhook_job(D2, BRANCH, "0123abcd", 0);
    let mut gh = several(&server, &[D1, D2]);
    gh.unset("AMPLIFY_CREATE_BRANCH")
        .set("AMPLIFY_MODE", "follow")
        .set("AMPLIFY_COMMIT_ID", "0123abcd")
        .set("AMPLIFY_POLL_INTERVAL", "10ms");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(parse_outputs(&gh.output())["app-id"], D2);

    // Delete: from that app.
    let mut gh = several(&server, &[D1, D2]);
    gh.unset("AMPLIFY_CREATE_BRANCH")
        .set("AMPLIFY_MODE", "delete-branch");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["branch-deleted"], "true");
    assert_eq!(outputs["app-id"], D2);
    assert!(server.branches().iter().all(|b| b.name != BRANCH));
}

#[test]
fn two_runs_racing_across_apps_keep_the_older_branch_and_delete_only_their_own() {
    for (theirs_older, kept) in [(true, D1), (false, D2)] {
        let server = strict();
        fill(&server, D1, 50);
        // While this run creates the branch in D2, another run has just made it in D1.
        let mut theirs = BranchRecord::new(D1, BRANCH, "PULL_REQUEST");
        theirs.create_time += if theirs_older { -30.0 } else { 30.0 };
        server.seed_branch_on(Op::CreateBranch, theirs);
        let gh = several(&server, &[D1, D2]);
        let run = gh.run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        let apps: Vec<String> = server
            .branches()
            .into_iter()
            .filter(|b| b.name == BRANCH)
            .map(|b| b.app_id)
            .collect();
        if theirs_older {
            assert_eq!(apps, [D1], "ours in D2 is deleted: {}", run.stderr);
            assert!(run.stderr.contains(&format!(
                "was made in app {D1} too, earlier, by another run: deleting the one this run made in app {D2}"
            )));
        } else {
            assert_eq!(apps, [D1, D2], "theirs is not ours to delete");
            assert_eq!(calls(&server, Op::DeleteBranch), 0);
        }
        assert_eq!(parse_outputs(&gh.output())["app-id"], kept);
        assert_eq!(server.jobs()[0].app_id, kept);
    }
}
