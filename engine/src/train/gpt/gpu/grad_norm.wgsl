// The squared norm of the whole gradient, in one workgroup: into norm[0].
struct Dims { n: u32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> norm: array<f32>;

var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
    var sum = 0.0;
    for (var k = lid.x; k < d.n; k += 256u) { sum += grad[k] * grad[k]; }
    part[lid.x] = sum;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half /= 2u) {
        if (lid.x < half) { part[lid.x] += part[lid.x + half]; }
        workgroupBarrier();
    }
    if (lid.x == 0u) { norm[0] = part[0]; }
}
