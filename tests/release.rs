//! Releasing safely on the new AWS Amplify (promote, rollback, abort-rollout, authorize-fork)
//! and rolling a Hosting branch back, against amplify-local playing both services: the
//! deployment chosen, the change sent once in effect (lost answers on each call), rollouts
//! followed, cancelled, conflicting, and a CI cancel mid-rollout; every setting checked first.

mod common;

use std::sync::{Arc, Mutex};

use amplify_local::http::{Request, Response};
use amplify_local::stub::{Reply, Stub};
use amplify_local::{Fault, Gen3App, Gen3Source};
use common::*;
use serde_json::{Value, json};

const APP: &str = "shop";

/// An endpoint whose `production` is routed by hand, `canary` rolls out in stages (one stage
/// per read of the alias unless `stage_secs`), and `preview` as ever.
fn serving(stage_secs: f64) -> Server {
    Server::start(Config {
        gen3_apps: vec![
            Gen3App::parse("shop,production:manual,canary:manual:LINEAR_10_PERCENT_EVERY_1_MINUTE")
                .unwrap(),
        ],
        rollout_stage_secs: stage_secs,
        ..Config::default()
    })
}

/// A workflow_dispatch run of `mode` on app `shop`'s environment `env`.
fn releasing(server: &Server, mode: &str, env: &str) -> Gh {
    let mut gh = github(server, "workflow_dispatch", json!({}));
    gh.unset("AMPLIFY_APP_ID")
        .set("AMPLIFY_APP_NAME", APP)
        .set("AMPLIFY_ENVIRONMENT", env)
        .set("AMPLIFY_MODE", mode)
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms")
        .set("AMPLIFY_POLL_INTERVAL", "10ms");
    gh
}

/// Three successful deployments of `env`, oldest first; the newest serves.
fn three(server: &Server, env: &str) -> Vec<String> {
    (0..3)
        .map(|_| server.gen3_seed_deployment(APP, env, "SUCCEEDED"))
        .collect()
}

/// A deployment built from Git `commit`.
fn git_built(server: &Server, id: &str, commit: &str) {
    server.gen3_update_deployment(id, |d| {
        d.source = Gen3Source::Git {
            git_ref: "main".into(),
            commit_id: commit.into(),
        }
    });
}

fn routing_bodies(server: &Server) -> Vec<Value> {
    server
        .requests()
        .iter()
        .filter(|r| r.op == Some(Op::Gen3UpdateAliasRouting))
        .map(|r| serde_json::from_slice(&r.request.body).unwrap())
        .collect()
}

/// What the environment's alias routes to now.
fn active(server: &Server, env: &str) -> String {
    let mut gh = releasing(server, "abort-rollout", env);
    gh.set("AMPLIFY_OUTPUT_FORMAT", "json");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    parse_outputs(&gh.output())["job-id"].clone()
}

#[test]
fn promote_by_id_moves_all_traffic_at_once_and_reports_before_and_after() {
    let server = serving(0.0);
    let ids = three(&server, "production");
    let mut gh = releasing(&server, "promote", "production");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0]);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        routing_bodies(&server),
        [json!({"RoutingConfig": [{"DeploymentId": ids[0], "Weight": 100}]})],
        "rollout unset sends no rollout setting"
    );
    let o = parse_outputs(&gh.output());
    assert_eq!(o["job-id"], ids[0]);
    assert_eq!(o["previous-deployment-id"], ids[2]);
    assert_eq!(o["rollout-status"], "NONE");
    assert_eq!(o["environment-url"], "https://shop.amplify.app");
    assert_eq!(
        o["deployment-url"],
        format!("https://{}--shop.amplify.app", ids[0])
    );
    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(
        summary.contains(&format!("| Before | `{}`", ids[2]))
            && summary.contains(&format!("| After | `{}`", ids[0])),
        "{summary}"
    );
    assert!(
        run.stderr
            .contains(&format!("production now serves deployment {}", ids[0])),
        "{}",
        run.stderr
    );
    assert_eq!(active(&server, "production"), ids[0]);
}

#[test]
fn promote_by_commit_takes_the_newest_success_built_from_it() {
    let server = serving(0.0);
    let ids = three(&server, "production");
    let failed = server.gen3_seed_deployment(APP, "production", "FAILED");
    for id in [&ids[0], &ids[1], &failed] {
        git_built(&server, id, SHA);
    }
    let mut gh = releasing(&server, "promote", "production");
    gh.set("AMPLIFY_COMMIT_ID", SHA);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let o = parse_outputs(&gh.output());
    assert_eq!(
        o["job-id"], ids[1],
        "the newest SUCCEEDED of the commit, not the failed one"
    );
    assert_eq!(o["commit-id"], SHA);
    // Nothing built from another commit: exit 3, nothing sent.
    let mut other = releasing(&server, "promote", "production");
    other.set("AMPLIFY_COMMIT_ID", &"f".repeat(40));
    let run = other.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("no deployment built from commit"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::Gen3UpdateAliasRouting), 1);
}

#[test]
fn a_promote_of_what_serves_sends_nothing_and_unservable_ones_are_exit_3() {
    let server = serving(0.0);
    let ids = three(&server, "production");
    let mut gh = releasing(&server, "promote", "production");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[2]);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("already serves deployment"),
        "{}",
        run.stderr
    );
    let o = parse_outputs(&gh.output());
    assert_eq!(
        (o["job-id"].as_str(), o["previous-deployment-id"].as_str()),
        (ids[2].as_str(), "")
    );
    server.gen3_update_deployment(&ids[0], |d| d.status = "EXPIRED".into());
    let failed = server.gen3_seed_deployment(APP, "production", "FAILED");
    for (id, says) in [
        (ids[0].as_str(), "has expired"),
        (failed.as_str(), "is FAILED"),
        ("zzzzzzzzzz", "has no deployment zzzzzzzzzz"),
    ] {
        let mut gh = releasing(&server, "promote", "production");
        gh.set("AMPLIFY_DEPLOYMENT_ID", id);
        let run = gh.run();
        assert_eq!(run.code, 3, "{id}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{}", run.stderr);
    }
    assert_eq!(calls(&server, Op::Gen3UpdateAliasRouting), 0);
}

#[test]
fn a_promote_with_a_preset_follows_the_rollout_stage_by_stage() {
    let server = serving(0.0);
    let ids = three(&server, "canary");
    let mut gh = releasing(&server, "promote", "canary");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0])
        .set("AMPLIFY_ROLLOUT", "linear-10pct-1m")
        .set("AMPLIFY_WAIT", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        routing_bodies(&server)[0]["GradualRolloutConfig"],
        json!({"PresetConfig": {"Preset": "LINEAR_10_PERCENT_EVERY_1_MINUTE"}})
    );
    let o = parse_outputs(&gh.output());
    assert_eq!(o["rollout-status"], "COMPLETED");
    assert_eq!(o["job-id"], ids[0]);
    assert!(
        run.stderr
            .contains("rollout stage 2 of 10: 20% of the traffic"),
        "{}",
        run.stderr
    );
    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(
        summary.contains("- rollout stage 3 of 10: 30% of the traffic"),
        "{summary}"
    );
    // instant sends ALL_AT_ONCE.
    let mut back = releasing(&server, "promote", "canary");
    back.set("AMPLIFY_DEPLOYMENT_ID", &ids[1])
        .set("AMPLIFY_ROLLOUT", "INSTANT");
    assert_eq!(back.run().code, 0);
    assert_eq!(
        routing_bodies(&server)[1]["GradualRolloutConfig"]["PresetConfig"]["Preset"],
        "ALL_AT_ONCE"
    );
}

#[test]
fn without_wait_the_run_ends_once_the_rollout_started() {
    let server = serving(3600.0);
    let ids = three(&server, "canary");
    let mut gh = releasing(&server, "promote", "canary");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0])
        .set("AMPLIFY_ROLLOUT", "canary-10pct-5m");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let o = parse_outputs(&gh.output());
    assert_eq!(o["rollout-status"], "IN_PROGRESS");
    assert_eq!(o["previous-deployment-id"], ids[2]);
    // Another promote meets the rollout: exit 3 naming it and abort-rollout, nothing sent.
    let mut second = releasing(&server, "rollback", "canary");
    let run = second.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "a gradual rollout of deployment {} is in progress",
            ids[0]
        )) && run.stderr.contains("stage 1 of 2")
            && run.stderr.contains("mode: abort-rollout"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::Gen3UpdateAliasRouting), 1);
    // abort-rollout sends the traffic back.
    second.set("AMPLIFY_MODE", "abort-rollout");
    let run = second.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let o = parse_outputs(&second.output());
    assert_eq!(o["rollout-status"], "CANCELLED");
    assert_eq!(o["job-id"], ids[2]);
    assert_eq!(o["previous-deployment-id"], ids[0]);
    // Nothing in progress: exit 0, nothing sent.
    let again = releasing(&server, "abort-rollout", "canary");
    let run = again.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("no rollout is in progress"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::Gen3CancelGradualRollout), 1);
}

#[test]
fn a_rollout_cancelled_by_someone_else_is_exit_5_with_the_previous_deployment() {
    let server = serving(3600.0);
    let ids = three(&server, "canary");
    let mut gh = releasing(&server, "promote", "canary");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0])
        .set("AMPLIFY_ROLLOUT", "canary-10pct-30m")
        .set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "20ms");
    let child = gh.spawn();
    wait_for(
        || (calls(&server, Op::Gen3GetAlias) >= 4).then_some(()),
        "the rollout's polls",
    );
    server.gen3_cancel_rollout(APP, "canary");
    let run = wait_child(child);
    assert_eq!(run.code, 5, "{}", run.stderr);
    let o = parse_outputs(&gh.output());
    assert_eq!(o["rollout-status"], "CANCELLED");
    assert_eq!(
        o["job-id"], ids[2],
        "the deployment that has all traffic again"
    );
}

#[test]
fn a_cancel_mid_rollout_leaves_it_by_default_and_aborts_it_with_cancel_on_abort() {
    for abort in [false, true] {
        let server = serving(3600.0);
        let ids = three(&server, "canary");
        let mut gh = releasing(&server, "promote", "canary");
        gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0])
            .set("AMPLIFY_ROLLOUT", "linear-10pct-10m")
            .set("AMPLIFY_WAIT", "true")
            .set("AMPLIFY_POLL_INTERVAL", "20ms");
        if abort {
            gh.set("AMPLIFY_CANCEL_ON_ABORT", "true");
        }
        let child = gh.spawn();
        wait_for(
            || (calls(&server, Op::Gen3GetAlias) >= 4).then_some(()),
            "the rollout's polls",
        );
        send_signal(child.id(), "TERM");
        let run = wait_child(child);
        assert_eq!(run.code, 143, "{}", run.stderr);
        let o = parse_outputs(&gh.output());
        if abort {
            assert_eq!(calls(&server, Op::Gen3CancelGradualRollout), 1);
            assert!(
                run.stderr
                    .contains("cancel-on-abort is set, so the rollout"),
                "{}",
                run.stderr
            );
            assert_eq!(
                (o["rollout-status"].as_str(), o["job-id"].as_str()),
                ("CANCELLED", ids[2].as_str())
            );
        } else {
            assert_eq!(calls(&server, Op::Gen3CancelGradualRollout), 0);
            assert!(
                run.stderr.contains(
                    "goes on (cancel-on-abort is not set): abort it with mode: abort-rollout"
                ),
                "{}",
                run.stderr
            );
            assert_eq!(o["rollout-status"], "IN_PROGRESS");
        }
    }
}

#[test]
fn lost_answers_never_change_the_routing_twice() {
    // UpdateAliasRouting done, its answer lost: the alias is read, and it is not sent again.
    let server = serving(0.0);
    let ids = three(&server, "production");
    server.push_faults(Op::Gen3UpdateAliasRouting, [Fault::ApplyThenReset]);
    let mut gh = releasing(&server, "promote", "production");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0]);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::Gen3UpdateAliasRouting), 1);
    assert!(run.stderr.contains("the change was made"), "{}", run.stderr);
    // A rollout started by a lost call: the repeat would meet a conflict; the read finds ours.
    let server = serving(3600.0);
    let ids = three(&server, "canary");
    server.push_faults(Op::Gen3UpdateAliasRouting, [Fault::ApplyThenReset]);
    let mut gh = releasing(&server, "promote", "canary");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0])
        .set("AMPLIFY_ROLLOUT", "canary-10pct-5m");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::Gen3UpdateAliasRouting), 1);
    assert_eq!(parse_outputs(&gh.output())["rollout-status"], "IN_PROGRESS");
    // Refused before it acted (500): sent again.
    let server = serving(0.0);
    let ids = three(&server, "production");
    let (op, fault) = Fault::gen3_flag("UpdateAliasRouting=500:0").unwrap();
    server.push_faults(op, [fault]);
    for op in [Op::Gen3GetAlias, Op::Gen3ListAliases] {
        let (_, fault) = Fault::gen3_flag("GetAlias=429:0").unwrap();
        server.push_faults(op, [fault]);
    }
    let mut gh = releasing(&server, "promote", "production");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0]);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::Gen3UpdateAliasRouting), 2);
    // The abort's answer lost: the alias shows it done.
    let server = serving(3600.0);
    let ids = three(&server, "canary");
    let mut gh = releasing(&server, "promote", "canary");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0])
        .set("AMPLIFY_ROLLOUT", "canary-10pct-5m");
    assert_eq!(gh.run().code, 0);
    server.push_faults(Op::Gen3CancelGradualRollout, [Fault::ApplyThenReset]);
    let abort = releasing(&server, "abort-rollout", "canary");
    let run = abort.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::Gen3CancelGradualRollout), 1);
    assert_eq!(
        parse_outputs(&abort.output())["rollout-status"],
        "CANCELLED"
    );
}

#[test]
fn aws_s_conflict_is_exit_3_and_nothing_is_aborted_unasked() {
    let server = serving(0.0);
    let ids = three(&server, "production");
    server.push_faults(
        Op::Gen3UpdateAliasRouting,
        [Fault::error(
            409,
            "ConflictException",
            "A gradual rollout is in progress.",
        )],
    );
    let mut gh = releasing(&server, "promote", "production");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0]);
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("ConflictException"), "{}", run.stderr);
    assert_eq!(calls(&server, Op::Gen3UpdateAliasRouting), 1);
    assert_eq!(calls(&server, Op::Gen3CancelGradualRollout), 0);
    assert!(
        !gh.output().contains("job-id"),
        "no outputs for a refused change"
    );
}

#[test]
fn rollback_goes_to_the_newest_older_success_never_forward() {
    let server = serving(0.0);
    let ids = three(&server, "production");
    let gh = releasing(&server, "rollback", "production");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let o = parse_outputs(&gh.output());
    assert_eq!(
        (o["job-id"].as_str(), o["previous-deployment-id"].as_str()),
        (ids[1].as_str(), ids[2].as_str())
    );
    // Again: further back, to the oldest.
    let again = releasing(&server, "rollback", "production");
    assert_eq!(again.run().code, 0);
    assert_eq!(parse_outputs(&again.output())["job-id"], ids[0]);
    // Nothing older: exit 3.
    let run = releasing(&server, "rollback", "production").run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("nothing to roll back to"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_rollback_guard_acts_only_while_its_deployment_serves() {
    let server = serving(0.0);
    let ids = three(&server, "production");
    let mut stale = releasing(&server, "rollback", "production");
    stale.set("AMPLIFY_DEPLOYMENT_ID", &ids[1]);
    let run = stale.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("nothing changed"), "{}", run.stderr);
    assert_eq!(parse_outputs(&stale.output())["previous-deployment-id"], "");
    let mut missing = releasing(&server, "rollback", "production");
    missing.set("AMPLIFY_DEPLOYMENT_ID", "zzzzzzzzzz");
    assert_eq!(missing.run().code, 3);
    assert_eq!(calls(&server, Op::Gen3UpdateAliasRouting), 0);
    let mut live = releasing(&server, "rollback", "production");
    live.set("AMPLIFY_DEPLOYMENT_ID", &ids[2]);
    assert_eq!(live.run().code, 0);
    assert_eq!(parse_outputs(&live.output())["job-id"], ids[1]);
}

#[test]
fn every_release_setting_is_checked_before_anything_is_sent() {
    let server = serving(0.0);
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "promote",
            "preview",
            &[
                ("AMPLIFY_DEPLOYMENT_ID", "abcdefghij"),
                ("AMPLIFY_ROLLOUT", "canary-10pct-5m"),
            ],
            "AMPLIFY_ROLLOUT (input rollout)",
        ),
        (
            "promote",
            "production",
            &[("AMPLIFY_DEPLOYMENT_ID", "ABC")],
            "AMPLIFY_DEPLOYMENT_ID (input deployment-id)",
        ),
        (
            "promote",
            "production",
            &[
                ("AMPLIFY_DEPLOYMENT_ID", "abcdefghij"),
                ("AMPLIFY_ROLLOUT", "slow"),
            ],
            "not a rollout",
        ),
        (
            "abort-rollout",
            "production",
            &[("AMPLIFY_DEPLOYMENT_ID", "abcdefghij")],
            "acts on no deployment",
        ),
        (
            "abort-rollout",
            "production",
            &[("AMPLIFY_ROLLOUT", "instant")],
            "a rollout moves traffic",
        ),
        (
            "rollback",
            "production",
            &[("AMPLIFY_PULL_REQUEST", "7")],
            "pull-request",
        ),
        (
            "rollback",
            "production",
            &[("AMPLIFY_SOURCE", "dist")],
            "it is a setting of a deployment",
        ),
        (
            "promote",
            "production",
            &[("AMPLIFY_JOB_ID", "3")],
            "it is an Amplify Hosting setting",
        ),
        (
            "authorize-fork",
            "preview",
            &[],
            "authorize-fork needs the pull request's head commit",
        ),
        ("follow", "production", &[], "are Amplify Hosting's"),
    ];
    for (mode, env, set, says) in cases {
        let mut gh = releasing(&server, mode, env);
        gh.unset("GITHUB_SHA");
        for (k, v) in *set {
            gh.set(k, v);
        }
        let run = gh.run();
        assert_eq!(run.code, 2, "{mode} {set:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{mode} {set:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    }
    // authorize-fork's settings outside its events: no commit given.
    let mut gh = releasing(&server, "authorize-fork", "preview");
    gh.unset("GITHUB_ACTIONS");
    assert_eq!(gh.run().code, 2);
    // Hosting's modes and the new service's are each refused for the other service.
    let mut hosting = github(&server, "push", json!({}));
    hosting.set("AMPLIFY_MODE", "promote");
    let run = hosting.run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("it is a mode of the new AWS Amplify"),
        "{}",
        run.stderr
    );
    hosting
        .set("AMPLIFY_MODE", "start")
        .set("AMPLIFY_ROLLOUT", "instant");
    assert_eq!(hosting.run().code, 2);
    assert!(server.requests().is_empty(), "nothing was sent");
}

const FORK_SHA: &str = "feedfacefeedfacefeedfacefeedfacefeedface";

fn pull_request_target(fork: bool) -> Value {
    json!({"pull_request": {
        "number": 42,
        "user": {"login": "outsider"},
        "head": {"sha": FORK_SHA, "repo": {"full_name": if fork { "outsider/site" } else { "octo/site" }, "fork": fork}},
        "base": {"repo": {"full_name": "octo/site"}},
    }})
}

fn authorizing(server: &Server, event: &str, payload: Value) -> Gh {
    let mut gh = github(server, event, payload);
    gh.unset("AMPLIFY_APP_ID")
        .set("AMPLIFY_APP_NAME", APP)
        .set("AMPLIFY_MODE", "authorize-fork")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

#[test]
fn authorize_fork_accepts_the_pull_request_s_head_never_the_merge_commit() {
    let server = serving(0.0);
    server.gen3_fork_push(APP, "42", FORK_SHA);
    let gh = authorizing(&server, "pull_request_target", pull_request_target(true));
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body: Value = serde_json::from_slice(
        &first(&server, Op::Gen3AcceptForkPullRequestDeployment)
            .request
            .body,
    )
    .unwrap();
    assert_eq!(
        body,
        json!({"EnvironmentName": "preview", "CommitSha": FORK_SHA, "PullRequestNumber": "42"}),
        "the head commit, not GITHUB_SHA ({SHA})"
    );
    assert!(
        run.stderr.contains(&format!(
            "ACCEPTED: commit {FORK_SHA} of pull request #42 by outsider from outsider/site"
        )),
        "{}",
        run.stderr
    );
    let o = parse_outputs(&gh.output());
    assert_eq!(
        (o["fork-outcome"].as_str(), o["commit-id"].as_str()),
        ("ACCEPTED", FORK_SHA)
    );
    assert_eq!(
        server.gen3_deployments().len(),
        1,
        "the held push deploys once accepted"
    );
    // Its answer lost, then again: idempotent.
    server.push_faults(
        Op::Gen3AcceptForkPullRequestDeployment,
        [Fault::ApplyThenReset],
    );
    let again = authorizing(&server, "pull_request_target", pull_request_target(true));
    let run = again.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        parse_outputs(&again.output())["fork-outcome"],
        "ALREADY_ACCEPTED"
    );
    assert_eq!(server.gen3_deployments().len(), 1);
}

#[test]
fn authorize_fork_reads_workflow_run_and_the_settings_and_skips_a_non_fork() {
    let server = serving(0.0);
    let payload = json!({"workflow_run": {
        "head_sha": FORK_SHA, "actor": {"login": "outsider"},
        "pull_requests": [],
        "head_repository": {"full_name": "outsider/site"}, "repository": {"full_name": "octo/site"},
    }});
    let mut gh = authorizing(&server, "workflow_run", payload.clone());
    let run = gh.run();
    assert_eq!(
        run.code, 2,
        "a fork's workflow_run lists no pull request: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("AMPLIFY_PULL_REQUEST (input pull-request)"),
        "{}",
        run.stderr
    );
    gh.set("AMPLIFY_PULL_REQUEST", "42");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.gen3_forks_accepted(), [format!("{APP}/{FORK_SHA}")]);
    // Not a fork: a notice, nothing sent.
    let same = authorizing(&server, "pull_request_target", pull_request_target(false));
    let run = same.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("\"outcome\":\"NOT_A_FORK\""),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("::notice"), "{}", run.stderr);
    assert_eq!(calls(&server, Op::Gen3AcceptForkPullRequestDeployment), 1);
    // A commit-id that is not the event's head: exit 2.
    let mut wrong = authorizing(&server, "pull_request_target", pull_request_target(true));
    wrong.set("AMPLIFY_COMMIT_ID", SHA);
    assert_eq!(wrong.run().code, 2);
}

/// What the fake GitHub was told: path and body.
type Told = Arc<Mutex<Vec<(String, Value)>>>;

/// A GitHub API fake that keeps what it is told.
fn fake_github() -> (Stub, Told) {
    let calls: Told = Arc::default();
    let held = calls.clone();
    let stub = Stub::start(move |req: &Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        held.lock()
            .unwrap()
            .push((req.raw_path().to_string(), body.clone()));
        Reply::Respond(Response::json(
            201,
            &json!({"id": 77, "state": body["state"]}),
        ))
    });
    (stub, calls)
}

#[test]
fn a_promote_and_a_rollback_record_what_is_live_on_github() {
    let server = serving(0.0);
    let ids = three(&server, "production");
    git_built(&server, &ids[0], SHA);
    let (stub, calls) = fake_github();
    let mut gh = releasing(&server, "promote", "production");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0])
        .set("AMPLIFY_GITHUB_DEPLOYMENT", "true")
        .set("GITHUB_TOKEN", "ghs_x")
        .set("GITHUB_REPOSITORY", "octo/site")
        .set("GITHUB_API_URL", &stub.url());
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let seen = calls.lock().unwrap().clone();
    let made = &seen[0];
    assert_eq!(made.0, "/repos/octo/site/deployments");
    assert_eq!(
        (
            &made.1["ref"],
            &made.1["environment"],
            &made.1["production_environment"]
        ),
        (&json!(SHA), &json!("production"), &json!(true))
    );
    let states: Vec<&Value> = seen[1..].iter().map(|(_, b)| &b["state"]).collect();
    assert_eq!(states, [&json!("in_progress"), &json!("success")]);
    assert_eq!(seen[2].1["environment_url"], "https://shop.amplify.app");
    assert_eq!(parse_outputs(&gh.output())["github-deployment-id"], "77");
    // A rollback (to a deployment built from a commit) says so in the description.
    git_built(&server, &ids[1], &"c".repeat(40));
    calls.lock().unwrap().clear();
    let mut back = releasing(&server, "promote", "production");
    back.set("AMPLIFY_DEPLOYMENT_ID", &ids[2]);
    assert_eq!(back.run().code, 0);
    back.set("AMPLIFY_MODE", "rollback")
        .unset("AMPLIFY_DEPLOYMENT_ID")
        .set("AMPLIFY_GITHUB_DEPLOYMENT", "true")
        .set("GITHUB_TOKEN", "ghs_x")
        .set("GITHUB_REPOSITORY", "octo/site")
        .set("GITHUB_API_URL", &stub.url());
    let run = back.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let seen = calls.lock().unwrap().clone();
    assert!(
        seen[0].1["description"]
            .as_str()
            .unwrap()
            .starts_with("Rolled back to Amplify deployment"),
        "{seen:?}"
    );
}

const HOSTING_APP: &str = "d1a2b3c4d5e6f7";

fn hosting_rollback(server: &Server) -> Gh {
    let mut gh = github(server, "workflow_dispatch", json!({}));
    gh.set("AMPLIFY_MODE", "rollback")
        .set("AMPLIFY_BRANCH_NAME", "main")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms")
        .set("AMPLIFY_POLL_INTERVAL", "10ms");
    gh
}

#[test]
fn hosting_rollback_retries_the_last_good_job_before_the_one_that_serves() {
    let server = Server::start(Config::default());
    let a = "a".repeat(40);
    let b = "b".repeat(40);
    let first = server.seed_job_for(HOSTING_APP, "main", "RELEASE", "SUCCEED", &a);
    server.seed_job_for(HOSTING_APP, "main", "RELEASE", "FAILED", &"d".repeat(40));
    let second = server.seed_job_for(HOSTING_APP, "main", "RELEASE", "SUCCEED", &b);
    let mut gh = hosting_rollback(&server);
    gh.set("AMPLIFY_WAIT", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body: Value = serde_json::from_slice(&first_start(&server).request.body).unwrap();
    assert_eq!(body["jobType"], "RETRY");
    assert_eq!(body["jobId"], first.to_string());
    assert!(
        body.get("commitId").is_none(),
        "a RETRY sends no commit: {body}"
    );
    assert_eq!(
        body["jobReason"],
        format!(
            "amplify-start-job rollback of main: from job {second} (bbbbbbb) to job {first} (aaaaaaa)"
        )
    );
    let o = parse_outputs(&gh.output());
    assert_eq!(o["commit-id"], a);
    assert_eq!(o["job-status"], "SUCCEED");
    // A second rollback goes further back: nothing older than job 1 with another commit.
    let run = hosting_rollback(&server).run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("older than job {first}")),
        "{}",
        run.stderr
    );
    // Were the RETRY recorded as HEAD, its BUILD log still names the commit it built: the
    // rollback still finds its place, and never goes forward to job {second}.
    let retry = server.jobs().iter().map(|j| j.id).max().unwrap();
    server.update_job(HOSTING_APP, "main", retry, |j| j.commit_id = "HEAD".into());
    let run = hosting_rollback(&server).run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "job {retry}, which serves, is recorded as \"HEAD\"; its BUILD log names commit {a}"
        )) && run.stderr.contains(&format!("older than job {first}")),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::StartJob), 1);
}

fn first_start(server: &Server) -> amplify_local::Recorded {
    first(server, Op::StartJob)
}

#[test]
fn hosting_rollback_refuses_a_head_or_manual_job_unless_job_id_names_it() {
    let server = Server::start(Config::default());
    let head = server.seed_job_for(HOSTING_APP, "main", "RELEASE", "SUCCEED", "HEAD");
    server.seed_job_for(HOSTING_APP, "main", "RELEASE", "SUCCEED", &"b".repeat(40));
    let run = hosting_rollback(&server).run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("builds the branch's current tip"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::StartJob), 0);
    let mut named = hosting_rollback(&server);
    named.set("AMPLIFY_JOB_ID", &head.to_string());
    let run = named.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("its RETRY builds the branch's current tip (job-id named it)"),
        "{}",
        run.stderr
    );
    // Settings a RETRY does not take: exit 2.
    for (k, v) in [
        ("AMPLIFY_JOB_TYPE", "RELEASE"),
        ("AMPLIFY_COMMIT_ID", SHA),
        ("AMPLIFY_SOURCE", "dist"),
    ] {
        let mut gh = hosting_rollback(&server);
        gh.set(k, v);
        assert_eq!(gh.run().code, 2, "{k}");
    }
    let manual = Server::start(Config::default());
    manual.seed_job_for(HOSTING_APP, "main", "MANUAL", "SUCCEED", "");
    manual.seed_job_for(HOSTING_APP, "main", "RELEASE", "SUCCEED", &"b".repeat(40));
    let mut gh = hosting_rollback(&manual);
    gh.set("AMPLIFY_JOB_ID", "1");
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("deploy the old artifact again"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_environment_aws_reports_as_preview_takes_no_gradual_rollout() {
    let server = serving(0.0);
    let ids = three(&server, "canary");
    // AWS says this custom-named environment is a PREVIEW one.
    let env = json!({"AppName": APP, "EnvironmentName": "canary", "Type": "PREVIEW",
                     "Web": {"EnvironmentAliasConfig": {"RoutingMode": "MANUAL"}}});
    server.push_faults(
        Op::Gen3GetEnvironment,
        [Fault::Answer {
            status: 200,
            error_type: None,
            content_type: "application/json".into(),
            body: env.to_string(),
            retry_after: None,
        }],
    );
    let mut gh = releasing(&server, "promote", "canary");
    gh.set("AMPLIFY_DEPLOYMENT_ID", &ids[0])
        .set("AMPLIFY_ROLLOUT", "canary-10pct-5m");
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("is a PREVIEW environment"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::Gen3UpdateAliasRouting), 0);
}
