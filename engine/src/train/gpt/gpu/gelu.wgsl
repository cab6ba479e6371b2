// g = GELU(h) (the tanh form GPT-2 uses), one invocation per (column, row).
struct Dims { rows: u32, cols: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let c = id.x;
    let r = id.y;
    if (c >= d.cols || r >= d.rows) { return; }
    let x = h[r * d.cols + c];
    let t = tanh(clamp(0.7978846 * (x + 0.044715 * x * x * x), -15.0, 15.0));
    g[r * d.cols + c] = 0.5 * x * (1.0 + t);
}
