//! `mode: follow`: start nothing; find the job Amplify started for the commit (a webhook
//! build), then [`finish`] as a start does.

use crate::cancel::Cancel;
use crate::ci;
use crate::env::Env;
use crate::error::Error;
use crate::hosting::{follow, wait};
use crate::modes::finish::finish;
use crate::modes::prepare::{FINDING, PREPARING, choose_app, connect, until_cancelled};
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
    until_cancelled(cancel, FINDING, choose_app(&mut p, false)).await?;
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
    let summary = until_cancelled(cancel, "looking for the commit's job", find).await?;
    return finish(env, p, summary, None, cancel).await;
}
