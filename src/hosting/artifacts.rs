//! `download-artifacts`: after a waited job ends, its artifacts (test reports, screenshots) are
//! fetched into a folder the workflow can keep (`actions/upload-artifact`): `ListArtifacts`,
//! `GetArtifactUrl`, then a GET of each URL, streamed to disk. Names come from AWS and are
//! untrusted: one that is absolute, climbs out with `..` or holds a NUL is refused with a
//! warning, and nothing is written outside the folder. A failure is a warning, never an exit code.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::aws::retry::{Policy, last_error};
use crate::env::{Env, Name, SettingsError};
use crate::hosting::api::artifacts::Artifact;
use crate::hosting::api::client::Client;
use crate::hosting::start_job::RetryError;
use crate::hosting::start_job::repeatable;
use crate::runner::untrusted;

pub const DOWNLOAD_ARTIFACTS: Name = Name {
    var: "AMPLIFY_DOWNLOAD_ARTIFACTS",
    input: "download-artifacts",
};

/// `AMPLIFY_DOWNLOAD_ARTIFACTS`: a folder that is, or can be made (its parent exists).
pub fn folder(env: &Env) -> Result<Option<PathBuf>, SettingsError> {
    let Some(v) = env.get(DOWNLOAD_ARTIFACTS.var) else {
        return Ok(None);
    };
    let path = PathBuf::from(v);
    let bad = |problem: &str| {
        SettingsError::of(
            DOWNLOAD_ARTIFACTS,
            Some(v),
            problem,
            "name a folder to write the job's artifacts into, e.g. amplify-artifacts",
        )
    };
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => return Ok(Some(path)),
        Ok(_) => return Err(bad("not a folder")),
        Err(_) => {}
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if parent.is_dir() {
        Ok(Some(path))
    } else {
        Err(bad("neither it nor its parent folder exists"))
    }
}

/// Where an artifact named `name` goes inside `dir`: `None` for a name that is absolute, climbs
/// out (`..`), holds a NUL or names nothing.
pub fn place(dir: &Path, name: &str) -> Option<PathBuf> {
    if name.contains('\0') || name.starts_with(['/', '\\']) || name.contains(':') {
        return None;
    }
    let mut path = dir.to_path_buf();
    let mut parts = 0;
    for part in name.split(['/', '\\']) {
        match Path::new(part).components().next() {
            None | Some(Component::CurDir) => {}
            Some(Component::Normal(p)) if p == part => {
                path.push(p);
                parts += 1;
            }
            _ => return None,
        }
    }
    (parts > 0).then_some(path)
}

/// Downloads the job's artifacts into `dir`; the number written.
pub async fn download(
    client: &Client,
    job_id: &str,
    dir: &Path,
    policy: &Policy,
    timeout: Duration,
) -> usize {
    let listed = list(client, job_id, policy).await;
    let artifacts = match listed {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(
                "could not list the job's artifacts: {} (allow amplify:ListArtifacts)",
                untrusted(&last_error(e).to_string())
            );
            return 0;
        }
    };
    if artifacts.is_empty() {
        tracing::info!("job {job_id} has no artifacts to download");
        return 0;
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        tracing::warn!("could not make {}: {e}", dir.display());
        return 0;
    }
    let mut written = 0;
    for a in &artifacts {
        let Some(path) = place(dir, &a.artifact_file_name) else {
            tracing::warn!(
                "artifact {:?} is not a safe relative file name: not written",
                untrusted(&a.artifact_file_name)
            );
            continue;
        };
        match fetch_one(client, a, &path, policy, timeout).await {
            Ok(bytes) => {
                tracing::info!("artifact {} ({bytes} bytes)", path.display());
                written += 1;
            }
            Err(e) => tracing::warn!(
                "could not download artifact {}: {}",
                untrusted(&a.artifact_file_name),
                untrusted(&e)
            ),
        }
    }
    tracing::info!(
        "downloaded {written} of {} artifacts into {}",
        artifacts.len(),
        dir.display()
    );
    written
}

async fn list(client: &Client, job_id: &str, policy: &Policy) -> Result<Vec<Artifact>, RetryError> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    // A bound on pages, so a server that never stops paging cannot keep the run.
    for _ in 0..100 {
        let t = token.clone();
        let (page, next) = repeatable(policy, async || {
            client.list_artifacts_page(job_id, t.as_deref()).await
        })
        .await?;
        all.extend(page);
        match next {
            Some(n) => token = Some(n),
            None => break,
        }
    }
    Ok(all)
}

/// One artifact to `path`: its URL, then its bytes, written as they arrive.
async fn fetch_one(
    client: &Client,
    a: &Artifact,
    path: &Path,
    policy: &Policy,
    timeout: Duration,
) -> Result<u64, String> {
    let id = &a.artifact_id;
    let url = repeatable(policy, async || client.get_artifact_url(id).await)
        .await
        .map_err(|e| last_error(e).to_string())?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    repeatable(policy, async || {
        // Each attempt starts the file afresh.
        let mut file =
            std::fs::File::create(path).map_err(|e| crate::aws::error::ApiError::Malformed {
                operation: "artifact",
                detail: e.to_string(),
            })?;
        crate::aws::fetch::get(client.http(), &url, "artifact", timeout, |b| {
            file.write_all(b)
        })
        .await
    })
    .await
    .map_err(|e| last_error(e).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_inside_the_folder_are_placed() {
        let dir = Path::new("/out");
        assert_eq!(
            place(dir, "report.xml"),
            Some(PathBuf::from("/out/report.xml"))
        );
        assert_eq!(
            place(dir, "e2e/shot 1.png"),
            Some(PathBuf::from("/out/e2e/shot 1.png"))
        );
        assert_eq!(place(dir, "./a//b"), Some(PathBuf::from("/out/a/b")));
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "\\\\host\\x",
            "C:\\x",
            "a\0b",
            "",
            ".",
            "a/..",
        ] {
            assert_eq!(place(dir, bad), None, "{bad:?}");
        }
    }
}
