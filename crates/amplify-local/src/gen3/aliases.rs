//! Aliases: each environment has one (`Type: ENVIRONMENT`, named as the environment) with a
//! stable URL and the deployment it routes to. A rollout preset other than `ALL_AT_ONCE` moves
//! the traffic to a new deployment in stages (a read of the alias is a stage, or
//! `--rollout-stage-seconds` each), then `COMPLETED`. `UpdateAliasRouting` promotes or rolls
//! back (refused while a rollout runs), `CancelGradualRollout` sends the traffic back.

use serde_json::{Value, json};

use crate::answer::json_object;
use crate::gen3::apps::{Gen3Environment, PRESETS, environment};
use crate::gen3::routes::{ACCOUNT_ARN, paged, validation};
use crate::http::{Request, Response};
use crate::state::{Config, State, now};

/// A gradual rollout: from the deployment that served to the new one, in stages.
#[derive(Debug, Clone)]
pub struct RolloutRecord {
    pub app: String,
    pub environment: String,
    pub from: String,
    pub to: String,
    /// Each stage's weight of traffic on the new deployment, the last 100.
    pub stages: Vec<u32>,
    pub current: usize,
    pub status: String,
    pub started: f64,
    pub stage_started: f64,
    pub ended: Option<f64>,
}

/// The stages of a preset: a canary sends 10% first, a linear one 10% more each step.
fn stages(preset: &str) -> Vec<u32> {
    if preset.starts_with("CANARY") {
        vec![10, 100]
    } else if preset.starts_with("LINEAR") {
        (1..=10).map(|i| i * 10).collect()
    } else {
        vec![100]
    }
}

/// A new success of environment `e`: served at once, or rolled out from what served.
pub fn route(app: &str, e: &Gen3Environment, id: &str, s: &mut State) {
    start(app, &e.name, &e.preset, id, s);
}

/// Moves the environment's traffic to `id` as `preset` says: at once, or in stages from what
/// served. The rollout started, if one did.
fn start(app: &str, env: &str, preset: &str, id: &str, s: &mut State) -> Option<RolloutRecord> {
    let before = active(app, env, s);
    let staged = stages(preset);
    match before {
        Some(from) if staged.len() > 1 && from != id => {
            let t = now();
            s.gen3
                .rollouts
                .retain(|r| !(r.app == app && r.environment == env && r.status == "IN_PROGRESS"));
            let r = RolloutRecord {
                app: app.to_string(),
                environment: env.to_string(),
                from,
                to: id.to_string(),
                stages: staged,
                current: 0,
                status: "IN_PROGRESS".into(),
                started: t,
                stage_started: t,
                ended: None,
            };
            s.gen3.rollouts.push(r.clone());
            Some(r)
        }
        _ => {
            set_route(app, env, id, s);
            None
        }
    }
}

/// The environment serves `id`, all of its traffic.
pub fn set_route(app: &str, env: &str, id: &str, s: &mut State) {
    s.gen3.routes.retain(|(a, e, _)| !(a == app && e == env));
    s.gen3
        .routes
        .push((app.to_string(), env.to_string(), id.to_string()));
}

/// The deployment the environment's alias routes all its traffic to.
pub fn active(app: &str, env: &str, s: &State) -> Option<String> {
    s.gen3
        .routes
        .iter()
        .find(|(a, e, _)| a == app && e == env)
        .map(|(_, _, id)| id.clone())
}

/// One stage of the environment's rollout, when its time has come.
fn advance(app: &str, env: &str, config: &Config, s: &mut State) {
    let t = now();
    let Some(r) = s
        .gen3
        .rollouts
        .iter_mut()
        .find(|r| r.app == app && r.environment == env && r.status == "IN_PROGRESS")
    else {
        return;
    };
    if t - r.stage_started < config.rollout_stage_secs {
        return;
    }
    r.current += 1;
    r.stage_started = t;
    if r.current + 1 >= r.stages.len() {
        r.current = r.stages.len() - 1;
        r.status = "COMPLETED".into();
        r.ended = Some(t);
        let to = r.to.clone();
        set_route(app, env, &to, s);
    }
}

/// Ends the environment's rollout in progress `CANCELLED`: what served goes on serving.
pub fn cancel_rollout(app: &str, env: &str, s: &mut State) {
    let t = now();
    for r in s.gen3.rollouts.iter_mut() {
        if r.app == app && r.environment == env && r.status == "IN_PROGRESS" {
            r.status = "CANCELLED".into();
            r.ended = Some(t);
        }
    }
}

/// The alias's name: the environment's, lower-cased, `[a-z0-9-]` (a guess).
fn alias_name(env: &str) -> String {
    let n: String = env
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let n = n.trim_matches('-').to_string();
    if n.len() < 2 { format!("{n}-env") } else { n }
}

/// The environment's stable URL: `https://<app>.amplify.app` for production, else
/// `https://<env>-<4 hex>--<app>.amplify.app` (the documented forms).
fn url(app: &str, env: &str) -> String {
    let app = app.to_ascii_lowercase();
    if env == "production" {
        return format!("https://{app}.amplify.app");
    }
    let h = env
        .bytes()
        .chain(app.bytes())
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    format!(
        "https://{}-{:04x}--{app}.amplify.app",
        alias_name(env),
        h & 0xffff
    )
}

fn alias_json(app: &str, e: &Gen3Environment, config: &Config, s: &State, full: bool) -> Value {
    let name = alias_name(&e.name);
    let mut v = json!({
        "AliasName": name,
        "AliasArn": format!("arn:aws:amplifygen3:{}:{ACCOUNT_ARN}:app/{app}/environment/{}/alias/{name}", config.region, e.name),
        "Type": "ENVIRONMENT",
        "Url": url(app, &e.name),
        "CreatedAt": 1_764_547_200,
    });
    let rollout = s
        .gen3
        .rollouts
        .iter()
        .rev()
        .find(|r| r.app == app && r.environment == e.name);
    let in_progress = rollout.filter(|r| r.status == "IN_PROGRESS");
    if let Some(r) = in_progress {
        let w = r.stages[r.current];
        v["RoutingConfig"] = json!([{"DeploymentId": r.from, "Weight": 100 - w}]);
    } else if let Some(id) = active(app, &e.name, s) {
        v["RoutingConfig"] = json!([{"DeploymentId": id, "Weight": 100}]);
    }
    if full {
        v["GradualRolloutConfig"] = json!({"PresetConfig": {"Preset": e.preset}});
        if let Some(r) = rollout {
            v["GradualRolloutState"] = state_json(r, config);
        }
    }
    v
}

/// `GradualRolloutState`: each stage's weight and the time it takes effect.
fn state_json(r: &RolloutRecord, config: &Config) -> Value {
    let schedule: Vec<Value> = r
        .stages
        .iter()
        .enumerate()
        .map(|(i, w)| json!({"Weight": w, "EffectiveAt": r.started + i as f64 * config.rollout_stage_secs}))
        .collect();
    let mut state = json!({
        "Status": r.status,
        "SourceRoutingConfig": [{"DeploymentId": r.from, "Weight": 100}],
        "TargetRoutingConfig": [{"DeploymentId": r.to, "Weight": 100}],
        "Schedule": schedule,
        "CurrentStageIndex": r.current,
        "StartedAt": r.started,
    });
    if let Some(t) = r.ended {
        state["EndedAt"] = json!(t);
    }
    state
}

/// `GET .../aliases`: the environment's alias.
pub fn list(app: &str, env: &str, req: &Request, config: &Config, s: &mut State) -> Response {
    let e = match environment(config, app, env) {
        Ok((_, e)) => e,
        Err(r) => return r,
    };
    advance(app, env, config, s);
    let items = vec![alias_json(app, &e, config, s, false)];
    paged(
        req,
        &mut s.gen3,
        &format!("al-{app}-{env}"),
        "Aliases",
        items,
    )
}

/// `GET .../aliases/{AliasName}`: with the rollout's state.
pub fn get(app: &str, env: &str, name: &str, config: &Config, s: &mut State) -> Response {
    let e = match environment(config, app, env) {
        Ok((_, e)) => e,
        Err(r) => return r,
    };
    if name != alias_name(env) {
        return not_found_alias(name);
    }
    advance(app, env, config, s);
    Response::json(200, &alias_json(app, &e, config, s, true))
}

fn not_found_alias(name: &str) -> Response {
    crate::gen3::routes::error(
        404,
        "ResourceNotFoundException",
        &format!("Alias {name} not found."),
    )
}

fn in_progress<'a>(app: &str, env: &str, s: &'a State) -> Option<&'a RolloutRecord> {
    s.gen3
        .rollouts
        .iter()
        .find(|r| r.app == app && r.environment == env && r.status == "IN_PROGRESS")
}

/// The one route of `RoutingConfig` (the model allows exactly one), and the preset asked for.
fn routing_request(body: &Value) -> Result<(String, u64, Option<String>), Response> {
    let routes = body.get("RoutingConfig").and_then(Value::as_array);
    let Some([route]) = routes.map(Vec::as_slice) else {
        return Err(validation(
            "1 validation error detected: Value at 'routingConfig' failed to satisfy constraint: Member must have length less than or equal to 1 and greater than or equal to 1",
        ));
    };
    let id = route
        .get("DeploymentId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !crate::gen3::deployments::valid_id(id) {
        return Err(validation(&format!(
            "1 validation error detected: Value '{id}' at 'routingConfig.1.member.deploymentId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9]{{10}}"
        )));
    }
    let weight = route.get("Weight").and_then(Value::as_u64);
    let Some(weight) = weight.filter(|w| *w <= 100) else {
        return Err(validation(
            "1 validation error detected: Value at 'routingConfig.1.member.weight' failed to satisfy constraint: Member must have value less than or equal to 100",
        ));
    };
    let preset = match body.get("GradualRolloutConfig") {
        None | Some(Value::Null) => None,
        Some(c) => match c.pointer("/PresetConfig/Preset").and_then(Value::as_str) {
            Some(p) if PRESETS.contains(&p) => Some(p.to_string()),
            _ => {
                return Err(validation(&format!(
                    "1 validation error detected: Value at 'gradualRolloutConfig.presetConfig.preset' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    PRESETS.join(", ")
                )));
            }
        },
    };
    Ok((id.to_string(), weight, preset))
}

/// `PATCH .../aliases/{AliasName}`: promote or roll back. One route of weight 100 to a
/// `SUCCEEDED` deployment of the environment; refused (409) while a rollout is in progress; the
/// preview environment moves only at once.
pub fn update_routing(
    app: &str,
    env: &str,
    name: &str,
    req: &Request,
    config: &Config,
    s: &mut State,
) -> Response {
    let e = match environment(config, app, env) {
        Ok((_, e)) => e,
        Err(r) => return r,
    };
    if name != alias_name(env) {
        return not_found_alias(name);
    }
    let body = match json_object(&req.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (id, weight, preset) = match routing_request(&body) {
        Ok(asked) => asked,
        Err(r) => return r,
    };
    let preset = preset.unwrap_or_else(|| e.preset.clone());
    if e.kind() == "PREVIEW" && preset != "ALL_AT_ONCE" {
        return validation(&format!(
            "Gradual rollouts are not supported for the preview environment: use ALL_AT_ONCE, not {preset}."
        ));
    }
    advance(app, env, config, s);
    if let Some(r) = in_progress(app, env, s) {
        return crate::gen3::routes::error(
            409,
            "ConflictException",
            &format!(
                "A gradual rollout to deployment {} is in progress for alias {name} (stage {} of {}). Cancel it or wait until it completes.",
                r.to,
                r.current + 1,
                r.stages.len()
            ),
        );
    }
    let found = s
        .gen3
        .deployments
        .iter()
        .find(|d| d.app == app && d.environment == env && d.id == id);
    match found.map(|d| d.status.as_str()) {
        None => {
            return crate::gen3::routes::error(
                404,
                "ResourceNotFoundException",
                &format!("Deployment {id} not found."),
            );
        }
        Some("SUCCEEDED") => {}
        Some(status) => {
            return validation(&format!(
                "Deployment {id} is {status}: only a SUCCEEDED deployment can receive traffic."
            ));
        }
    }
    if weight != 100 {
        return validation(
            "The routing configuration must send all traffic (Weight 100) to one deployment.",
        );
    }
    match start(app, env, &preset, &id, s) {
        Some(r) => Response::json(200, &json!({"GradualRolloutState": state_json(&r, config)})),
        None => Response::json(200, &json!({})),
    }
}

/// `POST .../aliases/{AliasName}/rollout/cancel`: the rollout in progress ends `CANCELLED` and
/// all traffic goes back to what served; none in progress is a `ConflictException` (a guess).
pub fn cancel(app: &str, env: &str, name: &str, config: &Config, s: &mut State) -> Response {
    if let Err(r) = environment(config, app, env) {
        return r;
    }
    if name != alias_name(env) {
        return not_found_alias(name);
    }
    advance(app, env, config, s);
    if in_progress(app, env, s).is_none() {
        return crate::gen3::routes::error(
            409,
            "ConflictException",
            &format!("No gradual rollout is in progress for alias {name}."),
        );
    }
    cancel_rollout(app, env, s);
    Response::json(200, &json!({}))
}
