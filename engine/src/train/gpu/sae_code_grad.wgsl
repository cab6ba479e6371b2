// The gradient at each feature that is on: dz = du · w_dec[feature], one invocation per (slot, vector),
// written compact (`dzc`, (n, k)) and into the dense (n, width) `dz` the top-k kernel zeroed.
struct Dims { n: u32, d: u32, width: u32, k: u32, norm: f32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<uniform> s: Dims;
@group(0) @binding(1) var<storage, read> du: array<f32>;
@group(0) @binding(2) var<storage, read> w_dec: array<f32>;
@group(0) @binding(3) var<storage, read> idx: array<u32>;
@group(0) @binding(4) var<storage, read> val: array<f32>;
@group(0) @binding(5) var<storage, read_write> dzc: array<f32>;
@group(0) @binding(6) var<storage, read_write> dz: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let slot = id.x;
    let t = id.y;
    if (slot >= s.k || t >= s.n) { return; }
    let at = t * s.k + slot;
    if (val[at] <= 0.0) {
        dzc[at] = 0.0;
        return;
    }
    let j = idx[at];
    var acc = 0.0;
    for (var c = 0u; c < s.d; c++) {
        acc += du[t * s.d + c] * w_dec[j * s.d + c];
    }
    dzc[at] = acc;
    dz[t * s.width + j] = acc;
}
