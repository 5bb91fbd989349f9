//! Branches for pull-request previews: create the branch when it is missing
//! (`create-branch`), learn its URL, and delete it when the pull request closes
//! (`mode: delete-branch`), deleting only what is ours to delete.

use crate::hosting::prune;
use std::collections::BTreeMap;

use crate::aws::error::ApiError;
use crate::aws::retry::{Backoff, Policy, is_quota};
use crate::env::{Env, Name, Secret, SettingsError, boolean};
use crate::hosting::api::branches::{Branch, CreateBranchBody};
use crate::hosting::api::client::Client;
use crate::hosting::preview::PreviewSettings;
use crate::hosting::start_job::RetryError;
use crate::hosting::start_job::repeatable;
use crate::runner::untrusted;

pub const CREATE_BRANCH: Name = Name {
    var: "AMPLIFY_CREATE_BRANCH",
    input: "create-branch",
};
pub const BRANCH_STAGE: Name = Name {
    var: "AMPLIFY_BRANCH_STAGE",
    input: "branch-stage",
};
pub const ALLOW_DELETE_ANY_BRANCH: Name = Name {
    var: "AMPLIFY_ALLOW_DELETE_ANY_BRANCH",
    input: "allow-delete-any-branch",
};
/// The tag a created branch carries, which makes it ours to delete.
pub const CREATED_BY: (&str, &str) = ("created-by", "amplify-start-job");
const STAGES: [&str; 5] = [
    "PRODUCTION",
    "BETA",
    "DEVELOPMENT",
    "EXPERIMENTAL",
    "PULL_REQUEST",
];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BranchSettings {
    /// Create the branch when Amplify does not have it.
    pub create: bool,
    /// The stage a created branch gets; `None`: not sent.
    pub stage: Option<String>,
    /// `delete-branch` may delete a branch that is not a preview.
    pub allow_delete_any: bool,
    /// What a created branch gets besides its stage.
    pub preview: PreviewSettings,
    /// The repository (`owner/name`) a created branch is tagged with, for `mode: prune`.
    pub repository: Option<String>,
    /// The pull request a created branch previews.
    pub pull_request: Option<u64>,
}

/// The repository the CI runs for, as `owner/name` (GitHub, GitLab, Bitbucket), when it is a
/// value a tag can carry.
pub fn repository(env: &Env) -> Option<String> {
    [
        "GITHUB_REPOSITORY",
        "CI_PROJECT_PATH",
        "BITBUCKET_REPO_FULL_NAME",
    ]
    .iter()
    .find_map(|v| env.get(v))
    .filter(|r| {
        r.len() <= 256
            && r.contains('/')
            && r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
    })
    .map(str::to_string)
}

impl BranchSettings {
    /// `pull_request`: the run is for a GitHub `pull_request` event (the default stage).
    pub fn from_env(env: &Env, pull_request: Option<u64>) -> Result<BranchSettings, SettingsError> {
        let stage = match env.get(BRANCH_STAGE.var) {
            Some(s) if STAGES.contains(&s.to_ascii_uppercase().as_str()) => {
                Some(s.to_ascii_uppercase())
            }
            Some(s) => {
                return Err(SettingsError::of(
                    BRANCH_STAGE,
                    Some(s),
                    "not a branch stage",
                    "use PRODUCTION, BETA, DEVELOPMENT, EXPERIMENTAL or PULL_REQUEST",
                ));
            }
            None => pull_request.map(|_| "PULL_REQUEST".to_string()),
        };
        Ok(BranchSettings {
            create: boolean(env.get(CREATE_BRANCH.var), CREATE_BRANCH)?,
            stage,
            allow_delete_any: boolean(
                env.get(ALLOW_DELETE_ANY_BRANCH.var),
                ALLOW_DELETE_ANY_BRANCH,
            )?,
            preview: PreviewSettings::from_env(env)?,
            repository: repository(env),
            pull_request,
        })
    }
}

fn not_found(e: &RetryError) -> bool {
    matches!(e, RetryError::Api(ApiError::Service { code, .. }) if code == "NotFoundException")
}

/// The branch, created first when it is missing. Two runs creating it at once both succeed
/// ("already exists" is success), and a branch still being deleted is waited for.
pub async fn ensure(
    client: &Client,
    s: &BranchSettings,
    policy: &Policy,
) -> Result<Branch, RetryError> {
    match repeatable(policy, async || client.get_branch().await).await {
        Err(e) if not_found(&e) => {}
        found => return found,
    }
    create(client, s, policy).await
}

/// The branch, found: `NotFoundException` is `None`, not an error.
pub async fn find(client: &Client, policy: &Policy) -> Result<Option<Branch>, RetryError> {
    match repeatable(policy, async || client.get_branch().await).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The body a preview branch is created with: its stage, a host name that resolves, auto-build
/// off, our tag, and the preview's settings (variables inherited first, then set).
async fn body(
    client: &Client,
    s: &BranchSettings,
    policy: &Policy,
) -> Result<CreateBranchBody, RetryError> {
    let branch = &client.target().branch;
    let p = &s.preview;
    let mut vars: BTreeMap<String, Secret<String>> = BTreeMap::new();
    if let Some(from) = &p.inherit_env_from {
        let inherited = repeatable(policy, async || client.branch_variables(from).await).await?;
        tracing::info!(
            "variables from branch {}: {}",
            untrusted(from),
            keys(inherited.keys())
        );
        vars.extend(inherited.into_iter().map(|(k, v)| (k, Secret(v))));
    }
    if !p.variables.is_empty() {
        tracing::info!(
            "variables from environment-variables: {}",
            keys(p.variables.iter().map(|(k, _)| k))
        );
    }
    vars.extend(p.variables.iter().cloned());
    if p.basic_auth.is_some() {
        tracing::info!("the branch gets basic auth (preview-basic-auth)");
    }
    Ok(CreateBranchBody {
        branch_name: branch.clone(),
        stage: s.stage.clone(),
        display_name: Some(host_label(branch)),
        // This tool starts the builds: a webhook build on top would build each push twice.
        enable_auto_build: false,
        tags: BTreeMap::from_iter(
            [(CREATED_BY.0.to_string(), CREATED_BY.1.to_string())]
                .into_iter()
                .chain(prune::tags(
                    s.repository.as_deref(),
                    s.pull_request,
                    prune::now(),
                )),
        ),
        enable_basic_auth: p.basic_auth.is_some().then_some(true),
        basic_auth_credentials: p.basic_auth_credentials(),
        environment_variables: (!vars.is_empty()).then_some(vars),
        enable_skew_protection: p.skew_protection,
        framework: p.framework.clone(),
    })
}

/// Variable names for the log (never their values).
fn keys<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".into()
    } else {
        untrusted(&names.join(", "))
    }
}

/// Creates the branch (no look first). Two runs creating it at once both succeed ("already
/// exists" is success), a branch still being deleted is waited for, and the app's branch quota
/// is an error that [`is_quota_error`] recognises.
pub async fn create(
    client: &Client,
    s: &BranchSettings,
    policy: &Policy,
) -> Result<Branch, RetryError> {
    let branch = &client.target().branch;
    tracing::info!(
        "branch {} does not exist in app {}: creating it",
        untrusted(branch),
        client.target().app_id
    );
    let body = body(client, s, policy).await?;
    let mut deleting = Backoff::new(policy);
    loop {
        match repeatable(policy, async || client.create_branch(&body).await).await {
            Ok(b) => return Ok(b),
            Err(RetryError::Api(e)) if message_has(&e, "already exists") => {
                tracing::info!(
                    "branch {} was created meanwhile: using it",
                    untrusted(branch)
                );
                return repeatable(policy, async || client.get_branch().await).await;
            }
            // A 2xx that cannot be read: the branch was probably made. GetBranch says.
            Err(RetryError::Api(ApiError::Malformed { detail, .. })) => {
                tracing::warn!(
                    "CreateBranch answered something unreadable ({}): checking with GetBranch",
                    untrusted(&detail)
                );
                match repeatable(policy, async || client.get_branch().await).await {
                    Err(e) if not_found(&e) => continue,
                    found => return found,
                }
            }
            Err(RetryError::Api(e)) if being_deleted(&e) => {
                deleting.attempt();
                let Some(delay) = deleting.next_delay(&e) else {
                    return Err(RetryError::Api(e.with_hint(
                        "the branch of this name is still being deleted, which can take from minutes to days on AWS: run again later, or use another branch name".into(),
                    )));
                };
                tracing::info!(
                    "branch {} is being deleted: creating it again after that",
                    untrusted(branch)
                );
                tokio::time::sleep(delay).await;
            }
            Err(RetryError::Api(e)) if quota(&e) => {
                return Err(RetryError::Api(with_quota_hint(e)));
            }
            Err(e) => return Err(e),
        }
    }
}

/// CreateBranch while a branch of the name is being deleted: AWS says "The branch is deleting
/// for the app" (amplify-hosting #2732).
fn being_deleted(e: &ApiError) -> bool {
    message_has(e, "is deleting") || message_has(e, "being deleted")
}

/// The longest DNS label (RFC 1035).
pub const MAX_HOST_LABEL: usize = 63;

/// The display name AWS derives from a branch name: lower-cased, every character outside
/// `[a-z0-9-]` turned into `-` (amplify-hosting #1270, #602, #739). AWS never shortens it.
pub fn display_name(branch: &str) -> String {
    branch
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '-',
        })
        .collect()
}

/// The display name a created branch gets: AWS's, and when that is over 63 characters (a host
/// that does not resolve: amplify-hosting #208), its first part and a stable hash of the whole
/// branch name, 63 characters in all.
pub fn host_label(branch: &str) -> String {
    let name = display_name(branch);
    if name.len() <= MAX_HOST_LABEL {
        return name;
    }
    // FNV-1a: stable across runs and builds, so every run names the same host.
    let hash = branch.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let suffix = format!("-{:08x}", hash as u32);
    let head = name[..MAX_HOST_LABEL - suffix.len()].trim_end_matches('-');
    format!("{head}{suffix}")
}

fn message_has(e: &ApiError, text: &str) -> bool {
    matches!(e, ApiError::Service { message, .. } if message.to_ascii_lowercase().contains(text))
}

/// The app's branch quota: AWS answers 400 `BadRequestException` "Failed to create branch. You
/// have reached the maximum number of branches in this app." (aws/karpenter-provider-aws
/// #9122); a `LimitExceededException` about branches is read the same.
/// The app's 50-branch quota refused a create.
pub fn is_quota_error(e: &RetryError) -> bool {
    matches!(e, RetryError::Api(e) if quota(e))
}

fn quota(e: &ApiError) -> bool {
    matches!(e, ApiError::Service { code, message, .. }
        if matches!(code.as_str(), "LimitExceededException" | "BadRequestException") && is_quota(message))
}

fn with_quota_hint(e: ApiError) -> ApiError {
    e.with_hint(
        "an app has at most 50 branches, and that limit cannot be raised: delete the previews of closed pull requests with mode: prune (a scheduled run; see the README), or one with mode: delete-branch".into(),
    )
}

/// The branch's site and stage, as `branch-url` and GitHub's deployment want them.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// `https://<displayName>.<defaultDomain>`.
    pub url: String,
    pub stage: String,
}

/// The branch's site, from the branch (read here unless given) and the app, read together. A
/// read that fails (often denied) is one warning, and no site: never a failed run.
pub async fn url(client: &Client, known: Option<&Branch>, policy: &Policy) -> Option<Site> {
    let branch = async {
        match known {
            Some(b) => Ok(b.clone()),
            None => read(client, policy).await,
        }
    };
    let (branch, domain) = tokio::join!(branch, domain(client, policy));
    site(branch, domain)
}

/// `GetBranch`, retried: the branch as it is.
pub async fn read(client: &Client, policy: &Policy) -> Result<Branch, RetryError> {
    repeatable(policy, async || client.get_branch().await).await
}

/// `GetApp`, retried: the app's default domain, the second half of a branch's site.
pub async fn domain(client: &Client, policy: &Policy) -> Result<String, RetryError> {
    repeatable(policy, async || client.default_domain().await).await
}

/// The site of `branch` on the app's `domain`, however each was read; a failed read is one
/// warning, and no site.
pub fn site(
    branch: Result<Branch, RetryError>,
    domain: Result<String, RetryError>,
) -> Option<Site> {
    match (branch, domain) {
        (Ok(b), Ok(d)) => {
            let name = if b.display_name.is_empty() {
                display_name(&b.branch_name)
            } else {
                b.display_name
            };
            Some(Site {
                url: format!("https://{name}.{d}"),
                stage: b.stage,
            })
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(
                "no branch-url: {} (allow amplify:GetBranch and amplify:GetApp to get it)",
                untrusted(&e.to_string())
            );
            None
        }
    }
}

/// What `delete-branch` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Deleted,
    /// There was no such branch: nothing to do.
    Missing,
}

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// Not a preview: refused unless `allow-delete-any-branch`.
    #[error(transparent)]
    NotOurs(SettingsError),
    #[error(transparent)]
    Api(#[from] RetryError),
}

/// Deletes the branch when it is a preview (stage `PULL_REQUEST`, or created by this tool),
/// or when `allow-delete-any-branch` says any branch may go.
pub async fn delete(
    client: &Client,
    s: &BranchSettings,
    policy: &Policy,
    from: &str,
) -> Result<Deleted, DeleteError> {
    let branch = match repeatable(policy, async || client.get_branch().await).await {
        Ok(b) => b,
        Err(e) if not_found(&e) => return Ok(Deleted::Missing),
        Err(e) => return Err(e.into()),
    };
    let ours = branch.stage == "PULL_REQUEST"
        || branch.tags.get(CREATED_BY.0).map(String::as_str) == Some(CREATED_BY.1);
    if !ours && !s.allow_delete_any {
        return Err(DeleteError::NotOurs(SettingsError::new(
            from,
            Some("branch-name"),
            Some(&branch.branch_name),
            &format!(
                "delete-branch deletes only pull-request previews, and this branch has stage {} and no {}={} tag",
                if branch.stage.is_empty() {
                    "(none)"
                } else {
                    &branch.stage
                },
                CREATED_BY.0,
                CREATED_BY.1
            ),
            "check the branch the workflow names; set allow-delete-any-branch: true only if it really may delete this one",
        )));
    }
    match repeatable(policy, async || client.delete_branch().await).await {
        Ok(_) => Ok(Deleted::Deleted),
        Err(e) if not_found(&e) => Ok(Deleted::Missing),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_labels_follow_aws_and_fit_in_dns() {
        assert_eq!(
            display_name("feature/my_CoolBranch"),
            "feature-my-coolbranch"
        );
        assert_eq!(display_name("release-6.2"), "release-6-2");
        assert_eq!(host_label("Feature/Ab.c"), "feature-ab-c");
        let long = "feature/fpafe-6-when-the-user-logs-in-if-the-password-is-about-to-expire-display-a-countdown";
        let label = host_label(long);
        assert!(label.len() <= MAX_HOST_LABEL, "{label}");
        assert_eq!(
            label,
            "feature-fpafe-6-when-the-user-logs-in-if-the-password-3499ee7c"
        );
        assert_eq!(label, host_label(long), "stable");
        assert_ne!(
            label,
            host_label(&format!("{long}-2")),
            "another branch, another host"
        );
        assert_eq!(host_label(&"a".repeat(63)), "a".repeat(63), "63 fits");
    }
}
