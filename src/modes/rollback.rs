//! `mode: rollback` on Amplify Hosting: the branch's jobs read, the job to go back to chosen
//! ([`crate::hosting::rollback`]), then a RETRY of it started as any start is (a busy branch,
//! the wait, the outputs). The RETRY sends no commit; its reason names both jobs.

use crate::cancel::Cancel;
use crate::ci;
use crate::env::{Env, Sourced};
use crate::error::Error;
use crate::hosting::rollback;
use crate::modes::prepare::{PREPARING, connect, until_cancelled};
use crate::report::outputs::Done;
use crate::runner::untrusted;
use crate::settings::Settings;

pub async fn run(
    env: &Env,
    ci: &ci::Context,
    settings: Settings,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let mut p = until_cancelled(cancel, PREPARING, connect(env, ci, settings)).await?;
    let (client, policy) = (&p.client, p.settings.retry);
    let read = async { Ok(rollback::jobs(client, &policy).await?) };
    let mut jobs = until_cancelled(cancel, "reading the branch's jobs", read).await?;
    let look = async {
        serving_commit(&p, &mut jobs).await;
        Ok(())
    };
    until_cancelled(cancel, "reading the serving job's log", look).await?;
    let explicit = p.settings.job.job_id.clone();
    let choice = rollback::choose(&jobs, explicit.as_deref()).map_err(|r| Error::Refused {
        message: r.message,
        hint: Some(r.hint),
    })?;
    manual_refused(&p, &choice).await?;
    let branch = p.settings.job.branch.value.clone();
    if !rollback::real_commit(&choice.target.commit_id) {
        tracing::warn!(
            "job {} is recorded with commit {:?}: its RETRY builds the branch's current tip (job-id named it)",
            choice.target.job_id,
            untrusted(&choice.target.commit_id)
        );
    }
    tracing::info!(
        "rolling {} back from job {} (commit {}) to job {} (commit {}): a RETRY of job {}",
        untrusted(&branch),
        choice.serving.job_id,
        untrusted(&choice.serving.commit_id),
        choice.target.job_id,
        untrusted(&choice.target.commit_id),
        choice.target.job_id
    );
    let reason = rollback::reason(&branch, &choice);
    let job = &mut p.settings.job;
    job.job_id = Some(choice.target.job_id.clone());
    job.job_reason = Some(reason.clone());
    job.commit = crate::hosting::job::Commit {
        id: Some(Sourced {
            value: choice.target.commit_id.clone(),
            from: format!("job {}", choice.target.job_id),
        }),
        ..Default::default()
    };
    p.body.job_id = Some(choice.target.job_id.clone());
    p.body.job_reason = Some(reason);
    p.body.commit_id = None;
    p.body.commit_message = None;
    p.body.commit_time = None;
    crate::modes::start::started(env, p, None, cancel).await
}

/// A manual deployment has no commit to build again: its summary may not say so, but its
/// steps do (GetJob).
async fn manual_refused(
    p: &crate::modes::prepare::Prepared,
    choice: &rollback::Choice,
) -> Result<(), Error> {
    let id = &choice.target.job_id;
    let read = crate::aws::retry::repeatable::<_, ()>(&p.settings.retry, async || {
        p.client.get_job(id).await
    });
    let job = read.await.map_err(crate::aws::retry::last_error)?;
    if rollback::manual(&job.summary, &job.steps) {
        return Err(Error::Refused {
            message: format!(
                "job {id} is a manual deployment: a RETRY cannot deploy its files again"
            ),
            hint: Some("deploy the old artifact again (mode: start with source)".into()),
        });
    }
    Ok(())
}

/// The serving job recorded without a commit id (`HEAD`: a RELEASE job, or a RETRY AWS recorded
/// so): the commit its BUILD log names, so that a rollback after a rollback finds its place and
/// never goes forward. Unknown, it stays as recorded.
async fn serving_commit(
    p: &crate::modes::prepare::Prepared,
    jobs: &mut [crate::hosting::api::jobs::JobSummary],
) {
    let Some(serving) = jobs.iter_mut().find(|j| j.status == "SUCCEED") else {
        return;
    };
    if rollback::real_commit(&serving.commit_id) {
        return;
    }
    let (s, id) = (&p.settings, serving.job_id.clone());
    let read =
        crate::aws::retry::repeatable::<_, ()>(&s.retry, async || p.client.get_job(&id).await);
    let Ok(job) = read.await else { return };
    let built = crate::hosting::live::built_commit(&p.client, &s.retry, s.request_timeout, &job);
    match built.await {
        Ok(c) if c.len() == 40 => {
            tracing::info!(
                "job {id}, which serves, is recorded as {:?}; its BUILD log names commit {c}",
                untrusted(&serving.commit_id)
            );
            serving.commit_id = c;
        }
        Ok(_) | Err(_) => {}
    }
}
