//! The server's own keys (the verification key, the Zendesk session and token keys): each is
//! either configured (base64url in a flag or environment variable, the same on every
//! instance) or kept in a file of the data folder, made with 32 random bytes on first start.

use std::path::Path;

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use zeroize::Zeroizing;

/// The configured key (`configured`, b64u), or the one in `file`, made (32 random bytes,
/// mode 0600) if missing. `name` is the environment variable, for messages.
pub async fn load_or_create(
    configured: Option<&str>,
    file: &Path,
    name: &str,
) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    if let Some(text) = configured {
        return decode(text, name);
    }
    match tokio::fs::read_to_string(file).await {
        Ok(text) => {
            return decode(&Zeroizing::new(text), name)
                .with_context(|| format!("reading {}", file.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    }
    use tokio::io::AsyncWriteExt;
    let mut bytes = Zeroizing::new(vec![0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let text = Zeroizing::new(format!("{}\n", URL_SAFE_NO_PAD.encode(&*bytes)));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    match options.open(file).await {
        Ok(mut out) => {
            out.write_all(text.as_bytes()).await?;
            out.sync_all().await?;
            tracing::info!(path = %file.display(), "made a new key ({name})");
            Ok(bytes)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = Zeroizing::new(tokio::fs::read_to_string(file).await?);
            if text.trim().is_empty() {
                anyhow::bail!("{} is empty", file.display());
            }
            decode(&text, name).with_context(|| format!("reading {}", file.display()))
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", file.display())),
    }
}

fn decode(text: &str, name: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    URL_SAFE_NO_PAD
        .decode(text.trim())
        .map(Zeroizing::new)
        .with_context(|| format!("{name} must be base64url without padding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_file_is_made_once_and_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("some.key");
        let first = load_or_create(None, &path, "SOME_KEY").await.expect("made");
        let second = load_or_create(None, &path, "SOME_KEY").await.expect("read");
        assert_eq!(first.len(), 32);
        assert_eq!(*first, *second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "only the owner may read the key");
        }
        let configured = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let third = load_or_create(Some(&configured), &path, "SOME_KEY")
            .await
            .expect("configured");
        assert_eq!(*third, vec![7u8; 32]);
        let error = load_or_create(Some("not base64!"), &path, "SOME_KEY")
            .await
            .expect_err("refused");
        assert!(error.to_string().contains("SOME_KEY"), "{error}");
    }
}
