//! Arbitrary input never panics the parsers: settings, durations, times, AWS answers.

use amplify_start_job::aws::error::parse_error;
use amplify_start_job::ci::Context;
use amplify_start_job::env::{Env, parse_duration, parse_time};
use amplify_start_job::hosting::api::jobs::parse_start_job;
use amplify_start_job::settings::Settings;
use proptest::prelude::*;

const KEYS: &[&str] = &[
    "AMPLIFY_APP_ID",
    "AMPLIFY_BRANCH_NAME",
    "AMPLIFY_JOB_TYPE",
    "AMPLIFY_JOB_ID",
    "AMPLIFY_JOB_REASON",
    "AMPLIFY_COMMIT_ID",
    "AMPLIFY_COMMIT_MESSAGE",
    "AMPLIFY_COMMIT_TIME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_AMPLIFY",
    "AMPLIFY_MAX_ATTEMPTS",
    "AWS_MAX_ATTEMPTS",
    "AMPLIFY_RETRY_TIMEOUT",
    "AMPLIFY_RETRY_BASE_DELAY",
    "AMPLIFY_REQUEST_TIMEOUT",
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_REF_NAME",
    "GITHUB_REF_TYPE",
    "GITHUB_HEAD_REF",
    "GITHUB_SHA",
    "GITHUB_RUN_ID",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9:/._%-]{0,40}",
        Just("true".to_string()),
        Just("RETRY".to_string()),
        Just("us-east-1".to_string()),
        Just("d1abc".to_string()),
        "[0-9]{1,25}(ms|s|m|h)?",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn settings_never_panic(pairs in proptest::collection::vec((0..KEYS.len(), value()), 0..16)) {
        // The commit message and time are given, so no case runs git.
        let mut all: Vec<(String, String)> = vec![
            ("AMPLIFY_COMMIT_MESSAGE".into(), "m".into()),
            ("AMPLIFY_COMMIT_TIME".into(), "1".into()),
        ];
        all.extend(pairs.into_iter().map(|(k, v)| (KEYS[k].to_string(), v)));
        let env = Env::from_pairs(all);
        let settings = Context::detect(&env).and_then(|ci| Settings::from_env(&env, &ci));
        match settings {
            Ok(s) => prop_assert!(!s.job.app_id.is_empty()),
            Err(e) => {
                let line = e.to_string();
                prop_assert!(!line.contains('\n'), "one line: {line}");
            }
        }
    }

    #[test]
    fn durations_and_times_never_panic(s in any::<String>()) {
        let _ = parse_duration(&s);
        let _ = parse_time(&s);
    }

    #[test]
    fn error_answers_never_panic(status in 100u16..600, header in proptest::option::of(any::<String>()), body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let (code, message) = parse_error(status, header.as_deref(), &body);
        prop_assert!(!code.is_empty());
        prop_assert!(!message.is_empty());
    }

    #[test]
    fn json_error_bodies_never_panic(body in "\\{(\"(message|__type|code|Message)\": ?(\"[^\"]{0,20}\"|[0-9]+|null|\\{\\}),?){0,4}\\}") {
        let _ = parse_error(400, None, body.as_bytes());
    }

    #[test]
    fn start_job_answers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_start_job(&body);
    }

    #[test]
    fn start_job_shaped_answers_never_panic(
        id in any::<String>(), arn in any::<String>(), status in any::<String>(),
        extra in proptest::option::of(any::<i64>())
    ) {
        let body = serde_json::json!({"jobSummary": {"jobId": id, "jobArn": arn, "status": status, "commitTime": extra, "startTime": "x"}});
        let _ = parse_start_job(body.to_string().as_bytes());
    }
}
