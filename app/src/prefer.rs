//! The preference game as the page keeps it: two answers to one question, the class's votes (kept on
//! this device), the reward model fitted to them (`engine::reward`, three votes in four, measured on the
//! fourth), and best-of-n: n answers ranked by that reward. Plain data, tested natively.

use engine::reward::{split_votes, Fit, RewardModel, Vote};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// An answer the model wrote, with its features (the mean final hidden state over its tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Written {
    /// Its seed.
    pub seed: u64,
    /// Its tokens.
    pub ids: Vec<u32>,
    /// Its text.
    pub text: String,
    /// Its features.
    pub features: Vec<f32>,
}

/// A vote: the question, the answer the class chose and the other one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ballot {
    /// The question.
    pub question: String,
    /// The answer chosen.
    pub chosen: Written,
    /// The answer not chosen.
    pub rejected: Written,
}

/// What the answers being written are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Round {
    /// Nothing yet.
    #[default]
    None,
    /// Two answers for the class to choose between.
    Pair,
    /// n answers ranked by the reward model.
    BestOf,
}

/// The reward model and how well it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The model.
    pub model: RewardModel,
    /// Votes it was fitted on, and the share it gets right.
    pub train: (usize, Option<f64>),
    /// Votes held out, and the share it gets right.
    pub held_out: (usize, Option<f64>),
}

/// The game's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Prefer {
    /// The question of the current round.
    pub question: String,
    /// What the current answers are for.
    pub round: Round,
    /// The current answers, one slot per seed (empty until written).
    pub answers: Vec<Option<Written>>,
    /// Answers are being written.
    pub writing: bool,
    /// Every vote, oldest first.
    pub ballots: Vec<Ballot>,
    /// The reward model, once there is a vote.
    pub fitted: Option<Fitted>,
    /// The next seed to use.
    pub next_seed: u64,
    /// Temperature of the draws.
    pub temperature: f32,
    /// Most tokens per answer.
    pub max_tokens: usize,
}

impl Default for Prefer {
    fn default() -> Self {
        Self {
            question: String::new(),
            round: Round::None,
            answers: Vec::new(),
            writing: false,
            ballots: Vec::new(),
            fitted: None,
            next_seed: 1,
            temperature: 0.9,
            max_tokens: 64,
        }
    }
}

impl Prefer {
    /// Starts a round of `n` answers to `question`; returns their seeds.
    pub fn start(&mut self, question: &str, round: Round, n: usize) -> Vec<u64> {
        let seeds: Vec<u64> = (0..n as u64).map(|i| self.next_seed.wrapping_add(i)).collect();
        self.next_seed = self.next_seed.wrapping_add(n as u64);
        self.question = question.to_owned();
        self.round = round;
        self.answers = vec![None; n];
        self.writing = true;
        seeds
    }

    /// An answer arrived.
    pub fn accept(&mut self, slot: usize, written: Written) {
        if let Some(place) = self.answers.get_mut(slot) {
            *place = Some(written);
        }
    }

    /// Every answer of the round is written (or stopped).
    pub fn done(&mut self) {
        self.writing = false;
    }

    /// The class chose answer `winner` of a pair: the vote is kept and the reward model fitted again.
    /// Returns false when there is no complete pair to vote on.
    pub fn vote(&mut self, winner: usize) -> bool {
        if self.round != Round::Pair || self.writing {
            return false;
        }
        let (Some(Some(a)), Some(Some(b))) = (self.answers.first(), self.answers.get(1)) else {
            return false;
        };
        let (chosen, rejected) = if winner == 0 { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) };
        self.ballots.push(Ballot { question: self.question.clone(), chosen, rejected });
        self.answers.clear();
        self.round = Round::None;
        self.refit();
        true
    }

    /// Fits the reward model to the votes (three in four; the fourth, eighth… held out).
    pub fn refit(&mut self) {
        let votes: Vec<Vote> = (self.ballots.iter())
            .map(|b| Vote { chosen: b.chosen.features.clone(), rejected: b.rejected.features.clone() })
            .collect();
        let (train, held) = split_votes(&votes);
        self.fitted = RewardModel::fit(&train, Fit::default()).ok().filter(|_| !train.is_empty()).map(|model| Fitted {
            train: (train.len(), model.accuracy(&train)),
            held_out: (held.len(), model.accuracy(&held)),
            model,
        });
    }

    /// The current answers' rewards (none without a reward model or for an answer not written yet).
    pub fn rewards(&self) -> Vec<Option<f64>> {
        self.answers.iter().map(|a| Some(self.fitted.as_ref()?.model.score(&a.as_ref()?.features))).collect()
    }

    /// The best answer of a best-of-n round, once all are written.
    pub fn best(&self) -> Option<usize> {
        if self.round != Round::BestOf || self.writing {
            return None;
        }
        let rewards = self.rewards();
        (rewards.iter().enumerate())
            .filter_map(|(i, r)| r.map(|r| (i, r)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    }

    /// The votes (and the current best-of-n answers as candidates) as `glassbox reward --votes` reads
    /// them.
    pub fn export(&self) -> String {
        let answer = |w: &Written| json!({ "ids": w.ids, "text": w.text, "seed": w.seed });
        let votes: Vec<_> = (self.ballots.iter())
            .map(|b| json!({ "question": b.question, "chosen": answer(&b.chosen), "rejected": answer(&b.rejected) }))
            .collect();
        let candidates: Vec<_> = (self.answers.iter().flatten())
            .filter(|_| self.round == Round::BestOf)
            .map(|w| json!({ "question": self.question, "ids": w.ids, "text": w.text, "seed": w.seed }))
            .collect();
        json!({ "votes": votes, "candidates": candidates }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(seed: u64, text: &str, length: f32) -> Written {
        // Feature 0 says how long the answer is; feature 1 is noise.
        Written { seed, ids: vec![1, 2], text: text.into(), features: vec![length, (seed % 3) as f32] }
    }

    #[test]
    fn votes_fit_a_reward_model_that_ranks_a_best_of_n() {
        let mut game = Prefer::default();
        assert!(!game.vote(0), "nothing to vote on");
        for round in 0..8u64 {
            let seeds = game.start("Why?", Round::Pair, 2);
            assert_eq!(seeds, [1 + 2 * round, 2 + 2 * round]);
            let (short, long) = (1.0 + round as f32 * 0.1, 5.0 + round as f32 * 0.3);
            // The short answer comes first every other round.
            let (a, b) = if round % 2 == 0 { (short, long) } else { (long, short) };
            game.accept(0, written(seeds[0], "a", a));
            assert!(!game.vote(0), "the pair is not complete");
            game.accept(1, written(seeds[1], "b", b));
            game.done();
            assert!(game.vote(if round % 2 == 0 { 0 } else { 1 }), "the class prefers the short one");
        }
        let fitted = game.fitted.clone().expect("fitted");
        assert_eq!((fitted.train.0, fitted.held_out.0), (6, 2));
        assert_eq!((fitted.train.1, fitted.held_out.1), (Some(1.0), Some(1.0)));

        game.start("Why?", Round::BestOf, 3);
        for (slot, length) in [4.0f32, 1.5, 3.0].into_iter().enumerate() {
            game.accept(slot, written(100 + slot as u64, "c", length));
        }
        assert_eq!(game.best(), None, "not before every answer is written");
        game.done();
        assert_eq!(game.best(), Some(1), "the shortest wins");
        let export: serde_json::Value = serde_json::from_str(&game.export()).expect("JSON");
        assert_eq!(export["votes"].as_array().map(Vec::len), Some(8));
        assert_eq!(export["candidates"].as_array().map(Vec::len), Some(3));
        assert_eq!(export["votes"][0]["chosen"]["ids"], json!([1, 2]));
    }
}
