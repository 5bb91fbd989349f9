//! A local AWS Amplify job API endpoint: `StartJob`, `GetJob`, `ListJobs`, `StopJob`.
//!
//! Faithful to the service model (`amplify-2017-07-25`): it verifies SigV4 with its own
//! canonical-request code, validates inputs against the model's limits, answers errors as
//! rest-json services do (`x-amzn-ErrorType` and a `{"message": ...}` body), runs a job state
//! machine, records every request, and plays scripted faults per operation.

mod artifacts;
mod branches;
mod deployments;
pub mod http;
mod jobs;
mod logs;
mod presign;
pub mod sigv4;
pub mod stub;
mod tls;

pub use branches::{BranchRecord, MAX_BRANCHES};
pub use deployments::{Upload, zip_entries};
pub use jobs::summary;
pub use logs::ERROR_LINE;
pub use tls::server_config as tls_server_config;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::http::{Request, Response};
pub use crate::sigv4::Key;
use crate::tls::Conn;

/// The credentials a default endpoint accepts; the README's demo uses them.
pub const DEMO_ACCESS_KEY_ID: &str = "AKIDLOCALAMPLIFY";
pub const DEMO_SECRET_ACCESS_KEY: &str = "local-secret-not-for-aws";
pub const DEMO_REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    StartJob,
    GetJob,
    ListJobs,
    StopJob,
    CreateDeployment,
    StartDeployment,
    /// The zip's `PUT` to the URL `CreateDeployment` gave (not SigV4-signed: presigned).
    Upload,
    ListArtifacts,
    GetArtifactUrl,
    /// A step log's `GET` from the URL `GetJob` gave (presigned).
    Log,
    /// An artifact's `GET` from the URL `GetArtifactUrl` gave (presigned).
    Artifact,
    GetApp,
    GetBranch,
    ListBranches,
    CreateBranch,
    DeleteBranch,
}

impl Op {
    /// Every operation the router knows, in the order `--help` lists them.
    pub const ALL: [Op; 16] = [
        Op::StartJob,
        Op::GetJob,
        Op::ListJobs,
        Op::StopJob,
        Op::CreateDeployment,
        Op::StartDeployment,
        Op::ListArtifacts,
        Op::GetArtifactUrl,
        Op::GetApp,
        Op::GetBranch,
        Op::ListBranches,
        Op::CreateBranch,
        Op::DeleteBranch,
        Op::Upload,
        Op::Log,
        Op::Artifact,
    ];

    /// The API operation's name; `None` for the presigned URLs it serves (the upload, logs and
    /// artifacts), which are S3's, not Amplify's.
    pub fn api_name(self) -> Option<&'static str> {
        Some(match self {
            Op::StartJob => "StartJob",
            Op::GetJob => "GetJob",
            Op::ListJobs => "ListJobs",
            Op::StopJob => "StopJob",
            Op::CreateDeployment => "CreateDeployment",
            Op::StartDeployment => "StartDeployment",
            Op::ListArtifacts => "ListArtifacts",
            Op::GetArtifactUrl => "GetArtifactUrl",
            Op::GetApp => "GetApp",
            Op::GetBranch => "GetBranch",
            Op::ListBranches => "ListBranches",
            Op::CreateBranch => "CreateBranch",
            Op::DeleteBranch => "DeleteBranch",
            Op::Upload | Op::Log | Op::Artifact => return None,
        })
    }
}

/// The API operations served, as `--help` lists them.
pub fn operations() -> Vec<&'static str> {
    Op::ALL.iter().filter_map(|op| op.api_name()).collect()
}

/// A scripted misbehaviour for one call of an operation.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status, error type and body instead of doing the work.
    Answer {
        status: u16,
        error_type: Option<String>,
        content_type: String,
        body: String,
        retry_after: Option<String>,
    },
    /// Reset the connection (RST) after reading the request, without applying it.
    Reset,
    /// Apply the request (a job is created), then reset the connection: the client cannot
    /// know whether it worked.
    ApplyThenReset,
    /// Wait, then answer normally.
    Delay(Duration),
    /// Never answer.
    Hang,
    /// Apply the request (a job is created), then never answer.
    ApplyThenHang,
    /// Apply the request, then answer 200 with the first half of the body, as a proxy or a
    /// dropped connection may leave it.
    ApplyThenCutOff,
}

impl Fault {
    pub fn error(status: u16, error_type: &str, message: &str) -> Fault {
        Fault::Answer {
            status,
            error_type: Some(error_type.to_string()),
            content_type: "application/json".into(),
            body: json!({ "message": message }).to_string(),
            retry_after: None,
        }
    }

    pub fn throttle() -> Fault {
        Fault::error(429, "LimitExceededException", "Rate exceeded")
    }

    pub fn internal() -> Fault {
        Fault::error(
            500,
            "InternalFailureException",
            "An internal failure occurred",
        )
    }

    /// What a load balancer in front of a service says when it has no healthy target.
    pub fn html_503() -> Fault {
        Fault::Answer {
            status: 503,
            error_type: None,
            content_type: "text/html".into(),
            body: "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>".into(),
            retry_after: None,
        }
    }

    pub fn with_retry_after(self, value: &str) -> Fault {
        match self {
            Fault::Answer {
                status,
                error_type,
                content_type,
                body,
                ..
            } => Fault::Answer {
                status,
                error_type,
                content_type,
                body,
                retry_after: Some(value.to_string()),
            },
            other => other,
        }
    }
}

#[derive(Clone)]
pub struct Config {
    pub region: String,
    pub keys: Vec<Key>,
    /// Apps and their branches; empty means every well-formed app id and branch exists.
    pub apps: Vec<(String, Vec<String>)>,
    /// The status a job ends in.
    pub outcome: String,
    /// Seconds the endpoint's clock runs ahead of the machine's (negative: behind), to
    /// play a client whose clock is wrong.
    pub clock_offset_secs: i64,
    /// Keys issued elsewhere (by an STS the test runs), looked up by access key ID.
    pub key_source: Option<KeySource>,
    /// Apps connected to a Git repository: they refuse manual deployments.
    pub connected_apps: Vec<String>,
    /// How long an upload URL works.
    pub upload_ttl_secs: u64,
    /// Only branches created (`CreateBranch`) or seeded exist; otherwise every well-formed
    /// branch does, as a production branch.
    pub strict_branches: bool,
    /// After `DeleteBranch`, the branch is "being deleted" for this many `CreateBranch` calls.
    pub deleting_creates: u32,
    /// The `statusReason` of a failed or cancelled step (default: a generic one).
    pub step_reason: Option<String>,
    /// StartJob's quota as a token bucket: (requests per second, burst). Beyond it StartJob
    /// answers 429 `LimitExceededException`, as AWS does.
    pub start_job_rate: Option<(f64, f64)>,
    /// Friendlier than AWS, for load benchmarks only: a branch may have several unfinished
    /// jobs, so StartJob is never refused as busy.
    pub concurrent_jobs: bool,
    /// Lines of build output in each step's log (before a failed step's error).
    pub log_lines: usize,
    /// The whole log of the step that fails, instead of the generated one.
    pub log_content: Option<String>,
    /// How long a log or artifact URL works (AWS presigns them for hours).
    pub log_ttl_secs: u64,
    /// Every job's artifacts: file name and bytes.
    pub artifacts: Vec<(String, Vec<u8>)>,
    /// Each status of a job lasts at least this long (0: one status per GetJob, as fast as a
    /// test polls), so a pipeline test can have builds that take time.
    pub step_secs: f64,
}

pub type KeySource = Arc<dyn Fn(&str) -> Option<Key> + Send + Sync>;

impl Default for Config {
    fn default() -> Self {
        Config {
            region: DEMO_REGION.into(),
            keys: vec![Key {
                access_key_id: DEMO_ACCESS_KEY_ID.into(),
                secret_access_key: DEMO_SECRET_ACCESS_KEY.into(),
                session_token: None,
            }],
            apps: Vec::new(),
            outcome: "SUCCEED".into(),
            clock_offset_secs: 0,
            key_source: None,
            connected_apps: Vec::new(),
            // AWS's presigned upload URLs work for 3 hours.
            upload_ttl_secs: 3 * 3600,
            strict_branches: false,
            deleting_creates: 0,
            step_reason: None,
            start_job_rate: None,
            concurrent_jobs: false,
            log_lines: 40,
            log_content: None,
            log_ttl_secs: 3 * 3600,
            artifacts: Vec::new(),
            step_secs: 0.0,
        }
    }
}

/// One request as it reached the endpoint, and what became of it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub request: Request,
    pub op: Option<Op>,
    /// `Ok(canonical request)` when the signature verified, else the AWS error code.
    pub signature: Result<String, String>,
    /// The status answered; `None` for a reset or a hang.
    pub status: Option<u16>,
    /// When it arrived, in seconds since the epoch (the machine's clock).
    pub at: f64,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub app_id: String,
    pub branch: String,
    pub id: u64,
    pub job_type: String,
    pub job_reason: Option<String>,
    pub commit_id: String,
    pub commit_message: String,
    pub commit_time: f64,
    pub start_time: f64,
    pub end_time: Option<f64>,
    pub status: String,
    /// False for a deployment `CreateDeployment` made and `StartDeployment` has not started:
    /// AWS shows it `PENDING` all the same.
    pub started: bool,
    /// When it left `PENDING` (its steps' start), once it has.
    pub run_start: Option<f64>,
    /// Statuses still ahead; each `GetJob` moves one step (tests may script them).
    pub pending: VecDeque<String>,
    /// When the status last changed (epoch seconds), for `Config::step_secs`.
    pub changed_at: f64,
}

#[derive(Default)]
pub(crate) struct State {
    requests: Vec<Recorded>,
    jobs: Vec<Job>,
    next_id: HashMap<(String, String), u64>,
    faults: HashMap<Op, VecDeque<Fault>>,
    always: HashMap<Op, Fault>,
    /// The `nextToken`s ListJobs issued: app, branch and the offset each resumes at.
    tokens: HashMap<String, (String, String, usize)>,
    /// Upload URLs `CreateDeployment` gave, by token.
    /// What each presigned URL handed out grants (uploads, logs, artifacts), by token.
    pub(crate) presigned: HashMap<String, presign::Grant>,
    pub(crate) uploads: Vec<Upload>,
    pub(crate) branches: Vec<BranchRecord>,
    /// Branches added when a request of the operation arrives (see `Server::seed_branch_on`).
    branch_hooks: Vec<(Op, BranchRecord)>,
    /// Jobs "the webhook" starts: app, branch, commit, and how many more `ListJobs` calls of
    /// the branch pass before the job appears.
    webhooks: Vec<(String, String, String, u32)>,
    /// StartJob's token bucket: tokens left, and when it was last filled.
    bucket: Option<(f64, f64)>,
    /// This server's own URL, for the upload URLs it hands out.
    pub(crate) base_url: String,
}

pub struct Server {
    addr: SocketAddr,
    scheme: &'static str,
    config: Arc<Config>,
    state: Arc<Mutex<State>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// Binds 127.0.0.1 on an ephemeral port and serves on a thread of its own. Returns once
    /// the socket is listening, so callers never wait on a timer.
    pub fn start(config: Config) -> Server {
        Self::start_on(config, 0).expect("bind 127.0.0.1")
    }

    pub fn start_on(config: Config, port: u16) -> std::io::Result<Server> {
        Self::start_at(config, std::net::IpAddr::from([127, 0, 0, 1]), port)
    }

    /// Listens on `ip` (the demo and tests use loopback only).
    pub fn start_at(config: Config, ip: std::net::IpAddr, port: u16) -> std::io::Result<Server> {
        Self::start_with(config, ip, port, None)
    }

    /// Listens on `ip`, speaking HTTPS when `tls` is given (see [`tls_server_config`]).
    pub fn start_with(
        config: Config,
        ip: std::net::IpAddr,
        port: u16,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<Server> {
        let config = Arc::new(config);
        let std_listener = std::net::TcpListener::bind((ip, port))?;
        let addr = std_listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let state = Arc::new(Mutex::new(State {
            base_url: format!("{scheme}://{addr}"),
            ..State::default()
        }));
        let (cfg, st) = (config.clone(), state.clone());
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let tx = http::serve_on_thread(std_listener, move |listener| {
            accept_loop(listener, acceptor, cfg, st)
        });
        Ok(Server {
            addr,
            scheme,
            config,
            state,
            shutdown: Some(tx),
        })
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Has "the webhook" start a `WEB_HOOK` job for `commit` once `after_lookups` more
    /// `ListJobs` calls of the branch have been answered (0: at the next one): the lag between
    /// a push and its build.
    pub fn webhook_job(&self, app_id: &str, branch: &str, commit: &str, after_lookups: u32) {
        self.state.lock().unwrap().webhooks.push((
            app_id.into(),
            branch.into(),
            commit.into(),
            after_lookups,
        ));
    }

    /// Add a job of `job_type` in `status` for `commit`.
    pub fn seed_job_for(
        &self,
        app_id: &str,
        branch: &str,
        job_type: &str,
        status: &str,
        commit: &str,
    ) -> u64 {
        let id = self.seed_job_of_type(app_id, branch, job_type, status);
        let mut s = self.state.lock().unwrap();
        if let Some(j) = s
            .jobs
            .iter_mut()
            .find(|j| j.id == id && j.app_id == app_id && j.branch == branch)
        {
            j.commit_id = commit.into();
        }
        id
    }

    /// Adds `branch` when the next `op` request arrives, before it is answered: another run's
    /// branch, made in the moment between this run's look and its own create.
    pub fn seed_branch_on(&self, op: Op, branch: BranchRecord) {
        self.state.lock().unwrap().branch_hooks.push((op, branch));
    }

    /// Add a branch, e.g. one with a stage to delete or keep.
    pub fn seed_branch(&self, branch: BranchRecord) {
        self.state.lock().unwrap().branches.push(branch);
    }

    /// The branches created or seeded (not the implicit ones), in order.
    pub fn branches(&self) -> Vec<BranchRecord> {
        self.state.lock().unwrap().branches.clone()
    }

    /// Every archive uploaded so far (the last one per job), in order.
    pub fn uploads(&self) -> Vec<Upload> {
        self.state.lock().unwrap().uploads.clone()
    }

    pub fn jobs(&self) -> Vec<Job> {
        self.state.lock().unwrap().jobs.clone()
    }

    /// Queue faults for the next calls of `op`, in order.
    pub fn push_faults(&self, op: Op, faults: impl IntoIterator<Item = Fault>) {
        let mut s = self.state.lock().unwrap();
        s.faults.entry(op).or_default().extend(faults);
    }

    /// Answer every call of `op` with `fault` (after the queued ones are used up).
    pub fn always(&self, op: Op, fault: Fault) {
        self.state.lock().unwrap().always.insert(op, fault);
    }

    /// Changes a job as a test needs it (its start time, the statuses it goes through).
    pub fn update_job(&self, app_id: &str, branch: &str, id: u64, change: impl FnOnce(&mut Job)) {
        let mut s = self.state.lock().unwrap();
        if let Some(j) = s
            .jobs
            .iter_mut()
            .find(|j| j.id == id && j.app_id == app_id && j.branch == branch)
        {
            change(j);
        }
    }

    /// Add a deployment `CreateDeployment` made and nothing started: `PENDING` for ever, as a
    /// run that died between CreateDeployment and StartDeployment leaves it on AWS.
    pub fn seed_deployment(&self, app_id: &str, branch: &str) -> u64 {
        let id = self.seed_job_of_type(app_id, branch, "MANUAL", "PENDING");
        let mut s = self.state.lock().unwrap();
        if let Some(j) = s
            .jobs
            .iter_mut()
            .find(|j| j.id == id && j.app_id == app_id && j.branch == branch)
        {
            j.started = false;
            j.pending.clear();
            j.commit_id = String::new();
        }
        id
    }

    /// Add a job directly, e.g. one to retry.
    pub fn seed_job(&self, app_id: &str, branch: &str, status: &str) -> u64 {
        self.seed_job_of_type(app_id, branch, "RELEASE", status)
    }

    /// Add a job of `job_type` (`MANUAL`: a deployment) in `status`.
    pub fn seed_job_of_type(
        &self,
        app_id: &str,
        branch: &str,
        job_type: &str,
        status: &str,
    ) -> u64 {
        let mut s = self.state.lock().unwrap();
        let mut job = jobs::new_job(
            &mut s,
            &self.config,
            app_id,
            branch,
            &json!({"jobType": job_type, "commitId": "seeded"}),
        );
        // An unfinished job goes on from its status as any other does (one step per GetJob).
        job.status = status.to_string();
        job.pending = jobs::ahead_of(status, &self.config);
        if status != "PENDING" && status != "CREATED" {
            job.run_start = Some(job.start_time);
        }
        if !jobs::unfinished(status) {
            job.end_time = Some(job.start_time);
        }
        jobs::replace(&mut s, &job);
        job.id
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    config: Arc<Config>,
    state: Arc<Mutex<State>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Each answer and each handshake flight goes out at once, as from a real endpoint.
        let _ = stream.set_nodelay(true);
        let (c, s, tls) = (config.clone(), state.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, c, s).await,
                Some(acceptor) => {
                    // A failed handshake (an untrusted certificate, say) is the client's to report.
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve_connection(stream, c, s).await
                    }
                }
            }
        });
    }
}

async fn serve_connection<S: Conn>(mut stream: S, config: Arc<Config>, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    loop {
        let req = match http::read_request(&mut stream, &mut buf).await {
            Ok(Some(req)) => req,
            Ok(None) | Err(http::ReadError::Io(_)) => return,
            Err(http::ReadError::TooLarge(n)) => {
                // Answered before the body is read, then the connection is closed.
                let resp = aws_error(
                    413,
                    "PayloadTooLargeException",
                    &format!(
                        "Request body of {n} bytes is larger than the {} bytes accepted",
                        http::MAX_BODY
                    ),
                )
                .header("Connection", "close");
                let _ = http::write_response(&mut stream, &with_request_id(resp)).await;
                let _ = stream.shutdown().await;
                return;
            }
        };
        let close = req
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let action = handle(&req, &config, &state);
        match action {
            Action::Respond(resp) => {
                if http::write_response(&mut stream, &resp).await.is_err() {
                    return;
                }
            }
            Action::DelayThenRespond(d, resp) => {
                tokio::time::sleep(d).await;
                if http::write_response(&mut stream, &resp).await.is_err() {
                    return;
                }
            }
            Action::Reset => {
                stream.reset();
                return;
            }
            Action::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
        }
        if close {
            // A TLS close_notify, then FIN.
            let _ = stream.shutdown().await;
            return;
        }
    }
}

enum Action {
    Respond(Response),
    DelayThenRespond(Duration, Response),
    Reset,
    Hang,
}

pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as f64 / 1000.0)
        .unwrap_or(0.0)
}

fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!(
        "00000000-0000-4000-8000-{:012x}",
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A request body that must be a JSON object, or the `SerializationException` AWS answers.
pub(crate) fn json_object(body: &[u8]) -> Result<Value, Response> {
    match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(aws_error(
            400,
            "SerializationException",
            "Request body is not a JSON object",
        )),
    }
}

/// An error answered the way AWS rest-json services answer it.
pub fn aws_error(status: u16, code: &str, message: &str) -> Response {
    Response::json(status, &json!({ "message": message })).header(
        "x-amzn-ErrorType",
        format!("{code}:http://internal.amazon.com/coral/com.amazonaws.amplify/"),
    )
}

/// Every answer carries a request id, as AWS's do: success, error or scripted fault.
fn with_request_id(resp: Response) -> Response {
    if resp
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("x-amzn-RequestId"))
    {
        return resp;
    }
    resp.header("x-amzn-RequestId", request_id())
}

fn handle(req: &Request, config: &Config, state: &Mutex<State>) -> Action {
    let route = route(req);
    let server_now = now() as i64 + config.clock_offset_secs;
    let mut keys = config.keys.clone();
    if let (Some(source), Some(id)) = (&config.key_source, sigv4::access_key_id(req)) {
        keys.extend(source(id));
    }
    // An upload URL is presigned: it carries no SigV4 header to verify.
    let signature = match &route {
        Ok((Op::Upload | Op::Log | Op::Artifact, _)) => Ok(sigv4::Verified {
            access_key_id: String::new(),
            canonical_request: "presigned".into(),
        }),
        _ => sigv4::verify(req, &keys, &config.region, "amplify", server_now),
    };
    let mut s = state.lock().unwrap();
    s.requests.push(Recorded {
        request: req.clone(),
        op: route.as_ref().ok().map(|r| r.0),
        signature: signature
            .as_ref()
            .map(|v| v.canonical_request.clone())
            .map_err(|r| r.code.to_string()),
        status: None,
        at: now(),
    });
    let idx = s.requests.len() - 1;
    let mut action = decide(req, route, signature, config, &mut s);
    if let Action::Respond(r) | Action::DelayThenRespond(_, r) = &mut action {
        s.requests[idx].status = Some(r.status);
        *r = with_request_id(std::mem::replace(r, Response::new(0, "", "")))
            .header("Date", sigv4::http_date(server_now));
    }
    action
}

fn decide(
    req: &Request,
    route: Result<(Op, Vec<String>), Response>,
    signature: Result<sigv4::Verified, sigv4::Rejection>,
    config: &Config,
    s: &mut State,
) -> Action {
    if let Err(r) = signature {
        let status = if r.code == "MissingAuthenticationTokenException" {
            403
        } else if r.code == "IncompleteSignatureException" {
            400
        } else {
            403
        };
        return Action::Respond(aws_error(status, r.code, &r.message));
    }
    let (op, params) = match route {
        Ok(r) => r,
        Err(resp) => return Action::Respond(resp),
    };
    let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut s.branch_hooks)
        .into_iter()
        .partition(|(o, _)| *o == op);
    s.branch_hooks = later;
    s.branches.extend(due.into_iter().map(|(_, b)| b));
    if op == Op::StartJob && !take_token(config, s) {
        return Action::Respond(aws_error(429, "LimitExceededException", "Rate exceeded"));
    }
    let fault = s
        .faults
        .get_mut(&op)
        .and_then(|q| q.pop_front())
        .or_else(|| s.always.get(&op).cloned());
    match fault {
        None => Action::Respond(apply(op, &params, req, config, s)),
        Some(Fault::Answer {
            status,
            error_type,
            content_type,
            body,
            retry_after,
        }) => {
            let mut resp = Response::new(status, &content_type, body);
            if let Some(t) = error_type {
                resp = resp.header(
                    "x-amzn-ErrorType",
                    format!("{t}:http://internal.amazon.com/coral/com.amazonaws.amplify/"),
                );
            }
            if let Some(ra) = retry_after {
                resp = resp.header("Retry-After", ra);
            }
            Action::Respond(resp)
        }
        Some(Fault::Reset) => Action::Reset,
        Some(Fault::ApplyThenReset) => {
            apply(op, &params, req, config, s);
            Action::Reset
        }
        Some(Fault::Delay(d)) => Action::DelayThenRespond(d, apply(op, &params, req, config, s)),
        Some(Fault::Hang) => Action::Hang,
        Some(Fault::ApplyThenCutOff) => {
            let mut resp = apply(op, &params, req, config, s);
            resp.body.truncate(resp.body.len() / 2);
            Action::Respond(resp)
        }
        Some(Fault::ApplyThenHang) => {
            apply(op, &params, req, config, s);
            Action::Hang
        }
    }
}

/// A StartJob token from the bucket, when `Config::start_job_rate` sets one.
fn take_token(config: &Config, s: &mut State) -> bool {
    let Some((rate, burst)) = config.start_job_rate else {
        return true;
    };
    let t = now();
    let (tokens, last) = s.bucket.unwrap_or((burst, t));
    let tokens = (tokens + (t - last) * rate).min(burst);
    let (left, ok) = if tokens >= 1.0 {
        (tokens - 1.0, true)
    } else {
        (tokens, false)
    };
    s.bucket = Some((left, t));
    ok
}

/// Maps method and path to an operation and its decoded path labels. Every operation it
/// answers is in [`Op::ALL`] (a test routes one request of each).
fn route(req: &Request) -> Result<(Op, Vec<String>), Response> {
    let segs: Vec<String> = req
        .raw_path()
        .split('/')
        .skip(1)
        .map(sigv4::percent_decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let op = match (req.method.as_str(), s.as_slice()) {
        ("POST", ["apps", _, "branches", _, "jobs"]) => Op::StartJob,
        ("GET", ["apps", _, "branches", _, "jobs"]) => Op::ListJobs,
        ("GET", ["apps", _, "branches", _, "jobs", _]) => Op::GetJob,
        ("DELETE", ["apps", _, "branches", _, "jobs", _, "stop"]) => Op::StopJob,
        ("GET", ["apps", app]) => return Ok((Op::GetApp, vec![app.to_string()])),
        ("POST", ["apps", app, "branches"]) => {
            return Ok((Op::CreateBranch, vec![app.to_string()]));
        }
        ("GET", ["apps", app, "branches"]) => {
            return Ok((Op::ListBranches, vec![app.to_string()]));
        }
        ("GET", ["apps", _, "branches", _]) => Op::GetBranch,
        ("DELETE", ["apps", _, "branches", _]) => Op::DeleteBranch,
        ("POST", ["apps", _, "branches", _, "deployments"]) => Op::CreateDeployment,
        ("POST", ["apps", _, "branches", _, "deployments", "start"]) => Op::StartDeployment,
        (_, ["_upload", token]) => return Ok((Op::Upload, vec![token.to_string()])),
        (_, ["_logs", token]) => return Ok((Op::Log, vec![token.to_string()])),
        (_, ["_artifacts", token]) => return Ok((Op::Artifact, vec![token.to_string()])),
        ("GET", ["artifacts", id]) => return Ok((Op::GetArtifactUrl, vec![id.to_string()])),
        ("GET", ["apps", _, "branches", _, "jobs", _, "artifacts"]) => Op::ListArtifacts,
        _ => {
            return Err(aws_error(
                404,
                "UnknownOperationException",
                &format!("No operation matches {} {}", req.method, req.raw_path()),
            ));
        }
    };
    let mut labels = vec![segs[1].clone(), segs[3].clone()];
    if matches!(op, Op::GetJob | Op::StopJob | Op::ListArtifacts) {
        labels.push(segs[5].clone());
    }
    Ok((op, labels))
}

/// The page size when `maxResults` is absent or 0.
pub(crate) const DEFAULT_PAGE: usize = 50;

/// A list operation's `maxResults` (0 to 50, as the model says; 0 and absent give 50, so a token
/// always advances) and `nextToken`, as the query carries them.
pub(crate) fn paging(req: &Request) -> Result<(usize, Option<String>), Response> {
    let (mut max, mut token) = (DEFAULT_PAGE, None);
    for pair in req.raw_query().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = sigv4::percent_decode(v);
        match k {
            "maxResults" => match v.parse::<usize>() {
                Ok(0) => max = DEFAULT_PAGE,
                Ok(n) if n <= 50 => max = n,
                _ => {
                    return Err(constraint(
                        &v,
                        "maxResults",
                        "Member must have value less than or equal to 50",
                    ));
                }
            },
            "nextToken" => token = Some(v),
            _ => {}
        }
    }
    Ok((max, token))
}

/// The offset a `nextToken` of the form `<prefix>-<offset>` resumes at.
pub(crate) fn offset_token(token: Option<&str>, prefix: &str) -> Result<usize, Response> {
    match token {
        None => Ok(0),
        Some(t) => t
            .strip_prefix(prefix)
            .and_then(|n| n.strip_prefix('-'))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad_request(format!("Invalid nextToken: {t}"))),
    }
}

pub(crate) fn bad_request(msg: String) -> Response {
    aws_error(400, "BadRequestException", &msg)
}

pub(crate) fn constraint(value: &str, member: &str, what: &str) -> Response {
    bad_request(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {what}"
    ))
}

fn validate_app(app: &str, config: &Config) -> Result<(), Response> {
    let ok = (1..=20).contains(&app.len())
        && app.starts_with('d')
        && app.len() > 1
        && app[1..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok {
        return Err(constraint(
            app,
            "appId",
            "Member must satisfy regular expression pattern: d[a-z0-9]+",
        ));
    }
    if !config.apps.is_empty() && !config.apps.iter().any(|(a, _)| a == app) {
        return Err(aws_error(
            404,
            "NotFoundException",
            &format!("App {app} not found."),
        ));
    }
    Ok(())
}

fn validate_app_branch(app: &str, branch: &str, config: &Config) -> Result<(), Response> {
    validate_app(app, config)?;
    let n = branch.chars().count();
    if !(1..=255).contains(&n) {
        return Err(constraint(
            branch,
            "branchName",
            "Member must have length between 1 and 255",
        ));
    }
    if let Some((_, branches)) = config.apps.iter().find(|(a, _)| a == app) {
        if !branches.iter().any(|b| b == branch) {
            return Err(aws_error(
                404,
                "NotFoundException",
                &format!("Branch {branch} not found."),
            ));
        }
    }
    Ok(())
}

fn apply(op: Op, params: &[String], req: &Request, config: &Config, s: &mut State) -> Response {
    match op {
        Op::Upload => return deployments::upload(&params[0], req, s),
        Op::Log => return logs::serve(&params[0], &req.method, config, s),
        Op::Artifact => return artifacts::serve(&params[0], &req.method, config, s),
        Op::GetArtifactUrl => return artifacts::get_url(&params[0], config, s),
        _ => {}
    }
    if matches!(op, Op::GetApp | Op::CreateBranch | Op::ListBranches) {
        let app = &params[0];
        if let Err(resp) = validate_app(app, config) {
            return resp;
        }
        return match op {
            Op::GetApp => branches::get_app(app, config),
            Op::ListBranches => branches::list_branches(app, req, config, s),
            _ => branches::create_branch(app, req, config, s),
        };
    }
    let (app, branch) = (&params[0], &params[1]);
    if let Err(resp) = validate_app_branch(app, branch, config) {
        return resp;
    }
    if !branches::exists(app, branch, config, s) && op != Op::GetBranch {
        return aws_error(
            404,
            "NotFoundException",
            &format!("Branch {branch} not found."),
        );
    }
    match op {
        Op::GetBranch => branches::get_branch(app, branch, config, s),
        Op::DeleteBranch => branches::delete_branch(app, branch, config, s),
        Op::GetApp | Op::CreateBranch | Op::ListBranches => unreachable!("answered above"),
        Op::StartJob => jobs::start_job(app, branch, req, config, s),
        Op::CreateDeployment => deployments::create(app, branch, req, config, s),
        Op::StartDeployment => deployments::start(app, branch, req, config, s),
        Op::Upload | Op::Log | Op::Artifact | Op::GetArtifactUrl => {
            unreachable!("answered above")
        }
        Op::ListArtifacts => artifacts::list(app, branch, &params[2], req, config, s),
        Op::ListJobs => jobs::list_jobs(app, branch, req, config, s),
        Op::GetJob => jobs::get_job(app, branch, &params[2], config, s),
        Op::StopJob => jobs::stop_job(app, branch, &params[2], config, s),
    }
}

/// An opaque token: the n-th one issued, scrambled so clients cannot guess offsets.
pub(crate) fn scramble(n: usize) -> u64 {
    (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod router_tests {
    use super::*;

    /// One request of each operation. The match is exhaustive and numbers each operation, so
    /// a new one needs a sample here and a place in [`Op::ALL`].
    fn sample(op: Op) -> (usize, &'static str, String) {
        let p = "/apps/d1a2b3c4d5e6f7/branches/main";
        match op {
            Op::StartJob => (0, "POST", format!("{p}/jobs")),
            Op::GetJob => (1, "GET", format!("{p}/jobs/1")),
            Op::ListJobs => (2, "GET", format!("{p}/jobs")),
            Op::StopJob => (3, "DELETE", format!("{p}/jobs/1/stop")),
            Op::CreateDeployment => (4, "POST", format!("{p}/deployments")),
            Op::StartDeployment => (5, "POST", format!("{p}/deployments/start")),
            Op::ListArtifacts => (6, "GET", format!("{p}/jobs/1/artifacts")),
            Op::GetArtifactUrl => (7, "GET", "/artifacts/a1".into()),
            Op::GetApp => (8, "GET", "/apps/d1a2b3c4d5e6f7".into()),
            Op::GetBranch => (9, "GET", p.into()),
            Op::ListBranches => (10, "GET", "/apps/d1a2b3c4d5e6f7/branches".into()),
            Op::CreateBranch => (11, "POST", "/apps/d1a2b3c4d5e6f7/branches".into()),
            Op::DeleteBranch => (12, "DELETE", p.into()),
            Op::Upload => (13, "PUT", "/_upload/t".into()),
            Op::Log => (14, "GET", "/_logs/t".into()),
            Op::Artifact => (15, "GET", "/_artifacts/t".into()),
        }
    }

    #[test]
    fn every_operation_is_listed_once_and_routed() {
        let numbers: Vec<usize> = Op::ALL.iter().map(|op| sample(*op).0).collect();
        let mut sorted = numbers.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted,
            (0..Op::ALL.len()).collect::<Vec<_>>(),
            "{numbers:?}"
        );
        for op in Op::ALL {
            let (_, method, path) = sample(op);
            let req = Request {
                method: method.into(),
                target: path.clone(),
                headers: Vec::new(),
                body: Vec::new(),
            };
            assert_eq!(
                route(&req).ok().map(|(o, _)| o),
                Some(op),
                "{method} {path}"
            );
        }
        assert_eq!(operations().len(), 13);
    }
}
