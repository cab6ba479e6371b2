// The embeddings' gradients, one invocation per (k, row). Rows below `vocab` are token rows: the sum of
// dx over the positions holding that token, added to what the tied output layer left there. The next
// `len` rows are position rows: the sum of dx over the batch at that position.
struct Dims { n: u32, len: u32, w: u32, vocab: u32, wte: u32, wpe: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> tok: array<u32>;
@group(0) @binding(2) var<storage, read> dx: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    let row = id.y;
    if (k >= d.w || row >= d.vocab + d.len) { return; }
    var acc = 0.0;
    if (row < d.vocab) {
        for (var i = 0u; i < d.n; i++) {
            if (tok[i] == row) { acc += dx[i * d.w + k]; }
        }
        grad[d.wte + row * d.w + k] += acc;
    } else {
        let p = row - d.vocab;
        for (var i = p; i < d.n; i += d.len) { acc += dx[i * d.w + k]; }
        grad[d.wpe + p * d.w + k] = acc;
    }
}
