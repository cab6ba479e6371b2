// RMSNorm, one workgroup per token: out = x / sqrt(mean(x²) + eps) · gain, or out += that (Gemma's
// normalised sub-layer outputs joining the residual stream).
struct Params {
    d: u32,
    eps: f32,
    add: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> gain: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> part: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    if wg.x >= step.n {
        return;
    }
    let row = wg.x * p.d;
    var s = 0.0;
    for (var i = li; i < p.d; i += 64u) {
        let v = x[row + i];
        s += v * v;
    }
    part[li] = s;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if li < stride {
            part[li] += part[li + stride];
        }
        workgroupBarrier();
    }
    let scale = 1.0 / sqrt(part[0] / f32(p.d) + p.eps);
    for (var i = li; i < p.d; i += 64u) {
        let v = x[row + i] * scale * gain[i];
        if p.add == 1u {
            out[row + i] += v;
        } else {
            out[row + i] = v;
        }
    }
}
