//! What a manual deployment deploys: a folder (zipped here), a zip file (uploaded as it is),
//! or a URL Amplify fetches itself. Checked before anything is sent.

use std::path::PathBuf;

use crate::archive::{MAX_ZIP_BYTES, looks_like_zip};
use crate::env::{Env, Name, SettingsError};

pub const SOURCE: Name = Name {
    var: "AMPLIFY_SOURCE",
    input: "source",
};
pub const SOURCE_URL: Name = Name {
    var: "AMPLIFY_SOURCE_URL",
    input: "source-url",
};
pub const SOURCE_URL_TYPE: Name = Name {
    var: "AMPLIFY_SOURCE_URL_TYPE",
    input: "source-url-type",
};
/// The model's limit for `sourceUrl`.
const SOURCE_URL_MAX: usize = 3000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A folder whose contents become the zip's root.
    Folder(PathBuf),
    /// A zip file, uploaded as it is.
    Zip(PathBuf),
    /// `StartDeployment` with `sourceUrl`: Amplify fetches it, nothing is uploaded.
    Url { url: String, kind: UrlType },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlType {
    Zip,
    BucketPrefix,
}

impl UrlType {
    pub fn as_str(self) -> &'static str {
        match self {
            UrlType::Zip => "ZIP",
            UrlType::BucketPrefix => "BUCKET_PREFIX",
        }
    }
}

impl Source {
    /// `AMPLIFY_SOURCE` or `AMPLIFY_SOURCE_URL` (never both), with `AMPLIFY_SOURCE_URL_TYPE`.
    pub fn from_env(env: &Env) -> Result<Option<Source>, SettingsError> {
        let url_type = env.get(SOURCE_URL_TYPE.var);
        match (env.get(SOURCE.var), env.get(SOURCE_URL.var)) {
            (Some(_), Some(url)) => Err(SettingsError::of(
                SOURCE_URL,
                Some(url),
                "it is set together with AMPLIFY_SOURCE (input source)",
                "set one: source for a folder or zip to upload, or source-url for files Amplify fetches",
            )),
            (Some(path), None) => {
                if let Some(t) = url_type {
                    return Err(only_with_url(t));
                }
                local(path).map(Some)
            }
            (None, Some(url)) => remote(url, url_type).map(Some),
            (None, None) => match url_type {
                Some(t) => Err(only_with_url(t)),
                None => Ok(None),
            },
        }
    }

    /// What the log says is deployed.
    pub fn describe(&self) -> String {
        match self {
            Source::Folder(p) => format!("the folder {}", p.display()),
            Source::Zip(p) => format!("the zip {}", p.display()),
            Source::Url { url, kind } => format!("{url} ({})", kind.as_str()),
        }
    }
}

fn only_with_url(value: &str) -> SettingsError {
    SettingsError::of(
        SOURCE_URL_TYPE,
        Some(value),
        "it is only used with AMPLIFY_SOURCE_URL (input source-url)",
        "set source-url too, or leave source-url-type empty",
    )
}

/// A folder with something in it, or a readable zip.
fn local(path: &str) -> Result<Source, SettingsError> {
    let bad = |problem: &str, fix: &str| SettingsError::of(SOURCE, Some(path), problem, fix);
    let fix_path = "point it at the build output folder (e.g. dist) or a .zip of it; relative paths start at the working directory";
    let meta =
        std::fs::metadata(path).map_err(|e| bad(&format!("cannot be read ({e})"), fix_path))?;
    let buf = PathBuf::from(path);
    if meta.is_dir() {
        let mut entries =
            std::fs::read_dir(&buf).map_err(|e| bad(&format!("cannot be read ({e})"), fix_path))?;
        if entries.next().is_none() {
            return Err(bad(
                "the folder is empty",
                "build the site first, or point it at the folder the build writes",
            ));
        }
        return Ok(Source::Folder(buf));
    }
    if !path.to_ascii_lowercase().ends_with(".zip") {
        return Err(bad("a file that is not a .zip", fix_path));
    }
    if meta.len() > MAX_ZIP_BYTES {
        return Err(bad(
            &format!(
                "{} bytes, more than the 5 GB Amplify accepts for a deployment",
                meta.len()
            ),
            "deploy less (e.g. without source maps), or host the rest elsewhere",
        ));
    }
    match looks_like_zip(&buf) {
        Ok(true) => Ok(Source::Zip(buf)),
        Ok(false) => Err(bad(
            "not a zip file (it does not start with a zip signature)",
            "point it at a real .zip, or at the folder to zip",
        )),
        Err(e) => Err(bad(&format!("cannot be read ({e})"), fix_path)),
    }
}

/// An `s3://` or `http(s)://` URL, as the model's pattern and length allow.
fn remote(url: &str, url_type: Option<&str>) -> Result<Source, SettingsError> {
    let scheme_ok = ["s3://", "https://", "http://"]
        .iter()
        .any(|p| url.starts_with(p) && url.len() > p.len());
    if !scheme_ok || url.chars().count() > SOURCE_URL_MAX || url.chars().any(char::is_control) {
        return Err(SettingsError::of(
            SOURCE_URL,
            Some(url),
            "a source URL is s3://bucket/prefix, s3://bucket/key.zip or an https:// URL of a zip, at most 3000 characters",
            "use e.g. s3://my-bucket/site/ or https://example.com/site.zip",
        ));
    }
    let kind = match url_type.map(str::to_ascii_uppercase).as_deref() {
        Some("ZIP") => UrlType::Zip,
        Some("BUCKET_PREFIX") => UrlType::BucketPrefix,
        Some(_) => {
            return Err(SettingsError::of(
                SOURCE_URL_TYPE,
                url_type,
                "not a source URL type",
                "use ZIP or BUCKET_PREFIX, or leave it empty to choose by the URL",
            ));
        }
        None if url.to_ascii_lowercase().ends_with(".zip") || !url.starts_with("s3://") => {
            UrlType::Zip
        }
        None => UrlType::BucketPrefix,
    };
    Ok(Source::Url {
        url: url.to_string(),
        kind,
    })
}
