//! A trained sparse autoencoder as a file: a magic line, the sizes (four little-endian u32: d, width,
//! k, layer), the scale (f32), then the mean, the encoder's weights and biases and the decoder's weights
//! and bias as little-endian f32. A teacher prepares one before class and opens it in the page.

use super::{Sae, SaeConfig};

const MAGIC: &[u8; 8] = b"GBSAE\x001\n";

/// The autoencoder as bytes.
pub fn save(sae: &Sae) -> Vec<u8> {
    let c = sae.config;
    let mut out = MAGIC.to_vec();
    for n in [c.d, c.width, c.k, c.layer] {
        out.extend((n as u32).to_le_bytes());
    }
    out.extend(sae.scale.to_le_bytes());
    for part in [&sae.mean, &sae.w_enc, &sae.b_enc, &sae.w_dec, &sae.b_dec] {
        for x in part.iter() {
            out.extend(x.to_le_bytes());
        }
    }
    out
}

/// Reads [`save`]'s bytes back; a file of another kind, cut short, too long or with impossible sizes or
/// values is refused with the reason.
pub fn load(bytes: &[u8]) -> Result<Sae, String> {
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or("not a Glassbox sparse-autoencoder file")?;
    let word = |i: usize| -> Result<[u8; 4], String> {
        rest.get(i * 4..i * 4 + 4).map(|w| [w[0], w[1], w[2], w[3]]).ok_or_else(|| "the file is cut short".to_owned())
    };
    let size = |i: usize| word(i).map(|w| u32::from_le_bytes(w) as usize);
    let config = SaeConfig { d: size(0)?, width: size(1)?, k: size(2)?, layer: size(3)? };
    let scale = f32::from_le_bytes(word(4)?);
    let SaeConfig { d, width, k, .. } = config;
    if d == 0 || width == 0 || k == 0 || k > width || d > 1 << 16 || width > 1 << 20 {
        return Err(format!("impossible sizes: width {width}, d {d}, k {k}"));
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err("the file's scale is not a positive number".into());
    }
    let counts = [d, width * d, width, width * d, d];
    let expected = 20 + 4 * counts.iter().sum::<usize>();
    if rest.len() != expected {
        return Err(format!(
            "the file holds {} bytes after its magic line where its sizes need {expected}",
            rest.len()
        ));
    }
    let mut values = rest[20..].chunks_exact(4).map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    let mut take = |n: usize| -> Vec<f32> { values.by_ref().take(n).collect() };
    let sae = Sae {
        config,
        scale,
        mean: take(d),
        w_enc: take(width * d),
        b_enc: take(width),
        w_dec: take(width * d),
        b_dec: take(d),
    };
    let finite =
        [&sae.mean, &sae.w_enc, &sae.b_enc, &sae.w_dec, &sae.b_dec].iter().all(|p| p.iter().all(|x| x.is_finite()));
    if !finite {
        return Err("the file holds values that are not numbers".into());
    }
    Ok(sae)
}
