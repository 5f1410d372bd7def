//! A part's body on its way straight into a store that takes streams (S3): the bytes are
//! counted and hashed as they pass, and the last chunk is held back until the whole body has
//! checked out. The store is told the part's exact length, so it can only complete an object
//! from a body that was exactly that long and hashed to what its sender declared; any other
//! body ends in an error before its last byte, and the store discards what it received.
//!
//! That makes the check independent of the store: an S3-compatible service that ignores
//! `x-amz-checksum-*` headers still never keeps a part the server did not verify, and a held
//! part re-sent with other bytes keeps its stored bytes (the failed `PutObject` replaces
//! nothing).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use sha2::{Digest, Sha256};

/// Why a checked body was cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyFault {
    /// The body is longer than the part.
    #[error("the body is longer than the part")]
    TooLong,
    /// The body ended before the part's size.
    #[error("the body has {received} bytes")]
    TooShort {
        /// Bytes received.
        received: u64,
    },
    /// The body could not be read to its end (the connection broke).
    #[error("the body could not be read completely")]
    Body,
    /// The body's SHA-256 is not the one its sender declared.
    #[error("the body does not hash to the declared SHA-256")]
    Mismatch,
}

/// What became of a [`CheckedBody`], readable after the store is done with it.
#[derive(Debug, Clone, Default)]
pub struct Verdict(Arc<OnceLock<BodyFault>>);

impl Verdict {
    /// The fault that cut the body off, if one did. `None` after a store error means the
    /// store failed on its own (or stopped reading early), not the body.
    pub fn fault(&self) -> Option<BodyFault> {
        self.0.get().copied()
    }
}

/// `source` (a request body) checked against its `expected` length and `claimed` SHA-256;
/// see the module documentation. Yields the same bytes, except that a faulty body ends in an
/// error (recorded in the [`Verdict`]) instead of its last chunk.
pub struct CheckedBody<S> {
    source: S,
    expected: u64,
    claimed: [u8; 32],
    received: u64,
    hasher: Sha256,
    held: Option<Bytes>,
    verdict: Verdict,
    finished: bool,
}

impl<S> std::fmt::Debug for CheckedBody<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedBody")
            .field("expected", &self.expected)
            .field("received", &self.received)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<S> CheckedBody<S> {
    /// Wraps `source`; the returned [`Verdict`] tells afterwards why it was cut off.
    pub fn new(source: S, expected: u64, claimed: [u8; 32]) -> (Self, Verdict) {
        let verdict = Verdict::default();
        let body = Self {
            source,
            expected,
            claimed,
            received: 0,
            hasher: Sha256::new(),
            held: None,
            verdict: verdict.clone(),
            finished: false,
        };
        (body, verdict)
    }

    fn fail(&mut self, fault: BodyFault) -> Poll<Option<io::Result<Bytes>>> {
        self.finished = true;
        self.held = None;
        let _ = self.verdict.0.set(fault);
        Poll::Ready(Some(Err(io::Error::other(fault))))
    }
}

impl<S, E> Stream for CheckedBody<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut this.source).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(_))) => return this.fail(BodyFault::Body),
                Poll::Ready(Some(Ok(chunk))) => {
                    if chunk.is_empty() {
                        continue;
                    }
                    this.received += chunk.len() as u64;
                    if this.received > this.expected {
                        return this.fail(BodyFault::TooLong);
                    }
                    this.hasher.update(&chunk);
                    // Pass on the chunk held so far; keep this one until the next arrives.
                    if let Some(previous) = this.held.replace(chunk) {
                        return Poll::Ready(Some(Ok(previous)));
                    }
                }
                Poll::Ready(None) => {
                    if this.received != this.expected {
                        let received = this.received;
                        return this.fail(BodyFault::TooShort { received });
                    }
                    let digest: [u8; 32] = std::mem::take(&mut this.hasher).finalize().into();
                    if !bool::from(subtle::ConstantTimeEq::ct_eq(
                        &digest[..],
                        &this.claimed[..],
                    )) {
                        return this.fail(BodyFault::Mismatch);
                    }
                    this.finished = true;
                    return Poll::Ready(this.held.take().map(Ok));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn source(pieces: &[&[u8]]) -> impl Stream<Item = Result<Bytes, io::Error>> + Unpin {
        let pieces: Vec<_> = pieces
            .iter()
            .map(|p| Ok(Bytes::copy_from_slice(p)))
            .collect();
        futures::stream::iter(pieces)
    }

    fn sha(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// What a store would receive: the bytes before the first error, and whether one came.
    async fn drain<S: Stream<Item = io::Result<Bytes>> + Unpin>(mut s: S) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        while let Some(item) = s.next().await {
            match item {
                Ok(chunk) => out.extend_from_slice(&chunk),
                Err(_) => return (out, true),
            }
        }
        (out, false)
    }

    #[tokio::test]
    async fn a_body_that_checks_out_passes_whole() {
        let (body, verdict) = CheckedBody::new(
            source(&[b"hello ", b"", b"wor", b"ld"]),
            11,
            sha(b"hello world"),
        );
        assert_eq!(drain(body).await, (b"hello world".to_vec(), false));
        assert_eq!(verdict.fault(), None);
    }

    #[tokio::test]
    async fn a_faulty_body_never_reaches_its_last_byte() {
        // (the body's pieces, the part's size, the declared SHA-256, the fault expected)
        type Case<'a> = (&'a [&'a [u8]], u64, [u8; 32], BodyFault);
        let cases: [Case; 4] = [
            (
                &[b"hello ", b"world"],
                11,
                sha(b"hello there"),
                BodyFault::Mismatch,
            ),
            (
                &[b"hello ", b"world"],
                8,
                sha(b"hello wo"),
                BodyFault::TooLong,
            ),
            (
                &[b"hello ", b"world"],
                12,
                sha(b"hello world!"),
                BodyFault::TooShort { received: 11 },
            ),
            (&[b"hello"], 5, [0; 32], BodyFault::Mismatch),
        ];
        for (pieces, expected, claimed, fault) in cases {
            let (body, verdict) = CheckedBody::new(source(pieces), expected, claimed);
            let (passed, errored) = drain(body).await;
            assert!(errored, "{fault:?}: the stream ends in an error");
            assert!(
                (passed.len() as u64) < expected,
                "{fault:?}: {} of {expected} bytes passed",
                passed.len()
            );
            assert_eq!(verdict.fault(), Some(fault));
        }
    }

    #[tokio::test]
    async fn a_broken_connection_is_a_body_fault() {
        let pieces: Vec<Result<Bytes, io::Error>> = vec![
            Ok(Bytes::from_static(b"hello")),
            Err(io::Error::other("reset")),
        ];
        let (body, verdict) = CheckedBody::new(futures::stream::iter(pieces), 11, [0; 32]);
        assert_eq!(drain(body).await, (Vec::new(), true));
        assert_eq!(verdict.fault(), Some(BodyFault::Body));
    }
}
