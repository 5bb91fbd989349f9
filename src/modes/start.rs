//! `mode: start` (the default): the branch found or created, `cancel-previous`, then StartJob
//! (or a manual deployment of a source) once, never twice, a busy branch handled by `if-busy`,
//! then [`finish`].

use crate::archive;
use crate::cancel::Cancel;
use crate::ci;
use crate::env::Env;
use crate::error::Error;
use crate::hosting::api::client::Client;
use crate::hosting::api::jobs::JobSummary;
use crate::hosting::start_job::{self, RetryError};
use crate::hosting::{busy, deploy, supersede};
use crate::modes::finish::{finish, outcome, write_outputs};
use crate::modes::prepare::{
    FINDING, PREPARING, Prepared, beside, choose_app, connect, until_cancelled, zip_source,
};
use crate::modes::reads;
use crate::report::outputs::Done;
use crate::settings::Settings;
use crate::source;

/// Starts the job and follows it as the settings say.
pub async fn run(
    env: &Env,
    ci: &ci::Context,
    settings: Settings,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let zip = zip_source(&settings, env, cancel).await?;
    let p = until_cancelled(cancel, PREPARING, connect(env, ci, settings)).await?;
    started(env, p, zip, cancel).await
}

/// The start once the settings are resolved and the client made (`mode: rollback` comes in
/// here with its RETRY chosen).
pub async fn started(
    env: &Env,
    mut p: Prepared,
    zip: Option<archive::TempFile>,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let create = p.settings.branch.create;
    let (reader, policy) = (p.client.for_app(&p.settings.job.app_id), p.settings.retry);
    let plan = reads::Plan {
        single_app: p.settings.job.apps.len() == 1,
        branch_found_by_run: create,
        wait: p.settings.wait.is_some(),
    };
    let main = async {
        let branch = until_cancelled(cancel, FINDING, choose_app(&mut p, create)).await?;
        let late = reads::late(plan, &p.client, branch.as_ref(), &policy);
        let (started, late) = beside(start(&p, zip.as_ref(), cancel), late, cancel).await?;
        Ok((branch, started, late))
    };
    let ((branch, started, late), early) =
        beside(main, reads::early(&reader, &policy, plan), cancel).await?;
    let summary = match started {
        busy::Started::Started(job) | busy::Started::Adopted(job) => job,
    };
    drop(zip);
    let read = reads::complete(early, late, branch.as_ref());
    finish(env, p, summary, read, cancel).await
}

/// Starts the job: StartJob, or for a source the manual deployment. `cancel-previous` first
/// stops superseded jobs and waits until they have ended (a stopped job holds the branch while
/// it is `CANCELLING`); a busy branch is handled by `if-busy`.
async fn start(
    p: &Prepared,
    zip: Option<&archive::TempFile>,
    cancel: &Cancel,
) -> Result<busy::Started, Error> {
    let s = &p.settings;
    let commit = s.job.commit.id.as_ref().map(|c| c.value.as_str());
    let commit = commit.filter(|_| s.job.source.is_none());
    let mut known = start_job::Known::default();
    if s.cancel_previous {
        let stop = async {
            supersede::stop_previous(&p.client, commit, &s.retry)
                .await
                .map_err(Error::from)
        };
        let done = until_cancelled(cancel, "stopping superseded jobs", stop).await?;
        known.stopped = done.stopped;
        known.newest = done.newest;
        let deadline = tokio::time::Instant::now() + s.busy.timeout;
        let ended = busy::until_ended(
            &p.client,
            &known.stopped,
            deadline,
            s.busy.timeout,
            &s.retry,
            cancel,
        );
        ended.await.map_err(|e| busy_error(s, &p.client, e))?;
    }
    let started = match &s.job.source {
        None => {
            let start = async |known: &start_job::Known| {
                start_job::start_job(&p.client, &p.body, &s.retry, cancel, known).await
            };
            busy::start_when_free(&p.client, &s.busy, &s.retry, commit, cancel, known, start).await
        }
        Some(source) => {
            let payload = match (source, zip) {
                (source::Source::Zip(path), _) => deploy::Payload::Zip(path),
                (source::Source::Folder(_), Some(zip)) => deploy::Payload::Zip(zip.path()),
                (other, _) => deploy::Payload::Url(other),
            };
            let deploy = deploy::Deploy {
                client: &p.client,
                policy: &s.retry,
                request_timeout: s.request_timeout,
                cancel,
            };
            let start = async |_: &start_job::Known| deploy.run(payload).await;
            busy::start_when_free(&p.client, &s.busy, &s.retry, None, cancel, known, start).await
        }
    };
    started.map_err(|e| busy_error(s, &p.client, e))
}

/// The run's error for a start that did not happen: a signal, a refusal, or a wait run out.
fn busy_error(s: &Settings, client: &Client, e: busy::BusyError) -> Error {
    match e {
        busy::BusyError::Api(RetryError::Interrupted {
            code,
            maybe_started,
            job,
        }) => interrupted_start(s, client, code, maybe_started, job),
        busy::BusyError::Api(e) => e.into(),
        busy::BusyError::Interrupted { code } => Error::Interrupted {
            code,
            during: "waiting for the branch's unfinished job to end",
            after: Some("no job was started".into()),
        },
        other => Error::Busy(other),
    }
}

/// A signal came while starting the job. When the check after it found the job, the
/// outputs name it; otherwise the error says whether a job may exist, and where to look.
fn interrupted_start(
    settings: &Settings,
    client: &Client,
    code: u8,
    maybe_started: bool,
    job: Option<JobSummary>,
) -> Error {
    let after = match job {
        Some(job) => {
            let o = outcome(settings, job);
            if let Err(e) = write_outputs(settings, &o) {
                return e;
            }
            format!("job {} had been started: {}", o.summary.job_id, o.job_url)
        }
        None if maybe_started => format!(
            "a job may have been started: check {} before running again",
            client.branch_console_url()
        ),
        None => "no job was started".into(),
    };
    Error::Interrupted {
        code,
        during: "starting the job",
        after: Some(after),
    }
}
