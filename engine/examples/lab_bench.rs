//! Training speed of the autoencoder lab's pair natively (one thread), the workload the browser's lab
//! worker runs: a plain autoencoder and a VAE, one Adam step each per batch of 32.
//! `cargo run --release -p engine --example lab_bench` prints one JSON line per dataset and backend
//! (the GPU through wgpu: lavapipe on a machine without one).

use std::time::Instant;

use std::rc::Rc;

use engine::backend::gpu::GpuContext;
use engine::train::{digits, faces, Autoencoder, Dataset, GpuAutoencoder, Kind, Rng};

fn pair_steps_per_s(data: &Dataset, latent: usize, seconds: f64) -> f64 {
    let hidden = if data.dim() > 256 { 128 } else { 64 };
    let mut plain = Autoencoder::new(data.dim(), hidden, latent, Kind::Plain, 2e-3, 1);
    let mut vae = Autoencoder::new(data.dim(), hidden, latent, Kind::Variational { beta: 1.0 }, 2e-3, 2);
    let mut rng = Rng::new(3);
    let (train, _) = data.split(200);
    let started = Instant::now();
    let mut steps = 0;
    while started.elapsed().as_secs_f64() < seconds {
        let x = data.batch((0..32).map(|_| train.start + rng.below(train.len())));
        plain.train_step(&x, &mut rng);
        vae.train_step(&x, &mut rng);
        steps += 1;
    }
    steps as f64 / started.elapsed().as_secs_f64()
}

/// The same pair on the GPU, four steps in flight at a time (as the lab worker runs it).
fn gpu_pair_steps_per_s(ctx: &Rc<GpuContext>, data: &Dataset, latent: usize, seconds: f64) -> engine::Result<f64> {
    let hidden = if data.dim() > 256 { 128 } else { 64 };
    let plain =
        GpuAutoencoder::new(ctx.clone(), &Autoencoder::new(data.dim(), hidden, latent, Kind::Plain, 2e-3, 1), 32)?;
    let vae = GpuAutoencoder::new(
        ctx.clone(),
        &Autoencoder::new(data.dim(), hidden, latent, Kind::Variational { beta: 1.0 }, 2e-3, 2),
        32,
    )?;
    let mut rng = Rng::new(3);
    let (train, _) = data.split(200);
    let started = Instant::now();
    let mut steps = 0;
    while started.elapsed().as_secs_f64() < seconds {
        for _ in 0..4 {
            let x = data.batch((0..32).map(|_| train.start + rng.below(train.len())));
            let noise: Vec<f32> = (0..32 * latent).map(|_| rng.normal()).collect();
            plain.train_step(&x, &[])?;
            vae.train_step(&x, &noise)?;
            steps += 1;
        }
        pollster::block_on(plain.finish())?;
    }
    Ok(steps as f64 / started.elapsed().as_secs_f64())
}

fn main() {
    // One thread: the page's training is measured against this.
    if engine::backend::cpu::pool::set_threads(1).is_err() {
        eprintln!("lab_bench: the CPU threads already started");
    }
    let gpu = pollster::block_on(GpuContext::new()).ok().map(Rc::new);
    for (name, data, latent) in [("faces", faces(2000, 5), 2), ("digits", digits(), 8)] {
        let rate = pair_steps_per_s(&data, latent, 5.0);
        println!("{{\"data\":\"{name}\",\"latent\":{latent},\"backend\":\"cpu\",\"pair_steps_per_s\":{rate:.1}}}");
        if let Some(ctx) = &gpu {
            match gpu_pair_steps_per_s(ctx, &data, latent, 5.0) {
                Ok(rate) => println!(
                    "{{\"data\":\"{name}\",\"latent\":{latent},\"backend\":\"gpu: {}\",\"pair_steps_per_s\":{rate:.1}}}",
                    ctx.info.name
                ),
                Err(err) => eprintln!("lab_bench: GPU: {err}"),
            }
        }
    }
}
