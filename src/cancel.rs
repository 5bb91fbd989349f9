//! SIGINT and SIGTERM for the whole run, also as PID 1 of a container; on Windows, Ctrl-C (as
//! SIGINT: 130) and Ctrl-Break, closing the console and shutdown (as SIGTERM: 143).
//!
//! The kernel applies no default action to a signal sent to PID 1, so a process that installs
//! no handler ignores it. `main` installs the handlers first, before anything else, and every
//! phase that can block (credentials, a request, a backoff, a wait) races its work against
//! [`Cancel::cancelled`]. A second signal, while a phase finishes what it must (one quick
//! check for a job, a bounded StopJob), ends the process at once.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio::sync::watch;

/// The exit code of a run ended by SIGINT.
pub const SIGINT_EXIT: u8 = 130;
/// The exit code of a run ended by SIGTERM.
pub const SIGTERM_EXIT: u8 = 143;

/// Whether CI asked the run to stop, and with which exit code (0: not yet).
#[derive(Clone)]
pub struct Cancel {
    rx: watch::Receiver<u8>,
}

impl Cancel {
    /// Installs the SIGINT and SIGTERM handlers; call it inside the runtime, which must be
    /// driven afterwards for them to be seen.
    pub fn listen() -> Cancel {
        let (tx, rx) = watch::channel(0u8);
        let mut signals = Signals::new();
        tokio::spawn(async move {
            loop {
                let code = signals.next().await;
                if *tx.borrow() != 0 {
                    tracing::warn!("a second signal: exiting now");
                    remove_registered();
                    std::process::exit(i32::from(code));
                }
                tracing::warn!("{}: stopping", signal_name(code));
                tx.send_replace(code);
            }
        });
        Cancel { rx }
    }

    /// A cancel that never fires: for callers without signals (tests, libraries).
    pub fn never() -> Cancel {
        let (tx, rx) = watch::channel(0u8);
        std::mem::forget(tx);
        Cancel { rx }
    }

    /// The exit code, once a signal has come.
    pub fn code(&self) -> Option<u8> {
        Some(*self.rx.borrow()).filter(|c| *c != 0)
    }

    /// Resolves with the exit code when a signal comes (at once if one already came).
    pub async fn cancelled(&self) -> u8 {
        let mut rx = self.rx.clone();
        loop {
            let code = *rx.borrow_and_update();
            if code != 0 {
                return code;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Temporary files the second-signal exit removes (it skips destructors).
static TEMP_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Registers a temporary file for removal should the process exit on a second signal.
pub fn remove_on_exit(path: &Path) {
    if let Ok(mut files) = TEMP_FILES.lock() {
        files.push(path.to_path_buf());
    }
}

/// The file is gone (its owner removed it): nothing to do for it on exit.
pub fn forget_on_exit(path: &Path) {
    if let Ok(mut files) = TEMP_FILES.lock() {
        files.retain(|p| p != path);
    }
}

fn remove_registered() {
    if let Ok(files) = TEMP_FILES.lock() {
        for f in files.iter() {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// `SIGINT` for 130, `SIGTERM` for 143.
pub fn signal_name(code: u8) -> &'static str {
    if code == SIGINT_EXIT {
        "SIGINT"
    } else {
        "SIGTERM"
    }
}

/// The signals that stop a run, as the platform delivers them.
#[cfg(unix)]
struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    fn new() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    /// The exit code of the next signal.
    async fn next(&mut self) -> u8 {
        tokio::select! {
            _ = recv(self.int.as_mut().map(|s| s.recv())) => SIGINT_EXIT,
            _ = recv(self.term.as_mut().map(|s| s.recv())) => SIGTERM_EXIT,
        }
    }
}

/// Ctrl-C is a run's SIGINT; Ctrl-Break, closing the console and shutdown its SIGTERM (the
/// runner and `taskkill` send these).
#[cfg(windows)]
struct Signals {
    c: Option<tokio::signal::windows::CtrlC>,
    brk: Option<tokio::signal::windows::CtrlBreak>,
    close: Option<tokio::signal::windows::CtrlClose>,
    shutdown: Option<tokio::signal::windows::CtrlShutdown>,
}

#[cfg(windows)]
impl Signals {
    fn new() -> Signals {
        use tokio::signal::windows as w;
        Signals {
            c: w::ctrl_c().ok(),
            brk: w::ctrl_break().ok(),
            close: w::ctrl_close().ok(),
            shutdown: w::ctrl_shutdown().ok(),
        }
    }

    async fn next(&mut self) -> u8 {
        tokio::select! {
            _ = recv(self.c.as_mut().map(|s| s.recv())) => SIGINT_EXIT,
            _ = recv(self.brk.as_mut().map(|s| s.recv())) => SIGTERM_EXIT,
            _ = recv(self.close.as_mut().map(|s| s.recv())) => SIGTERM_EXIT,
            _ = recv(self.shutdown.as_mut().map(|s| s.recv())) => SIGTERM_EXIT,
        }
    }
}

/// A listener's next signal; never, for one that could not be set up.
async fn recv(next: Option<impl std::future::Future<Output = Option<()>>>) {
    match next {
        Some(f) => {
            f.await;
        }
        None => std::future::pending().await,
    }
}
