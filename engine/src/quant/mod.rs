//! Tensor element and block formats as ggml lays them out, each with a scalar reference dequantizer.
//! The simple formats group 32 values into a block with one or two f16 constants; the K-quants group 256
//! into a super-block whose sub-blocks have their own small scales (see `groups.rs`).

mod blocks;
mod groups;

pub use blocks::{dequantize, f16_to_f32, BlockQ4_0, BlockQ4_1, BlockQ8_0, QK};
pub(crate) use blocks::{f16_at, f16_at_by_shift};
pub use groups::{
    block_unsigned_scales, group, halves_share_scales, BlockQ2K, BlockQ3K, BlockQ4K, BlockQ5K, BlockQ5_0, BlockQ5_1,
    BlockQ6K, BlockScales, Group, QK_K,
};

/// ggml's name for a type code, read or not (`IQ4_NL`), for messages; `unknown` for a code ggml lacks.
pub fn ggml_type_name(code: u32) -> &'static str {
    const NAMES: [&str; 40] = [
        "F32",
        "F16",
        "Q4_0",
        "Q4_1",
        "Q4_2",
        "Q4_3",
        "Q5_0",
        "Q5_1",
        "Q8_0",
        "Q8_1",
        "Q2_K",
        "Q3_K",
        "Q4_K",
        "Q5_K",
        "Q6_K",
        "Q8_K",
        "IQ2_XXS",
        "IQ2_XS",
        "IQ3_XXS",
        "IQ1_S",
        "IQ4_NL",
        "IQ3_S",
        "IQ2_S",
        "IQ4_XS",
        "I8",
        "I16",
        "I32",
        "I64",
        "F64",
        "IQ1_M",
        "BF16",
        "Q4_0_4_4",
        "Q4_0_4_8",
        "Q4_0_8_8",
        "TQ1_0",
        "TQ2_0",
        "IQ4_NL_4_4",
        "IQ4_NL_4_8",
        "IQ4_NL_8_8",
        "MXFP4",
    ];
    NAMES.get(code as usize).copied().unwrap_or("unknown")
}

/// ggml's tensor types that this engine reads, with their on-disk codes (and ggml's names).
#[allow(non_camel_case_types)]
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
    /// 32 values: f16 scale `d`, 5-bit values; value = (q − 16)·d.
    Q5_0,
    /// 32 values: f16 scale `d` and minimum `m`, 5-bit values; value = q·d + m.
    Q5_1,
    /// 256 values: 2-bit values, a 4-bit scale and minimum per 16.
    Q2_K,
    /// 256 values: 3-bit values, a 6-bit signed scale per 16.
    Q3_K,
    /// 256 values: 4-bit values, a 6-bit scale and minimum per 32.
    Q4_K,
    /// 256 values: 5-bit values, a 6-bit scale and minimum per 32.
    Q5_K,
    /// 256 values: 6-bit values, an 8-bit signed scale per 16.
    Q6_K,
}

impl GgmlType {
    /// Every block format this engine reads, the simple ones first.
    pub const BLOCKS: [GgmlType; 10] = [
        Self::Q4_0,
        Self::Q4_1,
        Self::Q5_0,
        Self::Q5_1,
        Self::Q8_0,
        Self::Q2_K,
        Self::Q3_K,
        Self::Q4_K,
        Self::Q5_K,
        Self::Q6_K,
    ];

    /// The type for a ggml type code, if supported.
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            10 => Self::Q2_K,
            11 => Self::Q3_K,
            12 => Self::Q4_K,
            13 => Self::Q5_K,
            14 => Self::Q6_K,
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
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q2_K => 10,
            Self::Q3_K => 11,
            Self::Q4_K => 12,
            Self::Q5_K => 13,
            Self::Q6_K => 14,
            Self::BF16 => 30,
        }
    }

    /// Values per block (1 for plain floats).
    pub fn block_size(self) -> usize {
        match self {
            Self::F32 | Self::F16 | Self::BF16 => 1,
            Self::Q4_0 | Self::Q4_1 | Self::Q8_0 | Self::Q5_0 | Self::Q5_1 => QK,
            Self::Q2_K | Self::Q3_K | Self::Q4_K | Self::Q5_K | Self::Q6_K => QK_K,
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
            Self::Q5_0 => size_of::<BlockQ5_0>(),
            Self::Q5_1 => size_of::<BlockQ5_1>(),
            Self::Q2_K => size_of::<BlockQ2K>(),
            Self::Q3_K => size_of::<BlockQ3K>(),
            Self::Q4_K => size_of::<BlockQ4K>(),
            Self::Q5_K => size_of::<BlockQ5K>(),
            Self::Q6_K => size_of::<BlockQ6K>(),
        }
    }

    /// Whether values come in blocks with constants (every type but the plain floats).
    pub fn is_block(self) -> bool {
        self.block_size() > 1
    }

    /// Where each block's f16 constants start, in bytes (empty for the plain floats).
    pub fn halves(self) -> &'static [usize] {
        match self {
            Self::F32 | Self::F16 | Self::BF16 => &[],
            Self::Q4_0 | Self::Q8_0 | Self::Q5_0 => &[0],
            Self::Q4_1 | Self::Q5_1 | Self::Q4_K | Self::Q5_K => &[0, 2],
            Self::Q2_K => &[80, 82],
            Self::Q3_K => &[108],
            Self::Q6_K => &[208],
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
