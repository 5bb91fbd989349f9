//! Apps and branches: `GetApp`, `GetBranch`, `CreateBranch`, `DeleteBranch`, with the
//! 50-branch quota, a branch that is still being deleted, and the answer a second create of
//! the same branch gets.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::ACCOUNT;
use crate::answer::{aws_error, bad_request, constraint, json_object, offset_token, paging};
use crate::http::{Request, Response};
use crate::state::{Config, State, now};

/// Branches an app may have, as AWS enforces it.
pub const MAX_BRANCHES: usize = 50;
const STAGES: [&str; 5] = [
    "PRODUCTION",
    "BETA",
    "DEVELOPMENT",
    "EXPERIMENTAL",
    "PULL_REQUEST",
];

/// A branch the endpoint knows.
#[derive(Debug, Clone)]
pub struct BranchRecord {
    pub app_id: String,
    pub name: String,
    pub stage: String,
    pub display_name: String,
    pub enable_auto_build: bool,
    pub tags: BTreeMap<String, String>,
    pub enable_basic_auth: bool,
    /// base64 of `user:password`, as CreateBranch takes it.
    pub basic_auth_credentials: Option<String>,
    pub environment_variables: BTreeMap<String, String>,
    pub enable_skew_protection: bool,
    pub framework: String,
    /// While above 0, the branch is being deleted: `GetBranch` says it is gone and
    /// `CreateBranch` refuses it (counting down once per refusal).
    pub deleting: u32,
    pub create_time: f64,
}

impl BranchRecord {
    pub fn new(app_id: &str, name: &str, stage: &str) -> BranchRecord {
        BranchRecord {
            app_id: app_id.into(),
            name: name.into(),
            stage: stage.into(),
            display_name: display_name(name),
            enable_auto_build: true,
            tags: BTreeMap::new(),
            enable_basic_auth: false,
            basic_auth_credentials: None,
            environment_variables: BTreeMap::new(),
            enable_skew_protection: false,
            framework: String::new(),
            deleting: 0,
            create_time: now(),
        }
    }

    fn json(&self, region: &str) -> Value {
        let mut v = json!({
            "branchArn": format!("arn:aws:amplify:{region}:{ACCOUNT}:apps/{}/branches/{}", self.app_id, self.name),
            "branchName": self.name,
            "description": "",
            "tags": self.tags,
            "stage": self.stage,
            "displayName": self.display_name,
            "enableNotification": false,
            "createTime": self.create_time,
            "updateTime": self.create_time,
            "environmentVariables": self.environment_variables,
            "enableAutoBuild": self.enable_auto_build,
            "customDomains": [],
            "framework": self.framework,
            "activeJobId": "",
            "totalNumberOfJobs": "0",
            "enableBasicAuth": self.enable_basic_auth,
            "enableSkewProtection": self.enable_skew_protection,
            "ttl": "5",
            "enablePullRequestPreview": false,
        });
        if let Some(c) = &self.basic_auth_credentials {
            v["basicAuthCredentials"] = json!(c);
        }
        v
    }
}

/// The display name (the host's first label) AWS derives from a branch name: lower-cased, every
/// character outside `[a-z0-9-]` turned into `-`, never shortened (amplify-hosting #1270, #602,
/// #739, #208).
pub fn display_name(branch: &str) -> String {
    branch
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Whether the branch exists: with `Config::strict_branches`, only branches created or seeded;
/// otherwise every well-formed one (as `Config::apps` allows).
pub(crate) fn exists(app: &str, branch: &str, config: &Config, s: &State) -> bool {
    if !config.strict_branches {
        return true;
    }
    s.branches
        .iter()
        .any(|b| b.app_id == app && b.name == branch && b.deleting == 0)
}

fn record(app: &str, branch: &str, config: &Config, s: &State) -> Option<BranchRecord> {
    let known = s
        .branches
        .iter()
        .find(|b| b.app_id == app && b.name == branch);
    match known {
        Some(b) if b.deleting > 0 => None,
        Some(b) => Some(b.clone()),
        // Not strict: a branch nobody created exists as a production branch.
        None if !config.strict_branches => Some(BranchRecord::new(app, branch, "PRODUCTION")),
        None => None,
    }
}

fn not_found(branch: &str) -> Response {
    aws_error(
        404,
        "NotFoundException",
        &format!("Branch {branch} not found."),
    )
}

/// `GetApp`; `productionBranch` names the branch a test made the production one, else the
/// app's first branch of stage `PRODUCTION` (which branch AWS names is a guess).
pub(crate) fn get_app(app: &str, config: &Config, s: &State) -> Response {
    let t = now();
    let production = s.production_branches.get(app).cloned().or_else(|| {
        s.branches
            .iter()
            .find(|b| b.app_id == app && b.stage == "PRODUCTION")
            .map(|b| b.name.clone())
    });
    let mut answer = json!({ "app": {
        "appId": app,
        "appArn": format!("arn:aws:amplify:{}:{ACCOUNT}:apps/{app}", config.region),
        "name": app,
        "description": "",
        "repository": "",
        "platform": "WEB",
        "createTime": t,
        "updateTime": t,
        "environmentVariables": {},
        "defaultDomain": format!("{app}.amplifyapp.com"),
        "enableBranchAutoBuild": false,
        "enableBasicAuth": false,
    }});
    if let Some(b) = production {
        answer["app"]["productionBranch"] = json!({ "branchName": b });
    }
    Response::json(200, &answer)
}

pub(crate) fn get_branch(app: &str, branch: &str, config: &Config, s: &State) -> Response {
    match record(app, branch, config, s) {
        Some(b) => Response::json(200, &json!({ "branch": b.json(&config.region) })),
        None => not_found(branch),
    }
}

pub(crate) fn create_branch(app: &str, req: &Request, config: &Config, s: &mut State) -> Response {
    let body = match json_object(&req.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(name) = body.get("branchName").and_then(Value::as_str) else {
        return bad_request(
            "1 validation error detected: Value null at 'branchName' failed to satisfy constraint: Member must not be null".into(),
        );
    };
    if !(1..=255).contains(&name.chars().count()) {
        return constraint(
            name,
            "branchName",
            "Member must have length between 1 and 255",
        );
    }
    let stage = body.get("stage").and_then(Value::as_str).unwrap_or("NONE");
    if body.get("stage").is_some() && !STAGES.contains(&stage) {
        return constraint(
            stage,
            "stage",
            "Member must satisfy enum value set: [PRODUCTION, BETA, DEVELOPMENT, EXPERIMENTAL, PULL_REQUEST]",
        );
    }
    let tags: BTreeMap<String, String> = match body.get("tags") {
        None => BTreeMap::new(),
        Some(t) => match serde_json::from_value(t.clone()) {
            Ok(t) => t,
            Err(_) => {
                return aws_error(
                    400,
                    "SerializationException",
                    "tags must be a map of strings",
                );
            }
        },
    };
    if tags.len() > 50 {
        return constraint(
            "tags",
            "tags",
            "Member must have length less than or equal to 50",
        );
    }
    if let Some(b) = s
        .branches
        .iter_mut()
        .find(|b| b.app_id == app && b.name == name)
    {
        if b.deleting > 0 {
            b.deleting -= 1;
            let gone = b.deleting == 0;
            let msg = "Failed to create branch. The branch is deleting for the app. Please wait a few minutes before re-create this branch.".to_string();
            if gone {
                s.branches.retain(|b| !(b.app_id == app && b.name == name));
            }
            return bad_request(msg);
        }
        return bad_request(format!(
            "Failed to create branch. The branch {name} already exists for the app {app}"
        ));
    }
    if s.branches.iter().filter(|b| b.app_id == app).count() >= MAX_BRANCHES {
        return bad_request(
            "Failed to create branch. You have reached the maximum number of branches in this app."
                .into(),
        );
    }
    let mut b = BranchRecord::new(app, name, stage);
    match body.get("displayName") {
        None | Some(Value::Null) => {}
        Some(Value::String(d)) if d.chars().count() <= 255 => b.display_name = d.clone(),
        Some(Value::String(d)) => {
            return constraint(
                d,
                "displayName",
                "Member must have length less than or equal to 255",
            );
        }
        Some(_) => {
            return aws_error(
                400,
                "SerializationException",
                "displayName must be a string",
            );
        }
    }
    b.enable_auto_build = body
        .get("enableAutoBuild")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    b.tags = tags;
    if let Err(r) = settings(&body, &mut b) {
        return r;
    }
    let resp = Response::json(200, &json!({ "branch": b.json(&config.region) }));
    s.branches.push(b);
    resp
}

/// The CreateBranch members a preview is made with: basic auth, variables, skew protection,
/// framework, checked against the model's types and limits.
fn settings(body: &Value, b: &mut BranchRecord) -> Result<(), Response> {
    let serialization = |m: &str| {
        aws_error(
            400,
            "SerializationException",
            &format!("{m} has the wrong type"),
        )
    };
    match body.get("enableBasicAuth") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(on)) => b.enable_basic_auth = *on,
        Some(_) => return Err(serialization("enableBasicAuth")),
    }
    match body.get("basicAuthCredentials") {
        None | Some(Value::Null) => {}
        Some(Value::String(c)) if c.chars().count() <= 2000 => {
            b.basic_auth_credentials = Some(c.clone())
        }
        Some(Value::String(_)) => {
            return Err(constraint(
                "***",
                "basicAuthCredentials",
                "Member must have length less than or equal to 2000",
            ));
        }
        Some(_) => return Err(serialization("basicAuthCredentials")),
    }
    match body.get("environmentVariables") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let vars: BTreeMap<String, String> = serde_json::from_value(v.clone())
                .map_err(|_| serialization("environmentVariables"))?;
            if let Some((k, _)) = vars
                .iter()
                .find(|(k, v)| k.chars().count() > 255 || v.chars().count() > 5500)
            {
                return Err(constraint(
                    k,
                    "environmentVariables",
                    "Member must have length less than or equal to 255 (key) and 5500 (value)",
                ));
            }
            b.environment_variables = vars;
        }
    }
    match body.get("enableSkewProtection") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(on)) => b.enable_skew_protection = *on,
        Some(_) => return Err(serialization("enableSkewProtection")),
    }
    match body.get("framework") {
        None | Some(Value::Null) => {}
        Some(Value::String(f)) if f.chars().count() <= 255 => b.framework = f.clone(),
        Some(Value::String(f)) => {
            return Err(constraint(
                f,
                "framework",
                "Member must have length less than or equal to 255",
            ));
        }
        Some(_) => return Err(serialization("framework")),
    }
    Ok(())
}

/// `GET /apps/{appId}/branches`: the app's branches (created or seeded), paged as the model says.
pub(crate) fn list_branches(app: &str, req: &Request, config: &Config, s: &State) -> Response {
    let (max, token) = match paging(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let start = match offset_token(token.as_deref(), "branches") {
        Ok(n) => n,
        Err(r) => return r,
    };
    let all: Vec<&BranchRecord> = s
        .branches
        .iter()
        .filter(|b| b.app_id == app && b.deleting == 0)
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|b| b.json(&config.region))
        .collect();
    let mut out = json!({ "branches": page });
    if start + max < all.len() {
        out["nextToken"] = json!(format!("branches-{}", start + max));
    }
    Response::json(200, &out)
}

pub(crate) fn delete_branch(app: &str, branch: &str, config: &Config, s: &mut State) -> Response {
    let Some(b) = record(app, branch, config, s) else {
        return not_found(branch);
    };
    s.branches
        .retain(|r| !(r.app_id == app && r.name == branch));
    s.jobs.retain(|j| !(j.app_id == app && j.branch == branch));
    if config.deleting_creates > 0 {
        let mut gone = b.clone();
        gone.deleting = config.deleting_creates;
        s.branches.push(gone);
    }
    Response::json(200, &json!({ "branch": b.json(&config.region) }))
}
