// Every row the output head wrote, summed up where it lies, one workgroup per row: log Σ exp(logits)
// and the R best tokens, ranked as the CPU's `top_k` ranks them (logit descending, id ascending). The
// logit lens reads 2 + 2R words per row instead of the vocabulary.
//  1. each thread walks its ids in increasing order, keeping a running max and Σ e^(x−max), and its own
//     R best in a sorted list (an id only displaces a strictly smaller logit, so among equal logits the
//     lower id, seen first, stays);
//  2. a tree merges the threads' lists two at a time and adds up their sums.
// Output per row: [log Σ exp, candidates found, then (id, logit) × R].

const R: u32 = 8u;
const WG: u32 = 128u;
const NONE: u32 = 0xffffffffu;

struct Params {
    n_vocab: u32,
    out0: u32,  // first word written (the logit lens gives each block its own region)
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> result: array<u32>;

var<workgroup> rm: array<f32, WG>;
var<workgroup> rs: array<f32, WG>;
var<workgroup> ids: array<u32, 1024>;    // WG × R
var<workgroup> vals: array<f32, 1024>;   // WG × R

// Whether (va, ia) ranks before (vb, ib): larger logit first, then lower id; an empty slot last.
fn before(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
    if ib == NONE {
        return ia != NONE;
    }
    if ia == NONE {
        return false;
    }
    return va > vb || (va == vb && ia < ib);
}

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    if wg.x >= step.head_n {
        return;
    }
    let row = wg.x * p.n_vocab;
    let n = p.n_vocab;
    let mine = li * R;
    for (var j = 0u; j < R; j++) {
        ids[mine + j] = NONE;
        vals[mine + j] = 0.0;
    }

    // 1. This thread's share.
    var m = -3.0e38;
    var s = 0.0;
    for (var i = li; i < n; i += WG) {
        let x = logits[row + i];
        if x > m {
            s = s * exp(m - x) + 1.0;
            m = x;
        } else {
            s += exp(x - m);
        }
        if before(x, i, vals[mine + R - 1u], ids[mine + R - 1u]) {
            var k = R - 1u;
            while k > 0u && before(x, i, vals[mine + k - 1u], ids[mine + k - 1u]) {
                vals[mine + k] = vals[mine + k - 1u];
                ids[mine + k] = ids[mine + k - 1u];
                k--;
            }
            vals[mine + k] = x;
            ids[mine + k] = i;
        }
    }
    rm[li] = m;
    rs[li] = s;
    workgroupBarrier();

    // 2. The tree: thread li merges li + stride into itself.
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if li < stride {
            let other = li + stride;
            let m2 = max(rm[li], rm[other]);
            rs[li] = rs[li] * exp(rm[li] - m2) + rs[other] * exp(rm[other] - m2);
            rm[li] = m2;
            var a: array<u32, 8>;
            var av: array<f32, 8>;
            for (var j = 0u; j < R; j++) {
                a[j] = ids[mine + j];
                av[j] = vals[mine + j];
            }
            let theirs = other * R;
            var x = 0u;
            var y = 0u;
            for (var j = 0u; j < R; j++) {
                if before(av[x], a[x], vals[theirs + y], ids[theirs + y]) {
                    ids[mine + j] = a[x];
                    vals[mine + j] = av[x];
                    x++;
                } else {
                    ids[mine + j] = ids[theirs + y];
                    vals[mine + j] = vals[theirs + y];
                    y++;
                }
            }
        }
        workgroupBarrier();
    }

    if li == 0u {
        let out = p.out0 + wg.x * (2u + 2u * R);
        result[out] = bitcast<u32>(rm[0] + log(rs[0]));
        var found = 0u;
        for (var j = 0u; j < R; j++) {
            if ids[j] != NONE {
                found++;
            }
            result[out + 2u + 2u * j] = ids[j];
            result[out + 3u + 2u * j] = bitcast<u32>(vals[j]);
        }
        result[out + 1u] = found;
    }
}
