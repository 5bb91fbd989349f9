//! `action.yml`, the workflows, the README and the binary agree, checked without a runner:
//! schemas and actionlint, then the container environment a runner would build from
//! `action.yml`, run against the local endpoint.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::aws;
use common::*;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// action.yml as JSON, read by a YAML library (ruamel, which check-jsonschema brings).
fn action() -> Value {
    yaml("action.yml")
}

#[test]
fn action_and_workflows_validate_against_github_schemas_and_actionlint() {
    let (ok, out) = tool(
        "check-jsonschema",
        &["--builtin-schema", "vendor.github-actions", "action.yml"],
    );
    assert!(ok, "{out}");
    let workflows = [".github/workflows/ci.yml", ".github/workflows/release.yml"];
    let mut args = vec!["--builtin-schema", "vendor.github-workflows"];
    args.extend(workflows);
    let (ok, out) = tool("check-jsonschema", &args);
    assert!(ok, "{out}");
    let (ok, out) = tool("actionlint", &workflows);
    assert!(ok, "{out}");
}

struct Runner {
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
}

/// The container environment for these inputs: `INPUT_*` as the runner names them, `runs.env`
/// with `${{ inputs.x }}` evaluated (unset inputs take their default), runner paths.
fn container_env(server: &Server, inputs: &[(&str, &str)]) -> Runner {
    let action = action();
    let declared = action["inputs"].as_object().unwrap();
    let value_of = |name: &str| {
        inputs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| {
                declared[name]
                    .get("default")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
    };
    let mut env = BTreeMap::new();
    for name in declared.keys() {
        env.insert(
            format!("INPUT_{}", name.to_uppercase().replace(' ', "_")),
            value_of(name),
        );
    }
    for (var, expr) in action["runs"]["env"].as_object().unwrap() {
        let expr = expr.as_str().unwrap();
        let input = expr
            .strip_prefix("${{ inputs.")
            .and_then(|e| e.strip_suffix(" }}"))
            .unwrap_or_else(|| panic!("runs.env.{var} is not an input mapping: {expr}"));
        assert!(
            declared.contains_key(input),
            "runs.env.{var} names an undeclared input {input}"
        );
        env.insert(var.clone(), value_of(input));
    }
    let dir = tempfile::tempdir().unwrap();
    let github = dir.path().join("github");
    std::fs::create_dir_all(github.join("file_commands")).unwrap();
    std::fs::create_dir_all(github.join("workspace")).unwrap();
    let p = |rel: &str| github.join(rel).display().to_string();
    for (k, v) in [
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_EVENT_NAME", "push".into()),
        ("GITHUB_SHA", SHA.into()),
        ("GITHUB_REF_NAME", "main".into()),
        ("GITHUB_REF_TYPE", "branch".into()),
        ("GITHUB_WORKSPACE", p("workspace")),
        ("GITHUB_OUTPUT", p("file_commands/set_output_0d1e")),
        ("GITHUB_STEP_SUMMARY", p("file_commands/step_summary_0d1e")),
        ("AWS_ENDPOINT_URL", server.url()),
        (
            "AWS_ACCESS_KEY_ID",
            amplify_local::DEMO_ACCESS_KEY_ID.into(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY",
            amplify_local::DEMO_SECRET_ACCESS_KEY.into(),
        ),
    ] {
        env.entry(k.to_string()).or_insert(v);
    }
    Runner { dir, env }
}

impl Runner {
    fn run(&self) -> Run {
        run_with(&self.env, Some(&self.dir.path().join("github/workspace")))
    }
    fn outputs(&self) -> BTreeMap<String, String> {
        parse_outputs(
            &std::fs::read_to_string(self.dir.path().join("github/file_commands/set_output_0d1e"))
                .unwrap_or_default(),
        )
    }
}

const GOOD: &[(&str, &str)] = &[
    ("app-id", "d1a2b3c4d5e6f7"),
    ("branch-name", "feature/from-input"),
    ("job-type", "web_hook"),
    ("job-reason", "reason from input"),
    ("commit-id", "c0ffee"),
    ("commit-message", "message from input"),
    ("commit-time", "2024-01-02T03:04:05Z"),
    ("aws-region", "us-east-1"),
    // With keys in the environment these are checked but not used (the OIDC test uses them).
    (
        "role-to-assume",
        "arn:aws:iam::123456789012:role/amplify-deploy",
    ),
    ("role-session-name", "from-input"),
    ("role-duration-seconds", "900"),
    ("audience", "sts.amazonaws.com"),
    ("max-attempts", "3"),
    ("retry-timeout", "1m"),
    ("retry-base-delay", "10ms"),
    ("request-timeout", "20s"),
    ("wait", "true"),
    ("wait-timeout", "1m"),
    ("poll-interval", "10ms"),
    ("cancel-on-timeout", "false"),
    ("cancel-on-abort", "false"),
    ("on-commit-mismatch", "warn"),
    // true would ask branch-url, a name that resolves nowhere here (tests/url.rs asks it).
    ("wait-for-url", "false"),
    ("preview-basic-auth", "reviewer:input-secret"),
    ("inherit-env-from", "main"),
    ("environment-variables", "API_URL=https://api.example.com"),
    ("skew-protection", "true"),
    ("framework", "React"),
    ("github-deployment", "false"),
    ("github-environment", "preview"),
    ("github-status", "false"),
    ("github-status-context", "amplify/preview"),
    ("on-missing-credentials", "fail"),
    ("log-lines", "20"),
    ("download-artifacts", "artifacts"),
    ("mode", "start"),
    ("follow-timeout", "1m"),
    ("if-busy", "fail"),
    ("create-branch", "true"),
    ("branch-stage", "beta"),
    ("allow-delete-any-branch", "false"),
    // On a push event pr-comment makes no comment (and says so); the token is then unused.
    ("pr-comment", "true"),
    ("github-token", "ghs_token_from_input"),
];

#[test]
fn every_input_reaches_the_binary_and_every_declared_output_is_written() {
    let server = Server::start(Config::default());
    let declared: Vec<String> = names(&action(), "inputs");
    // job-id goes only with RETRY, the sources only with MANUAL, cancel-previous only with
    // RELEASE or MANUAL: they are shown to be read by their bad values below (and the source
    // by a deployment at the end).
    let given: Vec<String> = GOOD
        .iter()
        .map(|(n, _)| n.to_string())
        .chain(
            [
                "job-id",
                "source",
                "source-url",
                "source-url-type",
                "cancel-previous",
                "app-name",
                "environment",
                "source-type",
                "git-ref",
                "wait-rollout",
                "deployment-id",
                "rollout",
                "pull-request",
                "url-timeout",
                "prune-older-than",
                "prune-delete",
            ]
            .map(String::from),
        )
        .collect();
    assert_eq!(
        sorted(declared.clone()),
        sorted(given),
        "this test covers every declared input"
    );

    let runner = container_env(&server, GOOD);
    let run = runner.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // create-branch reads the branch first (it exists), then the job starts (GetApp, for the
    // branch-url, goes beside them).
    let ops: Vec<Option<Op>> = server.requests().iter().map(|r| r.op).collect();
    let at = |op: Op| ops.iter().position(|o| *o == Some(op)).unwrap();
    assert!(at(Op::GetBranch) < at(Op::StartJob), "{ops:?}");
    let start = first(&server, Op::StartJob);
    assert_eq!(
        start.request.target,
        "/apps/d1a2b3c4d5e6f7/branches/feature%2Ffrom-input/jobs"
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&start.request.body).unwrap(),
        serde_json::json!({"jobType": "WEB_HOOK", "jobReason": "reason from input", "commitId": "c0ffee",
                           "commitMessage": "message from input", "commitTime": 1704164645})
    );
    let written: Vec<String> = runner.outputs().into_keys().collect();
    let outputs: Vec<String> = names(&action(), "outputs");
    // branch-deleted is a deletion's; failed-step and log-url come only with a failure
    // (tests/failures.rs writes them), github-deployment-id with a GitHub deployment
    // (tests/github.rs), url-status with wait-for-url (tests/url.rs), the prune outputs with
    // mode: prune (tests/prune.rs); deployment-url and
    // environment-url are the new AWS Amplify's (below).
    let gen3_only = [
        "deployment-url",
        "environment-url",
        "previous-deployment-id",
        "rollout-status",
        "fork-outcome",
    ];
    let (deleting, starting): (Vec<String>, Vec<String>) = outputs
        .iter()
        .filter(|o| {
            ![
                "failed-step",
                "log-url",
                "github-deployment-id",
                "url-status",
                "pruned-branches",
                "prune-dry-run",
            ]
            .contains(&o.as_str())
        })
        .filter(|o| !gen3_only.contains(&o.as_str()))
        .cloned()
        .partition(|o| o == "branch-deleted");
    assert_eq!(
        sorted(written),
        sorted(starting),
        "exactly the declared outputs of a start are written"
    );
    assert!(
        run.stderr
            .contains("pr-comment: this run is not for a pull request"),
        "{}",
        run.stderr
    );

    // Inputs that shape no request: a bad value is refused by name, so each is read.
    for (input, bad) in [
        ("aws-region", "nowhere"),
        ("role-to-assume", "amplify-deploy"),
        ("role-session-name", "a"),
        ("role-duration-seconds", "60"),
        ("audience", "two\nlines"),
        ("max-attempts", "0"),
        ("retry-timeout", "soon"),
        ("retry-base-delay", "soon"),
        ("request-timeout", "0"),
        ("job-id", "12"),
        ("wait", "yes"),
        ("wait-timeout", "forever"),
        ("poll-interval", "0"),
        ("cancel-on-timeout", "1"),
        ("cancel-on-abort", "1"),
        ("on-commit-mismatch", "maybe"),
        ("wait-for-url", "1"),
        ("url-timeout", "soon"),
        ("prune-older-than", "2w"),
        ("prune-delete", "1"),
        ("preview-basic-auth", "no-colon"),
        ("inherit-env-from", "two\nlines"),
        ("environment-variables", "1BAD=x"),
        ("skew-protection", "maybe"),
        ("framework", "two\nlines"),
        ("github-deployment", "1"),
        ("github-environment", "two\nlines"),
        ("github-status", "1"),
        ("github-status-context", "two\nlines"),
        ("on-missing-credentials", "later"),
        ("log-lines", "many"),
        ("download-artifacts", "no/such/folder"),
        ("source", "no-such-folder"),
        ("source-url", "ftp://example.com/site.zip"),
        ("source-url-type", "TAR"),
        ("mode", "stop"),
        ("follow-timeout", "soon"),
        ("cancel-previous", "1"),
        ("if-busy", "later"),
        ("create-branch", "1"),
        ("branch-stage", "ALPHA"),
        ("allow-delete-any-branch", "1"),
        ("pr-comment", "1"),
        // The new AWS Amplify's, refused by name next to app-id.
        ("app-name", "shop"),
        ("environment", "production"),
        ("source-type", "prebuilt"),
        ("git-ref", "main"),
        ("wait-rollout", "true"),
        ("deployment-id", "a1b2c3d4e5"),
        ("rollout", "instant"),
        ("pull-request", "7"),
    ] {
        let mut inputs = GOOD.to_vec();
        inputs.retain(|(n, _)| *n != input);
        inputs.push((input, bad));
        let run = container_env(&server, &inputs).run();
        assert_eq!(run.code, 2, "{input}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("(input {input})")),
            "{input}: {}",
            run.stderr
        );
    }
    assert_eq!(
        calls(&server, Op::StartJob),
        1,
        "no bad input sent anything"
    );

    // mode delete-branch writes the one output of a deletion (the implicit branch is a
    // production branch, so allow-delete-any-branch lets it go).
    let mut inputs = GOOD.to_vec();
    inputs.retain(|(n, _)| !["mode", "allow-delete-any-branch"].contains(n));
    inputs.extend([
        ("mode", "delete-branch"),
        ("allow-delete-any-branch", "true"),
    ]);
    let runner = container_env(&server, &inputs);
    let run = runner.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written: Vec<String> = runner.outputs().into_keys().collect();
    assert_eq!(
        written,
        sorted(deleting.into_iter().chain(["app-id".to_string()]).collect()),
        "a deletion's output, and the app it used"
    );

    // app-name deploys to the new AWS Amplify through the same inputs, and writes its outputs:
    // the deployment's and the environment's URLs instead of Hosting's job page and branch.
    let runner = container_env(
        &server,
        &[
            ("app-name", "shop"),
            ("environment", "production"),
            ("aws-region", "us-east-1"),
            ("source", "dist"),
            ("source-type", "PREBUILT"),
            ("wait", "true"),
            ("wait-rollout", "false"),
            ("poll-interval", "10ms"),
        ],
    );
    let dist = runner.dir.path().join("github/workspace/dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "hi").unwrap();
    let run = runner.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written: Vec<String> = runner.outputs().into_keys().collect();
    let expected = [
        "commit-id",
        "deployment-url",
        "environment-url",
        "job-arn",
        "job-duration",
        "job-id",
        "job-skipped",
        "job-status",
        "live-job-id",
    ];
    assert_eq!(written, expected, "the new AWS Amplify's outputs");
    assert!(
        outputs
            .iter()
            .filter(|o| gen3_only.contains(&o.as_str()))
            .count()
            == 5
    );
    let deployed = server.gen3_deployments();
    assert_eq!(deployed.len(), 1);
    assert_eq!(deployed[0].environment, "production");

    // promote (deployment-id, rollout) and authorize-fork (pull-request) reach the binary
    // through their inputs, and write their outputs.
    let older = server.gen3_seed_deployment("shop", "production", "SUCCEEDED");
    server.gen3_seed_deployment("shop", "production", "SUCCEEDED");
    let release = [
        ("app-name", "shop"),
        ("environment", "production"),
        ("aws-region", "us-east-1"),
        ("mode", "promote"),
        ("deployment-id", older.as_str()),
        ("rollout", "instant"),
    ];
    let runner = container_env(&server, &release);
    let run = runner.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written = runner.outputs();
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        [
            "commit-id",
            "deployment-url",
            "environment-url",
            "job-id",
            "previous-deployment-id",
            "rollout-status"
        ]
    );
    assert_eq!(written["job-id"], older);
    let runner = container_env(
        &server,
        &[
            ("app-name", "shop"),
            ("aws-region", "us-east-1"),
            ("mode", "authorize-fork"),
            ("commit-id", &"ab".repeat(20)),
            ("pull-request", "7"),
        ],
    );
    let mut runner = runner;
    runner
        .env
        .insert("GITHUB_EVENT_NAME".into(), "workflow_dispatch".into());
    let run = runner.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        runner.outputs().keys().collect::<Vec<_>>(),
        ["commit-id", "fork-outcome"]
    );

    // The source input deploys the folder it names, relative to the workspace.
    let runner = container_env(
        &server,
        &[
            ("app-id", "d1a2b3c4d5e6f7"),
            ("aws-region", "us-east-1"),
            ("branch-name", "manual"),
            ("source", "dist"),
        ],
    );
    let dist = runner.dir.path().join("github/workspace/dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "hi").unwrap();
    let run = runner.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.uploads()[0].entries, ["index.html"]);
}

#[test]
fn empty_inputs_fall_back_to_the_ci_context() {
    let server = Server::start(Config::default());
    let mut runner = container_env(&server, &[("app-id", "d1a2b3c4d5e6f7")]);
    runner
        .env
        .insert("AWS_DEFAULT_REGION".into(), "us-east-1".into());
    assert_eq!(
        runner.env["AWS_REGION"], "",
        "an unset aws-input reaches the container empty"
    );
    let run = runner.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        first(&server, Op::StartJob).request.target,
        "/apps/d1a2b3c4d5e6f7/branches/main/jobs"
    );
    assert_eq!(body(&server, 0)["commitId"], SHA);
}

#[test]
fn role_to_assume_alone_gets_credentials_with_github_oidc() {
    let issued = aws::key("ASIAFROMACTION");
    let server = aws::amplify(vec![issued.clone()]);
    let sts = aws::sts(issued);
    let tokens = aws::github_tokens();
    let mut runner = container_env(
        &server,
        &[
            ("app-id", "d1a2b3c4d5e6f7"),
            ("aws-region", "us-east-1"),
            ("role-to-assume", aws::ROLE),
            ("role-session-name", "from-input"),
            ("role-duration-seconds", "1200"),
            ("audience", "custom-audience"),
        ],
    );
    for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        runner.env.remove(k);
    }
    for (k, v) in [
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}/token?api-version=2.0", tokens.url()),
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", aws::REQUEST_TOKEN.into()),
        ("AWS_ENDPOINT_URL_STS", sts.url()),
    ] {
        runner.env.insert(k.into(), v);
    }
    let run = runner.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        tokens.requests()[0]
            .target
            .ends_with("&audience=custom-audience")
    );
    let form = aws::form(&sts.requests()[0]);
    assert_eq!(form["RoleArn"], aws::ROLE);
    assert_eq!(form["RoleSessionName"], "from-input");
    assert_eq!(form["DurationSeconds"], "1200");
    assert!(server.requests()[0].signature.is_ok());
}

/// The keys of `inputs` or `outputs` in action.yml.
fn names(action: &Value, field: &str) -> Vec<String> {
    action[field].as_object().unwrap().keys().cloned().collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The backticked names in one column of the table under `heading` in the reference page
/// `page` (docs/).
fn readme_column(page: &str, heading: &str, column: usize) -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join(page)).unwrap();
    let section = readme
        .split(&format!("\n## {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("{page} has ## {heading}"));
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .filter_map(|row| row.split('|').nth(column + 1))
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn readme_action_and_binary_settings_agree() {
    let action = action();
    let inputs: Vec<String> = names(&action, "inputs");
    let outputs: Vec<String> = names(&action, "outputs");
    assert_eq!(
        sorted(readme_column("docs/settings.md", "Settings", 2)),
        sorted(inputs.clone()),
        "docs/settings.md's table vs action.yml inputs"
    );
    assert_eq!(
        sorted(readme_column("docs/outputs.md", "Outputs", 0)),
        sorted(outputs),
        "docs/outputs.md's table vs action.yml outputs"
    );

    // Each input maps to the variable the settings page names first for it, and the binary
    // reads it (every_input_reaches_the_binary... proves the reading).
    let readme = std::fs::read_to_string(Path::new(ROOT).join("docs/settings.md")).unwrap();
    let env = action["runs"]["env"].as_object().unwrap();
    for (var, expr) in env {
        let input = expr
            .as_str()
            .unwrap()
            .trim_start_matches("${{ inputs.")
            .trim_end_matches(" }}");
        let row = readme
            .lines()
            .find(|l| {
                l.starts_with('|')
                    && l.split('|')
                        .nth(3)
                        .is_some_and(|c| c.trim() == format!("`{input}`"))
            })
            .unwrap_or_else(|| panic!("docs/settings.md row for input {input}"));
        let first_var = row.split('|').nth(2).unwrap().split('`').nth(1).unwrap();
        assert_eq!(first_var, var, "input {input}");
    }
    assert_eq!(env.len(), inputs.len(), "every input is mapped in runs.env");
}

#[test]
fn the_release_pins_the_image_by_digest_in_a_valid_action_yml() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("action.yml");
    std::fs::copy(Path::new(ROOT).join("action.yml"), &copy).unwrap();
    let digest = "sha256:".to_string() + &"0123456789abcdef".repeat(4);
    let reference = format!("ghcr.io/org/amplify-start-job@{digest}");
    let pin = |r: &str| {
        Command::new(format!("{ROOT}/scripts/pin-image"))
            .args([r, copy.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let out = pin(&reference);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pinned = yaml(copy.to_str().unwrap());
    assert_eq!(pinned["runs"]["image"], format!("docker://{reference}"));
    assert_eq!(
        pinned["runs"]["env"],
        action()["runs"]["env"],
        "only the image changed"
    );
    let (ok, text) = tool(
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.github-actions",
            copy.to_str().unwrap(),
        ],
    );
    assert!(ok, "{text}");

    // A tag, or a digest of the wrong length, is refused and the file left alone.
    let before = std::fs::read_to_string(&copy).unwrap();
    for bad in [
        "ghcr.io/org/amplify-start-job:v1",
        "ghcr.io/org/x@sha256:abc",
    ] {
        let out = pin(bad);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("is not an image reference by digest")
        );
    }
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), before);

    // The release workflow is what runs the rewrite, with the digest it just pushed.
    let release = std::fs::read_to_string(format!("{ROOT}/.github/workflows/release.yml")).unwrap();
    assert!(release.contains(r#"scripts/pin-image "$IMAGE@$DIGEST" action.yml"#));
    assert!(release.contains("DIGEST: ${{ steps.image.outputs.digest }}"));
}

/// The release tests the Windows and aarch64 files it publishes (under wine and qemu) after
/// scripts/dist lays them out and before anything is attested, pushed or published, as the
/// macOS binaries are tested before their upload.
#[test]
fn the_release_tests_the_windows_and_arm64_files_it_publishes_first() {
    let release = yaml(".github/workflows/release.yml");
    let steps = release["jobs"]["release"]["steps"].as_array().unwrap();
    let position = |what: &str, found: &dyn Fn(&serde_json::Value) -> bool| {
        steps
            .iter()
            .position(found)
            .unwrap_or_else(|| panic!("release.yml has no step that {what}"))
    };
    let run_has = |text: &'static str| {
        move |s: &serde_json::Value| s["run"].as_str().is_some_and(|r| r.contains(text))
    };
    let uses = |action: &'static str| {
        move |s: &serde_json::Value| s["uses"].as_str().is_some_and(|u| u.starts_with(action))
    };
    let dist = position("runs scripts/dist", &run_has("scripts/dist dist"));
    let test = position("runs the wine test", &run_has("--test windows"));
    let step = &steps[test];
    assert!(step["run"].as_str().unwrap().contains("--test arm64"));
    assert_eq!(
        step["env"]["AMPLIFY_TEST_WINDOWS_EXE"],
        "dist/amplify-start-job-x86_64-pc-windows-gnu.exe"
    );
    assert_eq!(
        step["env"]["AMPLIFY_TEST_ARM64_BINARY"],
        "dist/amplify-start-job-aarch64-unknown-linux-musl"
    );
    assert_eq!(
        step["env"]["CI"], "true",
        "a missing tool fails, never skips"
    );
    let attest = position("attests", &uses("actions/attest-build-provenance"));
    let push = position("pushes the image", &uses("docker/build-push-action"));
    let publish = position("publishes", &run_has("gh release create"));
    assert!(
        dist < test && test < attest.min(push).min(publish),
        "{dist} {test} {attest} {push} {publish}"
    );
}
