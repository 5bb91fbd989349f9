//! `mode: prune`: every app of `app-id`, every branch of each, judged by the rules of
//! [`crate::hosting::prune`]; one line a branch, a table in the step summary, and the output
//! `pruned-branches`. A dry run unless `prune-delete: true`.

use crate::aws::retry::{last_error, short};
use crate::cancel::Cancel;
use crate::ci;
use crate::env::Env;
use crate::error::Error;
use crate::github::GitHub;
use crate::hosting::api::branches::Branch;
use crate::hosting::api::client::Client;
use crate::hosting::prune::{self, Known, PullRequest, Verdict};
use crate::hosting::start_job::repeatable;
use crate::modes::finish::write_reports;
use crate::modes::prepare::{PREPARING, Prepared, connect, until_cancelled};
use crate::report::outputs::{Done, Pruned, PrunedRow};
use crate::runner::untrusted;
use crate::settings::Settings;

pub async fn run(
    env: &Env,
    ci: &ci::Context,
    settings: Settings,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let p = until_cancelled(cancel, PREPARING, connect(env, ci, settings)).await?;
    until_cancelled(cancel, "pruning branches", prune_all(&p)).await
}

async fn prune_all(p: &Prepared) -> Result<Done, Error> {
    let s = &p.settings;
    let gh = s
        .prune_github
        .as_ref()
        .expect("mode: prune reads GitHub's settings");
    let default_branch = default_branch(p, gh).await;
    let mut rows = Vec::new();
    for app in &s.job.apps {
        let client = p.client.for_app(app);
        let production = repeatable(&s.retry, async || client.production_branch().await)
            .await
            .map_err(Error::Retry)?;
        let known = Known {
            repository: gh.repository(),
            production: production.as_deref(),
            default_branch: default_branch.as_deref(),
            older_than: s.prune.older_than,
            now: prune::now(),
        };
        for b in branches(&client, s).await? {
            rows.push(judge_one(p, gh, &client, &known, app, &b).await);
        }
    }
    let done = Pruned {
        rows,
        dry_run: !s.prune.delete,
        format: s.outputs.format,
    };
    let started = format!("{} branches deleted", done.deleted().len());
    write_reports(&s.outputs, &done.outputs(), &done.step_summary(), &started)?;
    if done.rows.iter().any(|r| r.failed.is_some()) {
        let failed: Vec<String> = done.rows.iter().filter_map(|r| r.failed.clone()).collect();
        return Err(Error::Refused {
            message: format!("could not delete {}", failed.join("; ")),
            hint: None,
        });
    }
    Ok(Done::Pruned(done))
}

/// The repository's default branch, or `None` (with one warning) when GitHub cannot say.
async fn default_branch(p: &Prepared, gh: &GitHub) -> Option<String> {
    let s = &p.settings;
    match gh.get_optional(p.client.http(), &s.retry, "").await {
        Ok(Some(v)) => v
            .get("default_branch")
            .and_then(|d| d.as_str())
            .map(str::to_string),
        Ok(None) => {
            tracing::warn!(
                "GitHub has no repository {} (404): its default branch and pull requests are unknown, so every branch is kept",
                untrusted(gh.repository())
            );
            None
        }
        Err(e) => {
            tracing::warn!(
                "could not read the repository from GitHub: {}; every branch is kept",
                untrusted(&e)
            );
            None
        }
    }
}

/// Every branch of the app, page by page.
async fn branches(client: &Client, s: &Settings) -> Result<Vec<Branch>, Error> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let t = token.clone();
        let (page, next) = repeatable(&s.retry, async || {
            client.list_branches_page(t.as_deref()).await
        })
        .await
        .map_err(Error::Retry)?;
        all.extend(page);
        match next {
            Some(n) => token = Some(n),
            None => return Ok(all),
        }
    }
}

/// One branch: judged (asking GitHub of its pull request when it is ours and names one), then
/// deleted when it goes and the run deletes; one line in the log either way.
async fn judge_one(
    p: &Prepared,
    gh: &GitHub,
    client: &Client,
    known: &Known<'_>,
    app: &str,
    b: &Branch,
) -> PrunedRow {
    let s = &p.settings;
    let ours = b
        .tags
        .get(prune::TAG_REPOSITORY)
        .is_some_and(|r| r.eq_ignore_ascii_case(known.repository));
    let pr = match prune::pull_request(b) {
        Some(n) if ours && known.default_branch.is_some() => {
            Some(pull_request_state(p, gh, n).await)
        }
        _ => None,
    };
    let verdict = prune::judge(b, known, pr.as_ref());
    let mut row = PrunedRow {
        app: app.to_string(),
        branch: b.branch_name.clone(),
        verdict: verdict.clone(),
        deleted: false,
        failed: None,
    };
    let name = untrusted(&format!("{app}/{}", b.branch_name));
    match verdict {
        Verdict::Keep(why) => tracing::info!("{name}: kept: {}", untrusted(&why)),
        Verdict::Delete(why) if !s.prune.delete => {
            tracing::info!("{name}: would be deleted (dry run): {}", untrusted(&why))
        }
        Verdict::Delete(why) => {
            let one = client.for_branch(&b.branch_name);
            match repeatable(&s.retry, async || one.delete_branch().await).await {
                Ok(_) => {
                    row.deleted = true;
                    tracing::info!("{name}: deleted: {}", untrusted(&why));
                }
                Err(e) => {
                    let e = short(&last_error(e));
                    tracing::warn!("{name}: could not be deleted: {}", untrusted(&e));
                    row.failed = Some(format!("{name}: {e}"));
                }
            }
        }
    }
    row
}

/// What GitHub says of pull request `n`.
async fn pull_request_state(p: &Prepared, gh: &GitHub, n: u64) -> PullRequest {
    let path = format!("/pulls/{n}");
    match gh
        .get_optional(p.client.http(), &p.settings.retry, &path)
        .await
    {
        Ok(Some(v)) if v.get("state").and_then(|s| s.as_str()) == Some("closed") => {
            PullRequest::Closed
        }
        Ok(Some(_)) => PullRequest::Open,
        Ok(None) => PullRequest::NotFound,
        Err(e) => PullRequest::Unknown(e),
    }
}
