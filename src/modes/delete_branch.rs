//! `mode: delete-branch`: the branch goes when it is a preview (a closed pull request's); a
//! missing one is success; GitHub's deployments of it are marked inactive.

use crate::cancel::Cancel;
use crate::ci;
use crate::env::Env;
use crate::error::Error;
use crate::hosting::branch;
use crate::modes::prepare::{FINDING, PREPARING, Prepared, choose_app, connect, until_cancelled};
use crate::report::outputs;
use crate::report::outputs::Done;
use crate::runner::untrusted;
use crate::settings::Settings;

/// Deletes the branch the settings name, when the rules allow.
pub async fn run(
    env: &Env,
    ci: &ci::Context,
    settings: Settings,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let mut p = until_cancelled(cancel, PREPARING, connect(env, ci, settings)).await?;
    until_cancelled(cancel, FINDING, choose_app(&mut p, false)).await?;
    return until_cancelled(cancel, "deleting the branch", delete_branch(&p)).await;
}

/// `mode: delete-branch`: the branch goes when it is a preview; a missing one is success.
async fn delete_branch(p: &Prepared) -> Result<Done, Error> {
    let s = &p.settings;
    let name = &s.job.branch;
    let deleted = match branch::delete(&p.client, &s.branch, &s.retry, &name.from).await {
        Ok(branch::Deleted::Deleted) => {
            tracing::info!("deleted branch {}", untrusted(&name.value));
            true
        }
        Ok(branch::Deleted::Missing) => {
            tracing::info!("no branch {}: nothing to delete", untrusted(&name.value));
            false
        }
        Err(branch::DeleteError::NotOurs(e)) => return Err(Error::Settings(e)),
        Err(branch::DeleteError::Api(e)) => return Err(e.into()),
    };
    if let Some(r) = s.github.reporter() {
        r.deleted(p.client.http(), &s.retry).await;
    }
    let done = crate::report::outputs::BranchDeleted {
        app_id: s.job.app_id.clone(),
        branch: name.value.clone(),
        deleted,
        format: s.outputs.format,
    };
    if let Some(path) = &s.outputs.github_output {
        outputs::append_outputs(path, &done.outputs()).map_err(|source| Error::Output {
            what: "outputs",
            path: path.display().to_string(),
            started: format!("branch {} deleted: {deleted}", name.value),
            source,
        })?;
    }
    Ok(Done::Branch(done))
}
