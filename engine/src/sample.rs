//! Choosing the next token from logits: repetition penalty, then greedy (temperature 0) or top-k →
//! temperature → top-p → min-p → a draw from a seeded RNG, so the same seed gives the same text.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Sampling settings. The defaults are greedy decoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplerConfig {
    /// 0 is greedy; higher flattens the distribution.
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens (0: all).
    pub top_k: usize,
    /// Keep the smallest set whose probability reaches `top_p` (1: all).
    pub top_p: f32,
    /// Drop tokens less likely than `min_p` × the most likely one (0: none).
    pub min_p: f32,
    /// Divide positive logits (multiply negative ones) of recently seen tokens by this (1: off).
    pub repetition_penalty: f32,
    /// How many recent tokens the penalty looks at.
    pub repeat_last_n: usize,
    /// RNG seed.
    pub seed: u64,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self { temperature: 0.0, top_k: 0, top_p: 1.0, min_p: 0.0, repetition_penalty: 1.0, repeat_last_n: 64, seed: 0 }
    }
}

impl SamplerConfig {
    /// Whether a token is chosen by argmax alone (temperature 0, or not a usable number).
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0 || !self.temperature.is_finite()
    }

    /// Whether the repetition penalty changes any logit.
    pub fn penalises_repeats(&self) -> bool {
        self.repetition_penalty != 1.0 && self.repetition_penalty > 0.0
    }

    /// The distribution a token is drawn from, for `candidates` sorted best first (logit descending, then
    /// id ascending; usually the whole vocabulary): the probability of each candidate after top-k, then
    /// temperature, then top-p, then min-p, the kept ones renormalised to sum to 1 and the cut ones 0.
    /// Greedy settings put everything on the first. This is what the page's sampling view draws, and
    /// [`Sampler::pick`] draws from exactly this.
    pub fn reshape(&self, candidates: &[(u32, f32)]) -> Vec<f32> {
        let mut out = vec![0.0; candidates.len()];
        if candidates.is_empty() {
            return out;
        }
        if self.is_greedy() || candidates.len() == 1 {
            out[0] = 1.0;
            return out;
        }
        let (probs, keep) = self.kept(candidates);
        let mass: f32 = probs[..keep].iter().sum();
        for (o, p) in out.iter_mut().zip(&probs[..keep]) {
            *o = p / mass;
        }
        out
    }

    /// Softmax at this temperature over the top-k of `candidates` (sorted best first, not greedy, at
    /// least two), and how many of them top-p and min-p keep.
    fn kept(&self, candidates: &[(u32, f32)]) -> (Vec<f32>, usize) {
        let candidates = if self.top_k > 0 { &candidates[..self.top_k.min(candidates.len())] } else { candidates };
        let max = candidates[0].1 / self.temperature;
        let mut probs: Vec<f32> = candidates.iter().map(|&(_, l)| (l / self.temperature - max).exp()).collect();
        let total: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);

        let mut keep = probs.len();
        if self.top_p < 1.0 {
            let mut cumulative = 0.0;
            for (i, p) in probs.iter().enumerate() {
                cumulative += p;
                if cumulative >= self.top_p {
                    keep = i + 1;
                    break;
                }
            }
        }
        if self.min_p > 0.0 {
            let floor = self.min_p * probs[0];
            keep = keep.min(probs.iter().take_while(|&&p| p >= floor).count().max(1));
        }
        (probs, keep)
    }
}

/// A sampler with its RNG state.
#[derive(Debug, Clone)]
pub struct Sampler {
    config: SamplerConfig,
    rng: ChaCha8Rng,
    /// Draws taken for GPU passes that never came back, handed out again first (see [`Self::replay`]).
    replayed: std::collections::VecDeque<f32>,
}

impl Sampler {
    /// A sampler seeded from `config.seed`.
    pub fn new(config: SamplerConfig) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Self { config, rng, replayed: std::collections::VecDeque::new() }
    }

    /// The settings.
    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// Picks the next token from `logits` given the tokens so far (`history`, for the penalty).
    pub fn sample(&mut self, logits: &[f32], history: &[u32]) -> u32 {
        let c = &self.config;
        let mut logits = logits.to_vec();
        if c.penalises_repeats() {
            let recent = &history[history.len().saturating_sub(c.repeat_last_n)..];
            let mut seen = recent.to_vec();
            seen.sort_unstable();
            seen.dedup();
            for id in seen {
                if let Some(l) = logits.get_mut(id as usize) {
                    *l = if *l > 0.0 { *l / c.repetition_penalty } else { *l * c.repetition_penalty };
                }
            }
        }
        if c.is_greedy() {
            return argmax(&logits);
        }

        // Candidates best first, each with its logit. With a top-k, only the k best are found (a
        // partition, then a sort of k) instead of sorting the whole vocabulary: the order is total, so
        // they are the first k of the full sort.
        let best_first = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let mut candidates: Vec<(u32, f32)> = logits.iter().enumerate().map(|(i, &l)| (i as u32, l)).collect();
        let k = c.top_k;
        if k > 0 && k < candidates.len() {
            candidates.select_nth_unstable_by(k - 1, best_first);
            candidates.truncate(k);
        }
        candidates.sort_unstable_by(best_first);
        let u = self.draw();
        self.pick(&candidates, u)
    }

    /// Top-k → temperature → top-p → min-p → the token at `u` (in [0, 1)) of what is kept, from
    /// `candidates` sorted best first (logit descending, then id ascending). Given the `top_k` best of
    /// the whole vocabulary it picks what [`Self::sample`] would from all of it: the GPU's top-k kernel
    /// runs this same procedure, and this is its CPU twin. Greedy settings take the first.
    pub fn pick(&self, candidates: &[(u32, f32)], u: f32) -> u32 {
        if self.config.is_greedy() || candidates.len() <= 1 {
            return candidates.first().map_or(0, |c| c.0);
        }
        let (probs, keep) = self.config.kept(candidates);
        let kept = &probs[..keep];
        let mass: f32 = kept.iter().sum();
        let mut target = u * mass;
        for (i, p) in kept.iter().enumerate() {
            target -= p;
            if target <= 0.0 {
                return candidates[i].0;
            }
        }
        candidates[keep - 1].0
    }

    /// The next uniform draw in [0, 1) (24 bits of precision) from the seeded RNG: one per sampled
    /// token, whether the CPU or the GPU does the picking.
    pub fn draw(&mut self) -> f32 {
        self.replayed.pop_front().unwrap_or_else(|| (self.rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32)
    }

    /// Hands `draws` out again, in order, before any new one: the draws of GPU passes lost with their
    /// device, so that the CPU taking over picks its tokens with the draws the GPU would have used.
    pub fn replay(&mut self, draws: impl IntoIterator<Item = f32>) {
        let mut draws: Vec<f32> = draws.into_iter().collect();
        draws.extend(self.replayed.drain(..));
        self.replayed = draws.into();
    }
}

/// The index of the largest logit (the lowest such index on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logits() -> Vec<f32> {
        vec![1.0, 3.0, 2.5, -1.0, 0.0, 2.9]
    }

    #[test]
    fn greedy_takes_the_largest_logit() {
        assert_eq!(Sampler::new(SamplerConfig::default()).sample(&logits(), &[]), 1);
    }

    #[test]
    fn repetition_penalty_demotes_seen_tokens() {
        let config = SamplerConfig { repetition_penalty: 1.5, ..SamplerConfig::default() };
        // 3.0 / 1.5 = 2.0 < 2.9: token 5 wins once token 1 was seen.
        assert_eq!(Sampler::new(config).sample(&logits(), &[1]), 5);
    }

    #[test]
    fn replayed_draws_come_back_in_order_before_new_ones() {
        let config = SamplerConfig { temperature: 1.0, seed: 4, ..SamplerConfig::default() };
        let mut plain = Sampler::new(config.clone());
        let fresh: Vec<f32> = (0..4).map(|_| plain.draw()).collect();
        let mut s = Sampler::new(config);
        let (a, b) = (s.draw(), s.draw());
        s.replay([a, b]);
        assert_eq!((0..4).map(|_| s.draw()).collect::<Vec<_>>(), fresh);
    }

    #[test]
    fn same_seed_same_draws_and_different_seed_differs() {
        let config = |seed| SamplerConfig { temperature: 1.5, seed, ..SamplerConfig::default() };
        let draws = |seed| {
            let mut s = Sampler::new(config(seed));
            (0..64).map(|_| s.sample(&logits(), &[])).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
    }

    #[test]
    fn top_k_one_is_greedy_and_top_k_limits_the_support() {
        let mut s = Sampler::new(SamplerConfig { temperature: 2.0, top_k: 1, seed: 3, ..SamplerConfig::default() });
        assert!((0..100).all(|_| s.sample(&logits(), &[]) == 1));
        let mut s = Sampler::new(SamplerConfig { temperature: 5.0, top_k: 3, seed: 3, ..SamplerConfig::default() });
        assert!((0..500).all(|_| [1, 5, 2].contains(&s.sample(&logits(), &[]))));
    }

    #[test]
    fn top_p_and_min_p_cut_the_tail() {
        // At temperature 1 the probabilities are ≈ [.05 .33 .20 .007 .02 .30]: top-p 0.6 keeps {1, 5}.
        let mut s = Sampler::new(SamplerConfig { temperature: 1.0, top_p: 0.6, seed: 1, ..SamplerConfig::default() });
        let draws: Vec<u32> = (0..500).map(|_| s.sample(&logits(), &[])).collect();
        assert!(draws.iter().all(|d| [1, 5].contains(d)));
        assert!(draws.contains(&1) && draws.contains(&5));
        // min-p 0.7 keeps tokens with p ≥ 0.7 · p(1): {1, 5} (0.30/0.33 ≈ 0.9), not 2 (0.6).
        let mut s = Sampler::new(SamplerConfig { temperature: 1.0, min_p: 0.7, seed: 1, ..SamplerConfig::default() });
        assert!((0..500).all(|_| [1, 5].contains(&s.sample(&logits(), &[]))));
    }

    #[test]
    fn top_k_picks_what_a_full_sort_of_the_vocabulary_picks() {
        // Random logits over a vocabulary of 3,000 with many exact ties (whole numbers 0 to 16), so the
        // id order among equal logits matters; the reference sorts everything.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (top_k, top_p) in [(1, 1.0), (5, 1.0), (40, 0.9), (2999, 0.95), (3000, 1.0)] {
            let config = SamplerConfig { temperature: 0.8, top_k, top_p, seed: 9, ..SamplerConfig::default() };
            let (mut fast, mut reference) = (Sampler::new(config.clone()), Sampler::new(config));
            for _ in 0..50 {
                let logits: Vec<f32> = (0..3000).map(|_| ((rng.next_u32() % 64) as f32 / 4.0).round()).collect();
                let mut all: Vec<(u32, f32)> = logits.iter().enumerate().map(|(i, &l)| (i as u32, l)).collect();
                all.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
                let u = reference.draw();
                assert_eq!(fast.sample(&logits, &[]), reference.pick(&all, u), "top-k {top_k}, top-p {top_p}");
            }
        }
    }

    #[test]
    fn sampling_follows_the_distribution() {
        // p(1)/p(2) at temperature 1 is e^0.5 ≈ 1.65 with top-k 2; 20k draws put it within ±0.1.
        let mut s = Sampler::new(SamplerConfig { temperature: 1.0, top_k: 2, seed: 11, ..SamplerConfig::default() });
        let logits = vec![1.0, 3.0, 2.5];
        let ones = (0..20_000).filter(|_| s.sample(&logits, &[]) == 1).count() as f32;
        let ratio = ones / (20_000.0 - ones);
        assert!((ratio - 0.5f32.exp()).abs() < 0.1, "ratio {ratio}");
    }
}
