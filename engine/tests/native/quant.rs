//! Block formats: the dequantizer against the format's definition written out element by element, and
//! every integer dot product (scalar, AVX2 or simd128) against the f32 dot of what it stands for.

use crate::common;

use common::synthetic::random_blocks;
use engine::backend::cpu::{matmul, quantize_row_q8, row_dot, row_dot_tile, row_dots, Precision, TILE};
use engine::model::QMatrix;
use engine::quant::{dequantize, GgmlType, QK};
use half::{bf16, f16};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Every block format.
const BLOCK_TYPES: [GgmlType; 10] = GgmlType::BLOCKS;

/// Relative tolerance of a block dot product against its f32 twin: both sum the same exact integer
/// products; only the order of f32 roundings differs.
const DOT_REL: f32 = 1e-5;

/// Element `i` of a block, straight from the format's definition.
fn element(ty: GgmlType, block: &[u8], i: usize) -> f32 {
    let h = |at: usize| f16::from_bits(u16::from_le_bytes([block[at], block[at + 1]])).to_f32();
    let nibble = |start: usize| if i < 16 { block[start + i] & 0x0f } else { block[start + i - 16] >> 4 } as f32;
    match ty {
        GgmlType::F32 => f32::from_le_bytes([block[0], block[1], block[2], block[3]]),
        GgmlType::F16 => h(0),
        GgmlType::BF16 => bf16::from_bits(u16::from_le_bytes([block[0], block[1]])).to_f32(),
        GgmlType::Q4_0 => (nibble(2) - 8.0) * h(0),
        GgmlType::Q4_1 => nibble(4) * h(0) + h(2),
        GgmlType::Q8_0 => block[2 + i] as i8 as f32 * h(0),
        other => unreachable!("{other:?} is checked against llama.cpp's fixture instead"),
    }
}

#[test]
fn dequantize_matches_the_format_definition_for_every_type() {
    for ty in [GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0] {
        let n_values = 7 * QK;
        let n_blocks = n_values / ty.block_size();
        let bytes = random_blocks(ty, n_blocks, 1);
        let mut out = vec![0.0; n_values];
        dequantize(ty, &bytes, &mut out).expect("dequantize");
        for (v, value) in out.iter().enumerate() {
            let (b, i) = (v / ty.block_size(), v % ty.block_size());
            let want = element(ty, &bytes[b * ty.block_bytes()..(b + 1) * ty.block_bytes()], i);
            assert_eq!(*value, want, "{ty:?} value {v}");
        }
        assert!(dequantize(ty, &bytes[..bytes.len() - 1], &mut out).is_err(), "{ty:?}: a partial block is an error");
    }
}

/// The fixture of `tests/data/blocks/` for `ty`: random blocks, and the values llama.cpp's `gguf`
/// package reads from them (see `make.py` there).
fn llama_cpp_fixture(ty: GgmlType) -> (Vec<u8>, Vec<f32>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/blocks/");
    let name = format!("{ty:?}").to_lowercase();
    let read = |path: String| {
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!("reading {path}: {e}; the fixtures come with the repository, and `make.py` in that folder writes them again")
        })
    };
    let (bytes, values) = (read(format!("{dir}{name}.bin")), read(format!("{dir}{name}.f32")));
    (bytes, values.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

#[test]
fn every_block_type_dequantizes_bit_for_bit_as_llama_cpp_does_on_the_same_bytes() {
    for ty in BLOCK_TYPES {
        let (bytes, want) = llama_cpp_fixture(ty);
        assert_eq!(bytes.len() / ty.block_bytes() * ty.block_size(), want.len(), "{ty:?}: fixture size");
        let mut got = vec![0.0; want.len()];
        dequantize(ty, &bytes, &mut got).expect("dequantize");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{ty:?} value {i} (block {}, at {})", i / ty.block_size(), i % ty.block_size());
        }
        assert!(dequantize(ty, &bytes[..bytes.len() - 1], &mut got).is_err(), "{ty:?}: a partial block is an error");
    }
}

#[test]
fn shift_and_multiply_f16_conversion_is_exact_for_every_finite_f16() {
    for bits in 0..=u16::MAX {
        let want = f16::from_bits(bits);
        if want.is_finite() {
            let got = engine::backend::cpu::f16_to_f32(bits);
            assert_eq!(got.to_bits(), want.to_f32().to_bits(), "f16 bits {bits:#06x}");
        }
    }
}

#[test]
fn int8_activations_round_trip_within_half_a_step() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x: Vec<f32> = (0..5 * QK).map(|_| (rng.next_u32() as f32 / u32::MAX as f32 - 0.5) * 8.0).collect();
    let q = quantize_row_q8(&x);
    for (i, v) in x.iter().enumerate() {
        let d = q.d[i / QK];
        assert!((q.qs[i] as f32 * d - v).abs() <= d / 2.0 + 1e-6);
    }
}

#[test]
fn fast_and_scalar_block_dots_match_the_f32_dot_at_awkward_sizes() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for ty in BLOCK_TYPES {
        for n_blocks in [1, 3, 18, 48, 55] {
            let cols = n_blocks * ty.block_size();
            let row = random_blocks(ty, n_blocks, rng.next_u32() as u64);
            let x: Vec<f32> = (0..cols).map(|_| rng.next_u32() as f32 / u32::MAX as f32 * 4.0 - 2.0).collect();
            let act = quantize_row_q8(&x);

            // What the integer dot stands for: dequantized weights · dequantized activations.
            let mut w = vec![0.0; cols];
            dequantize(ty, &row, &mut w).expect("dequantize");
            let want: f32 = w.iter().enumerate().map(|(i, wi)| wi * act.qs[i] as f32 * act.d[i / QK]).sum();
            let magnitude: f32 =
                w.iter().enumerate().map(|(i, wi)| (wi * act.qs[i] as f32 * act.d[i / QK]).abs()).sum();

            // Every build this CPU runs (scalar, AVX2, AVX-512 VNNI… or simd128), and the one `row_dot` picks.
            let builds = row_dots(ty).into_iter().map(|(name, dot, _)| (name, dot(&row, &act)));
            for (name, got) in builds.chain([("fast", row_dot(ty)(&row, &act))]) {
                assert!(
                    (got - want).abs() <= DOT_REL * magnitude.max(1.0),
                    "{ty:?} × {n_blocks} blocks, {name}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn int8_matmul_tracks_the_exact_matmul_over_rows_that_are_not_a_round_number() {
    // 11 tokens: a tile of eight (on CPUs with a tiled kernel), then one ending at the last token,
    // overlapping it.
    let (rows, n_tokens) = (37, 11);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for ty in BLOCK_TYPES {
        let cols = 5 * ty.block_size();
        let x: Vec<f32> = (0..n_tokens * cols).map(|_| rng.next_u32() as f32 / u32::MAX as f32 * 2.0 - 1.0).collect();
        let blocks = rows * cols / ty.block_size();
        let w = QMatrix::from_bytes(ty, rows, cols, random_blocks(ty, blocks, 5)).expect("matrix");
        let (mut exact, mut int8) = (vec![0.0; n_tokens * rows], vec![0.0; n_tokens * rows]);
        matmul(&w, &x, n_tokens, &mut exact, Precision::Exact);
        matmul(&w, &x, n_tokens, &mut int8, Precision::Int8);
        // 8-bit activations: each product is off by ≤ half a quantization step of x.
        for (t, (e_row, i_row)) in exact.chunks(rows).zip(int8.chunks(rows)).enumerate() {
            let xt = &x[t * cols..(t + 1) * cols];
            for r in 0..rows {
                let mut wr = vec![0.0; cols];
                w.dequantize_row(r, &mut wr).expect("row");
                let bound: f32 = (0..cols)
                    .map(|c| {
                        wr[c].abs() * xt[c / QK * QK..][..QK].iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0 / 2.0
                    })
                    .sum();
                assert!((e_row[r] - i_row[r]).abs() <= bound * 1.01 + 1e-6, "{ty:?} row {r} token {t}");
            }
        }
    }
}

#[test]
fn tiled_block_dots_equal_the_single_row_dots_bit_for_bit() {
    // A tile reads one weight row against `TILE` activation rows; each result must be the one-row dot's,
    // so a prompt read in one pass and the same tokens read one by one give the same numbers.
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut tiled_types = 0;
    for ty in BLOCK_TYPES {
        let Some(tile) = row_dot_tile(ty) else { continue };
        tiled_types += 1;
        for n_blocks in [1, 3, 18] {
            let cols = n_blocks * ty.block_size();
            let row = random_blocks(ty, n_blocks, rng.next_u32() as u64);
            let acts: Vec<_> = (0..TILE)
                .map(|_| {
                    let x: Vec<f32> = (0..cols).map(|_| rng.next_u32() as f32 / u32::MAX as f32 * 4.0 - 2.0).collect();
                    quantize_row_q8(&x)
                })
                .collect();
            let got = tile(&row, &std::array::from_fn(|i| &acts[i]));
            for (i, act) in acts.iter().enumerate() {
                let one = row_dot(ty)(&row, act);
                assert_eq!(got[i].to_bits(), one.to_bits(), "{ty:?} × {n_blocks} blocks, row {i}: {} vs {one}", got[i]);
            }
        }
    }
    // Natively on x86-64 with AVX2 every block format has one (what CI runs on).
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c") {
        assert_eq!(tiled_types, BLOCK_TYPES.len(), "a tiled kernel per block format");
    }
}

/// Natively the products split their rows over the engine's threads; each value is computed by the same code
/// whatever the split, so one, two and three threads give the same numbers bit for bit, on both paths,
/// for one token, for fewer tokens than a tile (7, read one by one) and for a prompt (11: a tile of eight
/// and one overlapping it to end at the last token), over a row count no chunking divides evenly. The 8-bit values are also each row's own dot with its token's 8-bit activations.
#[test]
fn products_split_over_threads_equal_one_thread_bit_for_bit() {
    let rows = 301;
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for ty in [GgmlType::Q4_1, GgmlType::Q4_K, GgmlType::Q8_0, GgmlType::F16] {
        let cols = 4 * 256;
        let w =
            QMatrix::from_bytes(ty, rows, cols, random_blocks(ty, rows * cols / ty.block_size(), 3)).expect("matrix");
        for n_tokens in [1, 7, 11] {
            let x: Vec<f32> =
                (0..n_tokens * cols).map(|_| rng.next_u32() as f32 / u32::MAX as f32 * 2.0 - 1.0).collect();
            for precision in [Precision::Int8, Precision::Exact] {
                let on = |threads: usize| {
                    let pool = engine::backend::cpu::pool::Pool::new(threads);
                    let mut out = vec![0.0f32; n_tokens * rows];
                    engine::backend::cpu::pool::install(&pool, || matmul(&w, &x, n_tokens, &mut out, precision));
                    out.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                };
                let one = on(1);
                for threads in [2, 3] {
                    assert!(on(threads) == one, "{ty:?} {precision:?} {n_tokens} tokens: {threads} threads differ");
                }
                if precision == Precision::Int8 && ty.is_block() {
                    for (t, xt) in x.chunks_exact(cols).enumerate() {
                        let act = quantize_row_q8(xt);
                        for r in 0..rows {
                            let want = row_dot(ty)(w.row(r), &act);
                            assert_eq!(one[t * rows + r], want.to_bits(), "{ty:?} token {t} row {r}");
                        }
                    }
                }
            }
        }
    }
}

/// The SIMD builds of the block dots (AVX2's `maddubs`, AVX-512 VNNI's and AVX-VNNI's `vpdpbusd`, where
/// this CPU has them) form the same integer sums, so they give the same floats bit for bit, one token
/// and tiled: on random blocks, and on blocks at the extremes (Q8_0's −128 against activations of ±127,
/// Q4_1's 15s against 127s), where `maddubs` would saturate if its pair sums could pass 32,767.
#[test]
fn every_simd_build_of_the_block_dots_gives_the_same_floats() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for ty in BLOCK_TYPES {
        let builds: Vec<_> = row_dots(ty).into_iter().filter(|(name, _, _)| *name != "scalar").collect();
        if builds.is_empty() {
            // No SIMD build of this format on this CPU: nothing to compare.
            continue;
        }
        for n_blocks in [1, 3, 18] {
            let cols = n_blocks * ty.block_size();
            let mut rows = vec![random_blocks(ty, n_blocks, rng.next_u32() as u64)];
            let mut x: Vec<Vec<f32>> =
                vec![(0..cols).map(|_| rng.next_u32() as f32 / u32::MAX as f32 * 4.0 - 2.0).collect()];
            if ty == GgmlType::Q8_0 || ty == GgmlType::Q4_1 {
                let mut extreme = rows[0].clone();
                let (size, quants, fill) = if ty == GgmlType::Q8_0 { (34, 2..34, 0x80) } else { (20, 4..20, 0xff) };
                for block in extreme.chunks_exact_mut(size) {
                    block[quants.clone()].fill(fill);
                }
                rows.push(extreme);
                x.push((0..cols).map(|i| if i % 3 == 0 { -1.0 } else { 1.0 }).collect());
            }
            for (row, x) in rows.iter().zip(&x) {
                let acts: Vec<_> = (0..TILE)
                    .map(|t| quantize_row_q8(&x.iter().map(|v| v * (1.0 - t as f32 / 8.0)).collect::<Vec<_>>()))
                    .collect();
                let tile_acts: [&_; TILE] = std::array::from_fn(|i| &acts[i]);
                let (first, dot, tile) = &builds[0];
                let want: Vec<u32> = acts.iter().map(|a| dot(row, a).to_bits()).collect();
                for (name, dot, other_tile) in &builds {
                    let got: Vec<u32> = acts.iter().map(|a| dot(row, a).to_bits()).collect();
                    assert_eq!(got, want, "{ty:?} × {n_blocks} blocks: {name} vs {first}");
                    if let (Some(a), Some(b)) = (tile, other_tile) {
                        assert_eq!(
                            a(row, &tile_acts).map(f32::to_bits),
                            b(row, &tile_acts).map(f32::to_bits),
                            "{ty:?} tiles: {name}"
                        );
                    }
                }
            }
        }
    }
    // This machine's CPU (and CI's) has AVX-512 VNNI: the test must have compared it with AVX2.
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512vnni")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx2")
    {
        let names: Vec<_> = row_dots(GgmlType::Q4_1).into_iter().map(|(n, _, _)| n).collect();
        assert!(names.contains(&"avx512-vnni") && names.contains(&"avx2"), "{names:?}");
    }
}
