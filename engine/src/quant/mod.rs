//! Tensor element and block formats as ggml lays them out, each with a scalar reference dequantizer.
//! Quantized formats group 32 values into a block with one or two f16 constants.

mod blocks;

pub(crate) use blocks::f16_at;
pub use blocks::{dequantize, BlockQ4_0, BlockQ4_1, BlockQ8_0, QK};

/// ggml's tensor types that this engine reads, with their on-disk codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    BF16,
    /// 32 values: f16 scale `d`, 16 bytes of nibbles; value = (q − 8)·d.
    Q4_0,
    /// 32 values: f16 scale `d` and minimum `m`, 16 bytes of nibbles; value = q·d + m.
    Q4_1,
    /// 32 values: f16 scale `d`, 32 signed bytes; value = q·d.
    Q8_0,
}

impl GgmlType {
    /// The type for a ggml type code, if supported.
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            8 => Self::Q8_0,
            30 => Self::BF16,
            _ => return None,
        })
    }

    /// The ggml type code.
    pub fn code(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q8_0 => 8,
            Self::BF16 => 30,
        }
    }

    /// Values per block (1 for plain floats).
    pub fn block_size(self) -> usize {
        match self {
            Self::F32 | Self::F16 | Self::BF16 => 1,
            Self::Q4_0 | Self::Q4_1 | Self::Q8_0 => QK,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
            Self::Q4_0 => size_of::<BlockQ4_0>(),
            Self::Q4_1 => size_of::<BlockQ4_1>(),
            Self::Q8_0 => size_of::<BlockQ8_0>(),
        }
    }

    /// Bytes taken by `n_elements` values laid out in rows of `row_len`, or `None` when the rows do not
    /// split into whole blocks or the size overflows.
    pub fn bytes_for(self, n_elements: u64, row_len: u64) -> Option<u64> {
        let block = self.block_size() as u64;
        if !row_len.is_multiple_of(block) {
            return None;
        }
        (n_elements / block).checked_mul(self.block_bytes() as u64)
    }
}
