//! Where AWS credentials come from: the chain the AWS SDKs use, first that yields wins.
//!
//! 1. [`env`]: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`
//! 2. [`github`]: `role-to-assume` with GitHub's OIDC token, exchanged at STS
//! 3. [`web_identity`]: `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` (GitLab, EKS)
//! 4. [`profile`]: `~/.aws/credentials` and `~/.aws/config` (keys, `credential_process`, roles)
//! 5. [`container`]: the ECS / CodeBuild / EKS Pod Identity endpoint
//! 6. [`imds`]: EC2 instance metadata, IMDSv2 only
//!
//! This file holds the order, the refresh of temporary credentials before they expire, and the
//! GitHub masks. [`Credentials`]'s `Debug` redacts the secret key and session token; nothing here
//! logs a secret.

mod config;
mod container;
mod env;
mod github;
mod imds;
mod oidc_token;
mod process;
mod profile;
mod sts;
mod web_identity;

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use reqwest::Url;

use crate::aws::net::Http;
pub use crate::aws::signing::Credentials;
use crate::env::Env;
pub use config::{AUDIENCE, ROLE_DURATION, ROLE_SESSION_NAME, ROLE_TO_ASSUME};

/// Temporary credentials are fetched again this long before they expire.
pub const REFRESH_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Attempts at a credential endpoint for failures that are safe to retry.
const ATTEMPTS: u32 = 3;

/// The credential settings, checked with the others before anything is sent.
#[derive(Debug, Clone)]
pub struct Config {
    /// `role-to-assume`: direct GitHub OIDC.
    pub role_to_assume: Option<String>,
    pub session_name: String,
    pub duration_secs: u32,
    pub audience: String,
    pub region: String,
    /// Where STS is called: `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, else regional STS.
    pub sts_endpoint: Url,
    /// Running in GitHub Actions: every secret obtained is masked.
    pub github: bool,
    /// The limit of one request to STS.
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("no AWS credentials found; tried: {tried}")]
    NotFound { tried: String },
    #[error("AWS credentials from {provider}: {detail}")]
    Failed {
        provider: String,
        detail: String,
        hint: Option<String>,
    },
}

/// Why GitHub OIDC cannot be used: the job may not request a token (as on a fork's pull request).
pub const NO_OIDC_TOKEN: &str = "role-to-assume is set but this job cannot request an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set)";

impl CredentialsError {
    /// No source gave anything: no keys, no token, no profile (as on a fork's pull request,
    /// which gets no secrets and no OIDC token). Not a source that was set up and failed.
    pub fn nothing_given(&self) -> bool {
        match self {
            CredentialsError::NotFound { .. } => true,
            CredentialsError::Failed { detail, .. } => detail == NO_OIDC_TOKEN,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            CredentialsError::NotFound { .. } => Some(
                "on GitHub, let the action assume an IAM role with OIDC: give the job `permissions: id-token: write` \
                 and the step `role-to-assume: arn:aws:iam::<account-id>:role/<role>` (README: Credentials); \
                 elsewhere set AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                    .into(),
            ),
            CredentialsError::Failed { hint, .. } => hint.clone(),
        }
    }
}

/// What a provider says when it cannot give credentials.
#[derive(Debug)]
pub enum ProviderError {
    /// Not available here (no instance metadata off EC2): the chain goes on.
    Unavailable(String),
    /// Set up but failing: the chain stops, since going on could pick the wrong identity.
    Failed {
        detail: String,
        hint: Option<String>,
    },
}

impl ProviderError {
    fn failed(detail: impl Into<String>) -> Self {
        ProviderError::Failed {
            detail: detail.into(),
            hint: None,
        }
    }

    fn with_hint(detail: impl Into<String>, hint: impl Into<String>) -> Self {
        ProviderError::Failed {
            detail: detail.into(),
            hint: Some(hint.into()),
        }
    }
}

/// What every provider needs to fetch: the client, STS, and whether to mask.
pub struct Ctx {
    pub http: Http,
    pub config: Config,
}

impl Ctx {
    /// Registers secrets with the GitHub runner before anything else can print them.
    pub fn mask(&self, secret: &str) {
        if self.config.github {
            crate::runner::mask(secret);
        }
    }
}

/// How to get credentials again: the provider that yielded, with what it needs.
#[derive(Debug, Clone)]
pub enum Provider {
    /// Keys given as they are: the environment or a profile's keys.
    Static {
        from: String,
        credentials: Credentials,
    },
    WebIdentity(web_identity::WebIdentity),
    AssumeRole {
        role_arn: String,
        session_name: String,
        external_id: Option<String>,
        duration_secs: Option<u32>,
        source: Box<Provider>,
    },
    Process(process::Process),
    Container(container::Container),
    Imds(imds::Imds),
}

type Fetch<'a> = Pin<Box<dyn Future<Output = Result<Credentials, ProviderError>> + 'a>>;

impl Provider {
    /// Where the credentials come from, for the log: never a secret.
    pub fn describe(&self) -> String {
        match self {
            Provider::Static { from, .. } => from.clone(),
            Provider::WebIdentity(w) => w.describe(),
            Provider::AssumeRole {
                role_arn, source, ..
            } => format!("role {role_arn} assumed with {}", source.describe()),
            Provider::Process(p) => p.describe(),
            Provider::Container(c) => c.describe(),
            Provider::Imds(i) => i.describe(),
        }
    }

    pub fn fetch<'a>(&'a self, ctx: &'a Ctx) -> Fetch<'a> {
        Box::pin(async move {
            let credentials = match self {
                Provider::Static { credentials, .. } => credentials.clone(),
                Provider::WebIdentity(w) => w.fetch(ctx).await?,
                Provider::AssumeRole {
                    role_arn,
                    session_name,
                    external_id,
                    duration_secs,
                    source,
                } => {
                    let source = source.fetch(ctx).await?;
                    sts::assume_role(
                        ctx,
                        &source,
                        role_arn,
                        session_name,
                        external_id.as_deref(),
                        *duration_secs,
                    )
                    .await?
                }
                Provider::Process(p) => p.fetch().await?,
                Provider::Container(c) => c.fetch(ctx).await?,
                Provider::Imds(i) => i.fetch(ctx).await?,
            };
            ctx.mask(credentials.secret_access_key());
            if let Some(token) = credentials.session_token() {
                ctx.mask(token);
            }
            Ok(credentials)
        })
    }
}

/// The credentials of a run: the provider that yielded, and the current credentials, fetched
/// again shortly before they expire.
pub struct Resolved {
    provider: Provider,
    ctx: Ctx,
    current: Mutex<Credentials>,
}

impl Resolved {
    pub fn describe(&self) -> String {
        self.provider.describe()
    }

    /// Credentials valid for a request now.
    pub async fn current(&self) -> Result<Credentials, CredentialsError> {
        self.current_at(SystemTime::now()).await
    }

    async fn current_at(&self, now: SystemTime) -> Result<Credentials, CredentialsError> {
        let held = self.current.lock().expect("not poisoned").clone();
        if !needs_refresh(held.expiry(), now) {
            return Ok(held);
        }
        tracing::debug!("credentials expire soon: fetching them again");
        match self.provider.fetch(&self.ctx).await {
            Ok(fresh) => {
                tracing::info!("credentials refreshed{}", expiry_note(fresh.expiry()));
                *self.current.lock().expect("not poisoned") = fresh.clone();
                Ok(fresh)
            }
            Err(e) if held.expiry().is_some_and(|t| t > now) => {
                tracing::warn!(
                    "could not refresh credentials ({}); using the current ones until they expire",
                    describe_error(&e)
                );
                Ok(held)
            }
            Err(e) => Err(failed(&self.provider.describe(), e)),
        }
    }
}

/// Credentials that expire within [`REFRESH_WINDOW`] of `now` are fetched again.
pub fn needs_refresh(expiry: Option<SystemTime>, now: SystemTime) -> bool {
    expiry.is_some_and(|t| t <= now + REFRESH_WINDOW)
}

fn describe_error(e: &ProviderError) -> String {
    match e {
        ProviderError::Unavailable(d) | ProviderError::Failed { detail: d, .. } => d.clone(),
    }
}

fn failed(provider: &str, e: ProviderError) -> CredentialsError {
    match e {
        ProviderError::Unavailable(detail) => CredentialsError::Failed {
            provider: provider.to_string(),
            detail,
            hint: None,
        },
        ProviderError::Failed { detail, hint } => CredentialsError::Failed {
            provider: provider.to_string(),
            detail,
            hint,
        },
    }
}

fn expiry_note(expiry: Option<SystemTime>) -> String {
    let Some(t) = expiry else {
        return String::new();
    };
    let left = t
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .as_secs();
    format!("; they expire in {}m{:02}s", left / 60, left % 60)
}

type Candidate = fn(&Env, &Ctx) -> Result<Option<Provider>, CredentialsError>;
/// Why a candidate did not apply.
type WhyNot = fn(&Env) -> String;

/// The providers that know from settings alone whether they apply (IMDS, last, has to ask),
/// each with why it did not, for the "tried" list.
const CHAIN: [(Candidate, WhyNot); 5] = [
    (env::provider, |_| {
        "environment (AWS_ACCESS_KEY_ID not set)".into()
    }),
    (github::provider, |_| {
        "GitHub OIDC (role-to-assume not set)".into()
    }),
    (web_identity::provider, |_| {
        "web identity (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE not set)".into()
    }),
    (profile::provider, no_profile),
    (container::provider, |_| {
        "container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set)".into()
    }),
];

/// Walks the chain: the first provider set up here yields the run's credentials.
pub async fn resolve(env: &Env, config: Config, http: Http) -> Result<Resolved, CredentialsError> {
    let ctx = Ctx { http, config };
    let mut tried = Vec::new();
    let mut chosen = None;
    for (candidate, why_not) in CHAIN {
        match candidate(env, &ctx)? {
            Some(p) => {
                chosen = Some(p);
                break;
            }
            None => tried.push(why_not(env)),
        }
    }
    let provider = match chosen {
        Some(p) => p,
        None => match imds::provider(env) {
            Err(why) => {
                tried.push(format!("EC2 instance metadata ({why})"));
                return Err(CredentialsError::NotFound {
                    tried: tried.join("; "),
                });
            }
            Ok(p) => p,
        },
    };
    let described = provider.describe();
    let credentials = match provider.fetch(&ctx).await {
        Ok(c) => c,
        Err(ProviderError::Unavailable(why)) => {
            tried.push(format!("{described} ({why})"));
            return Err(CredentialsError::NotFound {
                tried: tried.join("; "),
            });
        }
        Err(e) => return Err(failed(&described, e)),
    };
    tracing::info!(
        "credentials: {described}{}",
        expiry_note(credentials.expiry())
    );
    if let (Some(role), true) = (&ctx.config.role_to_assume, described == env::FROM) {
        tracing::warn!(
            "role-to-assume ({role}) is not used: AWS_ACCESS_KEY_ID is set and environment credentials come first; \
             remove the keys (or the configure-aws-credentials step) to assume the role with OIDC"
        );
    }
    Ok(Resolved {
        provider,
        ctx,
        current: Mutex::new(credentials),
    })
}

/// Why the profile link did not apply: no such profile in the files it read.
fn no_profile(env: &Env) -> String {
    format!(
        "profile {} (not in {} or {})",
        env.get("AWS_PROFILE").unwrap_or("default"),
        profile::credentials_file(env)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "~/.aws/credentials".into()),
        profile::config_file(env)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "~/.aws/config".into()),
    )
}

/// One request at a credential endpoint, retried when that is safe.
pub enum Attempt<T> {
    Done(T),
    /// Transient: try again (a throttle, a 5xx, a connection that failed).
    Retry(String),
    Fail(ProviderError),
}

/// Runs `attempt` up to [`ATTEMPTS`] times, with short jittered delays between.
pub async fn with_retries<T>(
    what: &str,
    mut attempt: impl AsyncFnMut() -> Attempt<T>,
) -> Result<T, ProviderError> {
    let mut n = 1;
    loop {
        match attempt().await {
            Attempt::Done(t) => return Ok(t),
            Attempt::Fail(e) => return Err(e),
            Attempt::Retry(why) if n >= ATTEMPTS => {
                return Err(ProviderError::failed(format!(
                    "{what}: {why} (after {n} attempts)"
                )));
            }
            Attempt::Retry(why) => {
                let ceiling = 200u64 << (n - 1);
                let delay = Duration::from_millis(crate::random::random_u64() % (ceiling + 1));
                tracing::warn!(
                    "{what}: {why}; retrying in {}ms (attempt {} of {ATTEMPTS})",
                    delay.as_millis(),
                    n + 1
                );
                tokio::time::sleep(delay).await;
                n += 1;
            }
        }
    }
}

/// An RFC 3339 time, as STS and the credential endpoints give `Expiration`.
pub fn parse_expiration(s: &str) -> Option<SystemTime> {
    let t = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .ok()?;
    let secs = t.unix_timestamp();
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(secs.try_into().ok()?);
    Some(at + Duration::from_nanos(t.nanosecond().into()))
}

/// `AccessKeyId` / `SecretAccessKey` / `Token` / `Expiration`, the JSON of the container
/// endpoint, IMDS and `credential_process` (which says `SessionToken`).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonCredentials {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    #[serde(alias = "SessionToken")]
    token: Option<String>,
    expiration: Option<String>,
}

fn from_json(raw: &[u8], provider: &'static str) -> Result<Credentials, ProviderError> {
    let parsed: JsonCredentials = serde_json::from_slice(raw)
        .map_err(|e| ProviderError::failed(format!("the answer is not credentials JSON: {e}")))?;
    let (Some(id), Some(secret)) = (parsed.access_key_id, parsed.secret_access_key) else {
        return Err(ProviderError::failed(
            "the answer lacks AccessKeyId or SecretAccessKey",
        ));
    };
    let expiry = match parsed.expiration.as_deref() {
        None => None,
        Some(e) => Some(parse_expiration(e).ok_or_else(|| {
            ProviderError::failed(format!(
                "Expiration {} is not an RFC 3339 time",
                crate::env::show(e)
            ))
        })?),
    };
    Ok(Credentials::new(id, secret, parsed.token, expiry, provider))
}

/// Role ARNs as IAM writes them: `arn:<partition>:iam::<12 digits>:role/<path/name>`.
pub fn valid_role_arn(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let ok = parts.next() == Some("arn")
        && parts.next().is_some_and(|p| p.starts_with("aws"))
        && parts.next() == Some("iam")
        && parts.next() == Some("")
        && parts
            .next()
            .is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .and_then(|r| r.strip_prefix("role/"))
            .is_some_and(|n| !n.is_empty() && !n.ends_with('/'));
    ok && (20..=2048).contains(&arn.len()) && !arn.chars().any(char::is_whitespace)
}

/// STS's `RoleSessionName`: 2 to 64 of letters, digits and `+=,.@_-`.
pub fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_happens_inside_the_window_only() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert!(!needs_refresh(None, now), "static keys never expire");
        assert!(!needs_refresh(Some(now + Duration::from_secs(3600)), now));
        assert!(!needs_refresh(
            Some(now + REFRESH_WINDOW + Duration::from_secs(1)),
            now
        ));
        assert!(needs_refresh(Some(now + REFRESH_WINDOW), now));
        assert!(needs_refresh(Some(now - Duration::from_secs(1)), now));
    }

    #[test]
    fn expirations_parse_as_rfc3339() {
        assert_eq!(
            parse_expiration("2026-11-28T23:00:00Z"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_906_800))
        );
        assert_eq!(
            parse_expiration("2026-11-29T00:00:00+01:00"),
            parse_expiration("2026-11-28T23:00:00Z")
        );
        assert_eq!(parse_expiration("tomorrow"), None);
    }

    #[test]
    fn role_arns_and_session_names() {
        assert!(valid_role_arn("arn:aws:iam::123456789012:role/deploy"));
        assert!(valid_role_arn(
            "arn:aws-us-gov:iam::123456789012:role/ci/amplify-deploy"
        ));
        for bad in [
            "deploy",
            "arn:aws:iam::123456789012:user/deploy",
            "arn:aws:iam::12345:role/deploy",
            "arn:aws:sts::123456789012:role/deploy",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/a b",
        ] {
            assert!(!valid_role_arn(bad), "{bad}");
        }
        assert!(valid_session_name("amplify-start-job-1234"));
        assert!(!valid_session_name("a"));
        assert!(!valid_session_name("has space"));
        assert!(!valid_session_name(&"x".repeat(65)));
    }

    #[test]
    fn credential_json_is_checked() {
        let c = from_json(
            br#"{"AccessKeyId":"AKID","SecretAccessKey":"s","Token":"t","Expiration":"2026-11-28T23:00:00Z"}"#,
            "test",
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "AKID");
        assert_eq!(c.session_token(), Some("t"));
        assert!(c.expiry().is_some());
        let c = from_json(
            br#"{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"s","SessionToken":"t2"}"#,
            "test",
        )
        .unwrap();
        assert_eq!(c.session_token(), Some("t2"));
        for bad in [
            &b"not json"[..],
            br#"{"AccessKeyId":"AKID"}"#,
            br#"{"AccessKeyId":"A","SecretAccessKey":"s","Expiration":"soon"}"#,
        ] {
            assert!(matches!(
                from_json(bad, "test"),
                Err(ProviderError::Failed { .. })
            ));
        }
    }
}
