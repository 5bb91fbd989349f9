//! Our requests, checked by botocore (the AWS SDK for Python): its SigV4 must compute the same
//! signatures and its rest-json serializer the same paths and bodies. Needs `python3` with
//! botocore (`pip install -r tests/requirements.txt`; `.ci/run` installs it).

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn botocore_agrees_with_every_request_we_send() {
    let mut config = Config::default();
    config.keys.push(amplify_local::Key {
        access_key_id: "ASIATEMPORARYKEY".into(),
        secret_access_key: "temporary/secret+key".into(),
        session_token: Some("IQoJb3JpZ2luX2VjEXAMPLE//token+with/slashes=".into()),
    });
    let server = Server::start(config);
    let retried = server.seed_job("d9zz", "feature/x", "FAILED");
    let branches = [
        "main",
        "feature/a b",
        "a+b%c",
        "ünïcødé/分支",
        "x~y_z.-",
        "q?x#y&z=1",
    ];
    let mut cases: Vec<(Vec<(&str, String)>, Value)> = Vec::new();
    for b in branches {
        cases.push((
            vec![("AMPLIFY_BRANCH_NAME", b.to_string()), ("AMPLIFY_COMMIT_ID", SHA.into())],
            json!({"appId": "d1a2b3c4d5e6f7", "branchName": b, "jobType": "RELEASE", "commitId": SHA}),
        ));
    }
    cases.push((
        vec![
            ("AMPLIFY_BRANCH_NAME", "main".into()),
            ("AMPLIFY_JOB_TYPE", "web_hook".into()),
            (
                "AMPLIFY_JOB_REASON",
                "reason with \"quotes\" and ünicode".into(),
            ),
            ("AMPLIFY_COMMIT_ID", "abc".into()),
            (
                "AMPLIFY_COMMIT_MESSAGE",
                "line 1\nline 2\t\u{1F680} </script>".into(),
            ),
            ("AMPLIFY_COMMIT_TIME", "2024-02-29T23:59:59+01:00".into()),
        ],
        json!({"appId": "d1a2b3c4d5e6f7", "branchName": "main", "jobType": "WEB_HOOK",
               "jobReason": "reason with \"quotes\" and ünicode", "commitId": "abc",
               "commitMessage": "line 1\nline 2\t\u{1F680} </script>", "commitTime": 1709247599}),
    ));
    cases.push((
        vec![
            ("AMPLIFY_APP_ID", "d9zz".into()),
            ("AMPLIFY_BRANCH_NAME", "feature/x".into()),
            ("AMPLIFY_JOB_TYPE", "RETRY".into()),
            ("AMPLIFY_JOB_ID", retried.to_string()),
            ("AWS_ACCESS_KEY_ID", "ASIATEMPORARYKEY".into()),
            ("AWS_SECRET_ACCESS_KEY", "temporary/secret+key".into()),
            ("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLE//token+with/slashes=".into()),
        ],
        json!({"appId": "d9zz", "branchName": "feature/x", "jobType": "RETRY", "jobId": retried.to_string()}),
    ));

    let mut recorded = Vec::new();
    for (settings, params) in &cases {
        let mut env = base_env(&server);
        for (k, v) in settings {
            env.insert(k.to_string(), v.clone());
        }
        let run = run_with(&env, None);
        assert_eq!(run.code, 0, "{settings:?}: {}", run.stderr);
        let r = api_requests(&server).last().unwrap().clone();
        assert!(
            r.signature.is_ok(),
            "the local endpoint verifies too: {:?}",
            r.signature
        );
        recorded.push(json!({
            "operation": "StartJob",
            "method": r.request.method,
            "target": r.request.target,
            "headers": r.request.headers,
            "body": String::from_utf8(r.request.body.clone()).unwrap(),
            "region": "us-east-1",
            "access_key_id": env["AWS_ACCESS_KEY_ID"],
            "secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
            "session_token": env.get("AWS_SESSION_TOKEN"),
            "params": params,
        }));
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("requests.json");
    std::fs::write(&file, serde_json::to_vec(&recorded).unwrap()).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracle/botocore_check.py"
    );
    let out = python(&[script.as_ref(), file.as_os_str()], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "botocore disagrees:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.starts_with(&format!("{} requests checked by botocore", cases.len()))
            && stdout.contains(", 0 failed"),
        "{stdout}"
    );
}
