//! File I/O past the page cache (`O_DIRECT` on Linux) for the folder store's parts, and the
//! plain buffered kind for spool files, behind one writer and one reader.
//!
//! Why: a part is written once, fsynced, and read again only by downloads, maybe days later.
//! Through the page cache each byte is first copied into a newly allocated cache page, and
//! reading an uncached part allocates pages too; on a virtual machine that hands freed
//! memory back to its host, each new page costs a fault in the host. The transfer bench
//! (`benches/transfer.rs`) found that to be most of the server's CPU time in an upload
//! there (about 3 s of system time per GiB, when the disk itself writes a GiB in under one).
//! Object stores do the same for the same reason (MinIO writes and reads with `O_DIRECT`).
//!
//! Direct transfers need an [`ALIGN`]-aligned buffer, offset and length: blocks are read
//! and written whole, the last bytes of a file that are not a whole number of [`ALIGN`]s go
//! through an ordinary descriptor, and a file system that refuses `O_DIRECT` (at open or at
//! the first transfer) gets ordinary I/O. Elsewhere than Linux all I/O is ordinary.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::StreamExt;

use super::ByteStream;

/// Alignment of direct transfers in memory, on disk and in length: a page, a multiple of
/// every disk's logical block size.
const ALIGN: usize = 4096;

/// Bytes per read: 1 MiB.
const BLOCK: usize = 1 << 20;

/// Bytes per write: 512 KiB, held by each part being received.
const WRITE_BLOCK: usize = 512 << 10;

/// Blocks a reader reads ahead of the one being sent.
const READ_AHEAD: usize = 2;

/// A buffer of `capacity` bytes starting at an [`ALIGN`]-aligned address. It never grows
/// past that capacity (which keeps direct transfers whole blocks, and the buffer in place).
struct Aligned {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Aligned {
    fn with_capacity(capacity: usize) -> Aligned {
        let mut buf = Vec::with_capacity(capacity + ALIGN);
        let start = (ALIGN - buf.as_ptr() as usize % ALIGN) % ALIGN;
        buf.resize(start, 0);
        Aligned {
            buf,
            start,
            end: start + capacity,
        }
    }

    fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    fn room(&self) -> usize {
        self.end - self.buf.len()
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn extend(&mut self, bytes: &[u8]) {
        assert!(bytes.len() <= self.room(), "an aligned buffer never grows");
        self.buf.extend_from_slice(bytes);
    }

    fn clear(&mut self) {
        self.buf.truncate(self.start);
    }
}

/// Opens `path` with `options`, and `O_DIRECT` if `direct` and the file system takes it;
/// returns the file and whether it is direct.
fn open(path: &Path, options: &OpenOptions, direct: bool) -> io::Result<(File, bool)> {
    #[cfg(target_os = "linux")]
    if direct {
        use std::os::unix::fs::OpenOptionsExt;
        let mut with_flag = options.clone();
        with_flag.custom_flags(libc::O_DIRECT);
        match with_flag.open(path) {
            Ok(file) => return Ok((file, true)),
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {}
            Err(e) => return Err(e),
        }
    }
    let _ = direct;
    Ok((options.open(path)?, false))
}

/// The block a [`Writer`] fills. Made where the writer's caller runs (the async runtime, with
/// few allocator arenas) rather than on the blocking thread that writes: blocks made on
/// blocking threads left many arenas holding freed ones (the server's peak RSS for 8
/// concurrent uploads was a fifth higher than with a single arena).
pub(crate) struct WriteBuffer(Aligned);

impl WriteBuffer {
    pub(crate) fn new() -> WriteBuffer {
        WriteBuffer(Aligned::with_capacity(WRITE_BLOCK))
    }
}

/// A new file written front to back in [`WRITE_BLOCK`]s (blocking I/O: run it off the
/// runtime).
pub(crate) struct Writer {
    file: File,
    path: PathBuf,
    direct: bool,
    block: Aligned,
    offset: u64,
}

impl Writer {
    /// Creates `path` (which must not exist), written past the page cache if `direct`, through
    /// `buffer`.
    pub(crate) fn create(path: &Path, direct: bool, buffer: WriteBuffer) -> io::Result<Writer> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        let (file, direct) = open(path, &options, direct)?;
        Ok(Writer {
            file,
            path: path.to_owned(),
            direct,
            block: buffer.0,
            offset: 0,
        })
    }

    pub(crate) fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let take = self.block.room().min(bytes.len());
            self.block.extend(&bytes[..take]);
            bytes = &bytes[take..];
            if self.block.room() == 0 {
                self.flush_block()?;
            }
        }
        Ok(())
    }

    /// Writes what is left; the caller syncs if it needs to.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        let front = if self.direct {
            self.block.len() / ALIGN * ALIGN
        } else {
            self.block.len()
        };
        if front > 0 {
            self.write_block(front)?;
        }
        let tail = &self.block.bytes()[front..];
        if !tail.is_empty() {
            let mut file = OpenOptions::new().write(true).open(&self.path)?;
            file.seek(SeekFrom::Start(self.offset + front as u64))?;
            file.write_all(tail)?;
        }
        Ok(())
    }

    fn flush_block(&mut self) -> io::Result<()> {
        let len = self.block.len();
        self.write_block(len)?;
        self.offset += len as u64;
        self.block.clear();
        Ok(())
    }

    /// Writes the block's first `len` bytes at the block's offset.
    fn write_block(&mut self, len: usize) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(self.offset))?;
        match self.file.write_all(&self.block.bytes()[..len]) {
            Err(e) if self.direct && e.kind() == io::ErrorKind::InvalidInput => {
                // The file system took O_DIRECT at open but not for writing.
                tracing::warn!(path = %self.path.display(), "the file system refuses O_DIRECT writes; writing through the page cache");
                self.file = OpenOptions::new().write(true).open(&self.path)?;
                self.direct = false;
                self.write_block(len)
            }
            result => result,
        }
    }
}

/// Streams bytes `range` of the file at `path` (which the caller checked), read in
/// [`BLOCK`]s past the page cache by a blocking task, [`READ_AHEAD`] blocks ahead of the
/// stream; dropping the stream stops the task.
pub(crate) fn read_range(path: PathBuf, range: Range<u64>) -> ByteStream {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = send_range(&path, range, &tx) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        let item = rx.recv().await?;
        Some((item, rx))
    })
    .boxed()
}

/// Reads `range` of `path` block by block into `tx`; stops early once nobody listens.
fn send_range(
    path: &Path,
    range: Range<u64>,
    tx: &tokio::sync::mpsc::Sender<io::Result<Bytes>>,
) -> io::Result<()> {
    let mut reader = Reader::open(path)?;
    let mut at = range.start;
    while at < range.end {
        let bytes = reader.read(at, range.end - at)?;
        at += bytes.len() as u64;
        if tx.blocking_send(Ok(bytes)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// A file read in blocks, past the page cache when it can be.
struct Reader {
    file: File,
    path: PathBuf,
    direct: bool,
}

impl Reader {
    fn open(path: &Path) -> io::Result<Reader> {
        let mut options = OpenOptions::new();
        options.read(true);
        let (file, direct) = open(path, &options, true)?;
        Ok(Reader {
            file,
            path: path.to_owned(),
            direct,
        })
    }

    /// The next bytes from `at` on: at most a block, at most `left`, and all of `left` if it
    /// fits in the block (the file ending earlier is an error).
    fn read(&mut self, at: u64, left: u64) -> io::Result<Bytes> {
        // A direct read starts at an aligned offset and asks for a whole block (the file's end
        // may answer fewer bytes); the bytes before `at` are dropped.
        let skip = if self.direct {
            (at % ALIGN as u64) as usize
        } else {
            0
        };
        let mut block = Aligned::with_capacity(BLOCK);
        block.buf.resize(block.end, 0);
        self.file.seek(SeekFrom::Start(at - skip as u64))?;
        let read = match read_full(&mut self.file, &mut block.buf[block.start..]) {
            Err(e) if self.direct && e.kind() == io::ErrorKind::InvalidInput => {
                tracing::warn!(path = %self.path.display(), "the file system refuses O_DIRECT reads; reading through the page cache");
                self.file = OpenOptions::new().read(true).open(&self.path)?;
                self.direct = false;
                return self.read(at, left);
            }
            result => result?,
        };
        let wanted = left.min((BLOCK - skip) as u64) as usize;
        if read < skip + wanted {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} ends before byte {}", self.path.display(), at + left),
            ));
        }
        let start = block.start + skip;
        Ok(Bytes::from(block.buf).slice(start..start + wanted))
    }
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4099) as u8).collect()
    }

    #[tokio::test]
    async fn odd_writes_and_odd_ranges_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("part");
        let data = pattern(3 * BLOCK + WRITE_BLOCK + 12_345);
        let mut writer = Writer::create(&path, true, WriteBuffer::new()).expect("create");
        let direct = writer.direct;
        for piece in data.chunks(65_536 + 17) {
            writer.write(piece).expect("write");
        }
        assert_eq!(writer.direct, direct, "whole blocks are written directly");
        writer.finish().expect("finish");
        assert_eq!(std::fs::read(&path).expect("read"), data);

        let len = data.len() as u64;
        for range in [
            0..len,
            1..len - 1,
            4095..4097,
            65_552..2 * BLOCK as u64 + 3,
            len..len,
        ] {
            let got: Vec<u8> = read_range(path.clone(), range.clone())
                .map_ok(|b| b.to_vec())
                .try_concat()
                .await
                .expect("read range");
            assert_eq!(got, data[range.start as usize..range.end as usize]);
        }
    }

    #[test]
    fn unaligned_reads_stay_direct() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("part");
        let data = pattern(BLOCK + 5000);
        std::fs::write(&path, &data).expect("write");
        let mut reader = Reader::open(&path).expect("open");
        let direct = reader.direct;
        let bytes = reader.read(4097, 3 * BLOCK as u64).expect("read");
        assert_eq!(bytes[..], data[4097..4096 + BLOCK]);
        let bytes = reader.read(BLOCK as u64 + 1, 4999).expect("read");
        assert_eq!(bytes[..], data[BLOCK + 1..]);
        assert_eq!(reader.direct, direct, "aligned blocks are read directly");
    }

    #[tokio::test]
    async fn reading_past_the_end_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("part");
        std::fs::write(&path, pattern(10_000)).expect("write");
        let read: Result<Vec<Bytes>, _> = read_range(path, 9_000..10_001).try_collect().await;
        assert!(read.is_err());
    }
}
