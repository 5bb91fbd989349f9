//! Text made safe for the CI runner: workflow-command escaping, untrusted text kept inert, and
//! the few workflow commands this tool writes (masks, groups). Only these print, apart from
//! the binary itself.

/// Escapes the data of a workflow command (`%`, CR, LF), as @actions/core does, so a value
/// stays on one line and cannot start a command of its own.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// One line of untrusted text for a log: control characters escaped, so it stays one line; a
/// leading `::` (the runner reads `::command::` only at a line's start) and `##[` anywhere (the
/// legacy command syntax) broken by a zero-width space. `::` inside, as in an ARN, stays intact.
pub fn untrusted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    let out = out.replace("##[", "#\u{200b}#[");
    let body = out.trim_start();
    if body.starts_with("::") {
        let indent = out.len() - body.len();
        format!("{}:\u{200b}{}", &out[..indent], &body[1..])
    } else {
        out
    }
}

/// Registers a secret with the GitHub runner, line by line (a mask is one line), so the
/// runner hides it wherever it is printed later. Each line once a run: the secrets given in
/// the environment are masked first, and masking them again when they are used adds nothing.
#[allow(clippy::print_stderr)]
pub fn mask(secret: &str) {
    static MASKED: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut masked = MASKED.lock().unwrap_or_else(|e| e.into_inner());
    for line in secret.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if masked.insert(line.to_string()) {
            eprintln!("::add-mask::{line}");
        }
    }
}

/// Escapes a workflow command's property (a title): as data, and `:` and `,` too.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A notice annotation on GitHub.
#[allow(clippy::print_stderr)]
pub fn notice(title: &str, message: &str) {
    eprintln!(
        "::notice title={}::{}",
        escape_property(title),
        escape_data(message)
    );
}

/// A warning annotation on GitHub.
#[allow(clippy::print_stderr)]
pub fn warning(title: &str, message: &str) {
    eprintln!(
        "::warning title={}::{}",
        escape_property(title),
        escape_data(message)
    );
}

/// An error annotation on GitHub.
#[allow(clippy::print_stderr)]
pub fn error(title: &str, message: &str) {
    eprintln!(
        "::error title={}::{}",
        escape_property(title),
        escape_data(message)
    );
}

/// Opens a collapsed group in the GitHub log.
#[allow(clippy::print_stderr)]
pub fn group(title: &str) {
    eprintln!("::group::{}", escape_data(title));
}

/// Closes the group [`group`] opened.
#[allow(clippy::print_stderr)]
pub fn endgroup() {
    eprintln!("::endgroup::");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_is_one_inert_line() {
        assert_eq!(untrusted("a\n::add-mask::x"), "a\\n::add-mask::x");
        assert_eq!(untrusted("  ::add-mask::x"), "  :\u{200b}:add-mask::x");
        assert_eq!(untrusted("x ##[error]y"), "x #\u{200b}#[error]y");
        assert_eq!(
            untrusted("arn:aws:iam::123456789012:role/r"),
            "arn:aws:iam::123456789012:role/r"
        );
        assert_eq!(escape_data("50%\nx"), "50%25%0Ax");
    }
}

/// Log lines held back (while the settings are checked, before any secret is masked), to be
/// printed later or dropped.
#[derive(Clone, Default)]
pub struct Held(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Held {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Held {
    /// Runs `f` with its log lines (at the level `RUST_LOG` sets) held here.
    pub fn during<T>(&self, rust_log: Option<&str>, f: impl FnOnce() -> T) -> T {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(crate::env::log_level(rust_log))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f)
    }

    /// Prints the held lines on stderr, as the run's log.
    pub fn print(&self) {
        use std::io::Write;
        let held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = std::io::stderr().write_all(&held);
    }
}
