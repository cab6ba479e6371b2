// The gradient of Σ BCE(sigmoid(logits), target) / batch with respect to the logits:
// (sigmoid(l) − t) · scale, one invocation per pixel.
struct Params { n: u32, scale: f32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> target_: array<f32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= p.n) { return; }
    dlogits[k] = (1.0 / (1.0 + exp(-logits[k])) - target_[k]) * p.scale;
}
