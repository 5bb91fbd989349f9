//! The source's way up: the folder zipped (for `source-type: source` without `node_modules`,
//! `.git`, the app's build output and what `.amplifyignore` lists, as the AWS CLI leaves them
//! out), the zip's digest, `CreateSourceUpload`, and the `PUT` of the zip to the URL it gave,
//! with the headers that URL signs. Both are safe to repeat: an unused upload expires.

use std::convert::Infallible;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use sha2::Digest as _;

use crate::aws::error::ApiError;
use crate::aws::retry::{Policy, last_error, repeatable};
use crate::encoding::{base64, hex};
use crate::gen3::api::client::Client;
use crate::gen3::api::uploads::SourceUpload;
use crate::runner::untrusted;

/// The gitignore file of a source upload, read from the source's root and itself left out.
pub const AMPLIFYIGNORE: &str = ".amplifyignore";

/// What a `source` upload leaves out.
pub struct Skip {
    rules: gix_ignore::Search,
    output: Option<String>,
}

impl Skip {
    /// `node_modules` and `.git` at any depth, `output` (the app's build output folder,
    /// relative to the root), `.amplifyignore` and what it lists.
    pub fn for_source(root: &Path, output: Option<String>) -> std::io::Result<Skip> {
        let mut rules = gix_ignore::Search::default();
        let parse = gix_ignore::search::Ignore {
            support_precious: false,
        };
        let fixed = format!("node_modules/\n.git/\n/{AMPLIFYIGNORE}\n");
        rules.add_patterns_buffer(fixed.as_bytes(), "built in", None, parse);
        match std::fs::read(root.join(AMPLIFYIGNORE)) {
            Ok(text) => rules.add_patterns_buffer(&text, AMPLIFYIGNORE, None, parse),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let output = output
            .map(|o| o.trim_matches('/').to_string())
            .filter(|o| !o.is_empty() && o != ".");
        Ok(Skip { rules, output })
    }

    /// Whether the entry at `path` (relative, `/`-separated) is left out.
    pub fn skips(&self, path: &str, is_dir: bool) -> bool {
        if self.output.as_deref() == Some(path) {
            return true;
        }
        let case = gix_glob::pattern::Case::Sensitive;
        self.rules
            .pattern_matching_relative_path(path.into(), Some(is_dir), case)
            .is_some_and(|m| !m.pattern.is_negative())
    }
}

/// The zip's SHA-256, read in chunks.
pub fn sha256(zip: &Path) -> std::io::Result<[u8; 32]> {
    let mut file = std::fs::File::open(zip)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

/// The digest's forms, tried in this order: S3's checksum form (base64), lower-case hex, and
/// `sha256:<hex>`; the documented one is not known.
pub fn digest_forms(sha: &[u8; 32]) -> [String; 3] {
    [base64(sha), hex(sha), format!("sha256:{}", hex(sha))]
}

/// What the upload ended with, when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("cannot read the zip {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "CreateSourceUpload refused each form of the zip's digest (base64, hex, sha256:hex): {0}"
    )]
    Digest(ApiError),
    #[error(transparent)]
    Api(ApiError),
}

/// Uploads the zip: a source upload for its digest, then the `PUT`. An expired or refused URL
/// gets one new upload. Returns the source upload's id.
pub async fn upload(
    client: &Client,
    zip: &Path,
    policy: &Policy,
    request_timeout: Duration,
) -> Result<String, UploadError> {
    let sha = sha256(zip).map_err(|source| UploadError::Read {
        path: zip.display().to_string(),
        source,
    })?;
    let mut renewed = false;
    loop {
        let made = create(client, &sha, policy).await?;
        match put(client, &made, zip, &sha, policy, request_timeout).await {
            Ok(()) => return Ok(made.source_upload_id),
            Err(e) if refused_url(&e) && !renewed => {
                renewed = true;
                tracing::warn!(
                    "the upload URL was refused ({}): asking for a new one, once",
                    untrusted(&e.to_string())
                );
            }
            Err(e) => return Err(UploadError::Api(e)),
        }
    }
}

/// `CreateSourceUpload`, retried; a refusal that names the digest tries its next form.
async fn create(
    client: &Client,
    sha: &[u8; 32],
    policy: &Policy,
) -> Result<SourceUpload, UploadError> {
    let mut refused = None;
    for (i, form) in digest_forms(sha).iter().enumerate() {
        let made =
            repeatable::<_, Infallible>(policy, async || client.create_source_upload(form).await)
                .await
                .map_err(last_error);
        match made {
            Ok(upload) => {
                if i > 0 {
                    tracing::info!("CreateSourceUpload took the digest in its form {}", i + 1);
                }
                return Ok(upload);
            }
            Err(e) if names_digest(&e) => {
                tracing::info!(
                    "CreateSourceUpload refused the digest's form {}: {}",
                    i + 1,
                    untrusted(e.message().unwrap_or_default())
                );
                refused = Some(e);
            }
            Err(e) => return Err(UploadError::Api(e)),
        }
    }
    Err(UploadError::Digest(
        refused.expect("three forms were tried"),
    ))
}

/// A `ValidationException` whose message names the digest.
fn names_digest(e: &ApiError) -> bool {
    matches!(e, ApiError::Service { code, message, .. }
        if code == "ValidationException" && message.to_ascii_lowercase().contains("digest"))
}

/// A URL that has expired or is refused (403), or whose time had run out before the `PUT`.
fn refused_url(e: &ApiError) -> bool {
    matches!(e, ApiError::Service { status: 403, .. })
}

/// The `PUT`, retried for 5xx and resets: the same URL takes the same bytes again. A URL
/// past its `UrlExpiresAt` is not tried: it is refused at once, as AWS would.
async fn put(
    client: &Client,
    made: &SourceUpload,
    zip: &Path,
    sha: &[u8; 32],
    policy: &Policy,
    request_timeout: Duration,
) -> Result<(), ApiError> {
    let url = &made.zip_upload.upload_url;
    if made
        .zip_upload
        .url_expires_at
        .is_some_and(|t| t < now(client))
    {
        return Err(ApiError::Service {
            operation: "upload",
            status: 403,
            code: "AccessDenied".into(),
            message: "the upload URL had expired before it was used".into(),
            request_id: None,
            retry_after: None,
            clock_skew: None,
            hint: None,
            quota_code: None,
        });
    }
    let headers = signed_headers(url, sha);
    let given_by = ("CreateSourceUpload", "ZipUpload.UploadUrl");
    let http = client.http();
    tracing::info!(
        "uploading the zip to the source upload {}",
        made.source_upload_id
    );
    repeatable::<_, Infallible>(policy, async || {
        crate::aws::upload::put(http, url, zip, request_timeout, given_by, &headers).await
    })
    .await
    .map_err(last_error)
}

/// The headers a presigned URL signs (its `X-Amz-SignedHeaders`) that this tool can give: the
/// checksum (always S3's base64 form), the content type and the checksum algorithm.
/// `host` and `content-length` are sent with every request.
pub fn signed_headers(url: &str, sha: &[u8; 32]) -> Vec<(&'static str, String)> {
    let signed = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k.eq_ignore_ascii_case("X-Amz-SignedHeaders"))
                .map(|(_, v)| v.to_ascii_lowercase())
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for name in signed.split(';').map(str::trim) {
        match name {
            "x-amz-checksum-sha256" => out.push(("x-amz-checksum-sha256", base64(sha))),
            "x-amz-sdk-checksum-algorithm" => {
                out.push(("x-amz-sdk-checksum-algorithm", "SHA256".into()))
            }
            "content-type" => out.push(("content-type", "application/zip".into())),
            "host" | "content-length" | "" => {}
            other => tracing::debug!("the upload URL signs {other}, which this tool does not send"),
        }
    }
    out
}

/// AWS's clock, as far as this run knows it, in seconds since the epoch.
fn now(client: &Client) -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
        + client.clock_offset() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_has_three_forms() {
        let sha: [u8; 32] = sha2::Sha256::digest(b"abc").into();
        let [b64, hex, prefixed] = digest_forms(&sha);
        assert_eq!(b64, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(prefixed, format!("sha256:{hex}"));
    }

    #[test]
    fn only_the_headers_the_url_signs_are_sent() {
        let sha = [0u8; 32];
        let url = "https://b.s3.amazonaws.com/k?X-Amz-SignedHeaders=host%3Bx-amz-checksum-sha256&X-Amz-Signature=x";
        assert_eq!(
            signed_headers(url, &sha),
            [("x-amz-checksum-sha256", base64(&sha))]
        );
        assert!(signed_headers("https://b/k?X-Amz-SignedHeaders=host", &sha).is_empty());
    }

    #[test]
    fn a_source_upload_leaves_out_modules_git_the_output_and_what_amplifyignore_lists() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(AMPLIFYIGNORE),
            "*.log\n!keep.log\nsecrets/\n",
        )
        .unwrap();
        let skip = Skip::for_source(dir.path(), Some("app/dist".into())).unwrap();
        for (path, is_dir) in [
            ("node_modules", true),
            ("packages/a/node_modules", true),
            (".git", true),
            ("app/dist", true),
            (".amplifyignore", false),
            ("debug.log", false),
            ("src/x.log", false),
            ("secrets", true),
        ] {
            assert!(skip.skips(path, is_dir), "{path} is left out");
        }
        for (path, is_dir) in [
            ("keep.log", false),
            ("src/main.js", false),
            ("app", true),
            ("dist", true),
            ("secrets", false),
        ] {
            assert!(!skip.skips(path, is_dir), "{path} is kept");
        }
    }
}
