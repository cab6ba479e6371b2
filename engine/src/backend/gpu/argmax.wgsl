// The most likely next token and log Σ exp(logits), over the last row the output head wrote, in one
// pass (running max and sum per thread, then a tree). Writes [id, max logit, log-sum-exp] so that only
// 12 bytes come back per greedy token. Ties go to the smaller id, as on the CPU.
struct Params {
    n_vocab: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> result: array<u32>;

var<workgroup> rm: array<f32, 256>;
var<workgroup> rs: array<f32, 256>;
var<workgroup> ri: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
    let row = (step.head_n - 1u) * p.n_vocab;
    var m = -3.0e38;
    var s = 0.0;
    var idx = 0xffffffffu;
    for (var i = li; i < p.n_vocab; i += 256u) {
        let v = logits[row + i];
        if v > m {
            s = s * exp(m - v) + 1.0;
            m = v;
            idx = i;
        } else {
            s += exp(v - m);
        }
    }
    rm[li] = m;
    rs[li] = s;
    ri[li] = idx;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if li < stride {
            let m1 = rm[li];
            let m2 = rm[li + stride];
            let mm = max(m1, m2);
            rs[li] = rs[li] * exp(m1 - mm) + rs[li + stride] * exp(m2 - mm);
            if m2 > m1 || (m2 == m1 && ri[li + stride] < ri[li]) {
                ri[li] = ri[li + stride];
            }
            rm[li] = mm;
        }
        workgroupBarrier();
    }
    if li == 0u {
        result[0] = ri[0];
        result[1] = bitcast<u32>(rm[0]);
        result[2] = bitcast<u32>(rm[0] + log(rs[0]));
    }
}
