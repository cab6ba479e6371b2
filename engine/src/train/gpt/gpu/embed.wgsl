// The tiny GPT's input: x[i, k] = wte[tok[i], k] + wpe[i mod len, k], one invocation per (k, i).
// `wte` and `wpe` are offsets into the flat parameter vector.
struct Dims { n: u32, len: u32, w: u32, wte: u32, wpe: u32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> tok: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    let i = id.y;
    if (k >= d.w || i >= d.n) { return; }
    x[i * d.w + k] = params[d.wte + tok[i] * d.w + k] + params[d.wpe + (i % d.len) * d.w + k];
}
