// y[r, o] = Σᵢ x[r, i] · W[o, i] (+ b[o] when flags & 1) (+ res[r, o] when flags & 2), one invocation per
// (o, r). W (out, inp) and b start at offsets `w` and `b` in the parameters.
struct Dims { rows: u32, inp: u32, out: u32, w: u32, b: u32, flags: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> res: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let o = id.x;
    let r = id.y;
    if (o >= d.out || r >= d.rows) { return; }
    var acc = 0.0;
    let xr = r * d.inp;
    let wr = d.w + o * d.inp;
    for (var i = 0u; i < d.inp; i++) { acc += x[xr + i] * params[wr + i]; }
    if ((d.flags & 1u) != 0u) { acc += params[d.b + o]; }
    if ((d.flags & 2u) != 0u) { acc += res[r * d.out + o]; }
    y[r * d.out + o] = acc;
}
