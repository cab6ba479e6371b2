//! The pieces of a small neural network with hand-written backward passes: a fully connected layer, the
//! activations, and Adam. Batches are row-major `(batch, features)` slices of f32.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::dense;

/// A seeded source of uniform and normal numbers (portable: the same seed gives the same numbers in
/// the browser and natively).
#[derive(Debug, Clone)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.0.next_u32() >> 8) as f32 / (1u32 << 24) as f32
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(1e-7);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
    }

    /// An index in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }
}

/// `y = x Wᵀ + b`: `w` is `(out, inp)` row-major, `b` is `(out)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    /// Inputs.
    pub inp: usize,
    /// Outputs.
    pub out: usize,
    /// `(out, inp)`.
    pub w: Vec<f32>,
    /// `(out)`.
    pub b: Vec<f32>,
}

/// Gradients of a [`Linear`], same shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearGrad {
    /// `(out, inp)`.
    pub w: Vec<f32>,
    /// `(out)`.
    pub b: Vec<f32>,
}

impl Linear {
    /// He-style initialisation (uniform, variance 2 / inp), zero bias.
    pub fn new(inp: usize, out: usize, rng: &mut Rng) -> Self {
        let bound = (6.0 / inp as f32).sqrt();
        let w = (0..inp * out).map(|_| (rng.uniform() * 2.0 - 1.0) * bound).collect();
        Self { inp, out, w, b: vec![0.0; out] }
    }

    /// `x: (batch, inp)` → `(batch, out)`.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        dense::x_wt(x, &self.w, Some(&self.b), self.inp, self.out)
    }

    /// Given the input `x` and the loss's gradient `dy` at the output, returns the parameter gradients
    /// and the gradient at the input.
    pub fn backward(&self, x: &[f32], dy: &[f32]) -> (LinearGrad, Vec<f32>) {
        let mut dx = vec![0.0; x.len()];
        dense::add_dy_w(dy, &self.w, &mut dx, self.inp, self.out);
        (self.parameter_gradients(x, dy), dx)
    }

    /// The parameter gradients alone (a first layer's input gradient goes nowhere).
    pub fn parameter_gradients(&self, x: &[f32], dy: &[f32]) -> LinearGrad {
        let mut g = LinearGrad { w: vec![0.0; self.w.len()], b: vec![0.0; self.out] };
        dense::add_dyt_x(dy, x, &mut g.w, self.inp, self.out);
        dense::add_column_sums(dy, &mut g.b);
        g
    }

    /// Parameters, weights then bias, for the optimiser.
    pub fn params_mut(&mut self) -> [&mut [f32]; 2] {
        [&mut self.w, &mut self.b]
    }
}

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight partial sums: the compiler turns this into SIMD (simd128 in the browser, AVX natively).
    let mut acc = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac.remainder().iter().zip(bc.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

pub(crate) fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// ReLU in place; returns the mask for the backward pass.
pub fn relu(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = v.max(0.0));
}

/// Backward of ReLU: zero the gradient where the output was 0.
pub fn relu_backward(out: &[f32], grad: &mut [f32]) {
    for (g, &o) in grad.iter_mut().zip(out) {
        if o <= 0.0 {
            *g = 0.0;
        }
    }
}

/// Logistic sigmoid.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Binary cross-entropy of targets `t` ∈ [0, 1] against `sigmoid(logits)`, summed; and its gradient
/// with respect to the logits (`sigmoid(l) − t`), scaled by `scale`. Computed from the logits, so it
/// stays finite when a sigmoid saturates.
pub fn bce_with_logits(logits: &[f32], t: &[f32], scale: f32) -> (f32, Vec<f32>) {
    let mut loss = 0.0f64;
    let grad = logits
        .iter()
        .zip(t)
        .map(|(&l, &t)| {
            // −[t log σ(l) + (1 − t) log(1 − σ(l))] = max(l, 0) − l t + log(1 + e^−|l|)
            loss += (l.max(0.0) - l * t + (-l.abs()).exp().ln_1p()) as f64;
            (sigmoid(l) - t) * scale
        })
        .collect();
    (loss as f32, grad)
}

/// Adam (Kingma & Ba) with bias correction, over a fixed list of parameter slices.
#[derive(Debug, Clone)]
pub struct Adam {
    /// Step size.
    pub lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    t: i32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// For parameters of these sizes.
    pub fn new(lr: f32, sizes: &[usize]) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// One update: `params[i] -= lr · m̂ / (√v̂ + ε)` with the gradients `grads[i]`.
    pub fn step(&mut self, params: Vec<&mut [f32]>, grads: &[&[f32]]) {
        self.t += 1;
        let c1 = 1.0 - self.beta1.powi(self.t);
        let c2 = 1.0 - self.beta2.powi(self.t);
        let (beta1, beta2, lr, eps) = (self.beta1, self.beta2, self.lr, self.eps);
        for (i, (p, g)) in params.into_iter().zip(grads).enumerate() {
            let (m, v) = (&mut self.m[i], &mut self.v[i]);
            assert!(g.len() == p.len() && m.len() == p.len() && v.len() == p.len(), "parameter {i}: sizes differ");
            // Each value on its own: shared by the threads in runs of `CHUNK`, the same bits on any number.
            const CHUNK: usize = 1 << 14;
            let work = p.len() * 8;
            let parts: Vec<_> =
                p.chunks_mut(CHUNK).zip(m.chunks_mut(CHUNK)).zip(v.chunks_mut(CHUNK)).zip(g.chunks(CHUNK)).collect();
            super::split::each_part(parts, work, &|_, (((p, m), v), g)| {
                for j in 0..p.len() {
                    m[j] = beta1 * m[j] + (1.0 - beta1) * g[j];
                    v[j] = beta2 * v[j] + (1.0 - beta2) * g[j] * g[j];
                    p[j] -= lr * (m[j] / c1) / ((v[j] / c2).sqrt() + eps);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central differences in f64 over an f32 function: step and tolerance for f32 arithmetic.
    const STEP: f32 = 1e-2;
    const REL_TOLERANCE: f32 = 2e-2;

    fn close(numeric: f32, analytic: f32) -> bool {
        (numeric - analytic).abs() <= REL_TOLERANCE * numeric.abs().max(analytic.abs()).max(0.1)
    }

    #[test]
    fn linear_backward_matches_finite_differences() {
        let mut rng = Rng::new(1);
        let layer = Linear::new(7, 5, &mut rng);
        let x: Vec<f32> = (0..3 * 7).map(|_| rng.normal()).collect();
        let target: Vec<f32> = (0..3 * 5).map(|_| rng.normal()).collect();
        // Loss: ½ Σ (y − target)², so dL/dy = y − target.
        let loss = |l: &Linear, x: &[f32]| -> f32 {
            l.forward(x).iter().zip(&target).map(|(y, t)| 0.5 * (y - t) * (y - t)).sum()
        };
        let y = layer.forward(&x);
        let dy: Vec<f32> = y.iter().zip(&target).map(|(y, t)| y - t).collect();
        let (g, dx) = layer.backward(&x, &dy);
        for i in 0..layer.w.len() {
            let (mut plus, mut minus) = (layer.clone(), layer.clone());
            plus.w[i] += STEP;
            minus.w[i] -= STEP;
            let numeric = (loss(&plus, &x) - loss(&minus, &x)) / (2.0 * STEP);
            assert!(close(numeric, g.w[i]), "w[{i}]: {numeric} vs {}", g.w[i]);
        }
        for i in 0..layer.b.len() {
            let (mut plus, mut minus) = (layer.clone(), layer.clone());
            plus.b[i] += STEP;
            minus.b[i] -= STEP;
            let numeric = (loss(&plus, &x) - loss(&minus, &x)) / (2.0 * STEP);
            assert!(close(numeric, g.b[i]), "b[{i}]: {numeric} vs {}", g.b[i]);
        }
        for i in 0..x.len() {
            let (mut plus, mut minus) = (x.clone(), x.clone());
            plus[i] += STEP;
            minus[i] -= STEP;
            let numeric = (loss(&layer, &plus) - loss(&layer, &minus)) / (2.0 * STEP);
            assert!(close(numeric, dx[i]), "x[{i}]: {numeric} vs {}", dx[i]);
        }
    }

    #[test]
    fn bce_gradient_matches_finite_differences_and_stays_finite_when_saturated() {
        let logits = [-3.0f32, -0.5, 0.0, 0.7, 4.0];
        let t = [0.0f32, 0.2, 0.5, 1.0, 0.9];
        let (_, grad) = bce_with_logits(&logits, &t, 1.0);
        for i in 0..logits.len() {
            let (mut plus, mut minus) = (logits, logits);
            plus[i] += STEP;
            minus[i] -= STEP;
            let numeric = (bce_with_logits(&plus, &t, 1.0).0 - bce_with_logits(&minus, &t, 1.0).0) / (2.0 * STEP);
            assert!(close(numeric, grad[i]), "logit {i}: {numeric} vs {}", grad[i]);
        }
        let (loss, grad) = bce_with_logits(&[200.0, -200.0], &[0.0, 1.0], 1.0);
        assert!(loss.is_finite() && (loss - 400.0).abs() < 1e-3);
        assert_eq!(grad, vec![1.0, -1.0]);
    }

    #[test]
    fn relu_backward_blocks_the_gradient_where_the_unit_was_off() {
        let mut x = vec![-1.0, 0.5, 0.0, 2.0];
        relu(&mut x);
        let mut g = vec![1.0; 4];
        relu_backward(&x, &mut g);
        assert_eq!(g, vec![0.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn adam_minimises_a_quadratic() {
        let mut p = vec![5.0f32, -3.0];
        let mut adam = Adam::new(0.1, &[2]);
        for _ in 0..500 {
            let g: Vec<f32> = p.iter().map(|x| 2.0 * x).collect();
            adam.step(vec![&mut p[..]], &[&g]);
        }
        assert!(p.iter().all(|x| x.abs() < 1e-2), "{p:?}");
    }

    #[test]
    fn the_rng_is_seeded_and_its_normals_look_normal() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!((0..5).map(|_| a.uniform()).collect::<Vec<_>>(), (0..5).map(|_| b.uniform()).collect::<Vec<_>>());
        let mut r = Rng::new(3);
        let xs: Vec<f32> = (0..20_000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / xs.len() as f32;
        // Standard errors: 0.007 for the mean, 0.01 for the variance.
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "mean {mean}, var {var}");
    }
}
