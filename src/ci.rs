//! What the CI says about this run: branch, commit, and a job reason, from each CI's own
//! documented variables (GitHub Actions also from its event payload). Where the CI says
//! nothing, or no CI is detected, `git` in the checkout fills the gaps.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::env::{Env, Name, SettingsError, Sourced, parse_time, show};

/// The branch and commit settings: given, they win over the CI, and git is not asked.
pub const BRANCH_NAME: Name = Name {
    var: "AMPLIFY_BRANCH_NAME",
    input: "branch-name",
};
pub const COMMIT_ID: Name = Name {
    var: "AMPLIFY_COMMIT_ID",
    input: "commit-id",
};

#[derive(Debug, Clone)]
pub struct Context {
    /// `None` outside a known CI.
    pub provider: Option<&'static str>,
    /// The branch, or why there is none (a tag build, no CI).
    pub branch: Result<Sourced<String>, String>,
    pub commit_id: Option<Sourced<String>>,
    pub job_reason: Option<String>,
    /// On a GitHub `pull_request` event: the pull request's number.
    pub pull_request: Option<u64>,
    /// On a GitHub pull request event: the head repository, when it is a fork (not the base
    /// repository). A fork's `pull_request` runs get no secrets and no OIDC token.
    pub fork: Option<String>,
    /// The event is `pull_request_target`: the base's workflow, run with its secrets.
    pub pull_request_target: bool,
    /// On GitHub Actions: the event's name (`GITHUB_EVENT_NAME`).
    pub event_name: Option<String>,
    /// What the event says of a pull request's head: for `mode: authorize-fork`.
    pub pr_head: Option<PrHead>,
    /// What the CI says of one commit: its message and time.
    head_commit: Option<HeadCommit>,
    /// Where `git` may find the checkout.
    workdir: Option<PathBuf>,
}

/// A commit's id, and its message and time as the CI gives them, each with its source.
#[derive(Debug, Clone)]
struct HeadCommit {
    id: String,
    message: Option<Sourced<String>>,
    time: Option<Sourced<String>>,
}

/// A pull request's head as a GitHub event gives it: its number, head commit, author, and
/// whether it comes from a fork (`None`: the event does not say).
#[derive(Debug, Clone, Default)]
pub struct PrHead {
    pub number: Option<u64>,
    pub sha: Option<Sourced<String>>,
    pub author: Option<String>,
    pub fork: Option<bool>,
    pub head_repository: Option<String>,
}

/// The pull request of a `pull_request*`, `workflow_run` or `issue_comment` event's payload.
fn pr_head_of(event: &str, p: &Value) -> Option<PrHead> {
    let text = |ptr: &str| p.pointer(ptr).and_then(Value::as_str).map(str::to_string);
    let sourced = |ptr: &str, from: &str| {
        text(ptr).map(|value| Sourced {
            value,
            from: format!("event payload {from}"),
        })
    };
    let differ = |head: Option<String>, base: Option<String>| match (head, base) {
        (Some(h), Some(b)) => Some(!h.eq_ignore_ascii_case(&b)),
        _ => None,
    };
    Some(match event {
        e if e.starts_with("pull_request") => PrHead {
            number: p.pointer("/pull_request/number").and_then(Value::as_u64),
            sha: sourced("/pull_request/head/sha", "pull_request.head.sha"),
            author: text("/pull_request/user/login"),
            fork: fork_of(p).map(|_| true).or_else(|| {
                let known = |ptr: &str| p.pointer(ptr).is_some();
                let head = known("/pull_request/head/repo/full_name");
                let base = known("/pull_request/base/repo/full_name");
                (head && (base || known("/pull_request/head/repo/fork"))).then_some(false)
            }),
            head_repository: text("/pull_request/head/repo/full_name"),
        },
        "workflow_run" => PrHead {
            number: p
                .pointer("/workflow_run/pull_requests/0/number")
                .and_then(Value::as_u64),
            sha: sourced("/workflow_run/head_sha", "workflow_run.head_sha"),
            author: text("/workflow_run/actor/login"),
            fork: differ(
                text("/workflow_run/head_repository/full_name"),
                text("/workflow_run/repository/full_name"),
            ),
            head_repository: text("/workflow_run/head_repository/full_name"),
        },
        "issue_comment" if p.pointer("/issue/pull_request").is_some() => PrHead {
            number: p.pointer("/issue/number").and_then(Value::as_u64),
            author: text("/issue/user/login"),
            ..PrHead::default()
        },
        _ => return None,
    })
}

#[derive(Debug, Default)]
pub struct CommitDetails {
    pub message: Option<Sourced<String>>,
    pub time: Option<Sourced<i64>>,
}

impl Context {
    /// Fails only for a GitHub event payload that cannot be read: without it a pull
    /// request's head commit is unknown, and `GITHUB_SHA` would build the merge commit.
    pub fn detect(env: &Env) -> Result<Context, SettingsError> {
        let mut ctx = if env.get("GITHUB_ACTIONS") == Some("true") {
            github(env)?
        } else if let Some(ci) = CIS.iter().find(|c| c.detected(env)) {
            from_table(ci, env)
        } else {
            Context {
                provider: None,
                branch: Err("no CI was detected".into()),
                commit_id: None,
                job_reason: None,
                pull_request: None,
                fork: None,
                pull_request_target: false,
                event_name: None,
                pr_head: None,
                head_commit: None,
                workdir: std::env::current_dir().ok(),
            }
        };
        ctx.fill_from_git(env);
        Ok(ctx)
    }

    /// A branch or commit the CI did not give comes from the checkout, when there is one
    /// (never a branch for a tag build, which the CI did say). Git is not asked for what the
    /// settings give explicitly: a start stays a few milliseconds.
    fn fill_from_git(&mut self, env: &Env) {
        let Some(dir) = self.workdir.clone() else {
            return;
        };
        let untold = |e: &String| !e.contains("tag");
        let given = |name: Name| env.get(name.var).is_some();
        if matches!(&self.branch, Err(e) if untold(e)) && !given(BRANCH_NAME) {
            if let Some(b) = git(&dir, &["symbolic-ref", "-q", "--short", "HEAD"]) {
                self.branch = Ok(Sourced {
                    value: b,
                    from: "git symbolic-ref HEAD".into(),
                });
            } else if let Err(e) = &mut self.branch {
                e.push_str(" and git finds no branch checked out here");
            }
        }
        if self.commit_id.is_none() && !given(COMMIT_ID) {
            self.commit_id =
                git(&dir, &["rev-parse", "-q", "--verify", "HEAD^{commit}"]).map(|c| Sourced {
                    value: c,
                    from: "git rev-parse HEAD".into(),
                });
        }
    }

    /// Message and time of `commit`: from the event payload when it is the pushed head
    /// commit, else from `git log` in the checkout (when there is one and `git` exists).
    pub fn commit_details(&self, commit: &str) -> CommitDetails {
        let mut out = CommitDetails::default();
        if let Some(head) = &self.head_commit {
            if head.id == commit {
                out.message = head.message.clone();
                out.time = head.time.as_ref().and_then(|t| {
                    parse_time(&t.value).map(|v| Sourced {
                        value: v,
                        from: t.from.clone(),
                    })
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

/// The runner's event payload, when `GITHUB_EVENT_PATH` names one (a local run has none).
fn event_payload(env: &Env) -> Result<Option<Value>, SettingsError> {
    let Some(path) = env.get("GITHUB_EVENT_PATH") else {
        return Ok(None);
    };
    let bad = |problem: String| {
        SettingsError::new(
            "GITHUB_EVENT_PATH",
            None,
            Some(path),
            &problem,
            "the runner writes this file: make sure no earlier step changed or removed it, or unset GITHUB_EVENT_PATH outside GitHub Actions",
        )
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot be read ({e})")))?;
    match serde_json::from_str(&text) {
        Ok(v @ Value::Object(_)) => Ok(Some(v)),
        Ok(_) => Err(bad("is not a JSON object".into())),
        Err(e) => Err(bad(format!("is not JSON ({e})"))),
    }
}

/// The payload's `head_commit`: its id, message and time (a push).
fn head_commit_of(payload: &Value) -> Option<HeadCommit> {
    let h = payload.get("head_commit")?;
    let text = |k: &str| h.get(k).and_then(Value::as_str).map(str::to_string);
    let sourced = |k: &str| {
        text(k).map(|value| Sourced {
            value,
            from: format!("event payload head_commit.{k}"),
        })
    };
    Some(HeadCommit {
        id: text("id")?,
        message: sourced("message"),
        time: sourced("timestamp"),
    })
}

/// The head repository of a pull request's payload, when it is not the base repository.
fn fork_of(payload: &Value) -> Option<String> {
    let name = |side: &str| {
        payload
            .pointer(&format!("/pull_request/{side}/repo/full_name"))
            .and_then(Value::as_str)
    };
    let flagged = payload
        .pointer("/pull_request/head/repo/fork")
        .and_then(Value::as_bool)
        == Some(true);
    // `repo.fork` says the head repository is a fork of some repository, not of this base: a
    // pull request between branches of a repository that is itself a fork has it too. It
    // decides only when the base's name is missing.
    match (name("head"), name("base")) {
        (Some(head), Some(base)) => (!head.eq_ignore_ascii_case(base)).then(|| head.to_string()),
        (Some(head), None) if flagged => Some(head.to_string()),
        _ => None,
    }
}

fn github(env: &Env) -> Result<Context, SettingsError> {
    let event_name = env.get("GITHUB_EVENT_NAME").unwrap_or_default();
    let payload = event_payload(env)?;
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
            "this run is for {} {}, not a branch",
            env.get("GITHUB_REF_TYPE").unwrap_or("ref"),
            show(env.get("GITHUB_REF_NAME").unwrap_or("(unknown)"))
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

    let head_commit = payload.as_ref().and_then(head_commit_of);

    let job_reason = env.get("GITHUB_RUN_ID").map(|run| {
        format!(
            "GitHub Actions: {} run {run} attempt {} by {}",
            env.get("GITHUB_WORKFLOW").unwrap_or("workflow"),
            env.get("GITHUB_RUN_ATTEMPT").unwrap_or("1"),
            env.get("GITHUB_ACTOR").unwrap_or("unknown")
        )
    });

    let pull_request = payload
        .as_ref()
        .filter(|_| is_pr)
        .and_then(|p| p.pointer("/pull_request/number"))
        .and_then(Value::as_u64);
    let fork = payload.as_ref().filter(|_| is_pr).and_then(fork_of);
    let pr_head = payload.as_ref().and_then(|p| pr_head_of(event_name, p));
    Ok(Context {
        provider: Some("GitHub Actions"),
        branch,
        commit_id,
        job_reason,
        pull_request,
        fork,
        pull_request_target: event_name == "pull_request_target",
        event_name: Some(event_name.to_string()).filter(|e| !e.is_empty()),
        pr_head,
        head_commit,
        workdir: env
            .get("GITHUB_WORKSPACE")
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok()),
    })
}

/// A CI other than GitHub, by its documented variables: each list is tried in order.
struct Ci {
    name: &'static str,
    /// The variable that marks a run of this CI, and its value (any value when `None`, any
    /// case when given).
    detect: (&'static str, Option<&'static str>),
    /// The branch built: a pull request's source branch first. `refs/heads/` is taken off;
    /// a `refs/tags/` value means a tag build, other `refs/` values are skipped.
    branch: &'static [&'static str],
    /// Set on tag builds (where some CIs put the tag in their branch variable too).
    tag: &'static [&'static str],
    /// The commit built: a pull request's head commit first.
    commit: &'static [&'static str],
    message: Option<&'static str>,
    time: Option<&'static str>,
    /// A link to, or the id of, the run: the job reason.
    run: &'static [&'static str],
    workdir: &'static [&'static str],
}

impl Ci {
    fn detected(&self, env: &Env) -> bool {
        let (var, value) = self.detect;
        match (env.get(var), value) {
            (Some(v), Some(want)) => v.eq_ignore_ascii_case(want),
            (found, None) => found.is_some(),
            (None, Some(_)) => false,
        }
    }
}

const CIS: &[Ci] = &[
    Ci {
        // https://docs.gitlab.com/ci/variables/predefined_variables/
        name: "GitLab CI",
        detect: ("GITLAB_CI", Some("true")),
        // CI_COMMIT_REF_NAME is the branch of every pipeline without CI_COMMIT_TAG, also
        // trigger and API pipelines that have no CI_COMMIT_BRANCH.
        branch: &[
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
            "CI_COMMIT_BRANCH",
            "CI_COMMIT_REF_NAME",
        ],
        tag: &["CI_COMMIT_TAG"],
        commit: &["CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "CI_COMMIT_SHA"],
        message: Some("CI_COMMIT_MESSAGE"),
        time: Some("CI_COMMIT_TIMESTAMP"),
        run: &["CI_PIPELINE_URL", "CI_PIPELINE_ID"],
        workdir: &["CI_PROJECT_DIR"],
    },
    Ci {
        // https://support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/
        name: "Bitbucket Pipelines",
        detect: ("BITBUCKET_BUILD_NUMBER", None),
        branch: &["BITBUCKET_BRANCH"],
        tag: &["BITBUCKET_TAG"],
        commit: &["BITBUCKET_COMMIT"],
        message: None,
        time: None,
        run: &["BITBUCKET_BUILD_NUMBER"],
        workdir: &["BITBUCKET_CLONE_DIR"],
    },
    Ci {
        // https://circleci.com/docs/variables/
        name: "CircleCI",
        detect: ("CIRCLECI", Some("true")),
        branch: &["CIRCLE_BRANCH"],
        tag: &["CIRCLE_TAG"],
        commit: &["CIRCLE_SHA1"],
        message: None,
        time: None,
        run: &["CIRCLE_BUILD_URL", "CIRCLE_BUILD_NUM"],
        workdir: &["CIRCLE_WORKING_DIRECTORY"],
    },
    Ci {
        // https://buildkite.com/docs/pipelines/environment_variables
        name: "Buildkite",
        detect: ("BUILDKITE", Some("true")),
        branch: &["BUILDKITE_BRANCH"],
        tag: &["BUILDKITE_TAG"],
        commit: &["BUILDKITE_COMMIT"],
        message: Some("BUILDKITE_MESSAGE"),
        time: None,
        run: &["BUILDKITE_BUILD_URL", "BUILDKITE_BUILD_NUMBER"],
        workdir: &["BUILDKITE_BUILD_CHECKOUT_PATH"],
    },
    Ci {
        // https://www.jenkins.io/doc/book/pipeline/multibranch/ and the Git plugin's variables
        name: "Jenkins",
        detect: ("JENKINS_URL", None),
        branch: &[
            "CHANGE_BRANCH",
            "BRANCH_NAME",
            "GIT_LOCAL_BRANCH",
            "GIT_BRANCH",
        ],
        tag: &["TAG_NAME"],
        commit: &["GIT_COMMIT"],
        message: None,
        time: None,
        run: &["BUILD_URL", "BUILD_TAG"],
        workdir: &["WORKSPACE"],
    },
    Ci {
        // https://learn.microsoft.com/azure/devops/pipelines/build/variables
        name: "Azure Pipelines",
        detect: ("TF_BUILD", Some("true")),
        branch: &["SYSTEM_PULLREQUEST_SOURCEBRANCH", "BUILD_SOURCEBRANCH"],
        tag: &[],
        commit: &["SYSTEM_PULLREQUEST_SOURCECOMMITID", "BUILD_SOURCEVERSION"],
        message: Some("BUILD_SOURCEVERSIONMESSAGE"),
        time: None,
        run: &["BUILD_BUILDID"],
        workdir: &["BUILD_SOURCESDIRECTORY"],
    },
    Ci {
        // https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html
        name: "AWS CodeBuild",
        detect: ("CODEBUILD_BUILD_ID", None),
        branch: &["CODEBUILD_WEBHOOK_HEAD_REF"],
        tag: &[],
        commit: &["CODEBUILD_RESOLVED_SOURCE_VERSION"],
        message: None,
        time: None,
        run: &["CODEBUILD_BUILD_ID"],
        workdir: &["CODEBUILD_SRC_DIR"],
    },
    Ci {
        // https://docs.travis-ci.com/user/environment-variables/#default-environment-variables
        name: "Travis CI",
        detect: ("TRAVIS", Some("true")),
        branch: &["TRAVIS_PULL_REQUEST_BRANCH", "TRAVIS_BRANCH"],
        tag: &["TRAVIS_TAG"],
        commit: &["TRAVIS_PULL_REQUEST_SHA", "TRAVIS_COMMIT"],
        message: Some("TRAVIS_COMMIT_MESSAGE"),
        time: None,
        run: &["TRAVIS_BUILD_WEB_URL", "TRAVIS_BUILD_ID"],
        workdir: &["TRAVIS_BUILD_DIR"],
    },
    Ci {
        // https://woodpecker-ci.org/docs/usage/environment
        name: "Woodpecker CI",
        detect: ("CI", Some("woodpecker")),
        branch: &["CI_COMMIT_SOURCE_BRANCH", "CI_COMMIT_BRANCH"],
        tag: &["CI_COMMIT_TAG"],
        commit: &["CI_COMMIT_SHA"],
        message: Some("CI_COMMIT_MESSAGE"),
        time: None,
        run: &["CI_PIPELINE_URL", "CI_PIPELINE_NUMBER"],
        workdir: &["CI_WORKSPACE"],
    },
    Ci {
        // https://docs.drone.io/pipeline/environment/reference/
        name: "Drone",
        detect: ("DRONE", Some("true")),
        branch: &["DRONE_SOURCE_BRANCH", "DRONE_BRANCH"],
        tag: &["DRONE_TAG"],
        commit: &["DRONE_COMMIT_SHA"],
        message: Some("DRONE_COMMIT_MESSAGE"),
        time: None,
        run: &["DRONE_BUILD_LINK", "DRONE_BUILD_NUMBER"],
        workdir: &["DRONE_WORKSPACE"],
    },
];

/// The CI names this tool recognises, for the README and `--help`.
pub fn known() -> impl Iterator<Item = &'static str> {
    std::iter::once("GitHub Actions").chain(CIS.iter().map(|c| c.name))
}

fn from_table(ci: &Ci, env: &Env) -> Context {
    let first = |vars: &[&'static str]| {
        vars.iter()
            .find_map(|v| env.get(v).map(|value| (*v, value.to_string())))
    };
    let tag = first(ci.tag).or_else(|| {
        ci.branch.iter().find_map(|v| {
            env.get(v)
                .and_then(|b| b.strip_prefix("refs/tags/"))
                .map(|t| (*v, t.to_string()))
        })
    });
    let branch = ci.branch.iter().find_map(|v| {
        let value = env.get(v)?;
        let value = match value.strip_prefix("refs/heads/") {
            Some(b) => b,
            None if value.starts_with("refs/") => return None,
            // Jenkins' Git plugin names the remote: origin/main.
            None if *v == "GIT_BRANCH" => value.strip_prefix("origin/").unwrap_or(value),
            None => value,
        };
        Some(Sourced {
            value: value.to_string(),
            from: (*v).to_string(),
        })
    });
    // Where a CI has a pull-request variable, it comes first in `branch`: that one is a
    // branch even when a tag variable is set too.
    let from_pr = |b: &Sourced<String>| ci.branch.len() > 1 && b.from == ci.branch[0];
    let branch = match (branch, tag) {
        (Some(b), None) => Ok(b),
        (Some(b), Some(_)) if from_pr(&b) => Ok(b),
        (_, Some((var, t))) => Err(format!(
            "this {} run is for tag {} ({var}), not a branch",
            ci.name,
            show(&t)
        )),
        (None, None) => Err(format!("{} gave no branch", ci.name)),
    };
    // Buildkite may say HEAD for "whatever the branch points at": git resolves that.
    let commit_id = first(ci.commit)
        .filter(|(_, c)| c != "HEAD")
        .map(|(var, value)| Sourced {
            value,
            from: var.to_string(),
        });
    let sourced = |var: Option<&'static str>| {
        var.and_then(|v| {
            env.get(v).map(|value| Sourced {
                value: value.to_string(),
                from: v.to_string(),
            })
        })
    };
    let head_commit = commit_id.as_ref().map(|c| HeadCommit {
        id: c.value.clone(),
        message: sourced(ci.message),
        time: sourced(ci.time),
    });
    let workdir = first(ci.workdir)
        .map(|(_, d)| match (d.strip_prefix("~/"), env.get("HOME")) {
            (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
            _ => PathBuf::from(d),
        })
        .or_else(|| std::env::current_dir().ok());
    Context {
        provider: Some(ci.name),
        branch,
        commit_id,
        job_reason: first(ci.run).map(|(_, r)| format!("{}: {r}", ci.name)),
        pull_request: None,
        fork: None,
        pull_request_target: false,
        event_name: None,
        pr_head: None,
        head_commit,
        workdir,
    }
}

impl Context {
    /// Where `git` may find the checkout.
    pub fn workdir(&self) -> Option<&std::path::Path> {
        self.workdir.as_deref()
    }
}

/// The commits after `from` up to `to` (`git log from..to`), newest first, as `<short> <subject>`
/// lines, at most `max`; `None` when git cannot tell (no checkout, a shallow clone without
/// them, no git).
pub fn commits_between(
    dir: &std::path::Path,
    from: &str,
    to: &str,
    max: usize,
) -> Option<Vec<String>> {
    let hex = |c: &str| !c.is_empty() && c.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(from) || !hex(to) {
        return None;
    }
    let range = format!("{from}..{to}");
    let count = format!("--max-count={max}");
    let out = git_output(dir, &["log", "--format=%h %s", &count, &range, "--"])?;
    Some(out.lines().map(str::to_string).collect())
}

/// The stdout of `git` in `dir` when it succeeds; `None` when there is no git, no checkout,
/// or it fails.
fn git_output(dir: &std::path::Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        // The workspace of a Docker action belongs to another user; reading it is safe.
        .args(["-c", "safe.directory=*", "-C"])
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|e| tracing::debug!("git not run: {e}"))
        .ok()?;
    if !out.status.success() {
        tracing::debug!("git {} failed in {}", args.join(" "), dir.display());
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One line of `git` output in `dir`, or `None` (no git, no checkout, no answer).
fn git(dir: &std::path::Path, args: &[&str]) -> Option<String> {
    let text = git_output(dir, args)?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// `git log -1` of one commit: (committer time, full message). `None` when there is no
/// checkout, no `git`, or the commit is not in the clone (shallow fetches).
fn git_log(dir: &std::path::Path, commit: &str) -> Option<(i64, String)> {
    if commit.starts_with('-') {
        return None;
    }
    let text = git_output(
        dir,
        &[
            "log",
            "-1",
            "--no-show-signature",
            "--format=%ct%x00%B",
            commit,
            "--",
        ],
    )?;
    let (time, message) = text.split_once('\0')?;
    let message = message
        .strip_suffix('\n')
        .unwrap_or(message)
        .trim_end_matches('\n');
    Some((time.trim().parse().ok()?, message.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(head: &str, base: Option<&str>, fork: bool) -> Value {
        let mut p = serde_json::json!({"pull_request": {"number": 3,
            "head": {"sha": "a".repeat(40), "repo": {"full_name": head, "fork": fork}}}});
        if let Some(b) = base {
            p["pull_request"]["base"] = serde_json::json!({"repo": {"full_name": b}});
        }
        p
    }

    #[test]
    fn a_fork_is_another_repository_than_the_base() {
        let fork = |p: &Value| {
            (
                fork_of(p),
                pr_head_of("pull_request_target", p).unwrap().fork,
            )
        };
        assert_eq!(
            fork(&pr("out/site", Some("octo/site"), true)),
            (Some("out/site".into()), Some(true))
        );
        // A branch of a repository that is itself a fork: the same repository, not a fork's PR.
        assert_eq!(
            fork(&pr("me/site", Some("me/site"), true)),
            (None, Some(false))
        );
        assert_eq!(
            fork(&pr("Octo/Site", Some("octo/site"), false)),
            (None, Some(false))
        );
        // Without the base's name, the flag decides.
        assert_eq!(
            fork(&pr("out/site", None, true)),
            (Some("out/site".into()), Some(true))
        );
        assert_eq!(fork(&pr("out/site", None, false)), (None, Some(false)));
    }
}
