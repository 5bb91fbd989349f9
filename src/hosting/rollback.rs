//! `mode: rollback` on Amplify Hosting: which job to retry. RETRY rebuilds the retried job's
//! recorded commit, and a job recorded as `HEAD` (a RELEASE job) rebuilds the branch's tip
//! (amplify-hosting #1253, amplify-backend #1464, #2100), so only a job with a real commit id
//! rolls back. ListJobs does not return a job's reason, so a rollback is recognised by its
//! commit: a RETRY records the retried job's commit, and the branch's position is the newest
//! older job that built the commit now served. Two rollbacks in a row go back twice, never
//! forward.

use crate::aws::error::ApiError;
use crate::aws::retry::{Policy, last_error, repeatable};
use crate::hosting::api::client::Client;
use crate::hosting::api::jobs::{JobSummary, Step};

/// How many pages of the branch's jobs are read at most (50 each).
const MAX_PAGES: usize = 20;

/// The job to retry, and the one that served.
#[derive(Debug, Clone)]
pub struct Choice {
    pub serving: JobSummary,
    pub target: JobSummary,
}

/// Why there is nothing to retry (exit 3), and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub message: String,
    pub hint: String,
}

fn refuse(message: String, hint: &str) -> Refusal {
    Refusal {
        message,
        hint: hint.to_string(),
    }
}

/// A commit id as Git writes it (not `HEAD`, not empty).
pub fn real_commit(c: &str) -> bool {
    (7..=40).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The branch's jobs, every page, newest first.
pub async fn jobs(client: &Client, policy: &Policy) -> Result<Vec<JobSummary>, ApiError> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (page, more) = repeatable::<_, JobSummary>(policy, async || {
            client.list_jobs_page(50, next.as_deref()).await
        })
        .await
        .map_err(last_error)?;
        out.extend(page);
        match more {
            Some(t) => next = Some(t),
            None => break,
        }
    }
    out.sort_by_key(|j| std::cmp::Reverse(j.number()));
    Ok(out)
}

/// The job a rollback retries: `explicit` (`job-id`), else the newest `SUCCEED` job older than
/// the branch's position, with another commit, recorded with a real commit id.
pub fn choose(jobs: &[JobSummary], explicit: Option<&str>) -> Result<Choice, Refusal> {
    let ok = |j: &&JobSummary| j.status == "SUCCEED";
    let Some(serving) = jobs.iter().find(ok).cloned() else {
        return Err(refuse(
            "the branch has no successful job: nothing serves, so there is nothing to roll back from".into(),
            "start a job first (mode: start)",
        ));
    };
    let commit = serving.commit_id.clone();
    let position = match real_commit(&commit) {
        true => jobs
            .iter()
            .filter(ok)
            .filter(|j| j.number() < serving.number() && j.commit_id == commit)
            .max_by_key(|j| j.number())
            .unwrap_or(&serving),
        false => &serving,
    };
    if let Some(id) = explicit {
        let Some(target) = jobs.iter().find(|j| j.job_id == id).cloned() else {
            return Err(refuse(
                format!("the branch has no job {id}"),
                "check job-id against the branch's jobs in the Amplify console",
            ));
        };
        if target.status != "SUCCEED" {
            return Err(refuse(
                format!(
                    "job {id} ended {}: only a job that succeeded is rolled back to",
                    target.status
                ),
                "name a job that succeeded",
            ));
        }
        return checked(serving, target, true);
    }
    let Some(target) = jobs
        .iter()
        .filter(ok)
        .find(|j| j.number() < position.number() && j.commit_id != commit)
        .cloned()
    else {
        return Err(refuse(
            format!(
                "the branch has no successful job older than job {} with another commit: nothing to roll back to",
                position.job_id
            ),
            "deploy the commit to go back to with mode: start",
        ));
    };
    checked(serving, target, false)
}

/// A MANUAL deployment has no commit to rebuild; a job recorded as `HEAD` would rebuild the
/// branch's tip (allowed only when `job-id` names it).
fn checked(serving: JobSummary, target: JobSummary, explicit: bool) -> Result<Choice, Refusal> {
    let id = &target.job_id;
    if manual(&target, &[]) {
        return Err(refuse(
            format!("job {id} is a manual deployment: a RETRY cannot deploy its files again"),
            "deploy the old artifact again (mode: start with source)",
        ));
    }
    if !explicit && !real_commit(&target.commit_id) {
        return Err(refuse(
            format!(
                "job {id} is recorded with commit {:?}, not a commit id: AWS's RETRY of it builds the branch's current tip, not what it built",
                target.commit_id
            ),
            "deploy the old commit with mode: start (or name the job with job-id to rebuild the tip anyway)",
        ));
    }
    Ok(Choice { serving, target })
}

/// A manual deployment: its summary says `MANUAL` or names a source URL, or its steps (when
/// known) have no `BUILD`. AWS often leaves `jobType` out of summaries.
pub fn manual(summary: &JobSummary, steps: &[Step]) -> bool {
    summary.job_type == "MANUAL"
        || summary.raw.get("sourceUrl").is_some()
        || (!steps.is_empty() && !steps.iter().any(|s| s.step_name == "BUILD"))
}

/// The job reason: which job the rollback goes from and to (at most 255 characters).
pub fn reason(branch: &str, c: &Choice) -> String {
    let short = |s: &str| s.chars().take(7).collect::<String>();
    let text = format!(
        "amplify-start-job rollback of {branch}: from job {} ({}) to job {} ({})",
        c.serving.job_id,
        short(&c.serving.commit_id),
        c.target.job_id,
        short(&c.target.commit_id)
    );
    crate::env::truncate_chars(&text, 255).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64, status: &str, commit: &str) -> JobSummary {
        let raw = serde_json::json!({
            "jobArn": format!("arn:aws:amplify:us-east-1:123:apps/d1/branches/main/jobs/{id}"),
            "jobId": id.to_string(), "status": status, "commitId": commit,
        });
        crate::hosting::api::jobs::parse_summary("ListJobs", raw).unwrap()
    }

    fn sha(c: char) -> String {
        c.to_string().repeat(40)
    }

    #[test]
    fn two_rollbacks_go_back_twice_never_forward() {
        let mut jobs = vec![
            job(4, "SUCCEED", &sha('c')),
            job(3, "FAILED", &sha('d')),
            job(2, "SUCCEED", &sha('b')),
            job(1, "SUCCEED", &sha('a')),
        ];
        let first = choose(&jobs, None).unwrap();
        assert_eq!(
            (first.serving.job_id.as_str(), first.target.job_id.as_str()),
            ("4", "2")
        );
        // The RETRY of job 2 records its commit and serves.
        jobs.insert(0, job(5, "SUCCEED", &sha('b')));
        let second = choose(&jobs, None).unwrap();
        assert_eq!(
            second.target.job_id, "1",
            "from job 2's place, not forward to job 4"
        );
        jobs.insert(0, job(6, "SUCCEED", &sha('a')));
        let third = choose(&jobs, None).unwrap_err();
        assert!(third.message.contains("older than job 1"), "{third:?}");
    }

    #[test]
    fn a_job_recorded_as_head_is_refused_unless_named() {
        let jobs = vec![job(2, "SUCCEED", &sha('b')), job(1, "SUCCEED", "HEAD")];
        let refused = choose(&jobs, None).unwrap_err();
        assert!(
            refused.message.contains("branch's current tip"),
            "{refused:?}"
        );
        assert_eq!(choose(&jobs, Some("1")).unwrap().target.job_id, "1");
        let not_ok = choose(
            &[job(2, "SUCCEED", &sha('b')), job(1, "FAILED", &sha('a'))],
            Some("1"),
        );
        assert!(not_ok.unwrap_err().message.contains("ended FAILED"));
    }

    #[test]
    fn the_same_commit_built_again_is_skipped() {
        let jobs = vec![
            job(3, "SUCCEED", &sha('b')),
            job(2, "SUCCEED", &sha('b')),
            job(1, "SUCCEED", &sha('a')),
        ];
        assert_eq!(choose(&jobs, None).unwrap().target.job_id, "1");
        assert!(choose(&jobs[..2], None).is_err());
        assert!(
            choose(&[], None)
                .unwrap_err()
                .message
                .contains("no successful job")
        );
    }

    #[test]
    fn the_reason_names_both_jobs() {
        let jobs = vec![job(2, "SUCCEED", &sha('b')), job(1, "SUCCEED", &sha('a'))];
        let c = choose(&jobs, None).unwrap();
        assert_eq!(
            reason("main", &c),
            "amplify-start-job rollback of main: from job 2 (bbbbbbb) to job 1 (aaaaaaa)"
        );
    }
}
