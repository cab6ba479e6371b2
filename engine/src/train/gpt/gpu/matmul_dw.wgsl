// A product's weight gradient: dW[o, i] = Σᵣ dy[r, o] · x[r, i] and, for i = inp when flags & 1, the
// bias's Σᵣ dy[r, o]. One invocation per (i, o); `w`, `b` are offsets into the gradient vector.
struct Dims { rows: u32, inp: u32, out: u32, w: u32, b: u32, flags: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    let o = id.y;
    let bias = i == d.inp && (d.flags & 1u) != 0u;
    if ((i >= d.inp && !bias) || o >= d.out) { return; }
    var acc = 0.0;
    for (var r = 0u; r < d.rows; r++) {
        let input = select(x[r * d.inp + min(i, d.inp - 1u)], 1.0, bias);
        acc += dy[r * d.out + o] * input;
    }
    let at = select(d.w + o * d.inp + i, d.b + o, bias);
    grad[at] = acc;
}
