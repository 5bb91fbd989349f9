//! `--dry-run`: everything a start resolves, and the first request it would send, signed
//! (signature and session token redacted); nothing is sent to Amplify.

use crate::cancel::Cancel;
use crate::env::Env;
use crate::error::Error;
use crate::modes::prepare::{PREPARING, checked, connect, until_cancelled};

/// `--dry-run`: resolves everything, as a start would, and returns the signed request it
/// would send first (signature and session token redacted), sending nothing to Amplify.
pub async fn dry_run(env: &Env, cancel: &Cancel) -> Result<String, Error> {
    let (ci, run) = checked(env)?;
    let settings = match run {
        crate::settings::Run::Hosting(s) => *s,
        crate::settings::Run::Gen3(s) => {
            return until_cancelled(
                cancel,
                PREPARING,
                crate::modes::deploy::describe(env, &ci, &s),
            )
            .await;
        }
        crate::settings::Run::Release(s) => {
            return until_cancelled(
                cancel,
                PREPARING,
                crate::modes::release::describe(env, &ci, &s),
            )
            .await;
        }
    };
    let p = until_cancelled(cancel, PREPARING, connect(env, &ci, settings)).await?;
    if p.settings.mode == crate::settings::Mode::Rollback && p.settings.job.job_id.is_none() {
        return Ok(format!(
            "mode rollback: reads the branch's jobs (ListJobs), then sends StartJob with jobType RETRY and the jobId of the job it chooses, no commit; the request before the job is chosen:\n{}",
            p.client.describe_start_job(&p.body).await?
        ));
    }
    Ok(match &p.settings.job.source {
        None => p.client.describe_start_job(&p.body).await?,
        Some(_) => p.client.describe_create_deployment().await?,
    })
}
