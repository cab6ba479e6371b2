// Layer norm, one invocation per row: out = (x − mean) · rstd · g + b, and (mean, rstd) kept in `stats`
// for the backward pass. `g`, `b` are offsets into the parameters.
struct Dims { rows: u32, w: u32, g: u32, b: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let r = id.x;
    if (r >= d.rows) { return; }
    let at = r * d.w;
    var m = 0.0;
    for (var k = 0u; k < d.w; k++) { m += x[at + k]; }
    m /= f32(d.w);
    var v = 0.0;
    for (var k = 0u; k < d.w; k++) { let c = x[at + k] - m; v += c * c; }
    v /= f32(d.w);
    let s = 1.0 / sqrt(v + 1e-5);
    for (var k = 0u; k < d.w; k++) {
        out[at + k] = (x[at + k] - m) * s * params[d.g + k] + params[d.b + k];
    }
    stats[2u * r] = m;
    stats[2u * r + 1u] = s;
}
