//! Apps and environments: the ones `--gen3-app` declares, or, without a declaration, every
//! well-formed name, with the `preview` and `production` environments every app has.

use serde_json::{Value, json};

use crate::gen3::routes::{ACCOUNT_ARN, paged};
use crate::http::{Request, Response};
use crate::state::Config;

/// An app of the new service as `--gen3-app` declares it.
#[derive(Debug, Clone)]
pub struct Gen3App {
    pub name: String,
    /// A connected repository: a Git deployment needs one.
    pub connected: bool,
    pub environments: Vec<Gen3Environment>,
}

#[derive(Debug, Clone)]
pub struct Gen3Environment {
    pub name: String,
    /// `AUTO_ROUTE_TO_LATEST` or `MANUAL`.
    pub routing_mode: String,
    /// The rollout preset (`ALL_AT_ONCE`, `CANARY_10_PERCENT_5_MINUTES`, ...).
    pub preset: String,
}

impl Gen3App {
    /// `NAME[,ENV[:manual][:PRESET]]...[,no-repo]`: `preview` and `production` always exist.
    pub fn parse(spec: &str) -> Option<Gen3App> {
        let mut parts = spec.split(',');
        let name = parts.next()?.trim().to_string();
        if !valid_name(&name) {
            return None;
        }
        let mut app = Gen3App {
            name,
            connected: true,
            environments: Vec::new(),
        };
        for part in parts.map(str::trim).filter(|p| !p.is_empty()) {
            if part == "no-repo" {
                app.connected = false;
                continue;
            }
            let mut bits = part.split(':');
            let env = bits.next()?.to_string();
            if !valid_name(&env) {
                return None;
            }
            let mut e = Gen3Environment::new(&env);
            for bit in bits {
                match bit {
                    "manual" => e.routing_mode = "MANUAL".into(),
                    p if PRESETS.contains(&p) => e.preset = p.into(),
                    _ => return None,
                }
            }
            app.environments.retain(|x| x.name != e.name);
            app.environments.push(e);
        }
        for must in ["preview", "production"] {
            if !app.environments.iter().any(|e| e.name == must) {
                app.environments.push(Gen3Environment::new(must));
            }
        }
        Some(app)
    }

    /// An app nobody declared: connected, with `preview` and `production`.
    fn default_for(name: &str) -> Gen3App {
        Gen3App::parse(name).expect("a valid name")
    }
}

impl Gen3Environment {
    fn new(name: &str) -> Gen3Environment {
        Gen3Environment {
            name: name.to_string(),
            routing_mode: "AUTO_ROUTE_TO_LATEST".into(),
            preset: "ALL_AT_ONCE".into(),
        }
    }

    /// `PREVIEW`, `PRODUCTION`, or `CUSTOM` for any other.
    pub fn kind(&self) -> &'static str {
        match self.name.as_str() {
            "preview" => "PREVIEW",
            "production" => "PRODUCTION",
            _ => "CUSTOM",
        }
    }
}

/// The rollout presets of the model.
pub const PRESETS: [&str; 7] = [
    "ALL_AT_ONCE",
    "CANARY_10_PERCENT_5_MINUTES",
    "CANARY_10_PERCENT_15_MINUTES",
    "CANARY_10_PERCENT_30_MINUTES",
    "LINEAR_10_PERCENT_EVERY_1_MINUTE",
    "LINEAR_10_PERCENT_EVERY_3_MINUTES",
    "LINEAR_10_PERCENT_EVERY_10_MINUTES",
];

/// `AppName`, `EnvironmentName`: 1 to 40 characters (the model's only limit); no `/`.
pub fn valid_name(n: &str) -> bool {
    (1..=40).contains(&n.chars().count()) && !n.contains(['/', '\n'])
}

/// The app `name`, or AWS's 404.
pub fn app(config: &Config, name: &str) -> Result<Gen3App, Response> {
    if !valid_name(name) {
        return Err(crate::gen3::routes::validation(&format!(
            "1 validation error detected: Value '{}' at 'appName' failed to satisfy constraint: Member must have length between 1 and 40",
            name
        )));
    }
    if config.gen3_apps.is_empty() {
        return Ok(Gen3App::default_for(name));
    }
    config
        .gen3_apps
        .iter()
        .find(|a| a.name == name)
        .cloned()
        .ok_or_else(|| {
            crate::gen3::routes::error(
                404,
                "ResourceNotFoundException",
                &format!("App {name} not found."),
            )
        })
}

/// The environment `env` of app `name`, or AWS's 404.
pub fn environment(
    config: &Config,
    name: &str,
    env: &str,
) -> Result<(Gen3App, Gen3Environment), Response> {
    let app = app(config, name)?;
    if !valid_name(env) {
        return Err(crate::gen3::routes::validation(&format!(
            "1 validation error detected: Value '{}' at 'environmentName' failed to satisfy constraint: Member must have length between 1 and 40",
            env
        )));
    }
    let found = app.environments.iter().find(|e| e.name == env).cloned();
    match found {
        Some(e) => Ok((app, e)),
        None => Err(crate::gen3::routes::error(
            404,
            "ResourceNotFoundException",
            &format!("Environment {env} not found for app {name}."),
        )),
    }
}

fn app_json(a: &Gen3App, region: &str) -> Value {
    let mut v = json!({
        "AppName": a.name,
        "AppArn": format!("arn:aws:amplifygen3:{region}:{ACCOUNT_ARN}:app/{}", a.name),
        "CreatedAt": 1_764_547_200,
        "Web": {"BuildConfig": {"InstallCommand": "npm ci", "BuildCommand": "npm run build", "OutputDirectory": "dist"}},
    });
    if a.connected {
        v["SourceConfig"] = json!({"GitHubSource": {"RepositoryUrl": format!("https://github.com/example/{}", a.name)}});
    }
    v
}

fn environment_json(a: &Gen3App, e: &Gen3Environment, region: &str) -> Value {
    json!({
        "AppName": a.name,
        "EnvironmentName": e.name,
        "EnvironmentArn": format!("arn:aws:amplifygen3:{region}:{ACCOUNT_ARN}:app/{}/environment/{}", a.name, e.name),
        "Type": e.kind(),
        "EnvironmentRoleArn": format!("arn:aws:iam::{ACCOUNT_ARN}:role/amplify-{}-{}", a.name, e.name),
        "CreatedAt": 1_764_547_200,
        "Web": {"EnvironmentAliasConfig": {"RoutingMode": e.routing_mode}},
        "GradualRolloutConfig": {"PresetConfig": {"Preset": e.preset}},
    })
}

/// `GET /apps`: the declared apps (without a declaration there is nothing to list).
pub fn list_apps(req: &Request, config: &Config, s: &mut crate::gen3::State) -> Response {
    let apps: Vec<Value> = config
        .gen3_apps
        .iter()
        .map(|a| app_json(a, &config.region))
        .collect();
    paged(req, s, "apps", "Apps", apps)
}

/// `GET /apps/{AppName}`.
pub fn get_app(name: &str, config: &Config) -> Response {
    match app(config, name) {
        Ok(a) => Response::json(200, &app_json(&a, &config.region)),
        Err(r) => r,
    }
}

/// `GET /apps/{AppName}/environments`.
pub fn list_environments(
    name: &str,
    req: &Request,
    config: &Config,
    s: &mut crate::gen3::State,
) -> Response {
    let a = match app(config, name) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let envs = a
        .environments
        .iter()
        .map(|e| environment_json(&a, e, &config.region))
        .collect();
    paged(req, s, &format!("env-{name}"), "Environments", envs)
}

/// `GET /apps/{AppName}/environments/{EnvironmentName}`.
pub fn get_environment(name: &str, env: &str, config: &Config) -> Response {
    match environment(config, name, env) {
        Ok((a, e)) => Response::json(200, &environment_json(&a, &e, &config.region)),
        Err(r) => r,
    }
}
