//! The sites the builds serve, for clients that check a deploy is really up: a `GET` whose
//! `Host` is a branch's (`<displayName>.<appId>.amplifyapp.com`) or a new-service deployment's
//! (`<id>--<app>.amplify.app`). A site answers once a build of it succeeded, and with
//! `Config::site_down_secs` only that long after the build ended (404 before, as Amplify's
//! edge answers while it propagates); a branch with basic auth wants its credentials (401).

use crate::hosting::branches::display_name;
use crate::http::{Request, Response};
use crate::state::{Config, State, now};

const PAGE: &str = "<!doctype html><html><head><title>amplify-local</title></head><body><div id=\"root\"></div></body></html>";

/// Whether `host` (without its port) is a site's, not the API's.
pub fn is_site(host: &str) -> bool {
    let host = host.split(':').next().unwrap_or_default();
    host.ends_with(".amplifyapp.com") || host.ends_with(".amplify.app")
}

/// `GET https://<site>/...`: the page, 404 while no build serves it, 401 without its basic auth.
pub(crate) fn serve(req: &Request, config: &Config, s: &State) -> Response {
    let host = req
        .header("host")
        .unwrap_or_default()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let ended = if let Some(app_part) = host.strip_suffix(".amplifyapp.com") {
        match app_part.split_once('.') {
            Some((display, app)) => branch_site(display, app, req, s),
            None => Err(not_found()),
        }
    } else if let Some(label) = host.strip_suffix(".amplify.app") {
        deployment_site(label, s)
    } else {
        Err(not_found())
    };
    match ended {
        Ok(at) if now() >= at + config.site_down_secs => Response::new(200, "text/html", PAGE),
        Ok(_) => not_found(),
        Err(r) => r,
    }
}

/// When the newest successful build of the branch ended, or the refusal.
fn branch_site(display: &str, app: &str, req: &Request, s: &State) -> Result<f64, Response> {
    let ended = s
        .jobs
        .iter()
        .filter(|j| j.app_id.eq_ignore_ascii_case(app) && display_name(&j.branch) == display)
        .filter(|j| j.status == "SUCCEED")
        .filter_map(|j| j.end_time)
        .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))))
        .ok_or_else(not_found)?;
    let branch = s
        .branches
        .iter()
        .find(|b| b.app_id.eq_ignore_ascii_case(app) && b.display_name == display);
    if let Some(creds) = branch
        .filter(|b| b.enable_basic_auth)
        .and_then(|b| b.basic_auth_credentials.as_deref())
    {
        let given = req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Basic "));
        if given != Some(creds) {
            return Err(Response::new(401, "text/plain", "Unauthorized")
                .header("WWW-Authenticate", "Basic realm=\"Amplify\""));
        }
    }
    Ok(ended)
}

/// When the deployment (`<id>--<app>`) ended `SUCCEEDED`, or 404.
fn deployment_site(label: &str, s: &State) -> Result<f64, Response> {
    let (id, app) = label.split_once("--").ok_or_else(not_found)?;
    s.gen3
        .deployments
        .iter()
        .find(|d| d.id == id && d.app.eq_ignore_ascii_case(app) && d.status == "SUCCEEDED")
        .map(|d| d.ended.unwrap_or(d.created))
        .ok_or_else(not_found)
}

fn not_found() -> Response {
    Response::new(
        404,
        "text/html",
        "<html><body><h1>404 Not Found</h1></body></html>",
    )
}
