//! Files a killed server left behind: a part being spooled when the process died stays in the
//! spool folder (`<data dir>/spool`), and a part being moved into the folder store stays in
//! `<root>/.tmp`. A running server removes its own (the spool file's guard, the store's
//! rename), so only a crash leaves them, and nothing ever reads them: the part was never
//! recorded as held, and the client uploads it again.
//!
//! [`sweep`] runs when the server starts and removes such files once they are older than
//! [`LEFTOVER_AGE`]. The age keeps it safe where a folder is shared: a live part lives for
//! seconds (at most 8 MiB), so a file an hour old belongs to no upload in progress.

use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How old a spool or temporary file must be before it counts as left behind.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(60 * 60);

/// Removes the regular files directly in `dir` last modified at least `min_age` before `now`;
/// returns how many files and bytes went. Subfolders and other entries are left alone; a file
/// that vanishes meanwhile is not an error. A missing `dir` removes nothing.
pub async fn sweep(dir: &Path, min_age: Duration, now: SystemTime) -> io::Result<(u64, u64)> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(e),
    };
    let (mut files, mut bytes) = (0, 0);
    while let Some(entry) = entries.next_entry().await? {
        let meta = match entry.metadata().await {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if !meta.is_file() {
            continue;
        }
        let age = now
            .duration_since(meta.modified()?)
            .unwrap_or(Duration::ZERO);
        if age < min_age {
            continue;
        }
        match tokio::fs::remove_file(entry.path()).await {
            Ok(()) => {
                files += 1;
                bytes += meta.len();
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok((files, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn removes_old_files_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = dir.path().join("part-old");
        let fresh = dir.path().join("part-fresh");
        std::fs::write(&old, vec![7u8; 1000]).expect("write");
        std::fs::write(&fresh, b"abc").expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .expect("open")
            .set_modified(two_hours_ago)
            .expect("set mtime");

        let (files, bytes) = sweep(dir.path(), LEFTOVER_AGE, SystemTime::now())
            .await
            .expect("sweep");

        assert_eq!((files, bytes), (1, 1000));
        assert!(!old.exists(), "the hour-old spool file is gone");
        assert!(fresh.exists(), "a file being written now stays");
        assert!(dir.path().join("sub").is_dir(), "folders stay");
    }

    #[tokio::test]
    async fn a_missing_folder_removes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        assert_eq!(
            sweep(&missing, LEFTOVER_AGE, SystemTime::now())
                .await
                .expect("sweep"),
            (0, 0)
        );
    }
}
