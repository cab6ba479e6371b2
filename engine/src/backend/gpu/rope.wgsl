// The QKV biases (zeros for a model without them), Qwen3's per-head RMSNorm of queries and keys, RoPE and
// the KV append, fused: for each token of the chunk, adds the biases, normalises each query and key head
// (when `qk_norm` is 1: each invocation sums its own head's squares), then rotates the query and key pairs of the
// fused QKV projection by the angles of its position (a table computed on the CPU at load, so the GPU and
// the CPU rotate by the very same f32 angles), writes the queries to `q` and appends the key and value to
// this layer's cache as f16 pairs.
struct Params {
    q_dim: u32,
    kv_dim: u32,
    head_dim: u32,
    rope_pairs: u32,
    qk_norm: u32,
    eps: f32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> qkv: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> table: array<vec2<f32>>; // (position, pair) → (cos, sin)
@group(0) @binding(4) var<storage, read_write> q: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> k_cache: array<u32>;
@group(0) @binding(6) var<storage, read_write> v_cache: array<u32>;
@group(0) @binding(7) var<storage, read> bias: array<vec2<f32>>; // (q_dim + 2 kv_dim) / 2 pairs
@group(0) @binding(8) var<storage, read> norm: array<vec2<f32>>; // query head's gains, then key head's

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let t = gid.y;
    let q_pairs = p.q_dim / 2u;
    let kv_pairs = p.kv_dim / 2u;
    let width = q_pairs + 2u * kv_pairs;
    if i >= width || t >= step.n {
        return;
    }
    let pos = step.start + t;
    let ab = qkv[t * width + i] + bias[i];
    if i < q_pairs + kv_pairs {
        let half = p.head_dim / 2u;
        let j = i % half;
        var v = ab;
        if p.qk_norm == 1u {
            let first = i - j;
            var sum = 0.0;
            for (var r = 0u; r < half; r++) {
                let x = qkv[t * width + first + r] + bias[first + r];
                sum += dot(x, x);
            }
            let scale = 1.0 / sqrt(sum / f32(p.head_dim) + p.eps);
            var gain = norm[j];
            if i >= q_pairs {
                gain = norm[half + j];
            }
            v = ab * scale * gain;
        }
        if j < p.rope_pairs {
            let cs = table[pos * p.rope_pairs + j];
            v = vec2<f32>(v.x * cs.x - v.y * cs.y, v.x * cs.y + v.y * cs.x);
        }
        if i < q_pairs {
            q[t * q_pairs + i] = v;
        } else {
            k_cache[pos * kv_pairs + i - q_pairs] = pack2x16float(v);
        }
    } else {
        v_cache[pos * kv_pairs + i - q_pairs - kv_pairs] = pack2x16float(ab);
    }
}
