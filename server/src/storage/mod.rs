//! The blob store: where encrypted parts live. A small [`Storage`] trait with two
//! implementations, [`folder::FolderStorage`] (embedded default) and [`s3::S3Storage`].
//!
//! # Object layout: one object per upload part
//!
//! Part `p` of file `f` of package `id` is the object `packages/{id}/{f}/{p:06}`
//! ([`BlobKey::part`]). A file's ciphertext is the concatenation of its parts, and every part
//! but the last is exactly [`PART_SIZE`] bytes, so a byte range of the file maps to a run of
//! parts with simple arithmetic ([`part_ranges`]); the download handler streams those part
//! ranges one after the other.
//!
//! Why not S3 multipart uploads completed at finalize? Parts as plain objects are better here:
//! - **Resumable without server state.** An S3 multipart upload lives under an `UploadId` that
//!   would have to be stored, shared by every server instance, and aborted on failure (or it
//!   leaks invisible, billed parts until a lifecycle rule removes them). A plain object is
//!   either there or not, which is exactly what `GET …/parts` must answer.
//! - **Checkable.** A part is hashed on the way in and only then written; a stored object is
//!   immediately readable, so the server never relies on a `CompleteMultipartUpload` that can
//!   fail after the client was told "held".
//! - **Same code for every backend.** The folder store and S3 share the layout, the range
//!   mapping and the tests.
//! - **Cheap deletes and ranges.** Revoke and purge delete a prefix; a download of a range
//!   reads only the parts it touches.
//!
//! The cost is one `GET` per 8 MiB of download and more objects per file; both are small
//! next to the transfer itself. The part size is chosen to satisfy S3 multipart's 5 MiB
//! minimum, so assembling a file into one object with server-side `UploadPartCopy` at
//! finalize stays possible (no bytes through the server) should a deployment need single
//! objects (for example to hand files to a CDN). Where multipart matters for memory it is not
//! needed: a part is at most 8 MiB and is streamed from a spool file, never buffered.
//!
//! # Streaming
//! A part reaches the store only once it has checked out (exactly its size, hashing to the
//! SHA-256 its sender declared), in one of two ways chosen by the store:
//! - **Spooled** (the folder store): the part is written to a temporary file while it is
//!   hashed and measured ([`spool::receive`]: a blocking task hashes and writes while the
//!   connection is read), and only a verified part reaches [`Storage::put_file`]. The folder
//!   store has parts spooled into its own temporary folder and written past the page cache
//!   ([`Storage::spool_dir`]), so that storing one is a rename; its reads bypass the page
//!   cache too (see `direct.rs` for why).
//! - **Streamed** (S3, [`Storage::streams_parts`]): the part goes to [`Storage::put_stream`]
//!   as it arrives, through a [`CheckedBody`] that hashes and counts it and holds its last
//!   chunk back until it has checked out. The store is told the exact length, so a faulty
//!   part never completes: the request is cut off and the store keeps whatever it held. A
//!   spool file would only add a disk write and a read, and make each part wait for its own
//!   upload twice (the transfer bench measured the difference; see `server/benches`).
//!
//! Reads come back as a [`ByteStream`] of chunks of at most 1 MiB. An S3 download also
//! buffers up to [`S3_READ_AHEAD`] whole parts it reads ahead ([`Storage::read_ahead_parts`]).
//! Memory never grows with file size.
//!
//! A server killed mid-upload leaves its spool file behind; [`leftovers::sweep`] removes
//! such files at the next start.

pub mod checked;
mod direct;
pub mod folder;
pub mod leftovers;
pub mod s3;
pub mod spool;

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};

pub use checked::{BodyFault, CheckedBody};

/// The upload-part arithmetic is the format's (docs/FORMAT.md, transport constants): one
/// definition for the server, the CLI and the browser.
pub use sealdrop_crypto::{part_count, part_ranges, part_size, PART_CHUNKS, PART_SIZE};

/// A stream of bytes read from the store.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// Errors of a blob store.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist.
    #[error("blob not found: {0}")]
    NotFound(String),
    /// A local I/O failure (folder store, spool files).
    #[error("blob store I/O error: {0}")]
    Io(#[from] io::Error),
    /// The S3 service answered with an error.
    #[error("S3 error: {0}")]
    S3(String),
    /// The S3 service could not be reached, timed out, or said it is unavailable (503): worth
    /// retrying, and answered `503` to clients ([`crate::internal::unavailable_dependency`]).
    #[error("S3 unreachable: {0}")]
    Unreachable(String),
}

/// A blob store. Implementations must make [`Storage::put_file`] atomic: a reader sees the
/// whole object or none of it.
pub trait Storage: Send + Sync + fmt::Debug {
    /// Stores the file at `path` (exactly `len` bytes) as `key`, replacing any object there.
    /// The file may be moved or consumed; the caller no longer uses it afterwards.
    fn put_file<'a>(
        &'a self,
        key: &'a BlobKey,
        path: &'a Path,
        len: u64,
    ) -> BoxFuture<'a, Result<(), StorageError>>;

    /// Streams bytes `range` (end exclusive, within the object) of `key`.
    fn read_range<'a>(
        &'a self,
        key: &'a BlobKey,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>>;

    /// Deletes every object whose key starts with `prefix` (missing objects are fine).
    fn delete_prefix<'a>(&'a self, prefix: &'a BlobKey) -> BoxFuture<'a, Result<(), StorageError>>;

    /// Keys under `prefix`, sorted (used by tests and consistency checks).
    fn list<'a>(&'a self, prefix: &'a BlobKey) -> BoxFuture<'a, Result<Vec<String>, StorageError>>;

    /// Answers whether the store is reachable and usable (`/readyz`).
    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>>;

    /// Where a part on its way to [`Storage::put_file`] should be spooled, if the store has a
    /// place of its own: the folder store's temporary folder, on the same file system as the
    /// parts, so that storing the part is a rename. Such a spool file is written past the page
    /// cache, as the store's own files are. `None` (S3): the server's spool folder and
    /// ordinary writes, since the file is read straight back and deleted.
    fn spool_dir(&self) -> Option<&Path> {
        None
    }

    /// `true`: parts go to [`Storage::put_stream`] as they arrive, not to a spool file first.
    /// Right where the store is across a network (S3): a spool file would only add a disk
    /// write and a read, and make each part wait for its own upload twice.
    fn streams_parts(&self) -> bool {
        false
    }

    /// Stores `body` (exactly `len` bytes) as `key`, replacing any object there, only if the
    /// stream ends cleanly after its last byte: an error item from `body` (a [`CheckedBody`]
    /// cutting off a faulty part) stores nothing and leaves any object there as it was.
    /// Called only where [`Storage::streams_parts`] says so.
    fn put_stream<'a>(
        &'a self,
        key: &'a BlobKey,
        len: u64,
        body: ByteStream,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        let _ = (len, body);
        futures::future::ready(Err(StorageError::Io(io::Error::other(format!(
            "storing {key}: this store takes spooled parts (put_file), not streams"
        )))))
        .boxed()
    }

    /// How many parts a download should read ahead of the one it is sending, each buffered
    /// whole in memory (at most 8 MiB). Zero streams part after part: right for a local disk,
    /// where one reader already goes at disk speed. An object store answers one `GET` at a
    /// time well below its total bandwidth, so reading the next parts while the current one
    /// is sent is what lets a single download approach it (see [`S3_READ_AHEAD`]).
    fn read_ahead_parts(&self) -> usize {
        0
    }
}

/// Parts an S3 download reads ahead: 2 keeps 3 `GET`s in flight (as the benchmark's direct
/// baseline does) for at most 2 × 8 MiB of buffered ciphertext per running download,
/// whatever the file's size.
pub const S3_READ_AHEAD: usize = 2;

/// Streams bytes `span` of file `file` of package `package_id`, reading the parts it covers
/// in order. With [`Storage::read_ahead_parts`] > 0, each part is read whole by its own task,
/// up to that many parts ahead of the one being sent; a dropped stream (the client went
/// away) cancels them. `part_read` gets the time each part took, from asking the store to
/// its last byte read (read ahead, that is the store's time; streamed, the reader's pace
/// counts too); a part not read to its last byte (the client went away, an error ended the
/// download) is not reported.
pub fn file_stream<F>(
    storage: Arc<dyn Storage>,
    package_id: &str,
    file: u64,
    span: Range<u64>,
    part_read: F,
) -> ByteStream
where
    F: Fn(Duration) + Clone + Send + Sync + 'static,
{
    let ahead = storage.read_ahead_parts();
    let id = package_id.to_owned();
    let read = move |(part, range): (u64, Range<u64>)| {
        let storage = storage.clone();
        let key = BlobKey::part(&id, file, part);
        let part_read = part_read.clone();
        async move {
            let key = key.map_err(io::Error::other)?;
            let len = range.end - range.start;
            let started = Instant::now();
            let stream = storage.read_range(&key, range).await.map_err(|e| {
                tracing::error!(error = %e, key = %key, "reading a part for download failed");
                io::Error::other(e)
            })?;
            Ok::<_, io::Error>(on_last_byte(stream, len, move || {
                part_read(started.elapsed())
            }))
        }
    };
    let parts = futures::stream::iter(part_ranges(span));
    if ahead == 0 {
        return parts.then(read).try_flatten().boxed();
    }
    parts
        .map(move |item| {
            let task = AbortOnDrop(tokio::spawn({
                let read = read.clone();
                async move { read(item).await?.try_collect::<Vec<Bytes>>().await }
            }));
            async move { task.join().await }
        })
        .buffered(ahead + 1)
        .map_ok(|chunks| futures::stream::iter(chunks.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

/// `stream` of `len` bytes, calling `done` as its last byte passes. (Not at the stream's end:
/// hyper drops a body once its `Content-Length` is sent, without asking for more.)
fn on_last_byte(stream: ByteStream, len: u64, done: impl FnOnce() + Send + 'static) -> ByteStream {
    let mut left = len;
    let mut done = Some(done);
    stream
        .inspect_ok(move |chunk| {
            left = left.saturating_sub(chunk.len() as u64);
            if left == 0 {
                if let Some(done) = done.take() {
                    done();
                }
            }
        })
        .boxed()
}

/// A spawned task that is aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> T
    where
        T: Send + 'static,
    {
        match (&mut self.0).await {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a read-ahead task was cancelled while awaited: {e}"),
        }
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A validated object key: `/`-separated segments of ASCII letters, digits, `-` and `_`.
/// No segment is empty, `.` or `..`, so a key can never escape the folder store's root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// Parses a key, rejecting anything outside the allowed alphabet.
    pub fn parse(key: &str) -> Result<Self, InvalidKey> {
        if key.is_empty() || key.len() > 512 {
            return Err(InvalidKey);
        }
        for segment in key.split('/') {
            let ok = !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(InvalidKey);
            }
        }
        Ok(Self(key.to_owned()))
    }

    /// The prefix holding every part of a package: `packages/{id}`.
    pub fn package(package_id: &str) -> Result<Self, InvalidKey> {
        Self::parse(&format!("packages/{package_id}"))
    }

    /// The key of one part: `packages/{id}/{file}/{part:06}`.
    pub fn part(package_id: &str, file: u64, part: u64) -> Result<Self, InvalidKey> {
        Self::parse(&format!("packages/{package_id}/{file}/{part:06}"))
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key that [`BlobKey::parse`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid blob key (allowed: ASCII letters, digits, '-', '_', separated by '/')")]
pub struct InvalidKey;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_root() {
        for bad in [
            "", "..", "a/../b", "/abs", "a//b", "a/./b", "a\\b", "a b", "a/", "ü",
        ] {
            assert_eq!(
                BlobKey::parse(bad),
                Err(InvalidKey),
                "{bad:?} must be refused"
            );
        }
        assert!(BlobKey::parse("packages/AbC-_9/0/000001").is_ok());
        assert_eq!(
            BlobKey::part("id", 2, 7).map(|k| k.0),
            Ok("packages/id/2/000007".to_owned())
        );
    }

    #[test]
    fn part_sizes_cover_the_file_exactly() {
        assert_eq!(part_count(16), 1);
        assert_eq!(part_count(PART_SIZE), 1);
        assert_eq!(part_count(PART_SIZE + 1), 2);
        assert_eq!(part_size(PART_SIZE + 5, 0), Some(PART_SIZE));
        assert_eq!(part_size(PART_SIZE + 5, 1), Some(5));
        assert_eq!(part_size(PART_SIZE + 5, 2), None);
        assert_eq!(part_size(10, u64::MAX), None);
    }

    #[test]
    fn ranges_split_at_part_boundaries() {
        assert_eq!(part_ranges(0..10), vec![(0, 0..10)]);
        assert_eq!(
            part_ranges(PART_SIZE - 2..PART_SIZE + 3),
            vec![(0, PART_SIZE - 2..PART_SIZE), (1, 0..3)]
        );
        assert_eq!(part_ranges(5..5), vec![]);
        assert_eq!(
            part_ranges(2 * PART_SIZE..2 * PART_SIZE + 1),
            vec![(2, 0..1)]
        );
    }
}
