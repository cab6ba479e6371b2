// y = x Wᵀ + b (then ReLU when `relu` is 1): one invocation per (output unit, example).
// x: (batch, inp), w: (out, inp), b: (out), y: (batch, out).
struct Dims { batch: u32, inp: u32, out: u32, relu: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let o = id.x;
    let r = id.y;
    if (o >= d.out || r >= d.batch) { return; }
    var acc = b[o];
    for (var i = 0u; i < d.inp; i++) {
        acc += x[r * d.inp + i] * w[o * d.inp + i];
    }
    if (d.relu == 1u) { acc = max(acc, 0.0); }
    y[r * d.out + o] = acc;
}
