//! Manual deployments (job type MANUAL) against the local endpoint: a folder zipped here, a
//! zip as given, or a URL; the upload to the presigned URL; never two deployments, never a
//! stuck one. Python's zipfile reads every zip we make.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

const CONSOLE: &str =
    "https://us-east-1.console.aws.amazon.com/amplify/apps/d1a2b3c4d5e6f7/branches/main";

/// A built site: files in folders, as a build writes them.
fn site(dir: &Path) {
    std::fs::create_dir_all(dir.join("assets/js")).unwrap();
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>home</h1>\n").unwrap();
    std::fs::write(
        dir.join("assets/js/app.js"),
        "console.log(1);\n".repeat(500),
    )
    .unwrap();
    std::fs::write(
        dir.join("assets/logo.png"),
        (0..=255u8).cycle().take(5000).collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::write(dir.join("docs/a b.html"), "spaces\n").unwrap();
}

const SITE_ENTRIES: &[&str] = &[
    "assets/",
    "assets/js/",
    "assets/js/app.js",
    "assets/logo.png",
    "docs/",
    "docs/a b.html",
    "index.html",
];

/// A GitHub push run deploying `source` (relative to the workspace), with a private temp dir.
fn deploying(server: &Server, source: &str) -> Gh {
    let mut gh = github(server, "push", serde_json::json!({}));
    let temp = gh.dir.path().join("runner_temp");
    std::fs::create_dir_all(&temp).unwrap();
    gh.set("AMPLIFY_SOURCE", source)
        .set("RUNNER_TEMP", temp.to_str().unwrap())
        .set("AMPLIFY_RETRY_BASE_DELAY", "10ms");
    gh
}

fn temp_left(gh: &Gh) -> Vec<String> {
    std::fs::read_dir(gh.dir.path().join("runner_temp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Python's zipfile on `bytes`, against `folder`: the entry names, after its checks pass.
fn zipfile_reads(bytes: &[u8], folder: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("upload.zip");
    std::fs::write(&zip, bytes).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/zip_check.py");
    let out = python(
        &[script.as_ref(), zip.as_os_str(), folder.as_os_str()],
        Path::new("."),
    );
    let stdout = all_passed(&out);
    serde_json::from_str(stdout.lines().next().unwrap()).unwrap()
}

#[test]
fn a_folder_is_zipped_uploaded_and_started_once() {
    let server = Server::start(Config::default());
    let gh = deploying(&server, "dist");
    site(&gh.workspace().join("dist"));
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::CreateDeployment), 1);
    assert_eq!(calls(&server, Op::Upload), 1);
    assert_eq!(calls(&server, Op::StartDeployment), 1);
    assert_eq!(
        calls(&server, Op::StartJob),
        0,
        "not StartJob: AWS refuses MANUAL there"
    );
    let uploads = server.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].entries, SITE_ENTRIES);
    assert_eq!(
        zipfile_reads(&uploads[0].bytes, &gh.workspace().join("dist")),
        SITE_ENTRIES
    );
    let upload = server
        .requests()
        .into_iter()
        .find(|r| r.op == Some(Op::Upload))
        .unwrap();
    assert_eq!(upload.request.method, "PUT");
    assert!(
        upload.request.header("authorization").is_none(),
        "presigned: no SigV4"
    );
    assert_eq!(
        upload.request.header("content-length"),
        Some(uploads[0].bytes.len().to_string().as_str())
    );
    let start = server
        .requests()
        .into_iter()
        .find(|r| r.op == Some(Op::StartDeployment))
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&start.request.body).unwrap(),
        serde_json::json!({"jobId": "1"})
    );
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-id"], "1");
    assert_eq!(outputs["job-status"], "PENDING");
    assert_eq!(outputs["job-url"], format!("{CONSOLE}/deployments/1"));
    assert!(
        temp_left(&gh).is_empty(),
        "the zip is removed: {:?}",
        temp_left(&gh)
    );
}

#[test]
fn the_same_folder_gives_the_same_bytes() {
    let server = Server::start(Config::default());
    let mut zips = Vec::new();
    for branch in ["one", "two"] {
        let mut gh = deploying(&server, "dist");
        gh.set("AMPLIFY_BRANCH_NAME", branch);
        site(&gh.workspace().join("dist"));
        let run = gh.run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        zips.push(server.uploads().last().unwrap().bytes.clone());
    }
    assert_eq!(zips[0], zips[1]);
}

#[test]
fn a_zip_is_uploaded_as_it_is_and_a_url_is_not_uploaded() {
    let server = Server::start(Config::default());
    let mut gh = deploying(&server, "site.zip");
    let made = deploying(&server, "dist");
    site(&made.workspace().join("dist"));
    // A zip made by `zip`, not by us.
    let zip = Command::new(need_tool("zip", "the Debian package zip"))
        .args([
            "-qr",
            gh.workspace().join("site.zip").to_str().unwrap(),
            ".",
        ])
        .current_dir(made.workspace().join("dist"))
        .status()
        .unwrap();
    assert!(zip.success());
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let given = std::fs::read(gh.workspace().join("site.zip")).unwrap();
    assert_eq!(server.uploads()[0].bytes, given);

    for (url, kind) in [
        ("s3://my-bucket/site/", "BUCKET_PREFIX"),
        ("s3://my-bucket/site.zip", "ZIP"),
        ("https://example.com/build?id=7", "ZIP"),
    ] {
        let server = Server::start(Config::default());
        gh.unset("AMPLIFY_SOURCE")
            .set("AMPLIFY_SOURCE_URL", url)
            .set("AWS_ENDPOINT_URL", &server.url());
        let run = gh.run();
        assert_eq!(run.code, 0, "{url}: {}", run.stderr);
        assert_eq!(calls(&server, Op::CreateDeployment), 0);
        assert_eq!(calls(&server, Op::Upload), 0);
        let start = &first(&server, Op::StartDeployment);
        assert_eq!(start.op, Some(Op::StartDeployment));
        assert_eq!(
            serde_json::from_slice::<Value>(&start.request.body).unwrap(),
            serde_json::json!({"sourceUrl": url, "sourceUrlType": kind})
        );
    }
}

#[test]
fn a_symlink_inside_is_stored_as_its_file_and_one_outside_is_refused_before_anything_is_sent() {
    let server = Server::start(Config::default());
    let gh = deploying(&server, "dist");
    let dist = gh.workspace().join("dist");
    site(&dist);
    std::os::unix::fs::symlink("index.html", dist.join("home.html")).unwrap();
    std::os::unix::fs::symlink("assets/js", dist.join("js")).unwrap();
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let entries = zipfile_reads(&server.uploads()[0].bytes, &dist);
    assert!(entries.contains(&"home.html".to_string()), "{entries:?}");
    assert!(entries.contains(&"js/app.js".to_string()), "{entries:?}");

    let server = Server::start(Config::default());
    let mut gh = deploying(&server, "dist");
    let dist = gh.workspace().join("dist");
    site(&dist);
    let secret = gh.dir.path().join("secret.txt");
    std::fs::write(&secret, "outside").unwrap();
    std::os::unix::fs::symlink(&secret, dist.join("docs/leak.txt")).unwrap();
    gh.set("AWS_ENDPOINT_URL", &server.url());
    let run = gh.run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "AMPLIFY_SOURCE (input source) cannot be deployed: dist/docs/leak.txt is a symlink to {}, outside the folder",
            secret.display()
        )),
        "{}",
        run.stderr
    );
    assert!(server.requests().is_empty(), "nothing sent");
    assert_eq!(gh.output(), "earlier=kept\n", "nothing written");
    assert!(temp_left(&gh).is_empty());
}

#[test]
fn bad_sources_are_settings_errors() {
    let server = Server::start(Config::default());
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("AMPLIFY_SOURCE", "empty")],
            "AMPLIFY_SOURCE (input source) is \"empty\": the folder is empty; build the site first",
        ),
        (
            &[("AMPLIFY_SOURCE", "missing")],
            "AMPLIFY_SOURCE (input source) is \"missing\": cannot be read (No such file or directory (os error 2)); point it at the build output folder",
        ),
        (
            &[("AMPLIFY_SOURCE", "fake.zip")],
            "AMPLIFY_SOURCE (input source) is \"fake.zip\": not a zip file (it does not start with a zip signature)",
        ),
        (
            &[("AMPLIFY_SOURCE", "notes.txt")],
            "AMPLIFY_SOURCE (input source) is \"notes.txt\": a file that is not a .zip",
        ),
        (
            &[("AMPLIFY_SOURCE", ""), ("AMPLIFY_JOB_TYPE", "manual")],
            "AMPLIFY_SOURCE (input source) is not set: job type MANUAL deploys a folder, a zip or a URL, and none is given",
        ),
        (
            &[("AMPLIFY_SOURCE", "dist"), ("AMPLIFY_JOB_TYPE", "RELEASE")],
            "AMPLIFY_JOB_TYPE (input job-type) is \"RELEASE\": a source or source-url deploys as job type MANUAL",
        ),
        (
            &[
                ("AMPLIFY_SOURCE", "dist"),
                ("AMPLIFY_SOURCE_URL", "s3://b/p/"),
            ],
            "AMPLIFY_SOURCE_URL (input source-url) is \"s3://b/p/\": it is set together with AMPLIFY_SOURCE (input source)",
        ),
        (
            &[
                ("AMPLIFY_SOURCE", ""),
                ("AMPLIFY_SOURCE_URL", "ftp://x/y.zip"),
            ],
            "AMPLIFY_SOURCE_URL (input source-url) is \"ftp://x/y.zip\": a source URL is s3://bucket/prefix",
        ),
        (
            &[
                ("AMPLIFY_SOURCE", ""),
                ("AMPLIFY_SOURCE_URL", "s3://b/p/"),
                ("AMPLIFY_SOURCE_URL_TYPE", "TAR"),
            ],
            "AMPLIFY_SOURCE_URL_TYPE (input source-url-type) is \"TAR\": not a source URL type",
        ),
        (
            &[("AMPLIFY_SOURCE_URL_TYPE", "ZIP")],
            "AMPLIFY_SOURCE_URL_TYPE (input source-url-type) is \"ZIP\": it is only used with AMPLIFY_SOURCE_URL",
        ),
    ];
    for (vars, line) in cases {
        let mut gh = deploying(&server, "dist");
        let ws = gh.workspace();
        site(&ws.join("dist"));
        std::fs::create_dir_all(ws.join("empty")).unwrap();
        std::fs::write(ws.join("fake.zip"), "not a zip").unwrap();
        std::fs::write(ws.join("notes.txt"), "text").unwrap();
        // Sparse: a zip signature, then a hole up to one byte over the limit.
        std::fs::write(ws.join("huge.zip"), b"PK\x03\x04").unwrap();
        std::fs::File::options()
            .write(true)
            .open(ws.join("huge.zip"))
            .unwrap()
            .set_len(5_000_000_001)
            .unwrap();
        for (k, v) in *vars {
            if v.is_empty() {
                gh.unset(k);
            } else {
                gh.set(k, v);
            }
        }
        let run = gh.run();
        assert_eq!(run.code, 2, "{vars:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr
                .starts_with(&format!("::error title=amplify-start-job::{line}")),
            "{vars:?}: {}",
            run.stderr
        );
        assert_eq!(gh.output(), "earlier=kept\n");
    }
    assert!(server.requests().is_empty(), "nothing sent");
}

#[test]
fn upload_faults_are_retried_on_the_same_url() {
    for (fault, timeout) in [
        (Fault::internal(), "30s"),
        (Fault::Reset, "30s"),
        (
            Fault::Delay(std::time::Duration::from_millis(1500)),
            "500ms",
        ),
    ] {
        let server = Server::start(Config::default());
        server.push_faults(Op::Upload, [fault.clone()]);
        let mut gh = deploying(&server, "dist");
        gh.set("AMPLIFY_REQUEST_TIMEOUT", timeout);
        site(&gh.workspace().join("dist"));
        let run = gh.run();
        assert_eq!(run.code, 0, "{fault:?}: {}", run.stderr);
        assert_eq!(calls(&server, Op::CreateDeployment), 1, "{fault:?}");
        let uploads: Vec<String> = server
            .requests()
            .into_iter()
            .filter(|r| r.op == Some(Op::Upload))
            .map(|r| r.request.target)
            .collect();
        assert_eq!(uploads.len(), 2, "{fault:?}");
        assert_eq!(uploads[0], uploads[1], "the same URL, reused");
        assert_eq!(calls(&server, Op::StartDeployment), 1);
        assert!(
            run.stderr.contains("attempt 1 of 8 failed: upload"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn an_expired_upload_url_fails_and_the_created_job_is_stopped_not_left_stuck() {
    let server = Server::start(Config {
        upload_ttl_secs: 0,
        ..Config::default()
    });
    let gh = deploying(&server, "dist");
    site(&gh.workspace().join("dist"));
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("upload failed: AccessDenied (HTTP 403): Request has expired"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("presigned upload URL was refused"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::StartDeployment), 0);
    assert_eq!(calls(&server, Op::StopJob), 1);
    assert_eq!(server.jobs()[0].status, "CANCELLED");
}

#[test]
fn a_lost_create_deployment_answer_stops_the_stuck_job_and_deploys_once() {
    let server = Server::start(Config::default());
    server.push_faults(Op::CreateDeployment, [Fault::ApplyThenReset]);
    let gh = deploying(&server, "dist");
    site(&gh.workspace().join("dist"));
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls(&server, Op::CreateDeployment), 2);
    assert_eq!(calls(&server, Op::ListJobs), 1);
    assert_eq!(calls(&server, Op::StopJob), 1);
    assert_eq!(calls(&server, Op::StartDeployment), 1);
    let jobs = server.jobs();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].status, "CANCELLED", "the stuck one is stopped");
    assert_eq!(jobs[1].status, "PENDING", "one deployment started");
    assert_eq!(parse_outputs(&gh.output())["job-id"], "2");
}

#[test]
fn a_lost_start_deployment_answer_is_repeated_and_never_makes_a_second_job() {
    let server = Server::start(Config::default());
    server.push_faults(Op::StartDeployment, [Fault::ApplyThenReset]);
    let gh = deploying(&server, "dist");
    site(&gh.workspace().join("dist"));
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The repeat names the same job: refused as started, which is the lost answer's success.
    assert_eq!(calls(&server, Op::StartDeployment), 2, "{}", run.stderr);
    assert_eq!(calls(&server, Op::GetJob), 1);
    assert_eq!(server.jobs().len(), 1);
    assert!(
        run.stderr
            .contains("job 1 started: the lost StartDeployment answer was a success"),
        "{}",
        run.stderr
    );
    assert_eq!(parse_outputs(&gh.output())["job-id"], "1");
}

#[test]
fn amplify_refusals_say_what_to_do() {
    let server = Server::start(Config {
        connected_apps: vec!["d1a2b3c4d5e6f7".into()],
        ..Config::default()
    });
    let gh = deploying(&server, "dist");
    site(&gh.workspace().join("dist"));
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("App is already connected a repository"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("this app builds from a Git repository: start a build with job-type RELEASE"),
        "{}",
        run.stderr
    );

    // A started deployment, queued: the next GetJob sees it PROVISIONING.
    let server = Server::start(Config::default());
    server.seed_job_of_type("d1a2b3c4d5e6f7", "main", "MANUAL", "PENDING");
    let mut gh = deploying(&server, "dist");
    gh.set("AWS_ENDPOINT_URL", &server.url())
        .set("AMPLIFY_IF_BUSY", "fail");
    site(&gh.workspace().join("dist"));
    let run = gh.run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "branch main is busy with job 1 (PROVISIONING, commit seeded), and if-busy (AMPLIFY_IF_BUSY) is fail"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("job 1 is PROVISIONING: wait for it to end (if-busy: wait does), or stop it with `aws amplify stop-job --app-id d1a2b3c4d5e6f7 --branch-name main --job-id 1 --region us-east-1`"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&server, Op::CreateDeployment), 1);
}

#[test]
fn a_manual_job_is_waited_for_like_any_other() {
    let server = Server::start(Config::default());
    let mut gh = deploying(&server, "dist");
    gh.set("AMPLIFY_WAIT", "true")
        .set("AMPLIFY_POLL_INTERVAL", "10ms");
    site(&gh.workspace().join("dist"));
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let outputs = parse_outputs(&gh.output());
    assert_eq!(outputs["job-status"], "SUCCEED");
    assert!(outputs.contains_key("step-log-urls"));
}

#[test]
fn the_readme_example_deploys_the_build_output() {
    // README, "Deploy a folder": the workflow builds into dist/, then `source: dist`.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Deploy a folder (apps without Git)")
        .nth(1)
        .expect("the README section");
    assert!(section.contains("source: dist"), "the example deploys dist");
    let server = Server::start(Config::default());
    let gh = deploying(&server, "dist");
    site(&gh.workspace().join("dist"));
    let run = gh.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.uploads()[0].entries, SITE_ENTRIES);
}

#[test]
fn a_signal_during_the_upload_stops_the_created_job_and_removes_the_zip() {
    let server = Server::start(Config::default());
    server.push_faults(Op::Upload, [Fault::Hang]);
    let gh = deploying(&server, "dist");
    site(&gh.workspace().join("dist"));
    let child = gh.spawn();
    wait_for(
        || (calls(&server, Op::Upload) > 0).then_some(()),
        "the upload",
    );
    send_signal(child.id(), "TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert_eq!(calls(&server, Op::StopJob), 1, "{stderr}");
    assert_eq!(server.jobs()[0].status, "CANCELLED");
    assert_eq!(calls(&server, Op::StartDeployment), 0);
    assert!(temp_left(&gh).is_empty(), "{:?}", temp_left(&gh));
}
