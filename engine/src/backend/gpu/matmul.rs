//! Quantized weights × activations (`matmul.wgsl`): the decode matrix-vector product and the prefill
//! matrix-matrix product are one kernel (a workgroup owns 8 rows × 8 tokens), with the residual add or
//! SwiGLU fused into its epilogue. A software adapter (lavapipe, SwiftShader) runs `matmul_rows.wgsl`
//! instead, the same product laid out for a CPU's SIMD lanes (a token decodes 3.5× faster there). CPU twin:
//! [`crate::backend::cpu::matmul`] (+ `swiglu`, residual add).

use super::pack::GpuFormat;
use super::{Dispatch, GpuContext, Grid, Tracked};
use crate::error::Result;

const SOURCE: &str = concat!(
    include_str!("step.wgsl"),
    include_str!("dequant.wgsl"),
    include_str!("lanes.wgsl"),
    include_str!("matmul_io.wgsl"),
    include_str!("matmul.wgsl")
);
/// The kernel for software adapters: 8 rows per invocation, one token per workgroup.
const SOURCE_ROWS: &str = concat!(
    include_str!("step.wgsl"),
    include_str!("dequant.wgsl"),
    include_str!("matmul_io.wgsl"),
    include_str!("matmul_rows.wgsl")
);
/// The same kernel reducing across lanes with subgroup shuffles.
#[cfg(not(target_arch = "wasm32"))]
const SOURCE_SUBGROUP: &str = concat!(
    include_str!("lanes_subgroup.wgsl"),
    include_str!("step.wgsl"),
    include_str!("dequant.wgsl"),
    include_str!("matmul_io.wgsl"),
    include_str!("matmul.wgsl")
);
#[cfg(target_arch = "wasm32")]
const SOURCE_SUBGROUP: &str = concat!(
    include_str!("enable_subgroups.wgsl"),
    include_str!("lanes_subgroup.wgsl"),
    include_str!("step.wgsl"),
    include_str!("dequant.wgsl"),
    include_str!("matmul_io.wgsl"),
    include_str!("matmul.wgsl")
);

/// What happens to each output value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Epilogue {
    /// `y = Wx`.
    Store = 0,
    /// `y += Wx` (the residual stream).
    Add = 1,
    /// Rows are interleaved (gate, up) pairs: `y = silu(gate) · up`, half as many outputs.
    SwiGlu = 2,
    /// The same pairs with GELU's tanh form: `y = gelu(gate) · up` (Gemma's GeGLU).
    GeGlu = 3,
}

/// A matrix on the GPU: its words and shape.
#[derive(Debug)]
pub(crate) struct GpuMatrix {
    pub words: Tracked,
    pub format: GpuFormat,
    pub rows: usize,
    pub cols: usize,
}

/// Where a product reads and writes.
pub(crate) struct MatmulIo<'a> {
    pub x: &'a wgpu::Buffer,
    pub y: &'a wgpu::Buffer,
    /// Floats between consecutive tokens' outputs in `y`.
    pub y_stride: usize,
    /// Offset of output 0 within a token's row of `y`.
    pub y_offset: usize,
}

/// `y (op)= W · x` for the chunk's tokens; `head`: the output head's rows (see `Step.head_*`).
pub(crate) fn dispatch(
    ctx: &GpuContext,
    w: &GpuMatrix,
    io: MatmulIo<'_>,
    epilogue: Epilogue,
    head: bool,
) -> Result<(Dispatch, Tracked)> {
    dispatch_capped(ctx, w, io, epilogue, head, None)
}

/// [`dispatch`] with stored outputs soft-capped to `cap · tanh(y / cap)` when `cap` is given (Gemma 2's
/// final logits).
pub(crate) fn dispatch_capped(
    ctx: &GpuContext,
    w: &GpuMatrix,
    io: MatmulIo<'_>,
    epilogue: Epilogue,
    head: bool,
    cap: Option<f32>,
) -> Result<(Dispatch, Tracked)> {
    let constants = [
        ("FORMAT", w.format.constant()),
        ("EPILOGUE", epilogue as u32 as f64),
        ("HEAD", u32::from(head) as f64),
        ("CAP", f64::from(cap.unwrap_or(0.0))),
    ];
    // A workgroup owns 64 rows of one token on a software adapter (`matmul_rows.wgsl`), 8 rows of 8 tokens
    // on a GPU.
    let (pipeline, rows_per_group) = if ctx.row_kernels {
        (ctx.pipeline("matmul_rows", SOURCE_ROWS, &constants)?, 64)
    } else if ctx.subgroups {
        (ctx.pipeline("matmul_subgroup", SOURCE_SUBGROUP, &constants)?, 8)
    } else {
        (ctx.pipeline("matmul", SOURCE, &constants)?, 8)
    };
    let params =
        ctx.uniform("matmul params", &[w.rows as u32, w.cols as u32, io.y_stride as u32, io.y_offset as u32])?;
    let step = ctx.step_buffer();
    let bind_group = ctx.bind(&pipeline, &[step, &params, &w.words, io.x, io.y]);
    let x = w.rows.div_ceil(rows_per_group) as u32;
    let grid = match (head, ctx.row_kernels) {
        (false, false) => Grid::Tiles { x },
        (true, false) => Grid::HeadTiles { x },
        (false, true) => Grid::PerToken { x },
        (true, true) => Grid::HeadPerToken { x },
    };
    Ok((Dispatch { pipeline, bind_group, grid }, params))
}
