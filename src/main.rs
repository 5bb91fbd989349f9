use std::io::IsTerminal;
use std::process::ExitCode;

use amplify_start_job::cancel::Cancel;
use amplify_start_job::cli::{self, Command};
use amplify_start_job::hosting::logs::FailureLog;
use amplify_start_job::runner::{self, escape_data, untrusted};
use amplify_start_job::{Env, Error, dry_run, exit_code, run};

fn main() -> ExitCode {
    // First of all: as PID 1 of a container, a signal without a handler is ignored.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds");
    let cancel = runtime.block_on(async { Cancel::listen() });
    let env = Env::from_process();
    let (env, dry) = match cli::parse(std::env::args().skip(1), env.clone()) {
        Ok(Command::Help) => {
            print!("{}", cli::help());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("{}", cli::version());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run { env, dry_run }) => (env, dry_run),
        Err(e) => return fail(&env, &Error::Settings(e)),
    };
    tracing_subscriber::fmt()
        .with_max_level(amplify_start_job::env::log_level(env.get("RUST_LOG")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .with_target(false)
        .init();
    if dry {
        return match runtime.block_on(dry_run(&env, &cancel)) {
            Ok(request) => {
                println!("{request}");
                ExitCode::SUCCESS
            }
            Err(err) => fail(&env, &err),
        };
    }
    match runtime.block_on(run(&env, &cancel)) {
        Ok(outcome) => {
            println!("{}", outcome.stdout());
            if let Some(failure) = outcome.failure() {
                match outcome.failure_log() {
                    Some(log) => report_failed_step(&env, log, &failure),
                    None => report_error(&env, &untrusted(&failure), None),
                }
            }
            ExitCode::from(outcome.exit_code())
        }
        Err(err) => fail(&env, &err),
    }
}

fn fail(env: &Env, err: &Error) -> ExitCode {
    let hint = err.hint().map(|h| untrusted(&h));
    report_error(env, &untrusted(&err.to_string()), hint);
    ExitCode::from(exit_code(err))
}

/// The failing step's last log lines (a collapsed group on GitHub), each one inert, then one
/// error (on GitHub an annotation titled after the step) with the line that tells most.
fn report_failed_step(env: &Env, log: &FailureLog, failure: &str) {
    let github = env.get("GITHUB_ACTIONS") == Some("true");
    if !log.tail.is_empty() {
        let title = format!("Last {} lines of the {} log", log.tail.len(), log.step);
        if github {
            runner::group(&untrusted(&title));
        } else {
            eprintln!("--- {} ---", untrusted(&title));
        }
        for line in &log.tail {
            eprintln!("{}", untrusted(line));
        }
        if github {
            runner::endgroup();
        } else {
            eprintln!("---");
        }
    }
    let message = match &log.telling {
        Some(line) => format!("{}\n{}", untrusted(line), untrusted(failure)),
        None => untrusted(failure),
    };
    if github {
        runner::error(
            &format!("Amplify {} failed", untrusted(&log.step)),
            &message,
        );
    } else {
        eprintln!("amplify-start-job: error: {message}");
    }
}

/// One error line (an annotation on GitHub), then a hint if there is one.
fn report_error(env: &Env, message: &str, hint: Option<String>) {
    if env.get("GITHUB_ACTIONS") == Some("true") {
        let full = match &hint {
            Some(h) => format!("{message}\nhint: {h}"),
            None => message.to_string(),
        };
        eprintln!("::error title=amplify-start-job::{}", escape_data(&full));
    } else {
        eprintln!("amplify-start-job: error: {message}");
        if let Some(h) = hint {
            eprintln!("hint: {h}");
        }
    }
}
