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
    let jobs = until_cancelled(cancel, "reading the branch's jobs", read).await?;
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
