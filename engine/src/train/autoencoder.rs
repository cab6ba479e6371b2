//! An MLP autoencoder, plain or variational, with its backward pass written out:
//!
//! ```text
//! x (batch, dim) ─ enc1 ─ ReLU ─ h1 (batch, hidden) ─ enc2 ─ code (batch, latent)            [plain]
//!                                                          └ (μ, log σ²) → z = μ + σ·ε       [variational]
//! z (batch, latent) ─ dec1 ─ ReLU ─ h2 (batch, hidden) ─ dec2 ─ logits (batch, dim) ─ sigmoid ─ x̂
//! loss = Σ BCE(x̂, x) / batch  (+ β · KL(N(μ, σ²) ‖ N(0, 1)) / batch for the VAE)
//! ```
//!
//! Pixels are in [0, 1]; the reconstruction is a probability per pixel.

use serde::{Deserialize, Serialize};

use super::nn::{bce_with_logits, relu, relu_backward, Adam, Linear, LinearGrad, Rng};

/// Which autoencoder.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Kind {
    /// The code is a point.
    Plain,
    /// The code is a Gaussian; the KL term, weighted by `beta`, pulls it toward N(0, 1).
    Variational {
        /// Weight of the KL term (1: the textbook VAE).
        beta: f32,
    },
}

/// Losses per example, averaged over a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Losses {
    /// Reconstruction: binary cross-entropy summed over pixels.
    pub recon: f32,
    /// KL divergence of the code from N(0, 1) (0 for a plain autoencoder).
    pub kl: f32,
}

/// Everything the backward pass needs from the forward pass.
struct Tape {
    h1: Vec<f32>,
    code: Vec<f32>,
    z: Vec<f32>,
    h2: Vec<f32>,
    logits: Vec<f32>,
}

/// Parameter gradients, one per layer.
#[derive(Debug, Clone)]
pub struct Grads {
    /// Encoder, first layer.
    pub enc1: LinearGrad,
    /// Encoder, to the code.
    pub enc2: LinearGrad,
    /// Decoder, first layer.
    pub dec1: LinearGrad,
    /// Decoder, to the pixels.
    pub dec2: LinearGrad,
}

/// The model and its optimiser.
#[derive(Debug, Clone)]
pub struct Autoencoder {
    /// Pixels per example.
    pub dim: usize,
    /// Hidden units on each side.
    pub hidden: usize,
    /// Code size.
    pub latent: usize,
    /// Plain or variational.
    pub kind: Kind,
    /// `dim → hidden`.
    pub enc1: Linear,
    /// `hidden → latent` (plain) or `hidden → 2·latent` (μ then log σ²).
    pub enc2: Linear,
    /// `latent → hidden`.
    pub dec1: Linear,
    /// `hidden → dim`.
    pub dec2: Linear,
    adam: Adam,
}

/// Log-variances are kept in this range, so σ neither vanishes nor explodes early in training.
const LOGVAR_LIMIT: f32 = 8.0;

impl Autoencoder {
    /// A fresh model; the same seed gives the same weights.
    pub fn new(dim: usize, hidden: usize, latent: usize, kind: Kind, learning_rate: f32, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let code = match kind {
            Kind::Plain => latent,
            Kind::Variational { .. } => 2 * latent,
        };
        let enc1 = Linear::new(dim, hidden, &mut rng);
        let enc2 = Linear::new(hidden, code, &mut rng);
        let dec1 = Linear::new(latent, hidden, &mut rng);
        let dec2 = Linear::new(hidden, dim, &mut rng);
        let sizes: Vec<usize> = [&enc1, &enc2, &dec1, &dec2].iter().flat_map(|l| [l.w.len(), l.b.len()]).collect();
        Self { dim, hidden, latent, kind, enc1, enc2, dec1, dec2, adam: Adam::new(learning_rate, &sizes) }
    }

    /// Adam's step size.
    pub fn learning_rate(&self) -> f32 {
        self.adam.lr
    }

    /// Changes β (a VAE only).
    pub fn set_beta(&mut self, beta: f32) {
        if let Kind::Variational { beta: b } = &mut self.kind {
            *b = beta;
        }
    }

    fn beta(&self) -> f32 {
        match self.kind {
            Kind::Plain => 0.0,
            Kind::Variational { beta } => beta,
        }
    }

    /// The encoder's output for `x: (batch, dim)`: the code (plain) or μ and log σ² side by side.
    fn encoder(&self, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let mut h1 = self.enc1.forward(x);
        relu(&mut h1);
        let mut code = self.enc2.forward(&h1);
        if let Kind::Variational { .. } = self.kind {
            for row in code.chunks_exact_mut(2 * self.latent) {
                row[self.latent..].iter_mut().for_each(|lv| *lv = lv.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT));
            }
        }
        (h1, code)
    }

    /// The code of each example: `(batch, latent)` (for a VAE, the mean μ).
    pub fn encode(&self, x: &[f32]) -> Vec<f32> {
        let (_, code) = self.encoder(x);
        match self.kind {
            Kind::Plain => code,
            Kind::Variational { .. } => {
                code.chunks_exact(2 * self.latent).flat_map(|r| r[..self.latent].to_vec()).collect()
            }
        }
    }

    fn decoder_logits(&self, z: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let mut h2 = self.dec1.forward(z);
        relu(&mut h2);
        let logits = self.dec2.forward(&h2);
        (h2, logits)
    }

    /// Pixels for codes `z: (batch, latent)`.
    pub fn decode(&self, z: &[f32]) -> Vec<f32> {
        self.decoder_logits(z).1.into_iter().map(super::nn::sigmoid).collect()
    }

    /// `decode(encode(x))`.
    pub fn reconstruct(&self, x: &[f32]) -> Vec<f32> {
        self.decode(&self.encode(x))
    }

    /// The forward pass; `noise` (`(batch, latent)` standard normals) draws the VAE's codes.
    fn forward(&self, x: &[f32], noise: &[f32]) -> (Losses, Tape) {
        let batch = x.len() / self.dim;
        let (h1, code) = self.encoder(x);
        let (z, kl) = match self.kind {
            Kind::Plain => (code.clone(), 0.0),
            Kind::Variational { .. } => {
                let mut z = Vec::with_capacity(batch * self.latent);
                let mut kl = 0.0f32;
                for (row, eps) in code.chunks_exact(2 * self.latent).zip(noise.chunks_exact(self.latent)) {
                    let (mu, logvar) = row.split_at(self.latent);
                    for ((&m, &lv), &e) in mu.iter().zip(logvar).zip(eps) {
                        z.push(m + (0.5 * lv).exp() * e);
                        kl += -0.5 * (1.0 + lv - m * m - lv.exp());
                    }
                }
                (z, kl / batch as f32)
            }
        };
        let (h2, logits) = self.decoder_logits(&z);
        let (recon, _) = bce_with_logits(&logits, x, 0.0);
        (Losses { recon: recon / batch as f32, kl }, Tape { h1, code, z, h2, logits })
    }

    /// Losses on `x` (the VAE draws its codes with `noise`).
    pub fn losses(&self, x: &[f32], noise: &[f32]) -> Losses {
        self.forward(x, noise).0
    }

    /// Losses and every parameter's gradient of `recon + β·kl`.
    pub fn gradients(&self, x: &[f32], noise: &[f32]) -> (Losses, Grads) {
        let batch = x.len() / self.dim;
        let (losses, tape) = self.forward(x, noise);
        let scale = 1.0 / batch as f32;
        let (_, dlogits) = bce_with_logits(&tape.logits, x, scale);
        let (dec2, mut dh2) = self.dec2.backward(&tape.h2, &dlogits);
        relu_backward(&tape.h2, &mut dh2);
        let (dec1, dz) = self.dec1.backward(&tape.z, &dh2);
        let dcode = match self.kind {
            Kind::Plain => dz,
            Kind::Variational { beta } => {
                let l = self.latent;
                let mut dcode = vec![0.0; tape.code.len()];
                for (b, (row, eps)) in tape.code.chunks_exact(2 * l).zip(noise.chunks_exact(l)).enumerate() {
                    for j in 0..l {
                        let (m, lv) = (row[j], row[l + j]);
                        let dzj = dz[b * l + j];
                        dcode[b * 2 * l + j] = dzj + beta * m * scale;
                        // A log-variance held at its limit gets no gradient (the clamp is flat there).
                        dcode[b * 2 * l + l + j] = if lv.abs() >= LOGVAR_LIMIT {
                            0.0
                        } else {
                            dzj * eps[j] * 0.5 * (0.5 * lv).exp() + beta * 0.5 * (lv.exp() - 1.0) * scale
                        };
                    }
                }
                dcode
            }
        };
        let (enc2, mut dh1) = self.enc2.backward(&tape.h1, &dcode);
        relu_backward(&tape.h1, &mut dh1);
        let enc1 = self.enc1.parameter_gradients(x, &dh1);
        (losses, Grads { enc1, enc2, dec1, dec2 })
    }

    /// One Adam step on the batch `x`; returns its losses (before the step).
    pub fn train_step(&mut self, x: &[f32], rng: &mut Rng) -> Losses {
        let batch = x.len() / self.dim;
        let noise: Vec<f32> = match self.kind {
            Kind::Plain => Vec::new(),
            Kind::Variational { .. } => (0..batch * self.latent).map(|_| rng.normal()).collect(),
        };
        let (losses, g) = self.gradients(x, &noise);
        self.apply(&g);
        losses
    }

    /// One Adam update with these gradients.
    pub fn apply(&mut self, g: &Grads) {
        let grads: [&[f32]; 8] =
            [&g.enc1.w, &g.enc1.b, &g.enc2.w, &g.enc2.b, &g.dec1.w, &g.dec1.b, &g.dec2.w, &g.dec2.b];
        let params: Vec<&mut [f32]> = [&mut self.enc1, &mut self.enc2, &mut self.dec1, &mut self.dec2]
            .into_iter()
            .flat_map(|l| l.params_mut())
            .collect();
        self.adam.step(params, &grads);
    }

    /// The total loss the optimiser lowers: `recon + β·kl`.
    pub fn objective(&self, losses: Losses) -> f32 {
        losses.recon + self.beta() * losses.kl
    }
}

/// The largest difference between two sets of gradients of the same model, relative to the largest
/// gradient of `a` in each layer: how far one backward pass (the GPU's) strays from another (the CPU's).
pub fn largest_relative_gap(a: &Grads, b: &Grads) -> f32 {
    let pairs = [(&a.enc1, &b.enc1), (&a.enc2, &b.enc2), (&a.dec1, &b.dec1), (&a.dec2, &b.dec2)];
    let mut worst = 0.0f32;
    for (x, y) in pairs {
        if (x.w.len(), x.b.len()) != (y.w.len(), y.b.len()) {
            return f32::INFINITY;
        }
        let scale = x.w.iter().chain(&x.b).fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (p, q) in x.w.iter().chain(&x.b).zip(y.w.iter().chain(&y.b)) {
            worst = worst.max((p - q).abs() / scale);
        }
    }
    worst
}

/// Mean squared error per pixel between two equally long image batches.
pub fn mse(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>() / a.len().max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: f32 = 1e-2;
    const REL_TOLERANCE: f32 = 3e-2;

    /// Picks one layer of a model.
    type LayerOf = fn(&mut Autoencoder) -> &mut Linear;

    /// Every parameter of every layer against central differences of the objective.
    fn gradient_check(kind: Kind) {
        let (dim, hidden, latent, batch) = (6, 5, 2, 3);
        let model = Autoencoder::new(dim, hidden, latent, kind, 1e-3, 11);
        let mut rng = Rng::new(5);
        let x: Vec<f32> = (0..batch * dim).map(|_| rng.uniform()).collect();
        let noise: Vec<f32> = (0..batch * latent).map(|_| rng.normal()).collect();
        let (_, g) = model.gradients(&x, &noise);
        let objective = |m: &Autoencoder| m.objective(m.losses(&x, &noise));
        let layers: [(&str, LayerOf, &LinearGrad); 4] = [
            ("enc1", |m| &mut m.enc1, &g.enc1),
            ("enc2", |m| &mut m.enc2, &g.enc2),
            ("dec1", |m| &mut m.dec1, &g.dec1),
            ("dec2", |m| &mut m.dec2, &g.dec2),
        ];
        let mut checked = 0;
        for (name, layer, grad) in layers {
            for (which, analytic) in [("w", &grad.w), ("b", &grad.b)] {
                for (i, &a) in analytic.iter().enumerate() {
                    let nudge = |delta: f32| {
                        let mut m = model.clone();
                        let l = layer(&mut m);
                        if which == "w" {
                            l.w[i] += delta
                        } else {
                            l.b[i] += delta
                        }
                        objective(&m)
                    };
                    let numeric = (nudge(STEP) - nudge(-STEP)) / (2.0 * STEP);
                    let ok = (numeric - a).abs() <= REL_TOLERANCE * numeric.abs().max(a.abs()).max(0.05);
                    assert!(ok, "{kind:?} {name}.{which}[{i}]: numeric {numeric}, analytic {a}");
                    checked += 1;
                }
            }
        }
        let total: usize =
            [&model.enc1, &model.enc2, &model.dec1, &model.dec2].iter().map(|l| l.w.len() + l.b.len()).sum();
        assert_eq!(checked, total, "every parameter checked");
    }

    #[test]
    fn plain_autoencoder_gradients_match_finite_differences() {
        gradient_check(Kind::Plain);
    }

    #[test]
    fn vae_gradients_through_the_reparameterisation_and_kl_match_finite_differences() {
        gradient_check(Kind::Variational { beta: 0.7 });
    }

    #[test]
    fn the_kl_term_is_the_closed_form_and_zero_at_the_prior() {
        let mut model = Autoencoder::new(4, 3, 2, Kind::Variational { beta: 1.0 }, 1e-3, 1);
        // Make the encoder output a fixed (μ, log σ²) whatever the input: zero weights, chosen biases.
        model.enc2.w.fill(0.0);
        let (mu, logvar) = ([0.5f32, -1.0], [0.3f32, -0.7]);
        model.enc2.b = vec![mu[0], mu[1], logvar[0], logvar[1]];
        let x = vec![0.5; 2 * 4];
        let kl = model.losses(&x, &[0.0; 4]).kl;
        let expected: f32 = (0..2).map(|j| -0.5 * (1.0 + logvar[j] - mu[j] * mu[j] - logvar[j].exp())).sum();
        assert!((kl - expected).abs() < 1e-6, "{kl} vs {expected}");
        model.enc2.b = vec![0.0; 4];
        assert!(model.losses(&x, &[0.0; 4]).kl.abs() < 1e-7);
    }

    #[test]
    fn vae_codes_are_drawn_with_the_encoders_mean_and_variance() {
        let mut model = Autoencoder::new(4, 3, 1, Kind::Variational { beta: 1.0 }, 1e-3, 1);
        model.enc2.w.fill(0.0);
        model.enc2.b = vec![1.5, (0.25f32).ln()]; // μ = 1.5, σ = 0.5
        let mut rng = Rng::new(9);
        let n = 20_000;
        let noise: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
        let x = vec![0.3; n * 4];
        let (_, tape) = model.forward(&x, &noise);
        let mean = tape.z.iter().sum::<f32>() / n as f32;
        let var = tape.z.iter().map(|z| (z - mean) * (z - mean)).sum::<f32>() / n as f32;
        // Standard errors: 0.0035 for the mean, 0.0025 for the variance.
        assert!((mean - 1.5).abs() < 0.02 && (var - 0.25).abs() < 0.015, "mean {mean}, var {var}");
        assert_eq!(model.encode(&x[..4]), vec![1.5], "encode gives the mean, not a draw");
    }
}
