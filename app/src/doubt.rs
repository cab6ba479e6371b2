//! The hallucination lab as the page keeps it: one question answered three times with three seeds,
//! each answer's tokens with how sure the model was, and the words where the answers disagree. Plain
//! data, tested natively.

use crate::protocol::DoubtToken;

/// Seeds used when nobody chose any.
pub const FIRST_SEED: u64 = 1;
/// How many times the question is asked.
pub const ASKED: usize = 3;
/// The most tokens an answer may have (a link asks for what it likes).
pub const MAX_TOKENS: usize = 400;

/// One answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// Its seed.
    pub seed: u64,
    /// Its tokens, in order.
    pub tokens: Vec<DoubtToken>,
    /// Written to its end (or stopped).
    pub done: bool,
}

impl Answer {
    /// The answer's text.
    pub fn text(&self) -> String {
        self.tokens.iter().map(|t| t.text.as_str()).collect()
    }

    /// The mean probability of its tokens and its least likely token (index, probability).
    pub fn confidence(&self) -> Option<(f32, usize, f32)> {
        let n = self.tokens.len();
        let lowest = self.tokens.iter().enumerate().min_by(|a, b| a.1.prob.total_cmp(&b.1.prob))?;
        Some((self.tokens.iter().map(|t| t.prob).sum::<f32>() / n as f32, lowest.0, lowest.1.prob))
    }
}

/// A word of an answer as drawn: its text (with the spaces after it) and whether every other answer
/// has it too, in the same order.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// The text as written.
    pub text: String,
    /// Said by every answer.
    pub shared: bool,
}

/// The lab's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Doubt {
    /// The question asked (or to ask).
    pub question: String,
    /// The answers, one per seed.
    pub answers: Vec<Answer>,
    /// Answers are being written.
    pub asking: bool,
    /// The question waits for the model (or for an answer being written) to be asked.
    pub pending: bool,
    /// Temperature of the three draws.
    pub temperature: f32,
    /// The first answer's seed; the others take the next ones.
    pub seed: u64,
    /// Most tokens per answer.
    pub max_tokens: usize,
}

impl Default for Doubt {
    fn default() -> Self {
        Self {
            question: String::new(),
            answers: Vec::new(),
            asking: false,
            pending: false,
            temperature: 0.8,
            seed: FIRST_SEED,
            max_tokens: 60,
        }
    }
}

impl Doubt {
    /// The seeds of the three answers.
    pub fn seeds(&self) -> Vec<u64> {
        (0..ASKED as u64).map(|i| self.seed.wrapping_add(i)).collect()
    }

    /// Starts a new round: `question`, one empty answer per seed.
    pub fn start(&mut self, question: &str, seeds: &[u64]) {
        self.question = question.to_owned();
        self.answers = seeds.iter().map(|&seed| Answer { seed, ..Answer::default() }).collect();
        self.asking = true;
    }

    /// A token of answer `slot` arrived.
    pub fn extend(&mut self, slot: usize, token: Option<DoubtToken>, done: bool) {
        if let Some(answer) = self.answers.get_mut(slot) {
            answer.tokens.extend(token);
            answer.done |= done;
        }
    }

    /// Every answer is written (or stopped).
    pub fn finish(&mut self) {
        self.asking = false;
        for answer in &mut self.answers {
            answer.done = true;
        }
    }

    /// How many facts the written answers state, and how many not every answer gives (once all are
    /// written).
    pub fn facts(&self) -> Option<(usize, usize)> {
        if self.answers.is_empty() || !self.answers.iter().all(|a| a.done) {
            return None;
        }
        let texts: Vec<String> = self.answers.iter().map(Answer::text).collect();
        let split: Vec<Vec<&str>> = texts.iter().map(|t| split_words(t)).collect();
        Some(fact_count(&split, &shared_words(&split)))
    }

    /// Each answer's words, marked shared or not once every answer is written (before, all shared).
    pub fn words(&self) -> Vec<Vec<Word>> {
        let texts: Vec<String> = self.answers.iter().map(Answer::text).collect();
        let split: Vec<Vec<&str>> = texts.iter().map(|t| split_words(t)).collect();
        let all_done = self.answers.iter().all(|a| a.done) && !self.answers.is_empty();
        let shared = if all_done { shared_words(&split) } else { split.iter().map(|w| vec![true; w.len()]).collect() };
        split
            .iter()
            .zip(shared)
            .map(|(words, marks)| {
                words.iter().zip(marks).map(|(w, shared)| Word { text: (*w).to_owned(), shared }).collect()
            })
            .collect()
    }
}

/// Splits `text` into words, each keeping the spaces that follow it (so joining them gives the text).
pub fn split_words(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_space = true;
        } else if in_space {
            if !text[start..i].trim().is_empty() {
                words.push(&text[start..i]);
                start = i;
            }
            in_space = false;
        }
    }
    if start < text.len() {
        words.push(&text[start..]);
    }
    words
}

/// A word as compared: lower case, without the punctuation around it.
fn key(word: &str) -> String {
    word.trim().trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()
}

/// Whether `word` states something checkable — a number or a date (it holds a digit), or a name, a
/// place, a title (it starts with a capital letter away from the start of a sentence); `previous` is the
/// word before it in the answer.
pub fn is_fact(word: &str, previous: Option<&str>) -> bool {
    let core = word.trim().trim_matches(|c: char| !c.is_alphanumeric());
    if core.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    let capital = core.chars().next().is_some_and(char::is_uppercase);
    let sentence_start = previous.is_none_or(|p| p.contains('\n') || p.trim_end().ends_with(['.', '!', '?', ':', '"']));
    capital && !sentence_start && core != "I"
}

/// For each answer, whether each of its words is *not* a disagreement: every word is, but a fact
/// ([`is_fact`]) that some other answer does not give anywhere.
pub fn shared_words(answers: &[Vec<&str>]) -> Vec<Vec<bool>> {
    let keys: Vec<std::collections::HashSet<String>> =
        answers.iter().map(|a| a.iter().map(|w| key(w)).collect()).collect();
    answers
        .iter()
        .enumerate()
        .map(|(i, words)| {
            (0..words.len())
                .map(|j| {
                    let previous = j.checked_sub(1).map(|p| words[p]);
                    !is_fact(words[j], previous)
                        || keys.iter().enumerate().all(|(k, other)| k == i || other.contains(&key(words[j])))
                })
                .collect()
        })
        .collect()
}

/// How many facts the answers state, and how many of them not every answer gives.
pub fn fact_count(answers: &[Vec<&str>], shared: &[Vec<bool>]) -> (usize, usize) {
    let mut facts = 0;
    let mut differ = 0;
    for (words, marks) in answers.iter().zip(shared) {
        for (j, w) in words.iter().enumerate() {
            if is_fact(w, j.checked_sub(1).map(|p| words[p])) {
                facts += 1;
                differ += usize::from(!marks[j]);
            }
        }
    }
    (facts, differ)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str, prob: f32) -> DoubtToken {
        DoubtToken { id: 7, text: text.into(), piece: text.into(), prob, entropy: 1.0 }
    }

    #[test]
    fn words_keep_their_spaces_and_join_back_to_the_text() {
        for text in ["", "un", "Elle est née en 1843, à Lyon.", "  deux  espaces\n et une ligne "] {
            assert_eq!(split_words(text).concat(), text);
        }
        assert_eq!(split_words("Elle est née"), ["Elle ", "est ", "née"]);
    }

    #[test]
    fn facts_not_every_answer_gives_are_the_disagreements() {
        let answers = [
            vec!["She ", "was ", "born ", "in ", "1843 ", "in ", "Lyon."],
            vec!["She ", "was ", "born ", "in ", "1851 ", "in ", "Lyon."],
            vec!["She ", "was ", "born ", "in ", "Paris ", "in ", "1843."],
        ];
        let shared = shared_words(&answers);
        // The year and the city are each given by two answers of three; "She" starts a sentence.
        assert_eq!(shared[0], [true, true, true, true, false, true, false]);
        assert_eq!(shared[1], [true, true, true, true, false, true, false]);
        assert_eq!(shared[2], [true, true, true, true, false, true, false]);
        assert_eq!(fact_count(&answers, &shared), (6, 6));
        // A fact every answer gives, in any order and case, is no disagreement; "I" is no name.
        let same = shared_words(&[
            vec!["Yes, ", "it ", "is ", "Paris, ", "I ", "think."],
            vec!["I ", "think ", "it ", "is ", "PARIS."],
        ]);
        assert!(same.iter().flatten().all(|&s| s));
        assert!(!is_fact("The ", Some("end.\n")) && is_fact("Rouen", Some("in ")) && is_fact("(1887),", Some("in ")));
    }

    #[test]
    fn answers_arrive_token_by_token_and_are_compared_once_all_are_written() {
        let mut doubt = Doubt::default();
        doubt.start("Who?", &[1, 2]);
        doubt.extend(0, Some(token("She ", 0.9)), false);
        doubt.extend(0, Some(token("sang.", 0.2)), true);
        doubt.extend(1, Some(token("She ", 0.8)), false);
        assert!(doubt.words().iter().flatten().all(|w| w.shared), "not compared before the end");
        doubt.extend(1, Some(token("danced.", 0.5)), true);
        doubt.extend(7, Some(token("lost", 0.5)), true);
        let words = doubt.words();
        assert!(words.iter().flatten().all(|w| w.shared), "no fact said");
        assert_eq!(doubt.facts(), Some((0, 0)));
        assert_eq!(doubt.answers[0].text(), "She sang.");
        let (mean, at, lowest) = doubt.answers[0].confidence().expect("tokens");
        assert!((mean - 0.55).abs() < 1e-6 && at == 1 && (lowest - 0.2).abs() < 1e-6);
        doubt.finish();
        assert!(!doubt.asking);
    }
}
