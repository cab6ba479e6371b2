// The next token, chosen on the GPU from the last row the output head wrote, by one workgroup:
//  1. log Σ exp(logits) and the entropy, in one pass (running max, Σ e^(x−max), Σ e^(x−max)·(x−max)
//     per thread, then a tree);
//  2. the K best logits, exactly: a radix select finds the K-th largest (4 passes of 8-bit histograms
//     over the logits' order-preserving bit patterns), then every larger logit and the lowest-id ties
//     are gathered and ranked (logit descending, id ascending: the CPU's order);
//  3. the sampler's pick among them (top-k → temperature → top-p → min-p → the draw `u`), the same
//     steps as `Sampler::pick`; greedy settings take the best.
// Output words: [id, its logit, log Σ exp, entropy, candidates found, 0, 0, 0, then (id, logit) × K].
// A greedy step reads back the first 16 bytes; a step that shows alternatives reads a few pairs more.

const K: u32 = 64u;
const WG: u32 = 256u;
// Ties at the K-th value are taken a block of WG ids at a time, lowest ids first.
const TIE_ROOM: u32 = K + WG;

struct Pick {
    n_vocab: u32,
    top_k: u32,        // 0: all K candidates
    temperature: f32,  // ≤ 0: greedy
    top_p: f32,
    min_p: f32,
    u: f32,            // the sampler's uniform draw for this token
}

@group(0) @binding(1) var<uniform> p: Pick;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> result: array<u32>;

var<workgroup> rm: array<f32, WG>;
var<workgroup> rs: array<f32, WG>;
var<workgroup> rt: array<f32, WG>;
var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> prefix: u32;
var<workgroup> wanted: u32;
var<workgroup> n_above: atomic<u32>;
var<workgroup> n_ties: atomic<u32>;
var<workgroup> gathered: u32;
var<workgroup> above_id: array<u32, K>;
var<workgroup> tie_id: array<u32, TIE_ROOM>;
var<workgroup> cand_id: array<u32, K>;
var<workgroup> cand_logit: array<f32, K>;
var<workgroup> probs: array<f32, K>;

// Larger float ⇒ larger key (negative floats have their bits flipped); the order of Rust's total_cmp.
fn key_of(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
    let row = (step.head_n - 1u) * p.n_vocab;
    let n = p.n_vocab;

    // 1. log Σ exp and entropy.
    var m = -3.0e38;
    var s = 0.0;
    var t = 0.0;
    for (var i = li; i < n; i += WG) {
        let v = logits[row + i];
        if v > m {
            let a = exp(m - v);
            t = a * (t + (m - v) * s);
            s = s * a + 1.0;
            m = v;
        } else {
            let e = exp(v - m);
            s += e;
            t += e * (v - m);
        }
    }
    rm[li] = m;
    rs[li] = s;
    rt[li] = t;
    atomicStore(&hist[li], 0u);
    if li == 0u {
        prefix = 0u;
        wanted = min(K, n);
        atomicStore(&n_above, 0u);
        atomicStore(&n_ties, 0u);
    }
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if li < stride {
            let m1 = rm[li];
            let m2 = rm[li + stride];
            let mm = max(m1, m2);
            let a1 = exp(m1 - mm);
            let a2 = exp(m2 - mm);
            let s1 = rs[li];
            let s2 = rs[li + stride];
            rt[li] = a1 * (rt[li] + (m1 - mm) * s1) + a2 * (rt[li + stride] + (m2 - mm) * s2);
            rs[li] = s1 * a1 + s2 * a2;
            rm[li] = mm;
        }
        workgroupBarrier();
    }

    // 2a. Radix select: after pass `d`, `prefix` holds the top 8(d+1) bits of the K-th largest key and
    // `wanted` how many keys with those bits are still to be taken.
    for (var d = 0u; d < 4u; d++) {
        let shift = 24u - 8u * d;
        let mask = ~(0xffffffffu >> (8u * d));
        let want_bits = workgroupUniformLoad(&prefix);
        for (var i = li; i < n; i += WG) {
            let k = key_of(logits[row + i]);
            if (k & mask) == want_bits {
                atomicAdd(&hist[(k >> shift) & 255u], 1u);
            }
        }
        workgroupBarrier();
        if li == 0u {
            var above = 0u;
            var bin = 255u;
            loop {
                let c = atomicLoad(&hist[bin]);
                if above + c >= wanted || bin == 0u {
                    break;
                }
                above += c;
                bin -= 1u;
            }
            wanted -= above;
            prefix = want_bits | (bin << shift);
        }
        workgroupBarrier();
        atomicStore(&hist[li], 0u);
    }
    let kth = workgroupUniformLoad(&prefix);
    let ties_wanted = workgroupUniformLoad(&wanted);

    // 2b. Gather: every key above the K-th (fewer than K of them), and ties a block of ids at a time
    // until enough are held; the block order keeps the lowest ids.
    for (var base = 0u; base < n; base += WG) {
        let i = base + li;
        if i < n {
            let k = key_of(logits[row + i]);
            if k > kth {
                above_id[atomicAdd(&n_above, 1u)] = i;
            } else if k == kth {
                let slot = atomicAdd(&n_ties, 1u);
                if slot < TIE_ROOM {
                    tie_id[slot] = i;
                }
            }
        }
        // Done once every larger key and enough ties are held.
        workgroupBarrier();
        if li == 0u {
            gathered = u32(atomicLoad(&n_ties) >= ties_wanted && atomicLoad(&n_above) + ties_wanted == min(K, n));
        }
        if workgroupUniformLoad(&gathered) == 1u {
            break;
        }
    }
    let above = atomicLoad(&n_above);
    let ties = min(atomicLoad(&n_ties), TIE_ROOM);
    let found = above + ties_wanted;

    // 2c. Rank: a larger logit first, then a smaller id; ties are ranked by id and the first
    // `ties_wanted` kept.
    if li < above {
        let id = above_id[li];
        let v = key_of(logits[row + id]);
        var rank = 0u;
        for (var j = 0u; j < above; j++) {
            let o = above_id[j];
            let w = key_of(logits[row + o]);
            rank += u32(w > v || (w == v && o < id));
        }
        cand_id[rank] = id;
        cand_logit[rank] = logits[row + id];
    }
    for (var j = li; j < ties; j += WG) {
        let id = tie_id[j];
        var rank = 0u;
        for (var o = 0u; o < ties; o++) {
            rank += u32(tie_id[o] < id);
        }
        if rank < ties_wanted {
            cand_id[above + rank] = id;
            cand_logit[above + rank] = logits[row + id];
        }
    }
    workgroupBarrier();

    // 3. The pick, as `Sampler::pick` does it (sums in the same order).
    if li == 0u {
        var chosen = 0u;
        if p.temperature > 0.0 && p.temperature < 3.0e38 && found > 1u {
            let kept_k = select(min(p.top_k, found), found, p.top_k == 0u);
            let top = cand_logit[0] / p.temperature;
            var total = 0.0;
            for (var i = 0u; i < kept_k; i++) {
                probs[i] = exp(cand_logit[i] / p.temperature - top);
                total += probs[i];
            }
            for (var i = 0u; i < kept_k; i++) {
                probs[i] /= total;
            }
            var keep = kept_k;
            if p.top_p < 1.0 {
                var cumulative = 0.0;
                for (var i = 0u; i < kept_k; i++) {
                    cumulative += probs[i];
                    if cumulative >= p.top_p {
                        keep = i + 1u;
                        break;
                    }
                }
            }
            if p.min_p > 0.0 {
                let floor = p.min_p * probs[0];
                var n_min = 0u;
                while n_min < kept_k && probs[n_min] >= floor {
                    n_min++;
                }
                keep = min(keep, max(n_min, 1u));
            }
            var mass = 0.0;
            for (var i = 0u; i < keep; i++) {
                mass += probs[i];
            }
            var left = p.u * mass;
            chosen = keep - 1u;
            for (var i = 0u; i < keep; i++) {
                left -= probs[i];
                if left <= 0.0 {
                    chosen = i;
                    break;
                }
            }
        }
        let log_s = log(rs[0]);
        result[0] = cand_id[chosen];
        result[1] = bitcast<u32>(cand_logit[chosen]);
        result[2] = bitcast<u32>(rm[0] + log_s);
        result[3] = bitcast<u32>(log_s - rt[0] / rs[0]);
        result[4] = found;
        result[5] = 0u;
        result[6] = 0u;
        result[7] = 0u;
    }
    if li < found {
        result[8u + 2u * li] = cand_id[li];
        result[9u + 2u * li] = bitcast<u32>(cand_logit[li]);
    }
}
