//! The binary by hand: `--help` (a snapshot), `--version`, flags over the environment,
//! `--dry-run` sending nothing, and the outputs outside GitHub (dotenv file, stdout formats).

mod common;

use std::collections::BTreeMap;

use common::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn env_for(server: &Server) -> BTreeMap<String, String> {
    let mut env = base_env(server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "from-env".into());
    env
}

#[test]
fn help_matches_its_snapshot_and_names_every_action_input() {
    let server = Server::start(Config::default());
    let run = run_args(&BTreeMap::new(), None, &["--help"]);
    assert_eq!(run.code, 0);
    let snapshot = std::fs::read_to_string(format!("{ROOT}/tests/snapshots/help.txt")).unwrap();
    assert_eq!(
        run.stdout, snapshot,
        "--help changed: review it, then update tests/snapshots/help.txt"
    );
    // Each `VAR: ${{ inputs.x }}` of action.yml is an option `--x` for that same VAR.
    let action = std::fs::read_to_string(format!("{ROOT}/action.yml")).unwrap();
    let mut mapped = 0;
    for line in action.lines() {
        let Some((var, input)) = line
            .trim()
            .split_once(": ${{ inputs.")
            .map(|(v, i)| (v, i.trim_end_matches(" }}")))
        else {
            continue;
        };
        mapped += 1;
        let row = run
            .stdout
            .lines()
            .find(|l| {
                l.trim_start().starts_with(&format!("--{input} "))
                    || l.contains(&format!(", --{input} "))
            })
            .unwrap_or_else(|| panic!("--help has --{input}"));
        assert!(row.contains(var), "--{input} sets {var}: {row}");
    }
    assert!(mapped >= 20);
    assert!(server.requests().is_empty());

    let run = run_args(&BTreeMap::new(), None, &["--version"]);
    assert_eq!(
        run.stdout,
        format!("amplify-start-job {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn flags_win_over_the_environment() {
    let server = Server::start(Config::default());
    let run = run_args(
        &env_for(&server),
        None,
        &[
            "--branch",
            "from-flag",
            "--job-reason=by hand",
            "--commit-id",
            "abc",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        first(&server, Op::StartJob)
            .request
            .target
            .contains("/branches/from-flag/")
    );
    assert_eq!(body(&server, 0)["jobReason"], "by hand");

    let run = run_args(&env_for(&server), None, &["--max-attempts", "0"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("AMPLIFY_MAX_ATTEMPTS (input max-attempts) is \"0\""),
        "{}",
        run.stderr
    );
    let run = run_args(&env_for(&server), None, &["--bogus"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "amplify-start-job: error: the command line is \"--bogus\": unknown option; see amplify-start-job --help\n"
    );
    assert_eq!(
        api_requests(&server).len(),
        1,
        "bad command lines send nothing"
    );
}

#[test]
fn dry_run_prints_the_signed_request_and_sends_nothing() {
    let server = Server::start(Config::default());
    let mut env = env_for(&server);
    env.insert("AWS_SESSION_TOKEN".into(), "SESSIONTOKENVALUE".into());
    let run = run_args(
        &env,
        None,
        &["--dry-run", "--commit-id", "abc", "--job-reason", "try"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(server.requests().is_empty(), "nothing sent");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "POST {}/apps/d1a2b3c4d5e6f7/branches/from-env/jobs",
            server.url()
        )
    );
    assert!(lines.contains(&"content-type: application/json"));
    assert!(lines.contains(&"x-amz-security-token: <redacted>"));
    let auth = lines
        .iter()
        .find(|l| l.starts_with("authorization: "))
        .unwrap();
    assert!(
        auth.starts_with("authorization: AWS4-HMAC-SHA256 Credential=AKIDLOCALAMPLIFY/")
            && auth.ends_with("Signature=<redacted>"),
        "{auth}"
    );
    assert_eq!(
        *lines.last().unwrap(),
        r#"{"jobType":"RELEASE","jobReason":"try","commitId":"abc"}"#
    );
    for secret in [amplify_local::DEMO_SECRET_ACCESS_KEY, "SESSIONTOKENVALUE"] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    }
    // The plan shows a created branch's basic auth, redacted.
    let mut previewing = env.clone();
    previewing.insert("AMPLIFY_CREATE_BRANCH".into(), "true".into());
    previewing.insert("AMPLIFY_BRANCH_STAGE".into(), "PULL_REQUEST".into());
    previewing.insert(
        "AMPLIFY_PREVIEW_BASIC_AUTH".into(),
        "reviewer:s3cr3t".into(),
    );
    let run = run_args(&previewing, None, &["--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "a missing branch is created (create-branch) as PULL_REQUEST, protected by basic auth reviewer:**** (preview-basic-auth)"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cr3t") && !run.stdout.contains("s3cr3t"));
    assert!(server.requests().is_empty(), "nothing sent");
    // A bad setting still fails a dry run.
    let run = run_args(&env, None, &["--dry-run", "--job-type", "BUILD"]);
    assert_eq!(run.code, 2);
}

#[test]
fn outputs_outside_github_as_a_dotenv_file_and_in_each_stdout_format() {
    let server = Server::start(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("amplify.env");
    std::fs::write(&file, "OLD=1\n").unwrap();
    let mut env = env_for(&server);
    env.insert("AMPLIFY_OUTPUT_FILE".into(), file.display().to_string());
    env.insert("AMPLIFY_COMMIT_ID".into(), "abc".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = "AMPLIFY_JOB_ID=1\n\
         AMPLIFY_JOB_ARN=arn:aws:amplify:us-east-1:123456789012:apps/d1a2b3c4d5e6f7/branches/from-env/jobs/0000000001\n\
         AMPLIFY_JOB_STATUS=PENDING\n\
         AMPLIFY_JOB_URL=https://us-east-1.console.aws.amazon.com/amplify/apps/d1a2b3c4d5e6f7/branches/from-env/deployments/1\n\
         AMPLIFY_COMMIT_ID=abc\n\
         AMPLIFY_BRANCH_URL=https://from-env.d1a2b3c4d5e6f7.amplifyapp.com\n\
         AMPLIFY_APP_ID=d1a2b3c4d5e6f7\n";
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        expected,
        "replaced, not appended"
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["jobId"], "1");

    let run = run_args(&env, None, &["--output-format", "dotenv"]);
    assert_eq!(
        run.stdout,
        expected
            .replace("=1\n", "=2\n")
            .replace("0000000001", "0000000002")
            .replace("deployments/1", "deployments/2")
    );
    let run = run_args(&env, None, &["--output-format", "TEXT"]);
    assert!(
        run.stdout
            .starts_with("job-id: 3\njob-arn: arn:aws:amplify:"),
        "{}",
        run.stdout
    );

    // Checked before anything is sent: a file in a missing directory, an unknown format.
    let before = server.requests().len();
    for (var, value, expect) in [
        (
            "AMPLIFY_OUTPUT_FILE",
            "/nonexistent/dir/amplify.env",
            "AMPLIFY_OUTPUT_FILE is \"/nonexistent/dir/amplify.env\": its directory /nonexistent/dir",
        ),
        (
            "AMPLIFY_OUTPUT_FORMAT",
            "yaml",
            "AMPLIFY_OUTPUT_FORMAT is \"yaml\": not an output format; use json, dotenv or text",
        ),
    ] {
        let mut bad = env.clone();
        bad.insert(var.into(), value.into());
        let run = run_with(&bad, None);
        assert_eq!(run.code, 2);
        assert!(run.stderr.contains(expect), "{}", run.stderr);
    }
    assert_eq!(server.requests().len(), before);
}
