//! The credential settings, read and checked with the others before anything is sent:
//! `role-to-assume` for direct GitHub OIDC, the role session, the audience, and where STS is.

use std::time::Duration;

use super::{Config, valid_role_arn, valid_session_name};
use crate::env::{Env, Name, SettingsError, endpoint};

pub const ROLE_TO_ASSUME: Name = Name {
    var: "AMPLIFY_ROLE_TO_ASSUME",
    input: "role-to-assume",
};
pub const ROLE_SESSION_NAME: Name = Name {
    var: "AMPLIFY_ROLE_SESSION_NAME",
    input: "role-session-name",
};
pub const ROLE_DURATION: Name = Name {
    var: "AMPLIFY_ROLE_DURATION_SECONDS",
    input: "role-duration-seconds",
};
pub const AUDIENCE: Name = Name {
    var: "AMPLIFY_OIDC_AUDIENCE",
    input: "audience",
};

impl Config {
    /// `timeout` bounds each credential request, as it bounds each Amplify attempt.
    pub fn from_env(env: &Env, region: &str, timeout: Duration) -> Result<Config, SettingsError> {
        let github = env.get("GITHUB_ACTIONS") == Some("true");
        Ok(Config {
            role_to_assume: role_to_assume(env)?,
            session_name: session_name(env, github)?,
            duration_secs: duration_secs(env)?,
            audience: audience(env)?,
            region: region.to_string(),
            sts_endpoint: endpoint(env, "STS", region)?,
            github,
            timeout,
        })
    }
}

/// `AMPLIFY_ROLE_TO_ASSUME`, else `AWS_ROLE_TO_ASSUME`.
fn role_to_assume(env: &Env) -> Result<Option<String>, SettingsError> {
    let role = env
        .get(ROLE_TO_ASSUME.var)
        .map(|r| (ROLE_TO_ASSUME.var, r))
        .or_else(|| {
            env.get("AWS_ROLE_TO_ASSUME")
                .map(|r| ("AWS_ROLE_TO_ASSUME", r))
        });
    match role {
        None => Ok(None),
        Some((var, r)) if !valid_role_arn(r) => Err(SettingsError::new(
            var,
            Some(ROLE_TO_ASSUME.input),
            Some(r),
            "not an IAM role ARN",
            "use the role's ARN, e.g. arn:aws:iam::123456789012:role/amplify-deploy",
        )),
        Some((_, r)) => Ok(Some(r.to_string())),
    }
}

/// The role session name; by default it names the GitHub run and attempt.
fn session_name(env: &Env, github: bool) -> Result<String, SettingsError> {
    match env.get(ROLE_SESSION_NAME.var) {
        Some(n) if !valid_session_name(n) => Err(SettingsError::of(
            ROLE_SESSION_NAME,
            Some(n),
            "a session name is 2 to 64 letters, digits or +=,.@_-",
            "use e.g. amplify-deploy, or leave it empty for the default",
        )),
        Some(n) => Ok(n.to_string()),
        None => {
            let run = match (env.get("GITHUB_RUN_ID"), env.get("GITHUB_RUN_ATTEMPT")) {
                (Some(id), Some(a)) if github => format!("-{id}-{a}"),
                (Some(id), None) if github => format!("-{id}"),
                _ => String::new(),
            };
            let name = format!("amplify-start-job{run}");
            Ok(if valid_session_name(&name) {
                name
            } else {
                "amplify-start-job".into()
            })
        }
    }
}

fn duration_secs(env: &Env) -> Result<u32, SettingsError> {
    let Some(d) = env.get(ROLE_DURATION.var) else {
        return Ok(3600);
    };
    match d.trim().parse::<u32>() {
        Ok(n) if (900..=43_200).contains(&n) => Ok(n),
        _ => Err(SettingsError::of(
            ROLE_DURATION,
            Some(d),
            "STS takes 900 to 43200 seconds (and at most the role's maximum session duration)",
            "use e.g. 3600, or leave it empty for one hour",
        )),
    }
}

fn audience(env: &Env) -> Result<String, SettingsError> {
    match env.get(AUDIENCE.var) {
        Some(a) if a.chars().any(char::is_control) || a.len() > 255 => Err(SettingsError::of(
            AUDIENCE,
            Some(a),
            "an audience is one line of at most 255 characters",
            "leave it empty for sts.amazonaws.com",
        )),
        Some(a) => Ok(a.to_string()),
        None => Ok("sts.amazonaws.com".into()),
    }
}
