//! `glassbox sae …`: the sparse autoencoder on the model's hidden states, as the page's *Thoughts* view
//! trains and uses it (same passages, held-out tenth, sizes, seed and steps).

use std::path::{Path, PathBuf};
use std::time::Instant;

use engine::generate::Engine;
use engine::thoughts::{strongest_vectors, Collection, Edit, PASSAGE_TOKENS};
use engine::train::sae::{self, Sae, SaeConfig, SaeTrainer};
use serde_json::json;

#[derive(clap::Subcommand)]
pub enum SaeAction {
    /// Collect the hidden states of a text at one block and train an autoencoder on them; prints the
    /// last values of the curves.
    Train(TrainArgs),
    /// The next-token distribution of every position with the block's hidden state replaced by the
    /// reconstruction, the mean and zero: KL from the model as it is, per position.
    Squeeze {
        /// The autoencoder file.
        #[arg(long)]
        sae: PathBuf,
        /// The text.
        #[arg(long)]
        text: String,
        /// Replace the hidden state by itself instead (every KL must be 0).
        #[arg(long)]
        identity: bool,
    },
    /// Each token's reconstruction error and strongest features.
    Read {
        #[arg(long)]
        sae: PathBuf,
        #[arg(long)]
        text: String,
        /// Features per token.
        #[arg(long, default_value_t = 3)]
        top: usize,
    },
    /// The tokens that fire features most (over the built-in text, or `--text-file`).
    Features {
        #[arg(long)]
        sae: PathBuf,
        #[arg(long)]
        text_file: Option<PathBuf>,
        /// Which features (default: the first ten that fire).
        #[arg(long, value_delimiter = ',')]
        feature: Vec<usize>,
        /// Tokens per feature.
        #[arg(long, default_value_t = 8)]
        top: usize,
    },
    /// A greedy answer as it is and with a feature's direction added to the block's hidden state.
    Steer {
        #[arg(long)]
        sae: PathBuf,
        /// The beginning to continue (read after the start token, no chat template).
        #[arg(long)]
        text: String,
        #[arg(long)]
        feature: usize,
        /// In the autoencoder's units (a hidden state's norm is about √width of the model).
        #[arg(long, default_value_t = 8.0)]
        strength: f32,
        /// Tokens to write.
        #[arg(long, default_value_t = 24)]
        tokens: usize,
        /// Also the probability of this word (its first token) right after the text.
        #[arg(long)]
        word: Option<String>,
    },
    /// What the squeeze costs a token: greedy decoding after the text as it is and squeezed, in turns,
    /// `{"plain_tok_per_s","squeezed_tok_per_s","ratio"}` (medians).
    Speed {
        #[arg(long)]
        sae: PathBuf,
        #[arg(long)]
        text: String,
        /// Tokens per run.
        #[arg(long, default_value_t = 64)]
        tokens: usize,
        /// Runs of each, in turns.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

/// Runs one `sae` action on the model.
pub fn run(engine: &Engine, action: SaeAction, json: bool) -> Result<(), String> {
    let open = |path: &Path| open(engine, path);
    match action {
        SaeAction::Train(args) => train(engine, &args, json),
        SaeAction::Squeeze { sae, text, identity } => squeeze(engine, &open(&sae)?, &text, identity),
        SaeAction::Read { sae, text, top } => read(engine, &open(&sae)?, &text, top),
        SaeAction::Features { sae, text_file, feature, top } => {
            let text = match &text_file {
                Some(p) => Some(std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?),
                None => None,
            };
            features(engine, &open(&sae)?, text.as_deref(), &feature, top)
        }
        SaeAction::Steer { sae, text, feature, strength, tokens, word } => {
            steer(engine, &open(&sae)?, &text, (feature, strength), tokens, word.as_deref())
        }
        SaeAction::Speed { sae, text, tokens, runs } => speed(engine, &open(&sae)?, &text, tokens, runs),
    }
}

/// `sae speed`: decoding speed as it is and squeezed, runs in turns, medians.
pub fn speed(engine: &Engine, sae: &Sae, text: &str, tokens: usize, runs: usize) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    let ids = engine.passages(text, usize::MAX).map_err(err)?.remove(0);
    let (mut plain, mut squeezed) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        for (edit, speeds) in [(Edit::Keep, &mut plain), (Edit::Squeeze(sae), &mut squeezed)] {
            let started = Instant::now();
            let n = engine.write_alone(&ids, edit, tokens).map_err(err)?.len();
            speeds.push(n as f64 / started.elapsed().as_secs_f64());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (p, s) = (median(&mut plain), median(&mut squeezed));
    println!("{}", json!({ "plain_tok_per_s": p, "squeezed_tok_per_s": s, "ratio": s / p }));
    Ok(())
}

/// `sae train`'s arguments.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// The block after which the residual stream is read (0-based; default: a third of the way up).
    #[arg(long)]
    layer: Option<usize>,
    /// The text to collect hidden states from (UTF-8); without it, the built-in French stories and
    /// English sonnets.
    #[arg(long)]
    text_file: Option<PathBuf>,
    /// Features in the code (default: 8 × the model's width).
    #[arg(long)]
    width: Option<usize>,
    /// Features kept on per vector.
    #[arg(long, default_value_t = 32)]
    k: usize,
    /// Training steps (of 32 vectors).
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Seed of the weights and batches.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the trained autoencoder there (the page's file format).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Train on the GPU (WGSL kernels; the same batches and steps as on the CPU). The model still
    /// reads the text on the backend `--backend` chose.
    #[arg(long)]
    gpu: bool,
}

/// Steps between two points of the printed curve (each point the mean over its window).
const WINDOW: usize = 50;

/// The autoencoder's training on one side or the other (one lives per run: sizes do not matter).
#[allow(clippy::large_enum_variant)]
enum Trainer {
    Cpu(SaeTrainer, Vec<sae::BatchStats>),
    Gpu(sae::GpuSaeTrainer),
}

impl Trainer {
    fn step(&mut self, train: &[f32]) -> Result<(), String> {
        match self {
            Trainer::Cpu(t, window) => window.push(t.step(train)),
            Trainer::Gpu(t) => t.step(train).map_err(|e| e.to_string())?,
        }
        Ok(())
    }

    /// The mean figures of the steps since the last call.
    fn window(&mut self) -> Result<sae::BatchStats, String> {
        match self {
            Trainer::Cpu(_, window) => {
                let n = window.len().max(1) as f32;
                let mean = |f: fn(&sae::BatchStats) -> f32| window.iter().map(f).sum::<f32>() / n;
                let stats =
                    sae::BatchStats { loss: mean(|s| s.loss), fvu: mean(|s| s.fvu), active: mean(|s| s.active) };
                window.clear();
                Ok(stats)
            }
            Trainer::Gpu(t) => Ok(pollster::block_on(t.take_stats()).map_err(|e| e.to_string())?.unwrap_or_default()),
        }
    }

    /// The autoencoder as trained, and its dead features.
    fn finish(self) -> Result<(Sae, usize), String> {
        match self {
            Trainer::Cpu(t, _) => {
                let dead = t.dead();
                Ok((t.sae, dead))
            }
            Trainer::Gpu(t) => {
                let sae = pollster::block_on(t.download()).map_err(|e| e.to_string())?;
                Ok((sae, pollster::block_on(t.dead()).map_err(|e| e.to_string())?))
            }
        }
    }
}

/// Collects, trains, and prints `{"layer","width","k","vectors","held_out","steps","fvu","val_fvu",
/// "active","dead","vectors_per_s","trained_on","fvu_curve":[..]}`: `fvu` and `active` are the means
/// over the last 50 steps, the curve one such mean every 50 steps.
pub fn train(engine: &Engine, a: &TrainArgs, one_line: bool) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    let c = &engine.model.config;
    let layer = a.layer.unwrap_or(c.n_layer / 3);
    let passages = match &a.text_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            engine.passages(&text, PASSAGE_TOKENS).map_err(err)?
        }
        None => engine.built_in_passages().map_err(err)?,
    };
    let mut collection = Collection::new(layer);
    let started = Instant::now();
    for passage in &passages {
        if collection.read(engine, passage).map_err(err)? == 0 {
            break;
        }
    }
    let collect_s = started.elapsed().as_secs_f64();
    if collection.held_out.is_empty() {
        return Err("the text is too short: fewer than ten passages of 64 tokens".into());
    }
    let config = SaeConfig { d: c.n_embd, width: a.width.unwrap_or(8 * c.n_embd), k: a.k, layer };
    let fresh = Sae::new(config, &collection.train, a.seed)?;
    let mut trainer = if a.gpu {
        let ctx = pollster::block_on(engine::backend::gpu::GpuContext::new()).map_err(|e| e.to_string())?;
        Trainer::Gpu(sae::GpuSaeTrainer::new(std::rc::Rc::new(ctx), &fresh, a.seed).map_err(|e| e.to_string())?)
    } else {
        Trainer::Cpu(SaeTrainer::new(fresh, a.seed), Vec::new())
    };
    let started = Instant::now();
    let (mut curve, mut last) = (Vec::new(), sae::BatchStats::default());
    for step in 1..=a.steps {
        trainer.step(&collection.train)?;
        if step % WINDOW == 0 || step == a.steps {
            last = trainer.window()?;
            curve.push(last.fvu);
        }
    }
    let (trained, dead) = trainer.finish()?;
    let train_s = started.elapsed().as_secs_f64();
    let val_fvu = trained.fvu(&collection.held_out);
    if let Some(path) = &a.out {
        std::fs::write(path, sae::save(&trained)).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let d = c.n_embd;
    let report = json!({
        "layer": layer,
        "width": config.width,
        "k": config.k,
        "vectors": collection.train.len() / d,
        "held_out": collection.held_out.len() / d,
        "steps": a.steps,
        "fvu": last.fvu,
        "val_fvu": val_fvu,
        "active": last.active,
        "dead": dead,
        "collect_tokens_per_s": (collection.len(d) as f64 / collect_s.max(1e-9)),
        "vectors_per_s": (a.steps * sae::BATCH) as f64 / train_s.max(1e-9),
        "trained_on": if a.gpu { "gpu" } else { "cpu" },
        "fvu_curve": curve,
    });
    if one_line {
        println!("{report}");
    } else {
        println!("{report:#}");
    }
    Ok(())
}

/// Reads an autoencoder file and checks it fits the model.
pub fn open(engine: &Engine, path: &Path) -> Result<Sae, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let sae = sae::load(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    engine.check_sae(&sae).map_err(|e| e.to_string())?;
    Ok(sae)
}

/// `sae squeeze`: `{"ids","fvu","kl","kl_mean","kl_zero","same_top1"}` plus the mean of each KL.
pub fn squeeze(engine: &Engine, sae: &Sae, text: &str, identity: bool) -> Result<(), String> {
    let r = engine.squeeze(text, sae, identity).map_err(|e| e.to_string())?;
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
    println!(
        "{}",
        json!({
            "ids": r.ids, "fvu": r.fvu, "kl": r.kl, "kl_mean": r.kl_mean, "kl_zero": r.kl_zero,
            "same_top1": r.same_top1,
            "mean_kl": mean(&r.kl), "mean_kl_mean": mean(&r.kl_mean), "mean_kl_zero": mean(&r.kl_zero),
        })
    );
    Ok(())
}

/// `sae read`: each token of the text through the autoencoder: `{"ids","tokens":[{"error","features":
/// [[feature, activation]..]}]}` (the first token, the start token, is not read).
pub fn read(engine: &Engine, sae: &Sae, text: &str, top: usize) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    let ids = engine.passages(text, usize::MAX).map_err(err)?.remove(0);
    let thoughts = engine.read_through(&ids, sae, top).map_err(err)?;
    println!("{}", json!({ "ids": ids, "tokens": thoughts }));
    Ok(())
}

/// `sae features`: for the given features (or the first few that fire), the tokens that fire each most
/// over the text's passages: `{"features":[{"feature","top":[{"token","context","activation"}]}]}`.
pub fn features(engine: &Engine, sae: &Sae, text: Option<&str>, which: &[usize], top: usize) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    let passages = match text {
        Some(text) => engine.passages(text, PASSAGE_TOKENS).map_err(err)?,
        None => engine.built_in_passages().map_err(err)?,
    };
    let mut collection = Collection::new(sae.config.layer);
    for passage in &passages {
        collection.read(engine, passage).map_err(err)?;
    }
    let best = strongest_vectors(sae, &collection.train, top);
    let label = |ids: &[u32]| engine.tokenizer.decode(ids).unwrap_or_default();
    let chosen: Vec<usize> = if which.is_empty() {
        (0..best.len()).filter(|&j| !best[j].is_empty()).take(10).collect()
    } else {
        which.to_vec()
    };
    let cards: Vec<_> = chosen
        .iter()
        .filter_map(|&j| best.get(j).map(|b| (j, b)))
        .map(|(j, list)| {
            let top: Vec<_> = list
                .iter()
                .map(|&(i, z)| {
                    let (context, token) = collection.context(collection.train_from[i], 8);
                    json!({ "token": label(&[token]), "context": label(context), "activation": z })
                })
                .collect();
            json!({ "feature": j, "top": top })
        })
        .collect();
    println!("{}", json!({ "features": cards }));
    Ok(())
}

/// `sae steer`: the greedy answer after `prompt` as it is and with feature `feature` added at
/// `strength`: `{"plain","steered","kl":[..per token]}`; with `word`, also the probability of its
/// first token right after the prompt, as it is and steered (`"plain_prob","steered_prob"`).
pub fn steer(
    engine: &Engine,
    sae: &Sae,
    prompt: &str,
    (feature, strength): (usize, f32),
    tokens: usize,
    word: Option<&str>,
) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    if feature >= sae.config.width {
        return Err(format!("the autoencoder has {} features", sae.config.width));
    }
    let ids = engine.passages(prompt, usize::MAX).map_err(err)?.remove(0);
    let write = |edit: Edit| -> Result<(String, Vec<f32>), String> {
        let mut writer = engine.write_edited(&ids, edit, tokens).map_err(err)?;
        let (mut out, mut kl) = (Vec::new(), Vec::new());
        while let Some(step) = writer.step().map_err(err)? {
            out.push(step.id);
            kl.push(step.kl);
        }
        Ok((engine.tokenizer.decode(&out).map_err(err)?, kl))
    };
    let edit = Edit::Steer { sae, feature, strength };
    let (plain, _) = write(Edit::Keep)?;
    let (steered, kl) = write(edit)?;
    let mut report = json!({ "plain": plain, "steered": steered, "kl": kl });
    if let Some(word) = word {
        let first = *engine.tokenizer.encode_text(word).map_err(err)?.first().ok_or("the word has no token")?;
        let prob = |edit: Edit| -> Result<f32, String> {
            let logits = engine.edited_logits(&ids, edit).map_err(err)?;
            let last = &logits[logits.len() - engine.model.config.n_vocab..];
            Ok((last[first as usize] - engine::trace::log_sum_exp(last)).exp())
        };
        report["plain_prob"] = json!(prob(Edit::Keep)?);
        report["steered_prob"] = json!(prob(edit)?);
    }
    println!("{report}");
    Ok(())
}
