//! What the CI says about this run: branch, commit, and a job reason. GitHub Actions today,
//! from its documented variables and the event payload; `git` in the checkout fills gaps.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::settings::{Env, Sourced, parse_time};

#[derive(Debug, Clone)]
pub struct Context {
    /// `None` outside a known CI.
    pub provider: Option<&'static str>,
    /// The branch, or why there is none (a tag build, no CI).
    pub branch: Result<Sourced<String>, String>,
    pub commit_id: Option<Sourced<String>>,
    pub job_reason: Option<String>,
    /// The pushed head commit from the event payload: (id, message, timestamp).
    head_commit: Option<(String, Option<String>, Option<String>)>,
    /// Where `git` may find the checkout.
    workdir: Option<PathBuf>,
}

#[derive(Debug, Default)]
pub struct CommitDetails {
    pub message: Option<Sourced<String>>,
    pub time: Option<Sourced<i64>>,
}

impl Context {
    pub fn detect(env: &Env) -> Context {
        if env.get("GITHUB_ACTIONS") == Some("true") {
            return github(env);
        }
        Context {
            provider: None,
            branch: Err("it is required outside GitHub Actions".into()),
            commit_id: None,
            job_reason: None,
            head_commit: None,
            workdir: std::env::current_dir().ok(),
        }
    }

    /// Message and time of `commit`: from the event payload when it is the pushed head
    /// commit, else from `git log` in the checkout (when there is one and `git` exists).
    pub fn commit_details(&self, commit: &str) -> CommitDetails {
        let mut out = CommitDetails::default();
        if let Some((id, message, timestamp)) = &self.head_commit {
            if id == commit {
                out.message = message.clone().map(|m| Sourced {
                    value: m,
                    from: "event payload head_commit.message".into(),
                });
                out.time = timestamp.as_deref().and_then(parse_time).map(|t| Sourced {
                    value: t,
                    from: "event payload head_commit.timestamp".into(),
                });
            }
        }
        if out.message.is_none() || out.time.is_none() {
            if let Some((time, message)) = self.workdir.as_deref().and_then(|d| git_log(d, commit))
            {
                let from = format!("git log -1 {commit}");
                out.message = out.message.or(Some(Sourced {
                    value: message,
                    from: from.clone(),
                }));
                out.time = out.time.or(Some(Sourced { value: time, from }));
            }
        }
        out
    }
}

fn github(env: &Env) -> Context {
    let event_name = env.get("GITHUB_EVENT_NAME").unwrap_or_default();
    let payload: Option<Value> = env.get("GITHUB_EVENT_PATH").and_then(|p| {
        let text = std::fs::read_to_string(p)
            .map_err(|e| tracing::warn!("cannot read the event payload {p}: {e}"))
            .ok()?;
        serde_json::from_str(&text)
            .map_err(|e| tracing::warn!("the event payload {p} is not JSON: {e}"))
            .ok()
    });
    let is_pr = event_name.starts_with("pull_request");
    let sourced = |var: &str| {
        env.get(var).map(|v| Sourced {
            value: v.to_string(),
            from: var.to_string(),
        })
    };

    let branch = if is_pr {
        sourced("GITHUB_HEAD_REF")
            .ok_or_else(|| "GITHUB_HEAD_REF is empty on a pull request event".to_string())
    } else if env.get("GITHUB_REF_TYPE") == Some("branch") {
        sourced("GITHUB_REF_NAME").ok_or_else(|| "GITHUB_REF_NAME is empty".to_string())
    } else {
        Err(format!(
            "not set, and this run is for {} {}, not a branch",
            env.get("GITHUB_REF_TYPE").unwrap_or("ref"),
            crate::settings::show(env.get("GITHUB_REF_NAME").unwrap_or("(unknown)"))
        ))
    };

    let pr_head = payload
        .as_ref()
        .filter(|_| is_pr)
        .and_then(|p| p.pointer("/pull_request/head/sha"))
        .and_then(Value::as_str)
        .map(|sha| Sourced {
            value: sha.to_string(),
            from: "event payload pull_request.head.sha".into(),
        });
    let commit_id = pr_head.or_else(|| sourced("GITHUB_SHA"));

    let head_commit = payload
        .as_ref()
        .and_then(|p| p.get("head_commit"))
        .and_then(|h| {
            let text = |k: &str| h.get(k).and_then(Value::as_str).map(str::to_string);
            Some((text("id")?, text("message"), text("timestamp")))
        });

    let job_reason = env.get("GITHUB_RUN_ID").map(|run| {
        format!(
            "GitHub Actions: {} run {run} attempt {} by {}",
            env.get("GITHUB_WORKFLOW").unwrap_or("workflow"),
            env.get("GITHUB_RUN_ATTEMPT").unwrap_or("1"),
            env.get("GITHUB_ACTOR").unwrap_or("unknown")
        )
    });

    Context {
        provider: Some("GitHub Actions"),
        branch,
        commit_id,
        job_reason,
        head_commit,
        workdir: env
            .get("GITHUB_WORKSPACE")
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok()),
    }
}

/// `git log -1` of one commit: (committer time, full message). `None` when there is no
/// checkout, no `git`, or the commit is not in the clone (shallow fetches).
fn git_log(dir: &std::path::Path, commit: &str) -> Option<(i64, String)> {
    if commit.starts_with('-') {
        return None;
    }
    let out = Command::new("git")
        // The workspace of a Docker action belongs to another user; reading it is safe.
        .args(["-c", "safe.directory=*", "-C"])
        .arg(dir)
        .args([
            "log",
            "-1",
            "--no-show-signature",
            "--format=%ct%x00%B",
            commit,
            "--",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|e| tracing::debug!("git not run: {e}"))
        .ok()?;
    if !out.status.success() {
        tracing::debug!("git log -1 {commit} failed in {}", dir.display());
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (time, message) = text.split_once('\0')?;
    let message = message
        .strip_suffix('\n')
        .unwrap_or(message)
        .trim_end_matches('\n');
    Some((time.trim().parse().ok()?, message.to_string()))
}
