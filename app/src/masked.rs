//! The masked-word game ("Schtroumpf"): a sentence with a blank, the class's candidate words, and the
//! model's ranking of them by the probability of the whole completed sentence. Plain data, tested
//! natively; the worker scores (`engine::fill`).

use engine::fill::BLANK;

use crate::protocol::Filled;

/// How many words of its own the model adds to the class's.
pub const PROPOSED: usize = 3;

/// Adds to `list` the words typed (separated by commas, semicolons or spaces), each once; returns how
/// many were new.
pub fn add_words(list: &mut Vec<String>, typed: &str) -> usize {
    let before = list.len();
    for word in typed.split([',', ' ', ';']).map(str::trim).filter(|w| !w.is_empty()) {
        if !list.iter().any(|c| c == word) {
            list.push(word.to_owned());
        }
    }
    list.len() - before
}

/// Why the game cannot ask the model yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The sentence has no `___`.
    NoBlank,
    /// No candidate word.
    NoCandidate,
}

/// The game's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Masked {
    /// The sentence, with its blank.
    pub text: String,
    /// The class's words, in the order given.
    pub candidates: Vec<String>,
    /// The model's answer for `text` (with the candidates of that moment).
    pub result: Option<Filled>,
    /// An answer is awaited.
    pub asking: bool,
}

impl Masked {
    /// A game on `text` with `candidates`.
    pub fn new(text: &str, candidates: &[&str]) -> Self {
        let mut game = Self { text: text.to_owned(), ..Self::default() };
        for c in candidates {
            game.add(c);
        }
        game
    }

    /// Adds the words typed (separated by commas or spaces), each once; returns how many were new.
    pub fn add(&mut self, typed: &str) -> usize {
        add_words(&mut self.candidates, typed)
    }

    /// Removes a word.
    pub fn remove(&mut self, word: &str) {
        self.candidates.retain(|c| c != word);
    }

    /// What keeps the model from being asked, if anything.
    pub fn problem(&self) -> Option<Problem> {
        if !self.text.contains(BLANK) {
            Some(Problem::NoBlank)
        } else if self.candidates.is_empty() {
            Some(Problem::NoCandidate)
        } else {
            None
        }
    }

    /// Keeps the model's answer if it is for the sentence as it is now; true if kept.
    pub fn accept(&mut self, filled: Filled) -> bool {
        if filled.text != self.text {
            return false;
        }
        self.asking = false;
        self.result = Some(filled);
        true
    }

    /// The sentence with the model's best word in the blank.
    pub fn best_sentence(&self) -> Option<String> {
        let best = &self.result.as_ref()?.scores.first()?.0;
        Some(engine::fill::fill_in(&self.text, best))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_added_once_from_what_the_class_types() {
        let mut game = Masked::new("Le ___ dort.", &["chat"]);
        assert_eq!(game.add("chien, lion  chat;ours"), 3);
        assert_eq!(game.candidates, ["chat", "chien", "lion", "ours"]);
        game.remove("lion");
        assert_eq!(game.candidates, ["chat", "chien", "ours"]);
        assert_eq!(game.problem(), None);
        assert_eq!(Masked::new("Pas de trou.", &["a"]).problem(), Some(Problem::NoBlank));
        assert_eq!(Masked::new("Un ___.", &[]).problem(), Some(Problem::NoCandidate));
    }

    #[test]
    fn an_answer_for_another_sentence_is_dropped_and_the_best_fills_the_blank() {
        let mut game = Masked::new("Le ___ dort.", &["chat", "chien"]);
        game.asking = true;
        let answer = |text: &str| Filled {
            text: text.to_owned(),
            scores: vec![("chat".into(), -10.0, 0.7), ("chien".into(), -10.8, 0.3)],
            proposed: vec![],
            on_gpu: false,
        };
        assert!(!game.accept(answer("Le ___ mange.")));
        assert!(game.asking);
        assert!(game.accept(answer("Le ___ dort.")));
        assert_eq!(game.best_sentence().as_deref(), Some("Le chat dort."));
    }
}
