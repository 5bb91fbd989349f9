//! What a deployment to the new AWS Amplify is: the app (by name) and environment, where its
//! code comes from (a folder or zip uploaded, or a Git ref of the connected repository), the
//! region and endpoint, and the commit it is for. Each value is checked before anything is
//! sent, against the model's limits.

use reqwest::Url;

use crate::ci::{self, COMMIT_ID};
use crate::env::{Env, Name, SettingsError, Sourced, boolean, endpoint_or, show};
use crate::source::{SOURCE, Source};

pub const APP_NAME: Name = Name {
    var: "AMPLIFY_APP_NAME",
    input: "app-name",
};
pub const ENVIRONMENT: Name = Name {
    var: "AMPLIFY_ENVIRONMENT",
    input: "environment",
};
pub const SOURCE_TYPE: Name = Name {
    var: "AMPLIFY_SOURCE_TYPE",
    input: "source-type",
};
pub const GIT_REF: Name = Name {
    var: "AMPLIFY_GIT_REF",
    input: "git-ref",
};
pub const WAIT_ROLLOUT: Name = Name {
    var: "AMPLIFY_WAIT_ROLLOUT",
    input: "wait-rollout",
};

pub const DEPLOYMENT_ID: Name = Name {
    var: "AMPLIFY_DEPLOYMENT_ID",
    input: "deployment-id",
};
pub const ROLLOUT: Name = Name {
    var: "AMPLIFY_ROLLOUT",
    input: "rollout",
};
pub const PULL_REQUEST: Name = Name {
    var: "AMPLIFY_PULL_REQUEST",
    input: "pull-request",
};

/// The settings only the new service reads: refused with `app-id`.
pub const ONLY: [Name; 7] = [
    ENVIRONMENT,
    SOURCE_TYPE,
    GIT_REF,
    WAIT_ROLLOUT,
    DEPLOYMENT_ID,
    ROLLOUT,
    PULL_REQUEST,
];

/// `rollout`: how a promote or rollback moves the traffic. The input's names, and the
/// model's `RolloutPreset` each maps to.
pub const ROLLOUTS: [(&str, &str); 7] = [
    ("instant", "ALL_AT_ONCE"),
    ("canary-10pct-5m", "CANARY_10_PERCENT_5_MINUTES"),
    ("canary-10pct-15m", "CANARY_10_PERCENT_15_MINUTES"),
    ("canary-10pct-30m", "CANARY_10_PERCENT_30_MINUTES"),
    ("linear-10pct-1m", "LINEAR_10_PERCENT_EVERY_1_MINUTE"),
    ("linear-10pct-3m", "LINEAR_10_PERCENT_EVERY_3_MINUTES"),
    ("linear-10pct-10m", "LINEAR_10_PERCENT_EVERY_10_MINUTES"),
];

/// The app, environment, region and endpoint a run addresses.
#[derive(Debug, Clone)]
pub struct Place {
    pub app: String,
    pub environment: String,
    pub region: String,
    pub endpoint: Url,
}

impl Place {
    pub fn from_env(env: &Env) -> Result<Place, SettingsError> {
        let app = name(
            env,
            APP_NAME,
            None,
            "the app's name as the Amplify console shows it, e.g. shop",
        )?;
        let environment = name(
            env,
            ENVIRONMENT,
            Some("preview"),
            "preview, production or a custom environment's name",
        )?;
        let region = crate::env::region(env)?;
        let endpoint = endpoint_or(
            env,
            "AMPLIFYGEN3",
            &format!("https://amplifygen3.{region}.api.aws"),
        )?;
        Ok(Place {
            app,
            environment,
            region,
            endpoint,
        })
    }
}

/// `rollout`: `None` unset (the environment's own preset applies), else the model's preset.
/// A preset other than `ALL_AT_ONCE` cannot move the environment named `preview`.
pub fn rollout(env: &Env, environment: &str) -> Result<Option<&'static str>, SettingsError> {
    let Some(v) = env.get(ROLLOUT.var) else {
        return Ok(None);
    };
    let lower = v.to_ascii_lowercase();
    let Some((_, preset)) = ROLLOUTS.iter().find(|(n, _)| *n == lower) else {
        return Err(SettingsError::of(
            ROLLOUT,
            Some(v),
            "not a rollout",
            "use instant, canary-10pct-5m, canary-10pct-15m, canary-10pct-30m, linear-10pct-1m, linear-10pct-3m or linear-10pct-10m",
        ));
    };
    if environment == "preview" && *preset != "ALL_AT_ONCE" {
        return Err(SettingsError::of(
            ROLLOUT,
            Some(v),
            "the preview environment moves only at once: AWS has no gradual rollout for it",
            "use rollout: instant (or leave it empty) for preview",
        ));
    }
    Ok(Some(preset))
}

/// `deployment-id`: the model's `[a-z0-9]{10}`.
pub fn deployment_id(env: &Env) -> Result<Option<String>, SettingsError> {
    let Some(v) = env.get(DEPLOYMENT_ID.var) else {
        return Ok(None);
    };
    let ok = v.len() == 10
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok {
        return Err(SettingsError::of(
            DEPLOYMENT_ID,
            Some(v),
            "a deployment id is 10 lower-case letters and digits",
            "copy it from the Amplify console or from a deploy's job-id output, e.g. a1b2c3d4e5",
        ));
    }
    Ok(Some(v.to_string()))
}

/// The model's limits on names (`AppName`, `EnvironmentName`: 1 to 40) and on `GitRef` (256).
const NAME_MAX: usize = 40;
const GIT_REF_MAX: usize = 256;

/// How an uploaded source is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    /// `PREBUILT_ARTIFACT`: served as uploaded.
    Prebuilt,
    /// `SOURCE_CODE`: Amplify builds it.
    Source,
}

impl SourceType {
    pub fn as_api(self) -> &'static str {
        match self {
            SourceType::Prebuilt => "PREBUILT_ARTIFACT",
            SourceType::Source => "SOURCE_CODE",
        }
    }
}

/// Where the deployment's code comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A folder or a zip, uploaded.
    Upload(Source, SourceType),
    /// A branch or tag of the app's connected repository.
    Git(Sourced<String>),
}

/// The commit the run is for: its id (and where it came from) and its message's first line.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    pub id: Option<Sourced<String>>,
    pub subject: Option<String>,
}

impl Commit {
    /// The first 7 characters of the id, as a short commit id.
    pub fn short(&self) -> Option<String> {
        let id = &self.id.as_ref()?.value;
        Some(id.chars().take(7).collect())
    }
}

#[derive(Debug, Clone)]
pub struct Deploy {
    pub app: String,
    pub environment: String,
    pub region: String,
    pub endpoint: Url,
    pub origin: Origin,
    pub commit: Commit,
    /// `wait-rollout`: after success, follow a gradual rollout to its end (implies `wait`).
    pub wait_rollout: bool,
}

impl Deploy {
    /// Reads and checks the deployment's settings, in the order a user would fix them.
    pub fn from_env(env: &Env, ci: &ci::Context) -> Result<Deploy, SettingsError> {
        let Place {
            app,
            environment,
            region,
            endpoint,
        } = Place::from_env(env)?;
        let origin = origin(env, ci)?;
        let commit = commit(env, ci);
        let wait_rollout = boolean(env.get(WAIT_ROLLOUT.var), WAIT_ROLLOUT)?;
        Ok(Deploy {
            app,
            environment,
            region,
            endpoint,
            origin,
            commit,
            wait_rollout,
        })
    }
}

/// An app or environment name: 1 to 40 characters, one line, no `/`.
fn name(env: &Env, n: Name, default: Option<&str>, fix: &str) -> Result<String, SettingsError> {
    let Some(v) = env.get(n.var).or(default) else {
        return Err(SettingsError::of(n, None, "it is required", fix));
    };
    let count = v.chars().count();
    if count == 0 || count > NAME_MAX || v.contains(['/', '\n', '\r']) || v.trim() != v {
        return Err(SettingsError::of(
            n,
            Some(v),
            &format!(
                "a name is 1 to {NAME_MAX} characters, one line, without / or spaces at its ends"
            ),
            fix,
        ));
    }
    Ok(v.to_string())
}

/// A folder or zip (`source`, `source-type`), or a Git ref (`git-ref`, else the CI's branch).
fn origin(env: &Env, ci: &ci::Context) -> Result<Origin, SettingsError> {
    let source = Source::from_env(env)?;
    let source_type = env.get(SOURCE_TYPE.var);
    let git_ref = env.get(GIT_REF.var);
    if let (Some(_), Some(r)) = (&source, git_ref) {
        return Err(SettingsError::of(
            GIT_REF,
            Some(r),
            "it is set together with AMPLIFY_SOURCE (input source)",
            "set one: source to upload a folder or zip, or git-ref to deploy a branch or tag of the connected repository",
        ));
    }
    if let (None, Some(t)) = (&source, source_type) {
        return Err(SettingsError::of(
            SOURCE_TYPE,
            Some(t),
            "it says how an uploaded source is treated, and no source is given",
            "set source to the folder or .zip to upload, or leave source-type empty",
        ));
    }
    if let Some(source) = source {
        if let Source::Url { .. } = source {
            return Err(SettingsError::of(
                SOURCE,
                None,
                "the new AWS Amplify takes an uploaded folder or zip, not a URL",
                "set source to a folder or a .zip",
            ));
        }
        let kind = match source_type.map(str::to_ascii_lowercase).as_deref() {
            None | Some("prebuilt") => SourceType::Prebuilt,
            Some("source") => SourceType::Source,
            Some(_) => {
                return Err(SettingsError::of(
                    SOURCE_TYPE,
                    source_type,
                    "not a source type",
                    "use prebuilt (served as uploaded, the default) or source (Amplify builds it), any case",
                ));
            }
        };
        return Ok(Origin::Upload(source, kind));
    }
    let git = match git_ref {
        Some(r) => Sourced {
            value: r.to_string(),
            from: GIT_REF.var.into(),
        },
        None => ci.branch.clone().map_err(|why| {
            SettingsError::of(
                GIT_REF,
                None,
                &format!("there is no source to upload and no Git ref to deploy ({why})"),
                "set source to the folder your build wrote, or git-ref to a branch or tag of the app's repository",
            )
        })?,
    };
    if git.value.chars().count() > GIT_REF_MAX || git.value.contains(['\n', '\r']) {
        return Err(SettingsError::new(
            &git.from,
            Some(GIT_REF.input),
            Some(&git.value),
            &format!("a Git ref is one line of at most {GIT_REF_MAX} characters"),
            "name a branch or tag, e.g. main or v1.2.0",
        ));
    }
    Ok(Origin::Git(git))
}

/// The run's commit: `commit-id`, else the CI's; its subject from `commit-message` or the CI.
pub fn commit(env: &Env, ci: &ci::Context) -> Commit {
    let id = match env.get(COMMIT_ID.var) {
        Some(c) => Some(Sourced {
            value: c.to_string(),
            from: COMMIT_ID.var.into(),
        }),
        None => ci.commit_id.clone(),
    };
    let message = env
        .get("AMPLIFY_COMMIT_MESSAGE")
        .map(str::to_string)
        .or_else(|| {
            let id = id.as_ref()?;
            ci.commit_details(&id.value).message.map(|m| m.value)
        });
    let subject = message.and_then(|m| m.lines().next().map(|l| l.trim().to_string()));
    Commit {
        id,
        subject: subject.filter(|s| !s.is_empty()),
    }
}

/// Both `app-id` and `app-name`: one service or the other.
pub fn both_apps(app_id: &str, app_name: &str) -> SettingsError {
    SettingsError::new(
        "AMPLIFY_APP_ID",
        Some("app-id"),
        Some(app_id),
        &format!(
            "it is set together with AMPLIFY_APP_NAME (input app-name) {}: app-id names an Amplify Hosting app, app-name an app of the new AWS Amplify",
            show(app_name)
        ),
        "set one of them",
    )
}
