//! The autoencoder lab's models learn: on a fixed seed, a bounded number of Adam steps brings the
//! held-out reconstruction error well below what the best image-independent guess (the mean image) gets.

use engine::train::{digits, faces, mse, Autoencoder, Dataset, Kind, Rng};

/// Trains `model` for `steps` batches drawn from the training part; returns the held-out MSE per pixel
/// of its reconstructions and that of the mean training image.
fn train_and_score(model: &mut Autoencoder, data: &Dataset, held_out: usize, steps: usize, batch: usize) -> (f32, f32) {
    let (train, test) = data.split(held_out);
    let mut rng = Rng::new(17);
    for _ in 0..steps {
        let x = data.batch((0..batch).map(|_| train.start + rng.below(train.len())));
        model.train_step(&x, &mut rng);
    }
    let test_x = data.batch(test.clone());
    let reconstruction = model.reconstruct(&test_x);
    let dim = data.dim();
    let mut mean = vec![0.0f32; dim];
    for i in train.clone() {
        mean.iter_mut().zip(data.image(i)).for_each(|(m, v)| *m += v / train.len() as f32);
    }
    let baseline: Vec<f32> = test.flat_map(|_| mean.iter().copied()).collect();
    (mse(&reconstruction, &test_x), mse(&baseline, &test_x))
}

#[test]
fn a_plain_autoencoder_learns_held_out_digits_through_an_8_number_code() {
    let data = digits();
    let mut model = Autoencoder::new(data.dim(), 64, 8, Kind::Plain, 3e-3, 1);
    let (error, baseline) = train_and_score(&mut model, &data, 297, 1500, 32);
    println!("digits, plain, code 8, 1500 steps: held-out MSE {error:.4}, mean image {baseline:.4}");
    // The mean image explains nothing about a given digit; a code of 8 numbers should keep most of it.
    // Measured: 0.24 of the baseline (0.0174 vs 0.0739); the bar leaves room for platform rounding.
    assert!(error < 0.5 * baseline, "held-out MSE {error} vs baseline {baseline}");
}

#[test]
fn a_2d_vae_on_faces_reconstructs_held_out_faces_and_its_codes_stay_near_the_prior() {
    let data = faces(2000, 5);
    let mut model = Autoencoder::new(data.dim(), 128, 2, Kind::Variational { beta: 1.0 }, 2e-3, 2);
    let (error, baseline) = train_and_score(&mut model, &data, 200, 1500, 32);
    let codes = model.encode(&data.batch(1800..2000));
    let spread = codes.iter().map(|c| c * c).sum::<f32>() / codes.len() as f32;
    println!("faces, VAE, code 2, 1500 steps: held-out MSE {error:.4}, mean image {baseline:.4}, mean z² {spread:.2}");
    // Two numbers cannot hold eight factors: the bar is the mean image's error cut by a third (measured:
    // 0.40 of it, 0.0099 vs 0.0248).
    assert!(error < 0.67 * baseline, "held-out MSE {error} vs baseline {baseline}");
    // The KL term keeps codes on the scale of N(0, 1), which is what lets random codes decode to faces.
    assert!(spread > 0.1 && spread < 4.0, "mean z² {spread}");
}
