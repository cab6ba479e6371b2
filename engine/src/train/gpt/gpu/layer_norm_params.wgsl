// Layer norm's scale and shift gradients, one invocation per column: Σ over rows of dout · x̂ and of dout.
struct Dims { rows: u32, w: u32, g: u32, b: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= d.w) { return; }
    var gg = 0.0;
    var gb = 0.0;
    for (var r = 0u; r < d.rows; r++) {
        let dv = dout[r * d.w + k];
        gg += dv * (x[r * d.w + k] - stats[2u * r]) * stats[2u * r + 1u];
        gb += dv;
    }
    grad[d.g + k] = gg;
    grad[d.b + k] = gb;
}
