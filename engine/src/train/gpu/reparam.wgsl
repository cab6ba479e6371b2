// The VAE's code: clamps each log-variance to ±limit (in place, as the CPU does) and draws
// z = μ + exp(½ log σ²) · ε. code: (batch, 2·latent) = [μ | log σ²], eps and z: (batch, latent).
struct Params { batch: u32, latent: u32, beta: f32, scale: f32 }

const LOGVAR_LIMIT: f32 = 8.0;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> code: array<f32>;
@group(0) @binding(2) var<storage, read> eps: array<f32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= p.batch * p.latent) { return; }
    let r = k / p.latent;
    let j = k % p.latent;
    let at = r * 2u * p.latent;
    let lv = clamp(code[at + p.latent + j], -LOGVAR_LIMIT, LOGVAR_LIMIT);
    code[at + p.latent + j] = lv;
    z[k] = code[at + j] + exp(0.5 * lv) * eps[k];
}
