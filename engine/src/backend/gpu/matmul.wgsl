// Weights × activations for the chunk's tokens: y[t][r] = Σ_c W[r][c] · x[t][c]. A workgroup owns 8
// rows × 8 tokens; 8 lanes per row stride over the row's blocks, so each weight block is dequantized
// once for 8 tokens (prefill) and the decode step (1 token) reads each weight once.
// EPILOGUE 0: y = Wx; 1: y += Wx (the residual add, fused); 2: rows come as (gate, up) pairs and
// y = silu(gate) · up (SwiGLU, fused); 3: the same with GELU (Gemma's GeGLU). HEAD 1: the output head,
// which reads rows head_row0.. of x. CAP > 0: stored outputs soft-capped to CAP · tanh(y / CAP) (Gemma 2's
// final logits).

const ROWS: u32 = 8u;
const LANES: u32 = 8u;
const TILE: u32 = 8u;

var<workgroup> sums: array<f32, 64>; // ROWS × TILE

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row_in = li / LANES;
    let lane = li % LANES;
    let r = wg.x * ROWS + row_in;
    var n = step.n;
    var row0 = 0u;
    if HEAD == 1u {
        n = step.head_n;
        row0 = step.head_row0;
    }
    let t0 = wg.y * TILE;
    let nt = min(TILE, n - min(n, t0));
    let nb = p.cols / 32u;
    let cols4 = p.cols / 4u;
    var acc: array<f32, 8>;
    if r < p.rows {
        for (var b = lane; b < nb; b += LANES) {
            let blk = load_block(r * nb + b);
            for (var t = 0u; t < nt; t++) {
                let xb = (row0 + t0 + t) * cols4 + b * 8u;
                var s = vec4<f32>(0.0);
                var sx = vec4<f32>(0.0);
                for (var i = 0u; i < 8u; i++) {
                    let xv = x[xb + i];
                    s += blk.q[i] * xv;
                    sx += xv;
                }
                acc[t] += blk.d * (s.x + s.y + s.z + s.w) + blk.m * (sx.x + sx.y + sx.z + sx.w);
            }
        }
    }
    // Lane l of each row now gets that row's total for token l (lanes.wgsl or lanes_subgroup.wgsl).
    let t = lane;
    let total = lane_total(acc, row_in, lane);
    if EPILOGUE >= 2u {
        sums[row_in * TILE + t] = total;
        workgroupBarrier();
        if r < p.rows && t < nt && row_in % 2u == 0u {
            store_pair((t0 + t) * p.y_stride + p.y_offset + r / 2u, total, sums[(row_in + 1u) * TILE + t]);
        }
    } else if r < p.rows && t < nt {
        store((t0 + t) * p.y_stride + p.y_offset + r, total);
    }
}
