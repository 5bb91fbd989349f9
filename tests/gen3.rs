//! Deployments to the new AWS Amplify (`app-name`) against amplify-local playing it: a folder,
//! a zip, a source upload and a Git ref; the wait and its endings; lost answers on each creating
//! call; each form of the digest; each error status; and the settings the two services do not
//! share. amplify-local answers as the notes on the service say it behaves (see its README).

mod common;

use amplify_local::{Fault, Gen3App, Gen3Source};
use common::*;
use serde_json::{Value, json};

const APP: &str = "shop";

fn serving(config: Config) -> Server {
    Server::start(config)
}

/// A push run that deploys the folder `dist` of the workspace to app `shop`.
fn deploying(server: &Server) -> Gh {
    let mut gh = github(server, "push", json!({}));
    gh.unset("AMPLIFY_APP_ID")
        .set("AMPLIFY_APP_NAME", APP)
        .set("AMPLIFY_SOURCE", "dist")
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms")
        .set("AMPLIFY_POLL_INTERVAL", "10ms");
    site(&gh.workspace().join("dist"));
    gh
}

fn site(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>shop</h1>\n").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)\n").unwrap();
}

fn ops(server: &Server) -> Vec<Op> {
    server.requests().iter().filter_map(|r| r.op).collect()
}

fn create_body(server: &Server) -> Value {
    serde_json::from_slice(&first(server, Op::Gen3CreateDeployment).request.body).unwrap()
}

/// The names of the entries of a zip.
fn entries(zip: &[u8]) -> Vec<String> {
    amplify_local::zip_entries(zip).expect("a zip")
}

#[test]
fn a_folder_is_uploaded_deployed_once_and_followed_to_its_end() {
    let server = serving(Config::default());
    let mut gh = deploying(&server);
    gh.set("AMPLIFY_WAIT", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::Gen3CreateDeployment), 1);
    assert_eq!(calls(&server, Op::Gen3CreateSourceUpload), 1);
    // The PUT carries the checksum the URL signs, in S3's base64 form.
    let put = first(&server, Op::Gen3Upload);
    let upload = &server.gen3_uploads()[0];
    assert_eq!(
        put.request.header("x-amz-checksum-sha256"),
        Some(upload.digest.as_str())
    );
    assert_eq!(
        entries(&upload.data),
        ["assets/", "assets/app.js", "index.html"]
    );
    // The run's token is in the description (with the short commit) and a tag.
    let body = create_body(&server);
    let token = body["Tags"]["amplify-start-job:run"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(token.starts_with("asj-"), "{body}");
    let description = body["Description"].as_str().unwrap();
    assert!(
        description.starts_with(&SHA[..7]) && description.ends_with(&format!("[{token}]")),
        "{description}"
    );
    assert_eq!(
        body["SourceConfig"]["ManualUploadSource"]["SourceType"],
        "PREBUILT_ARTIFACT"
    );
    let d = &server.gen3_deployments()[0];
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-id"], d.id);
    assert!(outputs["job-arn"].ends_with(&format!("/deployment/{}", d.id)));
    assert_eq!(outputs["job-status"], "SUCCEEDED");
    assert_eq!(outputs["commit-id"], SHA);
    assert_eq!(
        outputs["deployment-url"],
        format!("https://{}--shop.amplify.app", d.id)
    );
    assert!(
        outputs["environment-url"].starts_with("https://preview-"),
        "{outputs:?}"
    );
    assert_eq!(outputs["job-skipped"], "false");
    assert!(outputs["job-duration"].parse::<u64>().is_ok());
    assert_eq!(outputs["live-job-id"], d.id, "the environment serves it");
    assert!(!outputs.contains_key("job-url") && !outputs.contains_key("app-id"));
    let stdout: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(stdout["DeploymentId"], d.id.as_str());
    assert_eq!(stdout["deploymentUrl"], outputs["deployment-url"].as_str());
    assert!(
        run.stderr.contains("preview now serves deployment"),
        "{}",
        run.stderr
    );
    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(
        summary.contains("### Amplify deployment finished"),
        "{summary}"
    );
    assert!(
        server.requests().iter().all(|r| r.signature.is_ok()),
        "every request signed as AWS expects"
    );
}

#[test]
fn without_wait_the_deployment_is_read_once_for_its_url() {
    let server = serving(Config::default());
    let gh = deploying(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::Gen3GetDeployment), 1);
    let outputs = parse_outputs(&gh.output());
    assert!(
        outputs["deployment-url"].starts_with("https://"),
        "{outputs:?}"
    );
    assert!(!outputs.contains_key("job-skipped") && !outputs.contains_key("job-duration"));
}

#[test]
fn a_zip_is_uploaded_as_it_is() {
    let server = serving(Config::default());
    let mut gh = deploying(&server);
    let zip = gh.workspace().join("site.zip");
    let stop = std::sync::atomic::AtomicBool::new(false);
    let made = amplify_start_job::archive::zip_folder(
        &gh.workspace().join("dist"),
        &gh.workspace(),
        &stop,
    )
    .unwrap();
    std::fs::copy(made.path(), &zip).unwrap();
    gh.set("AMPLIFY_SOURCE", "site.zip");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.gen3_uploads()[0].data, std::fs::read(&zip).unwrap());
}

#[test]
fn a_source_upload_leaves_out_modules_git_the_output_and_what_amplifyignore_lists() {
    let server = serving(Config::default());
    let mut gh = deploying(&server);
    let root = gh.workspace().join("app");
    for dir in [
        "node_modules/x",
        ".git",
        "dist",
        "src",
        "packages/a/node_modules",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    for file in [
        "node_modules/x/i.js",
        ".git/HEAD",
        "dist/index.html",
        "src/main.js",
        "debug.log",
        "keep.log",
        "packages/a/node_modules/m.js",
        "packages/a/index.js",
    ] {
        std::fs::write(root.join(file), "x").unwrap();
    }
    std::fs::write(root.join(".amplifyignore"), "*.log\n!keep.log\n").unwrap();
    gh.set("AMPLIFY_SOURCE", "app")
        .set("AMPLIFY_SOURCE_TYPE", "SOURCE");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The app's build output (GetApp: OutputDirectory dist) is read before the zip is made.
    let at = |op| ops(&server).iter().position(|o| *o == op).unwrap();
    assert!(at(Op::Gen3GetApp) < at(Op::Gen3CreateSourceUpload));
    assert_eq!(
        entries(&server.gen3_uploads()[0].data),
        [
            "keep.log",
            "packages/",
            "packages/a/",
            "packages/a/index.js",
            "src/",
            "src/main.js"
        ]
    );
    assert_eq!(
        create_body(&server)["SourceConfig"]["ManualUploadSource"]["SourceType"],
        "SOURCE_CODE"
    );
}

#[test]
fn a_git_ref_is_deployed_and_the_commit_it_built_is_reported() {
    let server = serving(Config {
        gen3_commit: Some("ffffffffffffffffffffffffffffffffffffffff".into()),
        ..Config::default()
    });
    let mut gh = deploying(&server);
    gh.unset("AMPLIFY_SOURCE").set("AMPLIFY_WAIT", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // With neither source nor git-ref, the CI's branch.
    assert_eq!(
        create_body(&server)["SourceConfig"],
        json!({"GitSource": {"GitRef": "main"}})
    );
    assert_eq!(calls(&server, Op::Gen3CreateSourceUpload), 0);
    let outputs = parse_outputs(&gh.output());
    assert_eq!(
        outputs["commit-id"],
        "ffffffffffffffffffffffffffffffffffffffff"
    );
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("::warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains(SHA) && warnings[0].contains("ffffffff"),
        "{}",
        warnings[0]
    );
    gh.set("AMPLIFY_GIT_REF", "v1.2.0");
    assert_eq!(gh.run().code, 0);
    let last = server.gen3_deployments().last().unwrap().source.clone();
    assert!(matches!(last, Gen3Source::Git { git_ref, .. } if git_ref == "v1.2.0"));
    // on-commit-mismatch: fail makes the moved branch a failure (exit 5) that says why.
    gh.set("AMPLIFY_ON_COMMIT_MISMATCH", "fail");
    let run = gh.run();
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("on-commit-mismatch is fail"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failed_deployment_exits_5_with_one_annotation_and_the_log_command() {
    let server = serving(Config {
        outcome: "FAILED".into(),
        gen3_fail_reason: Some("OUTPUT_DIRECTORY_NOT_FOUND".into()),
        ..Config::default()
    });
    let mut gh = deploying(&server);
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_SOURCE_TYPE", "source");
    let run = gh.run();
    assert_eq!(run.code, 5, "{}", run.stderr);
    let id = server.gen3_deployments()[0].id.clone();
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    let command = format!(
        "aws amplifygen3 logs get --log-type deployment --deployment-id {id} --app shop --env preview"
    );
    assert!(
        errors[0].contains("OUTPUT_DIRECTORY_NOT_FOUND") && errors[0].contains(&command),
        "{}",
        errors[0]
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(
        (
            outputs["job-status"].as_str(),
            outputs["failed-step"].as_str()
        ),
        ("FAILED", "Build")
    );
    let summary = std::fs::read_to_string(gh.summary_path()).unwrap();
    assert!(
        summary.contains("| Build | OUTPUT_DIRECTORY_NOT_FOUND |") && summary.contains(&command),
        "{summary}"
    );
}

#[test]
fn a_deployment_a_newer_one_supersedes_exits_0_naming_it() {
    let server = serving(Config {
        step_secs: 3600.0,
        ..Config::default()
    });
    // Another run's upload is deploying: ours waits behind it, with one notice saying why.
    server.gen3_seed_deployment(APP, "preview", "IN_PROGRESS");
    let mut gh = deploying(&server);
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "50ms");
    let child = gh.spawn();
    let ours = wait_for(
        || {
            let ds = server.gen3_deployments();
            let polled = calls(&server, Op::Gen3GetDeployment) >= 2;
            (ds.len() == 2 && polled).then(|| ds[1].id.clone())
        },
        "our deployment, queued and polled",
    );
    // A newer upload to the same environment supersedes it.
    let newer = server.gen3_seed_deployment(APP, "preview", "QUEUED");
    let out = wait_child(child);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let notices: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("is queued: another deployment"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "deployment {ours} was superseded by deployment {newer}"
        )),
        "{}",
        out.stderr
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(
        (
            outputs["job-status"].as_str(),
            outputs["job-skipped"].as_str()
        ),
        ("CANCELLED", "true")
    );
}

#[test]
fn a_wait_past_its_timeout_exits_6_saying_the_deployment_goes_on() {
    let server = serving(Config {
        step_secs: 3600.0,
        ..Config::default()
    });
    let mut gh = deploying(&server);
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_WAIT_TIMEOUT", "200ms")
        .set("AMPLIFY_POLL_INTERVAL", "50ms");
    let run = gh.run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    let id = &server.gen3_deployments()[0].id;
    assert!(
        run.stderr.contains("goes on (no API stops a deployment)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "aws amplifygen3 deployment get --app shop --env preview --deployment-id {id} --watch"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(parse_outputs(&gh.output())["job-status"], "QUEUED");
}

#[test]
fn a_lost_create_deployment_answer_is_adopted_never_doubled() {
    let server = serving(Config::default());
    server.push_faults(Op::Gen3CreateDeployment, [Fault::ApplyThenReset]);
    let gh = deploying(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        server.gen3_deployments().len(),
        1,
        "one deployment: {}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::Gen3CreateDeployment), 1);
    assert!(calls(&server, Op::Gen3ListDeploymentsForEnvironment) >= 1);
    assert!(run.stderr.contains("adopting deployment"), "{}", run.stderr);
    assert_eq!(
        parse_outputs(&gh.output())["job-id"],
        server.gen3_deployments()[0].id
    );
}

#[test]
fn a_create_deployment_that_never_arrived_is_sent_again_once_certainly_absent() {
    let server = serving(Config::default());
    // A reset before it is applied, then a 500 with Retry-After: both leave it unknown.
    server.push_faults(
        Op::Gen3CreateDeployment,
        [
            Fault::Reset,
            Fault::Answer {
                status: 500,
                error_type: Some("InternalServerException".into()),
                content_type: "application/json".into(),
                body: r#"{"message":"Internal error"}"#.into(),
                retry_after: Some("0".into()),
            },
        ],
    );
    let gh = deploying(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.gen3_deployments().len(), 1);
    assert_eq!(calls(&server, Op::Gen3CreateDeployment), 3);
    assert_eq!(
        calls(&server, Op::Gen3ListDeploymentsForEnvironment),
        2,
        "looked before each resend"
    );
}

#[test]
fn throttling_is_waited_out_with_retry_after() {
    let server = serving(Config::default());
    server.push_faults(
        Op::Gen3CreateDeployment,
        [Fault::Answer {
            status: 429,
            error_type: Some("ThrottlingException".into()),
            content_type: "application/json".into(),
            body: r#"{"message":"Rate exceeded"}"#.into(),
            retry_after: Some("1".into()),
        }],
    );
    let gh = deploying(&server);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.gen3_deployments().len(), 1);
    assert!(
        run.stderr.contains("retrying in 1.0s (Retry-After)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        calls(&server, Op::Gen3ListDeploymentsForEnvironment),
        0,
        "a 429 made nothing"
    );
}

#[test]
fn a_quota_and_an_unassumable_role_exit_3_with_what_to_do_and_are_not_retried() {
    for (status, code, body, says) in [
        (
            402,
            "ServiceQuotaExceededException",
            r#"{"message":"Too many deployments","quotaCode":"L-GEN3DEP","serviceCode":"amplifygen3"}"#,
            "quota code L-GEN3DEP",
        ),
        (
            409,
            "RoleNotAssumableException",
            r#"{"message":"Cannot assume role"}"#,
            "trust policy",
        ),
    ] {
        let server = serving(Config::default());
        server.always(
            Op::Gen3CreateDeployment,
            Fault::Answer {
                status,
                error_type: Some(code.into()),
                content_type: "application/json".into(),
                body: body.into(),
                retry_after: None,
            },
        );
        let run = deploying(&server).run();
        assert_eq!(run.code, 3, "{code}: {}", run.stderr);
        assert!(
            run.stderr.contains(code) && run.stderr.contains(says),
            "{code}: {}",
            run.stderr
        );
        assert_eq!(calls(&server, Op::Gen3CreateDeployment), 1, "{code}");
    }
}

#[test]
fn each_form_of_the_digest_is_tried_once_in_order() {
    for (form, creates) in [("base64", 1), ("hex", 2), ("sha256", 3)] {
        let server = serving(Config {
            gen3_digest_form: form.into(),
            ..Config::default()
        });
        let run = deploying(&server).run();
        assert_eq!(run.code, 0, "{form}: {}", run.stderr);
        assert_eq!(
            calls(&server, Op::Gen3CreateSourceUpload),
            creates,
            "{form}"
        );
        // The PUT's checksum header is always S3's base64 form.
        let upload = &server.gen3_uploads().last().unwrap().clone();
        assert_eq!(
            first(&server, Op::Gen3Upload)
                .request
                .header("x-amz-checksum-sha256"),
            Some(upload.digest.as_str())
        );
    }
    let server = serving(Config {
        gen3_digest_form: "none".into(),
        ..Config::default()
    });
    let run = deploying(&server).run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("refused each form of the zip's digest"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::Gen3CreateDeployment), 0);
}

#[test]
fn a_refused_upload_url_gets_one_new_upload() {
    let server = serving(Config::default());
    server.push_faults(
        Op::Gen3Upload,
        [Fault::Answer {
            status: 403,
            error_type: None,
            content_type: "application/xml".into(),
            body: "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
                .into(),
            retry_after: None,
        }],
    );
    let run = deploying(&server).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::Gen3CreateSourceUpload), 2);
    assert_eq!(calls(&server, Op::Gen3Upload), 2);
    assert_eq!(server.gen3_deployments().len(), 1);
}

#[test]
fn a_missing_app_or_environment_exits_3_saying_what_exists() {
    let server = serving(Config {
        gen3_apps: vec![Gen3App::parse("shop,staging").unwrap()],
        ..Config::default()
    });
    let mut gh = deploying(&server);
    gh.set("AMPLIFY_ENVIRONMENT", "qa");
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("app shop has no environment qa; it has: staging, preview, production"),
        "{}",
        run.stderr
    );
    gh.set("AMPLIFY_APP_NAME", "blog")
        .unset("AMPLIFY_ENVIRONMENT");
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no app named blog exists in region us-east-1"),
        "{}",
        run.stderr
    );
    assert!(server.gen3_deployments().is_empty());
}

/// Variables set, variables unset, and what the one line says.
type Case = (
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
    &'static str,
);

#[test]
fn the_two_services_settings_are_not_mixed() {
    let server = serving(Config::default());
    let cases: [Case; 7] = [
        (
            &[("AMPLIFY_APP_ID", "d1a2b3c4d5e6f7")],
            &[],
            "AMPLIFY_APP_ID (input app-id) is \"d1a2b3c4d5e6f7\": it is set together with AMPLIFY_APP_NAME (input app-name) \"shop\"",
        ),
        (
            &[("AMPLIFY_CREATE_BRANCH", "true")],
            &[],
            "AMPLIFY_CREATE_BRANCH (input create-branch) is \"true\": it is an Amplify Hosting setting",
        ),
        (
            &[("AMPLIFY_JOB_TYPE", "RELEASE")],
            &[],
            "AMPLIFY_JOB_TYPE (input job-type)",
        ),
        (
            &[("AMPLIFY_MODE", "follow")],
            &[],
            "AMPLIFY_MODE (input mode) is \"follow\"",
        ),
        (
            &[("AMPLIFY_GIT_REF", "main")],
            &[],
            "AMPLIFY_GIT_REF (input git-ref) is \"main\": it is set together with AMPLIFY_SOURCE",
        ),
        (
            &[("AMPLIFY_SOURCE_TYPE", "prebuilt")],
            &["AMPLIFY_SOURCE"],
            "AMPLIFY_SOURCE_TYPE (input source-type) is \"prebuilt\": it says how an uploaded source is treated",
        ),
        (
            &[("AMPLIFY_SOURCE_TYPE", "binary")],
            &[],
            "AMPLIFY_SOURCE_TYPE (input source-type) is \"binary\": not a source type",
        ),
    ];
    for (set, unset, says) in cases {
        let mut gh = deploying(&server);
        for (k, v) in set {
            gh.set(k, v);
        }
        for k in unset {
            gh.unset(k);
        }
        let run = gh.run();
        assert_eq!(run.code, 2, "{set:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{set:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    // The new service's settings with app-id.
    let mut gh = github(&server, "push", json!({}));
    gh.set("AMPLIFY_ENVIRONMENT", "production");
    let run = gh.run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("AMPLIFY_ENVIRONMENT (input environment) is \"production\": it is a setting of the new AWS Amplify"), "{}", run.stderr);
    // Neither: which to set.
    gh.unset("AMPLIFY_APP_ID").unset("AMPLIFY_ENVIRONMENT");
    let run = gh.run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("or app-name to an app of the new AWS Amplify"),
        "{}",
        run.stderr
    );
    assert!(server.requests().is_empty(), "no bad setting sent anything");
}

#[test]
fn a_successful_deployment_to_a_manual_environment_says_how_to_promote_it() {
    let server = serving(Config {
        gen3_apps: vec![Gen3App::parse("shop,production:manual").unwrap()],
        ..Config::default()
    });
    let active = server.gen3_seed_deployment(APP, "production", "SUCCEEDED");
    let mut gh = deploying(&server);
    gh.set("AMPLIFY_ENVIRONMENT", "production")
        .set("AMPLIFY_WAIT", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "production routes by hand (MANUAL) and still serves deployment {active}"
        )),
        "{}",
        run.stderr
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["environment-url"], "https://shop.amplify.app");
    assert_eq!(
        outputs["live-job-id"], active,
        "the promote has not happened"
    );
}

#[test]
fn wait_rollout_follows_a_gradual_rollout_to_its_end() {
    let server = serving(Config {
        gen3_apps: vec![
            Gen3App::parse("shop,production:LINEAR_10_PERCENT_EVERY_1_MINUTE").unwrap(),
        ],
        rollout_stage_secs: 0.1,
        ..Config::default()
    });
    server.gen3_seed_deployment(APP, "production", "SUCCEEDED");
    let mut gh = deploying(&server);
    gh.set("AMPLIFY_ENVIRONMENT", "production")
        .set("AMPLIFY_WAIT_ROLLOUT", "true");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ours = &server.gen3_deployments()[1].id;
    for line in [
        format!(
            "deployment {ours} is being rolled out to production: stage 1 of 10, 10% of the traffic"
        ),
        "rollout stage 2 of 10: 20% of the traffic".to_string(),
        format!("rollout of deployment {ours} to production: COMPLETED"),
    ] {
        assert!(run.stderr.contains(&line), "{line}: {}", run.stderr);
    }
    assert_eq!(&parse_outputs(&gh.output())["live-job-id"], ours);
}

#[test]
fn botocore_reads_the_new_service_of_the_local_endpoint_as_it_reads_aws() {
    gen3_botocore_checks(None);
}

#[test]
fn botocore_reads_the_new_service_of_the_local_endpoint_over_https() {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    gen3_botocore_checks(Some(dir.path()));
}

/// tests/oracle/gen3_endpoint.py: botocore 1.44.18's `amplifygen3` client calls every operation
/// amplify-local serves of the new service, its paging and its modeled errors.
fn gen3_botocore_checks(tls: Option<&std::path::Path>) {
    let config = Config {
        gen3_apps: vec![
            Gen3App::parse("shop,staging:manual,live:LINEAR_10_PERCENT_EVERY_1_MINUTE").unwrap(),
            Gen3App::parse("blog,no-repo").unwrap(),
        ],
        ..Config::default()
    };
    let server = match tls {
        Some(dir) => tls_server(config, dir),
        None => Server::start(config),
    };
    server.gen3_fork_push("shop", "7", &"f0".repeat(20));
    // The faults `amplify-local --gen3-fault` scripts, as AWS's model shapes them.
    for spec in ["402", "429:1", "500:2", "409"] {
        let (op, fault) = Fault::gen3_flag(&format!("ListDeploymentsForApp={spec}")).unwrap();
        server.push_faults(op, [fault]);
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let botocore = std::path::Path::new(root).join("target/py-gen3");
    assert!(
        botocore.join("botocore/data/amplifygen3").exists(),
        "botocore 1.44.18 (the first with amplifygen3) is missing from {}: run scripts/test, which installs it there",
        botocore.display()
    );
    need_tool("python3", "the Debian package python3");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(format!("{root}/tests/oracle/gen3_endpoint.py"))
        .arg(server.url())
        .env("PYTHONPATH", &botocore);
    if let Some(dir) = tls {
        cmd.arg(dir.join("ca.pem"));
    }
    let out = cmd.output().expect("python3 runs");
    all_passed(&out);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.op != Some(Op::Gen3GetApp) || r.signature.is_ok() || r.status == Some(403)),
        "the SDK's requests verify as AWS's"
    );
}

#[test]
fn lost_answers_of_the_upload_are_simply_repeated() {
    let server = serving(Config::default());
    server.push_faults(Op::Gen3CreateSourceUpload, [Fault::ApplyThenReset]);
    server.push_faults(Op::Gen3Upload, [Fault::Reset]);
    let run = deploying(&server).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Two source uploads were made (the first answer was lost): one is used, the other expires.
    assert_eq!(server.gen3_uploads().len(), 2);
    assert_eq!(calls(&server, Op::Gen3Upload), 2);
    assert_eq!(server.gen3_deployments().len(), 1);
}

#[test]
fn a_cancel_during_the_wait_exits_143_saying_the_deployment_goes_on() {
    let server = serving(Config {
        step_secs: 3600.0,
        ..Config::default()
    });
    let mut gh = deploying(&server);
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "50ms");
    let child = gh.spawn();
    wait_for(
        || (calls(&server, Op::Gen3GetDeployment) >= 2).then_some(()),
        "the wait's polls",
    );
    send_signal(child.id(), "TERM");
    let out = wait_child(child);
    assert_eq!(out.code, 143, "{}", out.stderr);
    let id = &server.gen3_deployments()[0].id;
    assert!(
        out.stderr
            .contains("the deployment goes on (no API stops one)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("--deployment-id {id} --watch")),
        "{}",
        out.stderr
    );
}

#[test]
fn a_cancel_while_create_deployment_is_in_flight_names_the_deployment_it_made() {
    let server = serving(Config::default());
    server.push_faults(Op::Gen3CreateDeployment, [Fault::ApplyThenHang]);
    let gh = deploying(&server);
    let child = gh.spawn();
    let id = wait_for(
        || server.gen3_deployments().first().map(|d| d.id.clone()),
        "the deployment the hung request made",
    );
    send_signal(child.id(), "TERM");
    let out = wait_child(child);
    assert_eq!(out.code, 143, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("deployment {id} had been made and goes on")),
        "{}",
        out.stderr
    );
    assert_eq!(server.gen3_deployments().len(), 1);
}

#[test]
fn a_cancelled_rollout_exits_5_saying_traffic_went_back() {
    let server = serving(Config {
        gen3_apps: vec![Gen3App::parse("shop,production:CANARY_10_PERCENT_5_MINUTES").unwrap()],
        rollout_stage_secs: 3600.0,
        ..Config::default()
    });
    server.gen3_seed_deployment(APP, "production", "SUCCEEDED");
    let mut gh = deploying(&server);
    gh.set("AMPLIFY_ENVIRONMENT", "production")
        .set("AMPLIFY_WAIT_ROLLOUT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "50ms");
    let child = gh.spawn();
    wait_for(
        || (calls(&server, Op::Gen3GetAlias) >= 2).then_some(()),
        "the rollout's polls",
    );
    server.gen3_cancel_rollout(APP, "production");
    let out = wait_child(child);
    assert_eq!(out.code, 5, "{}", out.stderr);
    let ours = &server.gen3_deployments()[1].id;
    assert!(
        out.stderr.contains(&format!(
            "deployment {ours} succeeded, but its gradual rollout to production was cancelled"
        )),
        "{}",
        out.stderr
    );
    // The deployment itself succeeded: its outputs say so.
    assert_eq!(parse_outputs(&gh.output())["job-status"], "SUCCEEDED");
}

#[test]
fn an_expired_or_cancelled_deployment_exits_5_with_one_annotation() {
    for (status, reason) in [("EXPIRED", None), ("CANCELLED", Some("INTERNAL_ERROR"))] {
        let server = serving(Config {
            step_secs: 3600.0,
            ..Config::default()
        });
        let mut gh = deploying(&server);
        gh.set("AMPLIFY_WAIT", "true")
            .set("AMPLIFY_POLL_INTERVAL", "50ms");
        let child = gh.spawn();
        let id = wait_for(
            || {
                let ds = server.gen3_deployments();
                (ds.len() == 1 && calls(&server, Op::Gen3GetDeployment) >= 2)
                    .then(|| ds[0].id.clone())
            },
            "our deployment, polled",
        );
        server.gen3_update_deployment(&id, |d| {
            d.status = status.into();
            d.reason_code = reason.map(str::to_string);
            d.ended = d.created.into();
        });
        let out = wait_child(child);
        assert_eq!(out.code, 5, "{status}: {}", out.stderr);
        let errors = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("::error"))
            .count();
        assert_eq!(errors, 1, "{status}: {}", out.stderr);
        let outputs = parse_outputs(&gh.output());
        assert_eq!(
            (
                outputs["job-status"].as_str(),
                outputs["job-skipped"].as_str()
            ),
            (status, "false")
        );
    }
}

#[test]
fn each_status_and_step_change_is_logged_once_not_once_a_poll() {
    let server = serving(Config {
        step_secs: 0.3,
        ..Config::default()
    });
    let mut gh = deploying(&server);
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "50ms")
        .set("AMPLIFY_SOURCE_TYPE", "source");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        calls(&server, Op::Gen3GetDeployment) >= 6,
        "several polls per status"
    );
    let id = &server.gen3_deployments()[0].id;
    for change in [
        "IN_PROGRESS",
        "SUCCEEDED",
        "Build IN_PROGRESS",
        "Build SUCCEEDED",
        "Deploy SUCCEEDED",
    ] {
        let line = format!("deployment {id}: {change}");
        let said = run.stderr.lines().filter(|l| l.ends_with(&line)).count();
        assert_eq!(said, 1, "{line}: {}", run.stderr);
    }
}
