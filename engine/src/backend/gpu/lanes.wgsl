// The 8 lanes of a row add up their partial sums through workgroup memory (any adapter).
var<workgroup> partial: array<f32, 512>; // ROWS × LANES × TILE

// Lane `lane` of row `row_in` returns the row's total for token `lane`.
fn lane_total(acc: array<f32, 8>, row_in: u32, lane: u32) -> f32 {
    for (var t = 0u; t < TILE; t++) {
        partial[(row_in * LANES + lane) * TILE + t] = acc[t];
    }
    workgroupBarrier();
    var total = 0.0;
    for (var l = 0u; l < LANES; l++) {
        total += partial[(row_in * LANES + l) * TILE + lane];
    }
    return total;
}
