// The 8 lanes of a row add up their partial sums with subgroup shuffles (a butterfly over lanes 4, 2,
// 1 apart), no workgroup memory and no barrier. Used only when the adapter's subgroups hold at least 8
// invocations, so a row's 8 consecutive lanes always share one.
fn lane_total(acc: array<f32, 8>, row_in: u32, lane: u32) -> f32 {
    var total = 0.0;
    for (var t = 0u; t < TILE; t++) {
        var v = acc[t];
        v += subgroupShuffleXor(v, 4u);
        v += subgroupShuffleXor(v, 2u);
        v += subgroupShuffleXor(v, 1u);
        if t == lane {
            total = v;
        }
    }
    return total;
}
