//! SIGINT and SIGTERM end the run in every phase, also when the binary is PID 1 of its own
//! PID namespace, as a Docker action's entrypoint is (the kernel ignores a signal PID 1 has no
//! handler for). Needs root for `unshare --pid`; `.ci/run` runs as root, so under CI these run.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use amplify_local::stub::{Reply, Stub};
use common::*;

const SIGNALS: [(&str, i32); 2] = [("INT", 130), ("TERM", 143)];
/// Readiness waits give up after this: a phase that is never reached is a failure.
const READY_LIMIT: Duration = Duration::from_secs(20);

/// The binary as PID 1 of a new PID namespace; its stderr lines arrive on `lines`.
struct Pid1 {
    unshare: Child,
    /// The binary's PID in this (the parent) namespace.
    pid: u32,
    lines: Receiver<String>,
    stderr: Vec<String>,
}

impl Pid1 {
    fn start(gh: &Gh) -> Pid1 {
        let unshare = need_tool("unshare", "the Debian package util-linux");
        let mut child = gh
            .command(unshare)
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(env!("CARGO_BIN_EXE_amplify-start-job"))
            .spawn()
            .unwrap();
        let (tx, lines) = channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let pid = wait_for(|| forked_child(child.id()), "unshare forked the binary");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
        assert!(nspid.ends_with("\t1"), "PID 1 in its namespace: {nspid}");
        Pid1 {
            unshare: child,
            pid,
            lines,
            stderr: Vec::new(),
        }
    }

    /// Reads stderr until a line contains `text`.
    fn wait_for_line(&mut self, text: &str) {
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.stderr.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!("no line with {text:?}; stderr:\n{}", self.stderr.join("\n")),
            }
        }
    }

    /// Sends `signal` to the binary; returns its exit code, how long it took to exit after
    /// the signal, and its whole stderr.
    fn signal(mut self, signal: &str) -> (i32, Duration, String) {
        let sent = Instant::now();
        send_signal(self.pid, signal);
        let status = self.unshare.wait().unwrap();
        let took = sent.elapsed();
        self.stderr.extend(self.lines.iter());
        (status.code().unwrap_or(-1), took, self.stderr.join("\n"))
    }
}

/// The first child of `pid`, once it has forked.
fn forked_child(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn push_run(server: &Server) -> Gh {
    github(server, "push", serde_json::json!({}))
}

/// A run waiting on its job (polls an hour apart, `cancel-on-abort`) as PID 1, once it has
/// seen the job provisioning; its environment is kept alive with it.
fn waiting_as_pid1(server: &Server) -> (Gh, Pid1) {
    let mut gh = push_run(server);
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "1h")
        .set("AMPLIFY_CANCEL_ON_ABORT", "true");
    let mut p = Pid1::start(&gh);
    p.wait_for_line("job 1: PROVISIONING");
    (gh, p)
}

/// Credentials only from a `credential_process` that never ends (an SSO prompt nobody
/// answers): the shell the run starts writes its PID to the returned file, then becomes `sleep`
/// (exec keeps the PID).
fn never_ending_credential_process(gh: &mut Gh) -> std::path::PathBuf {
    let pid_file = gh.dir.path().join("process.pid");
    let config = gh.dir.path().join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[default]\ncredential_process = echo $$ > {}; exec sleep 30\n",
            pid_file.display()
        ),
    )
    .unwrap();
    gh.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .set("AWS_CONFIG_FILE", &config.display().to_string())
        .set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    pid_file
}

/// Signals `p` while credentials resolve: it ends at once with `code`, having sent nothing.
fn ended_while_preparing(p: Pid1, signal: &str, code: i32, server: &Server) {
    let (exit, took, stderr) = p.signal(signal);
    assert_eq!(exit, code, "SIG{signal}:\n{stderr}");
    assert_quick(took, &stderr);
    assert!(server.requests().is_empty(), "nothing reached Amplify");
    assert!(
        stderr.contains(&format!(
            "interrupted by SIG{signal} while resolving settings and credentials: no job was started"
        )),
        "{stderr}"
    );
}

fn assert_quick(took: Duration, stderr: &str) {
    assert!(
        took < Duration::from_secs(1),
        "ended {took:?} after the signal:\n{stderr}"
    );
}

#[test]
fn a_signal_while_credentials_resolve_ends_the_run_and_starts_nothing() {
    if !need_root("a PID namespace") {
        return;
    }
    for (signal, code) in SIGNALS {
        let server = Server::start(Config::default());
        let creds = Stub::start(|_| Reply::Hang);
        let mut gh = push_run(&server);
        gh.unset("AWS_ACCESS_KEY_ID")
            .unset("AWS_SECRET_ACCESS_KEY")
            .set(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                &format!("{}/creds", creds.url()),
            );
        let p = Pid1::start(&gh);
        wait_for(
            || (!creds.requests().is_empty()).then_some(()),
            "the credential request",
        );
        ended_while_preparing(p, signal, code, &server);
        assert!(gh.output().starts_with("earlier=kept\n") && !gh.output().contains("job-id"));
    }
}

#[test]
fn a_signal_while_credential_process_runs_ends_the_run_at_once() {
    if !need_root("a PID namespace") {
        return;
    }
    for (signal, code) in SIGNALS {
        let server = Server::start(Config::default());
        let mut gh = push_run(&server);
        let pid_file = never_ending_credential_process(&mut gh);
        let p = Pid1::start(&gh);
        wait_for(
            || {
                std::fs::read_to_string(&pid_file)
                    .ok()
                    .filter(|p| p.ends_with('\n'))
            },
            "credential_process running",
        );
        ended_while_preparing(p, signal, code, &server);
    }
}

/// Outside a PID namespace (where the end of PID 1 kills every process in it anyway), the run
/// kills the `credential_process` it gave up on.
#[test]
fn a_signal_kills_a_credential_process_the_run_gave_up_on() {
    let server = Server::start(Config::default());
    let mut gh = push_run(&server);
    let pid_file = never_ending_credential_process(&mut gh);
    let mut run = gh.spawn();
    let child: u32 = wait_for(
        || std::fs::read_to_string(&pid_file).ok()?.trim().parse().ok(),
        "credential_process running",
    );
    send_signal(run.id(), "TERM");
    assert_eq!(run.wait().unwrap().code(), Some(143));
    // Killed, then reaped by whoever inherited it: its /proc entry goes, or it is a zombie.
    wait_for(
        || {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .next();
            (stat.is_empty() || state == Some("Z")).then_some(())
        },
        "credential_process killed",
    );
}

#[test]
fn a_signal_during_a_startjob_that_never_answers_checks_once_and_says_a_job_may_exist() {
    if !need_root("a PID namespace") {
        return;
    }
    for (signal, code) in SIGNALS {
        let server = Server::start(Config::default());
        server.push_faults(Op::StartJob, [Fault::Hang]);
        let gh = push_run(&server);
        let p = Pid1::start(&gh);
        wait_for(
            || (calls(&server, Op::StartJob) == 1).then_some(()),
            "the StartJob request",
        );
        let (exit, took, stderr) = p.signal(signal);
        assert_eq!(exit, code, "SIG{signal}:\n{stderr}");
        assert_quick(took, &stderr);
        assert_eq!(
            calls(&server, Op::StartJob),
            1,
            "no new attempt after the signal"
        );
        assert_eq!(calls(&server, Op::ListJobs), 1, "one quick check");
        assert!(server.jobs().is_empty());
        assert!(
            stderr.contains(&format!(
                "interrupted by SIG{signal} while starting the job: a job may have been started: \
                 check https://us-east-1.console.aws.amazon.com/amplify/apps/d1a2b3c4d5e6f7/branches/main/deployments before running again"
            )),
            "{stderr}"
        );
        assert!(!gh.output().contains("job-id"));
    }
}

#[test]
fn a_signal_after_startjob_created_the_job_finds_it_and_writes_the_outputs() {
    if !need_root("a PID namespace") {
        return;
    }
    for (signal, code) in SIGNALS {
        let server = Server::start(Config::default());
        server.push_faults(Op::StartJob, [Fault::ApplyThenHang]);
        let gh = push_run(&server);
        let p = Pid1::start(&gh);
        wait_for(
            || (server.jobs().len() == 1).then_some(()),
            "the job created",
        );
        let (exit, took, stderr) = p.signal(signal);
        assert_eq!(exit, code, "SIG{signal}:\n{stderr}");
        assert_quick(took, &stderr);
        assert_eq!(calls(&server, Op::StartJob), 1);
        assert!(
            stderr.contains(&format!(
                "interrupted by SIG{signal} while starting the job: job 1 had been started: https://"
            )),
            "{stderr}"
        );
        assert_eq!(parse_outputs(&gh.output())["job-id"], "1");
    }
}

#[test]
fn a_signal_during_backoff_starts_no_new_attempt() {
    if !need_root("a PID namespace") {
        return;
    }
    for (signal, code) in SIGNALS {
        let server = Server::start(Config::default());
        server.push_faults(Op::StartJob, [Fault::throttle().with_retry_after("60")]);
        let gh = push_run(&server);
        let mut p = Pid1::start(&gh);
        p.wait_for_line("retrying in 60.0s (Retry-After)");
        let (exit, took, stderr) = p.signal(signal);
        assert_eq!(exit, code, "SIG{signal}:\n{stderr}");
        assert_quick(took, &stderr);
        assert_eq!(
            calls(&server, Op::StartJob),
            1,
            "no attempt after the signal"
        );
        assert_eq!(
            calls(&server, Op::ListJobs),
            0,
            "a 429 was surely not applied: nothing to check"
        );
        assert!(server.jobs().is_empty());
        assert!(
            stderr.contains(&format!(
                "interrupted by SIG{signal} while starting the job: no job was started"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn a_signal_while_waiting_stops_the_job_with_cancel_on_abort() {
    if !need_root("a PID namespace") {
        return;
    }
    for (signal, code) in SIGNALS {
        let server = Server::start(Config::default());
        let (gh, p) = waiting_as_pid1(&server);
        let (exit, took, stderr) = p.signal(signal);
        assert_eq!(exit, code, "SIG{signal}:\n{stderr}");
        assert_quick(took, &stderr);
        assert_eq!(calls(&server, Op::StartJob), 1);
        assert_eq!(calls(&server, Op::StopJob), 1, "{stderr}");
        assert_eq!(server.jobs()[0].status, "CANCELLING");
        assert!(
            stderr.contains("interrupted while waiting for Amplify job 1; the job was stopped"),
            "{stderr}"
        );
        assert_eq!(parse_outputs(&gh.output())["job-id"], "1");
    }
}

#[test]
fn a_stop_on_abort_that_hangs_is_given_up_within_its_bound() {
    if !need_root("a PID namespace") {
        return;
    }
    let server = Server::start(Config::default());
    server.always(Op::StopJob, Fault::Hang);
    let (_gh, p) = waiting_as_pid1(&server);
    let (exit, took, stderr) = p.signal("INT");
    assert_eq!(exit, 130, "{stderr}");
    // At most 5 s for StopJob, so the run ends before GitHub's kill (10 s after SIGINT).
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "{took:?}\n{stderr}"
    );
    assert!(
        stderr.contains("could not stop job 1 within 5s"),
        "{stderr}"
    );
}

#[test]
fn a_second_signal_ends_the_run_at_once() {
    if !need_root("a PID namespace") {
        return;
    }
    let server = Server::start(Config::default());
    server.always(Op::StopJob, Fault::Hang);
    let (_gh, p) = waiting_as_pid1(&server);
    send_signal(p.pid, "INT");
    wait_for(
        || (calls(&server, Op::StopJob) == 1).then_some(()),
        "the StopJob request",
    );
    let (exit, took, stderr) = p.signal("TERM");
    assert_eq!(exit, 143, "{stderr}");
    assert_quick(took, &stderr);
    assert!(stderr.contains("a second signal: exiting now"), "{stderr}");
}
