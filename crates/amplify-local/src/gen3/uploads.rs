//! Source uploads: `CreateSourceUpload` answers an id and a presigned URL that signs
//! `x-amz-checksum-sha256`; the `PUT` to it is checked against the digest given (its base64
//! form, S3's checksum form: the real form is not documented) and the bytes sent.

use serde_json::{Value, json};
use sha2::Digest as _;

use crate::answer::json_object;
use crate::gen3::routes::validation;
use crate::http::{Request, Response};
use crate::presign::{self, Grant, s3_error};
use crate::state::{Config, State, now};

#[derive(Debug, Clone)]
pub struct SourceUpload {
    pub id: String,
    /// The digest as given: base64 of the zip's SHA-256.
    pub digest: String,
    pub created: f64,
    pub expires: f64,
    /// The bytes the `PUT` stored, once it did.
    pub size: Option<u64>,
    /// What the `PUT` sent.
    pub data: Vec<u8>,
}

/// How long an upload (and its URL) lasts: a guess (AWS returns `UrlExpiresAt`).
const UPLOAD_TTL: u64 = 3600;

/// The digest as this endpoint takes it: the base64 of 32 bytes.
fn base64_sha256(d: &str) -> Option<[u8; 32]> {
    let bytes = decode_base64(d)?;
    bytes.try_into().ok()
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.as_bytes();
    if s.is_empty() || s.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::new();
    for chunk in s.chunks(4) {
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = if i >= 4 - pad { 0 } else { val(*c)? };
            n |= v << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// The SHA-256 a digest names, in the one form this endpoint takes (`--digest-form`: `base64`,
/// the default and S3's checksum form, `hex` or `sha256:hex`; AWS's is not documented).
fn digest_in(d: &str, form: &str) -> Option<[u8; 32]> {
    let hex = |h: &str| -> Option<[u8; 32]> {
        if h.len() != 64
            || !h
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        bytes.try_into().ok()
    };
    match form {
        "hex" => hex(d),
        "sha256" => hex(d.strip_prefix("sha256:")?),
        "base64" => base64_sha256(d),
        _ => None,
    }
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// `POST /source-uploads {ZipUpload: {Digest}}`.
pub fn create(req: &Request, config: &Config, s: &mut State) -> Response {
    let body = match json_object(&req.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(digest) = body.pointer("/ZipUpload/Digest").and_then(Value::as_str) else {
        return validation(
            "1 validation error detected: Value null at 'zipUpload.digest' failed to satisfy constraint: Member must not be null",
        );
    };
    if !(1..=256).contains(&digest.chars().count()) {
        return validation(
            "1 validation error detected: Value at 'zipUpload.digest' failed to satisfy constraint: Member must have length between 1 and 256",
        );
    }
    let Some(sha) = digest_in(digest, &config.gen3_digest_form) else {
        return validation(&format!(
            "Invalid digest {digest}: expected the SHA-256 of the .zip file"
        ));
    };
    let t = now();
    let id = format!(
        "su-{:016x}",
        crate::state::scramble(s.gen3.uploads.len() + 7)
    );
    let grant = Grant {
        app_id: String::new(),
        branch: String::new(),
        job_id: 0,
        item: id.clone(),
        expires: 0.0,
    };
    let url = presign::issue(s, "_gen3upload", grant, UPLOAD_TTL)
        + "&X-Amz-SignedHeaders=host%3Bx-amz-checksum-sha256";
    let _ = config;
    s.gen3.uploads.push(SourceUpload {
        id: id.clone(),
        digest: crate::gen3::uploads::base64(&sha),
        created: t,
        expires: t + UPLOAD_TTL as f64,
        size: None,
        data: Vec::new(),
    });
    Response::json(
        200,
        &json!({
            "SourceUploadId": id,
            "ZipUpload": {"Digest": digest, "UploadUrl": url, "UrlExpiresAt": (t + UPLOAD_TTL as f64).floor()},
            "UploadExpiresAt": (t + UPLOAD_TTL as f64).floor(),
        }),
    )
}

/// `GET /source-uploads/{SourceUploadId}`.
pub fn get(id: &str, s: &State) -> Response {
    let Some(u) = s.gen3.uploads.iter().find(|u| u.id == id) else {
        return crate::gen3::routes::error(
            404,
            "ResourceNotFoundException",
            &format!("Source upload {id} not found."),
        );
    };
    Response::json(
        200,
        &json!({
            "SourceUploadId": u.id,
            "ZipUpload": {"Digest": u.digest, "UploadUrl": "", "UrlExpiresAt": u.expires.floor()},
            "CreatedAt": u.created.floor(),
            "UploadExpiresAt": u.expires.floor(),
            "SizeInBytes": u.size.unwrap_or(0),
        }),
    )
}

/// The `PUT` to the upload URL: the checksum header must be there, match the digest given
/// and the bytes sent (S3's `BadDigest` otherwise).
pub fn put(token: &str, req: &Request, s: &mut State) -> Response {
    let grant = match presign::redeem(s, token, &req.method, "PUT") {
        Ok(g) => g,
        Err(r) => return r,
    };
    let Some(u) = s.gen3.uploads.iter_mut().find(|u| u.id == grant.item) else {
        return s3_error(404, "NoSuchUpload", "The specified upload does not exist");
    };
    let Some(sent) = req.header("x-amz-checksum-sha256") else {
        return s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided: x-amz-checksum-sha256 is signed and missing",
        );
    };
    let actual: [u8; 32] = sha2::Sha256::digest(&req.body).into();
    if base64_sha256(sent) != Some(actual) || base64_sha256(&u.digest) != Some(actual) {
        return s3_error(
            400,
            "BadDigest",
            "The SHA256 you specified did not match the calculated checksum.",
        );
    }
    u.size = Some(req.body.len() as u64);
    u.data = req.body.clone();
    Response::new(200, "application/xml", String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_as_rfc_4648_says() {
        assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
        assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        assert!(decode_base64("Zg=").is_none());
        let sha: [u8; 32] = sha2::Sha256::digest(b"abc").into();
        assert_eq!(
            base64_sha256("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="),
            Some(sha)
        );
        assert!(
            base64_sha256("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
                .is_none()
        );
    }
}
