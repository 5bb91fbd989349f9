//! A zip's upload, for every service: an HTTP `PUT` to the presigned URL the service gave
//! (Hosting's `CreateDeployment`, the new AWS Amplify's `CreateSourceUpload`), exactly as
//! given (no SigV4), with `Content-Length` and the headers the URL signs, through the same
//! proxy and CA rules as every request. The file is streamed from disk, never held in memory; a large one logs its
//! progress at most every 5 s.

use std::io::Read;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::aws::error::ApiError;
use crate::aws::fetch::Presigned;
use crate::aws::net::Http;
use bytes::Bytes;

/// Uploads over this size log their progress.
const PROGRESS_OVER: u64 = 10 * 1024 * 1024;
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
const CHUNK: usize = 256 * 1024;
/// An upload may take longer than one API call: at least this rate is allowed for on top of
/// the request timeout.
const SLOWEST_RATE: u64 = 256 * 1024;

/// One attempt at the upload.
/// `given_by`: the operation and member that gave the URL; `headers`: those the URL signs.
pub async fn put(
    http: &Http,
    url: &str,
    zip: &Path,
    request_timeout: Duration,
    given_by: (&'static str, &str),
    headers: &[(&str, String)],
) -> Result<(), ApiError> {
    let p = Presigned::open(http, url, "upload", given_by)?;
    let unreadable = |e: std::io::Error| p.transport(format!("cannot read the zip: {e}"), false);
    let file = std::fs::File::open(zip).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    let timeout = request_timeout + Duration::from_secs(size / SLOWEST_RATE);
    let body = FileBody::new(file, size);
    let mut req = p.client.put(p.url.clone()).header("content-length", size);
    for (name, value) in headers {
        req = req.header(*name, value.as_str());
    }
    let resp = req
        .timeout(timeout)
        .body(reqwest::Body::wrap(body))
        .send()
        .await
        .map_err(|e| p.failed(&e))?;
    if resp.status().is_success() {
        return Ok(());
    }
    let hint = (resp.status().as_u16() == 403).then(|| {
        "the presigned upload URL was refused: it may have expired; run again to get a new one"
            .to_string()
    });
    Err(p.refusal(resp, hint).await)
}

/// The zip, read in chunks as the request is sent.
struct FileBody {
    file: std::fs::File,
    size: u64,
    sent: u64,
    progress: Progress,
}

impl FileBody {
    fn new(file: std::fs::File, size: u64) -> FileBody {
        FileBody {
            file,
            size,
            sent: 0,
            progress: Progress::new(size),
        }
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        let left = self.size - self.sent;
        if left == 0 {
            return Poll::Ready(None);
        }
        let mut buf = vec![0u8; CHUNK.min(left as usize)];
        // A local file: a short blocking read, as `std::io::copy` would do.
        match self.file.read(&mut buf) {
            Ok(0) => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the zip got shorter while it was uploaded",
            )))),
            Ok(n) => {
                buf.truncate(n);
                self.sent += n as u64;
                let sent = self.sent;
                self.progress.sent(sent);
                Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(buf)))))
            }
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.size - self.sent)
    }

    fn is_end_stream(&self) -> bool {
        self.sent == self.size
    }
}

/// A progress line at most every 5 s for a large upload: bytes, percent, rate.
struct Progress {
    size: u64,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(size: u64) -> Progress {
        let now = Instant::now();
        Progress {
            size,
            started: now,
            last: now,
        }
    }

    fn sent(&mut self, sent: u64) {
        if self.size <= PROGRESS_OVER || self.last.elapsed() < PROGRESS_EVERY {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        tracing::info!(
            "uploaded {sent} of {} bytes ({}%) at {:.1} MB/s",
            self.size,
            sent * 100 / self.size,
            sent as f64 / secs / 1e6
        );
    }
}
