//! Weights repacked once at load into the u32-word blocks the kernels read (see `dequant.wgsl`):
//! Q4_0 becomes Q4_1 exactly (value (q − 8)·d = q·d + m with m = −8d, exact in f16), Q4_1 is copied,
//! Q8_0 gets a padding half so that every block starts on a word; every other block format (Q5_0, Q5_1,
//! the K-quants, and matrices fused from parts of different formats) is written as its 32-value groups
//! (`quant::group`): per half an f32 scale and offset, then 32 signed bytes, which keeps its values
//! exact; the plain float formats become f32.

use half::f16;

use crate::model::QMatrix;
use crate::quant::{dequantize, group, GgmlType, QK};

/// The block layouts the kernels read (the `FORMAT` override constant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GpuFormat {
    /// Q4_0 and Q4_1: 5 words a block.
    Q4 = 0,
    /// Q8_0: 9 words a block.
    Q8 = 1,
    /// f32: 32 words a block.
    F32 = 2,
    /// Any block format as groups: 12 words a block.
    Groups = 3,
}

impl GpuFormat {
    /// The layout for `m`'s blocks. A Q4_0 matrix whose scale is too large for −8d to fit an f16 (never in
    /// practice) goes to f32 so that the repacking stays exact.
    pub(crate) fn for_matrix(m: &QMatrix) -> Self {
        match m.ty {
            GgmlType::Q4_1 => Self::Q4,
            GgmlType::Q4_0 if (0..m.rows).all(|r| row_q4_0_fits(m.row(r))) => Self::Q4,
            GgmlType::Q8_0 => Self::Q8,
            ty if ty.is_block() => Self::Groups,
            _ => Self::F32,
        }
    }

    /// One layout for matrices uploaded as one: theirs when they agree, else groups when every part is a
    /// block format (exact, 12 bits a value), else f32.
    pub(crate) fn common(mats: &[&QMatrix]) -> Self {
        let first = Self::for_matrix(mats[0]);
        if mats.iter().all(|m| Self::for_matrix(m) == first) {
            first
        } else if mats.iter().all(|m| m.ty.is_block()) {
            Self::Groups
        } else {
            Self::F32
        }
    }

    /// Words per 32-value block.
    pub(crate) fn block_words(self) -> usize {
        match self {
            Self::Q4 => 5,
            Self::Q8 => 9,
            Self::F32 => 32,
            Self::Groups => 12,
        }
    }

    /// The value of the WGSL `FORMAT` constant.
    pub(crate) fn constant(self) -> f64 {
        self as u32 as f64
    }
}

fn row_q4_0_fits(row: &[u8]) -> bool {
    row.chunks_exact(18).all(|b| (f16::from_le_bytes([b[0], b[1]]).to_f32() * 8.0).abs() <= f16::MAX.to_f32())
}

/// Appends row `r` of `m` to `out` in `format` (which must be [`GpuFormat::for_matrix`] or f32).
pub(crate) fn pack_row(m: &QMatrix, r: usize, format: GpuFormat, out: &mut Vec<u32>) {
    let row = m.row(r);
    let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    match (format, m.ty) {
        (GpuFormat::Q4, GgmlType::Q4_1) => out.extend(row.chunks_exact(4).map(word)),
        (GpuFormat::Q4, GgmlType::Q4_0) => {
            for b in row.chunks_exact(18) {
                let d = f16::from_le_bytes([b[0], b[1]]);
                let m = f16::from_f32(-8.0 * d.to_f32());
                out.push(u32::from(d.to_bits()) | (u32::from(m.to_bits()) << 16));
                out.extend(b[2..].chunks_exact(4).map(word));
            }
        }
        (GpuFormat::Q8, GgmlType::Q8_0) => {
            for b in row.chunks_exact(34) {
                out.push(u32::from(u16::from_le_bytes([b[0], b[1]])));
                out.extend(b[2..].chunks_exact(4).map(word));
            }
        }
        (GpuFormat::Groups, ty) if ty.is_block() => {
            for b in row.chunks_exact(ty.block_bytes()) {
                for g in 0..ty.block_size() / QK {
                    let Some(group) = group(ty, b, g) else { unreachable!("{ty:?} is a block format") };
                    out.extend([group.d[0], group.m[0], group.d[1], group.m[1]].map(f32::to_bits));
                    out.extend(
                        group
                            .q
                            .chunks_exact(4)
                            .map(|q| u32::from_le_bytes([q[0] as u8, q[1] as u8, q[2] as u8, q[3] as u8])),
                    );
                }
            }
        }
        _ => {
            let mut dense = vec![0.0f32; m.cols];
            // Rows are validated when the model loads, so this cannot fail.
            if dequantize(m.ty, row, &mut dense).is_ok() {
                out.extend(dense.iter().map(|v| v.to_bits()));
            } else {
                out.extend(std::iter::repeat_n(0, m.cols));
            }
        }
    }
}

/// Whether the GPU kernels can read a matrix with `cols` inputs (whole 32-value blocks).
pub(crate) fn cols_fit(cols: usize) -> bool {
    cols.is_multiple_of(QK)
}
