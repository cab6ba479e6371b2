//! The preference game's reward model: what the "Chat" letter's human feedback learns. An answer is
//! described by the model's own final hidden state (the vector its output head reads, after the final
//! norm), averaged over the answer's tokens; a linear score on it is fitted to the class's votes with
//! the Bradley–Terry loss: the chance that the chosen answer beats the rejected one is
//! σ(score(chosen) − score(rejected)). Plain f64 arithmetic, deterministic, the same in the page and
//! in `glassbox reward`.

use serde::{Deserialize, Serialize};

use crate::embedding::mean_rows;
use crate::error::{EngineError, Result};
use crate::generate::Engine;
use crate::model::LogitsFor;

/// One vote: the features of the answer the class chose and of the one it did not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vote {
    /// The chosen answer's features.
    pub chosen: Vec<f32>,
    /// The other answer's features.
    pub rejected: Vec<f32>,
}

/// How the reward model is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Gradient steps (full batch).
    pub steps: usize,
    /// Step size.
    pub learning_rate: f64,
    /// Weight of the L2 penalty ½λ‖w‖² (a few votes must not be learned by heart).
    pub l2: f64,
}

impl Default for Fit {
    fn default() -> Self {
        Self { steps: 300, learning_rate: 0.05, l2: 1e-2 }
    }
}

/// A linear score on standardised features: `w · (x − mean) / spread`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardModel {
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// The features' mean over the answers it was fitted on.
    pub mean: Vec<f64>,
    /// Their standard deviation (1 where it is 0).
    pub spread: Vec<f64>,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^(−z))`, without overflow.
fn softplus_neg(z: f64) -> f64 {
    if z > 0.0 {
        (-z).exp().ln_1p()
    } else {
        -z + z.exp().ln_1p()
    }
}

impl RewardModel {
    /// The score of an answer's features.
    pub fn score(&self, features: &[f32]) -> f64 {
        self.weights
            .iter()
            .zip(features)
            .zip(self.mean.iter().zip(&self.spread))
            .map(|((w, &x), (m, s))| w * (f64::from(x) - m) / s)
            .sum()
    }

    /// The share of `votes` whose chosen answer scores higher (ties count half); `None` without votes.
    pub fn accuracy(&self, votes: &[Vote]) -> Option<f64> {
        (!votes.is_empty()).then(|| {
            let won: f64 = votes
                .iter()
                .map(|v| {
                    let d = self.score(&v.chosen) - self.score(&v.rejected);
                    if d > 0.0 {
                        1.0
                    } else if d == 0.0 {
                        0.5
                    } else {
                        0.0
                    }
                })
                .sum();
            won / votes.len() as f64
        })
    }

    /// An untrained model for `votes`' features: zero weights, the standardisation of every answer in
    /// them.
    pub fn standardised_for(votes: &[Vote]) -> Self {
        let d = votes.first().map_or(0, |v| v.chosen.len());
        let rows: Vec<&Vec<f32>> = votes.iter().flat_map(|v| [&v.chosen, &v.rejected]).collect();
        let n = rows.len().max(1) as f64;
        let mean: Vec<f64> = (0..d).map(|j| rows.iter().map(|r| f64::from(r[j])).sum::<f64>() / n).collect();
        let spread: Vec<f64> = (0..d)
            .map(|j| {
                let var = rows.iter().map(|r| (f64::from(r[j]) - mean[j]).powi(2)).sum::<f64>() / n;
                if var > 1e-12 {
                    var.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Self { weights: vec![0.0; d], mean, spread }
    }

    /// The Bradley–Terry loss over `votes` (mean of −log σ(score(chosen) − score(rejected))) plus
    /// ½λ‖w‖², and its gradient with respect to the weights.
    pub fn loss_and_gradient(&self, votes: &[Vote], l2: f64) -> (f64, Vec<f64>) {
        let mut grad: Vec<f64> = self.weights.iter().map(|w| l2 * w).collect();
        let mut loss = 0.5 * l2 * self.weights.iter().map(|w| w * w).sum::<f64>();
        let n = votes.len().max(1) as f64;
        for v in votes {
            let z = self.score(&v.chosen) - self.score(&v.rejected);
            loss += softplus_neg(z) / n;
            // d/dz −log σ(z) = σ(z) − 1.
            let g = (sigmoid(z) - 1.0) / n;
            for (((gj, &c), &r), s) in grad.iter_mut().zip(&v.chosen).zip(&v.rejected).zip(&self.spread) {
                *gj += g * (f64::from(c) - f64::from(r)) / s;
            }
        }
        (loss, grad)
    }

    /// Fits a model to `votes` by full-batch gradient descent with Adam's step sizes, from zero weights
    /// (deterministic: the same votes give the same model).
    pub fn fit(votes: &[Vote], fit: Fit) -> Result<Self> {
        let d = votes.first().map_or(0, |v| v.chosen.len());
        if votes.iter().any(|v| v.chosen.len() != d || v.rejected.len() != d) {
            return Err(EngineError::Tokenizer("the votes' features do not all have the same size".into()));
        }
        let mut model = Self::standardised_for(votes);
        let (mut m, mut s) = (vec![0.0f64; d], vec![0.0f64; d]);
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        for t in 1..=fit.steps {
            let (_, grad) = model.loss_and_gradient(votes, fit.l2);
            for j in 0..d {
                m[j] = b1 * m[j] + (1.0 - b1) * grad[j];
                s[j] = b2 * s[j] + (1.0 - b2) * grad[j] * grad[j];
                let (mh, sh) = (m[j] / (1.0 - b1.powi(t as i32)), s[j] / (1.0 - b2.powi(t as i32)));
                model.weights[j] -= fit.learning_rate * mh / (sh.sqrt() + eps);
            }
        }
        Ok(model)
    }
}

/// Which votes are held out to measure the reward model: every fourth one (the 4th, 8th, …), so the
/// split does not depend on chance. Returns `(fitted on, held out)`.
pub fn split_votes(votes: &[Vote]) -> (Vec<Vote>, Vec<Vote>) {
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for (i, v) in votes.iter().enumerate() {
        if i % 4 == 3 {
            held.push(v.clone());
        } else {
            train.push(v.clone());
        }
    }
    (train, held)
}

impl Engine {
    /// An answer's features: the final hidden state (after the final norm, as the output head reads
    /// it) at each of the answer's tokens, averaged, with `question` before it in the chat template.
    pub fn answer_features(&self, question: &str, answer: &[u32]) -> Result<Vec<f32>> {
        let (prompt, ids) = self.answer_ids(question, answer)?;
        let c = &self.model.config;
        let mut cache = self.model.new_cache(ids.len());
        let mut last = Vec::new();
        self.model.forward_observed(&mut cache, &ids, LogitsFor::Last, false, &mut |l, x| {
            if l + 1 == c.n_layer {
                last = x[prompt * c.n_embd..].to_vec();
            }
        })?;
        let normed = self.model.final_norm(&last);
        Ok(mean_rows(&normed, c.n_embd, 0, answer.len()))
    }

    /// [`Self::answer_features`] on the engine's backend: on the GPU when the engine has one (exact, its
    /// KV cache in f16), else on the CPU; also says which.
    pub async fn answer_features_on_backend(&self, question: &str, answer: &[u32]) -> Result<(Vec<f32>, bool)> {
        let (prompt, ids) = self.answer_ids(question, answer)?;
        match self.gpu_hidden(&ids, false).await? {
            Some(hidden) => Ok((mean_rows(&hidden.normed, self.model.config.n_embd, prompt, answer.len()), true)),
            None => Ok((self.answer_features(question, answer)?, false)),
        }
    }

    /// The chat prompt's length and the ids of the prompt followed by the answer.
    fn answer_ids(&self, question: &str, answer: &[u32]) -> Result<(usize, Vec<u32>)> {
        if answer.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let prompt = self.chat_prompt(&[crate::chat::Message::user(question.to_owned())])?;
        Ok((prompt.len(), prompt.iter().chain(answer).copied().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for synthetic features.
    fn noise(seed: &mut u64) -> f32 {
        // splitmix64
        *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }

    fn votes(n: usize, seed: u64) -> Vec<Vote> {
        // Two answers of 8 random features; the class prefers the one with the smaller feature 2 (as
        // if it were the answer's length), whatever the others say.
        let mut s = seed;
        (0..n)
            .map(|_| {
                let a: Vec<f32> = (0..8).map(|_| noise(&mut s)).collect();
                let b: Vec<f32> = (0..8).map(|_| noise(&mut s)).collect();
                if a[2] < b[2] {
                    Vote { chosen: a, rejected: b }
                } else {
                    Vote { chosen: b, rejected: a }
                }
            })
            .collect()
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        let v = votes(12, 7);
        let mut model = RewardModel::standardised_for(&v);
        model.weights = (0..8).map(|j| 0.3 * (j as f64 - 3.5)).collect();
        let (_, grad) = model.loss_and_gradient(&v, 0.1);
        let h = 1e-6;
        for (j, &analytic) in grad.iter().enumerate() {
            let (mut up, mut down) = (model.clone(), model.clone());
            up.weights[j] += h;
            down.weights[j] -= h;
            let numeric = (up.loss_and_gradient(&v, 0.1).0 - down.loss_and_gradient(&v, 0.1).0) / (2.0 * h);
            assert!((numeric - analytic).abs() < 1e-7, "weight {j}: {numeric} vs {analytic}");
        }
    }

    #[test]
    fn a_planted_preference_is_learned_and_holds_on_new_votes() {
        let model = RewardModel::fit(&votes(40, 1), Fit::default()).expect("fit");
        let held = votes(200, 99);
        let accuracy = model.accuracy(&held).expect("votes");
        assert!(accuracy > 0.9, "held-out accuracy {accuracy}, weights {:?}", model.weights);
        // The weight that matters is the planted one, and it says "smaller is better".
        let biggest =
            (0..8).max_by(|&a, &b| model.weights[a].abs().total_cmp(&model.weights[b].abs())).expect("weights");
        assert_eq!(biggest, 2);
        assert!(model.weights[2] < 0.0);
    }

    #[test]
    fn every_fourth_vote_is_held_out() {
        let v = votes(9, 3);
        let (train, held) = split_votes(&v);
        assert_eq!((train.len(), held.len()), (7, 2));
        assert_eq!(held[0], v[3]);
        assert_eq!(held[1], v[7]);
    }
}
