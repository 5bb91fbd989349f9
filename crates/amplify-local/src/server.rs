//! The server: it listens (HTTP, or HTTPS with a given certificate), reads each request, has
//! its signature verified and the [`crate::router`] answer it, records it, and writes the answer
//! with a request id and a `Date`, or plays a scripted fault (a reset, a hang, a delay).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::answer::aws_error;
use crate::hosting::branches::BranchRecord;
use crate::hosting::deployments::Upload;
use crate::hosting::jobs;
use crate::http::{self, Request, Response};
use crate::router::{Op, decide, route};
use crate::sigv4;
use crate::state::{Config, Fault, Job, Recorded, State, now};
use crate::tls::Conn;
use serde_json::json;

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

    /// Makes `branch` the app's production branch, as the console's setting does: `GetApp`
    /// names it in `productionBranch`, whatever its stage.
    pub fn set_production_branch(&self, app_id: &str, branch: &str) {
        let mut s = self.state.lock().unwrap();
        s.production_branches.insert(app_id.into(), branch.into());
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

    /// The new AWS Amplify's source uploads, with what each `PUT` sent.
    pub fn gen3_uploads(&self) -> Vec<crate::Gen3Upload> {
        self.state.lock().unwrap().gen3.uploads.clone()
    }

    /// Adds a deployment to the new service's environment, as another run would make it (from
    /// uploads): `QUEUED` ones supersede the older waiting ones from uploads. Returns its id.
    pub fn gen3_seed_deployment(&self, app: &str, env: &str, status: &str) -> String {
        let mut s = self.state.lock().unwrap();
        crate::gen3::deployments::seed(app, env, status, &mut s)
    }

    /// Changes a new-service deployment as AWS might on its own (a test's hand on its status).
    pub fn gen3_update_deployment(
        &self,
        id: &str,
        change: impl FnOnce(&mut crate::Gen3Deployment),
    ) {
        let mut s = self.state.lock().unwrap();
        if let Some(d) = s.gen3.deployments.iter_mut().find(|d| d.id == id) {
            change(d);
        }
    }

    /// Cancels the environment's rollout in progress, as a rollback in the console does: the
    /// environment keeps serving the deployment it served before.
    pub fn gen3_cancel_rollout(&self, app: &str, env: &str) {
        let mut s = self.state.lock().unwrap();
        crate::gen3::aliases::cancel_rollout(app, env, &mut s);
    }

    /// A fork pull request's push to the new service's app: held until its commit is
    /// accepted (`AcceptForkPullRequestDeployment`), then deployed to `preview`.
    pub fn gen3_fork_push(&self, app: &str, pull_request: &str, sha: &str) {
        let mut s = self.state.lock().unwrap();
        crate::gen3::forks::push(app, pull_request, sha, &mut s);
    }

    /// The fork commits accepted so far, as `app/sha`.
    pub fn gen3_forks_accepted(&self) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.gen3
            .forks
            .iter()
            .filter(|f| f.accepted)
            .map(|f| format!("{}/{}", f.app, f.sha))
            .collect()
    }

    /// The new AWS Amplify's deployments, oldest first.
    pub fn gen3_deployments(&self) -> Vec<crate::Gen3Deployment> {
        self.state.lock().unwrap().gen3.deployments.clone()
    }

    /// How many connections clients opened.
    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
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
        state.lock().unwrap().connections += 1;
        let (c, s, tls) = (config.clone(), state.clone(), tls.clone());
        tokio::spawn(async move {
            // A network's round trips before the first byte: TCP's handshake, and TLS's.
            let trips = if tls.is_some() { 2 } else { 1 };
            if !c.latency.is_zero() {
                tokio::time::sleep(c.latency * trips).await;
            }
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
        let between_requests = buf.is_empty();
        let read = http::read_request(&mut stream, &mut buf);
        let read = match config.idle_timeout {
            // A kept-alive connection with no request for this long is closed, as AWS's
            // endpoints close theirs.
            Some(idle) if between_requests => match tokio::time::timeout(idle, read).await {
                Ok(r) => r,
                Err(_) => {
                    let _ = stream.shutdown().await;
                    return;
                }
            },
            _ => read.await,
        };
        let req = match read {
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
        if !config.latency.is_zero() {
            // The request's way in and the answer's way out.
            tokio::time::sleep(config.latency).await;
        }
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

pub(crate) enum Action {
    Respond(Response),
    DelayThenRespond(Duration, Response),
    Reset,
    Hang,
}

fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!(
        "00000000-0000-4000-8000-{:012x}",
        N.fetch_add(1, Ordering::Relaxed)
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
        Ok((Op::Upload | Op::Log | Op::Artifact | Op::Gen3Upload | Op::Site, _)) => {
            Ok(sigv4::Verified {
                access_key_id: String::new(),
                canonical_request: "presigned".into(),
            })
        }
        // Signed for the service the request was routed to; a request for a service this
        // endpoint does not play is verified as Amplify Hosting's, and refused (403).
        Ok((op, _)) => sigv4::verify(req, &keys, &config.region, op.service(), server_now),
        Err(_) => sigv4::verify(
            req,
            &keys,
            &config.region,
            crate::router::HOSTING,
            server_now,
        ),
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
