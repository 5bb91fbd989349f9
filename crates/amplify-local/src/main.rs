//! `amplify-local`: serve the local Amplify job API until interrupted.
//!
//! Prints `AWS_ENDPOINT_URL=http://127.0.0.1:PORT` (`https://` with `--tls-cert`) on stdout
//! once listening, so scripts can wait on that line instead of sleeping; logs one line per
//! request on stderr.

use std::process::ExitCode;

use amplify_local::{Config, Server};

const USAGE: &str = "usage: amplify-local [--port N] [--bind ADDR] [--outcome SUCCEED|FAILED]
                    [--start-job-rate PER_SECOND] [--start-job-burst N]
                    [--tls-cert PEM --tls-key PEM] [--log-lines N] [--failing-log FILE]
                    [--artifact NAME=FILE]... [--app APP=BRANCH,...]... [--step-seconds N]
                    [--latency-ms N] [--idle-timeout SECONDS] [--concurrent-jobs]
                    [--moved-tip SHA] [--log-without-commit] [--site-down-seconds N]
                    [--gen3-app NAME[,ENV[:manual][:PRESET]]...[,no-repo]]...
                    [--fail-reason CODE] [--gen3-commit SHA] [--rollout-stage-seconds N]
                    [--digest-form base64|hex|sha256|none]
                    [--gen3-fault OPERATION=402|409|429[:S]|500[:S]|reset]...
                    [--gen3-fork APP:PR:SHA]... [--help]

Serves the Amplify job, deployment and branch operations on 127.0.0.1, or ADDR (port 0 = any
free port). --start-job-rate (with --start-job-burst, default 1) throttles StartJob with a
token bucket: beyond it StartJob answers 429 LimitExceededException, as AWS does.
--tls-cert (a PEM chain, leaf first) with --tls-key (its PEM key) serves HTTPS instead; give
clients the CA that signed it (AWS_CA_BUNDLE).
Each step's logUrl is a URL it serves (presigned, 3 hours), with a plausible build log of
--log-lines lines (default 40); a failed job's first step ends with a build error, or is the
text of --failing-log. --artifact gives every job an artifact (ListArtifacts, GetArtifactUrl).
A BUILD step's log names the commit it checks out (`# Switching to commit: SHA`, then git's
`HEAD is now at`): for a RELEASE job the commit sent, or --moved-tip (the branch moved on
between the trigger and the clone); --log-without-commit leaves both lines out. Log URLs
answer a Range with 206, as S3 does. It serves the sites too (a GET whose Host is a branch's
<display>.<app>.amplifyapp.com or a deployment's <id>--<app>.amplify.app, e.g. through a
proxy): 200 once a build succeeded, 404 before and for --site-down-seconds after it ended, 401
without a branch's basic auth.
--app restricts the endpoint to the apps named, each with its branches (others answer
NotFoundException); without it every well-formed app and branch exists. --step-seconds makes
each status of a job last at least N seconds (default 0: one status per GetJob).
--latency-ms plays a network's round trip (for benchmarks): each answer leaves N ms after its
request arrived, and a new connection's first byte waits one round trip (two over HTTPS, for
TLS's handshake). --idle-timeout closes a kept-alive connection idle that long, as AWS does.
It plays the new AWS Amplify (requests signed for amplifygen3) on the same port: --gen3-app
declares an app and its environments (preview and production always exist; others are
CUSTOM), each routed by hand (:manual) or rolled out by a preset (e.g.
:CANARY_10_PERCENT_5_MINUTES), and no-repo for an app without a connected repository; without
it every well-formed app name exists, connected, with preview and production. --outcome
applies to deployments too (FAILED with --fail-reason, default BUILD_FAILED); --gen3-commit is
the CommitId a Git deployment reports; --rollout-stage-seconds is each rollout stage's length
(default 0: one stage per read of the alias); --digest-form is the one form of
CreateSourceUpload's digest it takes (default base64, S3's checksum form; AWS's is not known).
--gen3-fault makes the next call of a new-service operation (by API name, e.g.
CreateDeployment) fail as AWS's model says it can, once per flag, in order: 402
ServiceQuotaExceededException with quotaCode L-GEN3DEP, 429 ThrottlingException and 500
InternalServerException with Retry-After S seconds (default 1), 409 RoleNotAssumableException,
or reset: the call is done, then its connection reset (a lost answer). UpdateAliasRouting
promotes or rolls back (409 ConflictException while a rollout runs; preview only at once),
CancelGradualRollout sends a rollout's traffic back, and AcceptForkPullRequestDeployment
accepts a fork pull request's commit (ACCEPTED, then ALREADY_ACCEPTED); --gen3-fork holds a
fork's push of SHA to pull request PR of APP until then (it deploys to preview once accepted).
It answers as AWS does (see its README's fidelity table): one unfinished job per branch
(StartJob on a busy branch: 429 LimitExceededException), RELEASE jobs recorded with commitId
HEAD, sparse StartJob/StartDeployment answers, created deployments PENDING. --concurrent-jobs
lets a branch run several jobs at once, friendlier than AWS: for benchmarks only.
Accepts the demo credentials AWS_ACCESS_KEY_ID=AKIDLOCALAMPLIFY
AWS_SECRET_ACCESS_KEY=local-secret-not-for-aws in region us-east-1.";

fn main() -> ExitCode {
    let mut port = 0u16;
    let mut bind = std::net::IpAddr::from([127, 0, 0, 1]);
    let mut config = Config::default();
    let mut faults = Vec::new();
    let mut forks = Vec::new();
    let (mut cert, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            println!(
                "{USAGE}\n\nOperations served (amplify): {}.\nOperations served (amplifygen3): {}.",
                amplify_local::operations(amplify_local::HOSTING).join(", "),
                amplify_local::operations(amplify_local::GEN3).join(", ")
            );
            return ExitCode::SUCCESS;
        }
        if arg == "--concurrent-jobs" {
            config.concurrent_jobs = true;
            continue;
        }
        if arg == "--log-without-commit" {
            config.log_names_commit = false;
            continue;
        }
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) if p.parse::<u16>().is_ok() => port = p.parse().unwrap(),
            ("--bind", Some(a)) if a.parse::<std::net::IpAddr>().is_ok() => {
                bind = a.parse().unwrap()
            }
            ("--outcome", Some(o)) if o == "SUCCEED" || o == "FAILED" => config.outcome = o,
            ("--start-job-rate", Some(r)) if r.parse::<f64>().is_ok_and(|r| r > 0.0) => {
                let burst = config.start_job_rate.map_or(1.0, |(_, b)| b);
                config.start_job_rate = Some((r.parse().unwrap(), burst));
            }
            ("--start-job-burst", Some(b)) if b.parse::<f64>().is_ok_and(|b| b >= 1.0) => {
                let rate = config.start_job_rate.map_or(f64::INFINITY, |(r, _)| r);
                config.start_job_rate = Some((rate, b.parse().unwrap()));
            }
            ("--log-lines", Some(n)) if n.parse::<usize>().is_ok() => {
                config.log_lines = n.parse().unwrap()
            }
            ("--failing-log", Some(p)) => match std::fs::read_to_string(&p) {
                Ok(text) => config.log_content = Some(text),
                Err(e) => {
                    eprintln!("amplify-local: cannot read --failing-log {p}: {e}");
                    return ExitCode::from(2);
                }
            },
            ("--artifact", Some(a)) => {
                let read = a
                    .split_once('=')
                    .map(|(name, file)| (name.to_string(), std::fs::read(file)));
                match read {
                    Some((name, Ok(bytes))) => config.artifacts.push((name, bytes)),
                    _ => {
                        eprintln!(
                            "amplify-local: --artifact takes NAME=FILE of a readable file: {a}"
                        );
                        return ExitCode::from(2);
                    }
                }
            }
            ("--app", Some(a)) => match app_flag(&a) {
                Some(app) => config.apps.push(app),
                None => {
                    eprintln!("amplify-local: --app takes APP=BRANCH[,BRANCH...]: {a}");
                    return ExitCode::from(2);
                }
            },
            ("--step-seconds", Some(n)) if n.parse::<f64>().is_ok_and(|n| n >= 0.0) => {
                config.step_secs = n.parse().unwrap()
            }
            ("--gen3-app", Some(spec)) if amplify_local::Gen3App::parse(&spec).is_some() => config
                .gen3_apps
                .push(amplify_local::Gen3App::parse(&spec).unwrap()),
            ("--fail-reason", Some(code)) if !code.is_empty() => {
                config.gen3_fail_reason = Some(code)
            }
            ("--gen3-commit", Some(sha)) if sha.len() == 40 => config.gen3_commit = Some(sha),
            ("--moved-tip", Some(sha))
                if sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                config.moved_tip = Some(sha.to_ascii_lowercase())
            }
            ("--digest-form", Some(f))
                if ["base64", "hex", "sha256", "none"].contains(&f.as_str()) =>
            {
                config.gen3_digest_form = f
            }
            ("--rollout-stage-seconds", Some(n)) if n.parse::<f64>().is_ok_and(|n| n >= 0.0) => {
                config.rollout_stage_secs = n.parse().unwrap()
            }
            ("--gen3-fault", Some(spec)) if amplify_local::Fault::gen3_flag(&spec).is_some() => {
                faults.push(amplify_local::Fault::gen3_flag(&spec).unwrap())
            }
            ("--gen3-fork", Some(spec)) if fork_push(&spec).is_some() => {
                forks.push(fork_push(&spec).unwrap())
            }
            ("--site-down-seconds", Some(n)) if n.parse::<f64>().is_ok_and(|n| n >= 0.0) => {
                config.site_down_secs = n.parse().unwrap()
            }
            ("--latency-ms", Some(n)) if n.parse::<u64>().is_ok() => {
                config.latency = std::time::Duration::from_millis(n.parse().unwrap())
            }
            ("--idle-timeout", Some(n)) if n.parse::<f64>().is_ok_and(|n| n > 0.0) => {
                config.idle_timeout = Some(std::time::Duration::from_secs_f64(n.parse().unwrap()))
            }
            ("--tls-cert", Some(p)) => cert = Some(std::path::PathBuf::from(p)),
            ("--tls-key", Some(p)) => key = Some(std::path::PathBuf::from(p)),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let tls = match (cert, key) {
        (None, None) => None,
        (Some(cert), Some(key)) => match amplify_local::tls_server_config(&cert, &key) {
            Ok(tls) => Some(tls),
            Err(e) => {
                eprintln!("amplify-local: cannot serve HTTPS: {e}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("amplify-local: --tls-cert and --tls-key go together\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match Server::start_with(config, bind, port, tls) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("amplify-local: cannot listen on {bind}:{port}: {e}");
            return ExitCode::from(1);
        }
    };
    for (op, fault) in faults {
        server.push_faults(op, [fault]);
    }
    for (app, pr, sha) in forks {
        server.gen3_fork_push(&app, &pr, &sha);
    }
    // As PID 1 of a container, a signal without a handler is ignored: `docker stop` and
    // `podman stop` send SIGTERM, Ctrl-C sends SIGINT; either ends the server at once. The
    // handlers are in place before the endpoint is announced.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds");
    let mut stop = {
        let _inside = runtime.enter();
        Stop::new()
    };
    println!("AWS_ENDPOINT_URL={}", server.url());
    let mut seen = 0;
    let signal = runtime.block_on(async {
        loop {
            tokio::select! {
                name = stop.next() => return name,
                _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
            }
            seen = report(&server, seen);
        }
    });
    report(&server, seen);
    eprintln!("amplify-local: {signal}: stopping");
    ExitCode::SUCCESS
}

/// `APP:PR:SHA`: a fork pull request's push, held until its commit is accepted.
fn fork_push(spec: &str) -> Option<(String, String, String)> {
    let mut parts = spec.splitn(3, ':');
    let (app, pr, sha) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = !pr.is_empty() && pr.bytes().all(|b| b.is_ascii_digit());
    (digits && sha.len() == 40 && !app.is_empty()).then(|| (app.into(), pr.into(), sha.into()))
}

/// `APP=BRANCH[,BRANCH...]`: an app and its branches.
fn app_flag(a: &str) -> Option<(String, Vec<String>)> {
    let (app, branches) = a.split_once('=')?;
    let branches: Vec<String> = branches
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_string)
        .collect();
    (!app.is_empty() && !branches.is_empty()).then(|| (app.to_string(), branches))
}

/// The signals that stop the server.
#[cfg(unix)]
struct Stop {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Stop {
    fn new() -> Stop {
        use tokio::signal::unix::{SignalKind, signal};
        Stop {
            term: signal(SignalKind::terminate()).expect("a SIGTERM handler"),
            int: signal(SignalKind::interrupt()).expect("a SIGINT handler"),
        }
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

#[cfg(not(unix))]
struct Stop;

#[cfg(not(unix))]
impl Stop {
    fn new() -> Stop {
        Stop
    }

    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Logs the requests recorded since `seen` (one line each); the new count.
fn report(server: &Server, seen: usize) -> usize {
    let requests = server.requests();
    for r in &requests[seen..] {
        eprintln!(
            "{} {} -> {} ({})",
            r.request.method,
            r.request.target,
            r.status.map_or("no answer".to_string(), |s| s.to_string()),
            match &r.signature {
                Ok(_) => "signature ok".to_string(),
                Err(code) => code.clone(),
            }
        );
    }
    requests.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_flag_names_an_app_and_its_branches() {
        assert_eq!(
            app_flag("d1=main, dev"),
            Some(("d1".into(), vec!["main".into(), "dev".into()]))
        );
        for bad in ["d1", "d1=", "=main", "d1=,"] {
            assert_eq!(app_flag(bad), None, "{bad}");
        }
    }
}
