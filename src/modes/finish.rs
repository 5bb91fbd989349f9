//! What a mode does once its job is known: the branch URL, GitHub's deployment, the wait, the
//! failing step's log and the artifacts, then the outputs, the step summary and the
//! pull-request comment.

use crate::cancel::Cancel;
use crate::env::Env;
use crate::error::Error;
use crate::hosting::api::client::{Client, console_url};
use crate::hosting::api::jobs::JobSummary;
use crate::hosting::{artifacts, live, logs, wait};
use crate::modes::prepare::Prepared;
use crate::modes::reads::Beside;
use crate::report::comment;
use crate::report::outcome::Outcome;
use crate::report::outputs;
use crate::report::outputs::{Done, OutputSettings};
use crate::runner::{self, untrusted};
use crate::settings::{Mode, Settings};

/// After the start (or, in follow mode, the find): GitHub's deployment, the wait, the
/// outputs, the comment.
pub async fn finish(
    env: &Env,
    p: Prepared,
    summary: JobSummary,
    beside: Beside,
    cancel: &Cancel,
) -> Result<Done, Error> {
    let Prepared {
        settings, client, ..
    } = p;
    let mut outcome = outcome(&settings, summary);
    let verb = if settings.mode == Mode::Follow {
        "following"
    } else {
        "started"
    };
    tracing::info!(
        "{verb} job {} ({}) on {}/{}: {}",
        outcome.summary.job_id,
        outcome.summary.status,
        outcome.app_id,
        untrusted(&outcome.branch),
        outcome.job_url
    );
    let Beside { site, history } = beside;
    outcome.branch_url = site.as_ref().map(|s| s.url.clone());
    let reporter = settings.github.reporter();
    if let Some(r) = reporter {
        let stage = site.as_ref().map(|s| s.stage.as_str());
        let told = outcome.told(stage);
        let started = r.started(client.http(), &settings.retry, &told);
        outcome.github_deployment_id = started.await;
    }
    if let Some(w) = &settings.wait {
        let github = env.get("GITHUB_ACTIONS") == Some("true");
        let history = match history {
            Some(h) => h,
            None => wait::history(&client).await,
        };
        let plan = wait::plan(&client, history, &outcome.summary);
        match wait::follow(&client, &outcome.summary.job_id, w, &plan, github, cancel).await {
            Ok(waited) => outcome.waited = Some(waited),
            Err(e) => {
                // The job was started: its outputs are written even though following it failed.
                write_outputs(&settings, &outcome)?;
                return Err(Error::Api(e));
            }
        }
        // The job has ended: a signal now only cuts the log and the artifacts short.
        let ended = matches!(
            outcome.waited.as_ref().map(|w| &w.ending),
            Some(wait::Ending::Ended(_))
        );
        if ended {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => tracing::warn!("interrupted: the job's log and artifacts were not read"),
                _ = after_wait(&settings, &client, &mut outcome, github) => {}
            }
            outcome.url_probe = probe_site(&settings, &client, &outcome, cancel).await;
        }
    }
    // GitHub's deployment status waits on nothing of the outputs and the comment.
    let ended = async {
        if let Some(r) = reporter {
            let id = outcome.github_deployment_id;
            r.ended(client.http(), &settings.retry, &outcome.told(None), id)
                .await;
        }
    };
    let told = async {
        write_outputs(&settings, &outcome)?;
        post_comment(&settings, &client, &outcome).await;
        Ok::<(), Error>(())
    };
    let ((), told) = tokio::join!(ended, told);
    told?;
    Ok(Done::Job(Box::new(outcome)))
}

/// After a wait: how long the job queued and ran; for a failure, the failing step's log; for
/// Amplify's own skip, a notice; the artifacts, when asked for.
async fn after_wait(settings: &Settings, client: &Client, outcome: &mut Outcome, github: bool) {
    let Some(wait::Waited {
        ending: wait::Ending::Ended(job),
        ..
    }) = &outcome.waited
    else {
        return;
    };
    let job = job.clone();
    if let Some(t) = outcome.timing_text() {
        tracing::info!(
            "job {} ended {}: {t}",
            job.summary.job_id,
            job.summary.status
        );
    }
    let skip = outcome.skip_notice();
    if let Some(notice) = &skip {
        if github {
            runner::notice("Amplify skipped the build", notice);
        } else {
            tracing::info!("{notice}");
        }
    }
    // The failing step's log and the artifacts wait on nothing of each other.
    let (r, t) = (&settings.retry, settings.request_timeout);
    let log = async {
        if skip.is_some() || job.summary.status == "SUCCEED" {
            return None;
        }
        logs::failure(client, &job, settings.log_lines, r, t, &outcome.job_url).await
    };
    let download = async {
        if let Some(dir) = &settings.artifacts {
            artifacts::download(client, &job.summary.job_id, dir, r, t).await;
        }
    };
    // What is live: the commit the build checked out, and whether a newer job replaced ours.
    let check = live::Check {
        client,
        policy: r,
        timeout: t,
        asked: outcome.commit.as_deref(),
        on_mismatch: settings
            .wait
            .map(|w| w.on_commit_mismatch)
            .unwrap_or_default(),
        workdir: settings.job.workdir.as_deref(),
        github,
    };
    let (log, (), live) = tokio::join!(log, download, check.run(&job));
    if log.is_some() {
        outcome.failure_log = log;
    }
    outcome.live = Some(live);
}

/// `wait-for-url`: after a success that nothing else failed, the branch's site is asked until
/// it answers 2xx (with the preview's basic auth when the run sets one).
async fn probe_site(
    settings: &Settings,
    client: &Client,
    outcome: &Outcome,
    cancel: &Cancel,
) -> Option<crate::probe::Probe> {
    let w = settings.wait.as_ref()?;
    let limit = w.url_timeout?;
    if outcome.status() != "SUCCEED" || outcome.exit_code() != 0 || outcome.skipped().is_some() {
        return None;
    }
    let Some(url) = &outcome.branch_url else {
        return Some(crate::probe::Probe::no_url(
            "branch-url is unknown: reading it needs amplify:GetBranch and amplify:GetApp",
        ));
    };
    let basic = settings
        .branch
        .preview
        .basic_auth
        .as_ref()
        .map(|s| s.0.as_str());
    Some(crate::probe::until_up(client.http(), url, basic, w.poll_interval, limit, cancel).await)
}

/// `pr-comment`: one comment on the pull request, made or updated; a failure is a warning.
async fn post_comment(settings: &Settings, client: &Client, outcome: &Outcome) {
    let marker = comment::marker(&outcome.app_id, &outcome.branch);
    let body = outcome.pr_comment(&marker);
    comment_on_pr(
        &settings.comment,
        client.http(),
        &settings.retry,
        &marker,
        &body,
    )
    .await;
}

/// `pr-comment`: one comment on the pull request, made or updated; a failure is a warning.
pub async fn comment_on_pr(
    c: &comment::Comment,
    http: &crate::aws::net::Http,
    policy: &crate::aws::retry::Policy,
    marker: &str,
    body: &str,
) {
    let c = match c {
        comment::Comment::Off => return,
        comment::Comment::NotAPullRequest => {
            tracing::info!("pr-comment: this run is not for a pull request, so no comment");
            return;
        }
        comment::Comment::On(c) => c,
    };
    match comment::upsert(http, policy, c, marker, body).await {
        Ok(comment::Upserted::Created) => {
            tracing::info!("commented on pull request #{}", c.pull_request)
        }
        Ok(comment::Upserted::Updated) => {
            tracing::info!("updated the comment on pull request #{}", c.pull_request)
        }
        Err(e) => tracing::warn!(
            "could not comment on pull request #{}: {} (the job needs permissions: pull-requests: write)",
            c.pull_request,
            untrusted(&e)
        ),
    }
}

pub fn outcome(settings: &Settings, summary: JobSummary) -> Outcome {
    let job = &settings.job;
    let job_url = console_url(&job.region, &job.app_id, &job.branch.value, &summary.job_id);
    Outcome {
        app_id: job.app_id.clone(),
        branch: job.branch.value.clone(),
        summary,
        job_url,
        commit: job.commit.id.as_ref().map(|c| c.value.clone()),
        branch_url: None,
        waited: None,
        failure_log: None,
        live: None,
        url_probe: None,
        github_deployment_id: None,
        format: settings.outputs.format,
    }
}

pub fn write_outputs(settings: &Settings, o: &Outcome) -> Result<(), Error> {
    let started = format!("job {} at {}", o.summary.job_id, o.job_url);
    write_reports(&settings.outputs, &o.outputs(), &o.step_summary(), &started)
}

/// The outputs (`GITHUB_OUTPUT`, the dotenv file) and the step summary; `started` names what
/// was started, for an error that cannot write them.
pub fn write_reports(
    s: &OutputSettings,
    values: &[(&str, String)],
    summary: &str,
    started: &str,
) -> Result<(), Error> {
    let failed = |what: &'static str, path: &std::path::Path| {
        let (path, started) = (path.display().to_string(), started.to_string());
        move |source| Error::Output {
            what,
            path,
            started,
            source,
        }
    };
    if let Some(path) = &s.github_output {
        outputs::append_outputs(path, values).map_err(failed("outputs", path))?;
    }
    if let Some(path) = &s.output_file {
        std::fs::write(path, crate::report::format::dotenv(values))
            .map_err(failed("the dotenv file", path))?;
    }
    if let Some(path) = &s.github_step_summary {
        outputs::append(path, summary).map_err(failed("the step summary", path))?;
    }
    Ok(())
}
