//! Training speed of the autoencoder lab's pair natively (one thread), the workload the browser's lab
//! worker runs: a plain autoencoder and a VAE, one Adam step each per batch of 32.
//! `cargo run --release -p engine --example lab_bench` prints one JSON line per dataset.

use std::time::Instant;

use engine::train::{digits, faces, Autoencoder, Dataset, Kind, Rng};

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

fn main() {
    for (name, data, latent) in [("faces", faces(2000, 5), 2), ("digits", digits(), 8)] {
        let rate = pair_steps_per_s(&data, latent, 5.0);
        println!("{{\"data\":\"{name}\",\"latent\":{latent},\"pair_steps_per_s\":{rate:.1}}}");
    }
}
