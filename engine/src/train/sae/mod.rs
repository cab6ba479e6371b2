//! A sparse autoencoder on the language model's hidden states (the tool interpretability research
//! reads a model's activations with): each vector of the residual stream at one layer is squeezed into a
//! code of `width` features of which only the `k` strongest stay on, then rebuilt from those features'
//! directions.
//!
//! ```text
//! u = (x − mean) · scale                                   the hidden state, centred, E‖u‖² ≈ d
//! z = top-k(ReLU(W_enc (u − b_dec) + b_enc))               (width) features, at most k non-zero
//! û = W_decᵀ z + b_dec                                     every row of W_dec a unit direction
//! loss = Σ ‖û − u‖² / (batch · d)                          ≈ the fraction of variance unexplained
//! ```
//!
//! The top-k code (as in Gao et al., *Scaling and evaluating sparse autoencoders*, 2024) fixes how many
//! features speak for each vector, so no sparsity penalty has to be tuned by hand. Plain f32, the same
//! code natively and in the page's worker; the encoder's products, Adam's update and the decoder's
//! renormalisation are shared by the engine's threads, every value computed as on one. `file.rs` writes and reads it.

mod file;
mod gpu;

pub use file::{load, save};
pub use gpu::GpuSaeTrainer;

use serde::{Deserialize, Serialize};

use super::nn::{axpy, dot, Adam, Rng};

/// A feature that has not fired in this many training vectors counts as dead.
pub const DEAD_AFTER: usize = 8192;

/// The autoencoder's sizes, and where in the model it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaeConfig {
    /// The model's width (`n_embd`).
    pub d: usize,
    /// Features in the code.
    pub width: usize,
    /// Features kept on per vector.
    pub k: usize,
    /// The block after which the residual stream is read (0-based).
    pub layer: usize,
}

/// The autoencoder's parameters and the fixed centring of its input.
#[derive(Debug, Clone, PartialEq)]
pub struct Sae {
    /// Sizes.
    pub config: SaeConfig,
    /// The hidden states' mean `(d)`, in the model's units (also the "mean" floor of the squeeze).
    pub mean: Vec<f32>,
    /// Multiplies a centred hidden state so that its mean squared norm is `d`.
    pub scale: f32,
    /// `(width, d)`.
    pub w_enc: Vec<f32>,
    /// `(width)`.
    pub b_enc: Vec<f32>,
    /// `(width, d)`: row `j` is feature `j`'s direction, of unit length.
    pub w_dec: Vec<f32>,
    /// `(d)`.
    pub b_dec: Vec<f32>,
}

/// One vector's code: `(feature, activation)`, strongest first, activations > 0.
pub type Code = Vec<(u32, f32)>;

/// The parameters' gradients, same shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct SaeGrads {
    /// `(width, d)`.
    pub w_enc: Vec<f32>,
    /// `(width)`.
    pub b_enc: Vec<f32>,
    /// `(width, d)`.
    pub w_dec: Vec<f32>,
    /// `(d)`.
    pub b_dec: Vec<f32>,
}

impl Sae {
    /// A fresh autoencoder for hidden states `data` `(n, d)`: centring and scale from the data, random
    /// unit decoder directions, the encoder their transpose (the usual start), zero biases.
    pub fn new(config: SaeConfig, data: &[f32], seed: u64) -> Result<Self, String> {
        let SaeConfig { d, width, k, .. } = config;
        if d == 0 || width == 0 || k == 0 || k > width {
            return Err(format!("sizes out of range: width {width}, k {k}"));
        }
        let n = data.len() / d;
        if n == 0 || !data.len().is_multiple_of(d) {
            return Err("no hidden states to learn from".into());
        }
        let mut mean = vec![0.0f64; d];
        for row in data.chunks_exact(d) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += x as f64 / n as f64;
            }
        }
        let spread: f64 = data
            .chunks_exact(d)
            .map(|row| row.iter().zip(&mean).map(|(&x, m)| (x as f64 - m).powi(2)).sum::<f64>())
            .sum::<f64>()
            / n as f64;
        let scale = if spread > 0.0 { (d as f64 / spread).sqrt() as f32 } else { 1.0 };
        let mut rng = Rng::new(seed);
        let mut w_dec: Vec<f32> = (0..width * d).map(|_| rng.normal()).collect();
        for row in w_dec.chunks_exact_mut(d) {
            normalize(row);
        }
        Ok(Self {
            config,
            mean: mean.iter().map(|&m| m as f32).collect(),
            scale,
            w_enc: w_dec.clone(),
            b_enc: vec![0.0; width],
            w_dec,
            b_dec: vec![0.0; d],
        })
    }

    /// A hidden state `x` `(d)` in the autoencoder's units.
    pub fn to_units(&self, x: &[f32]) -> Vec<f32> {
        x.iter().zip(&self.mean).map(|(&x, m)| (x - m) * self.scale).collect()
    }

    /// A vector `u` in the autoencoder's units back in the model's.
    pub fn from_units(&self, u: &[f32]) -> Vec<f32> {
        u.iter().zip(&self.mean).map(|(&u, m)| u / self.scale + m).collect()
    }

    /// The code of `u` (in the autoencoder's units).
    pub fn encode_units(&self, u: &[f32]) -> Code {
        let d = self.config.d;
        let centred: Vec<f32> = u.iter().zip(&self.b_dec).map(|(u, b)| u - b).collect();
        let pre: Vec<f32> =
            self.w_enc.chunks_exact(d).zip(&self.b_enc).map(|(row, b)| dot(row, &centred) + b).collect();
        top_k(&pre, self.config.k)
    }

    /// The codes of the vectors `units` `(n, d)` (in the autoencoder's units), each equal to
    /// [`Self::encode_units`]'s: the encoder's products (most of a step's work) shared by the engine's
    /// threads, a vector per row.
    pub fn encode_batch(&self, units: &[f32]) -> Vec<Code> {
        let SaeConfig { d, width, k, .. } = self.config;
        let n = units.len() / d;
        let mut pre = vec![0.0f32; n * width];
        super::split::by_rows(&mut pre, width, 1, n * width * d, &|first, part| {
            for (i, row) in part.chunks_exact_mut(width).enumerate() {
                let u = &units[(first + i) * d..][..d];
                let centred: Vec<f32> = u.iter().zip(&self.b_dec).map(|(u, b)| u - b).collect();
                for ((p, w), b) in row.iter_mut().zip(self.w_enc.chunks_exact(d)).zip(&self.b_enc) {
                    *p = dot(w, &centred) + b;
                }
            }
        });
        pre.chunks_exact(width).map(|row| top_k(row, k)).collect()
    }

    /// The rebuilt vector (in the autoencoder's units) from a code.
    pub fn decode_units(&self, code: &Code) -> Vec<f32> {
        let d = self.config.d;
        let mut out = self.b_dec.clone();
        for &(j, z) in code {
            axpy(z, &self.w_dec[j as usize * d..][..d], &mut out);
        }
        out
    }

    /// A hidden state through the autoencoder: its code, and its reconstruction in the model's units.
    pub fn reconstruct(&self, x: &[f32]) -> (Code, Vec<f32>) {
        let code = self.encode_units(&self.to_units(x));
        let rebuilt = self.from_units(&self.decode_units(&code));
        (code, rebuilt)
    }

    /// The loss on `batch` (hidden states in the model's units, `(n, d)`) and its exact gradients, with
    /// what the batch says about the code.
    pub fn gradients(&self, batch: &[f32]) -> (BatchStats, SaeGrads) {
        let SaeConfig { d, width, .. } = self.config;
        let mut g = SaeGrads {
            w_enc: vec![0.0; width * d],
            b_enc: vec![0.0; width],
            w_dec: vec![0.0; width * d],
            b_dec: vec![0.0; d],
        };
        let stats = self.accumulate(batch, &mut g, &mut |_| {});
        (stats, g)
    }

    /// Adds the gradients of `batch` into `g` (which must be zero where this batch's features are not)
    /// and calls `fired(j)` for every feature on in some vector.
    fn accumulate(&self, batch: &[f32], g: &mut SaeGrads, fired: &mut dyn FnMut(usize)) -> BatchStats {
        let d = self.config.d;
        let n = batch.len() / d;
        let norm = 2.0 / (n * d) as f32;
        let (mut err, mut total, mut active) = (0.0f64, 0.0f64, 0usize);
        let mut dv = vec![0.0f32; d];
        let units: Vec<f32> = batch.chunks_exact(d).flat_map(|x| self.to_units(x)).collect();
        let codes = self.encode_batch(&units);
        for (u, code) in units.chunks_exact(d).zip(codes) {
            let rebuilt = self.decode_units(&code);
            let du: Vec<f32> = rebuilt.iter().zip(u).map(|(r, u)| (r - u) * norm).collect();
            err += rebuilt.iter().zip(u).map(|(r, u)| ((r - u) as f64).powi(2)).sum::<f64>();
            total += u.iter().map(|&u| (u as f64).powi(2)).sum::<f64>();
            active += code.len();
            axpy(1.0, &du, &mut g.b_dec);
            let centred: Vec<f32> = u.iter().zip(&self.b_dec).map(|(u, b)| u - b).collect();
            dv.fill(0.0);
            for &(j, z) in &code {
                let j = j as usize;
                fired(j);
                let row = j * d..(j + 1) * d;
                axpy(z, &du, &mut g.w_dec[row.clone()]);
                let dz = dot(&du, &self.w_dec[row.clone()]);
                axpy(dz, &centred, &mut g.w_enc[row.clone()]);
                g.b_enc[j] += dz;
                axpy(dz, &self.w_enc[row], &mut dv);
            }
            axpy(-1.0, &dv, &mut g.b_dec);
        }
        BatchStats {
            loss: (err / (n * d) as f64) as f32,
            fvu: if total > 0.0 { (err / total) as f32 } else { 0.0 },
            active: active as f32 / n.max(1) as f32,
        }
    }

    /// The fraction of variance unexplained over `data` `(n, d)`: `Σ ‖û − u‖² / Σ ‖u‖²` with `u` centred
    /// on the training mean.
    pub fn fvu(&self, data: &[f32]) -> f32 {
        let d = self.config.d;
        let (mut err, mut total) = (0.0f64, 0.0f64);
        // In runs of 256 vectors, so that the encoder's outputs stay small.
        for run in data.chunks(256 * d) {
            let units: Vec<f32> = run.chunks_exact(d).flat_map(|x| self.to_units(x)).collect();
            for (u, code) in units.chunks_exact(d).zip(self.encode_batch(&units)) {
                let rebuilt = self.decode_units(&code);
                err += rebuilt.iter().zip(u).map(|(r, u)| ((r - u) as f64).powi(2)).sum::<f64>();
                total += u.iter().map(|&u| (u as f64).powi(2)).sum::<f64>();
            }
        }
        if total > 0.0 {
            (err / total) as f32
        } else {
            0.0
        }
    }

    /// Every parameter, for the optimiser and the file: encoder weights and biases, decoder weights and
    /// bias.
    pub fn params_mut(&mut self) -> [&mut Vec<f32>; 4] {
        [&mut self.w_enc, &mut self.b_enc, &mut self.w_dec, &mut self.b_dec]
    }
}

/// What one batch says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchStats {
    /// `Σ ‖û − u‖² / (n · d)`.
    pub loss: f32,
    /// The fraction of the batch's variance (around the training mean) left unexplained.
    pub fvu: f32,
    /// Features on per vector, on average.
    pub active: f32,
}

/// The `k` largest positive entries of `pre`, largest first.
fn top_k(pre: &[f32], k: usize) -> Code {
    let mut order: Vec<u32> = (0..pre.len() as u32).collect();
    let k = k.min(pre.len());
    if k < pre.len() {
        order.select_nth_unstable_by(k - 1, |&a, &b| pre[b as usize].total_cmp(&pre[a as usize]));
        order.truncate(k);
    }
    order.sort_by(|&a, &b| pre[b as usize].total_cmp(&pre[a as usize]));
    order.into_iter().map(|j| (j, pre[j as usize])).filter(|&(_, z)| z > 0.0).collect()
}

fn normalize(row: &mut [f32]) {
    let norm = dot(row, row).sqrt();
    if norm > 0.0 {
        row.iter_mut().for_each(|x| *x /= norm);
    }
}

/// `batch` vectors of `train` `(n, d)` drawn at random, with replacement (both trainers draw the same
/// ones from the same seed).
fn draw(rng: &mut Rng, train: &[f32], batch: usize, d: usize) -> Vec<f32> {
    let n = train.len() / d;
    let mut out = Vec::with_capacity(batch * d);
    for _ in 0..batch {
        let i = rng.below(n);
        out.extend_from_slice(&train[i * d..(i + 1) * d]);
    }
    out
}

/// The seed of the batch draws of a trainer started with `seed`.
fn draw_seed(seed: u64) -> u64 {
    seed ^ 0x5ae
}

/// Training: Adam over the hidden states collected, a held-out tenth, dead features counted.
#[derive(Debug, Clone)]
pub struct SaeTrainer {
    /// The autoencoder.
    pub sae: Sae,
    adam: Adam,
    grads: SaeGrads,
    /// Training vectors seen.
    pub seen: usize,
    /// For each feature, `seen` when it last fired.
    last_fired: Vec<usize>,
    rng: Rng,
    /// Vectors per step.
    pub batch: usize,
}

/// Step size of Adam on the autoencoder (its units keep hidden states at norm ≈ √d).
pub const LEARNING_RATE: f32 = 1e-3;
/// Vectors per step.
pub const BATCH: usize = 32;

impl SaeTrainer {
    /// Starts training `sae`.
    pub fn new(sae: Sae, seed: u64) -> Self {
        let sizes: Vec<usize> = [&sae.w_enc, &sae.b_enc, &sae.w_dec, &sae.b_dec].iter().map(|p| p.len()).collect();
        let SaeConfig { d, width, .. } = sae.config;
        Self {
            adam: Adam::new(LEARNING_RATE, &sizes),
            grads: SaeGrads {
                w_enc: vec![0.0; width * d],
                b_enc: vec![0.0; width],
                w_dec: vec![0.0; width * d],
                b_dec: vec![0.0; d],
            },
            seen: 0,
            last_fired: vec![0; width],
            rng: Rng::new(draw_seed(seed)),
            batch: BATCH,
            sae,
        }
    }

    /// One step on a batch drawn at random from `train` `(n, d)`. The decoder's directions stay of unit
    /// length: the part of their gradient along themselves is removed, and they are renormalised.
    pub fn step(&mut self, train: &[f32]) -> BatchStats {
        let d = self.sae.config.d;
        let batch = draw(&mut self.rng, train, self.batch, d);
        let mut touched = Vec::new();
        let mut on = vec![false; self.sae.config.width];
        let stats = self.sae.accumulate(&batch, &mut self.grads, &mut |j| {
            if !on[j] {
                on[j] = true;
                touched.push(j);
            }
        });
        self.seen += self.batch;
        for &j in &touched {
            self.last_fired[j] = self.seen;
            let row = j * d..(j + 1) * d;
            let along = dot(&self.grads.w_dec[row.clone()], &self.sae.w_dec[row.clone()]);
            let direction = self.sae.w_dec[row.clone()].to_vec();
            axpy(-along, &direction, &mut self.grads.w_dec[row]);
        }
        let g = &self.grads;
        let grads: [&[f32]; 4] = [&g.w_enc, &g.b_enc, &g.w_dec, &g.b_dec];
        self.adam.step(self.sae.params_mut().into_iter().map(|p| p.as_mut_slice()).collect(), &grads);
        // Adam's momentum moves directions that did not fire this step too: renormalise them all.
        let work = self.sae.w_dec.len() * 2;
        super::split::by_rows(&mut self.sae.w_dec, d, 1, work, &|_, rows| rows.chunks_exact_mut(d).for_each(normalize));
        for &j in &touched {
            self.grads.w_enc[j * d..(j + 1) * d].fill(0.0);
            self.grads.w_dec[j * d..(j + 1) * d].fill(0.0);
            self.grads.b_enc[j] = 0.0;
        }
        self.grads.b_dec.fill(0.0);
        stats
    }

    /// Features that have not fired in the last [`DEAD_AFTER`] training vectors (none before that many
    /// were seen).
    pub fn dead(&self) -> usize {
        if self.seen < DEAD_AFTER {
            return 0;
        }
        self.last_fired.iter().filter(|&&at| self.seen - at >= DEAD_AFTER).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::pool::{install, Pool};

    /// Sizes large enough that the encoder, Adam and the renormalisation are all shared by three
    /// threads: every parameter after a few steps, and every code, the same bits as on one thread.
    #[test]
    fn training_shared_by_threads_equals_one_thread_bit_for_bit() {
        let config = SaeConfig { d: 128, width: 1024, k: 8, layer: 0 };
        let mut rng = Rng::new(7);
        let data: Vec<f32> = (0..200 * config.d).map(|_| rng.normal()).collect();
        let train = |threads: usize| {
            install(&Pool::new(threads), || {
                let mut trainer = SaeTrainer::new(Sae::new(config, &data, 1).expect("sizes"), 2);
                let stats: Vec<BatchStats> = (0..4).map(|_| trainer.step(&data)).collect();
                let units: Vec<f32> = data.chunks_exact(config.d).flat_map(|x| trainer.sae.to_units(x)).collect();
                (trainer.sae.clone(), stats, trainer.sae.encode_batch(&units), trainer.sae.fvu(&data))
            })
        };
        let (one, three) = (train(1), train(3));
        assert_eq!(one, three);
        // And a batch's codes are each vector's own.
        let sae = &one.0;
        for (x, code) in data.chunks_exact(config.d).zip(&one.2) {
            assert_eq!(&sae.encode_units(&sae.to_units(x)), code);
        }
    }
}
