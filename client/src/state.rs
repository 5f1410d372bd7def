//! Resume state of an upload, kept on disk so that a new process can continue it.
//!
//! One JSON file per upload in the state folder, named by a hash of the server URL, the
//! options and every file's absolute path, size and modification time: running the same
//! `sealdrop send` again finds it. It holds secrets (link secret, server secret, upload
//! token), so it is created with mode 0600 in a 0700 folder, and deleted after finalize.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::error::{ClientError, Result};

/// `$XDG_STATE_HOME/sealdrop`, else `~/.local/state/sealdrop`; `None` without a home.
pub fn default_state_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("sealdrop"));
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".local/state/sealdrop"))
}

/// What identifies one local file of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileFingerprint {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    pub(crate) mtime_ns: i128,
}

/// Everything needed to continue an upload.
#[derive(Serialize, Deserialize)]
pub(crate) struct UploadState {
    pub(crate) version: u32,
    pub(crate) server: String,
    pub(crate) files: Vec<FileFingerprint>,
    /// b64u package id.
    pub(crate) id: String,
    pub(crate) upload_token: String,
    /// b64u S.
    pub(crate) server_secret: String,
    /// b64u C.
    pub(crate) link_secret: String,
    /// b64u manifest bytes.
    pub(crate) manifest: String,
}

impl Drop for UploadState {
    fn drop(&mut self) {
        self.upload_token.zeroize();
        self.server_secret.zeroize();
        self.link_secret.zeroize();
    }
}

/// Where one upload's state lives (or would).
#[derive(Debug, Clone)]
pub(crate) struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The state file for these files, options and server, in `dir`.
    pub(crate) fn locate(
        dir: &Path,
        server: &str,
        options_key: &str,
        files: &[FileFingerprint],
    ) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"sealdrop upload state v1\0");
        hash.update(server.as_bytes());
        hash.update(b"\0");
        hash.update(options_key.as_bytes());
        for file in files {
            hash.update(b"\0");
            hash.update(file.path.to_string_lossy().as_bytes());
            hash.update(b"\0");
            hash.update(file.size.to_be_bytes());
            hash.update(file.mtime_ns.to_be_bytes());
        }
        let name = format!("upload-{}.json", &hex::encode(hash.finalize())[..32]);
        StateFile {
            path: dir.join(name),
        }
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state, if any that matches; a corrupt or foreign file is ignored.
    pub(crate) fn load(&self, server: &str, files: &[FileFingerprint]) -> Option<UploadState> {
        let mut text = fs::read(&self.path).ok()?;
        let state: Option<UploadState> = serde_json::from_slice(&text).ok();
        text.zeroize();
        state.filter(|s| s.version == 1 && s.server == server && s.files == files)
    }

    /// Writes `state` atomically, readable only by the owner.
    pub(crate) fn save(&self, state: &UploadState) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let mut text = serde_json::to_vec_pretty(state)
            .map_err(|e| ClientError::Protocol(format!("cannot write resume state: {e}")))?;
        let tmp = self.path.with_extension("json.tmp");
        let written = write_private(&tmp, &text);
        text.zeroize();
        written.map_err(|e| ClientError::io("cannot write resume state", &tmp, e))?;
        fs::rename(&tmp, &self.path)
            .map_err(|e| ClientError::io("cannot write resume state", &self.path, e))
    }

    /// Deletes the state (the upload is finalized or cannot be resumed).
    pub(crate) fn remove(&self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| ClientError::io("cannot create the state folder", dir, e))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        // An older file keeps its mode on open: make sure.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(size: u64) -> Vec<FileFingerprint> {
        vec![FileFingerprint {
            path: "/tmp/a.bin".into(),
            size,
            mtime_ns: 1,
        }]
    }

    fn state(files: Vec<FileFingerprint>) -> UploadState {
        UploadState {
            version: 1,
            server: "http://127.0.0.1:1".into(),
            files,
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            upload_token: "sdu_x".into(),
            server_secret: "s".into(),
            link_secret: "c".into(),
            manifest: "m".into(),
        }
    }

    #[test]
    fn state_round_trips_and_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = fingerprint(5);
        let file = StateFile::locate(dir.path(), "http://127.0.0.1:1", "opts", &files);
        file.save(&state(files.clone())).expect("save");
        let loaded = file.load("http://127.0.0.1:1", &files).expect("load");
        assert_eq!(loaded.upload_token, "sdu_x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(file.path())
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        file.remove();
        assert!(file.load("http://127.0.0.1:1", &files).is_none());
    }

    #[test]
    fn a_changed_file_means_a_different_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = StateFile::locate(dir.path(), "s", "o", &fingerprint(5));
        let b = StateFile::locate(dir.path(), "s", "o", &fingerprint(6));
        let c = StateFile::locate(dir.path(), "s", "other options", &fingerprint(5));
        assert_ne!(a.path(), b.path());
        assert_ne!(a.path(), c.path());
    }
}
