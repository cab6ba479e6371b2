//! 8-bit activations and integer block dot products. Each 32-value activation block keeps its f32 scale
//! and `d · Σq` (Q4_0's offset and Q4_1's minimum need it); weight blocks are read in place and their
//! f16 constants converted on the fly: F16C natively, an exact shift-and-multiply in wasm (which has no
//! conversion instruction), the `half` crate in the scalar reference.
//!
//! Three implementations of one contract: `scalar` (the reference), `avx2` (x86-64, chosen at run time),
//! `simd128` (wasm, chosen at compile time: with relaxed SIMD's byte dot product in a build with the
//! `relaxed-simd` feature, which only browsers that have it load). Tests hold the fast ones to the
//! scalar one.

use crate::model::QMatrix;
pub(crate) use crate::quant::f16_at_by_shift;
pub use crate::quant::f16_to_f32;
use crate::quant::GgmlType;

mod acts;
pub use acts::{quantize_row_q8, Q8Row};

/// Whether [`matmul`] handles weights of type `ty`: every block format.
pub fn supports(ty: GgmlType) -> bool {
    ty.is_block()
}

/// The formats with 16- or 32-value sub-blocks: their SIMD kernels where this CPU has them, else the
/// scalar reference through their [`crate::quant::Group`]s.
fn grouped(ty: GgmlType) -> Option<RowDot> {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(dots) = x86_best(ty) {
            if let Some(dot) = (dots.grouped)(ty) {
                return Some(dot);
            }
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        if let Some(dot) = instance::<simd128::best::Grouped>(ty) {
            return Some(dot);
        }
    }
    scalar_grouped(ty)
}

/// The scalar reference of the grouped formats.
fn scalar_grouped(ty: GgmlType) -> Option<RowDot> {
    instance::<scalar::Grouped>(ty)
}

/// A row dot over the groups of the grouped formats (Q5_0, Q5_1 and the K-quants Q2_K … Q6_K), one
/// compiled loop per format: `CODE` is its ggml type code.
trait GroupedKernel {
    /// `row · act` for a row of the format `CODE`.
    fn dot<const CODE: u32>(row: &[u8], act: &Q8Row) -> f32;

    /// `row · acts[i]` for each `i`, equal to [`Self::dot`]'s bit for bit.
    fn tile<const CODE: u32>(row: &[u8], acts: &[&Q8Row; TILE]) -> [f32; TILE] {
        acts.map(|act| Self::dot::<CODE>(row, act))
    }
}

/// `K`'s row dot for `ty` as a plain [`RowDot`]: one instance per type code, so the type costs nothing.
fn instance<K: GroupedKernel>(ty: GgmlType) -> Option<RowDot> {
    Some(match ty {
        GgmlType::Q5_0 => K::dot::<6>,
        GgmlType::Q5_1 => K::dot::<7>,
        GgmlType::Q2_K => K::dot::<10>,
        GgmlType::Q3_K => K::dot::<11>,
        GgmlType::Q4_K => K::dot::<12>,
        GgmlType::Q5_K => K::dot::<13>,
        GgmlType::Q6_K => K::dot::<14>,
        _ => return None,
    })
}

/// `K`'s tiled row dot for `ty`.
fn instance_tile<K: GroupedKernel>(ty: GgmlType) -> Option<RowDotTile> {
    Some(match ty {
        GgmlType::Q5_0 => K::tile::<6>,
        GgmlType::Q5_1 => K::tile::<7>,
        GgmlType::Q2_K => K::tile::<10>,
        GgmlType::Q3_K => K::tile::<11>,
        GgmlType::Q4_K => K::tile::<12>,
        GgmlType::Q5_K => K::tile::<13>,
        GgmlType::Q6_K => K::tile::<14>,
        _ => return None,
    })
}

/// One weight row (its raw blocks) against one activation row.
pub type RowDot = fn(&[u8], &Q8Row) -> f32;

/// How many activation rows a [`RowDotTile`] reads at once: eight natively (sixteen 256-bit registers
/// hold eight sums, the row's values and a token's; against four, 1.08× to 1.25× faster per prompt token
/// on a 2-core Xeon, `glassbox formats` side by side), four in wasm.
pub const TILE: usize = if cfg!(target_arch = "wasm32") { 4 } else { 8 };

/// One weight row against [`TILE`] activation rows: the weight's blocks unpacked and their scales
/// converted once for all of them (what makes reading a prompt faster than reading its tokens one by
/// one). Each result equals the [`RowDot`]'s for that row bit for bit.
pub type RowDotTile = fn(&[u8], &[&Q8Row; TILE]) -> [f32; TILE];

/// The SIMD tiled row dot for `ty` on this CPU, if it has one (the scalar reference does not: it reads
/// rows one by one).
pub fn row_dot_tile(ty: GgmlType) -> Option<RowDotTile> {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(dots) = x86_best(ty) {
            return dots.tile(ty);
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        return simd128_tile::<simd128::best::Grouped>(ty, simd128::best::PLAIN);
    }
    #[allow(unreachable_code)]
    {
        let _ = ty;
        None
    }
}

/// The fastest implementation of the row dot for `ty` on this CPU.
pub fn row_dot(ty: GgmlType) -> RowDot {
    if let Some(dot) = grouped(ty) {
        return dot;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(dots) = x86_best(ty) {
            return dots.dot(ty);
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        return simd128_dot(ty, simd128::best::PLAIN);
    }
    #[allow(unreachable_code)]
    scalar_row_dot(ty)
}

/// The scalar reference implementation for `ty`.
pub fn scalar_row_dot(ty: GgmlType) -> RowDot {
    if let Some(dot) = scalar_grouped(ty) {
        return dot;
    }
    match ty {
        GgmlType::Q4_0 => scalar::q4_0,
        GgmlType::Q4_1 => scalar::q4_1,
        _ => scalar::q8_0,
    }
}

/// Every implementation of the row dot for `ty` this CPU runs, by name, the scalar reference first
/// (tests hold each to the others; `glassbox formats` times them).
pub fn row_dots(ty: GgmlType) -> Vec<(&'static str, RowDot, Option<RowDotTile>)> {
    let mut all: Vec<(&'static str, RowDot, Option<RowDotTile>)> = vec![("scalar", scalar_row_dot(ty), None)];
    #[cfg(target_arch = "x86_64")]
    for dots in X86.iter().filter(|d| (d.available)()) {
        all.push((dots.name, dots.dot(ty), dots.tile(ty)));
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let grouped = instance::<simd128::plain::Grouped>(ty);
        all.push((
            "simd128",
            grouped.unwrap_or(simd128_dot(ty, simd128::plain::PLAIN)),
            simd128_tile::<simd128::plain::Grouped>(ty, simd128::plain::PLAIN),
        ));
        #[cfg(feature = "relaxed-simd")]
        {
            let grouped = instance::<simd128::relaxed::Grouped>(ty);
            all.push((
                "relaxed-simd",
                grouped.unwrap_or(simd128_dot(ty, simd128::relaxed::PLAIN)),
                simd128_tile::<simd128::relaxed::Grouped>(ty, simd128::relaxed::PLAIN),
            ));
        }
    }
    all
}

/// A wasm build's row dot for Q4_0, Q4_1 and Q8_0 (`plain`: theirs and their tiles, in that order).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn simd128_dot(ty: GgmlType, plain: [(RowDot, RowDotTile); 3]) -> RowDot {
    match ty {
        GgmlType::Q4_0 => plain[0].0,
        GgmlType::Q4_1 => plain[1].0,
        _ => plain[2].0,
    }
}

/// A wasm build's tiled row dot for `ty`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn simd128_tile<K: GroupedKernel>(ty: GgmlType, plain: [(RowDot, RowDotTile); 3]) -> Option<RowDotTile> {
    instance_tile::<K>(ty).or(match ty {
        GgmlType::Q4_0 => Some(plain[0].1),
        GgmlType::Q4_1 => Some(plain[1].1),
        GgmlType::Q8_0 => Some(plain[2].1),
        _ => None,
    })
}

/// One build of the x86-64 kernels: its name, whether this CPU runs it, its entry points.
#[cfg(target_arch = "x86_64")]
struct X86Dots {
    name: &'static str,
    available: fn() -> bool,
    grouped: fn(GgmlType) -> Option<RowDot>,
    grouped_tile: fn(GgmlType) -> Option<RowDotTile>,
    /// Q4_0, Q4_1 and Q8_0, and their tiles.
    plain: [(RowDot, RowDotTile); 3],
    /// Formats this build is not picked for, though it runs them (and tests hold it to the others).
    slower_for: &'static [GgmlType],
}

#[cfg(target_arch = "x86_64")]
impl X86Dots {
    fn dot(&self, ty: GgmlType) -> RowDot {
        (self.grouped)(ty).unwrap_or(match ty {
            GgmlType::Q4_0 => self.plain[0].0,
            GgmlType::Q4_1 => self.plain[1].0,
            _ => self.plain[2].0,
        })
    }

    fn tile(&self, ty: GgmlType) -> Option<RowDotTile> {
        (self.grouped_tile)(ty).or(match ty {
            GgmlType::Q4_0 => Some(self.plain[0].1),
            GgmlType::Q4_1 => Some(self.plain[1].1),
            GgmlType::Q8_0 => Some(self.plain[2].1),
            _ => None,
        })
    }
}

/// The x86-64 builds, best first: the integer dot product of AVX-512 VNNI, then AVX-VNNI's, then AVX2.
#[cfg(target_arch = "x86_64")]
const X86: [X86Dots; 3] = [
    X86Dots {
        name: "avx512-vnni",
        available: avx2::vnni512_available,
        grouped: instance::<avx2::vnni512::Grouped>,
        grouped_tile: instance_tile::<avx2::vnni512::Grouped>,
        plain: [
            (avx2::vnni512::q4_0, avx2::vnni512::q4_0_tile),
            (avx2::vnni512::q4_1, avx2::vnni512::q4_1_tile),
            (avx2::vnni512::q8_0, avx2::vnni512::q8_0_tile),
        ],
        // Measured on AMD Zen 4 (`glassbox formats`): Q3_K's build with VNNI takes twice AVX2's time
        // (its bit gathering compiles worse there); every other format is as fast or faster.
        slower_for: &[GgmlType::Q3_K],
    },
    X86Dots {
        name: "avx-vnni",
        available: avx2::vnni_available,
        grouped: instance::<avx2::vnni::Grouped>,
        grouped_tile: instance_tile::<avx2::vnni::Grouped>,
        plain: [
            (avx2::vnni::q4_0, avx2::vnni::q4_0_tile),
            (avx2::vnni::q4_1, avx2::vnni::q4_1_tile),
            (avx2::vnni::q8_0, avx2::vnni::q8_0_tile),
        ],
        slower_for: &[GgmlType::Q3_K],
    },
    X86Dots {
        name: "avx2",
        available: avx2::available,
        grouped: instance::<avx2::plain::Grouped>,
        grouped_tile: instance_tile::<avx2::plain::Grouped>,
        plain: [
            (avx2::plain::q4_0, avx2::plain::q4_0_tile),
            (avx2::plain::q4_1, avx2::plain::q4_1_tile),
            (avx2::plain::q8_0, avx2::plain::q8_0_tile),
        ],
        slower_for: &[],
    },
];

/// The best x86-64 build this CPU runs for `ty` (the CPU's features detected once).
#[cfg(target_arch = "x86_64")]
fn x86_best(ty: GgmlType) -> Option<&'static X86Dots> {
    static AVAILABLE: std::sync::OnceLock<[bool; 3]> = std::sync::OnceLock::new();
    let available = AVAILABLE.get_or_init(|| X86.each_ref().map(|d| (d.available)()));
    X86.iter().zip(available).find(|(d, &ok)| ok && !d.slower_for.contains(&ty)).map(|(d, _)| d)
}

/// `out[t][r] = w[r] · acts[t]` with the given row dot; with a tiled one, [`TILE`] activation rows at a
/// time (the rest one by one). Either way each weight row is read once from memory for all tokens. The
/// rows are spread over the threads (see [`super::by_row_chunks`]); each value is the same whatever the
/// number of threads.
pub fn matmul(w: &QMatrix, acts: &[Q8Row], out: &mut [f32], dot: RowDot, tile: Option<RowDotTile>) {
    super::by_row_chunks(w.rows, w.cols, acts.len(), out, |rows, part| matmul_rows(w, acts, rows, part, dot, tile));
}

/// `part` = rows `rows` of `w · acts` (`part[t * rows.len() + r - rows.start]`) with this CPU's fastest
/// row dots: one chunk of [`matmul`]'s work, for a caller that hands out the chunks itself.
pub(crate) fn matmul_part(w: &QMatrix, acts: &[Q8Row], rows: std::ops::Range<usize>, part: &mut [f32]) {
    matmul_rows(w, acts, rows, part, row_dot(w.ty), row_dot_tile(w.ty));
}

/// The rows in the order they are read: `n` runs of the range in turn (its first part's first row, the
/// second part's first row, …), so that `n` streams of weights are on their way from memory at once.
/// Each row's value is the same in any order.
fn streams(rows: std::ops::Range<usize>, n: usize) -> impl Iterator<Item = usize> {
    let part = rows.len().div_ceil(n);
    let (start, end) = (rows.start, rows.end);
    (0..part).flat_map(move |i| (0..n).map(move |q| start + q * part + i)).filter(move |&r| r < end)
}

/// How many runs of rows a product reads side by side. A decoded token reads every weight once, and
/// waiting for memory is most of its time: natively the kernels ask for the bytes 4 KiB ahead
/// (`_mm_prefetch`) and read the rows in order; wasm has no prefetch, so the CPU's own prefetchers are
/// given eight sequential streams to follow instead of one (1.5× faster natively without the hint).
const STREAMS: usize = if cfg!(target_arch = "wasm32") { 8 } else { 1 };

/// [`matmul`] for the weight rows `rows` only: `part[t][r - rows.start]`.
fn matmul_rows(
    w: &QMatrix,
    acts: &[Q8Row],
    rows: std::ops::Range<usize>,
    part: &mut [f32],
    dot: RowDot,
    tile: Option<RowDotTile>,
) {
    let (start, len) = (rows.start, rows.len());
    let n = acts.len();
    // Tiles from the first token on; where the count is not a multiple of the tile, one more tile ends at
    // the last token, overlapping the one before (its tokens computed again, to the same bits: a tile
    // reads 8 tokens in the time single dots read about 4).
    let tile = tile.filter(|_| n >= TILE);
    let last = (!n.is_multiple_of(TILE)).then(|| n - TILE);
    for r in streams(rows, STREAMS) {
        let row = w.row(r);
        match tile {
            Some(tile) => {
                for first in (0..n / TILE).map(|q| q * TILE).chain(last) {
                    let sums = tile(row, &std::array::from_fn(|i| &acts[first + i]));
                    for (i, sum) in sums.into_iter().enumerate() {
                        part[(first + i) * len + r - start] = sum;
                    }
                }
            }
            None => {
                for (t, act) in acts.iter().enumerate() {
                    part[t * len + r - start] = dot(row, act);
                }
            }
        }
    }
}

mod scalar;

#[cfg(target_arch = "x86_64")]
mod avx2;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

#[cfg(test)]
mod tests {
    #[test]
    fn the_streams_visit_every_row_of_the_range_once() {
        for n in [1, 4, 8, 16] {
            for (start, len) in [(0, 0), (0, 1), (5, 7), (3, 576), (100, 1537), (0, 49_152)] {
                let mut seen: Vec<usize> = super::streams(start..start + len, n).collect();
                seen.sort_unstable();
                assert_eq!(
                    seen,
                    (start..start + len).collect::<Vec<_>>(),
                    "{n} streams, rows {start}..{}",
                    start + len
                );
            }
        }
    }
}
