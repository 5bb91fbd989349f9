//! The command line: `--help`, `--version`, `--dry-run`, and a flag for every setting. A flag
//! sets the setting's environment variable for this run, so flags win over the environment,
//! which wins over the CI context; every value is then checked like any other setting.

use crate::env::{Env, SettingsError};

/// One setting as `--help` shows it.
pub struct Setting {
    pub flag: &'static str,
    /// Another spelling of the flag.
    pub alias: Option<&'static str>,
    pub var: &'static str,
    /// A switch: `--wait` alone means `--wait true`.
    pub switch: bool,
    pub default: &'static str,
    pub example: &'static str,
}

const fn s(
    flag: &'static str,
    var: &'static str,
    default: &'static str,
    example: &'static str,
) -> Setting {
    Setting {
        flag,
        alias: None,
        var,
        switch: false,
        default,
        example,
    }
}

pub const SETTINGS: &[Setting] = &[
    s("app-id", "AMPLIFY_APP_ID", "required", "d1a2b3c4d5e6f7"),
    Setting {
        alias: Some("branch"),
        ..s(
            "branch-name",
            "AMPLIFY_BRANCH_NAME",
            "from the CI, else git",
            "main",
        )
    },
    s("job-type", "AMPLIFY_JOB_TYPE", "RELEASE", "retry"),
    s("job-id", "AMPLIFY_JOB_ID", "required for RETRY", "42"),
    s("job-reason", "AMPLIFY_JOB_REASON", "the CI run", "hotfix"),
    s(
        "commit-id",
        "AMPLIFY_COMMIT_ID",
        "from the CI, else git",
        "0123abc",
    ),
    s(
        "commit-message",
        "AMPLIFY_COMMIT_MESSAGE",
        "from the CI, else git",
        "'Fix header'",
    ),
    s(
        "commit-time",
        "AMPLIFY_COMMIT_TIME",
        "from the CI, else git",
        "2024-05-01T12:00:00Z",
    ),
    s("source", "AMPLIFY_SOURCE", "none: build from Git", "dist"),
    s(
        "source-url",
        "AMPLIFY_SOURCE_URL",
        "none",
        "s3://bucket/site/",
    ),
    s(
        "source-url-type",
        "AMPLIFY_SOURCE_URL_TYPE",
        "by the URL",
        "BUCKET_PREFIX",
    ),
    s("mode", "AMPLIFY_MODE", "start", "follow"),
    s("follow-timeout", "AMPLIFY_FOLLOW_TIMEOUT", "5m", "10m"),
    Setting {
        switch: true,
        ..s(
            "cancel-previous",
            "AMPLIFY_CANCEL_PREVIOUS",
            "false",
            "true",
        )
    },
    s(
        "app-name",
        "AMPLIFY_APP_NAME",
        "none: Amplify Hosting",
        "shop",
    ),
    s(
        "environment",
        "AMPLIFY_ENVIRONMENT",
        "preview",
        "production",
    ),
    s("source-type", "AMPLIFY_SOURCE_TYPE", "prebuilt", "source"),
    s("git-ref", "AMPLIFY_GIT_REF", "the CI's branch", "main"),
    Setting {
        switch: true,
        ..s("wait-rollout", "AMPLIFY_WAIT_ROLLOUT", "false", "true")
    },
    s(
        "deployment-id",
        "AMPLIFY_DEPLOYMENT_ID",
        "none: the newest success of the commit",
        "a1b2c3d4e5",
    ),
    s(
        "rollout",
        "AMPLIFY_ROLLOUT",
        "the environment's own",
        "canary-10pct-5m",
    ),
    s(
        "pull-request",
        "AMPLIFY_PULL_REQUEST",
        "from the event",
        "42",
    ),
    s("if-busy", "AMPLIFY_IF_BUSY", "wait", "cancel"),
    Setting {
        switch: true,
        ..s("create-branch", "AMPLIFY_CREATE_BRANCH", "false", "true")
    },
    s(
        "branch-stage",
        "AMPLIFY_BRANCH_STAGE",
        "PULL_REQUEST on a pull request",
        "BETA",
    ),
    Setting {
        switch: true,
        ..s(
            "allow-delete-any-branch",
            "AMPLIFY_ALLOW_DELETE_ANY_BRANCH",
            "false",
            "true",
        )
    },
    Setting {
        switch: true,
        ..s("pr-comment", "AMPLIFY_PR_COMMENT", "false", "true")
    },
    s(
        "github-token",
        "GITHUB_TOKEN",
        "the variable (safer than the flag)",
        "$GITHUB_TOKEN",
    ),
    Setting {
        alias: Some("aws-region"),
        ..s("region", "AWS_REGION", "AWS_DEFAULT_REGION", "eu-west-1")
    },
    s(
        "endpoint-url",
        "AWS_ENDPOINT_URL_AMPLIFY",
        "AWS's",
        "http://127.0.0.1:4566",
    ),
    s("profile", "AWS_PROFILE", "default", "deploy"),
    s(
        "role-to-assume",
        "AMPLIFY_ROLE_TO_ASSUME",
        "none",
        "arn:aws:iam::123456789012:role/deploy",
    ),
    s(
        "role-session-name",
        "AMPLIFY_ROLE_SESSION_NAME",
        "amplify-start-job",
        "site-deploy",
    ),
    s(
        "role-duration-seconds",
        "AMPLIFY_ROLE_DURATION_SECONDS",
        "3600",
        "900",
    ),
    s(
        "audience",
        "AMPLIFY_OIDC_AUDIENCE",
        "sts.amazonaws.com",
        "sts.amazonaws.com",
    ),
    s("max-attempts", "AMPLIFY_MAX_ATTEMPTS", "8", "3"),
    s("retry-timeout", "AMPLIFY_RETRY_TIMEOUT", "2m", "90s"),
    s(
        "retry-base-delay",
        "AMPLIFY_RETRY_BASE_DELAY",
        "1s",
        "500ms",
    ),
    s("request-timeout", "AMPLIFY_REQUEST_TIMEOUT", "30s", "10s"),
    Setting {
        switch: true,
        ..s("wait", "AMPLIFY_WAIT", "false", "true")
    },
    s("wait-timeout", "AMPLIFY_WAIT_TIMEOUT", "30m", "45m"),
    s("poll-interval", "AMPLIFY_POLL_INTERVAL", "5s", "10s"),
    Setting {
        switch: true,
        ..s(
            "cancel-on-timeout",
            "AMPLIFY_CANCEL_ON_TIMEOUT",
            "false",
            "true",
        )
    },
    Setting {
        switch: true,
        ..s(
            "cancel-on-abort",
            "AMPLIFY_CANCEL_ON_ABORT",
            "false",
            "true",
        )
    },
    s(
        "on-commit-mismatch",
        "AMPLIFY_ON_COMMIT_MISMATCH",
        "warn",
        "fail",
    ),
    Setting {
        switch: true,
        ..s("wait-for-url", "AMPLIFY_WAIT_FOR_URL", "false", "true")
    },
    s("url-timeout", "AMPLIFY_URL_TIMEOUT", "2m", "5m"),
    s(
        "prune-older-than",
        "AMPLIFY_PRUNE_OLDER_THAN",
        "none",
        "14d",
    ),
    Setting {
        switch: true,
        ..s("prune-delete", "AMPLIFY_PRUNE_DELETE", "false", "true")
    },
    s(
        "preview-basic-auth",
        "AMPLIFY_PREVIEW_BASIC_AUTH",
        "none",
        "user:password",
    ),
    s(
        "inherit-env-from",
        "AMPLIFY_INHERIT_ENV_FROM",
        "none",
        "main",
    ),
    s(
        "environment-variables",
        "AMPLIFY_ENVIRONMENT_VARIABLES",
        "none",
        "API_URL=https://...",
    ),
    s(
        "skew-protection",
        "AMPLIFY_SKEW_PROTECTION",
        "not sent",
        "true",
    ),
    s("framework", "AMPLIFY_FRAMEWORK", "not sent", "React"),
    Setting {
        switch: true,
        ..s(
            "github-deployment",
            "AMPLIFY_GITHUB_DEPLOYMENT",
            "false",
            "true",
        )
    },
    s(
        "github-environment",
        "AMPLIFY_GITHUB_ENVIRONMENT",
        "pr-<n> or the branch",
        "preview",
    ),
    Setting {
        switch: true,
        ..s("github-status", "AMPLIFY_GITHUB_STATUS", "false", "true")
    },
    s(
        "github-status-context",
        "AMPLIFY_GITHUB_STATUS_CONTEXT",
        "amplify/<app>/<branch>",
        "amplify/preview",
    ),
    s(
        "on-missing-credentials",
        "AMPLIFY_ON_MISSING_CREDENTIALS",
        "skip-forks",
        "fail",
    ),
    s("log-lines", "AMPLIFY_LOG_LINES", "60", "200"),
    s(
        "download-artifacts",
        "AMPLIFY_DOWNLOAD_ARTIFACTS",
        "none",
        "amplify-artifacts",
    ),
    s("output-file", "AMPLIFY_OUTPUT_FILE", "none", "amplify.env"),
    s("output-format", "AMPLIFY_OUTPUT_FORMAT", "json", "text"),
];

#[derive(Debug)]
pub enum Command {
    Run { env: Env, dry_run: bool },
    Help,
    Version,
}

/// Reads the arguments (without the program name) over the environment.
pub fn parse(args: impl IntoIterator<Item = String>, env: Env) -> Result<Command, SettingsError> {
    let mut env = env;
    let mut dry_run = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let usage = |problem: &str| {
            SettingsError::new(
                "the command line",
                None,
                Some(&arg),
                problem,
                "see amplify-start-job --help",
            )
        };
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(usage("not an option (options start with --)"));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        match name {
            "help" => return Ok(Command::Help),
            "version" => return Ok(Command::Version),
            "dry-run" => {
                dry_run = true;
                continue;
            }
            // Short for --mode follow.
            "follow" if inline.is_none() => {
                env = env.with("AMPLIFY_MODE", "follow");
                continue;
            }
            _ => {}
        }
        let Some(setting) = SETTINGS
            .iter()
            .find(|s| s.flag == name || s.alias == Some(name))
        else {
            return Err(usage("unknown option"));
        };
        let value = match inline {
            Some(v) => v,
            None if setting.switch => "true".into(),
            None => args.next().ok_or_else(|| usage("needs a value"))?,
        };
        env = env.with(setting.var, &value);
    }
    Ok(Command::Run { env, dry_run })
}

pub fn version() -> String {
    format!("amplify-start-job {}", env!("CARGO_PKG_VERSION"))
}

pub fn help() -> String {
    let mut text = format!(
        "{}\nStart an AWS Amplify Hosting job for a commit, and optionally wait for it to end.\n\n\
         Usage: amplify-start-job [OPTIONS]\n\n\
         Every option is also an environment variable (the same contract as the GitHub Action's\n\
         inputs); an option wins over its variable, which wins over what the CI says.\n\n\
         Options:\n",
        version()
    );
    for s in SETTINGS {
        let flag = match (s.switch, s.alias) {
            (true, _) => format!("--{}", s.flag),
            (false, Some(a)) => format!("--{} <v>, --{a}", s.flag),
            (false, None) => format!("--{} <v>", s.flag),
        };
        text.push_str(&format!(
            "  {flag:<36} {:<32} default: {}; e.g. {}\n",
            s.var, s.default, s.example
        ));
    }
    text.push_str(&format!(
        "  {:<36} resolve everything, print the signed request (secrets redacted), send nothing\n\
         \x20 {:<36} the same as --mode follow: wait for the job Amplify started for the commit\n\
         \x20 {:<36} this text\n\
         \x20 {:<36} the version\n\n\
         Credentials: the AWS SDK chain (environment, GitHub OIDC with --role-to-assume, web identity,\n\
         profiles, container, EC2 instance metadata). CI detected: {}; else git in the working directory.\n\
         Exit codes: 0 started, 2 bad settings or credentials, 3 AWS refused, 4 gave up after retries,\n\
         5 the job failed (with --wait), 6 the wait timed out (or follow found no job), 130/143 interrupted.\n",
        "--dry-run",
        "--follow",
        "--help",
        "--version",
        crate::ci::known().collect::<Vec<_>>().join(", ")
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, SettingsError> {
        parse(
            args.iter().map(|s| s.to_string()),
            Env::from_pairs([("AMPLIFY_APP_ID", "dfromenv"), ("AMPLIFY_WAIT", "false")]),
        )
    }

    #[test]
    fn flags_win_over_the_environment() {
        let Ok(Command::Run { env, dry_run }) = run(&[
            "--app-id",
            "dfromflag",
            "--branch=feature/x",
            "--job-type",
            "retry",
            "--job-id",
            "42",
            "--wait",
            "--dry-run",
        ]) else {
            panic!("parses")
        };
        assert!(dry_run);
        assert_eq!(env.get("AMPLIFY_APP_ID"), Some("dfromflag"));
        assert_eq!(env.get("AMPLIFY_BRANCH_NAME"), Some("feature/x"));
        assert_eq!(env.get("AMPLIFY_JOB_TYPE"), Some("retry"));
        assert_eq!(env.get("AMPLIFY_JOB_ID"), Some("42"));
        assert_eq!(env.get("AMPLIFY_WAIT"), Some("true"));
    }

    #[test]
    fn bad_command_lines_name_the_argument() {
        for (args, expect) in [
            (
                &["--nope"][..],
                "the command line is \"--nope\": unknown option",
            ),
            (&["main"][..], "the command line is \"main\": not an option"),
            (
                &["--app-id"][..],
                "the command line is \"--app-id\": needs a value",
            ),
        ] {
            let e = run(args).unwrap_err().to_string();
            assert!(e.starts_with(expect), "{e}");
        }
        assert!(matches!(run(&["--help", "--nope"]), Ok(Command::Help)));
        assert!(matches!(run(&["--version"]), Ok(Command::Version)));
    }
}
