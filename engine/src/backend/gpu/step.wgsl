// Values that change per submitted chunk, written once before each submit and read by every kernel.
struct Step {
    start: u32,        // position of the chunk's first token
    n: u32,            // tokens in the chunk
    head_row0: u32,    // first row of the chunk the output head reads
    head_n: u32,       // rows the output head reads
    trace: u32,        // 1: attention writes its probabilities
    trace_first: u32,  // position of the first traced query
    trace_rows: u32,   // traced queries in the whole forward pass
    trace_keys: u32,   // keys per traced row (positions once the pass is done)
}

@group(0) @binding(0) var<uniform> step: Step;
