//! Several apps. An app holds at most 50 branches, a limit AWS does not raise, so `app-id` may
//! list several apps of the region: previews spread over them. A branch is looked for in each
//! app in order (`GetBranch`, stopping at the first that has it); a missing one is created in the
//! first app with room (`ListBranches`, counting to 50; AWS's limit answer moves on to the next).
//! Two runs may create the same branch at once in two apps: after creating, the run looks again
//! across the apps, and when another app holds an older one, deletes its own (never a branch it
//! did not create) and uses that one. With one app id nothing of this happens.

use crate::aws::retry::Policy;
use crate::hosting::api::branches::Branch;
use crate::hosting::api::client::Client;
use crate::hosting::branch::{self, BranchSettings, CREATED_BY};
use crate::hosting::start_job::RetryError;
use crate::hosting::start_job::repeatable;
use crate::runner::untrusted;

/// The largest number of branches an app may have.
pub const MAX_BRANCHES: usize = 50;

/// The first of `apps` (in order) that has the client's branch, and the branch.
pub async fn locate(
    client: &Client,
    apps: &[String],
    policy: &Policy,
) -> Result<Option<(String, Branch)>, RetryError> {
    for app in apps {
        if let Some(b) = branch::find(&client.for_app(app), policy).await? {
            return Ok(Some((app.clone(), b)));
        }
    }
    Ok(None)
}

/// The branch in whichever app has it, else created in the first app with room.
pub async fn ensure(
    client: &Client,
    apps: &[String],
    s: &BranchSettings,
    policy: &Policy,
) -> Result<(String, Branch), RetryError> {
    if let Some(found) = locate(client, apps, policy).await? {
        tracing::info!(
            "branch {} is in app {}",
            untrusted(&client.target().branch),
            found.0
        );
        return Ok(found);
    }
    let mut refused = None;
    for app in apps {
        let c = client.for_app(app);
        if count(&c, policy).await? >= MAX_BRANCHES {
            tracing::info!("app {app} has {MAX_BRANCHES} branches, its limit: trying the next");
            continue;
        }
        match branch::create(&c, s, policy).await {
            Ok(b) => return settle(client, apps, app, b, policy).await,
            Err(e) if branch::is_quota_error(&e) => {
                tracing::info!("app {app} refused a branch for its limit: trying the next");
                refused = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(refused.unwrap_or_else(|| all_full(client, apps)))
}

/// The app's branches, counted up to [`MAX_BRANCHES`].
async fn count(client: &Client, policy: &Policy) -> Result<usize, RetryError> {
    let mut n = 0;
    let mut token: Option<String> = None;
    loop {
        let t = token.clone();
        let (page, next) = repeatable(policy, async || {
            client.list_branches_page(t.as_deref()).await
        })
        .await?;
        n += page.len();
        match next {
            Some(next) if n < MAX_BRANCHES => token = Some(next),
            _ => return Ok(n),
        }
    }
}

/// After creating `ours` in `app`: when another app holds an older branch of the name (a run
/// that raced this one), ours is deleted and that one used.
async fn settle(
    client: &Client,
    apps: &[String],
    app: &str,
    ours: Branch,
    policy: &Policy,
) -> Result<(String, Branch), RetryError> {
    let position = |a: &str| apps.iter().position(|x| x == a);
    for other in apps.iter().filter(|a| *a != app) {
        let Some(theirs) = branch::find(&client.for_app(other), policy).await? else {
            continue;
        };
        let older = match (theirs.create_time, ours.create_time) {
            (Some(t), Some(o)) if t != o => t < o,
            // The same moment, or unknown: the earlier app in the list keeps its branch.
            _ => position(other) < position(app),
        };
        let mine = ours.tags.get(CREATED_BY.0).map(String::as_str) == Some(CREATED_BY.1);
        if older && mine {
            tracing::warn!(
                "branch {} was made in app {other} too, earlier, by another run: deleting the one this run made in app {app}",
                untrusted(&ours.branch_name)
            );
            repeatable(policy, async || client.for_app(app).delete_branch().await).await?;
            return Ok((other.clone(), theirs));
        }
    }
    Ok((app.to_string(), ours))
}

fn all_full(client: &Client, apps: &[String]) -> RetryError {
    RetryError::Api(crate::aws::error::ApiError::Service {
        operation: "CreateBranch",
        status: 400,
        code: "BadRequestException".into(),
        message: format!(
            "every app listed ({}) has {MAX_BRANCHES} branches, the limit of an app",
            apps.join(", ")
        ),
        request_id: None,
        retry_after: None,
        clock_skew: None,
        quota_code: None,
        hint: Some(format!(
            "delete the previews of closed pull requests (mode: prune, or mode: delete-branch), or add another app to app-id for branch {}",
            client.target().branch
        )),
    })
}
