//! `authorize-fork`: a fork pull request's head commit accepted for a preview build on the new
//! AWS Amplify (`AcceptForkPullRequestDeployment`, idempotent: retried like a read). A pull
//! request that is not from a fork needs nothing. The log names the commit, the pull request
//! and its author: this lets code from outside the repository build.

use crate::aws::retry::{last_error, repeatable};
use crate::cancel::Cancel;
use crate::ci;
use crate::env::Env;
use crate::error::Error;
use crate::gen3::api::deployments::Deployment;
use crate::gen3::release::ReleaseError;
use crate::modes::finish::write_reports;
use crate::modes::prepare::{PREPARING, until_cancelled};
use crate::report::outputs::Done;
use crate::report::release::ForkAccepted;
use crate::runner::{self, untrusted};
use crate::settings::ReleaseSettings;

pub async fn run(
    env: &Env,
    ci: &ci::Context,
    s: ReleaseSettings,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let f = s.fork.clone().expect("authorize-fork has its fork request");
    let mut done = ForkAccepted {
        app: s.place.app.clone(),
        environment: s.place.environment.clone(),
        commit: f.sha.value.clone(),
        pull_request: f.pull_request.value.clone(),
        outcome: "NOT_A_FORK".into(),
        format: s.outputs.format,
    };
    let whose = format!(
        "commit {} of pull request #{} by {}{}",
        f.sha.value,
        f.pull_request.value,
        untrusted(f.author.as_deref().unwrap_or("(author unknown)")),
        f.head_repository
            .as_deref()
            .map(|r| format!(" from {}", untrusted(r)))
            .unwrap_or_default()
    );
    if f.fork == Some(false) {
        let text = format!("{whose} is not from a fork: Amplify builds it without acceptance");
        if env.get("GITHUB_ACTIONS") == Some("true") {
            runner::notice("Nothing to accept", &text);
        } else {
            tracing::info!("{text}");
        }
        write(&s, &done)?;
        return Ok(Done::Fork(done));
    }
    let client = until_cancelled(cancel, PREPARING, super::release::connect(env, ci, &s)).await?;
    let accept = async {
        repeatable::<_, Deployment>(&s.retry, async || {
            client
                .accept_fork_pull_request(&f.sha.value, &f.pull_request.value)
                .await
        })
        .await
        .map_err(|e| Error::Release(ReleaseError::Api(last_error(e))))
    };
    done.outcome = until_cancelled(cancel, "accepting the commit", accept).await?;
    tracing::info!(
        "{}: {whose} may build in {} ({})",
        done.outcome,
        untrusted(&s.place.environment),
        f.sha.from
    );
    write(&s, &done)?;
    Ok(Done::Fork(done))
}

fn write(s: &ReleaseSettings, f: &ForkAccepted) -> Result<(), Error> {
    let summary = format!(
        "### Amplify fork pull request\n\n{}: commit `{}` of pull request #{} for {} / {}\n\n",
        f.outcome,
        f.commit,
        f.pull_request,
        crate::report::format::cell(&f.app),
        crate::report::format::cell(&f.environment)
    );
    let what = format!("acceptance of commit {}", f.commit);
    write_reports(&s.outputs, &f.outputs(), &summary, &what)
}
