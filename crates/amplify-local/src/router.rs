//! One router for every service: the SigV4 credential scope names the service a request is
//! for (`amplify`; presigned URLs carry none), then the method and path name its operation.
//! Each service's operations are answered in its own folder ([`crate::hosting`]).

use crate::answer::aws_error;
use crate::hosting::routes;
use crate::http::{Request, Response};
use crate::server::Action;
use crate::sigv4;
use crate::state::{Config, Fault, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    StartJob,
    GetJob,
    ListJobs,
    StopJob,
    CreateDeployment,
    StartDeployment,
    /// The zip's `PUT` to the URL `CreateDeployment` gave (not SigV4-signed: presigned).
    Upload,
    ListArtifacts,
    GetArtifactUrl,
    /// A step log's `GET` from the URL `GetJob` gave (presigned).
    Log,
    /// An artifact's `GET` from the URL `GetArtifactUrl` gave (presigned).
    Artifact,
    GetApp,
    GetBranch,
    ListBranches,
    CreateBranch,
    DeleteBranch,
    /// The new AWS Amplify's operations (service `amplifygen3`).
    Gen3ListApps,
    Gen3GetApp,
    Gen3ListEnvironments,
    Gen3GetEnvironment,
    Gen3CreateSourceUpload,
    Gen3GetSourceUpload,
    /// The zip's `PUT` to the URL `CreateSourceUpload` gave (presigned).
    Gen3Upload,
    Gen3CreateDeployment,
    Gen3GetDeployment,
    Gen3ListDeploymentsForEnvironment,
    Gen3ListDeploymentsForApp,
    Gen3ListAliases,
    Gen3GetAlias,
    Gen3UpdateAliasRouting,
    Gen3CancelGradualRollout,
    Gen3AcceptForkPullRequestDeployment,
    /// A `GET` of a site a build serves (`Host` `*.amplifyapp.com` or `*.amplify.app`).
    Site,
}

impl Op {
    /// Every operation the router knows, in the order `--help` lists them.
    pub const ALL: [Op; 33] = [
        Op::StartJob,
        Op::GetJob,
        Op::ListJobs,
        Op::StopJob,
        Op::CreateDeployment,
        Op::StartDeployment,
        Op::ListArtifacts,
        Op::GetArtifactUrl,
        Op::GetApp,
        Op::GetBranch,
        Op::ListBranches,
        Op::CreateBranch,
        Op::DeleteBranch,
        Op::Upload,
        Op::Log,
        Op::Artifact,
        Op::Gen3ListApps,
        Op::Gen3GetApp,
        Op::Gen3ListEnvironments,
        Op::Gen3GetEnvironment,
        Op::Gen3CreateSourceUpload,
        Op::Gen3GetSourceUpload,
        Op::Gen3CreateDeployment,
        Op::Gen3GetDeployment,
        Op::Gen3ListDeploymentsForEnvironment,
        Op::Gen3ListDeploymentsForApp,
        Op::Gen3ListAliases,
        Op::Gen3GetAlias,
        Op::Gen3UpdateAliasRouting,
        Op::Gen3CancelGradualRollout,
        Op::Gen3AcceptForkPullRequestDeployment,
        Op::Gen3Upload,
        Op::Site,
    ];

    /// The API operation's name; `None` for the presigned URLs it serves (the upload, logs and
    /// artifacts), which are S3's, not Amplify's.
    pub fn api_name(self) -> Option<&'static str> {
        Some(match self {
            Op::StartJob => "StartJob",
            Op::GetJob => "GetJob",
            Op::ListJobs => "ListJobs",
            Op::StopJob => "StopJob",
            Op::CreateDeployment => "CreateDeployment",
            Op::StartDeployment => "StartDeployment",
            Op::ListArtifacts => "ListArtifacts",
            Op::GetArtifactUrl => "GetArtifactUrl",
            Op::GetApp => "GetApp",
            Op::GetBranch => "GetBranch",
            Op::ListBranches => "ListBranches",
            Op::CreateBranch => "CreateBranch",
            Op::DeleteBranch => "DeleteBranch",
            Op::Gen3ListApps => "ListApps",
            Op::Gen3GetApp => "GetApp",
            Op::Gen3ListEnvironments => "ListEnvironments",
            Op::Gen3GetEnvironment => "GetEnvironment",
            Op::Gen3CreateSourceUpload => "CreateSourceUpload",
            Op::Gen3GetSourceUpload => "GetSourceUpload",
            Op::Gen3CreateDeployment => "CreateDeployment",
            Op::Gen3GetDeployment => "GetDeployment",
            Op::Gen3ListDeploymentsForEnvironment => "ListDeploymentsForEnvironment",
            Op::Gen3ListDeploymentsForApp => "ListDeploymentsForApp",
            Op::Gen3ListAliases => "ListAliases",
            Op::Gen3GetAlias => "GetAlias",
            Op::Gen3UpdateAliasRouting => "UpdateAliasRouting",
            Op::Gen3CancelGradualRollout => "CancelGradualRollout",
            Op::Gen3AcceptForkPullRequestDeployment => "AcceptForkPullRequestDeployment",
            Op::Upload | Op::Log | Op::Artifact | Op::Gen3Upload | Op::Site => return None,
        })
    }

    /// The SigV4 signing name of the service the operation is of.
    pub fn service(self) -> &'static str {
        use Op::*;
        match self {
            Gen3ListApps
            | Gen3GetApp
            | Gen3ListEnvironments
            | Gen3GetEnvironment
            | Gen3CreateSourceUpload
            | Gen3GetSourceUpload
            | Gen3Upload
            | Gen3CreateDeployment
            | Gen3GetDeployment
            | Gen3ListDeploymentsForEnvironment
            | Gen3ListDeploymentsForApp
            | Gen3ListAliases
            | Gen3GetAlias
            | Gen3UpdateAliasRouting
            | Gen3CancelGradualRollout
            | Gen3AcceptForkPullRequestDeployment => GEN3,
            _ => HOSTING,
        }
    }
}

/// The API operations served of `service` (`amplify`, `amplifygen3`), as `--help` lists them.
pub fn operations(service: &str) -> Vec<&'static str> {
    Op::ALL
        .iter()
        .filter(|op| op.service() == service)
        .filter_map(|op| op.api_name())
        .collect()
}

pub(crate) fn decide(
    req: &Request,
    route: Result<(Op, Vec<String>), Response>,
    signature: Result<sigv4::Verified, sigv4::Rejection>,
    config: &Config,
    s: &mut State,
) -> Action {
    if let Err(r) = signature {
        let status = if r.code == "MissingAuthenticationTokenException" {
            403
        } else if r.code == "IncompleteSignatureException" {
            400
        } else {
            403
        };
        return Action::Respond(aws_error(status, r.code, &r.message));
    }
    let (op, params) = match route {
        Ok(r) => r,
        Err(resp) => return Action::Respond(resp),
    };
    let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut s.branch_hooks)
        .into_iter()
        .partition(|(o, _)| *o == op);
    s.branch_hooks = later;
    s.branches.extend(due.into_iter().map(|(_, b)| b));
    if op == Op::StartJob && !routes::take_token(config, s) {
        return Action::Respond(aws_error(429, "LimitExceededException", "Rate exceeded"));
    }
    let fault = s
        .faults
        .get_mut(&op)
        .and_then(|q| q.pop_front())
        .or_else(|| s.always.get(&op).cloned());
    match fault {
        None => Action::Respond(apply(op, &params, req, config, s)),
        Some(Fault::Answer {
            status,
            error_type,
            content_type,
            body,
            retry_after,
        }) => {
            let mut resp = Response::new(status, &content_type, body);
            if let Some(t) = error_type {
                resp = resp.header(
                    "x-amzn-ErrorType",
                    format!("{t}:http://internal.amazon.com/coral/com.amazonaws.amplify/"),
                );
            }
            if let Some(ra) = retry_after {
                resp = resp.header("Retry-After", ra);
            }
            Action::Respond(resp)
        }
        Some(Fault::Reset) => Action::Reset,
        Some(Fault::ApplyThenReset) => {
            apply(op, &params, req, config, s);
            Action::Reset
        }
        Some(Fault::Delay(d)) => Action::DelayThenRespond(d, apply(op, &params, req, config, s)),
        Some(Fault::Hang) => Action::Hang,
        Some(Fault::ApplyThenCutOff) => {
            let mut resp = apply(op, &params, req, config, s);
            resp.body.truncate(resp.body.len() / 2);
            Action::Respond(resp)
        }
        Some(Fault::ApplyThenHang) => {
            apply(op, &params, req, config, s);
            Action::Hang
        }
    }
}

/// The SigV4 signing names of the services it plays: Amplify Hosting, the new AWS Amplify.
pub const HOSTING: &str = "amplify";
pub const GEN3: &str = "amplifygen3";

/// Maps a request to an operation and its decoded path labels: a presigned URL it handed out
/// (uploads, logs, artifacts: S3's part), else the operation of the service the SigV4
/// credential scope names (an unsigned request goes to Hosting, whose signature check refuses
/// it). Every operation it answers is in [`Op::ALL`] (a test routes one request of each).
pub(crate) fn route(req: &Request) -> Result<(Op, Vec<String>), Response> {
    if req.header("host").is_some_and(crate::sites::is_site) {
        return Ok((Op::Site, Vec::new()));
    }
    let path: Vec<String> = req
        .raw_path()
        .split('/')
        .skip(1)
        .map(sigv4::percent_decode)
        .collect();
    if let [first, token] = path.as_slice() {
        let presigned = match first.as_str() {
            "_upload" => Some(Op::Upload),
            "_gen3upload" => Some(Op::Gen3Upload),
            "_logs" => Some(Op::Log),
            "_artifacts" => Some(Op::Artifact),
            _ => None,
        };
        if let Some(op) = presigned {
            return Ok((op, vec![token.clone()]));
        }
    }
    match sigv4::scope_service(req).unwrap_or(HOSTING) {
        HOSTING => routes::route(req),
        GEN3 => crate::gen3::routes::route(req, &path).ok_or_else(|| {
            crate::gen3::routes::error(
                404,
                "UnknownOperationException",
                &format!("No operation matches {} {}", req.method, req.raw_path()),
            )
        }),
        other => Err(aws_error(
            404,
            "UnknownOperationException",
            &format!("amplify-local serves the services amplify and amplifygen3, not {other}"),
        )),
    }
}

/// Answers `op` in its service's rooms.
fn apply(op: Op, params: &[String], req: &Request, config: &Config, s: &mut State) -> Response {
    if op == Op::Site {
        return crate::sites::serve(req, config, s);
    }
    match op.service() {
        GEN3 => crate::gen3::routes::apply(op, params, req, config, s),
        _ => routes::apply(op, params, req, config, s),
    }
}

#[cfg(test)]
mod router_tests {
    use super::*;

    /// One request of each operation. The match is exhaustive and numbers each operation, so
    /// a new one needs a sample here and a place in [`Op::ALL`].
    fn sample(op: Op) -> (usize, &'static str, String) {
        let p = "/apps/d1a2b3c4d5e6f7/branches/main";
        let g = "/apps/shop/environments/preview";
        match op {
            Op::StartJob => (0, "POST", format!("{p}/jobs")),
            Op::GetJob => (1, "GET", format!("{p}/jobs/1")),
            Op::ListJobs => (2, "GET", format!("{p}/jobs")),
            Op::StopJob => (3, "DELETE", format!("{p}/jobs/1/stop")),
            Op::CreateDeployment => (4, "POST", format!("{p}/deployments")),
            Op::StartDeployment => (5, "POST", format!("{p}/deployments/start")),
            Op::ListArtifacts => (6, "GET", format!("{p}/jobs/1/artifacts")),
            Op::GetArtifactUrl => (7, "GET", "/artifacts/a1".into()),
            Op::GetApp => (8, "GET", "/apps/d1a2b3c4d5e6f7".into()),
            Op::GetBranch => (9, "GET", p.into()),
            Op::ListBranches => (10, "GET", "/apps/d1a2b3c4d5e6f7/branches".into()),
            Op::CreateBranch => (11, "POST", "/apps/d1a2b3c4d5e6f7/branches".into()),
            Op::DeleteBranch => (12, "DELETE", p.into()),
            Op::Upload => (13, "PUT", "/_upload/t".into()),
            Op::Log => (14, "GET", "/_logs/t".into()),
            Op::Artifact => (15, "GET", "/_artifacts/t".into()),
            Op::Gen3ListApps => (16, "GET", "/apps".into()),
            Op::Gen3GetApp => (17, "GET", "/apps/shop".into()),
            Op::Gen3ListEnvironments => (18, "GET", "/apps/shop/environments".into()),
            Op::Gen3GetEnvironment => (19, "GET", "/apps/shop/environments/preview".into()),
            Op::Gen3CreateSourceUpload => (20, "POST", "/source-uploads".into()),
            Op::Gen3GetSourceUpload => (21, "GET", "/source-uploads/su-1".into()),
            Op::Gen3CreateDeployment => (22, "POST", format!("{g}/deployments")),
            Op::Gen3GetDeployment => (23, "GET", format!("{g}/deployments/abcdefghij")),
            Op::Gen3ListDeploymentsForEnvironment => (24, "GET", format!("{g}/deployments")),
            Op::Gen3ListDeploymentsForApp => (25, "GET", "/apps/shop/deployments".into()),
            Op::Gen3ListAliases => (26, "GET", format!("{g}/aliases")),
            Op::Gen3GetAlias => (27, "GET", format!("{g}/aliases/preview")),
            Op::Gen3Upload => (28, "PUT", "/_gen3upload/t".into()),
            Op::Site => (29, "GET", "/index.html".into()),
            Op::Gen3UpdateAliasRouting => (30, "PATCH", format!("{g}/aliases/preview")),
            Op::Gen3CancelGradualRollout => {
                (31, "POST", format!("{g}/aliases/preview/rollout/cancel"))
            }
            Op::Gen3AcceptForkPullRequestDeployment => {
                (32, "POST", "/apps/shop/fork-pr-authorizations".into())
            }
        }
    }

    /// A request signed (in form only) for `service`.
    fn signed(service: &str, method: &str, path: &str) -> Request {
        Request {
            method: method.into(),
            target: path.into(),
            headers: vec![(
                "Authorization".into(),
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00"
                ),
            )],
            body: Vec::new(),
        }
    }

    #[test]
    fn every_operation_is_listed_once_and_routed() {
        let numbers: Vec<usize> = Op::ALL.iter().map(|op| sample(*op).0).collect();
        let mut sorted = numbers.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted,
            (0..Op::ALL.len()).collect::<Vec<_>>(),
            "{numbers:?}"
        );
        for op in Op::ALL {
            let (_, method, path) = sample(op);
            let mut req = signed(op.service(), method, &path);
            if op == Op::Site {
                req.headers
                    .push(("Host".into(), "main.d1a2b3c4d5e6f7.amplifyapp.com".into()));
            }
            assert_eq!(
                route(&req).ok().map(|(o, _)| o),
                Some(op),
                "{method} {path}"
            );
        }
        assert_eq!(operations(HOSTING).len(), 13);
        assert_eq!(operations(GEN3).len(), 15);
    }

    #[test]
    fn the_credential_scope_picks_the_service() {
        let signed_for = |service: &str| Request {
            method: "GET".into(),
            target: "/apps/d1a2b3c4d5e6f7".into(),
            headers: vec![(
                "Authorization".into(),
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00"
                ),
            )],
            body: Vec::new(),
        };
        assert_eq!(
            route(&signed_for("amplify")).ok().map(|(o, _)| o),
            Some(Op::GetApp)
        );
        let other = route(&signed_for("s3")).unwrap_err();
        assert_eq!(other.status, 404);
        assert!(String::from_utf8_lossy(&other.body).contains("not s3"));
    }
}
