//! A bounded little-endian reader over a byte slice. Every read checks the bytes that remain first, so
//! no count in a file can make the parser read past its end or allocate more than the file holds.

use crate::error::{EngineError, Result};

/// Reads primitive values from `bytes`, front to back.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Takes the next `n` bytes; `what` names the field for the error message.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(EngineError::TruncatedHeader { what, offset: self.pos as u64 });
        }
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16> {
        self.array(what).map(u16::from_le_bytes)
    }
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }
    pub(crate) fn f32(&mut self, what: &'static str) -> Result<f32> {
        self.array(what).map(f32::from_le_bytes)
    }
    pub(crate) fn f64(&mut self, what: &'static str) -> Result<f64> {
        self.array(what).map(f64::from_le_bytes)
    }

    /// A count that promises `count` items of at least `min_item_bytes` each: refused unless that many
    /// bytes remain, which bounds every allocation sized from it by the file's length.
    pub(crate) fn count(&mut self, min_item_bytes: usize, what: &'static str) -> Result<usize> {
        let offset = self.pos as u64;
        let count = self.u64(what)?;
        let fits = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(min_item_bytes.max(1)))
            .is_some_and(|bytes| bytes <= self.remaining());
        if !fits {
            return Err(EngineError::TruncatedHeader { what, offset });
        }
        Ok(count as usize)
    }

    /// A GGUF string: u64 length, then that many bytes of UTF-8.
    pub(crate) fn string(&mut self, what: &'static str) -> Result<&'a str> {
        let offset = self.pos as u64;
        let len = self.count(1, what)?;
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes).map_err(|_| EngineError::InvalidUtf8 { what, offset })
    }
}
