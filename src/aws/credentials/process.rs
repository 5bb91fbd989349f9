//! `credential_process` from a profile: run the command through `sh -c`, read its JSON
//! (`Version` 1, `AccessKeyId`, `SecretAccessKey`, `SessionToken`, `Expiration`) from stdout.
//! Its stderr goes to ours, so its own messages are seen. The command runs as a child the
//! runtime waits on without blocking: a signal while it runs (an SSO or MFA prompt that never
//! ends, say) is heard at once, and the child is killed when the run gives up on it.

use std::process::Stdio;

use tokio::process::Command;

use super::{ProviderError, from_json};

#[derive(Debug, Clone)]
pub struct Process {
    pub profile: String,
    pub command: String,
}

impl Process {
    pub fn describe(&self) -> String {
        format!("credential_process of profile {}", self.profile)
    }

    pub async fn fetch(&self) -> Result<aws_credential_types::Credentials, ProviderError> {
        let out = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                ProviderError::failed(format!(
                    "cannot run credential_process with sh: {e} (an image without a shell cannot run it; use another provider)"
                ))
            })?
            // Not `output()`, which would capture stderr too.
            .wait_with_output()
            .await
            .map_err(|e| ProviderError::failed(format!("credential_process: {e}")))?;
        if !out.status.success() {
            return Err(ProviderError::failed(format!(
                "credential_process exited with {}",
                out.status
            )));
        }
        #[derive(serde::Deserialize)]
        struct Version {
            #[serde(rename = "Version")]
            version: Option<serde_json::Value>,
        }
        match serde_json::from_slice::<Version>(&out.stdout) {
            Ok(Version {
                version: Some(serde_json::Value::Number(n)),
            }) if n.as_u64() == Some(1) => {}
            Ok(_) => {
                return Err(ProviderError::failed(
                    "credential_process printed JSON without \"Version\": 1",
                ));
            }
            Err(e) => {
                return Err(ProviderError::failed(format!(
                    "credential_process did not print JSON: {e}"
                )));
            }
        }
        from_json(&out.stdout, "credential_process")
    }
}
