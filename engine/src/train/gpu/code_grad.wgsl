// Back through the reparameterisation and the β-weighted KL term to the encoder's output:
// dμ = dz + β·μ·scale, d log σ² = dz·ε·½·exp(½ log σ²) + β·½·(exp(log σ²) − 1)·scale (0 where the
// log-variance sits at its clamp). code, dcode: (batch, 2·latent); dz, eps: (batch, latent).
struct Params { batch: u32, latent: u32, beta: f32, scale: f32 }

const LOGVAR_LIMIT: f32 = 8.0;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> code: array<f32>;
@group(0) @binding(2) var<storage, read> eps: array<f32>;
@group(0) @binding(3) var<storage, read> dz: array<f32>;
@group(0) @binding(4) var<storage, read_write> dcode: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= p.batch * p.latent) { return; }
    let r = k / p.latent;
    let j = k % p.latent;
    let at = r * 2u * p.latent;
    let mu = code[at + j];
    let lv = code[at + p.latent + j];
    dcode[at + j] = dz[k] + p.beta * mu * p.scale;
    var dlv = 0.0;
    if (abs(lv) < LOGVAR_LIMIT) {
        dlv = dz[k] * eps[k] * 0.5 * exp(0.5 * lv) + p.beta * 0.5 * (exp(lv) - 1.0) * p.scale;
    }
    dcode[at + p.latent + j] = dlv;
}
