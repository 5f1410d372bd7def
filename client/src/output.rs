//! The partial file a download writes: authenticated plaintext gathered in large blocks, each
//! written by a blocking task while the next one fills, bypassing the page cache on Linux.
//!
//! Why `O_DIRECT`: a download's plaintext is written once, fsynced, and not read back here.
//! Through the page cache every byte is first copied into newly allocated cache pages, and
//! on a virtual machine that hands freed memory back to its host each such page costs a
//! fault in the host: the transfer bench (`server/benches/transfer.rs`) found that to be the
//! largest single cost of a download there (about 3 s of system time per GiB, when the disk
//! itself takes under one). Written directly, the bytes go from the block to the disk.
//!
//! Blocks start at an [`ALIGN`]-aligned address and offset, and every write but the file's
//! last is a whole number of [`ALIGN`]s; those last bytes go through an ordinary descriptor.
//! A file system that refuses `O_DIRECT`, at open or at the first write, gets ordinary
//! writes. Elsewhere than Linux every write is ordinary.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sealdrop_crypto::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE};
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

/// Alignment of direct writes in memory, on disk and in length: a page, which is a multiple
/// of every disk's logical block size.
const ALIGN: usize = 4096;

/// Plaintext per block: 64 chunks (4 MiB). Two blocks exist at most, one filling while the
/// other is written.
pub(crate) const BLOCK: usize = 64 * CHUNK_SIZE;

/// A block of plaintext, followed by the ciphertext of the chunk being assembled, at an
/// aligned address. Its buffer never grows (that would move it): a block holds at most
/// [`BLOCK`] bytes of plaintext and one encrypted chunk.
pub(crate) struct Block {
    buf: Zeroizing<Vec<u8>>,
    /// Where the block starts in `buf`: the first aligned address.
    start: usize,
}

impl Block {
    fn new() -> Block {
        let mut buf = Zeroizing::new(Vec::with_capacity(BLOCK + ENCRYPTED_CHUNK_SIZE + ALIGN));
        let start = (ALIGN - buf.as_ptr() as usize % ALIGN) % ALIGN;
        buf.resize(start, 0);
        Block { buf, start }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        assert!(
            self.buf.len() + bytes.len() <= self.buf.capacity(),
            "a block holds at most BLOCK bytes of plaintext and one encrypted chunk"
        );
        self.buf.extend_from_slice(bytes);
    }

    /// The block's bytes from `from` on.
    pub(crate) fn tail_mut(&mut self, from: usize) -> &mut [u8] {
        &mut self.buf[self.start + from..]
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.buf.truncate(self.start + len);
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// The file, owned by whichever task writes it.
struct Target {
    file: File,
    path: PathBuf,
    /// Whether `file` was opened with `O_DIRECT` (and has not refused it since).
    direct: bool,
}

impl Target {
    fn open(path: &Path) -> io::Result<Target> {
        let plain = || {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)
        };
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::OpenOptionsExt;
            let direct = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .custom_flags(libc::O_DIRECT)
                .open(path);
            match direct {
                Ok(file) => {
                    return Ok(Target {
                        file,
                        path: path.to_owned(),
                        direct: true,
                    })
                }
                Err(e) if e.kind() != io::ErrorKind::InvalidInput => return Err(e),
                Err(_) => {}
            }
        }
        Ok(Target {
            file: plain()?,
            path: path.to_owned(),
            direct: false,
        })
    }

    /// Writes `bytes` at `offset`: the aligned front directly when possible, the rest through
    /// an ordinary descriptor.
    fn write_at(&mut self, bytes: &[u8], offset: u64) -> io::Result<()> {
        if !self.direct {
            return write_all_at(&mut self.file, bytes, offset);
        }
        let front = bytes.len() / ALIGN * ALIGN;
        if front > 0 {
            match write_all_at(&mut self.file, &bytes[..front], offset) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                    // The file system accepted O_DIRECT at open but not for writing.
                    self.file = OpenOptions::new().write(true).open(&self.path)?;
                    self.direct = false;
                    return self.write_at(bytes, offset);
                }
                Err(e) => return Err(e),
            }
        }
        if front < bytes.len() {
            let mut tail = OpenOptions::new().write(true).open(&self.path)?;
            write_all_at(&mut tail, &bytes[front..], offset + front as u64)?;
        }
        Ok(())
    }
}

fn write_all_at(file: &mut File, bytes: &[u8], offset: u64) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)
}

/// The partial file of one download, written a block at a time in the background.
pub(crate) struct Output {
    /// The file, while no write runs.
    target: Option<Target>,
    /// The running write, which gives the file and the emptied block back.
    running: Option<JoinHandle<(Target, Block, io::Result<()>)>>,
    /// An empty block to fill next.
    spare: Option<Block>,
    /// Where the next block goes.
    offset: u64,
}

impl Output {
    /// Opens (or creates) the partial file at `path` and cuts it to `offset` bytes, where
    /// writing continues; `offset` is a whole number of chunks.
    pub(crate) async fn open(path: &Path, offset: u64) -> io::Result<Output> {
        let path = path.to_owned();
        let target = blocking(move || {
            let target = Target::open(&path)?;
            target.file.set_len(offset)?;
            Ok(target)
        })
        .await?;
        Ok(Output {
            target: Some(target),
            running: None,
            spare: None,
            offset,
        })
    }

    /// An empty block to fill.
    pub(crate) fn block(&mut self) -> Block {
        self.spare.take().unwrap_or_else(Block::new)
    }

    /// Starts writing `block` (all plaintext) after the blocks before it; an error of the
    /// write before it is returned here.
    pub(crate) async fn write(&mut self, block: Block) -> io::Result<()> {
        let mut target = self.idle().await?;
        let offset = self.offset;
        self.offset += block.len() as u64;
        self.running = Some(tokio::task::spawn_blocking(move || {
            let result = target.write_at(block.bytes(), offset);
            let mut block = block;
            block.truncate(0);
            (target, block, result)
        }));
        Ok(())
    }

    /// Empties the file: the server sent the whole file instead of the range asked for.
    pub(crate) async fn restart(&mut self) -> io::Result<()> {
        let target = self.idle().await?;
        let target = blocking(move || target.file.set_len(0).map(|()| target)).await?;
        self.target = Some(target);
        self.offset = 0;
        Ok(())
    }

    /// Writes what `block` holds and waits until everything written is on disk.
    pub(crate) async fn finish(mut self, block: Block) -> io::Result<()> {
        let mut target = self.idle().await?;
        let offset = self.offset;
        blocking(move || {
            if block.len() > 0 {
                target.write_at(block.bytes(), offset)?;
            }
            target.file.sync_all()
        })
        .await
    }

    /// Waits for the running write; returns the file.
    async fn idle(&mut self) -> io::Result<Target> {
        if let Some(running) = self.running.take() {
            let (target, block, result) = running.await.map_err(io::Error::other)?;
            self.spare = Some(block);
            result?;
            return Ok(target);
        }
        Ok(self
            .target
            .take()
            .expect("the file is here whenever no write runs"))
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blocks_and_a_short_tail_land_at_their_offsets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("partial");
        std::fs::write(&path, vec![9u8; CHUNK_SIZE * 3]).expect("earlier partial file");
        let mut output = Output::open(&path, CHUNK_SIZE as u64).await.expect("open");
        let mut expected = vec![9u8; CHUNK_SIZE];
        for round in 0..3u8 {
            let mut block = output.block();
            let bytes = vec![round; BLOCK];
            block.extend(&bytes);
            expected.extend_from_slice(&bytes);
            output.write(block).await.expect("write");
        }
        let mut block = output.block();
        block.extend(&[7u8; 5000]);
        expected.extend_from_slice(&[7u8; 5000]);
        output.finish(block).await.expect("finish");
        assert_eq!(std::fs::read(&path).expect("read"), expected);
    }

    #[tokio::test]
    async fn a_restart_empties_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("partial");
        let mut output = Output::open(&path, 0).await.expect("open");
        let mut block = output.block();
        block.extend(&vec![1u8; BLOCK]);
        output.write(block).await.expect("write");
        output.restart().await.expect("restart");
        let mut block = output.block();
        block.extend(b"again");
        output.finish(block).await.expect("finish");
        assert_eq!(std::fs::read(&path).expect("read"), b"again");
    }
}
