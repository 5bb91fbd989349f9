//! Pull-request previews: the branch created when missing (also under a race, or while a
//! deletion finishes), its URL, its deletion when the pull request closes (only of what is
//! ours), and one comment on the pull request, against the local endpoint and a local fake of
//! GitHub's REST API.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use amplify_local::BranchRecord;
use amplify_local::http::{Request, Response};
use amplify_local::stub::{Reply, Stub};
use common::*;
use serde_json::{Value, json};

const APP: &str = "d1a2b3c4d5e6f7";
const BRANCH: &str = "feature/login";
const URL: &str = "https://feature-login.d1a2b3c4d5e6f7.amplifyapp.com";
const TOKEN: &str = "ghs_previewtoken123";

fn strict() -> Server {
    Server::start(Config {
        strict_branches: true,
        ..Config::default()
    })
}

/// A `pull_request` run for PR 7 of `BRANCH`.
fn pull_request(server: &Server) -> Gh {
    let payload = json!({"pull_request": {"number": 7, "head": {"sha": SHA, "ref": BRANCH}}});
    let mut gh = github(server, "pull_request", payload);
    gh.set("GITHUB_HEAD_REF", BRANCH)
        .set("GITHUB_REPOSITORY", "octo/site")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

fn previewing(server: &Server) -> Gh {
    let mut gh = pull_request(server);
    gh.set("AMPLIFY_CREATE_BRANCH", "true");
    gh
}

fn preview_branch(name: &str, stage: &str) -> BranchRecord {
    BranchRecord::new(APP, name, stage)
}

#[test]
fn a_missing_branch_is_created_then_built_and_its_url_written() {
    let server = strict();
    let gh = previewing(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // GetApp (for the branch-url) goes beside the rest, at once.
    assert_eq!(calls(&server, Op::GetApp), 1);
    let ops: Vec<Option<Op>> = server
        .requests()
        .iter()
        .map(|r| r.op)
        .filter(|op| *op != Some(Op::GetApp))
        .take(3)
        .collect();
    assert_eq!(
        ops,
        [
            Some(Op::GetBranch),
            Some(Op::CreateBranch),
            Some(Op::StartJob)
        ]
    );
    let create = server
        .requests()
        .into_iter()
        .find(|r| r.op == Some(Op::CreateBranch))
        .unwrap();
    assert_eq!(create.request.target, format!("/apps/{APP}/branches"));
    let mut body = serde_json::from_slice::<Value>(&create.request.body).unwrap();
    // When it was made, for mode: prune (tests/prune.rs reads it).
    let created = body["tags"]
        .as_object_mut()
        .unwrap()
        .remove("amplify-start-job:created")
        .unwrap();
    assert!(created.as_str().unwrap().ends_with('Z'), "{created}");
    assert_eq!(
        body,
        json!({"branchName": BRANCH, "stage": "PULL_REQUEST", "displayName": "feature-login",
               "enableAutoBuild": false, "tags": {"created-by": "amplify-start-job",
               "amplify-start-job:repository": "octo/site", "amplify-start-job:pull-request": "7"}})
    );
    assert_eq!(server.jobs().len(), 1);
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["branch-url"], URL);
    let stdout: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(stdout["branchUrl"], URL);
    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(summary.contains(&format!("Preview: {URL}")), "{summary}");
}

#[test]
fn an_existing_branch_is_used_and_a_stage_given_is_sent() {
    let server = strict();
    server.seed_branch(preview_branch(BRANCH, "PULL_REQUEST"));
    let run = previewing(&server).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::CreateBranch), 0);

    let server = strict();
    let mut gh = previewing(&server);
    gh.set("AMPLIFY_BRANCH_STAGE", "beta")
        .set("AWS_ENDPOINT_URL", &server.url());
    assert_eq!(gh.run().code, 0);
    assert_eq!(server.branches()[0].stage, "BETA");
}

#[test]
fn a_create_race_is_won_by_both_runs() {
    // The loser's view: the branch did not exist a moment ago, and now "already exists".
    let server = strict();
    server.seed_branch(preview_branch(BRANCH, "PULL_REQUEST"));
    server.push_faults(
        Op::GetBranch,
        [Fault::error(404, "NotFoundException", "Branch not found.")],
    );
    let run = previewing(&server).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::CreateBranch), 1);
    assert!(
        run.stderr.contains("was created meanwhile: using it"),
        "{}",
        run.stderr
    );
    assert_eq!(server.jobs().len(), 1);

    // Two runs at once: one branch, two jobs, both exit 0.
    let server = strict();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let gh = previewing(&server);
            let child = gh.spawn();
            (gh, child)
        })
        .collect();
    for (_gh, child) in runs {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(server.branches().len(), 1);
    assert_eq!(server.jobs().len(), 2);
}

#[test]
fn a_branch_still_being_deleted_is_waited_for_and_created_again() {
    let server = strict();
    let mut gone = preview_branch(BRANCH, "PULL_REQUEST");
    gone.deleting = 2;
    server.seed_branch(gone);
    let run = previewing(&server).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::CreateBranch), 3);
    assert_eq!(
        run.stderr
            .matches("is being deleted: creating it again after that")
            .count(),
        2,
        "{}",
        run.stderr
    );
    assert_eq!(server.jobs().len(), 1);
}

#[test]
fn the_branch_quota_is_not_retried_and_says_what_to_do() {
    let server = strict();
    for n in 0..amplify_local::MAX_BRANCHES {
        server.seed_branch(preview_branch(&format!("pr-{n}"), "PULL_REQUEST"));
    }
    let run = previewing(&server).run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(
        calls(&server, Op::CreateBranch),
        1,
        "a quota is not throttling"
    );
    assert!(
        run.stderr.contains("BadRequestException (HTTP 400): Failed to create branch. You have reached the maximum number of branches in this app.")
            && run.stderr.contains("an app has at most 50 branches, and that limit cannot be raised: delete the previews of closed pull requests with mode: prune"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::StartJob), 0);
}

#[test]
fn the_branch_url_is_left_out_with_one_warning_when_get_app_is_denied() {
    let server = Server::start(Config::default());
    server.always(
        Op::GetApp,
        Fault::error(403, "AccessDeniedException", "not allowed"),
    );
    let gh = pull_request(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("no branch-url:").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("allow amplify:GetBranch and amplify:GetApp"),
        "{}",
        run.stderr
    );
    let outputs = parse_outputs(&gh.output());
    assert!(!outputs.contains_key("branch-url"));
    assert_eq!(outputs["job-id"], "1");
}

fn deleting(server: &Server) -> Gh {
    let mut gh = pull_request(server);
    gh.set("AMPLIFY_MODE", "delete-branch");
    gh
}

#[test]
fn a_preview_branch_is_deleted_and_a_missing_one_is_success() {
    for (record, _why) in [
        (preview_branch(BRANCH, "PULL_REQUEST"), "stage"),
        (
            BranchRecord {
                tags: BTreeMap::from([("created-by".to_string(), "amplify-start-job".to_string())]),
                ..preview_branch(BRANCH, "DEVELOPMENT")
            },
            "tag",
        ),
    ] {
        let server = strict();
        server.seed_branch(record);
        let gh = deleting(&server);
        let run = gh.run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(calls(&server, Op::DeleteBranch), 1);
        assert!(server.branches().is_empty());
        assert_eq!(calls(&server, Op::StartJob), 0);
        assert_eq!(parse_outputs(&gh.output())["branch-deleted"], "true");
        let stdout: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(
            stdout,
            json!({"appId": APP, "branchName": BRANCH, "deleted": true})
        );
    }

    let server = strict();
    let gh = deleting(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no branch feature/login: nothing to delete"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::DeleteBranch), 0);
    assert_eq!(parse_outputs(&gh.output())["branch-deleted"], "false");
}

#[test]
fn a_branch_that_is_not_a_preview_is_never_deleted_unless_allowed() {
    let server = strict();
    server.seed_branch(preview_branch("main", "PRODUCTION"));
    let mut gh = deleting(&server);
    gh.set("AMPLIFY_BRANCH_NAME", "main");
    let run = gh.run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().last().unwrap(),
        "::error title=amplify-start-job::AMPLIFY_BRANCH_NAME (input branch-name) is \"main\": delete-branch deletes only pull-request previews, \
         and this branch has stage PRODUCTION and no created-by=amplify-start-job tag; check the branch the workflow names; \
         set allow-delete-any-branch: true only if it really may delete this one"
    );
    assert_eq!(calls(&server, Op::DeleteBranch), 0);
    assert_eq!(server.branches().len(), 1, "main is still there");
    assert!(!gh.output().contains("branch-deleted"));

    gh.set("AMPLIFY_ALLOW_DELETE_ANY_BRANCH", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(server.branches().is_empty());
}

/// A fake of the GitHub REST endpoints a comment uses: it checks the token, the paths and the
/// bodies, keeps the comments, and answers `status` instead when it is set.
struct FakeGitHub {
    stub: Stub,
    comments: Arc<Mutex<Vec<(u64, String)>>>,
}

fn fake_github(refuse: Option<u16>) -> FakeGitHub {
    let comments: Arc<Mutex<Vec<(u64, String)>>> =
        Arc::new(Mutex::new(vec![(1, "someone else's comment".to_string())]));
    let held = comments.clone();
    let stub = Stub::start(move |req: &Request| {
        if let Some(status) = refuse {
            return Reply::Respond(Response::json(
                status,
                &json!({"message": "Resource not accessible by integration"}),
            ));
        }
        if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Reply::Respond(Response::json(401, &json!({"message": "Bad credentials"})));
        }
        let mut c = held.lock().unwrap();
        let path = req.raw_path();
        let body = || -> String {
            let v: Value = serde_json::from_slice(&req.body).unwrap();
            v["body"].as_str().unwrap().to_string()
        };
        let answer = match (req.method.as_str(), path) {
            ("GET", "/repos/octo/site/issues/7/comments") => {
                assert!(req.raw_query().contains("per_page=100"), "{}", req.target);
                let list: Vec<Value> = c
                    .iter()
                    .map(|(id, b)| json!({"id": id, "body": b}))
                    .collect();
                Response::json(200, &Value::Array(list))
            }
            ("POST", "/repos/octo/site/issues/7/comments") => {
                let id = c.len() as u64 + 1;
                c.push((id, body()));
                Response::json(201, &json!({"id": id}))
            }
            ("PATCH", p) if p.starts_with("/repos/octo/site/issues/comments/") => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                let text = body();
                let Some(slot) = c.iter_mut().find(|(i, _)| *i == id) else {
                    return Reply::Respond(Response::json(404, &json!({"message": "Not Found"})));
                };
                slot.1 = text;
                Response::json(200, &json!({"id": id}))
            }
            _ => Response::json(404, &json!({"message": "Not Found"})),
        };
        Reply::Respond(answer)
    });
    FakeGitHub { stub, comments }
}

fn commenting(server: &Server, github: &FakeGitHub) -> Gh {
    let mut gh = previewing(server);
    gh.set("AMPLIFY_PR_COMMENT", "true")
        .set("GITHUB_TOKEN", TOKEN)
        .set("GITHUB_API_URL", &github.stub.url());
    gh
}

#[test]
fn one_comment_is_made_then_updated_on_the_next_run() {
    let server = strict();
    let github = fake_github(None);
    let gh = commenting(&server, &github);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("commented on pull request #7"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("::add-mask::{TOKEN}")),
        "the token is masked"
    );
    {
        let c = github.comments.lock().unwrap();
        assert_eq!(c.len(), 2);
        let ours = &c[1].1;
        assert!(
            ours.starts_with(&format!("<!-- amplify-start-job:{APP}:{BRANCH} -->\n")),
            "{ours}"
        );
        assert!(ours.contains(&format!("[Preview]({URL})")), "{ours}");
        assert!(
            ours.contains("| d1a2b3c4d5e6f7 | feature/login | PENDING | `0123456789ab` |"),
            "{ours}"
        );
        assert!(ours.contains("/deployments/1)"), "{ours}");
    }

    // The next push: the same comment, now after a wait, with a row per step.
    let mut gh = commenting(&server, &github);
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "10ms");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("updated the comment on pull request #7"),
        "{}",
        run.stderr
    );
    let c = github.comments.lock().unwrap();
    assert_eq!(c.len(), 2, "still one comment of ours");
    assert!(
        c[1].1.contains("| SUCCEED |") && c[1].1.contains("| BUILD | SUCCEED | [log]("),
        "{}",
        c[1].1
    );
    assert!(c[1].1.contains("/deployments/2)"), "{}", c[1].1);
    assert_eq!(c[0].1, "someone else's comment", "never touched");
    assert_eq!(
        run.stderr.matches(TOKEN).count(),
        1,
        "the token appears only in its mask"
    );
}

#[test]
fn a_comment_github_refuses_is_only_a_warning() {
    for status in [403, 404] {
        let server = strict();
        let github = fake_github(Some(status));
        let gh = commenting(&server, &github);
        let run = gh.run();
        assert_eq!(run.code, 0, "{status}: {}", run.stderr);
        assert!(
            run.stderr.contains("could not comment on pull request #7")
                && run.stderr.contains("pull-requests: write"),
            "{}",
            run.stderr
        );
        assert_eq!(parse_outputs(&gh.output())["job-id"], "1");
    }
}

#[test]
fn no_comment_outside_a_pull_request() {
    let server = Server::start(Config::default());
    let github = fake_github(None);
    let mut gh = github_push(&server);
    gh.set("AMPLIFY_PR_COMMENT", "true")
        .set("GITHUB_TOKEN", TOKEN)
        .set("GITHUB_API_URL", &github.stub.url());
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(github.stub.requests().is_empty());
    assert!(
        run.stderr.contains("not for a pull request, so no comment"),
        "{}",
        run.stderr
    );
}

fn github_push(server: &Server) -> Gh {
    github(server, "push", json!({}))
}
