//! `glassbox pretrain`: the pre-training lab's tiny GPT trained on a text, as the page trains it (same
//! sizes, seed, batches and evaluation), with its curves and a sample.

use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use engine::backend::gpu::GpuContext;
use engine::predict::guess_text;
use engine::sample::SamplerConfig;
use engine::train::pretrain::{self, check_sizes, Corpus, TrainSettings, Trainer};
use engine::train::tiny_game;
use engine::train::{GptConfig, GpuGpt, Rng};
use serde_json::json;

/// What to train and how (the command's arguments).
#[derive(clap::Args)]
pub struct PretrainArgs {
    /// The text to learn from (UTF-8); without it, a built-in text (`--corpus`).
    #[arg(long)]
    text_file: Option<PathBuf>,
    /// The built-in text: `sonnets` or `en` (Shakespeare's sonnets), `la-fontaine` or `fr` (La
    /// Fontaine's lines quoted in Littré's dictionary), `histoires` (little stories written for Glassbox).
    #[arg(long, default_value = "en")]
    corpus: String,
    /// Blocks, 1 to 4.
    #[arg(long, default_value_t = 2)]
    layers: usize,
    /// Width of the residual stream.
    #[arg(long, default_value_t = 64)]
    width: usize,
    /// Attention heads.
    #[arg(long, default_value_t = 2)]
    heads: usize,
    /// Characters read at once.
    #[arg(long, default_value_t = 64)]
    context: usize,
    /// Training steps.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Windows per step.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// The peak learning rate (after the warm-up); by default one suited to the model's size, as the
    /// page uses.
    #[arg(long)]
    lr: Option<f32>,
    /// Seed of the weights (the batches use seed + 1, samples seed + 2).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Held-out loss every this many steps (and after the last).
    #[arg(long, default_value_t = 25)]
    eval_every: usize,
    /// Held-out windows per evaluation.
    #[arg(long, default_value_t = 16)]
    eval_windows: usize,
    /// The sample's temperature (0: the likeliest character each time).
    #[arg(long, default_value_t = 0.8)]
    temperature: f32,
    /// The sample's length in characters.
    #[arg(long, default_value_t = 200)]
    sample_chars: usize,
    /// The sample's beginning.
    #[arg(long, default_value = "")]
    prompt: String,
    /// Instead of training, open a model saved by the page (or by `--save`).
    #[arg(long)]
    load: Option<PathBuf>,
    /// With `--load`: the likeliest next characters after this text (`{"next":[{"char","prob"}]}`).
    #[arg(long)]
    next: Option<String>,
    /// With `--next`: a guessed next word, scored as the next-word game scores it (`"guess"`).
    #[arg(long)]
    guess: Option<String>,
    /// With `--next`: continuations drawn as the game's *Three answers* does, one per seed, with
    /// `--temperature`, `--top-k` and `--top-p` (`"answers"`).
    #[arg(long, value_delimiter = ',')]
    answer_seeds: Vec<u64>,
    /// The answers' top-k (0: every character).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    /// The answers' top-p.
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    /// Characters per answer (the page's game writes 120).
    #[arg(long, default_value_t = 120)]
    answer_chars: usize,
    /// Write the trained model there (the page's file format).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Where to train: `cpu`, or `gpu` (WebGPU's kernels through wgpu; natively Vulkan, e.g. lavapipe).
    /// The batches, the learning rate and the evaluation are the same; on the GPU each step's loss is
    /// read back after the step.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: Device,
    /// One JSON object.
    #[arg(long)]
    json: bool,
}

/// `--backend`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Device {
    Cpu,
    Gpu,
}

/// Runs the command: prints `{"parameters","vocab","unigram_loss","train_loss":[..per step],
/// "val_loss":[..],"val_steps":[..],"sample","tokens_per_s","flops_per_token","backend","adapter"}`.
pub fn run(a: PretrainArgs) -> Result<(), String> {
    if let Some(path) = &a.load {
        return loaded(&a, path);
    }
    let text = match &a.text_file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        None => match pretrain::built_in(&a.corpus) {
            Some(text) => text.to_owned(),
            None => return Err(format!("--corpus is sonnets (en), la-fontaine (fr) or histoires, not {}", a.corpus)),
        },
    };
    let corpus = Corpus::new(&text, a.context).map_err(|e| e.to_string())?;
    let config =
        GptConfig { vocab: corpus.chars.len(), layers: a.layers, width: a.width, heads: a.heads, context: a.context };
    check_sizes(&config).map_err(|e| e.to_string())?;
    let default = TrainSettings::for_model(&config);
    let settings = TrainSettings { batch: a.batch.max(1), peak_lr: a.lr.unwrap_or(default.peak_lr), ..default };
    let mut trainer = Trainer::new(config, settings, a.seed);
    let gpu = match a.backend {
        Device::Cpu => None,
        Device::Gpu => {
            let ctx = pollster::block_on(GpuContext::new()).map_err(|e| format!("no GPU to train on: {e}"))?;
            Some(GpuGpt::new(Rc::new(ctx), &trainer).map_err(|e| e.to_string())?)
        }
    };
    let (mut train_loss, mut val_loss, mut val_steps) = (Vec::new(), Vec::new(), Vec::new());
    let started = Instant::now();
    let mut eval_time = 0.0;
    for step in 0..=a.steps {
        if step % a.eval_every.max(1) == 0 || step == a.steps {
            let t = Instant::now();
            val_loss.push(match &gpu {
                None => trainer.held_out_loss(&corpus, a.eval_windows),
                Some(g) => pollster::block_on(g.held_out_loss(&corpus, a.eval_windows)).map_err(|e| e.to_string())?,
            });
            val_steps.push(step);
            eval_time += t.elapsed().as_secs_f64();
        }
        if step < a.steps {
            train_loss.push(match &gpu {
                None => trainer.train_step(&corpus),
                Some(g) => {
                    g.train_step(&mut trainer, &corpus).map_err(|e| e.to_string())?;
                    let loss = pollster::block_on(g.take_step_losses()).map_err(|e| e.to_string())?;
                    loss.map_or(f32::NAN, |(l, _)| l)
                }
            });
        }
    }
    if let Some(g) = &gpu {
        pollster::block_on(g.download(&mut trainer)).map_err(|e| e.to_string())?;
    }
    let train_time = started.elapsed().as_secs_f64() - eval_time;
    let tokens_per_s = (a.steps * settings.batch * a.context) as f64 / train_time.max(1e-9);
    let sample =
        pretrain::sample(&trainer.gpt, &corpus, &a.prompt, a.sample_chars, a.temperature, &mut Rng::new(a.seed + 2));
    if let Some(path) = &a.save {
        std::fs::write(path, pretrain::save(&trainer.gpt, &corpus))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let parameters = trainer.gpt.params.len();
    if a.json {
        println!(
            "{}",
            json!({
                "parameters": parameters,
                "vocab": corpus.chars.len(),
                "unigram_loss": corpus.unigram_loss(),
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_steps": val_steps,
                "sample": sample.text,
                "tokens_per_s": tokens_per_s,
                "flops_per_token": pretrain::flops_per_token(parameters),
                "backend": if gpu.is_some() { "gpu" } else { "cpu" },
                "adapter": gpu.as_ref().map(|g| g.adapter().to_owned()),
            })
        );
    } else {
        println!("{parameters} parameters, {} characters in the alphabet", corpus.chars.len());
        println!("letter frequencies alone: {:.3} nats per character on the held-out tenth", corpus.unigram_loss());
        for (s, l) in val_steps.iter().zip(&val_loss) {
            println!("step {s:>5}: held-out loss {l:.3}");
        }
        let on = gpu.as_ref().map_or("the CPU".to_owned(), |g| format!("the GPU ({})", g.adapter()));
        println!("{tokens_per_s:.0} characters per second trained on {on}");
        println!("sample: {}{}", sample.prompt, sample.text);
    }
    Ok(())
}

/// `--load F [--next TEXT [--guess W] [--answer-seeds ..]]`: a saved model's next characters after a
/// text (`"next"`, the ten likeliest, and `"entropy"`), a guess's score and continuations as the
/// next-word game shows them, and a sample.
fn loaded(a: &PretrainArgs, path: &std::path::Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (gpt, chars) = pretrain::load(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let corpus = Corpus { chars, ids: Vec::new(), split: 0 };
    let prompt = a.next.as_deref().unwrap_or(&a.prompt);
    let ids = tiny_game::read(&corpus, prompt);
    let guess = a.guess.as_deref().map(|w| corpus.encode(&guess_text(prompt, w)));
    let (next, score) = tiny_game::predict(&gpt, &ids, guess.as_deref().filter(|g| !g.is_empty()));
    let config =
        |seed| SamplerConfig { temperature: a.temperature, top_k: a.top_k, top_p: a.top_p, seed, ..Default::default() };
    let answers: Vec<String> = a
        .answer_seeds
        .iter()
        .map(|&s| tiny_game::continue_text(&gpt, &corpus, &ids, &config(s), a.answer_chars))
        .collect();
    let sample = pretrain::sample(&gpt, &corpus, prompt, a.sample_chars, a.temperature, &mut Rng::new(a.seed + 2));
    let top = next.top(10);
    if a.json {
        let char_of = |id: u32| corpus.decode(&[id]);
        let next_json: Vec<_> = top.iter().map(|c| json!({ "char": char_of(c.id), "prob": c.prob })).collect();
        let guess = score.map(|s| {
            let pieces: Vec<_> = s.pieces.iter().map(|&id| char_of(id)).collect();
            json!({ "pieces": pieces, "piece_probs": s.piece_probs, "prob": s.prob, "rank": s.rank })
        });
        println!(
            "{}",
            json!({
                "parameters": gpt.params.len(),
                "vocab": corpus.chars.len(),
                "read": corpus.decode(&ids),
                "next": next_json,
                "entropy": next.entropy(),
                "guess": guess,
                "answers": answers,
                "sample": sample.text,
            })
        );
    } else {
        for c in &top {
            println!("{:?}\t{:.4}", corpus.decode(&[c.id]), c.prob);
        }
        if let Some(s) = score {
            println!("guess: p = {:.3e}, its first character ranked {}", s.prob, s.rank);
        }
        for (seed, answer) in a.answer_seeds.iter().zip(&answers) {
            println!("seed {seed}: {prompt}{answer}");
        }
        println!("sample: {}{}", sample.prompt, sample.text);
    }
    Ok(())
}
