// dW = dyᵀ x and db = Σ dy over the batch: one invocation per (input unit or bias, output unit).
// dy: (batch, out), x: (batch, inp), gw: (out, inp), gb: (out).
struct Dims { batch: u32, inp: u32, out: u32, relu: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> gw: array<f32>;
@group(0) @binding(4) var<storage, read_write> gb: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    let o = id.y;
    if (i > d.inp || o >= d.out) { return; }
    var acc = 0.0;
    for (var r = 0u; r < d.batch; r++) {
        let input = select(x[r * d.inp + i], 1.0, i == d.inp);
        acc += dy[r * d.out + o] * input;
    }
    if (i == d.inp) { gb[o] = acc; } else { gw[o * d.inp + i] = acc; }
}
