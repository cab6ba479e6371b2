//! Messages between the UI thread and the engine worker. Both sides are compiled from this one file, so
//! they cannot drift apart.

use engine::chat::Message;
use engine::generate::FinishReason;
use engine::sample::SamplerConfig;
use engine::trace::{HeadMatrix, HeadPick, Thumbnails};
use engine::ComputeBackend;

use crate::i18n::Placement;
use serde::{Deserialize, Serialize};

/// How to answer: the settings panel's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatSettings {
    /// Most new tokens.
    pub max_tokens: usize,
    /// Temperature, top-k, top-p, seed.
    pub sampler: SamplerConfig,
    /// Record every layer's and head's attention for the explorer.
    pub trace: bool,
}

/// One token as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Piece {
    /// Its id in the vocabulary.
    pub id: u32,
    /// Its text (`<0xE9>` for a byte that is not a character alone; control tokens by name).
    pub text: String,
}

/// A token of an answer with how sure the model was: the token's probability and the entropy of the
/// distribution it was drawn from (both at temperature 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoubtToken {
    /// Its id.
    pub id: u32,
    /// Text this token adds (may be empty while a character is incomplete).
    pub text: String,
    /// Its label, as the token view writes it.
    pub piece: String,
    /// Its probability.
    pub prob: f32,
    /// The entropy in nats.
    pub entropy: f32,
}

/// A token the model could have written instead, with its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    /// The token.
    pub piece: Piece,
    /// Its probability at that step (temperature 1).
    pub prob: f32,
}

/// What the model reads before a prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Context {
    /// A plain text, tokenized as `glassbox next` does (no chat template).
    Text(String),
    /// Token ids already chosen (the game's text after tokens were added one by one).
    Ids(Vec<u32>),
}

/// A guessed next word, scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuessView {
    /// The word as typed.
    pub word: String,
    /// Its tokens, each with its probability given the text and the pieces before it.
    pub pieces: Vec<Alternative>,
    /// The probability that the model writes exactly these pieces next (their product).
    pub prob: f32,
    /// The first piece's rank among every token (1: the likeliest).
    pub rank: usize,
}

/// The model's distribution over the next token after a context (the next-word game).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The context's ids.
    pub ids: Vec<u32>,
    /// The context's tokens, for the chips.
    pub pieces: Vec<Piece>,
    /// The context as text.
    pub text: String,
    /// The likeliest next tokens, best first (temperature 1).
    pub top: Vec<Alternative>,
    /// Entropy of the distribution, in nats.
    pub entropy: f32,
    /// Every token with its logit, best first: the page reshapes it live for the sampling view.
    pub sorted: Vec<(u32, f32)>,
    /// The guess, when one was asked for.
    pub guess: Option<GuessView>,
    /// Whether the GPU computed it.
    pub on_gpu: bool,
}

/// The masked-word game's answer: candidate words for the blank, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filled {
    /// The sentence with its blank.
    pub text: String,
    /// Each word with the log-probability of its completed sentence and its share among the candidates.
    pub scores: Vec<(String, f64, f64)>,
    /// The words the model proposed itself (scored among the others).
    pub proposed: Vec<String>,
    /// Whether the GPU scored them (else the CPU).
    pub on_gpu: bool,
}

/// The map of words: each word's place in the plane of the first two principal components.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordMap {
    /// `(word, x, y, chosen)`: the class's words and the reference words (`chosen` false).
    pub points: Vec<(String, f32, f32, bool)>,
    /// The class's words cut into several tokens, with how many.
    pub split: Vec<(String, usize)>,
}

/// The nearest tokens to a word (or to a − b + c).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nearest {
    /// What was asked, as the page shows it ("king − man + woman").
    pub query: String,
    /// The tokens, best first, with their cosine.
    pub tokens: Vec<(Piece, f32)>,
}

/// One resource this worker fetched (the browser's resource timing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fetched {
    /// Its address.
    pub url: String,
    /// When it started, in ms since the epoch.
    pub at_ms: f64,
    /// Bytes that crossed the network (0: from this browser's copy).
    pub transfer_bytes: f64,
}

/// UI → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// The *Thoughts* view (the sparse autoencoder on the model's hidden states).
    Thoughts(crate::thoughts::ThoughtsRequest),
    /// Find out which compute backend this browser offers (WebGPU adapter or CPU).
    ProbeCompute,
    /// Fetch a GGUF model (same-origin or a `blob:` URL of a file the user opened) and load it; the
    /// current model stays until the new one is ready.
    LoadModel {
        /// Where the file is.
        url: String,
        /// What to call it.
        name: String,
        /// Keep the file in this browser's cache so the next visit loads it offline (the default model).
        cache: bool,
        /// Use WebGPU even on a software adapter (`?gpu`).
        #[serde(default)]
        force_gpu: bool,
    },
    /// Answer the last user message of a conversation, streaming tokens.
    Chat {
        /// The whole conversation so far (system prompt first), ending with the user's turn.
        messages: Vec<Message>,
        /// How.
        settings: ChatSettings,
    },
    /// Stop the answer being generated (what was written so far stays).
    Stop,
    /// A thumbnail of every layer's and head's attention over positions `0..=upto`.
    AttentionGrid {
        /// The last query position shown.
        upto: usize,
        /// Hide the first key and renormalise.
        hide_sink: bool,
    },
    /// The next-token distribution after a context, and a guess's score when one is given.
    Predict {
        /// What the model reads.
        context: Context,
        /// A word the class guessed.
        guess: Option<String>,
    },
    /// The model reads a plain text (no chat template) and records its attention, for the explorer.
    Read {
        /// The text.
        text: String,
    },
    /// Continuations of `ids` with each seed in turn (streamed as [`Response::Continuation`]).
    Continue {
        /// The text so far.
        ids: Vec<u32>,
        /// One continuation per seed.
        seeds: Vec<u64>,
        /// Sampling (its seed is replaced by each of `seeds`).
        sampler: SamplerConfig,
        /// Most new tokens per continuation.
        max_tokens: usize,
    },
    /// The masked-word game: score each candidate (and `propose` words of the model's own) in the blank.
    Fill {
        /// The sentence, with `___` where the word goes.
        text: String,
        /// The class's candidate words.
        candidates: Vec<String>,
        /// How many words of its own the model adds.
        propose: usize,
    },
    /// The map of words: the class's words and the reference ones, in the plane of their first two
    /// principal components.
    WordMap {
        /// The class's words.
        words: Vec<String>,
        /// The reference words.
        reference: Vec<String>,
    },
    /// The `k` nearest tokens to `word` (minus `minus`, plus `plus`).
    Nearest {
        /// The word.
        word: String,
        /// An analogy's `(minus, plus)`.
        analogy: Option<(String, String)>,
        /// How many.
        k: usize,
    },
    /// `word` in two sentences: the cosine of its two vectors after each block.
    InContext {
        /// Which comparison this is (answered with it).
        asked: u64,
        /// The word.
        word: String,
        /// The two sentences.
        sentences: (String, String),
    },
    /// The logit lens over a context: one [`Response::LensLayer`] per block, then [`Response::LensDone`].
    Lens {
        /// What the model reads.
        context: Context,
    },
    /// Every resource this worker has fetched since it started.
    Fetched,
    /// The preference game: `question` answered in the chat template once per seed, each answer whole
    /// with its features ([`Response::Preferred`], then [`Response::PreferDone`]).
    Prefer {
        /// The question.
        question: String,
        /// One answer per seed.
        seeds: Vec<u64>,
        /// Sampling (its seed is replaced by each of `seeds`).
        sampler: SamplerConfig,
        /// Most tokens per answer.
        max_tokens: usize,
    },
    /// The hallucination lab: `question` answered in the chat template once per seed (streamed as
    /// [`Response::DoubtToken`], then [`Response::DoubtDone`]).
    Doubt {
        /// The question.
        question: String,
        /// One answer per seed.
        seeds: Vec<u64>,
        /// Sampling (its seed is replaced by each of `seeds`).
        sampler: SamplerConfig,
        /// Most tokens per answer.
        max_tokens: usize,
    },
    /// One head's (or the heads' mean) attention matrix over positions `0..=upto`.
    AttentionHead {
        /// The last query position shown.
        upto: usize,
        /// Layer.
        layer: usize,
        /// Head, or the mean over heads.
        head: HeadPick,
        /// Hide the first key and renormalise.
        hide_sink: bool,
    },
}

/// Worker → UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// An answer of the *Thoughts* view.
    Thoughts(crate::thoughts::ThoughtsResponse),
    /// The answer to [`Request::ProbeCompute`].
    Compute(ComputeBackend),
    /// What the model file being read holds and the memory it needs, from its header (before the rest
    /// is read).
    ModelEstimate(crate::preflight::Estimate),
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
        /// Layers.
        n_layer: usize,
        /// Query heads per layer.
        n_head: usize,
        /// File size in bytes.
        bytes: u64,
        /// Where it runs, and why there.
        backend: Placement,
        /// Read from this browser's cache rather than the network.
        from_cache: bool,
        /// What the file holds.
        card: Box<engine::model::ModelCard>,
    },
    /// A model could not be loaded; the one loaded before (if any) is still there.
    ModelFailed(String),
    /// Something the user should know mid-answer (the GPU was lost and the CPU took over).
    Notice(String),
    /// The prompt exactly as the model reads it (chat template applied), at the start of an answer.
    Prompt(Vec<Piece>),
    /// One token of the answer being written.
    Token {
        /// The token.
        piece: Piece,
        /// The new text (may be empty while a character is incomplete, or at the end token).
        text: String,
        /// The chosen token's probability.
        prob: f32,
        /// The most likely tokens at this step, best first.
        top: Vec<Alternative>,
    },
    /// The answer is complete.
    Done {
        /// Why it ended (`None`: stopped by the user).
        finish: Option<FinishReason>,
        /// Decode speed of this answer.
        tok_per_s: f32,
        /// Tokens of the prompt.
        prompt: usize,
        /// Of those, how many the last answer's cache already held (not run again).
        reused: usize,
    },
    /// The answer to [`Request::AttentionGrid`] (`None`: nothing traced up to there).
    AttentionGrid(Option<Thumbnails>),
    /// The answer to [`Request::AttentionHead`] (`None`: nothing traced up to there).
    AttentionHead(Option<HeadMatrix>),
    /// The answer to [`Request::Predict`].
    Prediction(Prediction),
    /// The answer to [`Request::Read`]: the text's tokens, whose attention is now recorded.
    Read(Vec<Piece>),
    /// Part of a continuation ([`Request::Continue`]).
    Continuation {
        /// Which of the seeds.
        slot: usize,
        /// New text.
        text: String,
        /// The last part of this continuation.
        done: bool,
    },
    /// Every continuation asked for is written (or stopped).
    Continued,
    /// The answer to [`Request::Fill`].
    Filled(Filled),
    /// The lens's first answer: the tokens read.
    LensTokens(Vec<Piece>),
    /// One block's row of the lens: per position, the likeliest next tokens with their probabilities.
    LensLayer {
        /// The block.
        layer: usize,
        /// One list per position, best first.
        cells: Vec<Vec<Alternative>>,
    },
    /// The lens is complete; whether the GPU computed it.
    LensDone {
        /// On the GPU (else the CPU).
        on_gpu: bool,
    },
    /// The answer to [`Request::WordMap`].
    WordMap(WordMap),
    /// The answer to [`Request::Nearest`].
    Nearest(Nearest),
    /// The answer to [`Request::InContext`] number `asked`: the word, one cosine per block, and whether
    /// the GPU computed them.
    InContext {
        /// The request's number.
        asked: u64,
        /// The word.
        word: String,
        /// One cosine per block.
        cosines: Vec<f32>,
        /// Whether the GPU computed them.
        on_gpu: bool,
    },
    /// The answer to [`Request::Fetched`].
    Fetched(Vec<Fetched>),
    /// One answer of the preference game ([`Request::Prefer`]).
    Preferred {
        /// Which of the seeds.
        slot: usize,
        /// The answer.
        answer: crate::prefer::Written,
    },
    /// Every answer asked for is written (or stopped).
    PreferDone,
    /// One token of a hallucination-lab answer ([`Request::Doubt`]).
    DoubtToken {
        /// Which of the seeds.
        slot: usize,
        /// The token (none when the answer was stopped).
        token: Option<DoubtToken>,
        /// The last token of this answer.
        done: bool,
    },
    /// Every answer asked for is written (or stopped).
    DoubtDone,
    /// Something failed; the message is for the user, and nothing already there was lost.
    Error(String),
}
