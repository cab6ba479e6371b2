//! The sparse autoencoder on the model's hidden states (`glassbox sae …`): its gradients against finite
//! differences of a float64 loss written here, its file, and — on the default model — the squeeze, the
//! per-token reading (against the float64 forward and a float64 encoder written here) and steering.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::reference_forward::default_model;
use engine::train::sae::{self, Sae, SaeConfig};
use engine::train::Rng;
use serde_json::Value;

/// A float64 copy of the parameters, in the order of `Sae::params_mut`.
fn params64(sae: &Sae) -> Vec<Vec<f64>> {
    [&sae.w_enc, &sae.b_enc, &sae.w_dec, &sae.b_dec].iter().map(|p| p.iter().map(|&x| x as f64).collect()).collect()
}

/// The code of one hidden state `x` in float64: `(feature, activation)` of the `k` largest positive
/// pre-activations, and the rebuilt vector, in the autoencoder's units; with `u`.
fn forward64(sae: &Sae, p: &[Vec<f64>], x: &[f32]) -> (Vec<(usize, f64)>, Vec<f64>, Vec<f64>) {
    let SaeConfig { d, width, k, .. } = sae.config;
    let (w_enc, b_enc, w_dec, b_dec) = (&p[0], &p[1], &p[2], &p[3]);
    let u: Vec<f64> = x.iter().zip(&sae.mean).map(|(&x, &m)| (x as f64 - m as f64) * sae.scale as f64).collect();
    let mut pre: Vec<(usize, f64)> =
        (0..width).map(|j| (j, (0..d).map(|i| w_enc[j * d + i] * (u[i] - b_dec[i])).sum::<f64>() + b_enc[j])).collect();
    pre.sort_by(|a, b| b.1.total_cmp(&a.1));
    let code: Vec<(usize, f64)> = pre.into_iter().take(k).filter(|&(_, z)| z > 0.0).collect();
    let mut rebuilt = b_dec.clone();
    for &(j, z) in &code {
        for i in 0..d {
            rebuilt[i] += z * w_dec[j * d + i];
        }
    }
    (code, rebuilt, u)
}

/// `Σ ‖û − u‖² / (n · d)` in float64.
fn loss64(sae: &Sae, p: &[Vec<f64>], batch: &[f32]) -> f64 {
    let d = sae.config.d;
    let n = batch.len() / d;
    let mut sum = 0.0;
    for x in batch.chunks_exact(d) {
        let (_, rebuilt, u) = forward64(sae, p, x);
        sum += rebuilt.iter().zip(&u).map(|(r, u)| (r - u).powi(2)).sum::<f64>();
    }
    sum / (n * d) as f64
}

/// A small autoencoder trained a little on random data, so that its biases are not zero.
fn small_sae() -> (Sae, Vec<f32>) {
    let mut rng = Rng::new(7);
    let (d, n) = (6, 5);
    let data: Vec<f32> = (0..40 * d).map(|i| rng.normal() * (1.0 + (i % d) as f32) + 0.5).collect();
    let config = SaeConfig { d, width: 10, k: 3, layer: 0 };
    let mut trainer = sae::SaeTrainer::new(Sae::new(config, &data, 3).expect("sae"), 3);
    trainer.batch = 8;
    for _ in 0..20 {
        trainer.step(&data);
    }
    (trainer.sae, data[..n * d].to_vec())
}

#[test]
fn sae_gradients_match_finite_differences_of_a_float64_loss() {
    let (sae, batch) = small_sae();
    let (stats, grads) = sae.gradients(&batch);
    let p = params64(&sae);
    let loss = loss64(&sae, &p, &batch);
    assert!((stats.loss as f64 - loss).abs() < 1e-5 * loss.max(1.0), "loss {} vs float64 {loss}", stats.loss);
    let analytic = [&grads.w_enc, &grads.b_enc, &grads.w_dec, &grads.b_dec];
    let h = 1e-6;
    let (mut worst, mut checked, mut nonzero) = (0.0f64, 0, 0);
    for (t, g) in analytic.iter().enumerate() {
        for i in 0..g.len() {
            let mut plus = p.clone();
            plus[t][i] += h;
            let mut minus = p.clone();
            minus[t][i] -= h;
            let numeric = (loss64(&sae, &plus, &batch) - loss64(&sae, &minus, &batch)) / (2.0 * h);
            let err = (numeric - g[i] as f64).abs() / (numeric.abs().max(g[i].abs() as f64).max(1e-3));
            worst = worst.max(err);
            checked += 1;
            nonzero += usize::from(numeric.abs() > 1e-6);
        }
    }
    eprintln!("{checked} gradients ({nonzero} non-zero) vs central differences of float64: worst relative {worst:.1e}");
    assert!(nonzero > checked / 3, "the batch exercises most parameters");
    assert!(worst < 1e-3, "worst relative error {worst}");
}

#[test]
fn training_keeps_decoder_directions_unit_and_lowers_the_loss() {
    let mut rng = Rng::new(11);
    let d = 8;
    // Data on a few directions: a sparse code explains it.
    let dirs: Vec<f32> = (0..4 * d).map(|_| rng.normal()).collect();
    let data: Vec<f32> = (0..400)
        .flat_map(|_| {
            let (a, b) = (rng.below(4), rng.below(4));
            let (sa, sb) = (1.0 + rng.uniform(), 1.0 + rng.uniform());
            (0..d).map(|i| sa * dirs[a * d + i] + sb * dirs[b * d + i]).collect::<Vec<_>>()
        })
        .collect();
    let config = SaeConfig { d, width: 16, k: 2, layer: 0 };
    let mut trainer = sae::SaeTrainer::new(Sae::new(config, &data, 1).expect("sae"), 1);
    let before = trainer.sae.fvu(&data);
    for _ in 0..1500 {
        trainer.step(&data);
    }
    let after = trainer.sae.fvu(&data);
    eprintln!("fraction of variance unexplained: {before:.3} → {after:.3}");
    assert!(after < 0.2 && after < before / 3.0, "{before} → {after}");
    for row in trainer.sae.w_dec.chunks_exact(d) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "a decoder direction of norm {norm}");
    }
}

#[test]
fn sae_file_round_trips_and_broken_files_are_refused_with_a_reason() {
    let (sae, _) = small_sae();
    let bytes = sae::save(&sae);
    assert_eq!(sae::load(&bytes).expect("load"), sae);
    let mut nan = bytes.clone();
    let at = nan.len() - 4;
    nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    let mut huge = bytes.clone();
    huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes()); // width
    let cases: [(&[u8], &str); 5] = [
        (b"GGUF....", "not a Glassbox sparse-autoencoder file"),
        (&bytes[..bytes.len() - 1], "bytes after its magic line"),
        (&bytes[..20], "cut short"),
        (&nan, "not numbers"),
        (&huge, "impossible sizes"),
    ];
    for (broken, why) in cases {
        let err = sae::load(broken).expect_err(why);
        assert!(err.contains(why), "{err}");
    }
}

// ---- On the default model, through the command line ----

fn glassbox(args: &[&str]) -> Value {
    common::glassbox_json("sae", args)
}

/// One autoencoder trained by the command line on the built-in text, shared by the tests below.
fn trained() -> &'static (PathBuf, Value) {
    static TRAINED: OnceLock<(PathBuf, Value)> = OnceLock::new();
    TRAINED.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("glassbox-test-{}.sae", std::process::id()));
        let out = path.to_str().expect("utf8").to_owned();
        let report = glassbox(&["train", "--steps", "600", "--seed", "1", "--out", &out]);
        eprintln!("trained: {report}");
        (path, report)
    })
}

/// Text the autoencoder never read (the built-in text is stories in French and sonnets).
const HELD_OUT: &str = "The old fisherman walked down to the harbour at dawn. His boat was small and blue, and the \
                        sea was calm. He thought about his daughter, who lived in the city now.";

#[test]
fn squeezing_through_the_identity_changes_nothing() {
    let (path, _) = trained();
    let r = glassbox(&["squeeze", "--sae", path.to_str().expect("utf8"), "--text", HELD_OUT, "--identity"]);
    let kl: Vec<f64> = serde_json::from_value(r["kl"].clone()).expect("kl");
    assert!(!kl.is_empty() && kl.iter().all(|&k| k == 0.0), "{kl:?}");
    assert_eq!(r["same_top1"].as_f64(), Some(1.0));
}

#[test]
fn a_trained_autoencoder_moves_the_next_word_far_less_than_the_mean_or_zero_on_text_it_never_read() {
    let (path, report) = trained();
    assert!(report["val_fvu"].as_f64().expect("val_fvu") < 0.5, "held-out vectors rebuilt: {report}");
    assert_eq!(report["active"].as_f64(), Some(32.0), "k features on per vector");
    let r = glassbox(&["squeeze", "--sae", path.to_str().expect("utf8"), "--text", HELD_OUT]);
    let (kl, mean, zero) = (
        r["mean_kl"].as_f64().expect("kl"),
        r["mean_kl_mean"].as_f64().expect("kl"),
        r["mean_kl_zero"].as_f64().expect("kl"),
    );
    eprintln!(
        "held-out text: fvu {}, mean KL {kl:.3} nats (mean floor {mean:.3}, zero floor {zero:.3}), same top-1 {}",
        r["fvu"], r["same_top1"]
    );
    assert!(kl < 0.25 * mean.min(zero), "the squeeze keeps most of what the layer carries");
    assert!(r["same_top1"].as_f64().expect("same") > 0.4);
}

#[test]
fn each_tokens_reading_matches_the_float64_forward_and_encoder() {
    let (path, _) = trained();
    let sae = sae::load(&std::fs::read(path).expect("read")).expect("load");
    let text = "Le chat dort au soleil.";
    let r = glassbox(&["--exact", "read", "--sae", path.to_str().expect("utf8"), "--text", text, "--top", "3"]);
    let ids: Vec<u32> = serde_json::from_value(r["ids"].clone()).expect("ids");
    let tokens = r["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), ids.len() - 1, "every token after the start token");
    let model = default_model();
    let hidden = &model.run(&ids).hidden[sae.config.layer];
    let p = params64(&sae);
    let d = model.n_embd;
    let (mut worst_error, mut features_equal) = (0.0f64, 0);
    for (t, token) in tokens.iter().enumerate() {
        let x: Vec<f32> = hidden[(t + 1) * d..(t + 2) * d].iter().map(|&v| v as f32).collect();
        let (code, rebuilt, u) = forward64(&sae, &p, &x);
        let want =
            rebuilt.iter().zip(&u).map(|(r, u)| (r - u).powi(2)).sum::<f64>() / u.iter().map(|u| u * u).sum::<f64>();
        let got = token["error"].as_f64().expect("error");
        worst_error = worst_error.max((got - want).abs());
        let got_first = token["features"][0][0].as_u64().expect("feature") as usize;
        features_equal += usize::from(got_first == code[0].0);
    }
    eprintln!("per-token reconstruction error vs float64: max |Δ| {worst_error:.1e}; strongest feature equal at {features_equal}/{}", tokens.len());
    assert!(worst_error < 2e-3, "{worst_error}");
    assert!(features_equal + 1 >= tokens.len(), "the strongest feature (one near tie allowed)");
}

#[test]
fn steering_with_the_features_that_fire_on_a_word_raises_that_words_probability() {
    let (path, report) = trained();
    let sae_path = path.to_str().expect("utf8");
    let width = report["width"].as_u64().expect("width") as usize;
    let all: Vec<String> = (0..width).map(|j| j.to_string()).collect();
    let cards = glassbox(&["features", "--sae", sae_path, "--top", "6", "--feature", &all.join(",")]);
    let cards = cards["features"].as_array().expect("features");
    // For each word, every feature whose six strongest tokens are (at least five times) that word, added
    // with the strength of a typical firing after a beginning where the word could come next.
    let words = [
        (" mer", "Ce matin, nous sommes allés voir la"),
        (" chat", "Dans le jardin, il y avait un"),
        (" world", "I would like to tell you about the"),
        (" beauty", "I would like to tell you about the"),
    ];
    let (mut log_ratios, mut rows) = (Vec::new(), Vec::new());
    for (word, prompt) in words {
        for card in cards {
            let hits = card["top"].as_array().expect("top").iter().filter(|t| t["token"] == word).count();
            if hits < 5 {
                continue;
            }
            let feature = card["feature"].as_u64().expect("feature").to_string();
            let r = glassbox(&[
                "steer",
                "--sae",
                sae_path,
                "--text",
                prompt,
                "--feature",
                &feature,
                "--strength",
                "8",
                "--word",
                word,
                "--tokens",
                "1",
            ]);
            let (plain, steered) = (r["plain_prob"].as_f64().expect("p"), r["steered_prob"].as_f64().expect("p"));
            log_ratios.push((steered / plain).ln());
            rows.push(format!("«{word}» feature {feature}: {plain:.2e} → {steered:.2e}"));
        }
    }
    let raised = log_ratios.iter().filter(|&&l| l > 0.0).count();
    let geometric = (log_ratios.iter().sum::<f64>() / log_ratios.len().max(1) as f64).exp();
    eprintln!(
        "p(word next), as it is → steered:\n  {}\n{raised} of {} raised; geometric mean ×{geometric:.2}",
        rows.join("\n  "),
        rows.len()
    );
    assert!(rows.len() >= 4, "features that fire on these words: {}", rows.len());
    assert!(2 * raised > rows.len(), "most of them raise their word");
    assert!(geometric > 1.2, "by ×{geometric:.2} in geometric mean");
}

fn gpu() -> std::rc::Rc<engine::backend::gpu::GpuContext> {
    match pollster::block_on(engine::backend::gpu::GpuContext::new()) {
        Ok(ctx) => std::rc::Rc::new(ctx),
        Err(err) => panic!("no GPU adapter (lavapipe is expected here): {err}"),
    }
}

/// `max |a − b| / max |a|` over one tensor.
fn gap(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-12);
    a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// `‖a − b‖ / ‖a‖`.
fn rms_gap(a: &[f32], b: &[f32]) -> f32 {
    let diff: f32 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    (diff / a.iter().map(|x| x * x).sum::<f32>().max(1e-24)).sqrt()
}

/// An autoencoder of awkward sizes (nothing a multiple of the 64-wide workgroups) on skewed random
/// data, with random biases so that every term of the gradient counts.
/// With `prototypes`, the data are that many points with a little noise, so that most features never
/// win a vector and die.
fn awkward_sae(width: usize, k: usize, prototypes: Option<usize>) -> (Sae, Vec<f32>) {
    let mut rng = Rng::new(11);
    let d = 37;
    let mut data: Vec<f32> = (0..600 * d).map(|i| rng.normal() * (1.0 + (i % 5) as f32) + 0.3).collect();
    if let Some(p) = prototypes {
        let points = data[..p * d].to_vec();
        for (i, x) in data.iter_mut().enumerate() {
            *x = points[(i / d) % p * d + i % d] + 0.05 * rng.normal();
        }
    }
    let mut sae = Sae::new(SaeConfig { d, width, k, layer: 0 }, &data, 5).expect("sae");
    sae.b_enc.iter_mut().for_each(|b| *b = 0.2 * rng.normal());
    sae.b_dec.iter_mut().for_each(|b| *b = 0.2 * rng.normal());
    (sae, data)
}

/// f32 sums in another order: the gradients agree to a few units of f32 rounding, relative to each
/// tensor's largest entry (measured ≈ 1e-6 on lavapipe); a feature picked differently by the top-k would
/// show as an error of order 1.
const GPU_GRAD_TOLERANCE: f32 = 1e-4;

#[test]
fn sae_gradients_gpu_match_cpu() {
    let (sae, data) = awkward_sae(203, 9, None);
    let batch = &data[..sae::BATCH * sae.config.d];
    let (_, cpu) = sae.gradients(batch);
    let trainer = sae::GpuSaeTrainer::new(gpu(), &sae, 1).expect("upload");
    let gpu = pollster::block_on(trainer.gradients(batch)).expect("gradients");
    let gaps = [
        gap(&cpu.w_enc, &gpu.w_enc),
        gap(&cpu.b_enc, &gpu.b_enc),
        gap(&cpu.w_dec, &gpu.w_dec),
        gap(&cpu.b_dec, &gpu.b_dec),
    ];
    println!(
        "|GPU − CPU| / max |grad|: w_enc {:.1e}, b_enc {:.1e}, w_dec {:.1e}, b_dec {:.1e}",
        gaps[0], gaps[1], gaps[2], gaps[3]
    );
    assert!(gaps.iter().all(|&g| g < GPU_GRAD_TOLERANCE), "{gaps:?}");
}

/// Trains the same autoencoder on the CPU and the GPU from the same seed for 300 steps (9,600 vectors:
/// past DEAD_AFTER, so dead features are counted) and prints and returns what both say.
fn train_both(prototypes: Option<usize>) -> Both {
    let (sae, data) = awkward_sae(130, 6, prototypes);
    let steps = 300;
    let mut cpu = sae::SaeTrainer::new(sae.clone(), 4);
    let gpu = sae::GpuSaeTrainer::new(gpu(), &sae, 4).expect("upload");
    let (mut fvu, mut active) = (0.0f32, 0.0f32);
    for _ in 0..steps {
        let s = cpu.step(&data);
        fvu += s.fvu / steps as f32;
        active += s.active / steps as f32;
        gpu.step(&data).expect("step");
    }
    let stats = pollster::block_on(gpu.take_stats()).expect("stats").expect("steps were taken");
    let after = pollster::block_on(gpu.download()).expect("download");
    let held_out = &data[500 * sae.config.d..];
    let both = Both {
        fvu: (fvu, stats.fvu),
        active: (active, stats.active),
        held_out: (cpu.sae.fvu(held_out), after.fvu(held_out)),
        dead: (cpu.dead(), pollster::block_on(gpu.dead()).expect("dead")),
        weights: rms_gap(&cpu.sae.w_dec, &after.w_dec).max(rms_gap(&cpu.sae.w_enc, &after.w_enc)),
    };
    println!("{steps} steps, prototypes {prototypes:?}: (CPU, GPU) {both:?}");
    for row in after.w_dec.chunks_exact(sae.config.d) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "a direction of length {norm}");
    }
    both
}

#[derive(Debug)]
struct Both {
    fvu: (f32, f32),
    active: (f32, f32),
    held_out: (f32, f32),
    dead: (usize, usize),
    weights: f32,
}

fn close(pair: (f32, f32), rel: f32) -> bool {
    (pair.0 - pair.1).abs() <= rel * pair.0.abs()
}

#[test]
fn sae_training_gpu_follows_the_cpu_step_by_step() {
    // The same batches, the same steps: what is left apart is f32 rounding. On spread-out data the
    // weights stay together (RMS gap measured 1e-6); the curves, the held-out error and the dead
    // features must agree far below their step-to-step noise.
    let spread = train_both(None);
    assert!(spread.weights < 1e-3, "weights apart by {} (RMS, relative)", spread.weights);
    // Clustered data, where most features die and the loss nears zero: there Adam (±lr per step,
    // whatever a gradient's size) turns rounding into visible weight differences (RMS measured 2.5e-2)
    // on features whose gradient is near zero, but not into different figures.
    let clustered = train_both(Some(12));
    for both in [&spread, &clustered] {
        assert!(close(both.fvu, 1e-3), "training FVU {:?}", both.fvu);
        assert!(close(both.active, 1e-3), "active {:?}", both.active);
        assert!(close(both.held_out, 1e-2), "held-out FVU {:?}", both.held_out);
        assert!(both.dead.0.abs_diff(both.dead.1) <= 1, "dead {:?}", both.dead);
    }
    assert!(clustered.dead.0 > 0, "no feature died: the dead count went unchecked");
}

#[test]
fn a_features_card_finds_what_encoding_every_vector_finds() {
    // The card walks vectors in the order of one feature's pre-activation and encodes only until it has
    // enough; here every vector is encoded and the feature's activations sorted.
    let (sae, data) = awkward_sae(203, 9, None);
    let d = sae.config.d;
    let mut checked = 0;
    for feature in 0..sae.config.width {
        let mut all: Vec<(usize, f32)> = data
            .chunks_exact(d)
            .enumerate()
            .filter_map(|(i, x)| {
                sae.encode_units(&sae.to_units(x))
                    .into_iter()
                    .find(|&(j, _)| j as usize == feature)
                    .map(|(_, z)| (i, z))
            })
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1));
        all.truncate(5);
        let found = engine::thoughts::strongest_for(&sae, &data, feature, 5, data.len() / d);
        assert_eq!(found, all, "feature {feature}");
        checked += usize::from(!all.is_empty());
    }
    assert!(checked > 100, "only {checked} features fire");
}
