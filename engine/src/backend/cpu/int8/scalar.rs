//! The reference: integer products per block, scaled in f32.

use super::Q8Row;
use crate::quant::{f16_at, group, GgmlType, QK};

/// Every format with sub-blocks, through its groups: per 16-value half, Σ q·x and Σ x in integers, then
/// scaled by the half's f32 scale and offset.
pub struct Grouped;

impl super::GroupedKernel for Grouped {
    fn dot<const CODE: u32>(row: &[u8], act: &Q8Row) -> f32 {
        let Some(ty) = GgmlType::from_code(CODE) else { unreachable!("type code {CODE} is known") };
        grouped(ty, row, act)
    }
}

fn grouped(ty: GgmlType, row: &[u8], act: &Q8Row) -> f32 {
    let per_block = ty.block_size() / QK;
    let mut total = 0.0f32;
    for (b, block) in row.chunks_exact(ty.block_bytes()).enumerate() {
        for g in 0..per_block {
            let Some(grp) = group(ty, block, g) else { unreachable!("{ty:?} is a block format") };
            let a = b * per_block + g;
            let x = &act.qs[a * QK..(a + 1) * QK];
            // Per half: Σ q·x and Σ x, in loops the compiler vectorizes.
            let half = |h: usize| {
                let (q, x) = (&grp.q[16 * h..16 * h + 16], &x[16 * h..16 * h + 16]);
                let dot: i32 = q.iter().zip(x).map(|(&q, &x)| q as i32 * x as i32).sum();
                let sum: i32 = x.iter().map(|&x| x as i32).sum();
                (dot, sum)
            };
            let ((dot0, sum0), (dot1, sum1)) = (half(0), half(1));
            let scaled =
                grp.d[0] * dot0 as f32 + grp.d[1] * dot1 as f32 + grp.m[0] * sum0 as f32 + grp.m[1] * sum1 as f32;
            total += act.d[a] * scaled;
        }
    }
    total
}

/// Σ nibble·x over one block's 16 bytes (low nibbles are values 0..16, high nibbles 16..32).
fn nibble_dot(nibbles: &[u8], x: &[i8]) -> i32 {
    nibbles
        .iter()
        .enumerate()
        .map(|(j, &q)| (q & 0x0f) as i32 * x[j] as i32 + (q >> 4) as i32 * x[j + QK / 2] as i32)
        .sum()
}

pub fn q4_0(row: &[u8], act: &Q8Row) -> f32 {
    row.chunks_exact(18)
        .enumerate()
        .map(|(b, block)| {
            let dot = nibble_dot(&block[2..], &act.qs[b * QK..]);
            f16_at(block, 0) * (act.d[b] * dot as f32 - 8.0 * act.dsum[b])
        })
        .sum()
}

pub fn q4_1(row: &[u8], act: &Q8Row) -> f32 {
    row.chunks_exact(20)
        .enumerate()
        .map(|(b, block)| {
            let dot = nibble_dot(&block[4..], &act.qs[b * QK..]);
            f16_at(block, 0) * act.d[b] * dot as f32 + f16_at(block, 2) * act.dsum[b]
        })
        .sum()
}

pub fn q8_0(row: &[u8], act: &Q8Row) -> f32 {
    row.chunks_exact(34)
        .enumerate()
        .map(|(b, block)| {
            let dot: i32 = block[2..].iter().zip(&act.qs[b * QK..]).map(|(&w, &x)| (w as i8 as i32) * x as i32).sum();
            f16_at(block, 0) * act.d[b] * dot as f32
        })
        .sum()
}
