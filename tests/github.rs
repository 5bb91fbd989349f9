//! Telling GitHub what Amplify did (deployments, commit statuses) against a local fake of GitHub's
//! REST API that checks the token and keeps what it is told; and fork pull requests, which get no
//! credentials.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use amplify_local::http::{Request, Response};
use amplify_local::stub::{Reply, Stub};
use common::*;
use serde_json::{Value, json};

const APP: &str = "d1a2b3c4d5e6f7";
const TOKEN: &str = "ghs_report_token";

/// What the fake GitHub was asked: method, path (with query) and body.
type Calls = Arc<Mutex<Vec<(String, String, Value)>>>;

struct FakeGitHub {
    stub: Stub,
    calls: Calls,
}

impl FakeGitHub {
    fn calls(&self) -> Vec<(String, String, Value)> {
        self.calls.lock().unwrap().clone()
    }

    /// The calls that wrote (POST), as `METHOD path`.
    fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|(m, _, _)| m == "POST")
            .map(|(m, p, _)| format!("{m} {p}"))
            .collect()
    }

    fn body_of(&self, path: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|(m, p, _)| m == "POST" && p == path)
            .map(|(_, _, b)| b)
            .collect()
    }
}

/// A fake that answers each of `first` in turn before behaving, and `refuse` for every call.
fn fake_github(first: Vec<Response>, refuse: Option<u16>) -> FakeGitHub {
    let calls: Calls = Arc::default();
    let held = calls.clone();
    let queue = Arc::new(Mutex::new(VecDeque::from(first)));
    let stub = Stub::start(move |req: &Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        held.lock()
            .unwrap()
            .push((req.method.clone(), req.target.clone(), body.clone()));
        if let Some(resp) = queue.lock().unwrap().pop_front() {
            return Reply::Respond(resp);
        }
        if let Some(status) = refuse {
            return Reply::Respond(Response::json(
                status,
                &json!({"message": "Resource not accessible by integration"}),
            ));
        }
        if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Reply::Respond(Response::json(401, &json!({"message": "Bad credentials"})));
        }
        let answer = match (req.method.as_str(), req.raw_path()) {
            ("POST", "/repos/octo/site/deployments") => {
                Response::json(201, &json!({"id": 41, "environment": body["environment"]}))
            }
            ("POST", p) if p.starts_with("/repos/octo/site/deployments/") => {
                Response::json(201, &json!({"id": 1, "state": body["state"]}))
            }
            ("GET", "/repos/octo/site/deployments") => {
                Response::json(200, &json!([{"id": 7}, {"id": 8}]))
            }
            ("POST", p) if p.starts_with("/repos/octo/site/statuses/") => {
                Response::json(201, &json!({"id": 1, "state": body["state"]}))
            }
            _ => Response::json(404, &json!({"message": "Not Found"})),
        };
        Reply::Respond(answer)
    });
    FakeGitHub { stub, calls }
}

fn reporting(server: &Server, github: &FakeGitHub) -> Gh {
    let mut gh = github_run(server, "push", json!({}));
    gh.set("AMPLIFY_GITHUB_DEPLOYMENT", "true")
        .set("AMPLIFY_GITHUB_STATUS", "true")
        .set("GITHUB_TOKEN", TOKEN)
        .set("GITHUB_API_URL", &github.stub.url());
    gh
}

fn github_run(server: &Server, event: &str, payload: Value) -> Gh {
    let mut gh = common::github(server, event, payload);
    gh.set("GITHUB_REPOSITORY", "octo/site")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms")
        .set("AMPLIFY_POLL_INTERVAL", "10ms");
    gh
}

fn job_url(job: u64) -> String {
    format!(
        "https://us-east-1.console.aws.amazon.com/amplify/apps/{APP}/branches/main/deployments/{job}"
    )
}

#[test]
fn a_start_records_a_deployment_in_progress_and_a_pending_status() {
    let server = Server::start(Config::default());
    let github = fake_github(vec![], None);
    let gh = reporting(&server, &github);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        github.writes(),
        [
            format!("POST /repos/octo/site/statuses/{SHA}"),
            "POST /repos/octo/site/deployments".to_string(),
            "POST /repos/octo/site/deployments/41/statuses".to_string(),
        ]
    );
    let status = &github.body_of(&format!("/repos/octo/site/statuses/{SHA}"))[0];
    assert_eq!(
        *status,
        json!({"state": "pending", "target_url": job_url(1), "description": "Amplify job 1: PENDING",
               "context": format!("amplify/{APP}/main")})
    );
    let deployment = &github.body_of("/repos/octo/site/deployments")[0];
    assert_eq!(deployment["ref"], SHA);
    assert_eq!(deployment["environment"], "main");
    assert_eq!(deployment["auto_merge"], false);
    assert_eq!(deployment["required_contexts"], json!([]));
    assert_eq!(deployment["transient_environment"], false);
    assert_eq!(
        deployment["production_environment"], true,
        "the branch's stage is PRODUCTION"
    );
    let progress = &github.body_of("/repos/octo/site/deployments/41/statuses")[0];
    assert_eq!(progress["state"], "in_progress");
    assert_eq!(progress["log_url"], job_url(1));
    assert_eq!(
        progress["environment_url"],
        format!("https://main.{APP}.amplifyapp.com")
    );
    assert_eq!(parse_outputs(&gh.output())["github-deployment-id"], "41");
}

#[test]
fn a_wait_ends_the_deployment_and_the_status_as_the_job_ended() {
    for (outcome, state, code) in [("SUCCEED", "success", 0), ("FAILED", "failure", 5)] {
        let server = Server::start(Config {
            outcome: outcome.into(),
            ..Config::default()
        });
        let github = fake_github(vec![], None);
        let mut gh = reporting(&server, &github);
        gh.set("AMPLIFY_WAIT", "true");
        let run = gh.run();
        assert_eq!(run.code, code, "{}", run.stderr);
        let statuses = github.body_of(&format!("/repos/octo/site/statuses/{SHA}"));
        let states: Vec<&str> = statuses
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["pending", state]);
        let done = statuses[1]["description"].as_str().unwrap();
        assert!(
            done.starts_with(&format!("Amplify job 1: {outcome} in ")) && done.len() <= 140,
            "{done}"
        );
        let deployment: Vec<String> = github
            .body_of("/repos/octo/site/deployments/41/statuses")
            .iter()
            .map(|s| s["state"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(deployment, ["in_progress", state]);
    }
}

#[test]
fn follow_mode_reports_the_webhook_build_as_a_required_check_would_see_it() {
    let server = Server::start(Config::default());
    server.webhook_job(APP, "main", SHA, 0);
    let github = fake_github(vec![], None);
    let mut gh = reporting(&server, &github);
    gh.set("AMPLIFY_MODE", "follow")
        .set("AMPLIFY_GITHUB_STATUS_CONTEXT", "amplify/site");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StartJob), 0);
    let statuses = github.body_of(&format!("/repos/octo/site/statuses/{SHA}"));
    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses[1]["state"], "success");
    assert_eq!(statuses[1]["context"], "amplify/site");
}

#[test]
fn delete_branch_marks_the_preview_environment_s_deployments_inactive() {
    let server = Server::start(Config {
        strict_branches: true,
        ..Config::default()
    });
    server.seed_branch(amplify_local::BranchRecord::new(
        APP,
        "feature/x",
        "PULL_REQUEST",
    ));
    let github = fake_github(vec![], None);
    let payload = json!({"pull_request": {"number": 7, "head": {"sha": SHA, "ref": "feature/x"}}});
    let mut gh = github_run(&server, "pull_request", payload);
    gh.set("GITHUB_HEAD_REF", "feature/x")
        .set("AMPLIFY_MODE", "delete-branch")
        .set("AMPLIFY_GITHUB_DEPLOYMENT", "true")
        .set("GITHUB_TOKEN", TOKEN)
        .set("GITHUB_API_URL", &github.stub.url());
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let calls = github.calls();
    assert_eq!(calls[0].0, "GET");
    assert_eq!(
        calls[0].1,
        "/repos/octo/site/deployments?environment=pr-7&per_page=100"
    );
    assert_eq!(
        github.writes(),
        [
            "POST /repos/octo/site/deployments/7/statuses",
            "POST /repos/octo/site/deployments/8/statuses"
        ]
    );
    assert!(
        github
            .body_of("/repos/octo/site/deployments/7/statuses")
            .iter()
            .all(|b| b["state"] == "inactive")
    );
}

#[test]
fn a_refusal_is_one_warning_naming_the_permission_and_changes_nothing_else() {
    let server = Server::start(Config::default());
    let github = fake_github(vec![], Some(403));
    let run = reporting(&server, &github).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::StartJob), 1);
    assert_eq!(
        run.stderr
            .matches("(the job needs permissions: statuses: write)")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr
            .matches("(the job needs permissions: deployments: write)")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("::error"), "{}", run.stderr);
    assert_eq!(github.calls().len(), 2, "a 403 is not retried");
}

#[test]
fn a_502_and_a_secondary_rate_limit_are_retried_and_nothing_is_doubled() {
    let server = Server::start(Config::default());
    let limited = Response::json(
        403,
        &json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}),
    )
    .header("retry-after", "1");
    let github = fake_github(
        vec![
            Response::json(502, &json!({"message": "Server Error"})),
            limited,
        ],
        None,
    );
    let gh = reporting(&server, &github);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        github.writes(),
        [
            format!("POST /repos/octo/site/statuses/{SHA}"),
            format!("POST /repos/octo/site/statuses/{SHA}"),
            format!("POST /repos/octo/site/statuses/{SHA}"),
            "POST /repos/octo/site/deployments".to_string(),
            "POST /repos/octo/site/deployments/41/statuses".to_string(),
        ],
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("retrying in 1.0s (Retry-After)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("could not"), "{}", run.stderr);
    assert_eq!(parse_outputs(&gh.output())["github-deployment-id"], "41");
}

#[test]
fn outside_github_actions_nothing_is_sent() {
    let server = Server::start(Config::default());
    let github = fake_github(vec![], None);
    let mut env = base_env(&server);
    for (k, v) in [
        ("AMPLIFY_BRANCH_NAME", "main"),
        ("AMPLIFY_COMMIT_ID", SHA),
        ("AMPLIFY_GITHUB_DEPLOYMENT", "true"),
        ("AMPLIFY_GITHUB_STATUS", "true"),
        ("GITHUB_API_URL", &github.stub.url()),
    ] {
        env.insert(k.into(), v.into());
    }
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("github-deployment and github-status report to GitHub Actions only"),
        "{}",
        run.stderr
    );
    assert!(github.calls().is_empty());
}

/// A pull request from `head` into octo/site, with no AWS credentials unless `keys`.
fn pull_request_from(server: &Server, head: &str, event: &str, keys: bool) -> Gh {
    let payload = json!({"pull_request": {"number": 9, "head": {"sha": SHA, "ref": "patch-1",
        "repo": {"full_name": head, "fork": head != "octo/site"}},
        "base": {"repo": {"full_name": "octo/site"}}}});
    let mut gh = github_run(server, event, payload);
    gh.set("GITHUB_HEAD_REF", "patch-1");
    if !keys {
        gh.unset("AWS_ACCESS_KEY_ID").unset("AWS_SECRET_ACCESS_KEY");
    }
    gh
}

#[test]
fn a_fork_s_pull_request_without_credentials_ends_with_a_notice_not_a_failure() {
    let server = Server::start(Config::default());
    let mut gh = pull_request_from(&server, "someone/site", "pull_request", false);
    // As a workflow would have it: role-to-assume set, but a fork gets no OIDC token.
    gh.set(
        "AMPLIFY_ROLE_TO_ASSUME",
        "arn:aws:iam::123456789012:role/amplify-deploy",
    );
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("::notice title=Nothing deployed%3A a fork's pull request::nothing was deployed: this pull request comes from the fork someone/site")
            && run.stderr.contains("pull_request_target")
            && run.stderr.contains("workflow_run"),
        "{}",
        run.stderr
    );
    let stdout: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(stdout["skipped"], true);
    assert!(server.requests().is_empty(), "nothing sent to Amplify");
    assert_eq!(gh.output(), "earlier=kept\n", "no outputs");

    gh.set("AMPLIFY_ON_MISSING_CREDENTIALS", "fail");
    assert_eq!(gh.run().code, 2);
}

#[test]
fn missing_credentials_elsewhere_stay_exit_2_and_a_fork_with_credentials_deploys() {
    let server = Server::start(Config::default());
    let same = pull_request_from(&server, "octo/site", "pull_request", false).run();
    assert_eq!(same.code, 2, "not a fork: {}", same.stderr);
    let with_keys = pull_request_from(&server, "someone/site", "pull_request", true).run();
    assert_eq!(with_keys.code, 0, "{}", with_keys.stderr);
    assert_eq!(calls(&server, Op::StartJob), 1);
}

#[test]
fn pull_request_target_with_a_fork_s_head_warns_once() {
    for (head, warned) in [("someone/site", 1), ("octo/site", 0)] {
        let server = Server::start(Config::default());
        let run = pull_request_from(&server, head, "pull_request_target", true).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(
            run.stderr
                .matches(
                    "this run is for pull_request_target, which has the base repository's secrets"
                )
                .count(),
            warned,
            "{head}: {}",
            run.stderr
        );
    }
}

/// A deployment to the new AWS Amplify is reported with its own URL: the GitHub deployment of
/// the commit to the environment named after the Amplify one (production for production), the
/// commit status, both linking deployment-url, so a link keeps showing that build.
#[test]
fn a_new_amplify_deployment_is_reported_with_its_own_url() {
    let server = Server::start(Config::default());
    let github = fake_github(vec![], None);
    let mut gh = reporting(&server, &github);
    gh.unset("AMPLIFY_APP_ID")
        .set("AMPLIFY_APP_NAME", "shop")
        .set("AMPLIFY_ENVIRONMENT", "production")
        .set("AMPLIFY_GIT_REF", "main")
        .set("AMPLIFY_WAIT", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let id = server.gen3_deployments()[0].id.clone();
    let url = format!("https://{id}--shop.amplify.app");
    let deployment = &github.body_of("/repos/octo/site/deployments")[0];
    assert_eq!(deployment["environment"], "production");
    assert_eq!(deployment["production_environment"], true);
    assert_eq!(deployment["payload"]["deploymentId"], id.as_str());
    let states = github.body_of("/repos/octo/site/deployments/41/statuses");
    let last = states.last().unwrap();
    assert_eq!(
        (last["state"].as_str(), last["environment_url"].as_str()),
        (Some("success"), Some(url.as_str()))
    );
    let statuses = github.body_of(&format!("/repos/octo/site/statuses/{SHA}"));
    assert_eq!(statuses.last().unwrap()["target_url"], url.as_str());
    assert_eq!(
        statuses.last().unwrap()["context"],
        "amplify/shop/production"
    );
}
