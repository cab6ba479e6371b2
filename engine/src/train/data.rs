//! The lab's data: simple grayscale faces drawn from known factors (seeded, reproducible), and
//! scikit-learn's 8 × 8 handwritten digits (shipped in `engine/data/`, BSD-3-Clause).

use serde::{Deserialize, Serialize};

use super::nn::Rng;

/// Images with a label each, pixels in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Width and height.
    pub side: usize,
    /// `(n, side · side)`, row by row.
    pub images: Vec<f32>,
    /// A class per image (the digit; for faces, the smile factor in tenths).
    pub labels: Vec<u8>,
    /// For faces, the factors each was drawn from.
    pub factors: Vec<FaceFactors>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn dim(&self) -> usize {
        self.side * self.side
    }

    /// Image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.images[i * self.dim()..(i + 1) * self.dim()]
    }

    /// The last `n` images are held out: `(training, held_out)` ranges of indices.
    pub fn split(&self, held_out: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let cut = self.len().saturating_sub(held_out);
        (0..cut, cut..self.len())
    }

    /// The images at `indices`, concatenated.
    pub fn batch(&self, indices: impl IntoIterator<Item = usize>) -> Vec<f32> {
        indices.into_iter().flat_map(|i| self.image(i).iter().copied()).collect()
    }
}

const DIGITS: &[u8] = include_bytes!("../../data/digits.bin");

/// The 1,797 handwritten digits, 8 × 8, intensities 0..=16 scaled to [0, 1].
pub fn digits() -> Dataset {
    let n = u32::from_le_bytes([DIGITS[8], DIGITS[9], DIGITS[10], DIGITS[11]]) as usize;
    let records = DIGITS[12..].chunks_exact(65).take(n);
    let mut images = Vec::with_capacity(n * 64);
    let mut labels = Vec::with_capacity(n);
    for r in records {
        images.extend(r[..64].iter().map(|&v| v as f32 / 16.0));
        labels.push(r[64]);
    }
    Dataset { side: 8, images, labels, factors: Vec::new() }
}

/// What a face is made of, each in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceFactors {
    /// Narrow to wide head.
    pub width: f32,
    /// Short to long head.
    pub length: f32,
    /// Small to large eyes.
    pub eye_size: f32,
    /// Close-set to wide-set eyes.
    pub eye_spacing: f32,
    /// Eyebrows frowning (inner ends down) to surprised (inner ends up).
    pub brows: f32,
    /// Short to long nose.
    pub nose: f32,
    /// Sad to smiling mouth.
    pub smile: f32,
    /// Bald to a tall head of hair.
    pub hair: f32,
}

impl FaceFactors {
    /// The factors in a fixed order, for labels and sliders.
    pub fn as_array(&self) -> [f32; 8] {
        [self.width, self.length, self.eye_size, self.eye_spacing, self.brows, self.nose, self.smile, self.hair]
    }

    /// The factors from [`Self::as_array`]'s order.
    pub fn from_array(v: [f32; 8]) -> Self {
        let [width, length, eye_size, eye_spacing, brows, nose, smile, hair] = v;
        Self { width, length, eye_size, eye_spacing, brows, nose, smile, hair }
    }

    /// Uniformly random factors.
    pub fn random(rng: &mut Rng) -> Self {
        let mut u = || rng.uniform();
        Self { width: u(), length: u(), eye_size: u(), eye_spacing: u(), brows: u(), nose: u(), smile: u(), hair: u() }
    }
}

/// Names of the face factors, in [`FaceFactors::as_array`] order.
pub const FACE_FACTORS: [&str; 8] = ["width", "length", "eye size", "eye spacing", "eyebrows", "nose", "smile", "hair"];

/// Side of a face image.
pub const FACE_SIDE: usize = 32;

/// How much of a pixel a shape at signed distance `d` (pixels, negative inside) covers.
fn cover(d: f32) -> f32 {
    (0.5 - d).clamp(0.0, 1.0)
}

/// Distance from `p` to the segment `a`–`b`.
fn segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (abx, aby, apx, apy) = (b.0 - a.0, b.1 - a.1, p.0 - a.0, p.1 - a.1);
    let t = ((apx * abx + apy * aby) / (abx * abx + aby * aby).max(1e-6)).clamp(0.0, 1.0);
    ((apx - abx * t).powi(2) + (apy - aby * t).powi(2)).sqrt()
}

/// Draws one 32 × 32 face: hair 0.35, skin 0.8, features dark, background 0.
pub fn draw_face(f: &FaceFactors) -> Vec<f32> {
    let s = FACE_SIDE as f32;
    let (cx, cy) = (s / 2.0, s / 2.0 + 1.5);
    let (rx, ry) = (8.0 + 4.0 * f.width, 10.0 + 3.5 * f.length);
    let eye_y = cy - 0.15 * ry - 1.0;
    let eye_dx = 3.0 + 2.5 * f.eye_spacing;
    let eye_r = 1.0 + 1.3 * f.eye_size;
    let brow_y = eye_y - eye_r - 1.8;
    let tilt = (f.brows - 0.5) * 3.0;
    let nose_top = eye_y + 1.5;
    let nose_len = 2.0 + 4.0 * f.nose;
    let mouth_y = cy + 0.45 * ry;
    let mouth_w = 3.0 + 0.25 * rx;
    let curve = (f.smile - 0.5) * 0.12;
    let hair_top = cy - ry - 0.5 - 5.0 * f.hair;
    let mut img = vec![0.0f32; FACE_SIDE * FACE_SIDE];
    for (i, px) in img.iter_mut().enumerate() {
        let p = ((i % FACE_SIDE) as f32 + 0.5, (i / FACE_SIDE) as f32 + 0.5);
        let (dx, dy) = (p.0 - cx, p.1 - cy);
        // Signed distance to the head ellipse, approximately in pixels.
        let k = ((dx / rx).powi(2) + (dy / ry).powi(2)).sqrt();
        let head = (k - 1.0) * rx.min(ry);
        let mut v = 0.0;
        // Hair: a cap of a taller ellipse above the middle of the head.
        if f.hair > 0.05 {
            let hry = cy - hair_top;
            let hk = ((dx / (rx + 1.0)).powi(2) + (dy / hry).powi(2)).sqrt();
            let hair = (hk - 1.0) * (rx + 1.0).min(hry);
            let above = cover(p.1 - (cy - 0.35 * ry));
            v = 0.35 * cover(hair) * above;
        }
        let skin = cover(head);
        v = v * (1.0 - skin) + 0.8 * skin;
        let mut ink = 0.0f32;
        for side in [-1.0f32, 1.0] {
            let eye = ((p.0 - (cx + side * eye_dx)).powi(2) + (p.1 - eye_y).powi(2)).sqrt() - eye_r;
            ink = ink.max(cover(eye));
            let inner = (cx + side * 1.5, brow_y - tilt);
            let outer = (cx + side * (eye_dx + eye_r + 1.0), brow_y + tilt * 0.3);
            ink = ink.max(cover(segment(p, inner, outer) - 0.6));
        }
        ink = ink.max(0.7 * cover(segment(p, (cx, nose_top), (cx + 0.8, nose_top + nose_len)) - 0.5));
        if (p.0 - cx).abs() <= mouth_w {
            // A smile's middle sits lower (larger y) than its corners.
            let mouth_line = mouth_y + curve * (mouth_w * mouth_w - (p.0 - cx).powi(2));
            ink = ink.max(cover((p.1 - mouth_line).abs() - 0.7));
        }
        *px = v * (1.0 - ink * skin);
    }
    img
}

/// `n` faces with random factors; the same seed gives the same faces.
pub fn faces(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let factors: Vec<FaceFactors> = (0..n).map(|_| FaceFactors::random(&mut rng)).collect();
    let images = factors.iter().flat_map(draw_face).collect();
    let labels = factors.iter().map(|f| (f.smile * 9.999) as u8).collect();
    Dataset { side: FACE_SIDE, images, labels, factors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_the_1797_images_of_scikit_learn_in_0_1() {
        let d = digits();
        assert_eq!((d.len(), d.side), (1797, 8));
        assert!(d.images.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // scikit-learn's first image is a 0: its top-left pixels 0, 0, 5, 13, 9, 1 (of 16).
        assert_eq!(d.labels[..10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(d.image(0)[..6], [0.0, 0.0, 5.0 / 16.0, 13.0 / 16.0, 9.0 / 16.0, 1.0 / 16.0]);
        let per_class: Vec<usize> = (0..10).map(|c| d.labels.iter().filter(|&&l| l == c).count()).collect();
        assert!(per_class.iter().all(|&n| (174..=183).contains(&n)), "{per_class:?}");
    }

    #[test]
    fn faces_are_the_same_for_the_same_seed_and_differ_for_another() {
        let (a, b, c) = (faces(20, 3), faces(20, 3), faces(20, 4));
        assert_eq!(a, b);
        assert_ne!(a.images, c.images);
        assert!(a.images.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }

    #[test]
    fn each_factor_changes_the_picture() {
        let image = draw_face(&FaceFactors::from_array([0.5; 8]));
        for (i, name) in FACE_FACTORS.iter().enumerate() {
            let mut values = [0.5; 8];
            values[i] = 1.0;
            let changed = draw_face(&FaceFactors::from_array(values));
            let moved = image.iter().zip(&changed).filter(|(a, b)| (*a - *b).abs() > 0.1).count();
            assert!(moved >= 3, "{name} moves only {moved} pixels");
        }
    }

    #[test]
    fn a_smile_curves_the_mouth_up_and_a_frown_down() {
        // Middle factors, no hair, a full smile.
        let mut f = FaceFactors::from_array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 0.0]);
        let smile = draw_face(&f);
        f.smile = 0.0;
        let frown = draw_face(&f);
        // The row where the mouth is darkest, in a column, between the nose's tip and the chin.
        let darkest_row = |img: &[f32], x: usize| {
            (19..28).min_by(|&a, &b| img[a * FACE_SIDE + x].total_cmp(&img[b * FACE_SIDE + x])).unwrap_or(0)
        };
        let (mid, corner) = (FACE_SIDE / 2 - 1, FACE_SIDE / 2 + 4);
        assert!(darkest_row(&smile, mid) > darkest_row(&smile, corner), "a smile's middle is below its corners");
        assert!(darkest_row(&frown, mid) < darkest_row(&frown, corner), "a frown's middle is above its corners");
    }
}
