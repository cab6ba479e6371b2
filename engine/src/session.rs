//! One conversation's running state on either backend: a KV cache on the CPU or on the GPU, behind one
//! `forward`. The generator, the CLI's `score` and the tests use this and never ask which it is.

use crate::backend::gpu::{GpuSession, Picked, Readback, StepCounters};
use crate::error::{EngineError, Result};
use crate::model::{KvCache, LogitsFor, Model};
use crate::trace::AttentionTrace;

/// A KV cache and the backend that fills it.
#[derive(Debug)]
pub enum Session<'e> {
    /// The CPU backend (the model's precision: exact or 8-bit activations).
    Cpu {
        /// The model.
        model: &'e Model,
        /// Its cache.
        cache: KvCache,
    },
    /// The GPU backend (exact: f32 activations, f16 KV cache).
    Gpu(Box<GpuSession<'e>>),
}

/// What one forward pass returns, on either backend.
#[derive(Debug, Clone)]
pub struct Forward {
    /// `(rows, n_vocab)` logits; on the GPU unless [`Readback::Logits`] asked for them, empty (see
    /// `picked`).
    pub logits: Vec<f32>,
    /// The GPU's choice for the last token, when it made one.
    pub picked: Option<Picked>,
    /// Attention probabilities, when traced.
    pub attention: Option<AttentionTrace>,
    /// What the pass cost on the GPU (zero on the CPU).
    pub counters: StepCounters,
}

impl<'e> Session<'e> {
    /// A CPU session of `capacity` positions.
    pub fn cpu(model: &'e Model, capacity: usize) -> Self {
        Self::Cpu { model, cache: model.new_cache(capacity) }
    }

    /// Positions filled.
    pub fn len(&self) -> usize {
        match self {
            Self::Cpu { cache, .. } => cache.len(),
            Self::Gpu(s) => s.len(),
        }
    }

    /// Whether nothing has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Most positions it holds.
    pub fn capacity(&self) -> usize {
        match self {
            Self::Cpu { cache, .. } => cache.capacity(),
            Self::Gpu(s) => s.capacity(),
        }
    }

    /// Whether it runs on the GPU.
    pub fn is_gpu(&self) -> bool {
        matches!(self, Self::Gpu(_))
    }

    /// Forgets every position from `len` on: the next pass writes there.
    pub fn truncate(&mut self, len: usize) {
        match self {
            Self::Cpu { cache, .. } => cache.truncate(len),
            Self::Gpu(s) => s.truncate(len),
        }
    }

    /// Runs `tokens` at positions `len()..`; see [`Model::forward`] and [`GpuSession::forward`].
    pub async fn forward(
        &mut self,
        tokens: &[u32],
        logits_for: LogitsFor,
        trace: bool,
        readback: Readback,
    ) -> Result<Forward> {
        match self {
            Self::Cpu { model, cache } => {
                let out = model.forward(cache, tokens, logits_for, trace)?;
                Ok(Forward {
                    logits: out.logits,
                    picked: None,
                    attention: out.attention,
                    counters: StepCounters::default(),
                })
            }
            Self::Gpu(s) => s.forward(tokens, logits_for, trace, readback).await,
        }
    }
}

impl EngineError {
    /// Whether this error means the GPU can no longer be trusted, so the work should move to the CPU.
    pub fn is_gpu_failure(&self) -> bool {
        matches!(self, Self::GpuDeviceLost(_) | Self::Gpu(_))
    }

    /// Whether the CPU should do this work instead: the GPU failed, or it cannot take this model or this
    /// work ([`EngineError::GpuUnsupported`]: too large, a format it lacks).
    pub fn falls_back_to_cpu(&self) -> bool {
        self.is_gpu_failure() || matches!(self, Self::GpuUnsupported(_))
    }
}
