// The rebuilt vector from the compact code, and the loss's gradient with respect to it:
// du = (b_dec + Σ val·w_dec[idx] − u) · norm, one invocation per (value, vector).
// u, du: (n, d); w_dec: (width, d); idx, val: (n, k).
struct Dims { n: u32, d: u32, width: u32, k: u32, norm: f32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<uniform> s: Dims;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> w_dec: array<f32>;
@group(0) @binding(3) var<storage, read> b_dec: array<f32>;
@group(0) @binding(4) var<storage, read> idx: array<u32>;
@group(0) @binding(5) var<storage, read> val: array<f32>;
@group(0) @binding(6) var<storage, read_write> du: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let c = id.x;
    let t = id.y;
    if (c >= s.d || t >= s.n) { return; }
    var acc = b_dec[c];
    for (var slot = 0u; slot < s.k; slot++) {
        let v = val[t * s.k + slot];
        if (v > 0.0) {
            acc += v * w_dec[idx[t * s.k + slot] * s.d + c];
        }
    }
    du[t * s.d + c] = (acc - u[t * s.d + c]) * s.norm;
}
