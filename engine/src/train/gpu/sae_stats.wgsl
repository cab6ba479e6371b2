// Bookkeeping after a step. Invocations 0..width: a feature on in some vector of the batch records the
// step (`last_fired`, in vectors seen). Workgroup 0 also adds the batch's loss, fraction of variance
// unexplained and features on per vector to `acc` (read and reset by the host), and counts the step.
struct Dims { n: u32, d: u32, width: u32, k: u32, norm: f32, pad0: u32, pad1: u32, pad2: u32 }
struct Seen { seen: u32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<uniform> s: Dims;
@group(0) @binding(1) var<uniform> now: Seen;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read> du: array<f32>;
@group(0) @binding(4) var<storage, read> z: array<f32>;
@group(0) @binding(5) var<storage, read> val: array<f32>;
@group(0) @binding(6) var<storage, read_write> last_fired: array<u32>;
@group(0) @binding(7) var<storage, read_write> acc: array<f32>;

var<workgroup> err: array<f32, 64>;
var<workgroup> total: array<f32, 64>;
var<workgroup> on_count: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let j = id.x;
    if (j < s.width) {
        var on = false;
        for (var t = 0u; t < s.n; t++) {
            on = on || z[t * s.width + j] > 0.0;
        }
        if (on) { last_fired[j] = now.seen; }
    }
    if (wg.x != 0u) { return; }
    let l = lid.x;
    var e = 0.0;
    var u2 = 0.0;
    var a = 0.0;
    for (var t = l; t < s.n; t += 64u) {
        for (var c = 0u; c < s.d; c++) {
            let diff = du[t * s.d + c] / s.norm;
            e += diff * diff;
            u2 += u[t * s.d + c] * u[t * s.d + c];
        }
        for (var slot = 0u; slot < s.k; slot++) {
            a += select(0.0, 1.0, val[t * s.k + slot] > 0.0);
        }
    }
    err[l] = e;
    total[l] = u2;
    on_count[l] = a;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        if (l < stride) {
            err[l] += err[l + stride];
            total[l] += total[l + stride];
            on_count[l] += on_count[l + stride];
        }
        workgroupBarrier();
    }
    if (l == 0u) {
        let n = f32(s.n);
        acc[0] += err[0] / (n * f32(s.d));
        acc[1] += select(0.0, err[0] / total[0], total[0] > 0.0);
        acc[2] += on_count[0] / n;
        acc[3] += 1.0;
    }
}
