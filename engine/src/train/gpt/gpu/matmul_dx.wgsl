// A product's gradient at its input: dx[r, i] = Σₒ dy[r, o] · W[o, i], times GELU′(pre[r, i]) when
// flags is 1 (the MLP's activation folded in). One invocation per (i, r).
struct Dims { rows: u32, inp: u32, out: u32, w: u32, flags: u32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> pre: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

fn gelu_slope(x: f32) -> f32 {
    let k = 0.7978846;
    let t = tanh(clamp(k * (x + 0.044715 * x * x * x), -15.0, 15.0));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    let r = id.y;
    if (i >= d.inp || r >= d.rows) { return; }
    var acc = 0.0;
    for (var o = 0u; o < d.out; o++) { acc += dy[r * d.out + o] * params[d.w + o * d.inp + i]; }
    if (d.flags == 1u) { acc *= gelu_slope(pre[r * d.inp + i]); }
    dx[r * d.inp + i] = acc;
}
