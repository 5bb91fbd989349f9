//! Jobs: `StartJob`, `GetJob`, `ListJobs`, `StopJob`, and "the webhook", as AWS plays them
//! (see the README's fidelity table): one unfinished job per branch, `commitId: "HEAD"` on
//! RELEASE jobs, sparse answers and summaries without `jobType`.

use std::collections::VecDeque;

use serde_json::{Value, json};

use crate::ACCOUNT;
use crate::answer::{aws_error, bad_request, constraint, json_object, paging};
use crate::http::{Request, Response};
use crate::state::{Config, Job, State, now, scramble};

/// The statuses of a job that has not ended: while a branch has one, StartJob is refused.
pub(crate) fn unfinished(status: &str) -> bool {
    matches!(
        status,
        "CREATED" | "PENDING" | "PROVISIONING" | "RUNNING" | "CANCELLING"
    )
}

/// The branch's newest unfinished job, if any.
pub(crate) fn unfinished_job<'a>(s: &'a State, app: &str, branch: &str) -> Option<&'a Job> {
    s.jobs
        .iter()
        .filter(|j| j.app_id == app && j.branch == branch && unfinished(&j.status))
        .max_by_key(|j| j.id)
}

/// What AWS answers a StartJob on a branch that has an unfinished job.
pub(crate) fn busy_message(branch: &str) -> String {
    format!("The requested branch {branch} already have pending or running jobs")
}

pub(crate) fn start_job(
    app: &str,
    branch: &str,
    req: &Request,
    config: &Config,
    s: &mut State,
) -> Response {
    let is_json = req
        .header("content-type")
        .is_some_and(|c| c.trim().starts_with("application/json"));
    if !is_json {
        return bad_request("Content-Type must be application/json".into());
    }
    let body = match json_object(&req.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let string = |name: &str| -> Result<Option<String>, Response> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(v)) => Ok(Some(v.clone())),
            Some(_) => Err(aws_error(
                400,
                "SerializationException",
                &format!("Member {name} must be a string"),
            )),
        }
    };
    let job_type = match string("jobType") {
        Ok(Some(t)) => t,
        Ok(None) => {
            return bad_request(
                "1 validation error detected: Value null at 'jobType' failed to satisfy constraint: Member must not be null".into(),
            )
        }
        Err(r) => return r,
    };
    if !["RELEASE", "RETRY", "MANUAL", "WEB_HOOK"].contains(&job_type.as_str()) {
        return constraint(
            &job_type,
            "jobType",
            "Member must satisfy enum value set: [RELEASE, RETRY, MANUAL, WEB_HOOK]",
        );
    }
    for (member, max) in [
        ("jobReason", 255),
        ("commitId", 255),
        ("commitMessage", 10_000),
        ("jobId", 255),
    ] {
        match string(member) {
            Ok(Some(v)) if v.chars().count() > max => {
                return constraint(
                    &v,
                    member,
                    &format!("Member must have length less than or equal to {max}"),
                );
            }
            Ok(_) => {}
            Err(r) => return r,
        }
    }
    match body.get("commitTime") {
        None | Some(Value::Number(_)) => {}
        Some(_) => {
            return aws_error(
                400,
                "SerializationException",
                "commitTime must be a number of seconds since the epoch",
            );
        }
    }
    // MANUAL is in the model's enum, but StartJob refuses it: a manual deployment is
    // CreateDeployment's (aws/aws-sdk #121 quotes this text).
    if job_type == "MANUAL" {
        return bad_request("The requested jobType MANUAL does not support.".into());
    }
    if job_type == "RETRY" {
        let Ok(Some(id)) = string("jobId") else {
            return bad_request("jobId is required for job type RETRY.".into());
        };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return constraint(
                &id,
                "jobId",
                "Member must satisfy regular expression pattern: [0-9]+",
            );
        }
        let id: u64 = id.parse().unwrap_or(u64::MAX);
        if !s
            .jobs
            .iter()
            .any(|j| j.app_id == app && j.branch == branch && j.id == id)
        {
            return aws_error(404, "NotFoundException", &format!("Job {id} not found."));
        }
    }
    if !config.concurrent_jobs && unfinished_job(s, app, branch).is_some() {
        return aws_error(429, "LimitExceededException", &busy_message(branch));
    }
    let retried = match (&job_type[..], string("jobId")) {
        ("RETRY", Ok(Some(id))) => s
            .jobs
            .iter()
            .find(|j| j.app_id == app && j.branch == branch && j.id.to_string() == id)
            .map(|j| j.commit_id.clone()),
        _ => None,
    };
    let mut job = new_job(s, config, app, branch, &body);
    // AWS builds the branch's head and records it as "HEAD", whatever commit was sent; a
    // retry records the retried job's commit.
    job.commit_id = match (&job_type[..], retried) {
        ("RETRY", Some(commit)) => commit,
        _ => "HEAD".into(),
    };
    if job.job_type == "RETRY" {
        job.built_commit = built_commit(&job, config);
    }
    replace(s, &job);
    let mut v = started_summary(&job, &config.region);
    v["commitId"] = json!(job.commit_id);
    v["commitTime"] = json!(job.commit_time);
    Response::json(200, &json!({ "jobSummary": v }))
}

/// The statuses a job goes through after `status`, ending in the configured outcome.
pub(crate) fn ahead_of(status: &str, config: &Config) -> VecDeque<String> {
    let path = ["PENDING", "PROVISIONING", "RUNNING"];
    match path.iter().position(|p| *p == status) {
        Some(i) => path[i + 1..]
            .iter()
            .map(|s| s.to_string())
            .chain([config.outcome.clone()])
            .collect(),
        None if status == "CANCELLING" => VecDeque::from(["CANCELLED".to_string()]),
        None => VecDeque::new(),
    }
}

pub(crate) fn new_job(
    s: &mut State,
    config: &Config,
    app: &str,
    branch: &str,
    body: &Value,
) -> Job {
    let next = s
        .next_id
        .entry((app.to_string(), branch.to_string()))
        .or_insert(0);
    *next += 1;
    let start = now();
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let mut job = Job {
        app_id: app.into(),
        branch: branch.into(),
        id: *next,
        job_type: text("jobType").unwrap_or_default(),
        job_reason: text("jobReason"),
        commit_id: text("commitId").unwrap_or_else(|| "HEAD".into()),
        built_commit: String::new(),
        commit_message: text("commitMessage").unwrap_or_default(),
        commit_time: body
            .get("commitTime")
            .and_then(Value::as_f64)
            .unwrap_or(start),
        start_time: start,
        end_time: None,
        status: "PENDING".into(),
        started: true,
        run_start: None,
        changed_at: start,
        pending: ahead_of("PENDING", config),
    };
    job.built_commit = built_commit(&job, config);
    s.jobs.push(job.clone());
    job
}

/// What a build checks out: for a RELEASE job the branch's tip when it starts, which is
/// `--moved-tip` when a test moved it on after the trigger, else the commit sent (the push that
/// triggered the run is the tip); the recorded commit otherwise. A job sent no commit checks
/// out a tip made up from its app and branch.
fn built_commit(job: &Job, config: &Config) -> String {
    let is_sha = |c: &str| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit());
    if job.job_type == "RELEASE" {
        if let Some(tip) = &config.moved_tip {
            return tip.clone();
        }
    }
    if is_sha(&job.commit_id) {
        return job.commit_id.to_ascii_lowercase();
    }
    let seed = format!("{}/{}", job.app_id, job.branch);
    let h = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    format!("{h:016x}{h:016x}{:08x}", h as u32)
}

/// Writes `job` back over the stored job of the same id.
pub(crate) fn replace(s: &mut State, job: &Job) {
    if let Some(j) = s
        .jobs
        .iter_mut()
        .find(|j| j.id == job.id && j.app_id == job.app_id && j.branch == job.branch)
    {
        *j = job.clone();
    }
}

fn job_arn(job: &Job, region: &str) -> String {
    format!(
        "arn:aws:amplify:{region}:{ACCOUNT}:apps/{}/branches/{}/jobs/{:010}",
        job.app_id, job.branch, job.id
    )
}

/// The summary `GetJob` and `StopJob` answer: no `jobType`, as AWS's often lack it.
pub fn summary(job: &Job, region: &str) -> Value {
    let mut v = list_summary(job, region);
    v["commitMessage"] = json!(job.commit_message);
    v
}

/// A `ListJobs` summary: neither `jobType` nor `commitMessage`.
fn list_summary(job: &Job, region: &str) -> Value {
    let mut v = json!({
        "jobArn": job_arn(job, region),
        "jobId": job.id.to_string(),
        "commitId": job.commit_id,
        "commitTime": job.commit_time,
        "startTime": job.start_time,
        "status": job.status,
    });
    if let Some(end) = job.end_time {
        v["endTime"] = json!(end);
    }
    v
}

/// What StartJob and StartDeployment answer: the job's ARN, id and status, and little more.
pub(crate) fn started_summary(job: &Job, region: &str) -> Value {
    json!({
        "jobArn": job_arn(job, region),
        "jobId": job.id.to_string(),
        "status": job.status,
    })
}

/// A job id in a path, checked as the model's pattern wants it.
fn job_id(id: &str) -> Result<u64, Response> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || id.len() > 255 {
        return Err(constraint(
            id,
            "jobId",
            "Member must satisfy regular expression pattern: [0-9]+",
        ));
    }
    Ok(id.parse().unwrap_or(u64::MAX))
}

/// The branch's job of path label `id`: the model's pattern checked, then found or 404.
fn find<'a>(s: &'a mut State, app: &str, branch: &str, id: &str) -> Result<&'a mut Job, Response> {
    let id = job_id(id)?;
    s.jobs
        .iter_mut()
        .find(|j| j.app_id == app && j.branch == branch && j.id == id)
        .ok_or_else(|| aws_error(404, "NotFoundException", &format!("Job {id} not found.")))
}

/// `GetJob`: each call moves the job one status on, so a test's job runs as fast as it polls.
pub(crate) fn get_job(
    app: &str,
    branch: &str,
    id: &str,
    config: &Config,
    s: &mut State,
) -> Response {
    let job = match find(s, app, branch, id) {
        Ok(j) => j,
        Err(r) => return r,
    };
    let due = now() - job.changed_at >= config.step_secs;
    if job.started && due {
        if let Some(next) = job.pending.pop_front() {
            job.status = next;
            let t = now();
            job.changed_at = t;
            if job.status != "PENDING" && job.run_start.is_none() {
                job.run_start = Some(t);
            }
            if job.pending.is_empty() {
                job.end_time = Some(t);
            }
        }
    }
    let job = job.clone();
    let steps = steps(&job, config, s);
    Response::json(
        200,
        &json!({ "job": { "summary": summary(&job, &config.region), "steps": steps } }),
    )
}

/// `StopJob`: a job never started is cancelled at once; a started one is `CANCELLING` until
/// its next `GetJob`.
pub(crate) fn stop_job(
    app: &str,
    branch: &str,
    id: &str,
    config: &Config,
    s: &mut State,
) -> Response {
    let job = match find(s, app, branch, id) {
        Ok(j) => j,
        Err(r) => return r,
    };
    if job.end_time.is_some() {
        return bad_request(format!("Job {} has already ended.", job.id));
    }
    if !job.started {
        job.status = "CANCELLED".into();
        job.end_time = Some(now());
        job.pending.clear();
    } else {
        job.status = "CANCELLING".into();
        job.pending = VecDeque::from(["CANCELLED".to_string()]);
    }
    Response::json(200, &json!({ "jobSummary": summary(job, &config.region) }))
}

/// A job's steps: `BUILD`, `DEPLOY`, `VERIFY` for a build; `DEPLOY` and `VERIFY` for a manual
/// deployment, which has nothing to build.
fn steps(job: &Job, config: &Config, s: &mut State) -> Value {
    let order: &[&str] = if job.job_type == "MANUAL" {
        &["DEPLOY", "VERIFY"]
    } else {
        &["BUILD", "DEPLOY", "VERIFY"]
    };
    let reached = match job.status.as_str() {
        "CREATED" | "PENDING" | "PROVISIONING" => 0,
        "RUNNING" => 1,
        // A failed first step ends the job: the steps after it never run.
        "FAILED" => 1,
        _ => order.len(),
    };
    let begin = job.run_start.unwrap_or(job.start_time);
    let end = job.end_time.unwrap_or(begin);
    let steps: Vec<Value> = order[..reached]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let status = if job.end_time.is_none() {
                "RUNNING"
            } else if job.status == "FAILED" && i == 0 {
                "FAILED"
            } else if job.status == "SUCCEED" {
                "SUCCEED"
            } else {
                job.status.as_str()
            };
            let mut step = json!({
                "stepName": name,
                "startTime": begin,
                "endTime": end,
                "status": status,
                "logUrl": crate::hosting::logs::url(s, config, job, name),
            });
            // Amplify says why a step failed or was cancelled.
            let reason = match status {
                "FAILED" => Some("Build failed: the build command exited with code 1"),
                "CANCELLED" => Some("The job was cancelled"),
                _ => None,
            };
            if let Some(default) = reason {
                step["statusReason"] = json!(config.step_reason.as_deref().unwrap_or(default));
            }
            step
        })
        .collect();
    Value::Array(steps)
}

/// The webhook jobs due at this `ListJobs` call of the branch start now.
fn run_webhooks(app: &str, branch: &str, config: &Config, s: &mut State) {
    let mut due = Vec::new();
    s.webhooks.retain_mut(|(a, b, commit, left)| {
        if a != app || b != branch {
            return true;
        }
        if *left == 0 {
            due.push(commit.clone());
            return false;
        }
        *left -= 1;
        true
    });
    for commit in due {
        new_job(
            s,
            config,
            app,
            branch,
            &json!({"jobType": "WEB_HOOK", "commitId": commit}),
        );
    }
}

pub(crate) fn list_jobs(
    app: &str,
    branch: &str,
    req: &Request,
    config: &Config,
    s: &mut State,
) -> Response {
    run_webhooks(app, branch, config, s);
    let (max, token) = match paging(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let start = match &token {
        None => 0,
        Some(t) => match s.tokens.get(t) {
            Some((a, b, offset)) if a == app && b == branch => *offset,
            _ => return bad_request(format!("Invalid nextToken: {t}")),
        },
    };
    let mut jobs: Vec<&Job> = s
        .jobs
        .iter()
        .filter(|j| j.app_id == app && j.branch == branch)
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
    let page: Vec<Value> = jobs
        .iter()
        .skip(start)
        .take(max)
        .map(|j| list_summary(j, &config.region))
        .collect();
    let more = start + max < jobs.len();
    let mut out = json!({ "jobSummaries": page });
    if more {
        let token = format!("{:016x}", scramble(s.tokens.len()));
        s.tokens
            .insert(token.clone(), (app.into(), branch.into(), start + max));
        out["nextToken"] = json!(token);
    }
    Response::json(200, &out)
}
