// dx = dy W, zeroed where the layer's input came out of a ReLU at 0 (`relu` = 1): one invocation per
// (input unit, example). dy: (batch, out), w: (out, inp), act: (batch, inp), dx: (batch, inp).
struct Dims { batch: u32, inp: u32, out: u32, relu: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> act: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    let r = id.y;
    if (i >= d.inp || r >= d.batch) { return; }
    var acc = 0.0;
    if (d.relu == 0u || act[r * d.inp + i] > 0.0) {
        for (var o = 0u; o < d.out; o++) {
            acc += dy[r * d.out + o] * w[o * d.inp + i];
        }
    }
    dx[r * d.inp + i] = acc;
}
