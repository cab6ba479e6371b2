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

// Stores one output: y = total, y += total (EPILOGUE 1) or a soft-capped total (CAP > 0).
fn store(at: u32, total: f32) {
    if EPILOGUE == 1u {
        y[at] += total;
    } else if CAP > 0.0 {
        y[at] = CAP * tanh_of(total / CAP);
    } else {
        y[at] = total;
    }
}

// Stores act(gate) · up (EPILOGUE 2: SiLU; 3: GELU).
fn store_pair(at: u32, g: f32, u: f32) {
    var act = g / (1.0 + exp(-g)); // SiLU
    if EPILOGUE == 3u {
        // GELU, tanh form (Gemma's GeGLU).
        act = 0.5 * g * (1.0 + tanh_of(0.7978846 * (g + 0.044715 * g * g * g)));
    }
    y[at] = act * u;
}
