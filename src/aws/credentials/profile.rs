//! Step 4 of the chain: shared files: `AWS_SHARED_CREDENTIALS_FILE` (else `~/.aws/credentials`) and
//! `AWS_CONFIG_FILE` (else `~/.aws/config`), profile `AWS_PROFILE` (else `default`). A profile
//! gives static keys, a `credential_process`, or a `role_arn` assumed with a `source_profile`,
//! a `credential_source` or a `web_identity_token_file`. SSO needs a browser: refused.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use super::process::Process;
use super::web_identity::{Token, WebIdentity};
use super::{CredentialsError, Ctx, Provider, valid_role_arn, valid_session_name};
use crate::env::{Env, show};

type Profiles = BTreeMap<String, BTreeMap<String, String>>;

const MAX_CHAIN: usize = 5;

pub fn credentials_file(env: &Env) -> Option<PathBuf> {
    env.get("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| {
            env.get("HOME")
                .map(|h| PathBuf::from(h).join(".aws/credentials"))
        })
}

pub fn config_file(env: &Env) -> Option<PathBuf> {
    env.get("AWS_CONFIG_FILE").map(PathBuf::from).or_else(|| {
        env.get("HOME")
            .map(|h| PathBuf::from(h).join(".aws/config"))
    })
}

/// INI as the AWS CLI reads it: `[section]`, `key = value`, `#`/`;` comment lines; indented
/// lines (nested settings such as `s3 =`) are skipped.
pub fn parse_ini(text: &str, config: bool, into: &mut Profiles) {
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let section = section.trim();
            current = if !config {
                Some(section.to_string())
            } else if section == "default" {
                Some("default".into())
            } else {
                section
                    .strip_prefix("profile")
                    .filter(|r| r.starts_with([' ', '\t']))
                    .map(|r| r.trim().to_string())
            };
            if let Some(name) = &current {
                into.entry(name.clone()).or_default();
            }
            continue;
        }
        let (Some(name), Some((k, v))) = (&current, line.split_once('=')) else {
            continue;
        };
        let entry = into.entry(name.clone()).or_default();
        // The credentials file, read last, wins over the config file.
        entry.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
}

fn load(env: &Env) -> Result<Profiles, CredentialsError> {
    let mut profiles = Profiles::new();
    for (path, config) in [(config_file(env), true), (credentials_file(env), false)] {
        let Some(path) = path else { continue };
        match std::fs::read_to_string(&path) {
            Ok(text) => parse_ini(&text, config, &mut profiles),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CredentialsError::Failed {
                    provider: "the shared config files".into(),
                    detail: format!("cannot read {}: {e}", path.display()),
                    hint: None,
                });
            }
        }
    }
    Ok(profiles)
}

pub fn provider(env: &Env, ctx: &Ctx) -> Result<Option<Provider>, CredentialsError> {
    let explicit = env.get("AWS_PROFILE");
    let name = explicit.unwrap_or("default");
    let profiles = load(env)?;
    if !profiles.contains_key(name) {
        return match explicit {
            None => Ok(None),
            Some(p) => Err(CredentialsError::Failed {
                provider: format!("profile {p}"),
                detail: format!(
                    "AWS_PROFILE is {} but no such profile is in the shared files",
                    show(p)
                ),
                hint: Some(
                    "check the profile name, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE"
                        .into(),
                ),
            }),
        };
    }
    let mut seen = HashSet::new();
    resolve(&profiles, name, env, ctx, &mut seen).map(Some)
}

fn resolve(
    profiles: &Profiles,
    name: &str,
    env: &Env,
    ctx: &Ctx,
    seen: &mut HashSet<String>,
) -> Result<Provider, CredentialsError> {
    let fail = |detail: String, hint: Option<&str>| failure(name, detail, hint);
    if !seen.insert(name.to_string()) || seen.len() > MAX_CHAIN {
        return Err(fail(
            "its source_profile chain loops or is longer than 5".into(),
            Some("point source_profile at a profile with keys"),
        ));
    }
    let Some(p) = profiles.get(name) else {
        return Err(fail(format!("no such profile {}", show(name)), None));
    };
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());

    if let Some(role_arn) = get("role_arn") {
        return assume_role(profiles, name, p, role_arn, env, ctx, seen);
    }
    if get("sso_start_url").is_some() || get("sso_session").is_some() {
        return Err(fail(
            "it is an IAM Identity Center (SSO) profile, which needs a browser login and cannot run in CI".into(),
            Some("use OIDC instead: role-to-assume on GitHub, AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE elsewhere (README: Credentials)"),
        ));
    }
    if let Some(command) = get("credential_process") {
        return Ok(Provider::Process(Process {
            profile: name.to_string(),
            command: command.to_string(),
        }));
    }
    static_keys(name, p).ok_or_else(|| {
        fail(
            "it has no aws_access_key_id and aws_secret_access_key, credential_process or role_arn"
                .into(),
            None,
        )
    })
}

fn failure(name: &str, detail: String, hint: Option<&str>) -> CredentialsError {
    CredentialsError::Failed {
        provider: format!("profile {name}"),
        detail,
        hint: hint.map(str::to_string),
    }
}

/// A profile with `role_arn`: assumed with its web identity token file, or with the
/// credentials of its `source_profile` or `credential_source`.
fn assume_role(
    profiles: &Profiles,
    name: &str,
    p: &BTreeMap<String, String>,
    role_arn: &str,
    env: &Env,
    ctx: &Ctx,
    seen: &mut HashSet<String>,
) -> Result<Provider, CredentialsError> {
    let fail = |detail: String, hint: Option<&str>| failure(name, detail, hint);
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    if !valid_role_arn(role_arn) {
        return Err(fail(
            format!("role_arn {} is not a role ARN", show(role_arn)),
            None,
        ));
    }
    let session_name = match get("role_session_name") {
        Some(n) if !valid_session_name(n) => {
            return Err(fail(
                format!(
                    "role_session_name {} is not 2 to 64 letters, digits or +=,.@_-",
                    show(n)
                ),
                None,
            ));
        }
        Some(n) => n.to_string(),
        None => ctx.config.session_name.clone(),
    };
    let duration_secs = match get("duration_seconds") {
        None => None,
        Some(d) => match d.parse::<u32>() {
            Ok(n) if (900..=43_200).contains(&n) => Some(n),
            _ => {
                return Err(fail(
                    format!("duration_seconds {} is not 900 to 43200", show(d)),
                    None,
                ));
            }
        },
    };
    if let Some(file) = get("web_identity_token_file") {
        return Ok(Provider::WebIdentity(WebIdentity {
            role_arn: role_arn.to_string(),
            session_name,
            duration_secs,
            token: Token::File(PathBuf::from(file)),
        }));
    }
    let source = role_source(profiles, name, p, env, ctx, seen)?;
    Ok(Provider::AssumeRole {
        role_arn: role_arn.to_string(),
        session_name,
        external_id: get("external_id").map(str::to_string),
        duration_secs,
        source: Box::new(source),
    })
}

/// Where a role profile's own credentials come from.
fn role_source(
    profiles: &Profiles,
    name: &str,
    p: &BTreeMap<String, String>,
    env: &Env,
    ctx: &Ctx,
    seen: &mut HashSet<String>,
) -> Result<Provider, CredentialsError> {
    let fail = |detail: String, hint: Option<&str>| failure(name, detail, hint);
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    Ok(if let Some(source) = get("source_profile") {
        if source == name {
            static_keys(name, p).ok_or_else(|| {
                fail(
                    "source_profile names itself but it has no keys".into(),
                    None,
                )
            })?
        } else {
            resolve(profiles, source, env, ctx, seen)?
        }
    } else if let Some(cs) = get("credential_source") {
        match cs {
            "Environment" => super::env::provider(env, ctx)?.ok_or_else(|| {
                fail(
                    "credential_source Environment, but AWS_ACCESS_KEY_ID is not set".into(),
                    None,
                )
            })?,
            "EcsContainer" => super::container::provider(env, ctx)?.ok_or_else(|| {
                fail(
                    "credential_source EcsContainer, but AWS_CONTAINER_CREDENTIALS_* is not set"
                        .into(),
                    None,
                )
            })?,
            "Ec2InstanceMetadata" => super::imds::provider(env).map_err(|why| {
                fail(
                    format!("credential_source Ec2InstanceMetadata: {why}"),
                    None,
                )
            })?,
            other => {
                return Err(fail(
                    format!(
                        "credential_source {} is not Environment, EcsContainer or Ec2InstanceMetadata",
                        show(other)
                    ),
                    None,
                ));
            }
        }
    } else {
        return Err(fail(
            "role_arn needs source_profile, credential_source or web_identity_token_file".into(),
            None,
        ));
    })
}

fn static_keys(name: &str, p: &BTreeMap<String, String>) -> Option<Provider> {
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let (id, secret) = (get("aws_access_key_id")?, get("aws_secret_access_key")?);
    Some(Provider::Static {
        from: format!("profile {name} (keys)"),
        credentials: aws_credential_types::Credentials::new(
            id,
            secret,
            get("aws_session_token").map(str::to_string),
            None,
            "profile",
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_credentials_files_merge_by_profile() {
        let mut p = Profiles::new();
        parse_ini(
            "[default]\nregion = us-east-1\n[profile ci]\nrole_arn = arn:aws:iam::123456789012:role/r\n\
             s3 =\n  max_concurrent_requests = 10\n[sso-session corp]\nsso_region = us-east-1\n\
             [profilex]\nignored = 1\n",
            true,
            &mut p,
        );
        parse_ini(
            "# keys\n[default]\naws_access_key_id = AKID\n; note\naws_secret_access_key = s=e=c\n",
            false,
            &mut p,
        );
        assert_eq!(p.keys().collect::<Vec<_>>(), ["ci", "default"]);
        assert_eq!(p["default"]["aws_secret_access_key"], "s=e=c");
        assert_eq!(p["default"]["region"], "us-east-1");
        assert!(!p["ci"].contains_key("max_concurrent_requests"));
    }
}
