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

/// `layers` blocks of width `width` with `heads` heads, windows of `context`, batches of `batch`, the
/// gradient clipped to 0.1, no warm-up and a strong weight decay (0.5), so that a step missing either
/// lands far from the CPU's.
fn setup(layers: usize, width: usize, heads: usize, context: usize, batch: usize) -> (Corpus, Trainer) {
    let corpus = Corpus::new(SONNETS, context).expect("corpus");
    let config = GptConfig { vocab: corpus.chars.len(), layers, width, heads, context };
    let settings =
        TrainSettings { batch, clip: 0.1, warmup: 0, weight_decay: 0.5, ..TrainSettings::for_model(&config) };
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
/// wrong index or a missing term, e.g. the tied embeddings' second use, is off by far more). Two shapes:
/// two small blocks with two heads, and one block wide and long enough (width 72, three heads, 70
/// characters) that every kernel spans more than one workgroup of 64.
#[test]
fn the_tiny_gpts_gradients_on_the_gpu_match_its_cpu_backward_in_every_group() {
    let ctx = gpu();
    for (layers, width, heads, context, batch) in [(2, 16, 2, 8, 3), (1, 72, 3, 70, 2)] {
        let (corpus, mut trainer) = setup(layers, width, heads, context, batch);
        for _ in 0..3 {
            trainer.train_step(&corpus); // away from the symmetric start
        }
        let (x, y) = trainer.batch(&corpus);
        let gpu_gpt = GpuGpt::new(Rc::clone(&ctx), &trainer).expect("upload");
        let on_gpu = pollster::block_on(gpu_gpt.gradients(&x, &y)).expect("gradients");
        let (pass, _) = trainer.gpt.forward(&x, batch, Some(&y));
        let on_cpu = trainer.gpt.backward(&pass, &y);
        assert_eq!(on_gpu.len(), on_cpu.len());
        let (group, worst) = worst_group(&trainer, &on_gpu, &on_cpu);
        println!("{layers}×{width}, {heads} heads, {context} characters: worst group {group}, {worst:.2e} of its largest gradient");
        assert!(worst < 1e-4, "{group}: {worst:.2e}");
    }
}

/// Ten steps with the gradient clipped (its norm is above 0.1 at every step) and weight decay: the
/// parameters stay within 1e-4 of the CPU's, where the same steps without weight decay land more than
/// 1e-3 away; the mean reported loss within 1e-4, the held-out loss (16 windows, six passes of three,
/// the last padded) within 1e-4, and the weights and moments read back continue on the CPU.
#[test]
fn ten_adamw_steps_on_the_gpu_follow_the_cpu_trainer() {
    let (corpus, mut cpu) = setup(2, 16, 2, 8, 3);
    let mut no_decay = cpu.clone();
    no_decay.settings.weight_decay = 0.0;
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
        no_decay.train_step(&corpus);
        gpu_gpt.train_step(&mut on_gpu, &corpus).expect("step");
    }
    let decay_moves = no_decay.gpt.params.iter().zip(&cpu.gpt.params).fold(0f32, |a, (x, y)| a.max((x - y).abs()));
    assert!(decay_moves > 1e-3, "weight decay moves the parameters by {decay_moves}");
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

/// `glassbox pretrain --backend gpu` measures the held-out loss, then reads each step's loss back before
/// the next step: twenty steps of the CLI's default batch read that way keep each step's loss within 1e-5
/// of the CPU trainer's (measured ≤ 4.8e-7; without weight decay on the GPU the gap is 4.8e-5 by step 12).
#[test]
fn losses_read_back_after_every_step_leave_the_training_as_the_cpu_does_it() {
    let corpus = Corpus::new(SONNETS, 32).expect("corpus");
    let config = GptConfig { vocab: corpus.chars.len(), layers: 1, width: 32, heads: 2, context: 32 };
    let mut cpu = Trainer::new(config, TrainSettings::for_model(&config), 1);
    let mut on_gpu = cpu.clone();
    let gpu_gpt = GpuGpt::new(gpu(), &on_gpu).expect("upload");
    let mut worst = 0f32;
    for step in 0..20 {
        if step % 5 == 0 {
            let held = pollster::block_on(gpu_gpt.held_out_loss(&corpus, 16)).expect("held out");
            assert!((held - cpu.held_out_loss(&corpus, 16)).abs() < 1e-5, "held-out at step {step}");
        }
        let expected = cpu.train_step(&corpus);
        gpu_gpt.train_step(&mut on_gpu, &corpus).expect("step");
        let (loss, steps) = pollster::block_on(gpu_gpt.take_step_losses()).expect("losses").expect("one step");
        assert_eq!(steps, 1);
        worst = worst.max((loss - expected).abs());
        assert!((loss - expected).abs() < 1e-5, "step {step}: {loss} vs {expected}");
    }
    println!("twenty steps, each loss read back: within {worst:.1e} of the CPU's");
}

/// What the page does when its GPU fails: the trainer keeps the weights and moments of the last
/// read-back and its position then; the steps the GPU took since are taken again on the CPU, drawing
/// the same batches. Two GPU steps, a read-back, three more GPU steps (lost), back to the read-back's
/// position and two CPU steps: within 1e-4 of four CPU steps (without going back the batches differ
/// and so do the weights, by more than 1e-3).
#[test]
fn a_trainer_that_loses_its_gpu_goes_on_from_the_last_read_back_as_if_the_lost_steps_never_ran() {
    let (corpus, mut cpu) = setup(1, 32, 2, 16, 4);
    let mut on_gpu = cpu.clone();
    let gpu_gpt = GpuGpt::new(gpu(), &on_gpu).expect("upload");
    for _ in 0..2 {
        gpu_gpt.train_step(&mut on_gpu, &corpus).expect("step");
    }
    pollster::block_on(gpu_gpt.read_state()).expect("read back").copy_into(&mut on_gpu).expect("same model");
    let synced = on_gpu.position();
    for _ in 0..3 {
        gpu_gpt.train_step(&mut on_gpu, &corpus).expect("step");
    }
    let mut drifted = on_gpu.clone();
    on_gpu.go_back_to(synced);
    assert_eq!(on_gpu.step, 2);
    for _ in 0..2 {
        on_gpu.train_step(&corpus);
        drifted.train_step(&corpus);
    }
    for _ in 0..4 {
        cpu.train_step(&corpus);
    }
    let gap = |t: &Trainer| t.gpt.params.iter().zip(&cpu.gpt.params).fold(0f32, |a, (x, y)| a.max((x - y).abs()));
    println!("back to the read-back: within {:.1e}; without going back: {:.1e}", gap(&on_gpu), gap(&drifted));
    assert!(gap(&on_gpu) < 1e-4, "{}", gap(&on_gpu));
    assert!(gap(&drifted) > 1e-3, "{}", gap(&drifted));
}
