//! The autoencoder lab: a plain autoencoder and a VAE trained side by side on the same data and code
//! size in their own worker (`worker.rs`), so the page can compare their reconstructions, latent maps
//! and samples. This file holds the messages between the page and that worker.

use serde::{Deserialize, Serialize};

mod worker;

pub use worker::LabWorker;

/// Which images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataChoice {
    /// 32 × 32 procedural faces.
    Faces,
    /// 8 × 8 handwritten digits.
    Digits,
}

/// What to train.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabSetup {
    /// The images.
    pub data: DataChoice,
    /// Code size, 2 ..= 32.
    pub latent: usize,
    /// The VAE's KL weight.
    pub beta: f32,
    /// Train on WebGPU even on a software adapter (normally only a hardware GPU is used).
    pub force_gpu: bool,
}

/// Which of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Which {
    /// The plain autoencoder.
    Plain,
    /// The variational one.
    Vae,
}

/// UI → lab worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LabRequest {
    /// New models (and data) for this setup; training starts.
    Start(LabSetup),
    /// Pause or resume training.
    Run(bool),
    /// Change β without starting over.
    Beta(f32),
    /// Encode and rebuild an image (a picked example or a drawing), with both models.
    Reconstruct(Vec<f32>),
    /// Every resource this worker has fetched (the requests log).
    Fetched,
    /// Decode codes `(n, latent)` with one model.
    Decode {
        /// Which model.
        which: Which,
        /// Codes, row by row.
        codes: Vec<f32>,
        /// What the answer is for.
        purpose: DecodePurpose,
    },
}

/// Why images were decoded (so the page knows where they go).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecodePurpose {
    /// Random codes: new examples.
    Samples,
    /// One code set by the sliders.
    Morph,
    /// The point under the pointer on the latent map.
    Hover,
    /// A grid tiling the latent plane.
    Tiles,
}

/// Lab worker → UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LabResponse {
    /// The data of a new setup: side, a few held-out examples to pick from, and their labels.
    Ready {
        /// Which `Start` this answers (the page ignores reports from older ones).
        run: u64,
        /// Image side.
        side: usize,
        /// `(n, side²)`.
        examples: Vec<f32>,
        /// A class per example.
        labels: Vec<u8>,
    },
    /// Training progress.
    Progress(Progress),
    /// The answer to [`LabRequest::Reconstruct`].
    Reconstruction {
        /// The plain model's code.
        plain_code: Vec<f32>,
        /// The plain model's rebuild.
        plain: Vec<f32>,
        /// The VAE's code (its mean).
        vae_code: Vec<f32>,
        /// The VAE's rebuild.
        vae: Vec<f32>,
    },
    /// The answer to [`LabRequest::Fetched`].
    Fetched(Vec<crate::protocol::Fetched>),
    /// The answer to [`LabRequest::Decode`].
    Decoded {
        /// Which model.
        which: Which,
        /// Why.
        purpose: DecodePurpose,
        /// `(n, side²)`.
        images: Vec<f32>,
    },
}

/// One report on training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Which `Start` this run came from.
    pub run: u64,
    /// Adam steps taken by each model.
    pub step: usize,
    /// Steps per second (both models together count one).
    pub steps_per_s: f32,
    /// Held-out reconstruction error (MSE per pixel), plain and VAE.
    pub test_mse: (f32, f32),
    /// The same on as many training images, plain and VAE.
    pub train_mse: (f32, f32),
    /// Rebuilds of the shown held-out examples: plain then VAE, each `(n, side²)`.
    pub rebuilds: (Vec<f32>, Vec<f32>),
    /// For a 2-D code: every held-out example's VAE code and the plain model's, `(n, 2)`, with labels.
    pub map: Option<LatentMap>,
    /// Whether training is running.
    pub running: bool,
    /// Where it trains: the WebGPU adapter's name, or `None` for the CPU.
    pub gpu: Option<String>,
    /// The CPU threads its products are shared by (the worker's build with threads: more than one).
    pub cores: usize,
}

/// Codes of the held-out examples in the plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentMap {
    /// VAE means, `(n, 2)`.
    pub vae: Vec<f32>,
    /// Plain codes, `(n, 2)`.
    pub plain: Vec<f32>,
    /// A class per point.
    pub labels: Vec<u8>,
}

/// Held-out examples shown on the page.
pub const SHOWN: usize = 8;
/// The hidden layer's width for images of `dim` pixels.
pub fn hidden_width(dim: usize) -> usize {
    if dim > 256 {
        128
    } else {
        64
    }
}

/// Faces the lab draws (its training and held-out images together).
pub const FACES: usize = 2000;

/// Parameters of the lab's VAE on images of `dim` pixels with a code of `latent` numbers: the encoder
/// (to the hidden layer, then to a mean and a log-variance per code number) and the decoder, weights
/// and biases.
pub fn vae_parameters(dim: usize, latent: usize) -> usize {
    let hidden = hidden_width(dim);
    let linear = |inputs: usize, outputs: usize| inputs * outputs + outputs;
    linear(dim, hidden) + linear(hidden, 2 * latent) + linear(latent, hidden) + linear(hidden, dim)
}

#[cfg(test)]
mod parameter_tests {
    use super::*;
    use engine::train::{Autoencoder, Kind};

    #[test]
    fn vae_parameters_count_every_weight_and_bias_of_the_lab_model() {
        for (dim, latent) in [(1024, 2), (64, 8)] {
            let vae = Autoencoder::new(dim, hidden_width(dim), latent, Kind::Variational { beta: 1.0 }, 1e-3, 1);
            let counted: usize =
                [&vae.enc1, &vae.enc2, &vae.dec1, &vae.dec2].iter().map(|l| l.w.len() + l.b.len()).sum();
            assert_eq!(vae_parameters(dim, latent), counted);
        }
    }
}
