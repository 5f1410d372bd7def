//! The embedded blob store: one file per object below a root folder.
//!
//! Writes are atomic: the bytes go to a temporary file in `<root>/.tmp` (where the upload
//! route spools a part, [`Storage::spool_dir`]), are flushed with `fsync`, and the file is
//! renamed into place (then the folder is synced), so a reader sees the whole object or
//! nothing, even after a crash. Keys are [`BlobKey`]s, whose segments cannot be empty, `.`
//! or `..`, so no key can name a path outside the root. Parts are written and read past the
//! page cache (`direct.rs`).

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{direct, BlobKey, ByteStream, Storage, StorageError};

/// A blob store in a local folder.
#[derive(Debug, Clone)]
pub struct FolderStorage {
    root: PathBuf,
    /// `<root>/.tmp`: spool and temporary files, renamed into place.
    temp: PathBuf,
}

impl FolderStorage {
    /// Opens (creating if needed) a folder store at `root`.
    pub async fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        let temp = root.join(".tmp");
        tokio::fs::create_dir_all(&temp).await?;
        Ok(Self { root, temp })
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        let mut path = self.root.clone();
        for segment in key.segments() {
            // BlobKey guarantees plain segments; checked again because a path escaping the
            // root would be a security bug, not an error.
            assert!(
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && !segment.contains(['/', '\\']),
                "BlobKey invariant broken"
            );
            path.push(segment);
        }
        path
    }

    async fn put(&self, key: &BlobKey, source: &Path, len: u64) -> Result<(), StorageError> {
        let target = self.path(key);
        let parent = target
            .parent()
            .expect("a key path is below the root")
            .to_owned();
        tokio::fs::create_dir_all(&parent).await?;
        let temp = self
            .temp
            .join(format!("put-{:016x}", rand::random::<u64>()));
        // Prefer moving the spool file (same file system); otherwise copy it.
        if tokio::fs::rename(source, &temp).await.is_err() {
            tokio::fs::copy(source, &temp).await?;
            let _ = tokio::fs::remove_file(source).await;
        }
        let result = async {
            let file = tokio::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&temp)
                .await?;
            let actual = file.metadata().await?.len();
            if actual != len {
                return Err(io::Error::other(format!(
                    "spooled part has {actual} bytes, expected {len}"
                )));
            }
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&temp, &target).await?;
            sync_dir(parent).await
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        Ok(result?)
    }

    async fn read(&self, key: &BlobKey, range: Range<u64>) -> Result<ByteStream, StorageError> {
        let path = self.path(key);
        let size = match tokio::fs::metadata(&path).await {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound(key.to_string()))
            }
            Err(e) => return Err(e.into()),
        };
        if range.end > size || range.start > range.end {
            return Err(StorageError::Io(io::Error::other(format!(
                "range {range:?} outside blob {key} of {size} bytes"
            ))));
        }
        Ok(direct::read_range(path, range))
    }

    async fn delete(&self, prefix: &BlobKey) -> Result<(), StorageError> {
        let path = self.path(prefix);
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_dir() => tokio::fs::remove_dir_all(&path).await?,
            Ok(_) => tokio::fs::remove_file(&path).await?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    async fn list_keys(&self, prefix: &BlobKey) -> Result<Vec<String>, StorageError> {
        let mut out = Vec::new();
        let mut stack = vec![(self.path(prefix), prefix.as_str().to_owned())];
        while let Some((dir, key)) = stack.pop() {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                    out.push(key);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            while let Some(entry) = entries.next_entry().await? {
                let name = entry.file_name().to_string_lossy().into_owned();
                let child = format!("{key}/{name}");
                if entry.file_type().await?.is_dir() {
                    stack.push((entry.path(), child));
                } else {
                    out.push(child);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    async fn probe(&self) -> Result<(), StorageError> {
        let meta = tokio::fs::metadata(&self.temp).await?;
        if !meta.is_dir() {
            return Err(StorageError::Io(io::Error::other(
                "blob folder is not a directory",
            )));
        }
        Ok(())
    }
}

impl Storage for FolderStorage {
    fn put_file<'a>(
        &'a self,
        key: &'a BlobKey,
        path: &'a Path,
        len: u64,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        self.put(key, path, len).boxed()
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
        self.list_keys(prefix).boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        self.probe().boxed()
    }

    fn spool_dir(&self) -> Option<&Path> {
        Some(&self.temp)
    }
}

/// Flushes a folder's entry list so a rename inside it survives a crash.
async fn sync_dir(dir: PathBuf) -> io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
        .await
        .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    async fn store(dir: &Path, key: &BlobKey, bytes: &[u8]) -> FolderStorage {
        let storage = FolderStorage::open(dir.join("blobs")).await.expect("open");
        let spool = dir.join("spool-file");
        tokio::fs::write(&spool, bytes).await.expect("spool");
        storage
            .put_file(key, &spool, bytes.len() as u64)
            .await
            .expect("put");
        storage
    }

    #[tokio::test]
    async fn stored_bytes_read_back_by_range() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = BlobKey::part("pkg", 0, 0).expect("key");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let storage = store(dir.path(), &key, &bytes).await;
        let got: Vec<u8> = storage
            .read_range(&key, 1000..150_000)
            .await
            .expect("read")
            .map_ok(|b| b.to_vec())
            .try_concat()
            .await
            .expect("stream");
        assert_eq!(got, bytes[1000..150_000]);
        assert!(
            !dir.path().join("spool-file").exists(),
            "the spool file is consumed"
        );
    }

    #[tokio::test]
    async fn delete_prefix_removes_a_package() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = BlobKey::part("pkg", 3, 1).expect("key");
        let storage = store(dir.path(), &key, b"abc").await;
        let prefix = BlobKey::package("pkg").expect("key");
        assert_eq!(
            storage.list(&prefix).await.expect("list"),
            vec!["packages/pkg/3/000001".to_owned()]
        );
        storage.delete_prefix(&prefix).await.expect("delete");
        assert!(storage.list(&prefix).await.expect("list").is_empty());
        assert!(matches!(
            storage.read_range(&key, 0..1).await,
            Err(StorageError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn wrong_length_is_not_stored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = FolderStorage::open(dir.path().join("blobs"))
            .await
            .expect("open");
        let spool = dir.path().join("spool-file");
        tokio::fs::write(&spool, b"abcd").await.expect("spool");
        let key = BlobKey::part("pkg", 0, 0).expect("key");
        assert!(storage.put_file(&key, &spool, 5).await.is_err());
        assert!(storage
            .list(&BlobKey::package("pkg").expect("key"))
            .await
            .expect("list")
            .is_empty());
    }
}
