// Layer norm's backward pass at its input, one invocation per row: dx (+)= rstd · (dout·g − mean(dout·g)
// − x̂ · mean(dout·g·x̂)). `flags` 1: add to dx (the residual stream's gradient), 0: overwrite it.
struct Dims { rows: u32, w: u32, g: u32, flags: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let r = id.x;
    if (r >= d.rows) { return; }
    let at = r * d.w;
    let m = stats[2u * r];
    let s = stats[2u * r + 1u];
    var mean_d = 0.0;
    var mean_dx = 0.0;
    for (var k = 0u; k < d.w; k++) {
        let dn = dout[at + k] * params[d.g + k];
        mean_d += dn;
        mean_dx += dn * (x[at + k] - m) * s;
    }
    mean_d /= f32(d.w);
    mean_dx /= f32(d.w);
    for (var k = 0u; k < d.w; k++) {
        let xhat = (x[at + k] - m) * s;
        let v = s * (dout[at + k] * params[d.g + k] - mean_d - xhat * mean_dx);
        if (d.flags == 1u) { dx[at + k] += v; } else { dx[at + k] = v; }
    }
}
