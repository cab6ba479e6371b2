// Embedding lookup: x[t] = row ids[t] of the (quantized) embedding matrix, one thread per block.
struct Params {
    cols: u32,
    // Gemma multiplies its embeddings by √n_embd; 1 elsewhere.
    scale: f32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> ids: array<u32>;
@group(0) @binding(4) var<storage, read_write> x: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let nb = p.cols / 32u;
    let b = gid.x;
    let t = gid.y;
    if b >= nb || t >= step.n {
        return;
    }
    let blk = load_block(ids[t] * nb + b);
    let at = t * (p.cols / 4u) + b * 8u;
    for (var i = 0u; i < 8u; i++) {
        x[at + i] = (blk.q[i] * blk.d + blk.m) * p.scale;
    }
}
