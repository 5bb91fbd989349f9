//! Manual deployments: `CreateDeployment`, the zip's upload to a presigned-like URL on this
//! server, and `StartDeployment`, with the refusals AWS gives (an app connected to a
//! repository, a last job not finished, a start without an upload).

use serde_json::{Value, json};

use crate::answer::{aws_error, bad_request, constraint, json_object};
use crate::hosting::jobs::{ahead_of, new_job, replace, started_summary, unfinished_job};
use crate::http::{Request, Response};
use crate::presign::{self, Grant, s3_error};
use crate::state::{Config, State};

/// One archive uploaded for a job, as the tests read it.
#[derive(Debug, Clone)]
pub struct Upload {
    pub app_id: String,
    pub branch: String,
    pub job_id: u64,
    pub bytes: Vec<u8>,
    /// The names in the zip's central directory, in order.
    pub entries: Vec<String>,
}

/// A body that may be empty (every member of these operations is optional), else a JSON object.
fn is_json_object(req: &Request) -> Result<Value, Response> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    json_object(&req.body)
}

/// The refusals of a deployment on a branch: a repository app, or a job not finished (any
/// job: the branch of a manual app has only deployments), in AWS's words.
fn refused(app: &str, branch: &str, config: &Config, s: &State) -> Option<Response> {
    if config.connected_apps.iter().any(|a| a == app) {
        return Some(bad_request(
            "Operation not supported. App is already connected a repository.".into(),
        ));
    }
    let busy = unfinished_job(s, app, branch)?;
    Some(bad_request(format!(
        "The last job(deployment) {} was not finished, please wait until it finish or use StopJob operation to cancel it before creating a new deployment.",
        busy.id
    )))
}

pub(crate) fn create(
    app: &str,
    branch: &str,
    req: &Request,
    config: &Config,
    s: &mut State,
) -> Response {
    if let Err(r) = is_json_object(req) {
        return r;
    }
    if let Some(r) = refused(app, branch, config, s) {
        return r;
    }
    // Made, not started: AWS shows it PENDING, as it shows a started job waiting its turn.
    let mut job = new_job(s, config, app, branch, &json!({"jobType": "MANUAL"}));
    job.started = false;
    job.pending.clear();
    job.commit_id = String::new();
    let id = job.id;
    replace(s, &job);
    let grant = Grant {
        app_id: app.into(),
        branch: branch.into(),
        job_id: id,
        item: String::new(),
        expires: 0.0,
    };
    let url = presign::issue(s, "_upload", grant, config.upload_ttl_secs);
    Response::json(
        200,
        &json!({ "jobId": id.to_string(), "fileUploadUrls": {}, "zipUploadUrl": url }),
    )
}

pub(crate) fn start(
    app: &str,
    branch: &str,
    req: &Request,
    config: &Config,
    s: &mut State,
) -> Response {
    let body = match is_json_object(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    match (text("jobId"), text("sourceUrl")) {
        (Some(id), None) => start_uploaded(app, branch, &id, config, s),
        (None, Some(url)) => start_url(app, branch, &url, text("sourceUrlType"), config, s),
        (Some(_), Some(_)) => bad_request("Specify either jobId or sourceUrl, not both.".into()),
        (None, None) => bad_request("Either jobId or sourceUrl is required.".into()),
    }
}

fn start_uploaded(app: &str, branch: &str, id: &str, config: &Config, s: &mut State) -> Response {
    if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return constraint(
            id,
            "jobId",
            "Member must satisfy regular expression pattern: [0-9]+",
        );
    }
    let id: u64 = id.parse().unwrap_or(u64::MAX);
    let uploaded = s
        .uploads
        .iter()
        .any(|u| u.app_id == app && u.branch == branch && u.job_id == id);
    let Some(job) = s
        .jobs
        .iter_mut()
        .find(|j| j.app_id == app && j.branch == branch && j.id == id)
    else {
        return aws_error(404, "NotFoundException", &format!("Job {id} not found."));
    };
    if job.started || job.end_time.is_some() {
        return bad_request(format!("Job {id} has already been started."));
    }
    if !uploaded {
        return bad_request(format!(
            "No zip file was uploaded for job {id}: upload it to the zipUploadUrl first."
        ));
    }
    job.started = true;
    job.pending = ahead_of("PENDING", config);
    Response::json(
        200,
        &json!({ "jobSummary": started_summary(job, &config.region) }),
    )
}

fn start_url(
    app: &str,
    branch: &str,
    url: &str,
    kind: Option<String>,
    config: &Config,
    s: &mut State,
) -> Response {
    let scheme = ["s3://", "https://", "http://"]
        .iter()
        .any(|p| url.starts_with(p));
    if !scheme || url.chars().count() > 3000 {
        return constraint(
            url,
            "sourceUrl",
            "Member must satisfy regular expression pattern: ^(s3|https|http)://.*",
        );
    }
    if let Some(k) = kind
        .as_deref()
        .filter(|k| !["ZIP", "BUCKET_PREFIX"].contains(k))
    {
        return constraint(
            k,
            "sourceUrlType",
            "Member must satisfy enum value set: [ZIP, BUCKET_PREFIX]",
        );
    }
    if let Some(r) = refused(app, branch, config, s) {
        return r;
    }
    let mut job = new_job(s, config, app, branch, &json!({"jobType": "MANUAL"}));
    job.commit_id = String::new();
    replace(s, &job);
    Response::json(
        200,
        &json!({ "jobSummary": started_summary(&job, &config.region) }),
    )
}

/// `PUT /_upload/<token>`: answered as S3 answers a presigned URL (XML errors).
pub(crate) fn upload(token: &str, req: &Request, s: &mut State) -> Response {
    let p = match presign::redeem(s, token, &req.method, "PUT") {
        Ok(g) => g,
        Err(r) => return r,
    };
    if req.body.is_empty() {
        return s3_error(400, "MissingContentLength", "The request has no body");
    }
    let Some(entries) = zip_entries(&req.body) else {
        return s3_error(400, "InvalidZip", "The body is not a zip file");
    };
    s.uploads
        .retain(|u| !(u.app_id == p.app_id && u.branch == p.branch && u.job_id == p.job_id));
    s.uploads.push(Upload {
        app_id: p.app_id,
        branch: p.branch,
        job_id: p.job_id,
        bytes: req.body.clone(),
        entries,
    });
    Response::new(200, "application/xml", "").header("ETag", format!("\"{token}\""))
}

/// The entry names of a zip's central directory; `None` when it is not a readable zip.
pub fn zip_entries(bytes: &[u8]) -> Option<Vec<String>> {
    if !bytes.starts_with(b"PK\x03\x04") || bytes.len() < 22 {
        return None;
    }
    let eocd = (0..=bytes.len() - 22)
        .rev()
        .find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))?;
    let u16_at = |i: usize| Some(u16::from_le_bytes(bytes.get(i..i + 2)?.try_into().ok()?));
    let u32_at = |i: usize| Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?));
    let count = u16_at(eocd + 10)? as usize;
    let mut at = u32_at(eocd + 16)? as usize;
    let mut names = Vec::with_capacity(count);
    for _ in 0..count {
        if !bytes.get(at..)?.starts_with(b"PK\x01\x02") {
            return None;
        }
        let (name_len, extra, comment) = (
            u16_at(at + 28)? as usize,
            u16_at(at + 30)? as usize,
            u16_at(at + 32)? as usize,
        );
        let name = bytes.get(at + 46..at + 46 + name_len)?;
        names.push(String::from_utf8_lossy(name).into_owned());
        at += 46 + name_len + extra + comment;
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, target: &str, body: &[u8]) -> Request {
        Request {
            method: method.into(),
            target: target.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_vec(),
        }
    }

    /// A state with one deployment created; its upload token.
    fn created(config: &Config) -> (State, String) {
        let mut s = State {
            base_url: "http://127.0.0.1:9".into(),
            ..State::default()
        };
        let resp = create("d1", "main", &request("POST", "/", b"{}"), config, &mut s);
        assert_eq!(resp.status, 200);
        let v: Value = serde_json::from_slice(&resp.body).unwrap();
        let url = v["zipUploadUrl"].as_str().unwrap().to_string();
        assert_eq!(v["jobId"], "1");
        assert_eq!(
            s.jobs[0].status, "PENDING",
            "made, not started: PENDING as on AWS"
        );
        assert!(!s.jobs[0].started);
        let token = url
            .strip_prefix("http://127.0.0.1:9/_upload/")
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_string();
        (s, token)
    }

    const ZIP: &[u8] = b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\0\0\0a\
PK\x01\x02\x14\0\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0a\
PK\x05\x06\0\0\0\0\x01\0\x01\0\x2f\0\0\0\x1f\0\0\0\0\0";

    #[test]
    fn the_upload_url_takes_only_a_put_of_a_zip_before_it_expires() {
        let config = Config::default();
        let (mut s, token) = created(&config);
        let path = format!("/_upload/{token}");
        let status = |s: &mut State, method: &str, token: &str, body: &[u8]| {
            upload(token, &request(method, &path, body), s).status
        };
        assert_eq!(status(&mut s, "GET", &token, b""), 405);
        assert_eq!(status(&mut s, "PUT", &token, b""), 400, "no body");
        assert_eq!(status(&mut s, "PUT", &token, b"not a zip"), 400);
        assert_eq!(
            status(&mut s, "PUT", "0000", ZIP),
            403,
            "a URL never issued"
        );
        let start = |s: &mut State| {
            start(
                "d1",
                "main",
                &request("POST", "/", br#"{"jobId":"1"}"#),
                &config,
                s,
            )
        };
        assert_eq!(start(&mut s).status, 400, "no upload yet");
        assert_eq!(status(&mut s, "PUT", &token, ZIP), 200);
        assert_eq!(s.uploads[0].entries, ["a"]);
        assert_eq!(start(&mut s).status, 200);
        assert_eq!(start(&mut s).status, 400, "started once");

        let expired = Config {
            upload_ttl_secs: 0,
            ..Config::default()
        };
        let (mut s, token) = created(&expired);
        s.presigned.get_mut(&token).unwrap().expires -= 1.0;
        assert_eq!(status(&mut s, "PUT", &token, ZIP), 403, "expired");
    }

    #[test]
    fn step_seconds_make_each_status_last() {
        let config = Config {
            step_secs: 3600.0,
            ..Config::default()
        };
        let mut s = State::default();
        let job = new_job(
            &mut s,
            &config,
            "d1",
            "main",
            &json!({"jobType": "RELEASE"}),
        );
        crate::hosting::jobs::get_job("d1", "main", &job.id.to_string(), &config, &mut s);
        assert_eq!(s.jobs[0].status, "PENDING", "not yet its time");
        s.jobs[0].changed_at -= 3600.0;
        crate::hosting::jobs::get_job("d1", "main", &job.id.to_string(), &config, &mut s);
        assert_eq!(s.jobs[0].status, "PROVISIONING");
    }

    #[test]
    fn a_deployment_is_refused_while_the_last_is_not_finished_or_for_a_repository_app() {
        let config = Config::default();
        let (mut s, _) = created(&config);
        let again = create("d1", "main", &request("POST", "/", b"{}"), &config, &mut s);
        assert_eq!(again.status, 400);
        assert!(
            String::from_utf8_lossy(&again.body)
                .contains("The last job(deployment) 1 was not finished")
        );
        let connected = Config {
            connected_apps: vec!["d1".into()],
            ..Config::default()
        };
        let mut s = State::default();
        let resp = create(
            "d1",
            "main",
            &request("POST", "/", b"{}"),
            &connected,
            &mut s,
        );
        assert!(String::from_utf8_lossy(&resp.body).contains("already connected a repository"));
    }
}
