// Causal self-attention, one invocation per (query t, head, row b): the weights of t over positions
// 0 ..= t (softmax of q·k / √hd; zeros after t) into `att`, and their mix of the values into y.
// qkv: (batch·len, 3w) as [q | k | v], y: (batch·len, w), att: (batch, heads, len, len).
struct Dims { len: u32, heads: u32, w: u32, pad0: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> att: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let t = id.x;
    let h = id.y;
    let b = id.z;
    if (t >= d.len) { return; }
    let hd = d.w / d.heads;
    let scale = 1.0 / sqrt(f32(hd));
    let q = (b * d.len + t) * 3u * d.w + h * hd;
    let row = ((b * d.heads + h) * d.len + t) * d.len;
    var top = -3.0e38;
    for (var s = 0u; s <= t; s++) {
        let k = (b * d.len + s) * 3u * d.w + d.w + h * hd;
        var acc = 0.0;
        for (var j = 0u; j < hd; j++) { acc += qkv[q + j] * qkv[k + j]; }
        att[row + s] = acc * scale;
        top = max(top, acc * scale);
    }
    var sum = 0.0;
    for (var s = 0u; s <= t; s++) {
        let e = exp(att[row + s] - top);
        att[row + s] = e;
        sum += e;
    }
    for (var s = 0u; s <= t; s++) { att[row + s] /= sum; }
    for (var s = t + 1u; s < d.len; s++) { att[row + s] = 0.0; }
    let out = (b * d.len + t) * d.w + h * hd;
    for (var j = 0u; j < hd; j++) {
        var acc = 0.0;
        for (var s = 0u; s <= t; s++) { acc += att[row + s] * qkv[(b * d.len + s) * 3u * d.w + 2u * d.w + h * hd + j]; }
        y[out + j] = acc;
    }
}
