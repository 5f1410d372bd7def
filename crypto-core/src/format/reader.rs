//! A cursor over a binary structure (the manifest, the roster): running out of bytes is always
//! the structure's own "truncated" error.

use crate::error::Error;

/// Reads fixed-size fields front to back.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    truncated: Error,
}

impl<'a> Reader<'a> {
    /// A cursor over `bytes` that answers `truncated` when a field runs past the end.
    pub(crate) fn new(bytes: &'a [u8], truncated: Error) -> Self {
        Self {
            rest: bytes,
            truncated,
        }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.rest.len() < n {
            return Err(self.truncated.clone());
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        Ok(self
            .take(N)?
            .try_into()
            .expect("take returned exactly N bytes"))
    }

    /// The next byte.
    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    /// Whether every byte was read.
    pub(crate) fn is_done(&self) -> bool {
        self.rest.is_empty()
    }
}
