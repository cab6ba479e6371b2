// The mean of the first `count` rows' losses. mode 0 (a training step): added to acc[0], and acc[1]
// counts the steps (the host reads and clears both); mode 1 (held-out text): written to acc[2].
struct Dims { count: u32, mode: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> loss: array<f32>;
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;

var<workgroup> part: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
    var sum = 0.0;
    for (var r = lid.x; r < d.count; r += 64u) { sum += loss[r]; }
    part[lid.x] = sum;
    workgroupBarrier();
    for (var half = 32u; half > 0u; half /= 2u) {
        if (lid.x < half) { part[lid.x] += part[lid.x + half]; }
        workgroupBarrier();
    }
    if (lid.x == 0u) {
        let mean = part[0] / f32(max(d.count, 1u));
        if (d.mode == 0u) {
            acc[0] += mean;
            acc[1] += 1.0;
        } else {
            acc[2] = mean;
        }
    }
}
