//! Step logs: each step of `GetJob` has a `logUrl`, presigned as S3's are (3 hours), which this
//! server answers with a plausible Amplify build log. A failed step's log ends with the error a
//! build tool prints, then Amplify's own lines. Tests script the log: its length
//! (`Config::log_lines`) or its whole text (`Config::log_content`).

use crate::http::Response;
use crate::presign::{self, Grant, s3_error};
use crate::state::{Config, Job, State};

/// The error line a failed step's generated log carries: what a build tool prints.
pub const ERROR_LINE: &str =
    "src/App.tsx(12,5): error TS2322: Type 'string' is not assignable to type 'number'.";

/// The URL of `step`'s log, presigned for `Config::log_ttl_secs`.
pub(crate) fn url(s: &mut State, config: &Config, job: &Job, step: &str) -> String {
    let grant = Grant {
        app_id: job.app_id.clone(),
        branch: job.branch.clone(),
        job_id: job.id,
        item: step.to_string(),
        expires: 0.0,
    };
    presign::issue(s, "_logs", grant, config.log_ttl_secs)
}

/// `GET /_logs/<token>`: the step's log as S3 serves an object, or S3's refusal.
pub(crate) fn serve(token: &str, method: &str, config: &Config, s: &State) -> Response {
    let g = match presign::redeem(s, token, method, "GET") {
        Ok(g) => g,
        Err(r) => return r,
    };
    let Some(job) = s
        .jobs
        .iter()
        .find(|j| j.app_id == g.app_id && j.branch == g.branch && j.id == g.job_id)
    else {
        return s3_error(404, "NoSuchKey", "The specified key does not exist.");
    };
    Response::new(200, "text/plain", content(job, &g.item, config))
}

/// A build log as Amplify writes one: timestamped `[INFO]` lines, `Config::log_lines` of build
/// output, and for the step that failed, the build tool's error and Amplify's lines after it.
pub(crate) fn content(job: &Job, step: &str, config: &Config) -> Vec<u8> {
    let failed = job.status == "FAILED" && first_step(job) == step;
    if failed {
        if let Some(text) = &config.log_content {
            return text.clone().into_bytes();
        }
    }
    let ts = "2026-12-03T10:00:00.000Z";
    let mut out = String::with_capacity(64 * (config.log_lines + 16));
    let mut line = |text: &str| {
        out.push_str(ts);
        out.push(' ');
        out.push_str(text);
        out.push('\n');
    };
    line(
        "[INFO]: # Build environment configured with Standard build compute type: 8GiB Memory, 4vCPUs, 128GB Disk Space",
    );
    line(&format!(
        "[INFO]: # Starting phase: {}",
        step.to_ascii_lowercase()
    ));
    line(&format!("[INFO]: # Checking out commit {}", job.commit_id));
    line("[INFO]: # Executing command: npm ci");
    for k in 1..=config.log_lines {
        line(&format!(
            "[INFO]: added package {k} of {}",
            config.log_lines
        ));
    }
    line("[INFO]: # Executing command: npm run build");
    if failed {
        line(ERROR_LINE);
        line("[ERROR]: !!! Build failed");
        line("[ERROR]: !!! Error: Command failed with exit code 2");
        line("[INFO]: # Starting environment caching...");
        line("[INFO]: # Environment caching completed");
    } else {
        line(&format!(
            "[INFO]: # Completed phase: {}",
            step.to_ascii_lowercase()
        ));
    }
    out.into_bytes()
}

/// The step a failed job fails at: its first.
fn first_step(job: &Job) -> &'static str {
    if job.job_type == "MANUAL" {
        "DEPLOY"
    } else {
        "BUILD"
    }
}
