//! Sending: create a package, build and store its manifest, upload every file as parts of
//! 128 encrypted chunks, finalize.
//!
//! Memory stays bounded: a part is read and sealed chunk by chunk straight into its upload
//! buffer, and at most `parallel` parts exist at once (their buffers are reused). Parts are
//! deterministic (the same key and chunk index always give the same ciphertext), so a resumed
//! upload re-creates exactly the bytes the server expects.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use reqwest::StatusCode;
use sealdrop_api::error::ErrorCode;
use sealdrop_api::packages::{CreatedPackage, PartsListing};
use sealdrop_crypto::{
    default_aead, part_count, part_plaintext_len, seal_package, FileInfo, FileKey, LinkProof,
    LinkSecret, Manifest, Metadata, OsRandom, PackageId, SecureLink, ServerSecret, StreamEncryptor,
    CHUNK_SIZE, PART_CHUNKS,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{ClientError, Result};
use crate::http::{self, Answer};
use crate::media::guess_media_type;
use crate::progress::Progress;
use crate::state::{FileFingerprint, StateFile, UploadState};
use crate::{Client, SendOptions};

const UPLOAD_TOKEN: &str = "X-Sealdrop-Upload-Token";

/// One local file to send.
#[derive(Debug, Clone)]
struct LocalFile {
    fingerprint: FileFingerprint,
    name: String,
}

impl LocalFile {
    fn size(&self) -> u64 {
        self.fingerprint.size
    }

    fn path(&self) -> &Path {
        &self.fingerprint.path
    }
}

/// An upload in progress: everything needed to send parts and finalize.
struct Upload<'a> {
    client: &'a Client,
    files: Vec<LocalFile>,
    id: PackageId,
    upload_token: Zeroizing<String>,
    link_secret: LinkSecret,
    manifest: Vec<u8>,
    verifier: String,
    keys: Vec<FileKey>,
    buffers: BufferPool,
}

pub(crate) async fn send(
    client: &Client,
    paths: &[PathBuf],
    options: &SendOptions,
    progress: &dyn Progress,
) -> Result<SecureLink> {
    if paths.is_empty() {
        return Err(ClientError::NothingToSend);
    }
    let files = inspect(paths)?;
    let fingerprints: Vec<FileFingerprint> = files.iter().map(|f| f.fingerprint.clone()).collect();
    let state_file = client
        .state_dir
        .as_deref()
        .map(|dir| StateFile::locate(dir, &client.base, &options_key(options), &fingerprints));
    progress.start(files.iter().map(LocalFile::size).sum());

    if let Some(saved) = state_file
        .as_ref()
        .and_then(|s| s.load(&client.base, &fingerprints))
    {
        let upload = Upload::from_state(client, files.clone(), &saved)?;
        // An earlier run may have finalized and stopped before deleting the state.
        if upload.is_finalized(progress).await? {
            progress.note("This upload had already completed.");
            if let Some(state) = &state_file {
                state.remove();
            }
            return Ok(upload.link());
        }
        match upload.held_parts(progress).await {
            Ok(held) => {
                let link = upload.finish(held, true, progress).await?;
                if let Some(state) = &state_file {
                    state.remove();
                }
                return Ok(link);
            }
            Err(
                ClientError::Unauthorized(_)
                | ClientError::NotFound
                | ClientError::Expired
                | ClientError::Revoked,
            ) => {
                // The upload token no longer works: the unfinished upload expired or was
                // purged.
                progress.note("The interrupted upload can no longer be resumed; starting over.");
                if let Some(state) = &state_file {
                    state.remove();
                }
            }
            Err(e) => return Err(e),
        }
    }

    let (upload, state) = Upload::create(client, files, options, progress).await?;
    if let Some(file) = &state_file {
        file.save(&state)?;
    }
    drop(state);
    upload.put_manifest(progress).await?;
    let link = upload.finish(BTreeMap::new(), false, progress).await?;
    if let Some(state) = &state_file {
        state.remove();
    }
    Ok(link)
}

/// Checks the paths are readable regular files and notes what identifies them.
fn inspect(paths: &[PathBuf]) -> Result<Vec<LocalFile>> {
    paths
        .iter()
        .map(|path| {
            let absolute = std::path::absolute(path)
                .map_err(|e| ClientError::io("cannot resolve", path, e))?;
            let meta = std::fs::metadata(&absolute)
                .map_err(|e| ClientError::io("cannot read", path, e))?;
            if !meta.is_file() {
                return Err(ClientError::NotAFile { path: path.clone() });
            }
            File::open(&absolute).map_err(|e| ClientError::io("cannot open", path, e))?;
            let name = absolute
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file".to_owned());
            Ok(LocalFile {
                fingerprint: FileFingerprint {
                    path: absolute,
                    size: meta.len(),
                    mtime_ns: mtime_ns(&meta),
                },
                name,
            })
        })
        .collect()
}

fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    match meta.modified().map(|t| t.duration_since(UNIX_EPOCH)) {
        Ok(Ok(after)) => after.as_nanos() as i128,
        Ok(Err(before)) => -(before.duration().as_nanos() as i128),
        Err(_) => 0,
    }
}

/// What makes two runs "the same upload" besides the files.
fn options_key(options: &SendOptions) -> String {
    format!(
        "{:?}|{}|{:?}|{:?}|{:?}",
        options.recipients,
        options.require_auth,
        options.expires.map(|d| d.as_secs()),
        options.max_downloads,
        options.message
    )
}

impl<'a> Upload<'a> {
    /// Creates the package on the server and builds its manifest.
    async fn create(
        client: &'a Client,
        files: Vec<LocalFile>,
        options: &SendOptions,
        progress: &dyn Progress,
    ) -> Result<(Upload<'a>, UploadState)> {
        let mut body = json!({
            "recipients": options.recipients,
            "require_auth": options.require_auth,
        });
        if let Some(expires) = options.expires {
            body["expires_in_secs"] = json!(expires.as_secs());
        }
        if let Some(max) = options.max_downloads {
            body["max_downloads"] = json!(max);
        }
        let url = format!("{}/api/v1/packages", client.base);
        let answer = http::send("create the package", client.retry, progress, || {
            client.credential.apply(client.http.post(&url)).json(&body)
        })
        .await?;
        if !answer.is_success() {
            return Err(answer.into_error());
        }
        let created: CreatedPackage = answer.json()?;
        let created_token = Zeroizing::new(created.upload_token.as_str().to_owned());
        if created.part_chunks != PART_CHUNKS {
            return Err(ClientError::Protocol(format!(
                "the server uses parts of {} chunks; this client sends {PART_CHUNKS}",
                created.part_chunks
            )));
        }
        let max = created.max_file_size;
        if let Some(big) = files.iter().find(|f| f.size() > max) {
            return Err(ClientError::TooLarge {
                path: big.path().to_owned(),
                max,
            });
        }

        let id = PackageId::parse_b64u(created.id.as_str())
            .map_err(|_| ClientError::Protocol("the server sent an invalid package id".into()))?;
        let server_secret =
            ServerSecret::parse_b64u(created.server_secret.as_str()).map_err(|_| {
                ClientError::Protocol("the server sent an invalid server secret".into())
            })?;
        let metadata = Metadata {
            files: files
                .iter()
                .map(|f| FileInfo {
                    name: f.name.clone(),
                    size: f.size(),
                    media_type: guess_media_type(&f.name).to_owned(),
                })
                .collect(),
            message: options.message.clone(),
            sender: None,
        };
        let sealed = seal_package(
            default_aead(),
            &OsRandom,
            id,
            &server_secret,
            &metadata,
            &[],
        )?;

        let state = UploadState {
            version: 1,
            server: client.base.clone(),
            files: files.iter().map(|f| f.fingerprint.clone()).collect(),
            id: created.id.as_str().to_owned(),
            upload_token: created_token.to_string(),
            server_secret: server_secret.to_b64u(),
            link_secret: sealed.link_secret.to_b64u(),
            manifest: URL_SAFE_NO_PAD.encode(&sealed.manifest),
        };
        let upload = Upload::assemble(
            client,
            files,
            id,
            created_token,
            sealed.link_secret,
            sealed.manifest,
            sealed.file_keys,
        );
        Ok((upload, state))
    }

    /// An upload continued from saved state. The state keeps the manifest and the secrets but
    /// no key: opening the manifest with `C` and `S` gives the file keys back (and checks the
    /// state was not damaged).
    fn from_state(client: &'a Client, files: Vec<LocalFile>, state: &UploadState) -> Result<Self> {
        let corrupt =
            |what: &str| ClientError::Protocol(format!("the resume state has an invalid {what}"));
        let id = PackageId::parse_b64u(&state.id).map_err(|_| corrupt("package id"))?;
        let server_secret =
            ServerSecret::parse_b64u(&state.server_secret).map_err(|_| corrupt("server secret"))?;
        let link_secret =
            LinkSecret::parse_b64u(&state.link_secret).map_err(|_| corrupt("link secret"))?;
        let manifest = URL_SAFE_NO_PAD
            .decode(&state.manifest)
            .map_err(|_| corrupt("manifest"))?;
        let opened = Manifest::parse(&manifest)?.open_with_link(
            default_aead(),
            &link_secret,
            &server_secret,
        )?;
        if opened.files().len() != files.len() {
            return Err(ClientError::Protocol(
                "the resume state does not match the files".into(),
            ));
        }
        let keys = (0..files.len())
            .map(|i| opened.file_key(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Upload::assemble(
            client,
            files,
            id,
            Zeroizing::new(state.upload_token.clone()),
            link_secret,
            manifest,
            keys,
        ))
    }

    /// An upload of `files` under a sealed manifest, with the key of each file.
    fn assemble(
        client: &'a Client,
        files: Vec<LocalFile>,
        id: PackageId,
        upload_token: Zeroizing<String>,
        link_secret: LinkSecret,
        manifest: Vec<u8>,
        keys: Vec<FileKey>,
    ) -> Self {
        let verifier = LinkProof::derive(&link_secret, &id).verifier().to_b64u();
        Upload {
            client,
            files,
            id,
            upload_token,
            link_secret,
            manifest,
            verifier,
            keys,
            buffers: BufferPool::default(),
        }
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/api/v1/packages/{}{rest}",
            self.client.base,
            self.id.to_b64u()
        )
    }

    fn link(&self) -> SecureLink {
        SecureLink::new(&self.client.base, self.id, self.link_secret.clone())
    }

    async fn put_manifest(&self, progress: &dyn Progress) -> Result<()> {
        let url = self.url("/manifest");
        let body = Bytes::from(self.manifest.clone());
        let answer = http::send("store the manifest", self.client.retry, progress, || {
            self.client
                .http
                .put(&url)
                .header(UPLOAD_TOKEN, self.upload_token.as_str())
                .header("X-Sealdrop-Link-Verifier", &self.verifier)
                .header("Content-Type", "application/octet-stream")
                .body(body.clone())
        })
        .await?;
        expect_success(answer)
    }

    /// Which parts the server holds, per file.
    async fn held_parts(&self, progress: &dyn Progress) -> Result<BTreeMap<usize, BTreeSet<u64>>> {
        let url = self.url("/parts");
        let answer = http::send(
            "ask which parts the server holds",
            self.client.retry,
            progress,
            || {
                self.client
                    .http
                    .get(&url)
                    .header(UPLOAD_TOKEN, self.upload_token.as_str())
            },
        )
        .await?;
        if !answer.is_success() {
            return Err(answer.into_error());
        }
        let held: PartsListing = answer.json()?;
        held.files
            .into_iter()
            .map(|f| {
                let file = usize::try_from(f.file).map_err(|_| {
                    ClientError::Protocol(format!(
                        "the server lists a file {} this client cannot hold",
                        f.file
                    ))
                })?;
                Ok((file, f.parts.into_iter().collect()))
            })
            .collect()
    }

    /// Whether the package already works (a link-proof `GET` answers).
    async fn is_finalized(&self, progress: &dyn Progress) -> Result<bool> {
        let url = self.url("");
        let proof = LinkProof::derive(&self.link_secret, &self.id).to_b64u();
        let answer = http::send("check the package", self.client.retry, progress, || {
            self.client
                .http
                .get(&url)
                .header("X-Sealdrop-Link-Proof", &proof)
        })
        .await?;
        Ok(answer.is_success())
    }

    /// Sends every part not in `held`, then finalizes; returns the link.
    async fn finish(
        &self,
        mut held: BTreeMap<usize, BTreeSet<u64>>,
        resumed: bool,
        progress: &dyn Progress,
    ) -> Result<SecureLink> {
        if resumed {
            // The manifest may not have reached the server before the interruption; sending
            // the same bytes again is a no-op.
            self.put_manifest(progress).await?;
            let total: u64 = self
                .files
                .iter()
                .map(|f| part_count(sealdrop_crypto::ciphertext_size(f.size())))
                .sum();
            let have: usize = held.values().map(BTreeSet::len).sum();
            progress.note(&format!(
                "Resuming an interrupted upload: {have} of {total} parts are already on the server."
            ));
        }
        for (index, file) in self.files.iter().enumerate() {
            for part in held.get(&index).into_iter().flatten() {
                progress.advance(part_plaintext_len(file.size(), *part));
            }
        }
        for round in 0..3 {
            let missing: Vec<(usize, u64)> = self
                .files
                .iter()
                .enumerate()
                .flat_map(|(index, file)| {
                    let parts = part_count(sealdrop_crypto::ciphertext_size(file.size()));
                    let held = held.get(&index).cloned().unwrap_or_default();
                    (0..parts)
                        .filter(move |p| !held.contains(p))
                        .map(move |p| (index, p))
                })
                .collect();
            futures::stream::iter(missing)
                .map(|(file, part)| async move {
                    let sealed = self.seal(file, part).await?;
                    self.upload_part(sealed, progress).await
                })
                .buffer_unordered(self.client.parallel)
                .try_collect::<()>()
                .await?;

            match self.finalize(progress).await? {
                true => return Ok(self.link()),
                false if round < 2 => {
                    // The server misses parts it acknowledged (e.g. storage lost them): ask
                    // again and fill the gaps.
                    progress.note("The server reports missing parts; sending them again.");
                    held = self.held_parts(progress).await?;
                }
                false => {}
            }
        }
        Err(ClientError::Protocol(
            "the server keeps reporting missing parts after they were sent".into(),
        ))
    }

    /// `Ok(true)` once finalized, `Ok(false)` on `409 incomplete_upload`.
    async fn finalize(&self, progress: &dyn Progress) -> Result<bool> {
        let url = self.url("/finalize");
        let answer = http::send("finalize the package", self.client.retry, progress, || {
            self.client
                .http
                .post(&url)
                .header(UPLOAD_TOKEN, self.upload_token.as_str())
        })
        .await?;
        if answer.is_success() {
            return Ok(true);
        }
        if answer.status == StatusCode::CONFLICT && answer.is_error(ErrorCode::IncompleteUpload) {
            return Ok(false);
        }
        Err(answer.into_error())
    }

    /// Reads and seals part `part` of file `file` on the blocking pool.
    async fn seal(&self, file: usize, part: u64) -> Result<SealedPart> {
        let fingerprint = self.files[file].fingerprint.clone();
        let key = self.keys[file].clone();
        let buffer = self.buffers.take();
        let (body, sha) =
            tokio::task::spawn_blocking(move || seal_part(&fingerprint, key, part, buffer))
                .await
                .map_err(|e| ClientError::Protocol(format!("encryption task failed: {e}")))??;
        Ok(SealedPart {
            file,
            part,
            body: self.buffers.body(body),
            sha,
        })
    }

    async fn upload_part(&self, sealed: SealedPart, progress: &dyn Progress) -> Result<()> {
        let SealedPart {
            file,
            part,
            body,
            sha,
        } = sealed;
        let local = &self.files[file];
        progress.file(&local.name);
        let url = self.url(&format!("/files/{file}/parts/{part}"));
        let what = format!("upload part {} of {}", part + 1, local.name);
        // A checksum mismatch means the bytes were damaged on the way; try a few times.
        for _ in 0..3 {
            let answer = http::send(&what, self.client.retry, progress, || {
                self.client
                    .http
                    .put(&url)
                    .header(UPLOAD_TOKEN, self.upload_token.as_str())
                    .header("X-Sealdrop-Sha256", &sha)
                    .header("Content-Type", "application/octet-stream")
                    .body(body.clone())
            })
            .await?;
            if answer.is_success() {
                progress.advance(part_plaintext_len(local.size(), part));
                return Ok(());
            }
            if !answer.is_error(ErrorCode::ChecksumMismatch) {
                return Err(answer.into_error());
            }
            progress.retrying(
                &format!("{what}: the server received damaged bytes"),
                std::time::Duration::ZERO,
            );
        }
        Err(ClientError::Protocol(format!(
            "{what}: the server kept receiving damaged bytes"
        )))
    }
}

/// A part read and sealed, ready to upload.
struct SealedPart {
    file: usize,
    part: u64,
    body: Bytes,
    /// hex(SHA-256(body)).
    sha: String,
}

/// Part buffers for reuse: a new 8 MiB buffer per part cost page faults and the kernel's
/// zeroing every time (`clear_page` and `memset` in the profile of a send). A buffer comes back
/// when the last copy of its request body is dropped; at most `parallel` exist.
#[derive(Clone, Default)]
struct BufferPool(Arc<Mutex<Vec<Vec<u8>>>>);

/// Buffers kept at most (`--parallel` is at most 8).
const POOL_MAX: usize = 16;

impl BufferPool {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_default()
    }

    /// `buf` as a request body; the buffer returns here once the body is dropped.
    fn body(&self, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            buf,
            pool: self.clone(),
        })
    }
}

struct Pooled {
    buf: Vec<u8>,
    pool: BufferPool,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if let Ok(mut pool) = self.pool.0.lock() {
            if pool.len() < POOL_MAX {
                pool.push(buf);
            }
        }
    }
}

/// Reads part `part` of the file into `out` and seals it chunk by chunk, in place, hashing
/// each chunk while it is in the cache; returns the ciphertext and its SHA-256 (hex).
fn seal_part(
    file: &FileFingerprint,
    key: FileKey,
    part: u64,
    mut out: Vec<u8>,
) -> Result<(Vec<u8>, String)> {
    let changed = || ClientError::FileChanged {
        path: file.path.clone(),
    };
    let encryptor = StreamEncryptor::new(key, file.size)?;
    let first = part * PART_CHUNKS;
    let end = (first + PART_CHUNKS).min(encryptor.chunk_count());
    let mut reader =
        File::open(&file.path).map_err(|e| ClientError::io("cannot open", &file.path, e))?;
    let meta = reader
        .metadata()
        .map_err(|e| ClientError::io("cannot read", &file.path, e))?;
    if meta.len() != file.size || mtime_ns(&meta) != file.mtime_ns {
        return Err(changed());
    }
    reader
        .seek(SeekFrom::Start(first * CHUNK_SIZE as u64))
        .map_err(|e| ClientError::io("cannot read", &file.path, e))?;
    let capacity = (first..end)
        .map(|i| encryptor.plan(i).map(|p| p.ciphertext_len))
        .sum::<Result<usize, _>>()?;
    // A reused buffer keeps its old bytes (only growth is zeroed): all are overwritten.
    out.resize(capacity, 0);
    out.truncate(capacity);
    let aead = default_aead();
    let mut hasher = Sha256::new();
    let mut at = 0;
    for index in first..end {
        let plan = encryptor.plan(index)?;
        let chunk = &mut out[at..at + plan.ciphertext_len];
        reader
            .read_exact(&mut chunk[..plan.plaintext_len])
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => changed(),
                _ => ClientError::io("cannot read", &file.path, e),
            })?;
        encryptor.encrypt_chunk_in_place(aead, index, chunk)?;
        hasher.update(&*chunk);
        at += plan.ciphertext_len;
    }
    let sha = hex::encode(hasher.finalize());
    Ok((out, sha))
}

fn expect_success(answer: Answer) -> Result<()> {
    if answer.is_success() {
        Ok(())
    } else {
        Err(answer.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_arithmetic_matches_the_transport_contract() {
        let part_plain = PART_CHUNKS * CHUNK_SIZE as u64;
        assert_eq!(part_count(sealdrop_crypto::ciphertext_size(0)), 1);
        assert_eq!(part_count(sealdrop_crypto::ciphertext_size(part_plain)), 1);
        assert_eq!(
            part_count(sealdrop_crypto::ciphertext_size(part_plain + 1)),
            2
        );
        assert_eq!(part_plaintext_len(0, 0), 0);
        assert_eq!(part_plaintext_len(part_plain + 5, 0), part_plain);
        assert_eq!(part_plaintext_len(part_plain + 5, 1), 5);
    }

    #[test]
    fn a_sealed_part_decrypts_to_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.bin");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).expect("write");
        let meta = std::fs::metadata(&path).expect("stat");
        let fingerprint = FileFingerprint {
            path: path.clone(),
            size: meta.len(),
            mtime_ns: mtime_ns(&meta),
        };
        let key = FileKey::from_bytes([7; 32]);
        let (ct, sha) = seal_part(&fingerprint, key.clone(), 0, Vec::new()).expect("seal");
        assert_eq!(
            ct.len() as u64,
            sealdrop_crypto::ciphertext_size(data.len() as u64)
        );
        assert_eq!(sha, hex::encode(Sha256::digest(&ct)));
        let pt = sealdrop_crypto::decrypt_file(default_aead(), &key, &ct).expect("decrypt");
        assert_eq!(pt, data);
        let reused = vec![0xA5u8; 2 * ct.len()];
        let (again, again_sha) = seal_part(&fingerprint, key, 0, reused).expect("seal again");
        assert_eq!(
            (again, again_sha),
            (ct, sha),
            "a reused buffer seals the same bytes"
        );
    }
}
