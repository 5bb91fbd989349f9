//! Deployments: made `QUEUED` (a guess), then `IN_PROGRESS`, then the configured outcome, one
//! status a step (each `GetDeployment` of the environment is a step, or at least
//! `--step-seconds` each). Deployments from one source run one at a time in an environment (all
//! uploads are one source, each Git ref another); a newer one supersedes the older waiting ones,
//! which end `CANCELLED` with `COLLAPSED`. A success becomes the environment's active
//! deployment unless it routes by hand (`MANUAL`), or starts a gradual rollout. No operation
//! stops a deployment. Past 50 successful ones per environment the oldest expire.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::answer::json_object;
use crate::gen3::aliases;
use crate::gen3::apps::{Gen3Environment, environment};
use crate::gen3::routes::{ACCOUNT_ARN, paged, validation};
use crate::http::{Request, Response};
use crate::state::{Config, State, now};

/// Where a deployment's code came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Upload { id: String, kind: String },
    Git { git_ref: String, commit_id: String },
}

impl Source {
    /// Deployments from one source run one at a time: uploads are one, each Git ref another.
    fn key(&self) -> String {
        match self {
            Source::Upload { .. } => "upload".into(),
            Source::Git { git_ref, .. } => format!("git:{git_ref}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub app: String,
    pub environment: String,
    pub id: String,
    pub status: String,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub source: Source,
    pub created: f64,
    pub started: Option<f64>,
    pub ended: Option<f64>,
    pub expired: Option<f64>,
    /// When the status last changed, for `--step-seconds`.
    pub changed: f64,
}

/// Successful deployments kept per environment before the oldest expire.
const KEPT: usize = 50;

fn is_final(status: &str) -> bool {
    matches!(status, "SUCCEEDED" | "FAILED" | "CANCELLED" | "EXPIRED")
}

/// The id's pattern: `[a-z0-9]{10}`.
pub fn valid_id(id: &str) -> bool {
    id.len() == 10
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `POST /apps/{AppName}/environments/{EnvironmentName}/deployments`.
pub fn create(app: &str, env: &str, req: &Request, config: &Config, s: &mut State) -> Response {
    let (a, _) = match environment(config, app, env) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let body = match json_object(&req.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let source = match source(&body, a.connected, config, s) {
        Ok(src) => src,
        Err(r) => return r,
    };
    let description = body
        .get("Description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if description.chars().count() > 256 {
        return validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256",
        );
    }
    let tags: BTreeMap<String, String> = match body.get("Tags") {
        None => BTreeMap::new(),
        Some(t) => match serde_json::from_value(t.clone()) {
            Ok(t) => t,
            Err(_) => return validation("Tags must map strings to strings"),
        },
    };
    let d = add(app, env, "QUEUED", description, tags, source, s);
    Response::json(
        200,
        &json!({"DeploymentId": d.id, "DeploymentArn": arn(&d, &config.region), "Status": "QUEUED"}),
    )
}

/// A new deployment in `status`; a `QUEUED` one supersedes the older waiting ones from its
/// source.
pub(crate) fn add(
    app: &str,
    env: &str,
    status: &str,
    description: &str,
    tags: BTreeMap<String, String>,
    source: Source,
    s: &mut State,
) -> Deployment {
    // Each deployment is created after the one before (a listing's order is its creation's).
    let last = s
        .gen3
        .deployments
        .iter()
        .map(|d| d.created)
        .fold(0.0, f64::max);
    let t = now().max(last + 0.001);
    let id = format!(
        "{:010x}",
        crate::state::scramble(s.gen3.deployments.len() + 11) % 0xff_ffff_ffff
    );
    let key = source.key();
    if status == "QUEUED" {
        for older in s.gen3.deployments.iter_mut().filter(|d| {
            d.app == app && d.environment == env && d.status == "QUEUED" && d.source.key() == key
        }) {
            older.status = "CANCELLED".into();
            older.reason_code = Some("COLLAPSED".into());
            older.reason = Some(format!(
                "A newer deployment from the same source, {id}, replaced it."
            ));
            older.ended = Some(t);
            older.changed = t;
        }
    }
    let d = Deployment {
        app: app.to_string(),
        environment: env.to_string(),
        id,
        status: status.to_string(),
        reason_code: None,
        reason: None,
        description: description.to_string(),
        tags,
        source,
        created: t,
        started: (status != "QUEUED").then_some(t),
        ended: is_final(status).then_some(t),
        expired: None,
        changed: t,
    };
    s.gen3.deployments.push(d.clone());
    d
}

/// A deployment another run made from uploads (see `Server::gen3_seed_deployment`).
pub fn seed(app: &str, env: &str, status: &str, s: &mut State) -> String {
    let source = Source::Upload {
        id: "su-seeded".into(),
        kind: "PREBUILT_ARTIFACT".into(),
    };
    let d = add(app, env, status, "seeded", BTreeMap::new(), source, s);
    if status == "SUCCEEDED" {
        crate::gen3::aliases::set_route(app, env, &d.id, s);
    }
    d.id
}

/// The `SourceConfig` union: exactly one of `GitSource` and `ManualUploadSource`.
fn source(body: &Value, connected: bool, config: &Config, s: &State) -> Result<Source, Response> {
    let sc = body.get("SourceConfig").and_then(Value::as_object);
    let members: Vec<&String> = sc.map(|o| o.keys().collect()).unwrap_or_default();
    if members.len() != 1 {
        return Err(validation(
            "SourceConfig must set exactly one of GitSource and ManualUploadSource",
        ));
    }
    let sc = sc.expect("one member");
    if let Some(git) = sc.get("GitSource") {
        let git_ref = git
            .get("GitRef")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !(1..=256).contains(&git_ref.chars().count()) {
            return Err(validation(
                "1 validation error detected: Value at 'sourceConfig.gitSource.gitRef' failed to satisfy constraint: Member must have length between 1 and 256",
            ));
        }
        if !connected {
            return Err(validation(
                "The app has no connected repository: a Git deployment needs one.",
            ));
        }
        let commit_id = config
            .gen3_commit
            .clone()
            .unwrap_or_else(|| fake_sha(git_ref));
        return Ok(Source::Git {
            git_ref: git_ref.to_string(),
            commit_id,
        });
    }
    let up = sc.get("ManualUploadSource").cloned().unwrap_or(Value::Null);
    let id = up
        .get("SourceUploadId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = up
        .get("SourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !["SOURCE_CODE", "PREBUILT_ARTIFACT"].contains(&kind) {
        return Err(validation(&format!(
            "1 validation error detected: Value '{kind}' at 'sourceConfig.manualUploadSource.sourceType' failed to satisfy constraint: Member must satisfy enum value set: [SOURCE_CODE, PREBUILT_ARTIFACT]"
        )));
    }
    match s.gen3.uploads.iter().find(|u| u.id == id) {
        Some(u) if u.size.is_some() => Ok(Source::Upload {
            id: id.to_string(),
            kind: kind.to_string(),
        }),
        Some(_) => Err(validation(&format!(
            "Source upload {id} has no uploaded file."
        ))),
        None => Err(crate::gen3::routes::error(
            404,
            "ResourceNotFoundException",
            &format!("Source upload {id} not found."),
        )),
    }
}

/// A commit id for a Git ref, as the connected repository would give (40 hex, stable).
fn fake_sha(git_ref: &str) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(git_ref.as_bytes());
    d.iter().take(20).map(|b| format!("{b:02x}")).collect()
}

fn arn(d: &Deployment, region: &str) -> String {
    format!(
        "arn:aws:amplifygen3:{region}:{ACCOUNT_ARN}:app/{}/environment/{}/deployment/{}",
        d.app, d.environment, d.id
    )
}

/// The deployment's own host (a guess at AWS's form).
fn domain(d: &Deployment) -> String {
    format!("{}--{}.amplify.app", d.id, d.app.to_ascii_lowercase())
}

/// One step of the environment's deployments (see the module's comment).
pub fn tick(app: &str, env: &str, config: &Config, s: &mut State) {
    let Ok((_, e)) = environment(config, app, env) else {
        return;
    };
    let t = now();
    let ids: Vec<usize> = (0..s.gen3.deployments.len())
        .filter(|i| {
            let d = &s.gen3.deployments[*i];
            d.app == app && d.environment == env && !is_final(&d.status)
        })
        .collect();
    for i in ids {
        let key = s.gen3.deployments[i].source.key();
        let busy = s.gen3.deployments.iter().enumerate().any(|(j, o)| {
            j != i
                && o.app == app
                && o.environment == env
                && o.status == "IN_PROGRESS"
                && o.source.key() == key
        });
        let d = &mut s.gen3.deployments[i];
        if d.status == "QUEUED" && busy {
            d.reason_code = Some("OTHER_DEPLOYMENT_IN_PROGRESS".into());
            continue;
        }
        if t - d.changed < config.step_secs {
            continue;
        }
        match d.status.as_str() {
            "QUEUED" => {
                d.status = "IN_PROGRESS".into();
                d.reason_code = None;
                d.started = Some(t);
                d.changed = t;
            }
            _ => {
                let ok = config.outcome == "SUCCEED";
                d.status = if ok { "SUCCEEDED" } else { "FAILED" }.into();
                if !ok {
                    let code = config
                        .gen3_fail_reason
                        .clone()
                        .unwrap_or_else(|| "BUILD_FAILED".into());
                    d.reason = Some(format!("The deployment failed: {code}."));
                    d.reason_code = Some(code);
                }
                d.ended = Some(t);
                d.changed = t;
                if ok {
                    let id = d.id.clone();
                    succeeded(app, &e, &id, s);
                }
            }
        }
    }
}

/// A success: the environment serves it (or rolls it out, or waits for a promote), and the
/// oldest successful ones past 50 expire unless they serve.
fn succeeded(app: &str, e: &Gen3Environment, id: &str, s: &mut State) {
    if e.routing_mode != "MANUAL" {
        aliases::route(app, e, id, s);
    }
    let active = aliases::active(app, &e.name, s);
    let mut ok: Vec<usize> = (0..s.gen3.deployments.len())
        .filter(|i| {
            let d = &s.gen3.deployments[*i];
            d.app == app && d.environment == e.name && d.status == "SUCCEEDED"
        })
        .collect();
    ok.sort_by(|a, b| {
        s.gen3.deployments[*b]
            .created
            .total_cmp(&s.gen3.deployments[*a].created)
    });
    for i in ok.into_iter().skip(KEPT) {
        let d = &mut s.gen3.deployments[i];
        if active.as_deref() != Some(d.id.as_str()) {
            d.status = "EXPIRED".into();
            d.expired = Some(now());
        }
    }
}

/// The deployment as `GetDeployment` answers it (`full`) or as a listing does.
pub fn to_json(d: &Deployment, region: &str, full: bool) -> Value {
    let mut v = json!({
        "AppName": d.app,
        "DeploymentId": d.id,
        "DeploymentArn": arn(d, region),
        "EnvironmentName": d.environment,
        "Status": d.status,
        "Description": d.description,
        "DomainName": domain(d),
        "CreatedAt": d.created,
    });
    let set = |v: &mut Value, k: &str, x: Option<Value>| {
        if let Some(x) = x {
            v[k] = x;
        }
    };
    set(&mut v, "StartedAt", d.started.map(|t| json!(t)));
    set(&mut v, "EndedAt", d.ended.map(|t| json!(t)));
    set(&mut v, "ExpiredAt", d.expired.map(|t| json!(t)));
    set(&mut v, "StatusReason", d.reason.clone().map(Value::String));
    set(
        &mut v,
        "StatusReasonCode",
        d.reason_code.clone().map(Value::String),
    );
    v["SourceConfig"] = match &d.source {
        Source::Upload { id, kind } => {
            json!({"ManualUploadSource": {"SourceUploadId": id, "SourceType": kind}})
        }
        Source::Git { git_ref, commit_id } => json!({"GitSource": {
            "GitRef": git_ref, "RepositoryUrl": format!("https://github.com/example/{}", d.app),
            "CommitId": commit_id, "CommitMessage": "A commit", "Author": "octocat"}}),
    };
    if full {
        v["Steps"] = steps(d);
    }
    v
}

/// Build (not for a prebuilt upload), then Deploy.
fn steps(d: &Deployment) -> Value {
    let prebuilt = matches!(&d.source, Source::Upload { kind, .. } if kind == "PREBUILT_ARTIFACT");
    let (build, deploy) = match d.status.as_str() {
        "QUEUED" => ("NOT_STARTED", "NOT_STARTED"),
        "IN_PROGRESS" => ("IN_PROGRESS", "NOT_STARTED"),
        "SUCCEEDED" | "EXPIRED" => ("SUCCEEDED", "SUCCEEDED"),
        "FAILED" if prebuilt => ("SUCCEEDED", "FAILED"),
        "FAILED" => ("FAILED", "NOT_STARTED"),
        _ => ("NOT_STARTED", "NOT_STARTED"),
    };
    let mut v = json!({"Deploy": {"Status": deploy}});
    if !prebuilt {
        v["Build"] = json!({"Status": build});
    }
    v
}

/// `GET .../deployments/{DeploymentId}`: a step of the environment first.
pub fn get(app: &str, env: &str, id: &str, config: &Config, s: &mut State) -> Response {
    if let Err(r) = environment(config, app, env) {
        return r;
    }
    if !valid_id(id) {
        return validation(&format!(
            "1 validation error detected: Value '{id}' at 'deploymentId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9]{{10}}"
        ));
    }
    tick(app, env, config, s);
    match s
        .gen3
        .deployments
        .iter()
        .find(|d| d.app == app && d.environment == env && d.id == id)
    {
        Some(d) => Response::json(200, &to_json(d, &config.region, true)),
        None => crate::gen3::routes::error(
            404,
            "ResourceNotFoundException",
            &format!("Deployment {id} not found."),
        ),
    }
}

/// `GET .../deployments`: the environment's, newest first, paged.
pub fn list_for_environment(
    app: &str,
    env: &str,
    req: &Request,
    config: &Config,
    s: &mut State,
) -> Response {
    if let Err(r) = environment(config, app, env) {
        return r;
    }
    let mut ds: Vec<&Deployment> = s
        .gen3
        .deployments
        .iter()
        .filter(|d| d.app == app && d.environment == env)
        .collect();
    ds.sort_by(|a, b| b.created.total_cmp(&a.created));
    let items = ds
        .iter()
        .map(|d| to_json(d, &config.region, false))
        .collect();
    paged(
        req,
        &mut s.gen3,
        &format!("d-{app}-{env}"),
        "Deployments",
        items,
    )
}

/// `GET /apps/{AppName}/deployments`: the app's, newest first, paged.
pub fn list_for_app(app: &str, req: &Request, config: &Config, s: &mut State) -> Response {
    if let Err(r) = crate::gen3::apps::app(config, app) {
        return r;
    }
    let mut ds: Vec<&Deployment> = s.gen3.deployments.iter().filter(|d| d.app == app).collect();
    ds.sort_by(|a, b| b.created.total_cmp(&a.created));
    let items = ds
        .iter()
        .map(|d| to_json(d, &config.region, false))
        .collect();
    paged(req, &mut s.gen3, &format!("a-{app}"), "Deployments", items)
}
