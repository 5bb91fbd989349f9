//! Hosting's routes: which operation a request signed for `amplify` is (method and path, as
//! the model binds them), the app and branch checks every operation makes, StartJob's token
//! bucket, and the room that answers each operation.

use crate::answer::{aws_error, constraint};
use crate::hosting::{artifacts, branches, deployments, jobs, logs};
use crate::http::{Request, Response};
use crate::router::Op;
use crate::sigv4;
use crate::state::{Config, State, now};

/// Hosting's operation for a request signed for `amplify`, and its decoded path labels.
pub(crate) fn route(req: &Request) -> Result<(Op, Vec<String>), Response> {
    let segs: Vec<String> = req
        .raw_path()
        .split('/')
        .skip(1)
        .map(sigv4::percent_decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let op = match (req.method.as_str(), s.as_slice()) {
        ("POST", ["apps", _, "branches", _, "jobs"]) => Op::StartJob,
        ("GET", ["apps", _, "branches", _, "jobs"]) => Op::ListJobs,
        ("GET", ["apps", _, "branches", _, "jobs", _]) => Op::GetJob,
        ("DELETE", ["apps", _, "branches", _, "jobs", _, "stop"]) => Op::StopJob,
        ("GET", ["apps", app]) => return Ok((Op::GetApp, vec![app.to_string()])),
        ("POST", ["apps", app, "branches"]) => {
            return Ok((Op::CreateBranch, vec![app.to_string()]));
        }
        ("GET", ["apps", app, "branches"]) => {
            return Ok((Op::ListBranches, vec![app.to_string()]));
        }
        ("GET", ["apps", _, "branches", _]) => Op::GetBranch,
        ("DELETE", ["apps", _, "branches", _]) => Op::DeleteBranch,
        ("POST", ["apps", _, "branches", _, "deployments"]) => Op::CreateDeployment,
        ("POST", ["apps", _, "branches", _, "deployments", "start"]) => Op::StartDeployment,
        ("GET", ["artifacts", id]) => return Ok((Op::GetArtifactUrl, vec![id.to_string()])),
        ("GET", ["apps", _, "branches", _, "jobs", _, "artifacts"]) => Op::ListArtifacts,
        _ => {
            return Err(aws_error(
                404,
                "UnknownOperationException",
                &format!("No operation matches {} {}", req.method, req.raw_path()),
            ));
        }
    };
    let mut labels = vec![segs[1].clone(), segs[3].clone()];
    if matches!(op, Op::GetJob | Op::StopJob | Op::ListArtifacts) {
        labels.push(segs[5].clone());
    }
    Ok((op, labels))
}

pub(crate) fn apply(
    op: Op,
    params: &[String],
    req: &Request,
    config: &Config,
    s: &mut State,
) -> Response {
    match op {
        Op::Upload => return deployments::upload(&params[0], req, s),
        Op::Log => return logs::serve(&params[0], req, config, s),
        Op::Artifact => return artifacts::serve(&params[0], &req.method, config, s),
        Op::GetArtifactUrl => return artifacts::get_url(&params[0], config, s),
        _ => {}
    }
    if matches!(op, Op::GetApp | Op::CreateBranch | Op::ListBranches) {
        let app = &params[0];
        if let Err(resp) = validate_app(app, config) {
            return resp;
        }
        return match op {
            Op::GetApp => branches::get_app(app, config, s),
            Op::ListBranches => branches::list_branches(app, req, config, s),
            _ => branches::create_branch(app, req, config, s),
        };
    }
    let (app, branch) = (&params[0], &params[1]);
    if let Err(resp) = validate_app_branch(app, branch, config) {
        return resp;
    }
    if !branches::exists(app, branch, config, s) && op != Op::GetBranch {
        return aws_error(
            404,
            "NotFoundException",
            &format!("Branch {branch} not found."),
        );
    }
    match op {
        Op::GetBranch => branches::get_branch(app, branch, config, s),
        Op::DeleteBranch => branches::delete_branch(app, branch, config, s),
        Op::GetApp | Op::CreateBranch | Op::ListBranches => unreachable!("answered above"),
        Op::StartJob => jobs::start_job(app, branch, req, config, s),
        Op::CreateDeployment => deployments::create(app, branch, req, config, s),
        Op::StartDeployment => deployments::start(app, branch, req, config, s),
        Op::Upload | Op::Log | Op::Artifact | Op::GetArtifactUrl => {
            unreachable!("answered above")
        }
        Op::ListArtifacts => artifacts::list(app, branch, &params[2], req, config, s),
        Op::ListJobs => jobs::list_jobs(app, branch, req, config, s),
        Op::GetJob => jobs::get_job(app, branch, &params[2], config, s),
        Op::StopJob => jobs::stop_job(app, branch, &params[2], config, s),
        _ => unreachable!("the new AWS Amplify's operations are answered by its routes"),
    }
}

fn validate_app(app: &str, config: &Config) -> Result<(), Response> {
    let ok = (1..=20).contains(&app.len())
        && app.starts_with('d')
        && app.len() > 1
        && app[1..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok {
        return Err(constraint(
            app,
            "appId",
            "Member must satisfy regular expression pattern: d[a-z0-9]+",
        ));
    }
    if !config.apps.is_empty() && !config.apps.iter().any(|(a, _)| a == app) {
        return Err(aws_error(
            404,
            "NotFoundException",
            &format!("App {app} not found."),
        ));
    }
    Ok(())
}

fn validate_app_branch(app: &str, branch: &str, config: &Config) -> Result<(), Response> {
    validate_app(app, config)?;
    let n = branch.chars().count();
    if !(1..=255).contains(&n) {
        return Err(constraint(
            branch,
            "branchName",
            "Member must have length between 1 and 255",
        ));
    }
    if let Some((_, branches)) = config.apps.iter().find(|(a, _)| a == app) {
        if !branches.iter().any(|b| b == branch) {
            return Err(aws_error(
                404,
                "NotFoundException",
                &format!("Branch {branch} not found."),
            ));
        }
    }
    Ok(())
}

/// A StartJob token from the bucket, when `Config::start_job_rate` sets one.
pub(crate) fn take_token(config: &Config, s: &mut State) -> bool {
    let Some((rate, burst)) = config.start_job_rate else {
        return true;
    };
    let t = now();
    let (tokens, last) = s.bucket.unwrap_or((burst, t));
    let tokens = (tokens + (t - last) * rate).min(burst);
    let (left, ok) = if tokens >= 1.0 {
        (tokens - 1.0, true)
    } else {
        (tokens, false)
    };
    s.bucket = Some((left, t));
    ok
}
