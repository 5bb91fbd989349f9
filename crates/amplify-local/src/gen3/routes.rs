//! The new service's routes: which operation a request signed for `amplifygen3` is (method and
//! path, as the model binds them), its answers' shared parts (the account, `ValidationException`,
//! paging with `maxResults` 1 to 50 and opaque `nextToken`s), and the room that answers each.

use serde_json::{Value, json};

use crate::gen3::{aliases, apps, deployments, forks, uploads};
use crate::http::{Request, Response};
use crate::router::Op;
use crate::sigv4;
use crate::state::{Config, State};

/// The account every ARN names.
pub const ACCOUNT_ARN: &str = crate::ACCOUNT;

/// An error as the new service answers it (`x-amzn-ErrorType`, `{"message": ...}`).
pub fn error(status: u16, code: &str, message: &str) -> Response {
    Response::json(status, &json!({ "message": message })).header(
        "x-amzn-ErrorType",
        format!("{code}:http://internal.amazon.com/coral/com.amazonaws.amplifygen3/"),
    )
}

/// `ValidationException` (400).
pub fn validation(message: &str) -> Response {
    error(400, "ValidationException", message)
}

/// One page of `items` under `key`, as `maxResults` (1 to 50, default 50) and `nextToken` ask;
/// a token resumes the listing `scope` it was issued for.
pub fn paged(
    req: &Request,
    s: &mut crate::gen3::State,
    scope: &str,
    key: &str,
    items: Vec<Value>,
) -> Response {
    let (mut max, mut token) = (50usize, None);
    for pair in req.raw_query().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = sigv4::percent_decode(v);
        match k {
            "maxResults" => match v.parse::<usize>() {
                Ok(n) if (1..=50).contains(&n) => max = n,
                _ => {
                    return validation(&format!(
                        "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 50"
                    ));
                }
            },
            "nextToken" => token = Some(v),
            _ => {}
        }
    }
    let start = match token {
        None => 0,
        Some(t) => match s.tokens.get(&t) {
            Some(offset) if t.starts_with(scope) => *offset,
            _ => return validation(&format!("Invalid nextToken: {t}")),
        },
    };
    let end = (start + max).min(items.len());
    let mut body = json!({ key: items.get(start..end).unwrap_or_default() });
    if end < items.len() {
        let t = format!(
            "{scope}.{:016x}",
            crate::state::scramble(s.tokens.len() + 3)
        );
        s.tokens.insert(t.clone(), end);
        body["NextToken"] = json!(t);
    }
    Response::json(200, &body)
}

/// The new service's operation for a request signed for `amplifygen3`, and its decoded labels.
pub fn route(req: &Request, segs: &[String]) -> Option<(Op, Vec<String>)> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let labels = |idx: &[usize]| idx.iter().map(|i| segs[*i].clone()).collect::<Vec<_>>();
    Some(match (req.method.as_str(), s.as_slice()) {
        ("GET", ["apps"]) => (Op::Gen3ListApps, Vec::new()),
        ("GET", ["apps", _]) => (Op::Gen3GetApp, labels(&[1])),
        ("GET", ["apps", _, "deployments"]) => (Op::Gen3ListDeploymentsForApp, labels(&[1])),
        ("GET", ["apps", _, "environments"]) => (Op::Gen3ListEnvironments, labels(&[1])),
        ("GET", ["apps", _, "environments", _]) => (Op::Gen3GetEnvironment, labels(&[1, 3])),
        ("POST", ["apps", _, "environments", _, "deployments"]) => {
            (Op::Gen3CreateDeployment, labels(&[1, 3]))
        }
        ("GET", ["apps", _, "environments", _, "deployments"]) => {
            (Op::Gen3ListDeploymentsForEnvironment, labels(&[1, 3]))
        }
        ("GET", ["apps", _, "environments", _, "deployments", _]) => {
            (Op::Gen3GetDeployment, labels(&[1, 3, 5]))
        }
        ("GET", ["apps", _, "environments", _, "aliases"]) => {
            (Op::Gen3ListAliases, labels(&[1, 3]))
        }
        ("GET", ["apps", _, "environments", _, "aliases", _]) => {
            (Op::Gen3GetAlias, labels(&[1, 3, 5]))
        }
        ("PATCH", ["apps", _, "environments", _, "aliases", _]) => {
            (Op::Gen3UpdateAliasRouting, labels(&[1, 3, 5]))
        }
        (
            "POST",
            [
                "apps",
                _,
                "environments",
                _,
                "aliases",
                _,
                "rollout",
                "cancel",
            ],
        ) => (Op::Gen3CancelGradualRollout, labels(&[1, 3, 5])),
        ("POST", ["apps", _, "fork-pr-authorizations"]) => {
            (Op::Gen3AcceptForkPullRequestDeployment, labels(&[1]))
        }
        ("POST", ["source-uploads"]) => (Op::Gen3CreateSourceUpload, Vec::new()),
        ("GET", ["source-uploads", _]) => (Op::Gen3GetSourceUpload, labels(&[1])),
        _ => return None,
    })
}

/// Answers one operation of the new service.
pub fn apply(op: Op, p: &[String], req: &Request, config: &Config, s: &mut State) -> Response {
    match op {
        Op::Gen3ListApps => apps::list_apps(req, config, &mut s.gen3),
        Op::Gen3GetApp => apps::get_app(&p[0], config),
        Op::Gen3ListEnvironments => apps::list_environments(&p[0], req, config, &mut s.gen3),
        Op::Gen3GetEnvironment => apps::get_environment(&p[0], &p[1], config),
        Op::Gen3CreateSourceUpload => uploads::create(req, config, s),
        Op::Gen3GetSourceUpload => uploads::get(&p[0], s),
        Op::Gen3Upload => uploads::put(&p[0], req, s),
        Op::Gen3CreateDeployment => deployments::create(&p[0], &p[1], req, config, s),
        Op::Gen3GetDeployment => deployments::get(&p[0], &p[1], &p[2], config, s),
        Op::Gen3ListDeploymentsForEnvironment => {
            deployments::list_for_environment(&p[0], &p[1], req, config, s)
        }
        Op::Gen3ListDeploymentsForApp => deployments::list_for_app(&p[0], req, config, s),
        Op::Gen3ListAliases => aliases::list(&p[0], &p[1], req, config, s),
        Op::Gen3GetAlias => aliases::get(&p[0], &p[1], &p[2], config, s),
        Op::Gen3UpdateAliasRouting => aliases::update_routing(&p[0], &p[1], &p[2], req, config, s),
        Op::Gen3CancelGradualRollout => aliases::cancel(&p[0], &p[1], &p[2], config, s),
        Op::Gen3AcceptForkPullRequestDeployment => forks::accept(&p[0], req, config, s),
        _ => unreachable!("Hosting's operations are answered by its routes"),
    }
}
