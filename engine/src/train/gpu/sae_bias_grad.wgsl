// The decoder bias's gradient: Σ over the batch of du − Σ_on dz · w_enc[feature] (the bias is added to
// the output and taken from the encoder's input), one invocation per value.
struct Dims { n: u32, d: u32, width: u32, k: u32, norm: f32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<uniform> s: Dims;
@group(0) @binding(1) var<storage, read> du: array<f32>;
@group(0) @binding(2) var<storage, read> w_enc: array<f32>;
@group(0) @binding(3) var<storage, read> idx: array<u32>;
@group(0) @binding(4) var<storage, read> dzc: array<f32>;
@group(0) @binding(5) var<storage, read_write> g_b_dec: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let c = id.x;
    if (c >= s.d) { return; }
    var acc = 0.0;
    for (var t = 0u; t < s.n; t++) {
        var back = 0.0;
        for (var slot = 0u; slot < s.k; slot++) {
            let g = dzc[t * s.k + slot];
            if (g != 0.0) {
                back += g * w_enc[idx[t * s.k + slot] * s.d + c];
            }
        }
        acc += du[t * s.d + c] - back;
    }
    g_b_dec[c] = acc;
}
