//! `wait-for-url`: after a success the site itself is asked until it answers 2xx, through the
//! same proxy and CA as every request. The sites' names resolve nowhere: a CONNECT proxy
//! tunnels every name to amplify-local serving HTTPS, whose certificate (signed by the test CA)
//! names the API and the sites.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use amplify_local::Gen3App;
use common::*;
use serde_json::json;

/// amplify-local over HTTPS behind a CONNECT proxy, and the environment that reaches it.
struct Net {
    server: Server,
    proxy: Proxy,
    dir: tempfile::TempDir,
}

fn behind_a_proxy(config: Config) -> Net {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    let server = tls_server(config, dir.path());
    let proxy = proxy_to(&server, dir.path());
    Net { server, proxy, dir }
}

impl Net {
    fn env(&self, gh: &mut Gh) {
        let tls = self.server.url().rsplit(':').next().unwrap().to_string();
        gh.set("AWS_ENDPOINT_URL", &format!("https://amplify.test:{tls}"))
            .set(
                "HTTPS_PROXY",
                &format!("http://127.0.0.1:{}", self.proxy.port),
            )
            .set("AWS_CA_BUNDLE", &ca(self.dir.path()))
            .set("AMPLIFY_WAIT_FOR_URL", "true")
            .set("AMPLIFY_POLL_INTERVAL", "100ms")
            .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    }

    fn sites(&self) -> Vec<amplify_local::Recorded> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.op == Some(Op::Site))
            .collect()
    }

    fn tunnels(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("connects.log")).unwrap_or_default()
    }
}

fn ca(dir: &Path) -> String {
    dir.join("ca.pem").display().to_string()
}

fn pushing(net: &Net) -> Gh {
    let mut gh = github(&net.server, "push", json!({}));
    net.env(&mut gh);
    gh
}

fn site_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(" answered "))
        .collect()
}

#[test]
fn a_site_that_answers_after_a_while_is_waited_for() {
    let net = behind_a_proxy(Config {
        site_down_secs: 1.5,
        ..Config::default()
    });
    let gh = pushing(&net);
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // wait-for-url alone (no wait: true) followed the job to its end first.
    assert!(calls(&net.server, Op::GetJob) >= 1);
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["url-status"], "200");
    assert_eq!(outputs["job-status"], "SUCCEED");
    let url = "https://main.d1a2b3c4d5e6f7.amplifyapp.com";
    assert_eq!(outputs["branch-url"], url);
    let sites = net.sites();
    assert!(sites.len() >= 3, "asked until it answered: {}", sites.len());
    assert_eq!(sites.last().unwrap().status, Some(200));
    // One line per change of answer, not one per request.
    let lines = site_lines(&run.stderr);
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(lines[0].contains(&format!("{url} answered HTTP 404: asking again")));
    assert!(lines[1].contains(&format!("{url} answered HTTP 200")));
    assert!(
        net.tunnels()
            .lines()
            .any(|t| t == "main.d1a2b3c4d5e6f7.amplifyapp.com:443"),
        "the site was asked through the proxy: {}",
        net.tunnels()
    );
}

#[test]
fn a_site_that_never_answers_exits_6_with_its_last_status() {
    let net = behind_a_proxy(Config {
        site_down_secs: 3600.0,
        ..Config::default()
    });
    let mut gh = pushing(&net);
    gh.set("AMPLIFY_URL_TIMEOUT", "1s");
    let run = gh.run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "the site https://main.d1a2b3c4d5e6f7.amplifyapp.com did not answer 2xx within url-timeout (1s); last: HTTP 404"
        ),
        "{}",
        run.stderr
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["url-status"], "404");
    assert_eq!(outputs["job-status"], "SUCCEED");
}

#[test]
fn a_private_preview_is_asked_with_its_basic_auth_which_is_never_printed() {
    let net = behind_a_proxy(Config {
        strict_branches: true,
        ..Config::default()
    });
    let payload =
        json!({"pull_request": {"number": 7, "head": {"sha": SHA, "ref": "feature/login"}}});
    let mut gh = github(&net.server, "pull_request", payload);
    net.env(&mut gh);
    gh.set("GITHUB_HEAD_REF", "feature/login")
        .set("AMPLIFY_CREATE_BRANCH", "true")
        .set("AMPLIFY_PREVIEW_BASIC_AUTH", "reviewer:pr-s3cret");
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sites = net.sites();
    assert_eq!(sites.last().unwrap().status, Some(200), "401 without it");
    assert_eq!(
        sites[0].request.header("authorization"),
        Some("Basic cmV2aWV3ZXI6cHItczNjcmV0")
    );
    for shown in ["pr-s3cret", "cmV2aWV3ZXI6cHItczNjcmV0"] {
        assert!(
            run.stderr
                .lines()
                .all(|l| !l.contains(shown) || l.starts_with("::add-mask::")),
            "{}",
            run.stderr
        );
    }
    assert_eq!(parse_outputs(&gh.output())["url-status"], "200");
}

#[test]
fn the_new_service_s_deployment_url_is_asked() {
    let net = behind_a_proxy(Config {
        gen3_apps: vec![Gen3App::parse("shop").unwrap()],
        site_down_secs: 0.5,
        ..Config::default()
    });
    let mut gh = github(&net.server, "push", json!({}));
    net.env(&mut gh);
    let site = gh.workspace().join("dist");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("index.html"), "<h1>hi</h1>").unwrap();
    gh.unset("AMPLIFY_APP_ID")
        .set("AMPLIFY_APP_NAME", "shop")
        .set("AMPLIFY_SOURCE", site.to_str().unwrap());
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["url-status"], "200");
    let host = outputs["deployment-url"]
        .strip_prefix("https://")
        .unwrap()
        .to_string();
    assert_eq!(
        net.sites().last().unwrap().request.header("host"),
        Some(host.as_str())
    );
}

#[test]
fn wait_for_url_implies_wait_and_url_timeout_needs_it() {
    let server = Server::start(Config::default());
    let mut env: BTreeMap<String, String> = base_env(&server);
    env.insert("AMPLIFY_BRANCH_NAME".into(), "main".into());
    env.insert("AMPLIFY_URL_TIMEOUT".into(), "1m".into());
    let run = run_with(&env, None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("AMPLIFY_URL_TIMEOUT (input url-timeout)")
            && run.stderr.contains("wait-for-url is off"),
        "{}",
        run.stderr
    );
    env.insert("AMPLIFY_WAIT_FOR_URL".into(), "yes".into());
    assert_eq!(run_with(&env, None).code, 2);
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[test]
fn a_cancel_while_asking_the_site_exits_143() {
    let net = behind_a_proxy(Config {
        site_down_secs: 3600.0,
        ..Config::default()
    });
    let mut gh = pushing(&net);
    gh.set("AMPLIFY_URL_TIMEOUT", "10m");
    let child = gh.spawn();
    wait_for(|| (!net.sites().is_empty()).then_some(()), "the site asked");
    send_signal(child.id(), "TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains(
            "interrupted while waiting for the site https://main.d1a2b3c4d5e6f7.amplifyapp.com"
        ),
        "{stderr}"
    );
    assert_eq!(parse_outputs(&gh.output())["url-status"], "404");
}
