//! What a preview branch is created with, besides its stage: a password (`preview-basic-auth`),
//! environment variables (inherited from another branch with `inherit-env-from`, then
//! `environment-variables`), skew protection and the framework. Only CreateBranch takes them;
//! an existing branch is left as it is. The password and the variables' values are secrets:
//! never logged, at any level; only the variables' names are.

use crate::encoding::base64;
use crate::env::{Env, Name, Secret, SettingsError, boolean};

pub const PREVIEW_BASIC_AUTH: Name = Name {
    var: "AMPLIFY_PREVIEW_BASIC_AUTH",
    input: "preview-basic-auth",
};
pub const INHERIT_ENV_FROM: Name = Name {
    var: "AMPLIFY_INHERIT_ENV_FROM",
    input: "inherit-env-from",
};
pub const ENVIRONMENT_VARIABLES: Name = Name {
    var: "AMPLIFY_ENVIRONMENT_VARIABLES",
    input: "environment-variables",
};
pub const SKEW_PROTECTION: Name = Name {
    var: "AMPLIFY_SKEW_PROTECTION",
    input: "skew-protection",
};
pub const FRAMEWORK: Name = Name {
    var: "AMPLIFY_FRAMEWORK",
    input: "framework",
};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreviewSettings {
    /// `user:password` as given: what is masked on GitHub.
    pub basic_auth: Option<Secret<String>>,
    /// The branch whose environment variables a created branch gets.
    pub inherit_env_from: Option<String>,
    /// Added to (or replacing) the inherited ones, in order.
    pub variables: Vec<(String, Secret<String>)>,
    pub skew_protection: Option<bool>,
    pub framework: Option<String>,
}

impl PreviewSettings {
    pub fn from_env(env: &Env) -> Result<PreviewSettings, SettingsError> {
        let basic_auth = match env.get(PREVIEW_BASIC_AUTH.var) {
            None => None,
            Some(v) => match v.split_once(':') {
                Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                    Some(Secret(v.to_string()))
                }
                // The value is a secret: the error never shows it.
                _ => {
                    return Err(SettingsError::of(
                        PREVIEW_BASIC_AUTH,
                        None,
                        "it is not user:password with both parts set (the value is not shown: it is a secret)",
                        "set it to a user name, a colon and a password, e.g. from a secret: ${{ secrets.PREVIEW_AUTH }}",
                    ));
                }
            },
        };
        let inherit_env_from = env.get(INHERIT_ENV_FROM.var).map(str::to_string);
        if let Some(b) = inherit_env_from
            .as_deref()
            .filter(|b| b.chars().count() > 255 || b.contains('\n'))
        {
            return Err(SettingsError::of(
                INHERIT_ENV_FROM,
                Some(b),
                "not a branch name (one line, at most 255 characters)",
                "name the branch whose variables previews get, e.g. main",
            ));
        }
        let framework = env.get(FRAMEWORK.var).map(str::to_string);
        if let Some(f) = framework
            .as_deref()
            .filter(|f| f.chars().count() > 255 || f.contains('\n'))
        {
            return Err(SettingsError::of(
                FRAMEWORK,
                Some(f),
                "not a framework name (one line, at most 255 characters)",
                "name the framework as Amplify does, e.g. Next.js - SSR",
            ));
        }
        let skew_protection = match env.get(SKEW_PROTECTION.var) {
            None => None,
            Some(v) => Some(boolean(Some(v), SKEW_PROTECTION)?),
        };
        Ok(PreviewSettings {
            basic_auth,
            inherit_env_from,
            variables: variables(env.get(ENVIRONMENT_VARIABLES.var))?,
            skew_protection,
            framework,
        })
    }

    /// `basicAuthCredentials`: base64 of `user:password`, as the API wants it.
    pub fn basic_auth_credentials(&self) -> Option<Secret<String>> {
        self.basic_auth
            .as_ref()
            .map(|Secret(v)| Secret(base64(v.as_bytes())))
    }

    /// The basic auth as a plan may show it: the user name and `****`, never the password.
    pub fn basic_auth_shown(&self) -> Option<String> {
        let Secret(v) = self.basic_auth.as_ref()?;
        let user = v.split_once(':').map_or("", |(u, _)| u);
        Some(format!("{user}:****"))
    }

    /// What to mask on GitHub before anything is printed: the value, its base64, the password.
    pub fn secrets(&self) -> Vec<String> {
        let Some(Secret(v)) = &self.basic_auth else {
            return Vec::new();
        };
        let password = v.split_once(':').map(|(_, p)| p.to_string());
        [Some(v.clone()), Some(base64(v.as_bytes())), password]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// `KEY=value` lines (empty ones skipped); a key that is not a variable name is refused, naming
/// the key, never the value.
fn variables(value: Option<&str>) -> Result<Vec<(String, Secret<String>)>, SettingsError> {
    let mut out = Vec::new();
    for line in value.unwrap_or_default().lines() {
        if line.trim().is_empty() {
            continue;
        }
        let (key, v) = line.split_once('=').unwrap_or((line, ""));
        let key = key.trim();
        let valid = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && key.len() <= 255
            && line.contains('=');
        if !valid {
            return Err(SettingsError::of(
                ENVIRONMENT_VARIABLES,
                None,
                &format!(
                    "{:?} is not a variable name followed by = (the values are not shown)",
                    crate::env::truncate_chars(key, 60).0
                ),
                "give one KEY=value a line, the key letters, digits and _ and not starting with a digit",
            ));
        }
        if v.chars().count() > 5500 {
            return Err(SettingsError::of(
                ENVIRONMENT_VARIABLES,
                None,
                &format!("the value of {key} is over 5,500 characters, Amplify's limit"),
                "shorten it",
            ));
        }
        out.push((key.to_string(), Secret(v.to_string())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_key_value_lines_with_valid_keys() {
        let vars = variables(Some("A=1\n\n_B = two=2\nURL=https://x?a=b")).unwrap();
        let keys: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["A", "_B", "URL"]);
        assert_eq!(vars[1].1.0, " two=2");
        for bad in ["1A=hunter2", "A-B=hunter2", "NOEQUALS", "=hunter2"] {
            let e = variables(Some(bad)).unwrap_err().to_string();
            assert!(
                e.contains("AMPLIFY_ENVIRONMENT_VARIABLES") && !e.contains("hunter2"),
                "{e}"
            );
        }
    }
}
