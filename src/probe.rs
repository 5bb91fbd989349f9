//! `wait-for-url`: a job can succeed while the site still serves the old build or nothing yet
//! (amplify-hosting #2540, #3002, #3504), so after a success the site itself is asked, with a
//! plain `GET` following redirects, until it answers 2xx or `url-timeout` passes. Every request
//! goes through the same proxy and CA rules as the rest; the preview's basic-auth credentials go
//! to the URL's host only (a redirect to another host drops them).

use std::time::Duration;

use tokio::time::Instant;

use crate::aws::net::{Http, error_chain};
use crate::cancel::Cancel;
use crate::runner::untrusted;

/// One request of the site may take this long at most (less when the limit is nearer).
const ATTEMPT: Duration = Duration::from_secs(15);

/// How asking the site ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeEnd {
    /// It answered 2xx.
    Up,
    /// `url-timeout` passed first.
    TimedOut(Duration),
    /// CI cancelled the run (130 or 143).
    Interrupted(u8),
    /// There was no URL to ask (the branch's could not be read).
    NoUrl,
}

/// What the site answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub url: String,
    /// The last status it answered (after redirects), if it answered at all.
    pub status: Option<u16>,
    /// Why the last request got no answer, when it got none.
    pub error: Option<String>,
    pub end: ProbeEnd,
}

impl Probe {
    /// Nothing could be asked: the site's URL is unknown.
    pub fn no_url(why: &str) -> Probe {
        Probe {
            url: String::new(),
            status: None,
            error: Some(why.to_string()),
            end: ProbeEnd::NoUrl,
        }
    }

    /// The exit code it gives a run that succeeded so far: 0 once the site answered, 6 when
    /// it did not in time (or its URL is unknown), 130/143 when CI cancelled the run.
    pub fn exit_code(&self) -> u8 {
        match self.end {
            ProbeEnd::Up => 0,
            ProbeEnd::TimedOut(_) | ProbeEnd::NoUrl => 6,
            ProbeEnd::Interrupted(code) => code,
        }
    }

    /// Why the run fails for it, when it does.
    pub fn failure(&self) -> Option<String> {
        Some(match &self.end {
            ProbeEnd::Up => return None,
            ProbeEnd::TimedOut(limit) => format!(
                "the site {} did not answer 2xx within url-timeout ({}s); last: {}: raise url-timeout (AMPLIFY_URL_TIMEOUT) to wait longer",
                untrusted(&self.url),
                limit.as_secs(),
                self.last()
            ),
            ProbeEnd::Interrupted(_) => format!(
                "interrupted while waiting for the site {} to answer; last: {}",
                untrusted(&self.url),
                self.last()
            ),
            ProbeEnd::NoUrl => format!(
                "wait-for-url has no URL to ask: {}",
                self.error.as_deref().map(untrusted).unwrap_or_default()
            ),
        })
    }

    /// The last answer as the log says it: `answered HTTP 404`, or `gave no answer (...)`.
    pub fn said(&self) -> String {
        match self.error {
            Some(_) => format!("gave {}", self.last()),
            None => format!("answered {}", self.last()),
        }
    }

    /// The last answer, for the log and a failure: `HTTP 404`, or the error.
    pub fn last(&self) -> String {
        match (&self.error, self.status) {
            (Some(e), _) => format!("no answer ({})", untrusted(e)),
            (None, Some(s)) => format!("HTTP {s}"),
            (None, None) => "no answer".into(),
        }
    }
}

/// Asks `url` every `poll` until it answers 2xx, `limit` passes, or CI cancels the run. `basic`:
/// `user:password` for the URL's host.
pub async fn until_up(
    http: &Http,
    url: &str,
    basic: Option<&str>,
    poll: Duration,
    limit: Duration,
    cancel: &Cancel,
) -> Probe {
    let deadline = Instant::now() + limit;
    let mut probe = Probe {
        url: url.to_string(),
        status: None,
        error: None,
        end: ProbeEnd::TimedOut(limit),
    };
    let mut said = None;
    loop {
        // An attempt the limit cuts short says nothing new: the last answer stands.
        let answer = tokio::select! {
            biased;
            code = cancel.cancelled() => {
                probe.end = ProbeEnd::Interrupted(code);
                return probe;
            }
            _ = tokio::time::sleep_until(deadline) => return probe,
            a = get(http, url, basic, ATTEMPT) => a,
        };
        (probe.status, probe.error) = match answer {
            Ok(status) => (Some(status), None),
            Err(e) => (probe.status, Some(e)),
        };
        if probe.error.is_none() && probe.status.is_some_and(|s| (200..300).contains(&s)) {
            tracing::info!("{} {}", untrusted(url), probe.said());
            probe.end = ProbeEnd::Up;
            return probe;
        }
        let last = probe.said();
        if said.as_ref() != Some(&last) {
            tracing::info!(
                "{} {last}: asking again every {}s, for up to {}s",
                untrusted(url),
                poll.as_secs_f64(),
                limit.as_secs()
            );
            said = Some(last);
        }
        if Instant::now() >= deadline {
            return probe;
        }
        let next = (Instant::now() + poll).min(deadline);
        tokio::select! {
            biased;
            code = cancel.cancelled() => {
                probe.end = ProbeEnd::Interrupted(code);
                return probe;
            }
            _ = tokio::time::sleep_until(next) => {}
        }
    }
}

/// One `GET`, redirects followed (reqwest drops `Authorization` on a redirect to another
/// host): the final status, or why there was none.
async fn get(
    http: &Http,
    url: &str,
    basic: Option<&str>,
    timeout: Duration,
) -> Result<u16, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let client = http.client_for(&parsed).map_err(|e| e.to_string())?;
    let mut req = client.get(parsed).timeout(timeout);
    if let Some((user, password)) = basic.and_then(|b| b.split_once(':')) {
        req = req.basic_auth(user, Some(password));
    }
    let resp = req.send().await.map_err(|e| error_chain(&e))?;
    Ok(resp.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;
    use amplify_local::http::Response;
    use amplify_local::stub::{Reply, Stub};

    fn http() -> Http {
        Http::new(
            Duration::from_secs(5),
            crate::aws::net::TlsConfig::default(),
        )
    }

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn redirects_are_followed_and_the_credentials_stay_on_the_url_s_host() {
        let there = Stub::start(|_| Reply::Respond(Response::new(200, "text/html", "up")));
        // The same server by another name is another host to a browser and to reqwest.
        let elsewhere = there.url().replace("127.0.0.1", "localhost");
        let here = Stub::start(move |_| {
            Reply::Respond(Response::new(302, "text/html", "").header("Location", &elsewhere))
        });
        let p = run(until_up(
            &http(),
            &here.url(),
            Some("reviewer:s3cret"),
            Duration::from_millis(10),
            Duration::from_secs(5),
            &Cancel::never(),
        ));
        assert_eq!((p.end, p.status), (ProbeEnd::Up, Some(200)));
        let auth = |r: &amplify_local::http::Request| r.header("authorization").map(str::to_string);
        assert_eq!(
            auth(&here.requests()[0]).as_deref(),
            Some("Basic cmV2aWV3ZXI6czNjcmV0")
        );
        assert_eq!(there.requests().len(), 1);
        assert_eq!(auth(&there.requests()[0]), None, "not sent to another host");
    }

    #[test]
    fn a_site_that_never_answers_2xx_times_out_with_its_last_status() {
        let down = Stub::start(|_| Reply::Respond(Response::new(503, "text/html", "")));
        let p = run(until_up(
            &http(),
            &down.url(),
            None,
            Duration::from_millis(20),
            Duration::from_millis(200),
            &Cancel::never(),
        ));
        assert_eq!(p.end, ProbeEnd::TimedOut(Duration::from_millis(200)));
        assert_eq!((p.status, p.exit_code()), (Some(503), 6));
        assert!(down.requests().len() >= 2, "asked again");
        assert!(p.failure().unwrap().contains("last: HTTP 503"));
    }
}
