// One Adam step with bias correction, one invocation per parameter. `c1`, `c2` are 1 − β₁ᵗ and 1 − β₂ᵗ
// for this step (written by the host before each step).
struct Size { n: u32, pad0: u32, pad1: u32, pad2: u32 }
struct Step { lr: f32, c1: f32, c2: f32, beta1: f32, beta2: f32, eps: f32, pad0: f32, pad1: f32 }

@group(0) @binding(0) var<uniform> size: Size;
@group(0) @binding(1) var<uniform> s: Step;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= size.n) { return; }
    let g = grad[k];
    m[k] = s.beta1 * m[k] + (1.0 - s.beta1) * g;
    v[k] = s.beta2 * v[k] + (1.0 - s.beta2) * g * g;
    param[k] -= s.lr * (m[k] / s.c1) / (sqrt(v[k] / s.c2) + s.eps);
}
