//! The ground floor of settings: the raw environment, the readers every part uses for its
//! values (durations, booleans, times, endpoints, text cut to a limit), and the one-line
//! [`SettingsError`] each part returns. Nothing here knows any particular setting.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Url;

/// The process environment with empty values removed: GitHub passes `""` for unset inputs.
#[derive(Debug, Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    pub fn from_process() -> Env {
        Env::from_pairs(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env(pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(_, v)| !v.is_empty())
            .collect())
    }

    /// This environment with `name` set to `value` (removed when `value` is empty).
    pub fn with(mut self, name: &str, value: &str) -> Env {
        if value.is_empty() {
            self.0.remove(name);
        } else {
            self.0.insert(name.to_string(), value.to_string());
        }
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone()))
    }
}

/// A setting the user can get wrong, named both ways.
#[derive(Debug, Clone, Copy)]
pub struct Name {
    pub var: &'static str,
    pub input: &'static str,
}

/// One line: which setting, its value (shortened, escaped), what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{var}{input} is {value}: {problem}; {fix}")]
pub struct SettingsError {
    pub var: String,
    input: String,
    value: String,
    problem: String,
    fix: String,
}

impl SettingsError {
    pub fn new(
        var: &str,
        input: Option<&str>,
        value: Option<&str>,
        problem: &str,
        fix: &str,
    ) -> Self {
        SettingsError {
            var: var.to_string(),
            input: input.map(|i| format!(" (input {i})")).unwrap_or_default(),
            value: value.map_or_else(|| "not set".to_string(), show),
            problem: problem.to_string(),
            fix: fix.to_string(),
        }
    }

    pub fn of(name: Name, value: Option<&str>, problem: &str, fix: &str) -> Self {
        Self::new(name.var, Some(name.input), value, problem, fix)
    }
}

/// A value as it may be shown: quoted, escaped to one line, at most 80 characters.
pub fn show(value: &str) -> String {
    const MAX: usize = 80;
    let mut cut: String = value.chars().take(MAX).collect();
    if cut.len() < value.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// Where the commit and branch were found; logged so users can see why a value was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub from: String,
}

/// `true` or `false` in any case; unset is false; anything else is an error.
pub fn boolean(value: Option<&str>, name: Name) -> Result<bool, SettingsError> {
    match value.map(|v| v.to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(_) => Err(SettingsError::of(
            name,
            value,
            "not a boolean",
            "set it to true or false",
        )),
    }
}

pub fn duration(
    value: Option<&str>,
    name: Name,
    default: Duration,
) -> Result<Duration, SettingsError> {
    match value {
        None => Ok(default),
        Some(v) => parse_duration(v).ok_or_else(|| {
            SettingsError::of(
                name,
                Some(v),
                "not a duration",
                "use seconds (90), or a number with ms, s, m or h (500ms, 90s, 2m)",
            )
        }),
    }
}

/// `90`, `90s`, `1.5s`, `500ms`, `2m`, `1h`; at most a day.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    let n: f64 = number.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    (secs <= 86_400.0).then(|| Duration::from_secs_f64(secs))
}

pub const REGION: Name = Name {
    var: "AWS_REGION",
    input: "aws-region",
};

/// `AWS_REGION`, else `AWS_DEFAULT_REGION`, checked.
pub fn region(env: &Env) -> Result<String, SettingsError> {
    let given = env.get(REGION.var).map(|r| (REGION.var, r)).or_else(|| {
        env.get("AWS_DEFAULT_REGION")
            .map(|r| ("AWS_DEFAULT_REGION", r))
    });
    match given {
        None => Err(SettingsError::of(
            REGION,
            None,
            "the AWS region is required (also read from AWS_DEFAULT_REGION)",
            "set it to the app's region, e.g. us-east-1",
        )),
        Some((var, r)) if !valid_region(r) => Err(SettingsError::new(
            var,
            Some(REGION.input),
            Some(r),
            "not an AWS region name",
            "use a region code such as us-east-1 or eu-west-2",
        )),
        Some((_, r)) => Ok(r.to_string()),
    }
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`: two letters, word parts, a number.
fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && r.len() <= 32
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() <= 3
        && !parts[parts.len() - 1].is_empty()
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// A service's endpoint: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, else AWS's
/// regional one, as the SDKs choose.
pub fn endpoint(env: &Env, service: &str, region: &str) -> Result<Url, SettingsError> {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let prefix = service.to_ascii_lowercase();
    endpoint_or(env, service, &format!("https://{prefix}.{region}.{suffix}"))
}

/// The endpoint `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL` name, as the SDKs read
/// them, or `default` (a service whose endpoints are not `amazonaws.com`'s).
pub fn endpoint_or(env: &Env, service: &str, default: &str) -> Result<Url, SettingsError> {
    let specific = format!("AWS_ENDPOINT_URL_{service}");
    let given = env
        .get(&specific)
        .map(|u| (specific.as_str(), u))
        .or_else(|| env.get("AWS_ENDPOINT_URL").map(|u| ("AWS_ENDPOINT_URL", u)));
    let Some((var, value)) = given else {
        return Ok(Url::parse(default).expect("valid URL"));
    };
    let bad = |problem: &str| {
        // Never echo a URL that carries a password.
        let shown = if value.contains('@') {
            "(a URL with user info, hidden)"
        } else {
            value
        };
        SettingsError::new(
            var,
            None,
            Some(shown),
            problem,
            "use http(s)://host[:port], e.g. http://127.0.0.1:4566, or leave it empty for AWS",
        )
    };
    let url = Url::parse(value).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("the endpoint must be an http or https URL with a host"));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(bad(
            "the endpoint must not carry user info, a query or a fragment",
        ));
    }
    Ok(url)
}

/// Keeps at most `max` characters, cutting on a character boundary.
pub fn truncate_chars(s: &str, max: usize) -> (String, bool) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (s[..i].to_string(), true),
        None => (s.to_string(), false),
    }
}

/// RFC 3339 (any offset) or whole seconds since the epoch, to whole seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// A duration as the settings take it: `50ms`, `90s`, `30m`, `2h`.
pub fn show_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    match ms {
        _ if ms % 3_600_000 == 0 && ms > 0 => format!("{}h", ms / 3_600_000),
        _ if ms % 60_000 == 0 && ms > 0 => format!("{}m", ms / 60_000),
        _ if ms % 1000 == 0 => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

/// The log level `RUST_LOG` asks for: a level (`debug`), or directives (`warn,amplify_start_job=debug`)
/// of which the bare level and this crate's are read; `info` when it says nothing usable.
pub fn log_level(value: Option<&str>) -> tracing::level_filters::LevelFilter {
    use tracing::level_filters::LevelFilter;
    let parse = |l: &str| {
        let l = l.trim();
        let named = ["off", "error", "warn", "info", "debug", "trace"];
        named
            .contains(&l.to_ascii_lowercase().as_str())
            .then(|| l.parse::<LevelFilter>().ok())
            .flatten()
    };
    let mut level = None;
    for directive in value.unwrap_or_default().split(',') {
        match directive.split_once('=') {
            Some((target, l)) if target.trim().starts_with("amplify_start_job") => {
                level = parse(l).or(level);
            }
            Some(_) => {}
            None => level = level.or(parse(directive)),
        }
    }
    level.unwrap_or(LevelFilter::INFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-5",
            "eu-isoe-west-1",
        ] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in [
            "us-east1",
            "US-EAST-1",
            "useast",
            "us--1",
            "us-east-",
            "",
            "us-east-1 ",
        ] {
            assert!(!valid_region(bad), "{bad}");
        }
    }

    #[test]
    fn log_levels() {
        use tracing::level_filters::LevelFilter;
        assert_eq!(log_level(None), LevelFilter::INFO);
        assert_eq!(log_level(Some("trace")), LevelFilter::TRACE);
        assert_eq!(log_level(Some("WARN")), LevelFilter::WARN);
        assert_eq!(
            log_level(Some("warn,amplify_start_job=debug")),
            LevelFilter::DEBUG
        );
        assert_eq!(log_level(Some("hyper=trace")), LevelFilter::INFO);
        assert_eq!(log_level(Some("nonsense")), LevelFilter::INFO);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-15T00:13:20+02:00"), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20.999Z"), Some(1_700_000_000));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("-5"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        for bad in ["", "s", "-1", "1d", "2 m", "1.", ".5", "99999999h", "NaN"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncate_chars("héllo", 2), ("hé".to_string(), true));
        assert_eq!(truncate_chars("hé", 2), ("hé".to_string(), false));
    }

    #[test]
    fn shown_values_are_one_line_and_short() {
        assert_eq!(show("a\nb"), "\"a\\nb\"");
        assert_eq!(show(&"x".repeat(100)).chars().count(), 80 + 3);
    }
}

/// A value that must never be printed: its `Debug` says `(redacted)`, so `{:?}` of anything that
/// holds one is safe; it serializes as the value itself, for the request that needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(pub T);

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(redacted)")
    }
}

impl<T: serde::Serialize> serde::Serialize for Secret<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Seconds since the epoch as RFC 3339 in UTC, `2026-12-07T04:05:06Z`.
pub fn rfc3339(secs: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
