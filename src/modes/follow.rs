//! `mode: follow`: start nothing; find the job Amplify started for the commit (a webhook
//! build), then [`finish`] as a start does.

use crate::cancel::Cancel;
use crate::ci;
use crate::env::Env;
use crate::error::Error;
use crate::hosting::api::jobs::JobSummary;
use crate::hosting::{follow, wait};
use crate::modes::finish::finish;
use crate::modes::prepare::{
    FINDING, PREPARING, Prepared, beside, choose_app, connect, until_cancelled,
};
use crate::modes::reads;
use crate::report::outputs::Done;
use crate::settings::Settings;

/// Finds the commit's job and follows it as the settings say.
pub async fn run(
    env: &Env,
    ci: &ci::Context,
    settings: Settings,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let mut p = until_cancelled(cancel, PREPARING, connect(env, ci, settings)).await?;
    let (reader, policy) = (p.client.for_app(&p.settings.job.app_id), p.settings.retry);
    let plan = reads::Plan {
        single_app: p.settings.job.apps.len() == 1,
        branch_found_by_run: false,
        wait: p.settings.wait.is_some(),
    };
    let main = async {
        let branch = until_cancelled(cancel, FINDING, choose_app(&mut p, false)).await?;
        let late = reads::late(plan, &p.client, branch.as_ref(), &policy);
        let (summary, late) = beside(find(&p, cancel), late, cancel).await?;
        Ok((branch, summary, late))
    };
    let ((branch, summary, late), early) =
        beside(main, reads::early(&reader, &policy, plan), cancel).await?;
    let read = reads::complete(early, late, branch.as_ref());
    finish(env, p, summary, read, cancel).await
}

/// The job Amplify started for the commit, looked for as `follow-timeout` allows.
async fn find(p: &Prepared, cancel: &Cancel) -> Result<JobSummary, Error> {
    let s = &p.settings;
    let commit = s.job.commit.id.as_ref().map_or("", |c| c.value.as_str());
    let poll = s.wait.as_ref().map_or(wait::MIN_POLL, |w| w.poll_interval);
    let find = async {
        let time = s.job.commit.time.as_ref().map(|t| t.value);
        follow::find(&p.client, commit, time, &s.follow, poll, &s.retry)
            .await
            .map_err(|e| match e {
                follow::FollowError::Api(e) => Error::Retry(e),
                other => Error::Follow(other),
            })
    };
    until_cancelled(cancel, "looking for the commit's job", find).await
}
