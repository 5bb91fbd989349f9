//! What a start or a find reads beside its own requests, because it waits on nothing they
//! give: the branch's site (`GetBranch` and `GetApp`, for `branch-url`) and the wait's history
//! (`ListJobs`). They go out with the first request, each on its own connection, so a start
//! costs one round trip after the handshake instead of three; their failure is a warning and
//! an empty output, never a failed or delayed start.

use crate::aws::retry::Policy;
use crate::hosting::api::branches::Branch;
use crate::hosting::api::client::Client;
use crate::hosting::branch::{self, Site};
use crate::hosting::start_job::RetryError;
use crate::hosting::wait;

/// What a mode read beside its start (or its find).
#[derive(Debug, Default)]
pub struct Beside {
    pub site: Option<Site>,
    /// `None` when it was not read: then it is read before the wait.
    pub history: Option<Vec<(String, f64)>>,
}

/// The reads made at once, before the app is chosen: with one app, its domain and, unless the
/// run finds or makes the branch itself, the branch; with `wait`, the history.
#[derive(Debug, Default)]
pub struct Early {
    domain: Option<Result<String, RetryError>>,
    branch: Option<Result<Branch, RetryError>>,
    history: Option<Vec<(String, f64)>>,
}

/// What to read at once.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// The run has one app: what it reads is the app's before anything is chosen.
    pub single_app: bool,
    /// The run reads or makes the branch itself (`create-branch`).
    pub branch_found_by_run: bool,
    pub wait: bool,
}

/// The reads that wait on nothing, all at once. `reader` addresses the run's (first) app.
pub async fn early(reader: &Client, policy: &Policy, plan: Plan) -> Early {
    let domain = async {
        match plan.single_app {
            true => Some(branch::domain(reader, policy).await),
            false => None,
        }
    };
    let found = async {
        match plan.single_app && !plan.branch_found_by_run {
            true => Some(branch::read(reader, policy).await),
            false => None,
        }
    };
    let history = async {
        match plan.wait {
            true => Some(wait::history(reader).await),
            false => None,
        }
    };
    let (domain, branch, history) = tokio::join!(domain, found, history);
    Early {
        domain,
        branch,
        history,
    }
}

/// The reads only the chosen app can answer (with several apps, the app is known once the
/// branch was looked for): what [`early`] did not read of the domain and the branch (unless
/// the run found or made it). Made beside the start, as the early ones are.
pub async fn late(plan: Plan, client: &Client, known: Option<&Branch>, policy: &Policy) -> Late {
    let domain = async {
        match plan.single_app {
            true => None,
            false => Some(branch::domain(client, policy).await),
        }
    };
    let found = async {
        match known.is_none() && !plan.single_app {
            true => Some(branch::read(client, policy).await),
            false => None,
        }
    };
    let (domain, branch) = tokio::join!(domain, found);
    Late { domain, branch }
}

/// What [`late`] read.
#[derive(Debug, Default)]
pub struct Late {
    domain: Option<Result<String, RetryError>>,
    branch: Option<Result<Branch, RetryError>>,
}

/// The site and the history, from what was read early and late and the branch the run found
/// or made (`known`). Sends nothing.
pub fn complete(early: Early, late: Late, known: Option<&Branch>) -> Beside {
    let found = match (known, early.branch, late.branch) {
        (Some(b), _, _) => Some(Ok(b.clone())),
        (None, Some(read), _) | (None, None, Some(read)) => Some(read),
        (None, None, None) => None,
    };
    let domain = early.domain.or(late.domain);
    let site = match (found, domain) {
        (Some(found), Some(domain)) => branch::site(found, domain),
        // Cut short by a signal: no site, and nothing to warn of.
        _ => None,
    };
    Beside {
        site,
        history: early.history,
    }
}
