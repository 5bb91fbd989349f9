//! Artifacts: `ListArtifacts` (paged as the model says) and `GetArtifactUrl`, whose presigned
//! URL this server answers with the artifact's bytes. Every job has the artifacts
//! `Config::artifacts` names.

use serde_json::json;

use crate::answer::{aws_error, constraint, offset_token, paging};
use crate::http::{Request, Response};
use crate::presign::{self, Grant, s3_error};
use crate::sigv4;
use crate::state::{Config, State};

/// An artifact's id: its job and its index, readable back.
fn id_of(app: &str, branch: &str, job: u64, index: usize) -> String {
    format!("{app}:{}:{job}:{index}", sigv4::uri_encode(branch, false))
}

fn parse_id(id: &str) -> Option<(String, String, u64, usize)> {
    let mut parts = id.splitn(4, ':');
    let app = parts.next()?.to_string();
    let branch = sigv4::percent_decode(parts.next()?);
    let job = parts.next()?.parse().ok()?;
    let index = parts.next()?.parse().ok()?;
    Some((app, branch, job, index))
}

/// `GET /apps/{appId}/branches/{branchName}/jobs/{jobId}/artifacts`.
pub(crate) fn list(
    app: &str,
    branch: &str,
    job: &str,
    req: &Request,
    config: &Config,
    s: &State,
) -> Response {
    let Ok(job) = job.parse::<u64>() else {
        return constraint(
            job,
            "jobId",
            "Member must satisfy regular expression pattern: [0-9]+",
        );
    };
    if !s
        .jobs
        .iter()
        .any(|j| j.app_id == app && j.branch == branch && j.id == job)
    {
        return aws_error(404, "NotFoundException", &format!("Job {job} not found."));
    }
    let (max, token) = match paging(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let start = match offset_token(token.as_deref(), "artifacts") {
        Ok(n) => n,
        Err(r) => return r,
    };
    let all = &config.artifacts;
    let page: Vec<_> = all
        .iter()
        .enumerate()
        .skip(start)
        .take(max)
        .map(|(i, (name, _))| {
            json!({ "artifactFileName": name, "artifactId": id_of(app, branch, job, i) })
        })
        .collect();
    let mut out = json!({ "artifacts": page });
    if start + max < all.len() {
        out["nextToken"] = json!(format!("artifacts-{}", start + max));
    }
    Response::json(200, &out)
}

/// `GET /artifacts/{artifactId}`: a presigned URL of the artifact.
pub(crate) fn get_url(id: &str, config: &Config, s: &mut State) -> Response {
    let found = parse_id(id).filter(|(app, branch, job, index)| {
        *index < config.artifacts.len()
            && s.jobs
                .iter()
                .any(|j| &j.app_id == app && &j.branch == branch && j.id == *job)
    });
    let Some((app_id, branch, job_id, index)) = found else {
        return aws_error(
            404,
            "NotFoundException",
            &format!("Artifact {id} not found."),
        );
    };
    let grant = Grant {
        app_id,
        branch,
        job_id,
        item: index.to_string(),
        expires: 0.0,
    };
    let url = presign::issue(s, "_artifacts", grant, config.log_ttl_secs);
    Response::json(200, &json!({ "artifactId": id, "artifactUrl": url }))
}

/// `GET /_artifacts/<token>`: the artifact's bytes, or S3's refusal.
pub(crate) fn serve(token: &str, method: &str, config: &Config, s: &State) -> Response {
    let g = match presign::redeem(s, token, method, "GET") {
        Ok(g) => g,
        Err(r) => return r,
    };
    match g
        .item
        .parse::<usize>()
        .ok()
        .and_then(|i| config.artifacts.get(i))
    {
        Some((_, bytes)) => Response::new(200, "application/octet-stream", bytes.clone()),
        None => s3_error(404, "NoSuchKey", "The specified key does not exist."),
    }
}
