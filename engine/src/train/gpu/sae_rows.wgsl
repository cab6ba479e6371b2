// Per decoder direction (one workgroup per row of w_dec, (width, d)): with `project` = 1, removes from
// the row's gradient its part along the direction (g −= (g·w) w), so a step cannot change its length to
// first order; with `project` = 0, rescales the direction to unit length.
struct Rows { width: u32, d: u32, project: u32, pad0: u32 }

@group(0) @binding(0) var<uniform> r: Rows;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let j = wg.x + wg.y * 65535u;
    let l = lid.x;
    let row = j * r.d;
    let inside = j < r.width;
    var acc = 0.0;
    if (inside) {
        for (var c = l; c < r.d; c += 64u) {
            let x = w[row + c];
            acc += select(x * x, g[row + c] * x, r.project == 1u);
        }
    }
    partial[l] = acc;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        if (l < stride) { partial[l] += partial[l + stride]; }
        workgroupBarrier();
    }
    let total = partial[0];
    if (!inside) { return; }
    for (var c = l; c < r.d; c += 64u) {
        if (r.project == 1u) {
            g[row + c] -= total * w[row + c];
        } else if (total > 0.0) {
            w[row + c] = w[row + c] / sqrt(total);
        }
    }
}
