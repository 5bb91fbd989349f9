//! amplify-start-job: start and follow AWS Amplify deployments from CI.
//!
//! The house, from the ground up: the core (settings' raw environment, the runner's workflow
//! commands, cancellation), the shared [`aws`] layer (signing, HTTP, retries, AWS's errors,
//! credentials), one folder per service ([`hosting`]: Amplify Hosting, its wire in
//! [`hosting::api`]; [`gen3`]: the new AWS Amplify, its wire in [`gen3::api`]), the run's
//! [`settings`], the [`report`] rooms (outputs, step summary,
//! pull-request comment, GitHub), and one room per mode's pipeline in [`modes`]. This crate root
//! only composes them. Only the binary prints, apart from the workflow commands of [`runner`].
//!
//! Layers, from the ground up: a module uses only modules of lower layers (`tests/layers.rs`
//! checks it; a folder's `mod.rs` only declares its rooms), and this crate root composes them.
//! - layer 0: env, runner, aws::signing, random, cancel, schedule, encoding
//! - layer 1: aws::net, ci, archive, waiting
//! - layer 2: cli, aws::credentials, aws::error, source, hosting::preview, report::told, report::format, probe
//! - layer 3: aws::rest, aws::retry, aws::fetch, hosting::job, gen3::settings
//! - layer 4: aws::upload, hosting::api::client, gen3::api::client, gen3::fork
//! - layer 5: hosting::api::jobs, hosting::api::branches, hosting::api::apps, hosting::api::artifacts, gen3::api::apps, gen3::api::environments, gen3::api::uploads, gen3::api::deployments, gen3::api::aliases, gen3::api::forks
//! - layer 6: hosting::api::deployments, hosting::start_job, github, gen3::upload, gen3::deploy, gen3::wait, gen3::live, gen3::release, hosting::prune, hosting::rollback
//! - layer 7: hosting::wait, hosting::branch, hosting::supersede, hosting::logs, hosting::artifacts, hosting::live
//! - layer 8: hosting::deploy, hosting::follow, hosting::apps, report::outcome
//! - layer 9: hosting::busy, report::summary, report::deployment, report::release
//! - layer 10: report::outputs
//! - layer 11: report::comment, report::github
//! - layer 12: settings, error
//! - layer 13: modes::prepare, modes::reads
//! - layer 14: modes::finish
//! - layer 15: modes::start, modes::follow, modes::delete_branch, modes::deploy, modes::prune, modes::release
//! - layer 16: modes::authorize_fork, modes::rollback
//! - layer 17: modes::dry_run
#![warn(clippy::print_stdout, clippy::print_stderr)]
// At most one error per run, on the way out: its size costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

pub mod archive;
pub mod aws;
pub mod cancel;
pub mod ci;
pub mod cli;
pub mod encoding;
pub mod env;
pub mod error;
pub mod gen3;
pub mod github;
pub mod hosting;
pub mod modes;
pub mod probe;
pub mod random;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod settings;
pub mod source;
pub mod waiting;

pub use env::Env;
pub use error::{Error, exit_code};
pub use modes::dry_run::dry_run;

use cancel::Cancel;
use report::github as github_report;
use report::outputs::Done;
use settings::{Mode, Run};

/// Runs one job start (or, with `mode: delete-branch`, one branch deletion): every input is
/// checked before anything is sent; outputs are written only for a started job.
pub async fn run(env: &Env, cancel: &Cancel) -> Result<Done, Error> {
    let (ci, run) = modes::prepare::checked(env)?;
    if let (true, Some(_)) = (ci.pull_request_target, &ci.fork) {
        tracing::warn!("{}", github_report::TARGET_WARNING);
    }
    let (on_missing, done) = match run {
        Run::Hosting(settings) => {
            let on_missing = settings.on_missing_credentials;
            let done = match settings.mode {
                Mode::Start => modes::start::run(env, &ci, *settings, cancel).await,
                Mode::Follow => modes::follow::run(env, &ci, *settings, cancel).await,
                Mode::DeleteBranch => modes::delete_branch::run(env, &ci, *settings, cancel).await,
                Mode::Prune => modes::prune::run(env, &ci, *settings, cancel).await,
                Mode::Rollback => modes::rollback::run(env, &ci, *settings, cancel).await,
            };
            (on_missing, done)
        }
        Run::Gen3(settings) => {
            let on_missing = settings.on_missing_credentials;
            (
                on_missing,
                modes::deploy::run(env, &ci, *settings, cancel).await,
            )
        }
        Run::Release(settings) => {
            let on_missing = settings.on_missing_credentials;
            let done = match settings.mode {
                settings::ReleaseMode::AuthorizeFork => {
                    modes::authorize_fork::run(env, &ci, *settings, cancel).await
                }
                _ => modes::release::run(env, &ci, *settings, cancel).await,
            };
            (on_missing, done)
        }
    };
    let skip_forks = on_missing == github_report::OnMissing::SkipForks;
    match done {
        Err(Error::Credentials(e)) if skip_forks && e.nothing_given() && ci.fork.is_some() => {
            let fork = ci.fork.as_deref().unwrap_or_default();
            let notice = github_report::fork_notice(fork);
            runner::notice("Nothing deployed: a fork's pull request", &notice);
            Ok(Done::Nothing(notice))
        }
        done => done,
    }
}
