//! The zip a manual deployment uploads: made from a folder, deterministically (entries sorted,
//! forward slashes, fixed times and permissions, so the same folder gives the same bytes), and
//! streamed to a temporary file that is removed on every way out, signals included.
//!
//! Only regular files and the folders that hold them are stored. A symlink is followed only
//! when it resolves inside the folder (the file it names is stored under the link's name);
//! anything else is refused by name, so nothing outside the folder is ever read.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use zip::write::SimpleFileOptions;

/// The largest file Amplify accepts for a deployment.
pub const MAX_ZIP_BYTES: u64 = 5_000_000_000;
/// Every zip starts with a local file header.
pub const ZIP_SIGNATURE: &[u8; 4] = b"PK\x03\x04";

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(
        "{path} is a symlink to {target}, outside the folder; copy the file in, or remove the link"
    )]
    OutsideLink { path: String, target: String },
    #[error("{path} is a symlink loop or points at a folder that holds it; remove the link")]
    LinkLoop { path: String },
    #[error("{path} is neither a file nor a folder (a socket, pipe or device); remove it")]
    Special { path: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "cannot write the zip in {dir}: {source}; set RUNNER_TEMP or TMPDIR to a writable folder with room"
    )]
    Write { dir: String, source: std::io::Error },
    #[error("the zip is {size} bytes, more than the 5 GB Amplify accepts for a deployment")]
    TooLarge { size: u64 },
    #[error("interrupted")]
    Stopped,
}

/// A file removed when dropped, and by the second-signal exit (see [`crate::cancel`]).
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn create(dir: &Path) -> std::io::Result<(TempFile, File)> {
        let name = format!(
            "amplify-start-job-{}-{:016x}.zip",
            std::process::id(),
            crate::random::random_u64()
        );
        let path = dir.join(name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .read(true)
            .create_new(true)
            .open(&path)?;
        crate::cancel::remove_on_exit(&path);
        Ok((TempFile { path }, file))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        crate::cancel::forget_on_exit(&self.path);
    }
}

/// Where temporary zips go: `RUNNER_TEMP` on GitHub, else the system's.
pub fn temp_dir(runner_temp: Option<&str>) -> PathBuf {
    runner_temp.map_or_else(std::env::temp_dir, PathBuf::from)
}

/// Zips `root`'s contents (they become the zip's root) into a new file in `dir`. `stop` is
/// checked between reads, so a signal ends it promptly.
pub fn zip_folder(root: &Path, dir: &Path, stop: &AtomicBool) -> Result<TempFile, ArchiveError> {
    zip_folder_without(root, dir, stop, &|_, _| false)
}

/// [`zip_folder`], leaving out each entry `skip` names (its path in the zip, without a
/// trailing `/`, and whether it is a folder): a folder left out is not read at all.
pub fn zip_folder_without(
    root: &Path,
    dir: &Path,
    stop: &AtomicBool,
    skip: &dyn Fn(&str, bool) -> bool,
) -> Result<TempFile, ArchiveError> {
    let canonical_root = std::fs::canonicalize(root).map_err(|source| ArchiveError::Read {
        path: root.display().to_string(),
        source,
    })?;
    let mut entries = Vec::new();
    let mut walk_state = Walk {
        root: &canonical_root,
        ancestors: vec![canonical_root.clone()],
        skip,
    };
    walk_state.walk(root, "", &mut entries)?;
    let write_err = |source| ArchiveError::Write {
        dir: dir.display().to_string(),
        source,
    };
    let (temp, file) = TempFile::create(dir).map_err(write_err)?;
    let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(256 * 1024, file));
    let mut buf = vec![0u8; 64 * 1024];
    for entry in &entries {
        write_entry(&mut zip, entry, &mut buf, stop).map_err(|e| match e {
            EntryError::Read(source) => ArchiveError::Read {
                path: entry.source.display().to_string(),
                source,
            },
            EntryError::Write(source) => write_err(source),
            EntryError::Stopped => ArchiveError::Stopped,
        })?;
    }
    let mut out = zip
        .finish()
        .map_err(|e| write_err(std::io::Error::other(e)))?;
    out.flush().map_err(write_err)?;
    let size = out.get_ref().metadata().map_err(write_err)?.len();
    if size > MAX_ZIP_BYTES {
        return Err(ArchiveError::TooLarge { size });
    }
    Ok(temp)
}

/// One entry: a folder (`name` ends with `/`) or a file read from `source`.
struct Entry {
    name: String,
    source: PathBuf,
    size: u64,
}

/// A walk of the folder being zipped: its canonical root, the canonical folders being walked
/// (to refuse a link back into one of them), and what is left out.
struct Walk<'a> {
    root: &'a Path,
    ancestors: Vec<PathBuf>,
    skip: &'a dyn Fn(&str, bool) -> bool,
}

impl Walk<'_> {
    /// Collects the entries under the innermost ancestor (shown as `shown`) in sorted order.
    fn walk(
        &mut self,
        shown: &Path,
        prefix: &str,
        out: &mut Vec<Entry>,
    ) -> Result<(), ArchiveError> {
        let dir = self.ancestors.last().expect("the root").clone();
        let read = |e: std::io::Error| ArchiveError::Read {
            path: shown.display().to_string(),
            source: e,
        };
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(&dir)
            .map_err(read)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(read)?;
        names.sort();
        for name in names {
            let text = name.to_string_lossy().into_owned();
            let (path, link_shown) = (dir.join(&name), shown.join(&name));
            let meta = std::fs::symlink_metadata(&path).map_err(|source| ArchiveError::Read {
                path: link_shown.display().to_string(),
                source,
            })?;
            let (real, meta) = if meta.file_type().is_symlink() {
                resolve_link(self.root, &path, &link_shown)?
            } else {
                (path, meta)
            };
            let entry_name = format!("{prefix}{text}");
            if (self.skip)(&entry_name, meta.is_dir()) {
                continue;
            }
            if meta.is_dir() {
                if self.ancestors.contains(&real) {
                    return Err(ArchiveError::LinkLoop {
                        path: link_shown.display().to_string(),
                    });
                }
                out.push(Entry {
                    name: format!("{entry_name}/"),
                    source: real.clone(),
                    size: 0,
                });
                self.ancestors.push(real);
                self.walk(&link_shown, &format!("{entry_name}/"), out)?;
                self.ancestors.pop();
            } else if meta.is_file() {
                out.push(Entry {
                    name: entry_name,
                    source: real,
                    size: meta.len(),
                });
            } else {
                return Err(ArchiveError::Special {
                    path: link_shown.display().to_string(),
                });
            }
        }
        Ok(())
    }
}

/// What a symlink names, when that is inside `root`.
fn resolve_link(
    root: &Path,
    link: &Path,
    shown: &Path,
) -> Result<(PathBuf, std::fs::Metadata), ArchiveError> {
    let target = std::fs::read_link(link)
        .map(|t| t.display().to_string())
        .unwrap_or_default();
    let outside = || ArchiveError::OutsideLink {
        path: shown.display().to_string(),
        target: target.clone(),
    };
    let real = std::fs::canonicalize(link).map_err(|_| outside())?;
    if !real.starts_with(root) {
        return Err(outside());
    }
    let meta = std::fs::metadata(&real).map_err(|source| ArchiveError::Read {
        path: shown.display().to_string(),
        source,
    })?;
    Ok((real, meta))
}

enum EntryError {
    Read(std::io::Error),
    Write(std::io::Error),
    Stopped,
}

fn write_entry<W: Write + std::io::Seek>(
    zip: &mut zip::ZipWriter<W>,
    entry: &Entry,
    buf: &mut [u8],
    stop: &AtomicBool,
) -> Result<(), EntryError> {
    let zip_err = |e: zip::result::ZipError| EntryError::Write(std::io::Error::other(e));
    let options = SimpleFileOptions::default()
        .last_modified_time(zip::DateTime::default())
        .large_file(entry.size >= u64::from(u32::MAX));
    if entry.name.ends_with('/') {
        return zip
            .add_directory(entry.name.as_str(), options.unix_permissions(0o755))
            .map_err(zip_err);
    }
    let mut file = File::open(&entry.source).map_err(EntryError::Read)?;
    zip.start_file(
        entry.name.as_str(),
        options
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o644),
    )
    .map_err(zip_err)?;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(EntryError::Stopped);
        }
        let n = file.read(buf).map_err(EntryError::Read)?;
        if n == 0 {
            return Ok(());
        }
        zip.write_all(&buf[..n]).map_err(EntryError::Write)?;
    }
}

/// Whether `path` starts like a zip file.
pub fn looks_like_zip(path: &Path) -> std::io::Result<bool> {
    let mut head = [0u8; 4];
    let mut file = File::open(path)?;
    let mut read = 0;
    while read < 4 {
        let n = file.read(&mut head[read..])?;
        if n == 0 {
            return Ok(false);
        }
        read += n;
    }
    Ok(&head == ZIP_SIGNATURE)
}
