//! The scale-out blob store: an S3-compatible bucket through `aws-sdk-s3` (AWS, Garage,
//! MinIO...). Custom endpoint, path-style addressing and a key prefix are configurable
//! ([`S3Config`]).
//!
//! Each upload part is one object (see the module docs of [`super`] for why); a part is put
//! as it arrives from its request ([`Storage::streams_parts`]), with its exact length, through
//! a [`CheckedBody`](super::CheckedBody) that holds its last chunk back until the part has
//! checked out, so the store completes only verified parts; a file (`put_file`) is streamed
//! from disk. Nothing is buffered whole. Reads use `GetObject` with a `Range` header, streamed
//! to the caller. `PutObject` is atomic in S3, so a reader sees a whole part or none.

use std::io;
use std::ops::Range;
use std::path::Path;
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll};

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream as S3ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use tokio_util::io::ReaderStream;

use super::{BlobKey, ByteStream, Storage, StorageError};
use crate::config::S3Config;

/// Bytes per read of a spool file sent to S3.
const SPOOL_READ_BUFFER: usize = 256 * 1024;

/// An S3 bucket (with an optional key prefix) as a blob store.
#[derive(Debug, Clone)]
pub struct S3Storage {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3Storage {
    /// Builds a client from the configuration. Does not contact the service.
    pub async fn new(config: &S3Config) -> Self {
        let mut builder = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .force_path_style(config.path_style)
            // Plain Content-MD5-free PUTs: S3-compatible stores vary in their support of the
            // newer default checksums; parts are SHA-256-checked by the server anyway.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        match &config.credentials {
            Some((id, secret)) => {
                builder = builder.credentials_provider(Credentials::new(
                    id,
                    secret,
                    None,
                    None,
                    "sealdrop-config",
                ));
            }
            None => {
                let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
                if let Some(provider) = shared.credentials_provider() {
                    builder = builder.credentials_provider(provider);
                }
            }
        }
        Self {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
        }
    }

    fn object_key(&self, key: &BlobKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    async fn put(&self, key: &BlobKey, path: &Path, len: u64) -> Result<(), StorageError> {
        let body = S3ByteStream::read_from()
            .path(path)
            // The SDK reads files 4 KiB at a time by default, each read a blocking-pool
            // round trip: that capped uploads to S3 near 100 MiB/s in the transfer bench.
            .buffer_size(SPOOL_READ_BUFFER)
            .length(aws_sdk_s3::primitives::Length::Exact(len))
            .build()
            .await
            .map_err(|e| StorageError::S3(format!("reading spool file: {e}")))?;
        self.put_object(key, len, body).await?;
        let _ = tokio::fs::remove_file(path).await;
        Ok(())
    }

    async fn put_streamed(
        &self,
        key: &BlobKey,
        len: u64,
        body: ByteStream,
    ) -> Result<(), StorageError> {
        let body = PartBody {
            stream: std::sync::Mutex::new(body),
            len,
        };
        self.put_object(key, len, S3ByteStream::from_body_1_x(body))
            .await
    }

    /// `PutObject` of `body`, declared exactly `len` bytes long: a body cut off before that
    /// (a part that failed its check) is an incomplete request, which the store discards whole.
    async fn put_object(
        &self,
        key: &BlobKey,
        len: u64,
        body: S3ByteStream,
    ) -> Result<(), StorageError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .content_length(
                i64::try_from(len).map_err(|_| StorageError::S3("part too large".into()))?,
            )
            .content_type("application/octet-stream")
            .body(body)
            .send()
            .await
            .map_err(|e| s3_error(format!("PutObject {key}"), e))?;
        Ok(())
    }

    async fn read(&self, key: &BlobKey, range: Range<u64>) -> Result<ByteStream, StorageError> {
        if range.start >= range.end {
            return Ok(futures::stream::empty().boxed());
        }
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .send()
            .await
            .map_err(|e| {
                let not_found = e.as_service_error().is_some_and(|s| s.is_no_such_key());
                if not_found {
                    StorageError::NotFound(key.to_string())
                } else {
                    s3_error(format!("GetObject {key}"), e)
                }
            })?;
        Ok(ReaderStream::with_capacity(output.body.into_async_read(), 64 * 1024).boxed())
    }

    async fn keys(&self, prefix: &BlobKey) -> Result<Vec<String>, StorageError> {
        let full_prefix = format!("{}{}/", self.prefix, prefix.as_str());
        let mut keys = Vec::new();
        let mut continuation = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&full_prefix)
                .set_continuation_token(continuation.take())
                .send()
                .await
                .map_err(|e| s3_error(format!("ListObjectsV2 {prefix}"), e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .map(str::to_owned),
            );
            match page.next_continuation_token() {
                Some(token) if page.is_truncated() == Some(true) => {
                    continuation = Some(token.to_owned())
                }
                _ => break,
            }
        }
        keys.sort();
        Ok(keys)
    }

    async fn delete(&self, prefix: &BlobKey) -> Result<(), StorageError> {
        // The objects below the prefix, and the object named by it (a part's own key), as the
        // folder store does; deleting a key that does not exist is not an error.
        let mut keys = self.keys(prefix).await?;
        keys.push(format!("{}{}", self.prefix, prefix.as_str()));
        for batch in keys.chunks(1000) {
            let objects = batch
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StorageError::S3(e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| StorageError::S3(e.to_string()))?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| s3_error(format!("DeleteObjects {prefix}"), e))?;
            if let Some(err) = out.errors().first() {
                return Err(StorageError::S3(format!(
                    "DeleteObjects {prefix}: {} object(s) not deleted, first: {}",
                    out.errors().len(),
                    err.message().unwrap_or("no message")
                )));
            }
        }
        Ok(())
    }

    async fn probe(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| s3_error("HeadBucket".into(), e))?;
        Ok(())
    }
}

impl Storage for S3Storage {
    fn put_file<'a>(
        &'a self,
        key: &'a BlobKey,
        path: &'a Path,
        len: u64,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        self.put(key, path, len).boxed()
    }

    fn streams_parts(&self) -> bool {
        true
    }

    fn put_stream<'a>(
        &'a self,
        key: &'a BlobKey,
        len: u64,
        body: ByteStream,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        self.put_streamed(key, len, body).boxed()
    }

    fn read_range<'a>(
        &'a self,
        key: &'a BlobKey,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        self.read(key, range).boxed()
    }

    fn delete_prefix<'a>(&'a self, prefix: &'a BlobKey) -> BoxFuture<'a, Result<(), StorageError>> {
        self.delete(prefix).boxed()
    }

    fn list<'a>(&'a self, prefix: &'a BlobKey) -> BoxFuture<'a, Result<Vec<String>, StorageError>> {
        async move {
            let strip = self.prefix.len();
            Ok(self
                .keys(prefix)
                .await?
                .into_iter()
                .map(|k| k[strip..].to_owned())
                .collect())
        }
        .boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        self.probe().boxed()
    }

    fn read_ahead_parts(&self) -> usize {
        super::S3_READ_AHEAD
    }
}

/// A part's stream as an HTTP body of known length, for `PutObject`. The SDK asks for a `Sync`
/// body; the stream is only ever polled through `&mut self`, so the mutex is never contended
/// (`get_mut` does not lock).
struct PartBody {
    stream: std::sync::Mutex<ByteStream>,
    len: u64,
}

impl http_body::Body for PartBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, io::Error>>> {
        let stream = self
            .get_mut()
            .stream
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        stream
            .poll_next_unpin(cx)
            .map(|item| item.map(|chunk| chunk.map(http_body::Frame::data)))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.len)
    }
}

/// An SDK error as a [`StorageError`]: no connection, a timeout or a `503` is
/// [`StorageError::Unreachable`] (the store is down or restarting), anything else is
/// [`StorageError::S3`].
fn s3_error<E>(what: String, e: SdkError<E, HttpResponse>) -> StorageError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let unreachable = matches!(e, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_))
        || e.raw_response().is_some_and(|r| r.status().as_u16() == 503);
    let text = format!("{what}: {}", DisplayErrorContext(&e));
    if unreachable {
        StorageError::Unreachable(text)
    } else {
        StorageError::S3(text)
    }
}
