//! Small models trained in the browser, with their backward passes written out: the autoencoder lab
//! (the **G** of GPT: squeeze an image through a small code, rebuild it, decode new codes). Plain f32
//! on the CPU (large products and the tiny GPT's attention and GELU shared by the engine's threads:
//! `split.rs`), the same code natively and in the worker; `gpu.rs` runs the same
//! training step as WGSL kernels. The pre-training lab (the **P**): `gpt.rs` a tiny GPT with its backward pass,
//! `pretrain.rs` its corpus, optimiser, samples and file,
//! `tiny_game.rs` the same model playing the next-word game. `sae/`: the sparse autoencoder that reads the
//! language model's hidden states (the model side is in `crate::thoughts`).

pub mod autoencoder;
pub mod data;
mod dense;
pub mod gpt;
pub mod gpu;
mod kernels;
mod lanes;
pub mod nn;
pub mod pretrain;
pub mod sae;
mod split;
pub mod tiny_game;

pub use autoencoder::{largest_relative_gap, mse, Autoencoder, Grads, Kind, Losses};
pub use data::{digits, draw_face, faces, Dataset, FaceFactors, FACE_FACTORS, FACE_SIDE};
pub use gpt::{Gpt, GptConfig, GptState, GpuGpt, Pass};
pub use gpu::GpuAutoencoder;
pub use nn::Rng;
