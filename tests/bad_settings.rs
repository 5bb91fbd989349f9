//! Every bad setting: exit 2, one exact line, no request, no output written.

mod common;

use common::*;

/// (variable, value or "" to unset, the exact line printed)
const CASES: &[(&str, &str, &str)] = &[
    (
        "AMPLIFY_APP_ID",
        "",
        "AMPLIFY_APP_ID (input app-id) is not set: one app is required; set app-id to an Amplify Hosting app's ID, e.g. d1a2b3c4d5e6f7 (Amplify console > App settings > General), or app-name to an app of the new AWS Amplify",
    ),
    (
        "AMPLIFY_APP_ID",
        "App-1",
        "AMPLIFY_APP_ID (input app-id) is \"App-1\": an app ID is \"d\" then lower-case letters and digits, 2 to 20 characters; copy the app ID from the Amplify console (App settings > General)",
    ),
    (
        "AMPLIFY_APP_ID",
        "d123456789012345678901",
        "AMPLIFY_APP_ID (input app-id) is \"d123456789012345678901\": an app ID is \"d\" then lower-case letters and digits, 2 to 20 characters; copy the app ID from the Amplify console (App settings > General)",
    ),
    (
        "AMPLIFY_JOB_TYPE",
        "BUILD",
        "AMPLIFY_JOB_TYPE (input job-type) is \"BUILD\": not a job type; set it to RELEASE, RETRY, MANUAL or WEB_HOOK (any case), or leave it empty for RELEASE",
    ),
    (
        "AMPLIFY_JOB_ID",
        "12a",
        "AMPLIFY_JOB_ID (input job-id) is \"12a\": a job ID is digits only, at most 255; use the number shown for the job in the Amplify console, e.g. 42",
    ),
    (
        "AMPLIFY_JOB_ID",
        "12",
        "AMPLIFY_JOB_ID (input job-id) is \"12\": a job ID is only used with job type RETRY, and the job type is RELEASE; set AMPLIFY_JOB_TYPE (input job-type) to RETRY, or leave the job ID empty",
    ),
    (
        "AMPLIFY_JOB_TYPE",
        "retry",
        "AMPLIFY_JOB_ID (input job-id) is not set: job type RETRY needs the ID of the job to retry; set it to that job's number, e.g. 42",
    ),
    (
        "AMPLIFY_COMMIT_TIME",
        "last tuesday",
        "AMPLIFY_COMMIT_TIME (input commit-time) is \"last tuesday\": not a time; use RFC 3339 (2024-05-01T12:00:00Z or with an offset) or seconds since 1970",
    ),
    (
        "AWS_REGION",
        "",
        "AWS_REGION (input aws-region) is not set: the AWS region is required (also read from AWS_DEFAULT_REGION); set it to the app's region, e.g. us-east-1",
    ),
    (
        "AWS_REGION",
        "us-east1",
        "AWS_REGION (input aws-region) is \"us-east1\": not an AWS region name; use a region code such as us-east-1 or eu-west-2",
    ),
    (
        "AWS_ENDPOINT_URL",
        "ftp://example",
        "AWS_ENDPOINT_URL is \"ftp://example\": the endpoint must be an http or https URL with a host; use http(s)://host[:port], e.g. http://127.0.0.1:4566, or leave it empty for AWS",
    ),
    (
        "AWS_ENDPOINT_URL",
        "http://user:hunter2@127.0.0.1:1",
        "AWS_ENDPOINT_URL is \"(a URL with user info, hidden)\": the endpoint must not carry user info, a query or a fragment; use http(s)://host[:port], e.g. http://127.0.0.1:4566, or leave it empty for AWS",
    ),
    (
        "AMPLIFY_ROLE_TO_ASSUME",
        "deploy-role",
        "AMPLIFY_ROLE_TO_ASSUME (input role-to-assume) is \"deploy-role\": not an IAM role ARN; use the role's ARN, e.g. arn:aws:iam::123456789012:role/amplify-deploy",
    ),
    (
        "AWS_ROLE_TO_ASSUME",
        "arn:aws:iam::123:role/x",
        "AWS_ROLE_TO_ASSUME (input role-to-assume) is \"arn:aws:iam::123:role/x\": not an IAM role ARN; use the role's ARN, e.g. arn:aws:iam::123456789012:role/amplify-deploy",
    ),
    (
        "AMPLIFY_ROLE_SESSION_NAME",
        "my session",
        "AMPLIFY_ROLE_SESSION_NAME (input role-session-name) is \"my session\": a session name is 2 to 64 letters, digits or +=,.@_-; use e.g. amplify-deploy, or leave it empty for the default",
    ),
    (
        "AMPLIFY_ROLE_DURATION_SECONDS",
        "60",
        "AMPLIFY_ROLE_DURATION_SECONDS (input role-duration-seconds) is \"60\": STS takes 900 to 43200 seconds (and at most the role's maximum session duration); use e.g. 3600, or leave it empty for one hour",
    ),
    (
        "AWS_ENDPOINT_URL_STS",
        "sts.example",
        "AWS_ENDPOINT_URL_STS is \"sts.example\": not a URL (relative URL without a base); use http(s)://host[:port], e.g. http://127.0.0.1:4566, or leave it empty for AWS",
    ),
];

#[test]
fn each_bad_setting_is_one_line_and_nothing_is_sent_or_written() {
    let server = Server::start(Config::default());
    for (var, value, line) in CASES {
        let mut gh = github(&server, "push", serde_json::json!({}));
        gh.unset("GITHUB_ACTIONS")
            .set("AMPLIFY_BRANCH_NAME", "main");
        if value.is_empty() {
            // Empty counts as unset, as GitHub passes unset inputs.
            gh.set(var, "");
        } else {
            gh.set(var, value);
        }
        let run = gh.run();
        assert_eq!(run.code, 2, "{var}={value}: {}", run.stderr);
        assert_eq!(
            run.stderr,
            format!("amplify-start-job: error: {line}\n"),
            "{var}={value}"
        );
        assert_eq!(run.stdout, "");
        assert_eq!(gh.output(), "earlier=kept\n", "{var}={value}");
        assert!(
            !gh.summary_path().exists()
                || std::fs::read_to_string(gh.summary_path())
                    .unwrap()
                    .is_empty()
        );
    }
    assert!(server.requests().is_empty(), "no request for a bad setting");
}

#[test]
fn over_long_texts_are_refused_by_name() {
    let server = Server::start(Config::default());
    let long = "x".repeat(256);
    for (var, expect) in [
        (
            "AMPLIFY_JOB_REASON",
            "AMPLIFY_JOB_REASON (input job-reason) is \"",
        ),
        (
            "AMPLIFY_COMMIT_ID",
            "AMPLIFY_COMMIT_ID (input commit-id) is \"",
        ),
        (
            "AMPLIFY_BRANCH_NAME",
            "AMPLIFY_BRANCH_NAME (input branch-name) is \"",
        ),
    ] {
        let mut env = base_env(&server);
        env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
        env.insert(var.into(), long.clone());
        let run = run_with(&env, None);
        assert_eq!(run.code, 2, "{var}");
        assert!(
            run.stderr
                .starts_with(&format!("amplify-start-job: error: {expect}")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("…\""),
            "long values are shortened when shown: {}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1);
    }
    assert!(server.requests().is_empty());
}

#[test]
fn an_unwritable_github_output_is_a_settings_error() {
    let server = Server::start(Config::default());
    let mut gh = github(&server, "push", serde_json::json!({}));
    gh.set("GITHUB_OUTPUT", "/nonexistent/dir/output");
    let run = gh.run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.starts_with("::error title=amplify-start-job::GITHUB_OUTPUT is \"/nonexistent/dir/output\": cannot be opened for appending"), "{}", run.stderr);
    assert!(server.requests().is_empty());
}

#[test]
fn the_default_region_and_endpoint_fallbacks_apply() {
    let server = Server::start(Config::default());
    let mut env = base_env(&server);
    env.remove("AWS_REGION");
    env.insert("AWS_DEFAULT_REGION".into(), "us-east-1".into());
    env.remove("AWS_ENDPOINT_URL");
    env.insert("AWS_ENDPOINT_URL_AMPLIFY".into(), server.url());
    env.insert("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:1".into());
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        api_requests(&server).len(),
        1,
        "AWS_ENDPOINT_URL_AMPLIFY wins over AWS_ENDPOINT_URL"
    );
}

#[test]
fn a_corrupt_or_unreadable_event_payload_is_a_settings_error() {
    let server = Server::start(Config::default());
    for (payload, problem) in [
        (
            Some("{not json"),
            "is not JSON (key must be a string at line 1 column 2)",
        ),
        (Some("[1, 2]"), "is not a JSON object"),
        (
            None,
            "cannot be read (No such file or directory (os error 2))",
        ),
    ] {
        let mut gh = github(&server, "pull_request", serde_json::json!({}));
        gh.set("GITHUB_HEAD_REF", "feature/x");
        let path = gh.dir.path().join("event.json");
        match payload {
            Some(text) => std::fs::write(&path, text).unwrap(),
            None => std::fs::remove_file(&path).unwrap(),
        }
        let run = gh.run();
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(
            run.stderr,
            format!(
                "::error title=amplify-start-job::GITHUB_EVENT_PATH is {:?}: {problem}; the runner writes this file: make sure no earlier step changed or removed it, or unset GITHUB_EVENT_PATH outside GitHub Actions\n",
                path.display().to_string()
            )
        );
        assert_eq!(gh.output(), "earlier=kept\n", "no output written");
    }
    assert!(server.requests().is_empty(), "no request sent");

    // A local run has no payload at all: that is fine.
    let mut gh = github(&server, "push", serde_json::json!({}));
    gh.unset("GITHUB_EVENT_PATH");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
}
