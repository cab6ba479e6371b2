// Weight blocks as the GPU stores them (repacked once at load, see pack.rs): 32 values per block, read
// from u32 words and dequantized in registers.
//   FORMAT 0, 4-bit (Q4_0 and Q4_1): word 0 = f16 (d, m); words 1..4 = 16 bytes of nibbles.
//            value j (j < 16) = (byte j & 15)·d + m; value 16 + j = (byte j >> 4)·d + m.
//   FORMAT 1, 8-bit (Q8_0): word 0 = f16 d (low half); words 1..8 = 32 signed bytes; value = q·d.
//   FORMAT 2, f32: 32 words.
//   FORMAT 3, groups (every other block format): words 0..3 = f32 (d0, m0, d1, m1); words 4..11 = 32
//            signed bytes; value j = q·d0 + m0 for j < 16, q·d1 + m1 after.
override FORMAT: u32 = 0u;

struct Block {
    q: array<vec4<f32>, 8>, // values 4i..4i+3 before scaling
    d: f32,
    m: f32,
}

fn block_words() -> u32 {
    if FORMAT == 0u {
        return 5u;
    }
    if FORMAT == 1u {
        return 9u;
    }
    if FORMAT == 3u {
        return 12u;
    }
    return 32u;
}

fn nibbles(word: u32) -> vec4<f32> {
    return vec4<f32>(f32(word & 15u), f32((word >> 8u) & 15u), f32((word >> 16u) & 15u), f32((word >> 24u) & 15u));
}

fn signed_bytes(word: u32) -> vec4<f32> {
    let s = bitcast<i32>(word);
    return vec4<f32>(
        f32(extractBits(s, 0u, 8u)),
        f32(extractBits(s, 8u, 8u)),
        f32(extractBits(s, 16u, 8u)),
        f32(extractBits(s, 24u, 8u)),
    );
}

// Block `b` (counted over the whole buffer) of `w`.
fn load_block(b: u32) -> Block {
    var out: Block;
    let base = b * block_words();
    out.d = 1.0;
    out.m = 0.0;
    if FORMAT == 0u {
        let dm = unpack2x16float(w[base]);
        out.d = dm.x;
        out.m = dm.y;
        for (var i = 0u; i < 4u; i++) {
            let word = w[base + 1u + i];
            out.q[i] = nibbles(word);
            out.q[i + 4u] = nibbles(word >> 4u);
        }
    } else if FORMAT == 1u {
        out.d = unpack2x16float(w[base]).x;
        for (var i = 0u; i < 8u; i++) {
            out.q[i] = signed_bytes(w[base + 1u + i]);
        }
    } else if FORMAT == 3u {
        // Two scales per block: the values come out scaled, with d = 1 and m = 0.
        let lo = vec2<f32>(bitcast<f32>(w[base]), bitcast<f32>(w[base + 1u]));
        let hi = vec2<f32>(bitcast<f32>(w[base + 2u]), bitcast<f32>(w[base + 3u]));
        for (var i = 0u; i < 8u; i++) {
            let dm = select(hi, lo, i < 4u);
            out.q[i] = signed_bytes(w[base + 4u + i]) * dm.x + dm.y;
        }
    } else {
        for (var i = 0u; i < 8u; i++) {
            let at = base + 4u * i;
            out.q[i] = vec4<f32>(bitcast<f32>(w[at]), bitcast<f32>(w[at + 1u]), bitcast<f32>(w[at + 2u]), bitcast<f32>(w[at + 3u]));
        }
    }
    return out;
}
