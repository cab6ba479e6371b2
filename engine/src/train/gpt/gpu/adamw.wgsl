// One AdamW step (β₁, β₂ from the host) for every parameter, the gradient first clipped to norm `clip` (its
// squared norm in norm[0]); weight decay where decay[k] is 1 (matrices), none where it is 0.
// One invocation per parameter, folded as in the autoencoder's adam.wgsl.
struct Size { n: u32, pad0: u32, pad1: u32, pad2: u32 }
struct Step { lr: f32, c1: f32, c2: f32, clip: f32, weight_decay: f32, beta1: f32, beta2: f32, pad0: f32 }

@group(0) @binding(0) var<uniform> size: Size;
@group(0) @binding(1) var<uniform> s: Step;
@group(0) @binding(2) var<storage, read_write> params: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read> decay: array<f32>;
@group(0) @binding(7) var<storage, read> norm: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= size.n) { return; }
    let total = sqrt(norm[0]);
    let g = grad[k] * select(1.0, s.clip / total, total > s.clip);
    m[k] = s.beta1 * m[k] + (1.0 - s.beta1) * g;
    v[k] = s.beta2 * v[k] + (1.0 - s.beta2) * g * g;
    let p = params[k];
    params[k] = p - s.lr * ((m[k] / s.c1) / (sqrt(v[k] / s.c2) + 1e-8) + s.weight_decay * decay[k] * p);
}
