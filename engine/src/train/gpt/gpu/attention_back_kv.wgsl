// Attention's backward pass, second half, one invocation per (key s, head, row b): the gradients at the
// key, Σ_{t ≥ s} ds[t, s] · q[t], and at the value, Σ_{t ≥ s} p[t, s] · dy[t], into dqkv's k and v parts.
struct Dims { len: u32, heads: u32, w: u32, pad0: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> att: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> ds: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let s = id.x;
    let h = id.y;
    let b = id.z;
    if (s >= d.len) { return; }
    let hd = d.w / d.heads;
    let head = (b * d.heads + h) * d.len;
    let at = (b * d.len + s) * 3u * d.w + h * hd;
    for (var j = 0u; j < hd; j++) {
        var dk = 0.0;
        var dv = 0.0;
        for (var t = s; t < d.len; t++) {
            let cell = (head + t) * d.len + s;
            dk += ds[cell] * qkv[(b * d.len + t) * 3u * d.w + h * hd + j];
            dv += att[cell] * dy[(b * d.len + t) * d.w + h * hd + j];
        }
        dqkv[at + d.w + j] = dk;
        dqkv[at + 2u * d.w + j] = dv;
    }
}
