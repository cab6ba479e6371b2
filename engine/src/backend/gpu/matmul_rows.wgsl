// The same product for software adapters (lavapipe, SwiftShader), whose "GPU" is the CPU's SIMD lanes.
// They read a storage buffer at an address that may differ between lanes one lane and one component at a
// time, and an array indexed by a loop variable through memory, so `matmul.wgsl`'s 8 lanes per row
// spend most of their time loading activations. Here a workgroup reads one token's activations, each
// block's once (the same address in every lane), for 64 rows: each invocation owns 8 consecutive rows
// (4 (gate, up) pairs for SwiGLU and GeGLU) in eight named sums; no lanes to add up, no barrier.
const INVOCATIONS: u32 = 8u;

// Row r's block b times the block's activations `xs` (whose sum is `sum_x`).
fn row_dot(r: u32, b: u32, nb: u32, xs: array<vec4<f32>, 8>, sum_x: f32) -> f32 {
    let blk = load_block(r * nb + b);
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < 8u; i++) {
        s += blk.q[i] * xs[i];
    }
    return blk.d * (s.x + s.y + s.z + s.w) + blk.m * sum_x;
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    var row0 = 0u;
    if HEAD == 1u {
        row0 = step.head_row0;
    }
    let t = wg.y;
    let nb = p.cols / 32u;
    let xr = (row0 + t) * (p.cols / 4u);
    let first = (wg.x * INVOCATIONS + li) * 8u;
    // Rows past the last are read as the last (every lane stays active) and not stored.
    let last = p.rows - 1u;
    var s0 = 0.0;
    var s1 = 0.0;
    var s2 = 0.0;
    var s3 = 0.0;
    var s4 = 0.0;
    var s5 = 0.0;
    var s6 = 0.0;
    var s7 = 0.0;
    for (var b = 0u; b < nb; b++) {
        var xs: array<vec4<f32>, 8>;
        var sx = vec4<f32>(0.0);
        for (var i = 0u; i < 8u; i++) {
            xs[i] = x[xr + b * 8u + i];
            sx += xs[i];
        }
        let sum_x = sx.x + sx.y + sx.z + sx.w;
        s0 += row_dot(min(first, last), b, nb, xs, sum_x);
        s1 += row_dot(min(first + 1u, last), b, nb, xs, sum_x);
        s2 += row_dot(min(first + 2u, last), b, nb, xs, sum_x);
        s3 += row_dot(min(first + 3u, last), b, nb, xs, sum_x);
        s4 += row_dot(min(first + 4u, last), b, nb, xs, sum_x);
        s5 += row_dot(min(first + 5u, last), b, nb, xs, sum_x);
        s6 += row_dot(min(first + 6u, last), b, nb, xs, sum_x);
        s7 += row_dot(min(first + 7u, last), b, nb, xs, sum_x);
    }
    let at = t * p.y_stride + p.y_offset;
    if EPILOGUE >= 2u {
        let o = at + first / 2u;
        if first + 1u < p.rows {
            store_pair(o, s0, s1);
        }
        if first + 3u < p.rows {
            store_pair(o + 1u, s2, s3);
        }
        if first + 5u < p.rows {
            store_pair(o + 2u, s4, s5);
        }
        if first + 7u < p.rows {
            store_pair(o + 3u, s6, s7);
        }
    } else {
        let sums = array<f32, 8>(s0, s1, s2, s3, s4, s5, s6, s7);
        for (var k = 0u; k < 8u; k++) {
            if first + k < p.rows {
                store(at + first + k, sums[k]);
            }
        }
    }
}
