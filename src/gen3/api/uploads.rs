//! Source uploads on the wire: `CreateSourceUpload`, a presigned URL the zip goes to, checked
//! against the digest given.

use serde::{Deserialize, Serialize};

use crate::aws::error::ApiError;
use crate::gen3::api::client::{Client, parse, timestamp};

/// What `CreateSourceUpload` answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SourceUpload {
    pub source_upload_id: String,
    pub zip_upload: ZipUpload,
    #[serde(default, deserialize_with = "timestamp")]
    pub upload_expires_at: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ZipUpload {
    #[serde(default)]
    pub digest: String,
    pub upload_url: String,
    #[serde(default, deserialize_with = "timestamp")]
    pub url_expires_at: Option<f64>,
}

impl Client {
    /// `POST /source-uploads {ZipUpload: {Digest}}`, once: safe to repeat (an unused upload
    /// expires).
    pub async fn create_source_upload(&self, digest: &str) -> Result<SourceUpload, ApiError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Body<'a> {
            zip_upload: Zip<'a>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Zip<'a> {
            digest: &'a str,
        }
        let body = serde_json::to_vec(&Body {
            zip_upload: Zip { digest },
        })
        .expect("the body serializes");
        let raw = self
            .call(
                "CreateSourceUpload",
                reqwest::Method::POST,
                "/source-uploads",
                body,
            )
            .await?;
        parse("CreateSourceUpload", &raw)
    }
}
