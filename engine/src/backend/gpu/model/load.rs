//! Loading a model onto the GPU: its weights uploaded (repacked, Q, K and V fused, gate and up
//! interleaved), the scratch buffers, and every dispatch of a forward pass built once with its bind
//! groups, so that a pass only records them.

use std::sync::atomic::AtomicBool;

use super::super::matmul::{Epilogue, GpuMatrix, MatmulIo};
use super::super::pack::{cols_fit, pack_row, GpuFormat};
use super::super::{embed, matmul, rms_norm, rope, rows_top, topk};
use super::super::{Dispatch, GpuContext, Tracked};
use super::{GpuModel, Layer, Scratch, CHUNK, MAX_GPU_CONTEXT};
use crate::error::{EngineError, Result};
use crate::model::{Model, QMatrix};

fn storage_f32(ctx: &GpuContext, label: &str, values: &[f32]) -> Result<Tracked> {
    ctx.storage(label, &values.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
}

/// Uploads `mats` as one matrix: rows concatenated, or interleaved row by row (`interleave`: the
/// (gate, up) pairs SwiGLU's epilogue expects). All share one layout ([`GpuFormat::common`]).
pub(crate) fn upload(ctx: &GpuContext, label: &str, mats: &[&QMatrix], interleave: bool) -> Result<GpuMatrix> {
    let cols = mats[0].cols;
    if !cols_fit(cols) || mats.iter().any(|m| m.cols != cols) {
        return Err(EngineError::GpuUnsupported(format!("{label}: {cols} inputs is not a whole number of blocks")));
    }
    let format = GpuFormat::common(mats);
    let rows: usize = mats.iter().map(|m| m.rows).sum();
    let words_per_row = cols / 32 * format.block_words();
    // Refused before packing, not after: a model too large for the device should fail fast.
    ctx.check_fits(label, (rows * words_per_row * 4) as u64, wgpu::BufferUsages::STORAGE)?;
    if rows.div_ceil(8) > ctx.limits.max_compute_workgroups_per_dimension as usize {
        return Err(EngineError::GpuUnsupported(format!("{label} has {rows} rows, too many for one dispatch")));
    }
    let mut words = Vec::with_capacity(rows * words_per_row);
    if interleave {
        for r in 0..mats[0].rows {
            for m in mats {
                pack_row(m, r, format, &mut words);
            }
        }
    } else {
        for m in mats {
            for r in 0..m.rows {
                pack_row(m, r, format, &mut words);
            }
        }
    }
    Ok(GpuMatrix { words: ctx.storage(label, &words)?, format, rows, cols })
}

impl GpuModel {
    /// Uploads `model` to the device of `ctx`, for sessions of up to `max_context` positions (capped at
    /// the model's context and [`MAX_GPU_CONTEXT`]). A model the device cannot hold gets
    /// [`EngineError::GpuUnsupported`] with the reason, and the caller keeps the CPU.
    pub async fn load(ctx: GpuContext, model: &Model, max_context: usize) -> Result<Self> {
        let c = model.config.clone();
        let (d, q_dim, kv_dim) = (c.n_embd, c.n_head * c.head_dim, c.kv_dim());
        if c.head_dim > 256 || !c.head_dim.is_multiple_of(2) || !cols_fit(d) || !cols_fit(q_dim) || !cols_fit(c.n_ff) {
            return Err(EngineError::GpuUnsupported(format!(
                "heads of {} and widths {d}/{q_dim}/{} do not fit the kernels (head ≤ 256, widths multiples of 32)",
                c.head_dim, c.n_ff
            )));
        }
        let max_context = max_context.min(c.n_ctx).clamp(1, MAX_GPU_CONTEXT);
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);

        let w = &model.weights;
        let mut layers = Vec::with_capacity(c.n_layer);
        for (i, l) in w.layers.iter().enumerate() {
            layers.push(Layer {
                attn_norm: storage_f32(&ctx, "attn_norm", &l.attn_norm)?,
                qkv: upload(&ctx, &format!("blk.{i}.attn_qkv"), &[&l.wq, &l.wk, &l.wv], false)?,
                qkv_bias: match &l.qkv_bias {
                    Some(parts) => storage_f32(&ctx, "qkv bias", &parts.concat())?,
                    None => storage_f32(&ctx, "qkv bias", &vec![0.0; q_dim + 2 * kv_dim])?,
                },
                qk_norm: match &l.qk_norm {
                    Some(gains) => storage_f32(&ctx, "qk norm", &gains.concat())?,
                    None => storage_f32(&ctx, "qk norm", &vec![1.0; 2 * c.head_dim])?,
                },
                wo: upload(&ctx, &format!("blk.{i}.attn_output"), &[&l.wo], false)?,
                ffn_norm: storage_f32(&ctx, "ffn_norm", &l.ffn_norm)?,
                gate_up: upload(&ctx, &format!("blk.{i}.ffn_gate_up"), &[&l.w_gate, &l.w_up], true)?,
                down: upload(&ctx, &format!("blk.{i}.ffn_down"), &[&l.w_down], false)?,
                post_norms: match &l.post_norms {
                    Some([a, f]) => {
                        Some([storage_f32(&ctx, "post_attention_norm", a)?, storage_f32(&ctx, "post_ffw_norm", f)?])
                    }
                    None => None,
                },
            });
        }
        let embd = upload(&ctx, "token_embd", &[&w.token_embd], false)?;
        let head = w.output.as_ref().map(|o| upload(&ctx, "output", &[o], false)).transpose()?;
        let output_norm = storage_f32(&ctx, "output_norm", &w.output_norm)?;
        let rope_table = ctx.storage("rope table", &rope::table(&c, &c.rope_freqs, max_context))?;
        let local_rope_table = match &c.gemma {
            Some(g) => Some(ctx.storage("local rope table", &rope::table(&c, &g.local_rope_freqs, max_context))?),
            None => None,
        };

        let f32s = |label: &str, n: usize| {
            ctx.buffer(
                label,
                4 * n as u64,
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            )
        };
        let s = Scratch {
            ids: f32s("ids", CHUNK)?,
            x: f32s("x", CHUNK * d)?,
            h: f32s("h", CHUNK * d)?,
            qkv: f32s("qkv", CHUNK * (q_dim + 2 * kv_dim))?,
            q: f32s("q", CHUNK * q_dim)?,
            att: f32s("attention out", CHUNK * q_dim)?,
            gu: f32s("swiglu", CHUNK * c.n_ff)?,
            logits: f32s("logits", CHUNK * c.n_vocab)?,
            result: f32s("pick", topk::RESULT_WORDS)?,
            pick: ctx.buffer("pick params", 32, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST)?,
            lens: f32s("lens rows", c.n_layer * CHUNK * rows_top::ROW_WORDS)?,
        };

        let mut params = Vec::new();
        let mut keep = |(dispatch, p): (Dispatch, Tracked)| {
            params.push(p);
            dispatch
        };
        let embed_scale = if c.gemma.is_some() { (d as f32).sqrt() } else { 1.0 };
        let embed_op = keep(embed::dispatch(&ctx, &embd, embed_scale, &s.ids, &s.x)?);
        fn io<'a>(x: &'a Tracked, y: &'a Tracked, y_stride: usize) -> MatmulIo<'a> {
            MatmulIo { x: &x.buffer, y: &y.buffer, y_stride, y_offset: 0 }
        }
        let mut layer_ops = Vec::with_capacity(c.n_layer);
        let glu = if c.gemma.is_some() { Epilogue::GeGlu } else { Epilogue::SwiGlu };
        for l in &layers {
            // A sub-layer's output is added into `x`; Gemma's lands in `h` (free once read) and joins `x`
            // through its post-norm.
            let (out, epilogue) = if l.post_norms.is_some() { (&s.h, Epilogue::Store) } else { (&s.x, Epilogue::Add) };
            let post_norm = |i: usize| {
                l.post_norms.as_ref().map(|norms| rms_norm::dispatch(&ctx, d, c.rms_eps, &s.h, &norms[i], &s.x, true))
            };
            let mut ops = vec![
                keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.x, &l.attn_norm, &s.h, false)?),
                keep(matmul::dispatch(&ctx, &l.qkv, io(&s.h, &s.qkv, q_dim + 2 * kv_dim), Epilogue::Store, false)?),
                keep(matmul::dispatch(&ctx, &l.wo, io(&s.att, out, d), epilogue, false)?),
            ];
            if let Some(op) = post_norm(0) {
                ops.push(keep(op?));
            }
            ops.push(keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.x, &l.ffn_norm, &s.h, false)?));
            ops.push(keep(matmul::dispatch(&ctx, &l.gate_up, io(&s.h, &s.gu, c.n_ff), glu, false)?));
            ops.push(keep(matmul::dispatch(&ctx, &l.down, io(&s.gu, out, d), epilogue, false)?));
            if let Some(op) = post_norm(1) {
                ops.push(keep(op?));
            }
            layer_ops.push(ops);
        }
        let head_matrix = head.as_ref().unwrap_or(&embd);
        let final_cap = c.gemma.as_ref().and_then(|g| g.final_softcap);
        let head_io = MatmulIo { x: &s.h.buffer, y: &s.logits.buffer, y_stride: c.n_vocab, y_offset: 0 };
        let final_ops = [
            keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.x, &output_norm, &s.h, false)?),
            keep(matmul::dispatch_capped(&ctx, head_matrix, head_io, Epilogue::Store, true, final_cap)?),
            topk::dispatch(&ctx, &s.logits.buffer, &s.result.buffer, &s.pick.buffer)?,
        ];
        let lens_ops = (0..c.n_layer)
            .map(|l| {
                let out0 = l * CHUNK * rows_top::ROW_WORDS;
                Ok(keep(rows_top::dispatch(&ctx, c.n_vocab, out0, &s.logits.buffer, &s.lens.buffer)?))
            })
            .collect::<Result<Vec<_>>>()?;

        if let Some(err) = validation.pop().await {
            return Err(EngineError::GpuUnsupported(err.to_string()));
        }
        if let Some(err) = scope.pop().await {
            return Err(EngineError::GpuUnsupported(format!("out of GPU memory: {err}")));
        }
        ctx.check()?;
        Ok(Self {
            ctx,
            config: c,
            weights: (layers, embd, head, output_norm),
            rope_table,
            local_rope_table,
            max_context,
            s,
            embed_op,
            layer_ops,
            final_ops,
            lens_ops,
            _params: params,
            busy: AtomicBool::new(false),
            kv_pool: std::sync::Mutex::new(None),
        })
    }
}
