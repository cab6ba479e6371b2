//! The next-word game ("Devine le mot suivant"): the text so far as tokens, the model's distribution
//! over the next one (hidden until the class has guessed), the moves (continue with a token, undo, a
//! seeded draw) and three continuations side by side. Plain data, tested natively; the worker computes
//! predictions, the page only keeps and draws them.

use engine::predict::Reshaped;
use engine::sample::{Sampler, SamplerConfig};

use crate::protocol::{Context, Piece, Prediction};

/// How many of the likeliest next tokens the game shows.
pub const GAME_TOP: usize = 10;

/// How many continuations *Three answers* writes.
pub const ANSWERS: usize = 3;

/// Who plays: the language model, or the pre-training lab's tiny GPT (one character per token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Player {
    /// The language model the page loaded.
    #[default]
    Model,
    /// The tiny GPT of the pre-training lab, as it is now.
    Tiny,
}

/// The game's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Game {
    /// Who plays.
    pub player: Player,
    /// The text the game started from.
    pub start: String,
    /// The text so far, as token ids (empty until the worker has tokenized `start`).
    pub ids: Vec<u32>,
    /// The same tokens, for the chips.
    pub pieces: Vec<Piece>,
    /// How many tokens the text had before each move, for Undo.
    history: Vec<usize>,
    /// The model's distribution after `ids`, once the worker has sent it.
    pub prediction: Option<Prediction>,
    /// Whether the distribution is shown.
    pub revealed: bool,
    /// The class's guess for the next word.
    pub guess: String,
    /// The sampling settings of the live view, *Roll* and *Three answers*.
    pub sampler: SamplerConfig,
    /// Draws taken so far: the n-th draw uses seed `sampler.seed + n`.
    pub rolls: u64,
    /// The last draw: its seed and the token it gave.
    pub last_roll: Option<(u64, u32)>,
    /// *Three answers*: each continuation's text and whether it is finished.
    pub answers: Vec<(String, bool)>,
}

impl Default for Game {
    fn default() -> Self {
        Self {
            player: Player::Model,
            start: String::new(),
            ids: Vec::new(),
            pieces: Vec::new(),
            history: Vec::new(),
            prediction: None,
            revealed: false,
            guess: String::new(),
            // The model's own distribution first: temperature 1, nothing cut.
            sampler: SamplerConfig { temperature: 1.0, top_k: 0, top_p: 1.0, seed: 1, ..SamplerConfig::default() },
            rolls: 0,
            last_roll: None,
            answers: Vec::new(),
        }
    }
}

impl Game {
    /// Starts over from `text`; the worker is to be asked for [`Game::context`].
    pub fn start(&mut self, text: String) {
        *self = Self { start: text, sampler: self.sampler.clone(), player: self.player, ..Self::default() };
    }

    /// Hands the game to `player`, starting over from the text so far (the two models cut text into
    /// different tokens); false if `player` already plays. The worker is to be asked for the context.
    pub fn set_player(&mut self, player: Player) -> bool {
        if self.player == player {
            return false;
        }
        self.player = player;
        let text = self.text();
        self.start(text);
        true
    }

    /// What to ask the worker to predict from.
    pub fn context(&self) -> Context {
        if self.ids.is_empty() {
            Context::Text(self.start.clone())
        } else {
            Context::Ids(self.ids.clone())
        }
    }

    /// Whether `prediction` is for the text as it is now (a late answer for an older text is dropped).
    pub fn wants(&self, prediction: &Prediction) -> bool {
        if self.ids.is_empty() {
            prediction.text == self.start || self.start.is_empty()
        } else {
            prediction.ids == self.ids
        }
    }

    /// Keeps `prediction` if it is for the text as it is now; true if kept.
    pub fn accept(&mut self, prediction: Prediction) -> bool {
        if !self.wants(&prediction) {
            return false;
        }
        // The worker names every token of the text (a drawn one outside the likeliest too).
        self.ids = prediction.ids.clone();
        self.pieces = prediction.pieces.clone();
        // A guess's answer reveals; a plain prediction keeps whatever was shown.
        if prediction.guess.is_some() {
            self.revealed = true;
        }
        self.prediction = Some(prediction);
        true
    }

    /// Continues the text with token `id` (a bar clicked, a draw); the next prediction is to be asked for.
    pub fn push(&mut self, id: u32) -> bool {
        let Some(piece) = self.candidate(id) else { return false };
        self.history.push(self.ids.len());
        self.ids.push(id);
        self.pieces.push(piece);
        self.next_turn();
        true
    }

    /// Goes back one move.
    pub fn undo(&mut self) -> bool {
        let Some(len) = self.history.pop() else { return false };
        self.ids.truncate(len);
        self.pieces.truncate(len);
        self.next_turn();
        true
    }

    /// How many tokens the start text has (the tokens after it were added by moves).
    pub fn start_len(&self) -> usize {
        self.history.first().copied().unwrap_or(self.ids.len())
    }

    /// Whether there is a move to undo.
    pub fn can_undo(&self) -> bool {
        !self.history.is_empty()
    }

    fn next_turn(&mut self) {
        self.prediction = None;
        self.revealed = false;
        self.guess.clear();
        self.answers.clear();
    }

    /// The token `id` as the prediction knows it (among its likeliest, else unnamed).
    fn candidate(&self, id: u32) -> Option<Piece> {
        let prediction = self.prediction.as_ref()?;
        let named = prediction.top.iter().find(|a| a.piece.id == id).map(|a| a.piece.clone());
        Some(named.unwrap_or_else(|| Piece { id, text: format!("#{id}") }))
    }

    /// The distribution the sampling settings draw from, for the likeliest `k` tokens.
    pub fn reshaped(&self, k: usize) -> Option<Reshaped> {
        self.prediction.as_ref().map(|p| Reshaped::new(&p.sorted, &self.sampler, k))
    }

    /// Draws the next token with the sampling settings and the next seed; returns the seed and the token.
    /// The same settings and seed always draw the same token.
    pub fn roll(&self) -> Option<(u64, u32)> {
        let prediction = self.prediction.as_ref()?;
        let seed = self.sampler.seed.wrapping_add(self.rolls);
        let mut sampler = Sampler::new(SamplerConfig { seed, ..self.sampler.clone() });
        let u = sampler.draw();
        Some((seed, sampler.pick(&prediction.sorted, u)))
    }

    /// Continues with the token [`Game::roll`] draws.
    pub fn take_roll(&mut self) -> Option<(u64, u32)> {
        let (seed, id) = self.roll()?;
        self.push(id).then(|| {
            self.rolls += 1;
            self.last_roll = Some((seed, id));
            (seed, id)
        })
    }

    /// The seeds of *Three answers*: the next draws' seeds.
    pub fn answer_seeds(&self) -> Vec<u64> {
        (0..ANSWERS as u64).map(|i| self.sampler.seed.wrapping_add(self.rolls + i)).collect()
    }

    /// Starts *Three answers* (empty texts, none finished).
    pub fn start_answers(&mut self) {
        self.answers = vec![(String::new(), false); ANSWERS];
    }

    /// Adds streamed text to continuation `slot`.
    pub fn extend_answer(&mut self, slot: usize, text: &str, done: bool) {
        if let Some((answer, finished)) = self.answers.get_mut(slot) {
            answer.push_str(text);
            *finished |= done;
        }
    }

    /// The game's text so far.
    pub fn text(&self) -> String {
        match &self.prediction {
            Some(p) if p.ids == self.ids => p.text.clone(),
            _ if self.ids.is_empty() => self.start.clone(),
            _ => self.pieces.iter().map(|p| p.text.as_str()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Alternative;

    fn prediction(ids: &[u32], text: &str) -> Prediction {
        let alt = |id: u32, prob: f32| Alternative { piece: Piece { id, text: format!("t{id}") }, prob };
        Prediction {
            ids: ids.to_vec(),
            pieces: ids.iter().map(|&id| Piece { id, text: format!("t{id}") }).collect(),
            text: text.to_owned(),
            top: vec![alt(7, 0.6), alt(8, 0.3), alt(9, 0.1)],
            entropy: 0.9,
            sorted: vec![(7, 2.0), (8, 1.3), (9, 0.2)],
            guess: None,
            on_gpu: false,
        }
    }

    #[test]
    fn a_game_takes_the_first_prediction_then_only_those_for_its_text() {
        let mut game = Game::default();
        game.start("Le chat".into());
        assert_eq!(game.context(), Context::Text("Le chat".into()));
        assert!(!game.accept(prediction(&[1, 2], "Autre chose")));
        assert!(game.accept(prediction(&[1, 2], "Le chat")));
        assert_eq!(game.context(), Context::Ids(vec![1, 2]));
        assert!(game.push(8));
        assert_eq!((game.ids.clone(), game.prediction.is_none()), (vec![1, 2, 8], true));
        // A late answer for the text before the move is dropped.
        assert!(!game.accept(prediction(&[1, 2], "Le chat")));
        assert!(game.accept(prediction(&[1, 2, 8], "Le chat t8")));
        assert!(game.undo());
        assert_eq!(game.ids, [1, 2]);
        assert!(!game.undo());
    }

    #[test]
    fn a_guess_reveals_and_a_move_hides_again() {
        let mut game = Game::default();
        game.start("Le chat".into());
        game.accept(prediction(&[1, 2], "Le chat"));
        assert!(!game.revealed);
        let mut guessed = prediction(&[1, 2], "Le chat");
        guessed.guess = Some(crate::protocol::GuessView { word: "dort".into(), pieces: vec![], prob: 0.1, rank: 3 });
        game.accept(guessed);
        assert!(game.revealed);
        game.push(7);
        assert!(!game.revealed && game.guess.is_empty());
    }

    #[test]
    fn the_same_seed_draws_the_same_token_and_rolls_move_the_seed() {
        let mut game = Game::default();
        game.start("x".into());
        game.accept(prediction(&[1], "x"));
        game.sampler = SamplerConfig { temperature: 1.0, seed: 5, ..game.sampler.clone() };
        let first = game.roll();
        assert_eq!(first, game.roll(), "a draw is reproducible");
        let (seed, id) = game.take_roll().expect("a draw");
        assert_eq!((seed, Some(id)), (5, first.map(|f| f.1)));
        assert_eq!(game.answer_seeds(), [6, 7, 8]);
        // Greedy settings always take the likeliest.
        game.accept(prediction(&[1, id], "x y"));
        game.sampler.temperature = 0.0;
        assert_eq!(game.roll().map(|r| r.1), Some(7));
    }

    #[test]
    fn a_new_player_starts_over_from_the_text_so_far_and_keeps_playing_after_a_restart() {
        let mut game = Game::default();
        game.start("Le chat".into());
        game.accept(prediction(&[1, 2], "Le chat"));
        game.push(8);
        game.accept(prediction(&[1, 2, 8], "Le chat t8"));
        assert!(!game.set_player(Player::Model), "the model already plays");
        assert!(game.set_player(Player::Tiny));
        assert_eq!((game.start.as_str(), game.ids.len(), game.can_undo()), ("Le chat t8", 0, false));
        assert_eq!(game.context(), Context::Text("Le chat t8".into()));
        game.start("Autre".into());
        assert_eq!(game.player, Player::Tiny, "a new start keeps the player");
    }

    #[test]
    fn three_answers_fill_their_own_slots() {
        let mut game = Game::default();
        game.start_answers();
        game.extend_answer(1, " le", false);
        game.extend_answer(1, " chien", true);
        game.extend_answer(5, "lost", true);
        assert_eq!(game.answers[1], (" le chien".to_owned(), true));
        assert_eq!(game.answers[0], (String::new(), false));
    }
}
