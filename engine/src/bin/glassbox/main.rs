//! `glassbox`: the engine's command-line front door (native only).
//!
//! ```text
//! cargo run --release -p engine --bin glassbox -- tokenize --model M --text "Hello" --json
//! cargo run --release -p engine --bin glassbox -- generate --model M --prompt "Hi" --chat --json
//! cargo run --release -p engine --bin glassbox -- score --model M --ids 1,2,3 --top 5 --json
//! cargo run --release -p engine --bin glassbox -- next --model M --text "Le chat mange la" --guess souris --json
//! ```
//! With `--json`, the last line of stdout is one JSON value. Errors are one line on stderr, exit code 1.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    match cli::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("glassbox: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod converse;
#[cfg(not(target_arch = "wasm32"))]
mod formats;
#[cfg(not(target_arch = "wasm32"))]
mod generate;
#[cfg(not(target_arch = "wasm32"))]
mod pretrain;
#[cfg(not(target_arch = "wasm32"))]
mod reward;
#[cfg(not(target_arch = "wasm32"))]
mod sae;
#[cfg(not(target_arch = "wasm32"))]
mod score;
#[cfg(not(target_arch = "wasm32"))]
mod teach;

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::path::PathBuf;

    use clap::{Args, Parser, Subcommand, ValueEnum};
    use engine::backend::cpu::Precision;
    use engine::generate::Engine;
    use engine::model::FileBytes;
    use serde_json::json;

    #[derive(Parser)]
    #[command(name = "glassbox", about = "Glassbox's transformer engine on the command line")]
    struct Cli {
        #[command(subcommand)]
        command: Command,
        /// CPU threads the engine's products are split over (default: every core).
        #[arg(long, global = true)]
        threads: Option<usize>,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Text → token ids.
        Tokenize {
            #[command(flatten)]
            model: ModelArgs,
            /// The text (typed by a user: control-token strings stay text).
            #[arg(long)]
            text: String,
            /// Print `{"ids":[...]}`.
            #[arg(long)]
            json: bool,
        },
        /// Continue a prompt.
        Generate {
            #[command(flatten)]
            model: ModelArgs,
            #[command(flatten)]
            args: super::generate::GenerateArgs,
        },
        /// The next-token distribution after a plain text (no chat template), as the page's next-word
        /// game shows it; always exact, as the page computes it: the CPU's f32 path, or the GPU's
        /// (`--backend gpu`).
        Next {
            #[command(flatten)]
            model: ModelArgs,
            /// The text so far (tokenized as `tokenize` does, after a BOS token if the model asks for one).
            #[arg(long)]
            text: String,
            /// How many of the likeliest tokens to list.
            #[arg(long, default_value_t = 10)]
            top: usize,
            /// A guessed next word: its probability (the product of its pieces') and its first piece's
            /// rank. A space goes before it unless the text ends with one, an apostrophe or a hyphen.
            #[arg(long)]
            guess: Option<String>,
            /// Also report the distribution these sampling settings draw from (`"sampled"`): top-k, then
            /// temperature (0: greedy), then top-p, as the sampler applies them.
            #[arg(long)]
            temperature: Option<f32>,
            /// Keep the k likeliest tokens (0: all); implies `"sampled"` (temperature 1 unless given).
            #[arg(long)]
            top_k: Option<usize>,
            /// Nucleus threshold; implies `"sampled"` (temperature 1 unless given).
            #[arg(long)]
            top_p: Option<f32>,
            /// One JSON object: `{"ids","top","entropy","guess","sampled","backend"}`.
            #[arg(long)]
            json: bool,
        },
        /// The nearest tokens to a word's embedding (the mean of its pieces' rows) by cosine over the
        /// whole vocabulary, the word's own pieces left out; with `--minus B --plus C`, to word − B + C.
        Neighbours {
            #[command(flatten)]
            model: ModelArgs,
            /// The word.
            #[arg(long)]
            word: String,
            /// An analogy: subtract this word's vector.
            #[arg(long, requires = "plus")]
            minus: Option<String>,
            /// An analogy: add this word's vector.
            #[arg(long, requires = "minus")]
            plus: Option<String>,
            /// How many neighbours.
            #[arg(long, default_value_t = 10)]
            top: usize,
            /// Two sentences holding the word: prints instead the cosine of its two vectors after each
            /// block (`{"cosines":[..],"backend"}`), as the page's "same word in two sentences" (on the GPU
            /// with `--backend gpu`).
            #[arg(long, num_args = 2, value_names = ["FIRST", "SECOND"], conflicts_with_all = ["minus", "plus"])]
            sentences: Option<Vec<String>>,
            /// `{"pieces":[..],"neighbours":[{"id","text","cosine"}]}`.
            #[arg(long)]
            json: bool,
        },
        /// The pre-training lab's tiny GPT (characters) trained on a text: the training and held-out
        /// losses, the letter-frequency baseline, a sample. No model file: it starts from noise.
        Pretrain(super::pretrain::PretrainArgs),
        /// A model's card from its header alone (architecture, size, block formats, tokenizer, chat
        /// template, memory per position): what the page shows. One JSON object.
        Card {
            /// A GGUF file.
            #[arg(long)]
            model: PathBuf,
        },
        /// What each block format costs on this CPU: a 1536 × 1536 matrix of random blocks times one
        /// token, on the 8-bit and the exact path, and times a 64-token prompt read a tile of tokens at a time
        /// and one at a time, the median of `--runs` (no model needed).
        Formats {
            #[arg(long, default_value_t = 15)]
            runs: usize,
        },
        /// What a long conversation costs: a scripted conversation whose turns continue the cache (or
        /// `--fresh`), per turn the tokens kept, the time to the first token and the decode speed; or
        /// `--long N`, the time per token around the 100th and the N-th of one answer. One JSON object.
        Converse {
            #[command(flatten)]
            model: ModelArgs,
            #[command(flatten)]
            args: super::converse::ConverseArgs,
        },
        /// The sparse autoencoder on the model's hidden states (the page's *Thoughts* view): train it,
        /// squeeze a text through it, read a text's tokens through it, list what fires its features,
        /// steer with one. On the CPU, 8-bit activations as the page; `--exact` for the reference path.
        Sae {
            #[command(flatten)]
            model: ModelArgs,
            /// `train`'s report on one line (the others always print one JSON object).
            #[arg(long)]
            json: bool,
            #[command(subcommand)]
            action: super::sae::SaeAction,
        },
        /// The preference game's reward model: every answer's features (the final hidden state, after
        /// the final norm, averaged over its tokens), a linear score fitted to the votes with the
        /// Bradley–Terry loss on three votes in four, its accuracy on the fourth, and the candidates'
        /// scores. On the CPU, 8-bit activations as the page; `--exact` for the reference path;
        /// `--backend gpu` on the GPU, as the page when its model is there.
        Reward {
            #[command(flatten)]
            model: ModelArgs,
            /// The votes, as the page exports them: `{"votes":[{"question","chosen":{"ids"|"text"},
            /// "rejected":{..}}],"candidates":[{"question","ids"|"text"}]}`.
            #[arg(long)]
            votes: PathBuf,
            /// Also print every vote's features.
            #[arg(long)]
            features: bool,
            /// One JSON object.
            #[arg(long)]
            json: bool,
        },
        /// The logit lens: at every layer and position, the final norm and output matrix applied to the
        /// residual stream after that block (on the CPU, 8-bit activations as the page; `--exact` for the
        /// reference path; `--backend gpu`: on the GPU, exact, at most 8 tokens per cell).
        Lens {
            #[command(flatten)]
            model: ModelArgs,
            /// The text (tokenized as `next` does).
            #[arg(long)]
            text: String,
            /// How many tokens per cell (the first is the cell's guess).
            #[arg(long, default_value_t = 1)]
            top: usize,
            /// `{"ids":[..],"layers":[[{"id","text","prob","top":[..]} per position] per layer],"backend":..,"ms":..}`
            /// (`ms`: the lens alone, the model already loaded).
            #[arg(long)]
            json: bool,
        },
        /// The masked-word game: candidate words for the blank (`___`) of a sentence, ranked by the
        /// probability of the whole completed sentence (on the CPU, 8-bit activations as the page; `--exact`
        /// for the reference path).
        Fill {
            #[command(flatten)]
            model: ModelArgs,
            /// The sentence, with `___` where the word goes.
            #[arg(long)]
            text: String,
            /// Comma-separated candidate words.
            #[arg(long, value_delimiter = ',')]
            candidates: Vec<String>,
            /// Also add the model's own N likeliest words for the blank (its next tokens there).
            #[arg(long, default_value_t = 0)]
            propose: usize,
            /// One JSON object: `{"candidates":[{"word","logprob","prob","ids"}],"proposed":[..],"ms":..}`, best first
            /// (`ms`: proposing and scoring, the model already loaded).
            #[arg(long)]
            json: bool,
        },
        /// Teacher-forced top-k logits at every position of a sequence of ids.
        Score {
            #[command(flatten)]
            model: ModelArgs,
            /// Comma-separated token ids.
            #[arg(long, value_delimiter = ',')]
            ids: Vec<u32>,
            /// How many logits per position.
            #[arg(long, default_value_t = 5)]
            top: usize,
            /// Also report the last token's attention in this layer and head (`L,H`, from 0), as the
            /// app's attention explorer shows it.
            #[arg(long, value_delimiter = ',')]
            attention: Option<Vec<usize>>,
            /// A JSON array, one `{"ids":[...],"logits":[...],"entropy":..,"next_prob":..}` per position
            /// (`next_prob`: the probability of the next id given; with `--attention`, an
            /// object: `{"positions": [...], "attention": [...]}`).
            #[arg(long)]
            json: bool,
        },
    }

    #[derive(Args)]
    struct ModelArgs {
        /// A GGUF file.
        #[arg(long)]
        model: PathBuf,
        /// Compute backend: `gpu` fails when no adapter can run the model, `auto` falls back to the CPU.
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,
        /// CPU: f32 activations throughout (the reference path) instead of 8-bit activations. The GPU is
        /// always exact, so there it changes nothing.
        #[arg(long)]
        exact: bool,
    }

    #[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
    enum Backend {
        Cpu,
        Gpu,
        Auto,
    }

    impl ModelArgs {
        fn load(&self) -> Result<Engine, String> {
            let file = FileBytes::map(&self.model)
                .map_err(|e| format!("cannot read model file {}: {e}", self.model.display()))?;
            let precision = if self.exact { Precision::Exact } else { Precision::Int8 };
            let mut engine =
                Engine::from_gguf(file, precision).map_err(|e| format!("{}: {e}", self.model.display()))?;
            if self.backend != Backend::Cpu {
                match pollster::block_on(engine.use_gpu()) {
                    Ok(()) => {}
                    Err(err) if self.backend == Backend::Gpu => return Err(err.to_string()),
                    Err(err) => eprintln!("glassbox: {err}; using the CPU"),
                }
            }
            Ok(engine)
        }
    }

    /// The process's peak resident memory (Linux's VmHWM), if the OS reports it.
    pub(crate) fn peak_rss_bytes() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    pub fn run() -> Result<(), String> {
        let cli = Cli::parse();
        if cli.threads == Some(0) {
            return Err("--threads takes 1 or more".into());
        }
        if let Some(threads) = cli.threads {
            engine::backend::cpu::pool::set_threads(threads)
                .map_err(|started| format!("the CPU threads already started with {started} threads"))?;
        }
        execute(cli.command)
    }

    fn execute(command: Command) -> Result<(), String> {
        match command {
            Command::Tokenize { model, text, json } => {
                // The tokenizer alone: a vocab-only file (no tensors) works as llama.cpp's do.
                let path = &model.model;
                let file =
                    FileBytes::map(path).map_err(|e| format!("cannot read model file {}: {e}", path.display()))?;
                let gguf =
                    engine::gguf::Gguf::parse(file.as_slice()).map_err(|e| format!("{}: {e}", path.display()))?;
                let tokenizer = engine::tokenizer::Tokenizer::from_gguf(&gguf).map_err(|e| e.to_string())?;
                let ids = tokenizer.encode_text(&text).map_err(|e| e.to_string())?;
                if json {
                    println!("{}", json!({ "ids": ids }));
                } else {
                    for id in ids {
                        println!("{id}\t{:?}", tokenizer.token_label(id).map_err(|e| e.to_string())?);
                    }
                }
                Ok(())
            }
            Command::Generate { model, args } => super::generate::run(&model.load()?, args),
            Command::Next { model, text, top, guess, temperature, top_k, top_p, json } => {
                super::teach::next(&model.load()?, &text, top, guess.as_deref(), (temperature, top_k, top_p), json)
            }
            Command::Neighbours { model, word, minus, plus, top, sentences, json } => super::teach::neighbours(
                &model.load()?,
                &word,
                minus.as_deref().zip(plus.as_deref()),
                top,
                sentences.as_deref(),
                json,
            ),
            Command::Pretrain(args) => super::pretrain::run(args),
            Command::Card { model } => {
                let file =
                    FileBytes::map(&model).map_err(|e| format!("cannot read model file {}: {e}", model.display()))?;
                let gguf =
                    engine::gguf::Gguf::parse(file.as_slice()).map_err(|e| format!("{}: {e}", model.display()))?;
                println!("{}", json!(engine::model::ModelCard::read(&gguf)));
                Ok(())
            }
            Command::Formats { runs } => super::formats::run(runs.max(1)),
            Command::Converse { model, args } => super::converse::run(&model.load()?, args),
            Command::Sae { model, json, action } => super::sae::run(&model.load()?, action, json),
            Command::Reward { model, votes, features, json } => {
                super::reward::run(&model.load()?, &votes, features, json)
            }
            Command::Lens { model, text, top, json } => super::teach::lens(&model.load()?, &text, top, json),
            Command::Fill { model, text, candidates, propose, json } => {
                super::teach::fill(&model.load()?, &text, candidates, propose, json)
            }
            Command::Score { model, ids, top, attention, json } => {
                super::score::run(&model.load()?, &ids, top, attention.as_deref(), json)
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use clap::CommandFactory;

        /// Each subcommand's one-line help names what it does (a doc comment placed above the wrong
        /// variant once gave `pretrain` the reward model's text and `converse`, `sae` and `reward` none).
        #[test]
        fn every_subcommand_has_its_own_help() {
            let cli = super::Cli::command();
            let about = |name: &str| {
                let sub = cli.find_subcommand(name).unwrap_or_else(|| panic!("no subcommand {name}"));
                sub.get_about().map(|a| a.to_string()).unwrap_or_default()
            };
            for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
                assert!(sub.get_about().is_some(), "`{}` has no help", sub.get_name());
            }
            let expect = [
                ("pretrain", "tiny GPT", "Bradley"),
                ("reward", "Bradley", "tiny GPT"),
                ("sae", "sparse autoencoder", "conversation"),
                ("converse", "conversation", "card"),
                ("card", "card", "sparse autoencoder"),
                ("lens", "logit lens", "masked"),
            ];
            for (name, has, lacks) in expect {
                let text = about(name);
                assert!(text.contains(has) && !text.contains(lacks), "`{name}`'s help: {text}");
            }
        }
    }
}
