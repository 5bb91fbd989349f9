//! What the endpoint holds and how it is set up: the configuration, the requests it recorded,
//! the jobs, branches and presigned grants of every resource, and the scripted faults.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::hosting::branches::BranchRecord;
use crate::hosting::deployments::Upload;
use crate::http::Request;
use crate::presign;
use crate::router::Op;
use crate::sigv4::Key;
use crate::{DEMO_ACCESS_KEY_ID, DEMO_REGION, DEMO_SECRET_ACCESS_KEY};

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

    /// `--gen3-fault OPERATION=STATUS[:SECONDS]`: the new service's operation (by its API
    /// name) and the error it answers next, as its model shapes it: 402
    /// `ServiceQuotaExceededException` with a quota code, 429 `ThrottlingException` and 500
    /// `InternalServerException` with `Retry-After` (SECONDS, default 1), 409
    /// `RoleNotAssumableException`; `reset`: done, then the connection reset (a lost answer).
    pub fn gen3_flag(spec: &str) -> Option<(Op, Fault)> {
        let (name, answer) = spec.split_once('=')?;
        let op = Op::ALL
            .into_iter()
            .find(|op| op.service() == crate::GEN3 && op.api_name() == Some(name))?;
        if answer == "reset" {
            return Some((op, Fault::ApplyThenReset));
        }
        let (status, seconds) = match answer.split_once(':') {
            Some((status, seconds)) => (status, Some(seconds.parse::<u32>().ok()?)),
            None => (answer, None),
        };
        let fault = match status {
            "402" if seconds.is_none() => Fault::Answer {
                status: 402,
                error_type: Some("ServiceQuotaExceededException".into()),
                content_type: "application/json".into(),
                body: json!({
                    "message": "The request would exceed a service quota for your account.",
                    "quotaCode": "L-GEN3DEP",
                    "serviceCode": "amplifygen3",
                })
                .to_string(),
                retry_after: None,
            },
            "409" if seconds.is_none() => Fault::error(
                409,
                "RoleNotAssumableException",
                "The specified IAM role cannot be assumed.",
            ),
            "429" => Fault::error(429, "ThrottlingException", "Rate exceeded")
                .with_retry_after(&seconds.unwrap_or(1).to_string()),
            "500" => Fault::error(
                500,
                "InternalServerException",
                "An internal error occurred.",
            )
            .with_retry_after(&seconds.unwrap_or(1).to_string()),
            _ => return None,
        };
        Some((op, fault))
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
    /// A network's round trip, played: each answer goes out this long after its request
    /// arrived, and a new connection's first byte waits one round trip (plain HTTP: TCP's
    /// handshake) or two (HTTPS: TCP's and TLS's). Zero: loopback as it is.
    pub latency: Duration,
    /// A kept-alive connection idle this long is closed by the endpoint.
    pub idle_timeout: Option<Duration>,
    /// The new AWS Amplify's apps (`--gen3-app`); empty means every well-formed name exists,
    /// connected to a repository, with `preview` and `production`.
    pub gen3_apps: Vec<crate::gen3::apps::Gen3App>,
    /// The `StatusReasonCode` of a failed deployment (`--outcome FAILED`; default
    /// `BUILD_FAILED`).
    pub gen3_fail_reason: Option<String>,
    /// The `CommitId` a Git deployment reports (default: one derived from the ref).
    pub gen3_commit: Option<String>,
    /// How long each stage of a gradual rollout lasts (0: one stage per read of the alias).
    pub rollout_stage_secs: f64,
    /// The one form of `CreateSourceUpload`'s digest taken: `base64` (S3's checksum form, the
    /// default), `hex`, `sha256` (`sha256:<hex>`), or `none` to refuse them all.
    pub gen3_digest_form: String,
    /// A RELEASE build checks out this commit, not the one sent: the branch moved on between
    /// the trigger and the clone.
    pub moved_tip: Option<String>,
    /// Build logs name the commit they check out (`# Switching to commit:`); off, they name
    /// none, as a log this tool cannot read a commit from.
    pub log_names_commit: bool,
    /// A site answers 404 until this long after the build that serves it ended.
    pub site_down_secs: f64,
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
            latency: Duration::ZERO,
            idle_timeout: None,
            gen3_apps: Vec::new(),
            gen3_fail_reason: None,
            gen3_commit: None,
            rollout_stage_secs: 0.0,
            gen3_digest_form: "base64".into(),
            moved_tip: None,
            log_names_commit: true,
            site_down_secs: 0.0,
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
    /// The commit its build checks out, which its BUILD log names: the branch's tip when the
    /// build starts (for a RELEASE job, not the commit sent), or the commit a retry or a
    /// webhook records.
    pub built_commit: String,
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
    pub(crate) requests: Vec<Recorded>,
    pub(crate) jobs: Vec<Job>,
    pub(crate) next_id: HashMap<(String, String), u64>,
    pub(crate) faults: HashMap<Op, VecDeque<Fault>>,
    pub(crate) always: HashMap<Op, Fault>,
    /// The `nextToken`s ListJobs issued: app, branch and the offset each resumes at.
    pub(crate) tokens: HashMap<String, (String, String, usize)>,
    /// Upload URLs `CreateDeployment` gave, by token.
    /// What each presigned URL handed out grants (uploads, logs, artifacts), by token.
    pub(crate) presigned: HashMap<String, presign::Grant>,
    pub(crate) uploads: Vec<Upload>,
    pub(crate) branches: Vec<BranchRecord>,
    /// Branches added when a request of the operation arrives (see `Server::seed_branch_on`).
    pub(crate) branch_hooks: Vec<(Op, BranchRecord)>,
    /// Each app's production branch, when a test named one (`Server::set_production_branch`).
    pub(crate) production_branches: HashMap<String, String>,
    /// Jobs "the webhook" starts: app, branch, commit, and how many more `ListJobs` calls of
    /// the branch pass before the job appears.
    pub(crate) webhooks: Vec<(String, String, String, u32)>,
    /// StartJob's token bucket: tokens left, and when it was last filled.
    pub(crate) bucket: Option<(f64, f64)>,
    /// This server's own URL, for the upload URLs it hands out.
    pub(crate) base_url: String,
    /// How many connections were accepted.
    pub(crate) connections: usize,
    /// What the new AWS Amplify holds.
    pub(crate) gen3: crate::gen3::State,
}

pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as f64 / 1000.0)
        .unwrap_or(0.0)
}

/// An opaque token: the n-th one issued, scrambled so clients cannot guess offsets.
pub(crate) fn scramble(n: usize) -> u64 {
    (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
