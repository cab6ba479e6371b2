// Attention's backward pass, first half, one invocation per (query t, head, row b): the gradient at the
// scores, ds[s] = p[s] · (dy·v[s] − Σ p·(dy·v)) / √hd, kept in `ds` for the second half, and the
// gradient at the query, Σₛ ds[s] · k[s], written into dqkv's q part.
struct Dims { len: u32, heads: u32, w: u32, pad0: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> att: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> ds: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let t = id.x;
    let h = id.y;
    let b = id.z;
    if (t >= d.len) { return; }
    let hd = d.w / d.heads;
    let scale = 1.0 / sqrt(f32(hd));
    let row = ((b * d.heads + h) * d.len + t) * d.len;
    let g = (b * d.len + t) * d.w + h * hd;
    var mean = 0.0;
    for (var s = 0u; s <= t; s++) {
        let v = (b * d.len + s) * 3u * d.w + 2u * d.w + h * hd;
        var acc = 0.0;
        for (var j = 0u; j < hd; j++) { acc += dy[g + j] * qkv[v + j]; }
        ds[row + s] = acc;
        mean += att[row + s] * acc;
    }
    for (var s = 0u; s <= t; s++) { ds[row + s] = att[row + s] * (ds[row + s] - mean) * scale; }
    for (var s = t + 1u; s < d.len; s++) { ds[row + s] = 0.0; }
    let q = (b * d.len + t) * 3u * d.w + h * hd;
    for (var j = 0u; j < hd; j++) {
        var acc = 0.0;
        for (var s = 0u; s <= t; s++) { acc += ds[row + s] * qkv[(b * d.len + s) * 3u * d.w + d.w + h * hd + j]; }
        dqkv[q + j] = acc;
    }
}
