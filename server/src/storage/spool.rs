//! Receiving an upload part into a spool file: the bytes are counted as they arrive, and
//! hashed and written by a blocking task while the next ones are read from the connection.
//!
//! Nothing here decides whether the part is kept: the caller compares the hash with the
//! client's and only then hands the file to [`Storage::put_file`](super::Storage::put_file).

use std::io;
use std::path::Path;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::direct::{WriteBuffer, Writer};
use super::BodyFault;

/// Body chunks queued between the connection and the writer. Each can be up to hyper's read
/// buffer (about 400 KiB) and keeps that buffer alive while queued: 16 made the server's peak
/// RSS for 8 concurrent uploads twice what 1 does.
const QUEUE: usize = 1;

/// Why a part was not spooled.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The body was refused: too long, too short, or cut off (the same faults a streamed
    /// part can have).
    #[error(transparent)]
    Refused(#[from] BodyFault),
    /// Writing the spool file failed.
    #[error("spool file: {0}")]
    Io(#[from] io::Error),
}

/// Writes `body`, which must be exactly `expected` bytes, to the new file `path` (past the
/// page cache if `direct`); returns its SHA-256. The file is left behind on any error: the
/// caller removes it.
pub async fn receive<S, E>(
    body: S,
    path: &Path,
    expected: u64,
    direct: bool,
) -> Result<[u8; 32], SpoolError>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(QUEUE);
    let path = path.to_owned();
    let buffer = WriteBuffer::new();
    let writer = tokio::task::spawn_blocking(move || -> io::Result<[u8; 32]> {
        let mut file = Writer::create(&path, direct, buffer)?;
        let mut hasher = Sha256::new();
        while let Some(chunk) = rx.blocking_recv() {
            hasher.update(&chunk);
            file.write(&chunk)?;
        }
        file.finish()?;
        Ok(hasher.finalize().into())
    });

    let mut body = std::pin::pin!(body);
    let mut received: u64 = 0;
    let read = loop {
        match body.next().await {
            Some(Ok(chunk)) => {
                received += chunk.len() as u64;
                if received > expected {
                    break Err(BodyFault::TooLong);
                }
                if tx.send(chunk).await.is_err() {
                    // The writer failed; its error is below.
                    break Ok(());
                }
            }
            Some(Err(_)) => break Err(BodyFault::Body),
            None => break Ok(()),
        }
    };
    drop(tx);
    let written = writer.await.map_err(io::Error::other)?;
    read?;
    let digest = written?;
    if received != expected {
        return Err(BodyFault::TooShort { received }.into());
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(pieces: &[&[u8]]) -> impl Stream<Item = Result<Bytes, io::Error>> {
        let pieces: Vec<_> = pieces
            .iter()
            .map(|p| Ok(Bytes::copy_from_slice(p)))
            .collect();
        futures::stream::iter(pieces)
    }

    #[tokio::test]
    async fn a_part_is_written_and_hashed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("spool");
        let digest = receive(body(&[b"hello ", b"world"]), &path, 11, true)
            .await
            .expect("spooled");
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(b"hello world")));
        assert_eq!(std::fs::read(&path).expect("read"), b"hello world");
    }

    #[tokio::test]
    async fn a_body_of_the_wrong_size_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let long = receive(
            body(&[b"hello ", b"world"]),
            &dir.path().join("a"),
            8,
            false,
        )
        .await;
        assert!(matches!(long, Err(SpoolError::Refused(BodyFault::TooLong))));
        let short = receive(body(&[b"hello"]), &dir.path().join("b"), 8, false).await;
        assert!(matches!(
            short,
            Err(SpoolError::Refused(BodyFault::TooShort { received: 5 }))
        ));
    }
}
