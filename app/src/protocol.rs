//! Messages between the UI thread and the engine worker. Both sides are compiled from this one file, so
//! they cannot drift apart.

use engine::chat::Message;
use engine::generate::FinishReason;
use engine::ComputeBackend;
use serde::{Deserialize, Serialize};

/// UI → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Find out which compute backend this browser offers (WebGPU adapter or CPU).
    ProbeCompute,
    /// Fetch a GGUF model from a same-origin URL and load it (replacing the current one only on success).
    LoadModel {
        /// Where the file is served.
        url: String,
    },
    /// Answer the last user message of a conversation, streaming tokens.
    Chat {
        /// The whole conversation so far, ending with the user's turn.
        messages: Vec<Message>,
        /// Most new tokens.
        max_tokens: usize,
    },
    /// Stop the answer being generated (what was written so far stays).
    Stop,
}

/// Worker → UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The answer to [`Request::ProbeCompute`].
    Compute(ComputeBackend),
    /// Download progress of a model, in bytes.
    ModelProgress {
        /// Received so far.
        loaded: u64,
        /// Announced size (0 if unknown).
        total: u64,
    },
    /// A model is loaded and ready.
    ModelReady {
        /// What to call it.
        name: String,
        /// Parameters, counted from its tensors' shapes.
        n_layer: usize,
        /// File size in bytes.
        bytes: u64,
        /// Where it runs, and why there ("WebGPU: <adapter>", or "CPU …" with the reason).
        backend: String,
    },
    /// Something the user should know mid-answer (the GPU was lost and the CPU took over).
    Notice(String),
    /// Some text of the answer being written.
    Token {
        /// The new text (may be empty while a character is incomplete).
        text: String,
        /// The chosen token's probability.
        prob: f32,
    },
    /// The answer is complete.
    Done {
        /// Why it ended (`None`: stopped by the user).
        finish: Option<FinishReason>,
        /// Decode speed of this answer.
        tok_per_s: f32,
    },
    /// Something failed; the message is for the user, and nothing already there was lost.
    Error(String),
}
