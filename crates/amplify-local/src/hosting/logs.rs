//! Step logs: each step of `GetJob` has a `logUrl`, presigned as S3's are (3 hours), which this
//! server answers with a plausible Amplify build log. A failed step's log ends with the error a
//! build tool prints, then Amplify's own lines. Tests script the log: its length
//! (`Config::log_lines`) or its whole text (`Config::log_content`).

use crate::http::{Request, Response};
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

/// `GET /_logs/<token>`: the step's log as S3 serves an object (a `Range` of it with 206), or
/// S3's refusal.
pub(crate) fn serve(token: &str, req: &Request, config: &Config, s: &State) -> Response {
    let method = req.method.as_str();
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
    ranged(req.header("range"), content(job, &g.item, config))
}

/// The object, or the part a `Range: bytes=A-B` (or `A-`, or `-N`) asks for, as S3 answers
/// it: 206 with `Content-Range`, 416 `InvalidRange` past the end; a range it cannot read is
/// ignored (the whole object, 200), as HTTP says.
pub(crate) fn ranged(range: Option<&str>, body: Vec<u8>) -> Response {
    let len = body.len() as u64;
    let Some((first, last)) = range.and_then(|r| parse_range(r, len)) else {
        return Response::new(200, "text/plain", body).header("Accept-Ranges", "bytes");
    };
    if first >= len {
        return s3_error(
            416,
            "InvalidRange",
            "The requested range is not satisfiable",
        )
        .header("Content-Range", format!("bytes */{len}"));
    }
    let last = last.min(len - 1);
    let part = body[first as usize..=last as usize].to_vec();
    Response::new(206, "text/plain", part)
        .header("Accept-Ranges", "bytes")
        .header("Content-Range", format!("bytes {first}-{last}/{len}"))
}

/// `bytes=A-B`, `bytes=A-` or `bytes=-N` (the last N bytes): the first and last byte asked for.
fn parse_range(range: &str, len: u64) -> Option<(u64, u64)> {
    let (a, b) = range.trim().strip_prefix("bytes=")?.split_once('-')?;
    match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (n > 0).then(|| (len.saturating_sub(n), len.saturating_sub(1)))
        }
        (a, "") => Some((a.parse().ok()?, u64::MAX)),
        (a, b) => {
            let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
            (a <= b).then_some((a, b))
        }
    }
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
        if !text.starts_with(' ') {
            out.push_str(ts);
            out.push(' ');
        }
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
    if step == "BUILD" {
        line("[INFO]: # Cloning repository: git@github.com:owner/site.git");
        line("[INFO]: Cloning into 'site'...");
        if config.log_names_commit {
            let sha = &job.built_commit;
            line(&format!("[INFO]: # Switching to commit: {sha}"));
            line(&format!("[INFO]: Note: switching to '{sha}'."));
            let subject = job.commit_message.lines().next().unwrap_or_default();
            // git's own output continues Amplify's line: indented, without a timestamp.
            line(&format!(
                "                                 HEAD is now at {} {subject}",
                &sha[..7]
            ));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_range_is_answered_as_s3_answers_it() {
        let body = b"0123456789".to_vec();
        let r = ranged(Some("bytes=2-4"), body.clone());
        assert_eq!((r.status, &r.body[..]), (206, &b"234"[..]));
        assert_eq!(header(&r, "content-range"), Some("bytes 2-4/10"));
        let r = ranged(Some("bytes=0-1048575"), body.clone());
        assert_eq!((r.status, r.body.len()), (206, 10));
        assert_eq!(header(&r, "content-range"), Some("bytes 0-9/10"));
        assert_eq!(ranged(Some("bytes=-3"), body.clone()).body, b"789");
        assert_eq!(ranged(Some("bytes=7-"), body.clone()).body, b"789");
        let r = ranged(Some("bytes=10-20"), body.clone());
        assert_eq!(r.status, 416);
        assert_eq!(header(&r, "content-range"), Some("bytes */10"));
        for unread in [None, Some("lines=1-2"), Some("bytes=5-2"), Some("bytes=x-")] {
            let r = ranged(unread, body.clone());
            assert_eq!((r.status, r.body.len()), (200, 10), "{unread:?}");
        }
    }
}
