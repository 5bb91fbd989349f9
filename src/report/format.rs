//! The forms text takes in what a run tells: Markdown table cells and code spans that
//! untrusted text cannot break out of, the dotenv file's lines, and `name: value` lines.

use crate::runner::untrusted;

/// Text for a Markdown table cell: escapes and line breaks cannot end the cell or the row.
pub fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Text for a code span in a table cell: a backquote cannot end the span.
pub fn code_cell(s: &str) -> String {
    cell(s).replace('`', "'")
}

/// `name: value` lines, for people: each value one inert line.
pub fn text(outputs: &[(&str, String)]) -> String {
    outputs
        .iter()
        .map(|(n, v)| format!("{n}: {}", untrusted(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The outputs as a dotenv file (GitLab's `artifacts:reports:dotenv` and most loaders):
/// `AMPLIFY_JOB_ID=42`, one per line. A value with characters beyond a plain set is quoted,
/// and line breaks never survive into it.
pub fn dotenv(outputs: &[(&str, String)]) -> String {
    let mut text = String::new();
    for (name, value) in outputs {
        let key = format!("AMPLIFY_{}", name.to_ascii_uppercase().replace('-', "_"));
        let value = value.replace(['\r', '\n'], " ");
        let plain = value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:@%+=,-~".contains(&b));
        let value = if plain {
            value
        } else if !value.contains('\'') {
            format!("'{value}'")
        } else {
            format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
        };
        text.push_str(&format!("{key}={value}\n"));
    }
    text
}
