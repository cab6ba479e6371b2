// The top-k code: one workgroup per vector. `pre` is already through ReLU; the k largest positive values
// stay on, ties broken towards the lower feature index. Picks are made in order, each the largest
// value ranked after the previous pick, so no element needs marking. Writes the code both dense (`z`,
// every feature, zeros elsewhere; `dz` zeroed for the backward pass) and compact (`idx`, `val`: k slots,
// strongest first, `val` 0 in the slots left when fewer than k values are positive).
struct Dims { n: u32, d: u32, width: u32, k: u32, norm: f32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<uniform> s: Dims;
@group(0) @binding(1) var<storage, read> pre: array<f32>;
@group(0) @binding(2) var<storage, read_write> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;
@group(0) @binding(4) var<storage, read_write> idx: array<u32>;
@group(0) @binding(5) var<storage, read_write> val: array<f32>;

var<workgroup> best_v: array<f32, 64>;
var<workgroup> best_j: array<u32, 64>;

// Whether (v, j) ranks before (w, i): larger value first, then lower index.
fn ahead(v: f32, j: u32, w: f32, i: u32) -> bool {
    return v > w || (v == w && j < i);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = wg.x;
    let l = lid.x;
    let base = t * s.width;
    var last_v = 0.0;
    var last_j = 0u;
    var picked = 0u;
    for (var slot = 0u; slot < s.k; slot++) {
        var v = -1.0;
        var j = 0xffffffffu;
        for (var f = l; f < s.width; f += 64u) {
            let x = pre[base + f];
            let after_last = picked == 0u || ahead(last_v, last_j, x, f);
            if (x > 0.0 && after_last && ahead(x, f, v, j)) {
                v = x;
                j = f;
            }
        }
        best_v[l] = v;
        best_j[l] = j;
        workgroupBarrier();
        for (var stride = 32u; stride > 0u; stride = stride / 2u) {
            if (l < stride && ahead(best_v[l + stride], best_j[l + stride], best_v[l], best_j[l])) {
                best_v[l] = best_v[l + stride];
                best_j[l] = best_j[l + stride];
            }
            workgroupBarrier();
        }
        let top_v = best_v[0];
        let top_j = best_j[0];
        workgroupBarrier();
        let on = top_v > 0.0;
        if (l == 0u) {
            idx[t * s.k + slot] = select(0u, top_j, on);
            val[t * s.k + slot] = select(0.0, top_v, on);
        }
        if (on) {
            last_v = top_v;
            last_j = top_j;
            picked += 1u;
        }
    }
    for (var f = l; f < s.width; f += 64u) {
        let x = pre[base + f];
        let on = picked > 0u && x > 0.0 && !ahead(last_v, last_j, x, f);
        z[base + f] = select(0.0, x, on);
        dz[base + f] = 0.0;
    }
}
