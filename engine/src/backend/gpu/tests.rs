//! Each kernel against its CPU twin at awkward sizes (row counts that are not a multiple of the
//! workgroup, 55-block rows, 13 tokens, 1757-wide norms, 300+ keys spanning two attention tiles), on
//! whatever adapter wgpu finds: natively, Mesa's lavapipe when there is no GPU.
//!
//! Tolerances: the GPU sums in another order than the CPU (and fuses multiply-adds), so results agree to
//! float rounding: `|Δ| ≤ REL · Σ|terms|` for sums; f16-stored keys and values are compared with a CPU
//! reference that rounds them to f16 too.

use half::f16;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::matmul::{Epilogue, GpuMatrix, MatmulIo};
use super::pack::GpuFormat;
use super::topk::{self, PickParams};
use super::{attention, embed, matmul, rms_norm, rope, Dispatch, GpuContext, StepUniform, Tracked};
use crate::backend::cpu;
use crate::model::{Config, QMatrix};
use crate::quant::{GgmlType, QK};

/// Relative tolerance of a GPU sum against the CPU's, over the sum of the absolute terms.
const REL: f32 = 1e-6;

fn ctx() -> GpuContext {
    pollster::block_on(GpuContext::new())
        .expect("no GPU adapter: install Mesa's Vulkan drivers (mesa-vulkan-drivers), as `cargo xtask setup` does")
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| ((rng.next_u32() % 20_001) as f32 / 10_000.0 - 1.0) * scale).collect()
}

fn random_matrix(ty: GgmlType, rows: usize, cols: usize, seed: u64) -> QMatrix {
    let mut r = rng(seed);
    let n_blocks = rows * cols / ty.block_size();
    let mut bytes = vec![0u8; n_blocks * ty.block_bytes()];
    r.fill_bytes(&mut bytes);
    let half =
        |r: &mut ChaCha8Rng| f16::from_f32((r.next_u32() % 1000) as f32 / 20_000.0 - 0.02).to_bits().to_le_bytes();
    for block in bytes.chunks_exact_mut(ty.block_bytes()) {
        match ty {
            GgmlType::F16 => block[..2].copy_from_slice(&half(&mut r)),
            GgmlType::F32 => block.copy_from_slice(&(((r.next_u32() % 2001) as f32 / 1000.0) - 1.0).to_le_bytes()),
            GgmlType::BF16 => block.copy_from_slice(&half::bf16::from_f32(0.01).to_bits().to_le_bytes()),
            _ => {
                for &at in ty.halves() {
                    block[at..at + 2].copy_from_slice(&half(&mut r));
                }
            }
        }
    }
    QMatrix::from_bytes(ty, rows, cols, bytes).expect("matrix")
}

fn upload_matrix(ctx: &GpuContext, mats: &[&QMatrix], interleave: bool) -> GpuMatrix {
    super::model::upload(ctx, "test matrix", mats, interleave).expect("upload")
}

fn f32_buffer(ctx: &GpuContext, values: &[f32]) -> Tracked {
    let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
    let b = ctx.buffer("test", 4 * values.len() as u64, usage).expect("buffer");
    let words: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
    ctx.queue.write_buffer(&b, 0, &super::words_to_bytes(&words));
    b
}

/// Runs `op` once with `step` and reads back `len` floats of `out`.
fn run(ctx: &GpuContext, op: &Dispatch, step: StepUniform, out: &wgpu::Buffer, len: usize) -> Vec<f32> {
    ctx.write_step(&step);
    let staging = ctx
        .buffer("staging", 4 * len as u64, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST)
        .expect("staging");
    let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        op.record(&mut pass, step.n, step.head_n);
    }
    encoder.copy_buffer_to_buffer(out, 0, &staging, 0, 4 * len as u64);
    ctx.queue.submit(std::iter::once(encoder.finish()));
    let bytes = pollster::block_on(ctx.read(&staging, 4 * len as u64, None)).expect("readback");
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn tokens(n: usize) -> StepUniform {
    StepUniform { n: n as u32, ..StepUniform::default() }
}

/// CPU exact product and, per output, Σ|w·x| (the scale of its rounding error).
fn cpu_matmul(w: &QMatrix, x: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut out = vec![0.0; n * w.rows];
    cpu::matmul(w, x, n, &mut out, cpu::Precision::Exact);
    let mut dense = vec![0.0; w.cols];
    let mut mag = vec![0.0; n * w.rows];
    for r in 0..w.rows {
        w.dequantize_row(r, &mut dense).expect("row");
        for t in 0..n {
            mag[t * w.rows + r] = dense.iter().zip(&x[t * w.cols..][..w.cols]).map(|(a, b)| (a * b).abs()).sum();
        }
    }
    (out, mag)
}

fn assert_close(what: &str, got: &[f32], want: &[f32], mag: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0.0f32;
    for (i, ((g, w), m)) in got.iter().zip(want).zip(mag).enumerate() {
        let err = (g - w).abs();
        assert!(err <= REL * m.max(1.0), "{what}[{i}]: GPU {g} vs CPU {w} (Σ|terms| {m})");
        worst = worst.max(err / m.max(1e-6));
    }
    eprintln!("{what}: {} values, worst |Δ| / Σ|terms| = {worst:.2e}", got.len());
}

/// Every matrix-product kernel on this adapter: the software adapters' (one token's rows per workgroup),
/// and a GPU's (8 lanes per row) reducing with subgroup shuffles when the adapter has them and through
/// workgroup memory.
fn matmul_kernels() -> Vec<(&'static str, GpuContext)> {
    let mut kernels = vec![("rows", ctx().with_row_kernels(true))];
    let lanes = ctx().with_row_kernels(false);
    if lanes.subgroups {
        kernels.push(("lanes, subgroup shuffles", lanes));
    }
    let shared = pollster::block_on(GpuContext::with_subgroups(false)).expect("adapter").with_row_kernels(false);
    kernels.push(("lanes, workgroup memory", shared));
    kernels
}

#[test]
fn matmul_gpu_matches_cpu_for_every_format_at_awkward_sizes() {
    for (kernel, ctx) in matmul_kernels() {
        eprintln!("{kernel}:");
        matmul_matches_cpu(&ctx);
    }
}

fn matmul_matches_cpu(ctx: &GpuContext) {
    let (rows, cols) = (1757, 55 * QK);
    let types = GgmlType::BLOCKS.into_iter().chain([GgmlType::F16, GgmlType::F32]);
    for (seed, ty) in types.enumerate() {
        // K-quant rows are whole 256-value super-blocks.
        let cols = if ty.block_size() > QK { 7 * ty.block_size() } else { cols };
        let w = random_matrix(ty, rows, cols, seed as u64);
        let gw = upload_matrix(ctx, &[&w], false);
        for n in [1, 13] {
            let x = uniform(&mut rng(100 + n as u64), n * cols, 1.0);
            let (want, mag) = cpu_matmul(&w, &x, n);
            let (xb, yb) = (f32_buffer(ctx, &x), f32_buffer(ctx, &vec![0.0; n * rows]));
            let io = MatmulIo { x: &xb, y: &yb, y_stride: rows, y_offset: 0 };
            let (op, _p) = matmul::dispatch(ctx, &gw, io, Epilogue::Store, false).expect("dispatch");
            let got = run(ctx, &op, tokens(n), &yb, n * rows);
            assert_close(&format!("{ty:?} × {n} tokens"), &got, &want, &mag);
        }
    }
}

#[test]
fn matmul_residual_add_and_output_head_rows_match_cpu() {
    for (kernel, ctx) in matmul_kernels() {
        eprintln!("{kernel}:");
        residual_add_and_head_rows_match_cpu(&ctx);
    }
}

fn residual_add_and_head_rows_match_cpu(ctx: &GpuContext) {
    let (rows, cols, n) = (203, 9 * QK, 11);
    let w = random_matrix(GgmlType::Q4_1, rows, cols, 7);
    let gw = upload_matrix(ctx, &[&w], false);
    let x = uniform(&mut rng(8), n * cols, 1.0);
    let (prod, mag) = cpu_matmul(&w, &x, n);

    let base = uniform(&mut rng(9), n * rows, 3.0);
    let (xb, yb) = (f32_buffer(ctx, &x), f32_buffer(ctx, &base));
    let io = MatmulIo { x: &xb, y: &yb, y_stride: rows, y_offset: 0 };
    let (op, _p) = matmul::dispatch(ctx, &gw, io, Epilogue::Add, false).expect("dispatch");
    let got = run(ctx, &op, tokens(n), &yb, n * rows);
    let want: Vec<f32> = base.iter().zip(&prod).map(|(a, b)| a + b).collect();
    let mag_add: Vec<f32> = mag.iter().zip(&base).map(|(m, b)| m + b.abs()).collect();
    assert_close("y += Wx", &got, &want, &mag_add);

    // The head reads rows head_row0.. (here the chunk's last 2 tokens) and writes from row 0.
    let yb = f32_buffer(ctx, &vec![0.0; 2 * rows]);
    let io = MatmulIo { x: &xb, y: &yb, y_stride: rows, y_offset: 0 };
    let (op, _p) = matmul::dispatch(ctx, &gw, io, Epilogue::Store, true).expect("dispatch");
    let step = StepUniform { n: n as u32, head_row0: (n - 2) as u32, head_n: 2, ..StepUniform::default() };
    let got = run(ctx, &op, step, &yb, 2 * rows);
    assert_close("head rows", &got, &prod[(n - 2) * rows..], &mag[(n - 2) * rows..]);
}

#[test]
fn swiglu_epilogue_matches_cpu_gate_up_and_silu_even_when_gate_and_up_differ_in_format() {
    for (kernel, ctx) in matmul_kernels() {
        eprintln!("{kernel}:");
        swiglu_matches_cpu(&ctx);
    }
}

fn swiglu_matches_cpu(ctx: &GpuContext) {
    // Q4_K_M files mix types within a block's feed-forward: such a pair goes up as exact groups, not f32.
    let pairs = [(GgmlType::Q8_0, GgmlType::Q8_0, GpuFormat::Q8), (GgmlType::Q4_K, GgmlType::Q6_K, GpuFormat::Groups)];
    for (seed, (gate_ty, up_ty, format)) in pairs.into_iter().enumerate() {
        let (n_ff, cols, n) = (341, 2 * 256, 3);
        let gate = random_matrix(gate_ty, n_ff, cols, 11 + 2 * seed as u64);
        let up = random_matrix(up_ty, n_ff, cols, 12 + 2 * seed as u64);
        let gw = upload_matrix(ctx, &[&gate, &up], true);
        assert_eq!(gw.format, format, "{gate_ty:?} + {up_ty:?}");
        let x = uniform(&mut rng(13), n * cols, 1.0);
        let (mut g, gm) = cpu_matmul(&gate, &x, n);
        let (u, um) = cpu_matmul(&up, &x, n);
        let mag: Vec<f32> =
            gm.iter().zip(&um).zip(&u).zip(&g).map(|(((a, b), u), g)| a * u.abs() + b * g.abs()).collect();
        cpu::swiglu(&mut g, &u);
        let (xb, yb) = (f32_buffer(ctx, &x), f32_buffer(ctx, &vec![0.0; n * n_ff]));
        let io = MatmulIo { x: &xb, y: &yb, y_stride: n_ff, y_offset: 0 };
        let (op, _p) = matmul::dispatch(ctx, &gw, io, Epilogue::SwiGlu, false).expect("dispatch");
        let got = run(ctx, &op, tokens(n), &yb, n * n_ff);
        assert_close(&format!("silu(gate)·up, {gate_ty:?} + {up_ty:?}"), &got, &g, &mag);
    }
}

#[test]
fn embed_gpu_matches_cpu_rows() {
    let ctx = ctx();
    let types = [GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::BF16, GgmlType::Q5_0, GgmlType::Q6_K];
    for (seed, ty) in types.into_iter().enumerate() {
        let (vocab, cols) = (97, if ty.block_size() > QK { 2 * ty.block_size() } else { 7 * QK });
        let w = random_matrix(ty, vocab, cols, 20 + seed as u64);
        let gw = upload_matrix(&ctx, &[&w], false);
        let ids = [5u32, 96, 0, 5, 41];
        let idb = ctx.storage("ids", &ids).expect("ids");
        let xb = f32_buffer(&ctx, &vec![0.0; ids.len() * cols]);
        let (op, _p) = embed::dispatch(&ctx, &gw, 1.0, &idb, &xb).expect("dispatch");
        let got = run(&ctx, &op, tokens(ids.len()), &xb, ids.len() * cols);
        let mut want = vec![0.0; ids.len() * cols];
        for (row, &id) in want.chunks_exact_mut(cols).zip(&ids) {
            w.dequantize_row(id as usize, row).expect("row");
        }
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-6 * w.abs().max(1e-3), "{ty:?}[{i}]: {g} vs {w}");
        }
    }
}

#[test]
fn rms_norm_gpu_matches_cpu_at_1757_wide() {
    let ctx = ctx();
    let (d, n) = (1757, 3);
    let x = uniform(&mut rng(30), n * d, 4.0);
    let gain = uniform(&mut rng(31), d, 2.0);
    let mut want = vec![0.0; n * d];
    cpu::rms_norm(&x, &gain, 1e-5, &mut want);
    let (xb, gb, ob) = (f32_buffer(&ctx, &x), f32_buffer(&ctx, &gain), f32_buffer(&ctx, &vec![0.0; n * d]));
    let (op, _p) = rms_norm::dispatch(&ctx, d, 1e-5, &xb, &gb, &ob, false).expect("dispatch");
    let got = run(&ctx, &op, tokens(n), &ob, n * d);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * w.abs().max(1e-2), "[{i}]: {g} vs {w}");
    }
}

fn config(n_head: usize, n_head_kv: usize, head_dim: usize, rope_dim: usize) -> Config {
    Config {
        arch: "llama".into(),
        n_layer: 1,
        n_embd: n_head * head_dim,
        n_head,
        n_head_kv,
        head_dim,
        n_ff: 64,
        n_vocab: 32,
        n_ctx: 1024,
        rope_theta: 10_000.0,
        rope_freqs: crate::model::config::rope_freqs(rope_dim, 10_000.0, None),
        rope_dim,
        rms_eps: 1e-5,
        rope_neox: false,
        qk_norm: false,
        gemma: None,
    }
}

fn read_f16_pairs(ctx: &GpuContext, buffer: &wgpu::Buffer, words: usize) -> Vec<f32> {
    let staging = ctx
        .buffer("staging", 4 * words as u64, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST)
        .expect("staging");
    let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, 4 * words as u64);
    ctx.queue.submit(std::iter::once(encoder.finish()));
    let bytes = pollster::block_on(ctx.read(&staging, 4 * words as u64, None)).expect("readback");
    bytes.chunks_exact(2).map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()).collect()
}

/// Biases, then (Qwen3) each query and key head RMS-normalised with its gains, then RoPE: the GPU's fused
/// kernel against the CPU's steps one after the other, queries within 1e-5 (relative), keys and values
/// equal once rounded to f16; with the norm off, the gains buffer (ones) is not read.
#[test]
fn rope_gpu_adds_biases_normalises_heads_rotates_like_cpu_and_appends_keys_and_values_at_their_positions() {
    let ctx = ctx();
    for qk_norm in [false, true] {
        // Partial rotary dims (48 of 64) and 3 query heads over 1 KV head; positions 700..705.
        let c = Config { qk_norm, ..config(3, 1, 64, 48) };
        let (q_dim, kv) = (c.n_head * c.head_dim, c.kv_dim());
        let (start, n, capacity) = (700, 5, 710);
        let qkv = uniform(&mut rng(40), n * (q_dim + 2 * kv), 2.0);
        let table = ctx.storage("table", &rope::table(&c, &c.rope_freqs, capacity)).expect("table");
        let qkv_b = f32_buffer(&ctx, &qkv);
        let bias = uniform(&mut rng(41), q_dim + 2 * kv, 1.0);
        let bias_b = f32_buffer(&ctx, &bias);
        let gains: Vec<f32> = if qk_norm {
            uniform(&mut rng(42), 2 * c.head_dim, 1.0).iter().map(|g| g + 1.5).collect()
        } else {
            vec![7.0; 2 * c.head_dim] // would show if read
        };
        let norm_b = f32_buffer(&ctx, &gains);
        let qb = f32_buffer(&ctx, &vec![0.0; n * q_dim]);
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
        let kb = ctx.buffer("k", (capacity * kv * 2) as u64, usage).expect("k");
        let vb = ctx.buffer("v", (capacity * kv * 2) as u64, usage).expect("v");
        let io = rope::RopeIo {
            qkv: &qkv_b,
            table: &table,
            q: &qb,
            k_cache: &kb,
            v_cache: &vb,
            bias: &bias_b,
            norm: &norm_b,
        };
        let (op, _p) = rope::dispatch(&ctx, &c, io).expect("dispatch");
        let step = StepUniform { start: start as u32, n: n as u32, ..StepUniform::default() };
        let q = run(&ctx, &op, step, &qb, n * q_dim);
        let keys = read_f16_pairs(&ctx, &kb, capacity * kv / 2);
        let values = read_f16_pairs(&ctx, &vb, capacity * kv / 2);
        for t in 0..n {
            let row: Vec<f32> =
                qkv[t * (q_dim + 2 * kv)..][..q_dim + 2 * kv].iter().zip(&bias).map(|(x, b)| x + b).collect();
            let (mut wq, mut wk) = (row[..q_dim].to_vec(), row[q_dim..q_dim + kv].to_vec());
            if qk_norm {
                let (gq, gk) = gains.split_at(c.head_dim);
                cpu::rms_norm(&row[..q_dim], gq, c.rms_eps, &mut wq);
                cpu::rms_norm(&row[q_dim..q_dim + kv], gk, c.rms_eps, &mut wk);
            }
            cpu::rope(&mut wq, c.head_dim, &c.rope_freqs, start + t);
            cpu::rope(&mut wk, c.head_dim, &c.rope_freqs, start + t);
            for (g, w) in q[t * q_dim..][..q_dim].iter().zip(&wq) {
                assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "norm {qk_norm}: q at {t}: {g} vs {w}");
            }
            let at = (start + t) * kv;
            for (g, w) in keys[at..at + kv].iter().zip(&wk) {
                let want = f16::from_f32(*w).to_f32();
                // A sum of squares in another order may round a key across an f16 step: one step allowed.
                let step = if qk_norm { 1e-3 * want.abs().max(1.0) } else { 0.0 };
                assert!((g - want).abs() <= step, "norm {qk_norm}: k at {t}: {g} vs {want}");
            }
            for (g, w) in values[at..at + kv].iter().zip(&row[q_dim + kv..]) {
                assert_eq!(*g, f16::from_f32(*w).to_f32(), "v at {t}");
            }
        }
        assert!(keys[..start * kv].iter().all(|&k| k == 0.0), "nothing written before the chunk's positions");
    }
}

#[test]
fn attention_gpu_matches_cpu_over_two_key_tiles_with_grouped_heads_and_trace() {
    let ctx = ctx();
    let c = config(6, 2, 64, 64);
    let (q_dim, kv) = (c.n_head * c.head_dim, c.kv_dim());
    let (start, n) = (300, 3); // the last query sees 303 keys: two tiles of 256
    let n_key = start + n;
    let q = uniform(&mut rng(50), n * q_dim, 1.0);
    // Keys and values as the cache holds them: f16.
    let to_f16 = |v: Vec<f32>| -> Vec<f32> { v.into_iter().map(|x| f16::from_f32(x).to_f32()).collect() };
    let keys = to_f16(uniform(&mut rng(51), n_key * kv, 2.0));
    let values = to_f16(uniform(&mut rng(52), n_key * kv, 1.0));
    let pack = |v: &[f32]| -> Vec<u32> {
        v.chunks_exact(2)
            .map(|p| u32::from(f16::from_f32(p[0]).to_bits()) | (u32::from(f16::from_f32(p[1]).to_bits()) << 16))
            .collect()
    };
    let (kb, vb) = (ctx.storage("k", &pack(&keys)).expect("k"), ctx.storage("v", &pack(&values)).expect("v"));
    let qb = f32_buffer(&ctx, &q);
    let ob = f32_buffer(&ctx, &vec![0.0; n * q_dim]);
    let trace_len = c.n_head * n * n_key;
    let tb = f32_buffer(&ctx, &vec![0.0; trace_len]);
    let io = attention::AttentionIo { q: &qb, k_cache: &kb, v_cache: &vb, out: &ob, trace: &tb };
    let (op, _p) = attention::dispatch(&ctx, &c, 0, io).expect("dispatch");
    let step = StepUniform {
        start: start as u32,
        n: n as u32,
        trace: true,
        trace_first: start as u32,
        trace_rows: n as u32,
        trace_keys: n_key as u32,
        ..StepUniform::default()
    };
    let got = run(&ctx, &op, step, &ob, n * q_dim);
    let trace = run(&ctx, &op, step, &tb, trace_len);

    let scale = 1.0 / (c.head_dim as f32).sqrt();
    let group = c.n_head / c.n_head_kv;
    for t in 0..n {
        for h in 0..c.n_head {
            let kv_off = (h / group) * c.head_dim;
            let qh = &q[t * q_dim + h * c.head_dim..][..c.head_dim];
            let mut probs: Vec<f32> =
                (0..start + t + 1).map(|j| cpu::dot_f32(qh, &keys[j * kv + kv_off..][..c.head_dim]) * scale).collect();
            cpu::softmax(&mut probs);
            let row = &trace[(h * n + t) * n_key..][..n_key];
            for (j, &p) in probs.iter().enumerate() {
                assert!((row[j] - p).abs() <= 1e-6 + 1e-4 * p, "trace head {h} query {t} key {j}: {} vs {p}", row[j]);
            }
            assert!(row[probs.len()..].iter().all(|&p| p == 0.0), "no weight on future keys");
            for d in 0..c.head_dim {
                let want: f32 = probs.iter().enumerate().map(|(j, p)| p * values[j * kv + kv_off + d]).sum();
                let g = got[t * q_dim + h * c.head_dim + d];
                assert!((g - want).abs() <= 1e-5, "out head {h} query {t} dim {d}: {g} vs {want}");
            }
        }
    }
}

/// Runs the pick kernel over row `row` of `logits` (rows of `vocab`) and returns its result words.
fn pick_on_gpu(ctx: &GpuContext, logits: &Tracked, vocab: usize, row: usize, params: &PickParams) -> Vec<u32> {
    let result = f32_buffer(ctx, &[0.0; topk::RESULT_WORDS]);
    let pick = ctx.buffer("pick", 32, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST).expect("uniform");
    topk::write(ctx, &pick, vocab, params);
    let op = topk::dispatch(ctx, logits, &result, &pick).expect("dispatch");
    let step = StepUniform { n: row as u32 + 1, head_n: row as u32 + 1, ..StepUniform::default() };
    run(ctx, &op, step, &result, topk::RESULT_WORDS).iter().map(|f| f.to_bits()).collect()
}

/// The candidates of a result, best first.
fn candidates(words: &[u32]) -> Vec<(u32, f32)> {
    (0..words[4] as usize).map(|i| (words[8 + 2 * i], f32::from_bits(words[9 + 2 * i]))).collect()
}

#[test]
fn topk_gpu_matches_cpu_top_64_log_sum_exp_and_entropy_with_ties_to_the_lower_id() {
    let ctx = ctx();
    let vocab = 49_157;
    let mut logits = uniform(&mut rng(60), 2 * vocab, 8.0);
    // Row 1 is the one read. A tie for first place (ids 40 000 and 777), then 90 ids sharing 8.25 (above
    // every other value, ≤ 8): places 3 to 64 are all ties spread over many blocks of ids, and the
    // lowest ids must win them.
    logits[vocab + 40_000] = 9.5;
    logits[vocab + 777] = 9.5;
    for i in 0..90 {
        logits[vocab + 48_000 - i * 531] = 8.25;
    }
    let lb = f32_buffer(&ctx, &logits);
    let row = &logits[vocab..];
    let got = pick_on_gpu(&ctx, &lb, vocab, 1, &PickParams::GREEDY);
    assert_eq!(got[0], crate::sample::argmax(row), "greedy id");
    assert_eq!(got[0], 777);
    assert_eq!(f32::from_bits(got[1]), 9.5, "its logit");
    // Exactly the CPU's 64 best, in the CPU's order (bit for bit: no arithmetic on them).
    assert_eq!(candidates(&got), crate::trace::top_k(row, topk::K), "top 64");
    let cpu = crate::trace::Distribution::from_logits(row, 1);
    let log_z = crate::trace::log_sum_exp(row);
    let (g_log_z, g_entropy) = (f32::from_bits(got[2]), f32::from_bits(got[3]));
    assert!((g_log_z - log_z).abs() <= 1e-5 * log_z.abs(), "log Σ exp: {g_log_z} vs {log_z}");
    // The entropy sums 49 157 terms in another order: 1e-4 relative.
    assert!((g_entropy - cpu.entropy).abs() <= 1e-4 * cpu.entropy, "entropy: {g_entropy} vs {}", cpu.entropy);

    // A vocabulary smaller than K: every token, ranked.
    let small = uniform(&mut rng(61), 37, 3.0);
    let got = pick_on_gpu(&ctx, &f32_buffer(&ctx, &small), 37, 0, &PickParams::GREEDY);
    assert_eq!(candidates(&got), crate::trace::top_k(&small, 37));
}

#[test]
fn topk_gpu_sampling_picks_what_the_cpu_sampler_picks_for_the_same_draw() {
    use crate::sample::{Sampler, SamplerConfig};
    let ctx = ctx();
    let vocab = 5_003;
    // Peaked like a language model's logits: a few likely tokens, a long tail.
    let mut logits = uniform(&mut rng(62), vocab, 3.0);
    for (i, l) in logits.iter_mut().enumerate().take(40) {
        *l += 9.0 - i as f32 * 0.2;
    }
    let lb = f32_buffer(&ctx, &logits);
    let top = crate::trace::top_k(&logits, topk::K);
    let settings =
        [(0.3, 40, 0.9, 0.0), (1.0, 64, 1.0, 0.0), (0.8, 10, 0.5, 0.05), (1.5, 1, 1.0, 0.0), (2.0, 0, 0.95, 0.1)];
    let (mut compared, mut at_boundary) = (0, 0);
    for (temperature, top_k, top_p, min_p) in settings {
        let config = SamplerConfig { temperature, top_k, top_p, min_p, ..SamplerConfig::default() };
        let cpu = Sampler::new(config.clone());
        for i in 0..60 {
            let u = (i as f32 + 0.5) / 60.0;
            let params = PickParams { top_k: top_k as u32, temperature, top_p, min_p, u };
            let got = pick_on_gpu(&ctx, &lb, vocab, 0, &params)[0];
            let want = cpu.pick(&top, u);
            compared += 1;
            if got != want {
                // Allowed only for a draw within 1e-5 of the edge between two tokens (exp differs in
                // its last bits between the GPU and the CPU).
                let near = [u - 1e-5, u + 1e-5].iter().any(|&v| cpu.pick(&top, v) == got);
                assert!(near, "{config:?} u={u}: GPU {got}, CPU {want}");
                at_boundary += 1;
            }
        }
    }
    eprintln!("GPU picks vs CPU picks: {} of {compared} equal", compared - at_boundary);
    assert!(at_boundary <= 2);
}

#[test]
fn lens_rows_gpu_match_cpu_top_and_log_sum_exp_on_every_row_with_ties_to_the_lower_id() {
    use super::rows_top;
    let ctx = ctx();
    // Not a multiple of the workgroup; five rows, each with its own awkward case.
    let vocab = 49_157;
    let rows = 5;
    let mut logits = uniform(&mut rng(62), rows * vocab, 8.0);
    // Row 1: a tie for first place (ids 40 000 and 777). Row 2: twelve ids share the top value, spread
    // over many threads' strides: the eight lowest must win. Row 3: every logit equal.
    logits[vocab + 40_000] = 9.5;
    logits[vocab + 777] = 9.5;
    for i in 0..12 {
        logits[2 * vocab + 48_000 - i * 3_999] = 8.5;
    }
    logits[3 * vocab..4 * vocab].fill(-1.25);
    let lb = f32_buffer(&ctx, &logits);
    let out0 = 7 * rows_top::ROW_WORDS; // written from there on, as a later block's region
    let len = out0 + rows * rows_top::ROW_WORDS;
    let result = f32_buffer(&ctx, &vec![0.0; len]);
    let (op, _params) = rows_top::dispatch(&ctx, vocab, out0, &lb, &result).expect("dispatch");
    let step = StepUniform { n: rows as u32, head_n: rows as u32, ..StepUniform::default() };
    let words: Vec<u32> = run(&ctx, &op, step, &result, len).iter().map(|f| f.to_bits()).collect();
    assert!(words[..out0].iter().all(|&w| w == 0), "nothing written before its region");
    let got = rows_top::parse(&words[out0..]);
    assert_eq!(got.len(), rows);
    for (r, row) in got.iter().enumerate() {
        let cpu = &logits[r * vocab..(r + 1) * vocab];
        // The same ids and logits in the same order, bit for bit (no arithmetic on them).
        assert_eq!(row.top, crate::trace::top_k(cpu, rows_top::R), "row {r}");
        let log_z = crate::trace::log_sum_exp(cpu);
        assert!((row.log_z - log_z).abs() <= 1e-5 * log_z.abs().max(1.0), "row {r}: {} vs {log_z}", row.log_z);
    }
    assert_eq!(got[1].top[0].0, 777);
    assert_eq!(got[3].top.iter().map(|t| t.0).collect::<Vec<_>>(), (0..8).collect::<Vec<u32>>());

    // A vocabulary smaller than R: every token, ranked.
    let small = uniform(&mut rng(63), 5, 3.0);
    let sb = f32_buffer(&ctx, &small);
    let result = f32_buffer(&ctx, &[0.0; rows_top::ROW_WORDS]);
    let (op, _params) = rows_top::dispatch(&ctx, 5, 0, &sb, &result).expect("dispatch");
    let step = StepUniform { n: 1, head_n: 1, ..StepUniform::default() };
    let words: Vec<u32> = run(&ctx, &op, step, &result, rows_top::ROW_WORDS).iter().map(|f| f.to_bits()).collect();
    assert_eq!(rows_top::parse(&words)[0].top, crate::trace::top_k(&small, 5));
}
