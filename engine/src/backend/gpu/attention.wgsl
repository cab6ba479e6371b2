// Causal grouped-query attention, one workgroup per (head, query token): scores against every key the
// token can see, softmax (running max and sum in one pass, then normalised), weighted sum of the values.
// When tracing, it also writes the probabilities to `trace` at
// ((layer · n_head + head) · trace_rows + (position − trace_first)) · trace_keys + key.
struct Params {
    n_head: u32,
    group: u32, // query heads per key/value head
    head_dim: u32,
    kv_dim: u32,
    layer: u32,
    scale: f32,
    window: u32, // a sliding layer's: the query sees its last `window` positions; 0: all of them
    softcap: f32, // > 0: every score soft-capped to softcap · tanh(score / softcap) (Gemma 2)
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k_cache: array<u32>;
@group(0) @binding(4) var<storage, read> v_cache: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> trace: array<f32>;

const WG: u32 = 64u;
const KEYS: u32 = 256u; // keys per tile of the weighted sum

var<workgroup> qs: array<f32, 256>; // the query (head_dim ≤ 256)
var<workgroup> ps: array<f32, 256>; // a tile of probabilities
var<workgroup> red_m: array<f32, 64>;
var<workgroup> red_s: array<f32, 64>;

fn score(j: u32, kv_off: u32) -> f32 {
    let base = (j * p.kv_dim + kv_off) / 2u;
    var s = 0.0;
    for (var d = 0u; d < p.head_dim / 2u; d++) {
        let k = unpack2x16float(k_cache[base + d]);
        s += qs[2u * d] * k.x + qs[2u * d + 1u] * k.y;
    }
    s *= p.scale;
    if p.softcap > 0.0 {
        // tanh written out, as WGSL's may overflow to NaN for large inputs.
        let e = exp(2.0 * clamp(s / p.softcap, -15.0, 15.0));
        s = p.softcap * (e - 1.0) / (e + 1.0);
    }
    return s;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let head = wg.x;
    let t = wg.y;
    let hd = p.head_dim;
    let kv_off = (head / p.group) * hd;
    let pos = step.start + t;
    let n_keys = pos + 1u;
    // The first key it sees (the trace, cleared before the pass, keeps zeros before it).
    let first = select(0u, n_keys - min(n_keys, p.window), p.window > 0u);
    let q_at = (t * p.n_head + head) * hd;
    for (var d = li; d < hd; d += WG) {
        qs[d] = q[q_at + d];
    }
    workgroupBarrier();

    var m = -3.0e38;
    var s = 0.0;
    for (var j = first + li; j < n_keys; j += WG) {
        let x = score(j, kv_off);
        let m2 = max(m, x);
        s = s * exp(m - m2) + exp(x - m2);
        m = m2;
    }
    red_m[li] = m;
    red_s[li] = s;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if li < stride {
            let m1 = red_m[li];
            let m2 = red_m[li + stride];
            let mm = max(m1, m2);
            red_s[li] = red_s[li] * exp(m1 - mm) + red_s[li + stride] * exp(m2 - mm);
            red_m[li] = mm;
        }
        workgroupBarrier();
    }
    let mx = red_m[0];
    let inv = 1.0 / red_s[0];

    let traced = step.trace == 1u && pos >= step.trace_first;
    let trace_at = ((p.layer * p.n_head + head) * step.trace_rows + pos - min(pos, step.trace_first)) * step.trace_keys;
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0); // dims li, li + 64, li + 128, li + 192
    for (var k0 = first; k0 < n_keys; k0 += KEYS) {
        let kn = min(KEYS, n_keys - k0);
        for (var jj = li; jj < kn; jj += WG) {
            let pr = exp(score(k0 + jj, kv_off) - mx) * inv;
            ps[jj] = pr;
            if traced {
                trace[trace_at + k0 + jj] = pr;
            }
        }
        workgroupBarrier();
        for (var c = 0u; c < 4u; c++) {
            let d = li + c * WG;
            if d < hd {
                var a = acc[c];
                let odd = (d & 1u) == 1u;
                for (var jj = 0u; jj < kn; jj++) {
                    let v = unpack2x16float(v_cache[((k0 + jj) * p.kv_dim + kv_off + d) / 2u]);
                    a += ps[jj] * select(v.x, v.y, odd);
                }
                acc[c] = a;
            }
        }
        workgroupBarrier();
    }
    for (var c = 0u; c < 4u; c++) {
        let d = li + c * WG;
        if d < hd {
            out[q_at + d] = acc[c];
        }
    }
}
