// The output's softmax and cross-entropy, one invocation per row: the row's loss −log p[target] into
// `loss`, and the logits replaced by the loss's gradient (p − one-hot(target)) · scale (scale = 1/rows).
struct Dims { rows: u32, vocab: u32, scale: f32, pad0: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> targets: array<u32>;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let r = id.x;
    if (r >= d.rows) { return; }
    let at = r * d.vocab;
    let y = targets[r];
    var top = -3.0e38;
    for (var j = 0u; j < d.vocab; j++) { top = max(top, logits[at + j]); }
    var sum = 0.0;
    for (var j = 0u; j < d.vocab; j++) { sum += exp(logits[at + j] - top); }
    loss[r] = top + log(sum) - logits[at + y];
    for (var j = 0u; j < d.vocab; j++) {
        let p = exp(logits[at + j] - top) / sum;
        logits[at + j] = (p - select(0.0, 1.0, j == y)) * d.scale;
    }
}
