//! The tiny GPT's training on the GPU (lavapipe here) against its CPU trainer, whose backward pass the
//! tests above check against central differences of a float64 forward: the gradients of one batch, then
//! ten clipped AdamW steps on the same batches, the losses they report and the held-out loss.

use std::rc::Rc;

use engine::backend::gpu::GpuContext;
use engine::train::pretrain::{Corpus, TrainSettings, Trainer, SONNETS};
use engine::train::{GptConfig, GpuGpt};

fn gpu() -> Rc<GpuContext> {
    match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => Rc::new(ctx),
        Err(err) => panic!("no GPU adapter (lavapipe is expected here): {err}"),
    }
}

/// Two blocks of width 16, two heads, windows of 8, batches of 3: every kernel and both heads' halves.
fn setup() -> (Corpus, Trainer) {
    let corpus = Corpus::new(SONNETS, 8).expect("corpus");
    let config = GptConfig { vocab: corpus.chars.len(), layers: 2, width: 16, heads: 2, context: 8 };
    let settings = TrainSettings { batch: 3, clip: 0.1, ..TrainSettings::for_model(&config) };
    (corpus, Trainer::new(config, settings, 7))
}

/// The largest difference over the largest value, per parameter group.
fn worst_group(trainer: &Trainer, gpu: &[f32], cpu: &[f32]) -> (String, f32) {
    trainer
        .gpt
        .groups()
        .iter()
        .map(|g| {
            let r = g.start..g.start + g.len;
            let scale = cpu[r.clone()].iter().fold(0f32, |a, v| a.max(v.abs())).max(1e-12);
            let diff = gpu[r.clone()].iter().zip(&cpu[r]).fold(0f32, |a, (x, y)| a.max((x - y).abs()));
            (g.name.clone(), diff / scale)
        })
        .fold((String::new(), 0.0), |a, b| if b.1 > a.1 { b } else { a })
}

/// GPU and CPU sum in different orders; each group's gradient agrees to 1e-4 of its largest entry (a
/// wrong index or a missing term, e.g. the tied embeddings' second use, is off by far more).
#[test]
fn the_tiny_gpts_gradients_on_the_gpu_match_its_cpu_backward_in_every_group() {
    let (corpus, mut trainer) = setup();
    for _ in 0..3 {
        trainer.train_step(&corpus); // away from the symmetric start
    }
    let (x, y) = trainer.batch(&corpus);
    let gpu_gpt = GpuGpt::new(gpu(), &trainer).expect("upload");
    let on_gpu = pollster::block_on(gpu_gpt.gradients(&x, &y)).expect("gradients");
    let (pass, _) = trainer.gpt.forward(&x, 3, Some(&y));
    let on_cpu = trainer.gpt.backward(&pass, &y);
    assert_eq!(on_gpu.len(), on_cpu.len());
    let (group, worst) = worst_group(&trainer, &on_gpu, &on_cpu);
    println!("worst group {group}: {worst:.2e} of its largest gradient");
    assert!(worst < 1e-4, "{group}: {worst:.2e}");
}

/// Ten steps with the gradient clipped (its norm is above 0.1 at every step) and weight decay: the
/// parameters stay within 1e-4 of the CPU's (steps are ~lr = 0.04 each: a missed clip or decay moves
/// them by more), the mean reported loss within 1e-4, the held-out loss (16 windows, six passes of three,
/// the last padded) within 1e-4, and the weights and moments read back continue on the CPU.
#[test]
fn ten_adamw_steps_on_the_gpu_follow_the_cpu_trainer() {
    let (corpus, mut cpu) = setup();
    let mut on_gpu = cpu.clone();
    let gpu_gpt = GpuGpt::new(gpu(), &on_gpu).expect("upload");
    let mut losses = Vec::new();
    for _ in 0..10 {
        let mut probe = cpu.clone();
        let (x, y) = probe.batch(&corpus);
        let (pass, _) = probe.gpt.forward(&x, 3, Some(&y));
        let g = probe.gpt.backward(&pass, &y);
        let norm = g.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!(norm > cpu.settings.clip, "the clip is active: norm {norm}");
        losses.push(cpu.train_step(&corpus));
        gpu_gpt.train_step(&mut on_gpu, &corpus).expect("step");
    }
    let (mean, steps) = pollster::block_on(gpu_gpt.take_step_losses()).expect("losses").expect("ten steps");
    let cpu_mean = losses.iter().sum::<f32>() / 10.0;
    assert_eq!((steps, on_gpu.step), (10, 10));
    assert!((mean - cpu_mean).abs() < 1e-4, "mean step loss {mean} vs {cpu_mean}");
    assert_eq!(pollster::block_on(gpu_gpt.take_step_losses()).expect("losses"), None, "read once");
    let held = pollster::block_on(gpu_gpt.held_out_loss(&corpus, 16)).expect("held out");
    let cpu_held = cpu.held_out_loss(&corpus, 16);
    assert!((held - cpu_held).abs() < 1e-4, "held-out {held} vs {cpu_held}");
    pollster::block_on(gpu_gpt.download(&mut on_gpu)).expect("download");
    let diff = on_gpu.gpt.params.iter().zip(&cpu.gpt.params).fold(0f32, |a, (x, y)| a.max((x - y).abs()));
    println!("after 10 steps: params within {diff:.2e}, loss {mean:.5} vs {cpu_mean:.5}, held-out {held:.5} vs {cpu_held:.5}");
    assert!(diff < 1e-4, "parameters differ by {diff}");
    // Both go on on the CPU from here: the moments came back too, so the next step agrees as well.
    cpu.train_step(&corpus);
    on_gpu.train_step(&corpus);
    let diff = on_gpu.gpt.params.iter().zip(&cpu.gpt.params).fold(0f32, |a, (x, y)| a.max((x - y).abs()));
    assert!(diff < 1e-4, "after a CPU step from the downloaded state: {diff}");
}
