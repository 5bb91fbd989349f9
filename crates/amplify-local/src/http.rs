//! Just enough HTTP/1.1 to serve the Amplify job API, with full control of the socket so
//! faults (reset, hang, answer-then-drop) can be scripted.

use std::future::Future;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// Runs `serve` on `listener` on a thread with its own current-thread runtime, until the
/// returned sender fires or is dropped.
pub fn serve_on_thread<F, Fut>(
    listener: std::net::TcpListener,
    serve: F,
) -> tokio::sync::oneshot::Sender<()>
where
    F: FnOnce(TcpListener) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            listener.set_nonblocking(true).expect("nonblocking");
            let listener = TcpListener::from_std(listener).expect("listener");
            tokio::select! {
                _ = serve(listener) => {}
                _ = rx => {}
            }
        });
    });
    tx
}

const MAX_HEAD: usize = 64 * 1024;
/// The largest body accepted; a larger one is answered 413.
pub const MAX_BODY: usize = 1024 * 1024;
/// The largest zip an upload URL (`/_upload/...`, `/_gen3upload/...`) accepts here: tests and
/// benchmarks only.
pub const MAX_UPLOAD: usize = 1024 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target exactly as sent: raw path plus `?query`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn raw_path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    pub fn raw_query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status, "application/json", value.to_string())
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// The body (declared, or chunked so far) is larger than the endpoint accepts.
    TooLarge(usize),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads one request (a `Content-Length` or a `Transfer-Encoding: chunked` body); `Ok(None)`
/// when the peer closed the connection between requests.
pub async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<Option<Request>, ReadError> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let method = parsed.method.unwrap_or_default().to_string();
                let target = parsed.path.unwrap_or_default().to_string();
                let headers: Vec<(String, String)> = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let find = |name: &str| {
                    headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.trim().to_ascii_lowercase())
                };
                buf.drain(..head_len);
                let limit =
                    if target.starts_with("/_upload/") || target.starts_with("/_gen3upload/") {
                        MAX_UPLOAD
                    } else {
                        MAX_BODY
                    };
                let body = if find("transfer-encoding").is_some_and(|te| te.ends_with("chunked")) {
                    read_chunked(stream, buf, limit).await?
                } else {
                    let len = find("content-length")
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if len > limit {
                        return Err(ReadError::TooLarge(len));
                    }
                    fill(stream, buf, len).await?;
                    buf.drain(..len).collect()
                };
                return Ok(Some(Request {
                    method,
                    target,
                    headers,
                    body,
                }));
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEAD {
                    return Err(invalid("request head too large").into());
                }
                if read_more(stream, buf).await? == 0 {
                    return if buf.is_empty() {
                        Ok(None)
                    } else {
                        Err(invalid("connection closed inside a request head").into())
                    };
                }
            }
            Err(e) => return Err(invalid(&e.to_string()).into()),
        }
    }
}

/// Reads until `buf` holds at least `len` bytes.
async fn fill<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    len: usize,
) -> std::io::Result<()> {
    while buf.len() < len {
        if read_more(stream, buf).await? == 0 {
            return Err(invalid("connection closed inside a body"));
        }
    }
    Ok(())
}

/// One CRLF-terminated line from the front of `buf`, without the CRLF.
async fn line<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> std::io::Result<String> {
    loop {
        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..i]).into_owned();
            buf.drain(..i + 2);
            return Ok(line);
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("chunk line too long"));
        }
        if read_more(stream, buf).await? == 0 {
            return Err(invalid("connection closed inside a chunked body"));
        }
    }
}

/// A `Transfer-Encoding: chunked` body, decoded (chunk extensions and trailers dropped).
async fn read_chunked<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    limit: usize,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let size_line = line(stream, buf).await?;
        let hex = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(hex, 16).map_err(|_| invalid("bad chunk size"))?;
        if size == 0 {
            while !line(stream, buf).await?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > limit {
            return Err(ReadError::TooLarge(body.len() + size));
        }
        fill(stream, buf, size + 2).await?;
        body.extend(buf.drain(..size));
        if buf.drain(..2).as_slice() != b"\r\n" {
            return Err(invalid("a chunk does not end with CRLF").into());
        }
    }
}

async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut chunk = [0u8; 64 * 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn invalid(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_string())
}

pub async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    resp: &Response,
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (n, v) in &resp.headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", resp.body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&resp.body);
    stream.write_all(&bytes).await?;
    stream.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}
