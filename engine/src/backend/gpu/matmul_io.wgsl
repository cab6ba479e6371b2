// What both matmul kernels share: their constants, parameters and bindings (see matmul.wgsl for the
// EPILOGUE, HEAD and CAP constants).
override EPILOGUE: u32 = 0u;
override HEAD: u32 = 0u;
override CAP: f32 = 0.0;

// tanh written out, as WGSL's may overflow to NaN for large inputs.
fn tanh_of(v: f32) -> f32 {
    let e = exp(2.0 * clamp(v, -15.0, 15.0));
    return (e - 1.0) / (e + 1.0);
}

struct Params {
    rows: u32,
    cols: u32,
    y_stride: u32,
    y_offset: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

