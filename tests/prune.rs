//! `mode: prune`: the previews this tool made for this repository go when their pull request is
//! closed or they are older than `prune-older-than`, across every app of `app-id`; nothing else
//! goes, a dry run deletes nothing, and GitHub's errors keep branches rather than lose them.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use amplify_local::BranchRecord;
use amplify_local::http::{Request, Response};
use amplify_local::stub::{Reply, Stub};
use common::*;
use serde_json::{Value, json};

const D1: &str = "d1a2b3c4d5e6f7";
const D2: &str = "d2b3c4d5e6f7a8";
const TOKEN: &str = "ghs_prunetoken";

/// A GitHub whose repository's default branch is `main`, with pull request 1 open and 2 closed
/// (others 404); `first` answers come before those.
fn fake_github(first: Vec<Response>) -> Stub {
    let queue = Arc::new(Mutex::new(VecDeque::from(first)));
    Stub::start(move |req: &Request| {
        if let Some(r) = queue.lock().unwrap().pop_front() {
            return Reply::Respond(r);
        }
        assert_eq!(
            req.header("authorization"),
            Some(&*format!("Bearer {TOKEN}"))
        );
        let not_found = || Response::json(404, &json!({"message": "Not Found"}));
        Reply::Respond(match req.raw_path() {
            "/repos/octo/site" => Response::json(200, &json!({"default_branch": "main"})),
            "/repos/octo/site/pulls/1" => {
                Response::json(200, &json!({"number": 1, "state": "open"}))
            }
            "/repos/octo/site/pulls/2" => {
                Response::json(200, &json!({"number": 2, "state": "closed"}))
            }
            _ => not_found(),
        })
    })
}

/// A branch as this tool creates one, `days` old, for pull request `pr` of `repo`.
fn ours(app: &str, name: &str, repo: &str, pr: Option<u64>, days: i64) -> BranchRecord {
    let mut b = BranchRecord::new(app, name, "PULL_REQUEST");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    b.tags
        .insert("amplify-start-job:repository".into(), repo.into());
    b.tags.insert(
        "amplify-start-job:created".into(),
        amplify_start_job::hosting::prune::rfc3339(now - days * 86_400),
    );
    if let Some(n) = pr {
        b.tags
            .insert("amplify-start-job:pull-request".into(), n.to_string());
    }
    b
}

/// Two apps: in d1 the production branch, an untagged branch, an open and a closed pull
/// request's previews; in d2 another repository's closed preview, an old preview without a pull
/// request, and a preview whose pull request GitHub does not know.
fn two_apps() -> Server {
    let server = Server::start(Config {
        strict_branches: true,
        ..Config::default()
    });
    server.seed_branch(BranchRecord::new(D1, "main", "PRODUCTION"));
    server.seed_branch(BranchRecord::new(D1, "experiment", "EXPERIMENTAL"));
    server.seed_branch(ours(D1, "pr-1", "octo/site", Some(1), 2));
    server.seed_branch(ours(D1, "pr-2", "octo/site", Some(2), 2));
    server.seed_branch(ours(D2, "pr-2", "octo/other", Some(2), 2));
    server.seed_branch(ours(D2, "nightly", "octo/site", None, 40));
    server.seed_branch(ours(D2, "pr-9", "octo/site", Some(9), 90));
    server
}

fn pruning(server: &Server, github: &Stub) -> Gh {
    let mut gh = github_run(server);
    gh.set("AMPLIFY_MODE", "prune")
        .set("AMPLIFY_APP_ID", &format!("{D1},{D2}"))
        .set("AMPLIFY_PRUNE_OLDER_THAN", "14d")
        .set("GITHUB_API_URL", &github.url())
        .set("GITHUB_TOKEN", TOKEN)
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

fn github_run(server: &Server) -> Gh {
    let mut gh = github(server, "schedule", json!({}));
    gh.set("GITHUB_REPOSITORY", "octo/site");
    gh
}

fn branch_names(server: &Server) -> Vec<String> {
    let mut names: Vec<String> = server
        .branches()
        .iter()
        .map(|b| format!("{}/{}", b.app_id, b.name))
        .collect();
    names.sort();
    names
}

#[test]
fn a_dry_run_says_what_would_go_and_deletes_nothing() {
    let server = two_apps();
    let before = branch_names(&server);
    let github = fake_github(Vec::new());
    let gh = pruning(&server, &github);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(branch_names(&server), before);
    assert_eq!(calls(&server, Op::DeleteBranch), 0);
    let outputs = parse_outputs(&gh.output());
    let pruned: Value = serde_json::from_str(&outputs["pruned-branches"]).unwrap();
    assert_eq!(
        pruned,
        json!([format!("{D1}/pr-2"), format!("{D2}/nightly")])
    );
    assert_eq!(outputs["prune-dry-run"], "true");
    for line in [
        format!("{D1}/pr-2: would be deleted (dry run): pull request #2 is closed"),
        format!("{D1}/pr-1: kept: pull request #1 is open"),
        format!("{D1}/main: kept: not made by amplify-start-job"),
        format!("{D1}/experiment: kept: not made by amplify-start-job"),
        format!("{D2}/pr-2: kept: made for another repository (octo/other)"),
        format!("{D2}/nightly: would be deleted (dry run): made 40 days ago"),
        format!("{D2}/pr-9: kept: GitHub has no pull request #9 (404)"),
    ] {
        assert!(run.stderr.contains(&line), "{line}: {}", run.stderr);
    }
    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(
        summary.contains("### Amplify previews pruned (dry run)")
            && summary.contains(&format!(
                "| {D1} | pr-2 | would be deleted | pull request #2 is closed |"
            )),
        "{summary}"
    );
}

#[test]
fn the_app_s_production_branch_is_kept_whatever_its_stage_and_tags() {
    let server = two_apps();
    // The console made the old preview `nightly` D2's production branch: GetApp names it.
    server.set_production_branch(D2, "nightly");
    let github = fake_github(Vec::new());
    let mut gh = pruning(&server, &github);
    gh.set("AMPLIFY_PRUNE_DELETE", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("{D2}/nightly: kept: the app's production branch")),
        "{}",
        run.stderr
    );
    assert!(branch_names(&server).contains(&format!("{D2}/nightly")));
    assert!(!branch_names(&server).contains(&format!("{D1}/pr-2")));
}

#[test]
fn prune_delete_deletes_only_what_goes() {
    let server = two_apps();
    let github = fake_github(Vec::new());
    let mut gh = pruning(&server, &github);
    gh.set("AMPLIFY_PRUNE_DELETE", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        branch_names(&server),
        [
            format!("{D1}/experiment"),
            format!("{D1}/main"),
            format!("{D1}/pr-1"),
            format!("{D2}/pr-2"),
            format!("{D2}/pr-9"),
        ]
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["prune-dry-run"], "false");
    assert!(
        run.stderr
            .contains(&format!("{D1}/pr-2: deleted: pull request #2 is closed"))
    );
    // Without prune-older-than, age prunes nothing: the old preview stays.
    let server = two_apps();
    let mut gh = pruning(&server, &github);
    gh.set("AMPLIFY_PRUNE_DELETE", "true")
        .unset("AMPLIFY_PRUNE_OLDER_THAN");
    assert_eq!(gh.run().code, 0);
    assert!(branch_names(&server).contains(&format!("{D2}/nightly")));
    assert!(!branch_names(&server).contains(&format!("{D1}/pr-2")));
}

#[test]
fn github_s_rate_limit_is_waited_out_and_a_lost_repository_keeps_everything() {
    // A rate limit on the first call, waited for (Retry-After: 1), then the answers.
    let server = two_apps();
    let limited = Response::json(403, &json!({"message": "API rate limit exceeded"}))
        .header("Retry-After", "1")
        .header("x-ratelimit-remaining", "0");
    let github = fake_github(vec![limited]);
    let mut gh = pruning(&server, &github);
    gh.set("AMPLIFY_PRUNE_DELETE", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !branch_names(&server).contains(&format!("{D1}/pr-2")),
        "{}",
        run.stderr
    );

    // The repository is gone (404): its default branch and pull requests are unknown.
    let server = two_apps();
    let before = branch_names(&server);
    let gone = Response::json(404, &json!({"message": "Not Found"}));
    let github = fake_github(vec![gone]);
    let mut gh = pruning(&server, &github);
    gh.set("AMPLIFY_PRUNE_DELETE", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(branch_names(&server), before, "nothing deleted");
    assert!(
        run.stderr
            .contains("GitHub has no repository octo/site (404)"),
        "{}",
        run.stderr
    );
}

#[test]
fn created_previews_carry_the_tags_prune_reads() {
    let server = Server::start(Config {
        strict_branches: true,
        ..Config::default()
    });
    let payload = json!({"pull_request": {"number": 7, "head": {"sha": SHA, "ref": "feature/x"}}});
    let mut gh = github(&server, "pull_request", payload);
    gh.set("GITHUB_HEAD_REF", "feature/x")
        .set("GITHUB_REPOSITORY", "octo/site")
        .set("AMPLIFY_CREATE_BRANCH", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let tags = &server.branches()[0].tags;
    assert_eq!(tags["amplify-start-job:repository"], "octo/site");
    assert_eq!(tags["amplify-start-job:pull-request"], "7");
    let created = &tags["amplify-start-job:created"];
    assert!(
        created.len() == 20 && created.starts_with("20") && created.ends_with('Z'),
        "{created}"
    );
}

#[test]
fn prune_settings_belong_to_prune_and_need_github() {
    let server = two_apps();
    let github = fake_github(Vec::new());
    for (set, unset, says) in [
        (
            ("AMPLIFY_MODE", "start"),
            "",
            "it is a setting of mode: prune",
        ),
        (("AMPLIFY_PRUNE_OLDER_THAN", "2w"), "", "days or hours"),
        (("AMPLIFY_MODE", "prune"), "GITHUB_TOKEN", "github-token"),
    ] {
        let mut gh = pruning(&server, &github);
        gh.set(set.0, set.1);
        if !unset.is_empty() {
            gh.unset(unset);
        }
        let run = gh.run();
        assert_eq!(run.code, 2, "{set:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{set:?}: {}", run.stderr);
    }
    assert!(server.requests().is_empty(), "nothing was sent");
}
