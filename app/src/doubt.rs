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

/// Which positions of `a` belong to a longest common subsequence of `a` and `b` (by [`key`]).
fn in_common(a: &[String], b: &[String]) -> Vec<bool> {
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut marks = vec![false; n];
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            marks[i] = true;
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    marks
}

/// For each answer, whether each of its words is in a longest common subsequence with *every* other
/// answer: a word the answers do not all say, in that order, is where they disagree.
pub fn shared_words(answers: &[Vec<&str>]) -> Vec<Vec<bool>> {
    let keys: Vec<Vec<String>> = answers.iter().map(|a| a.iter().map(|w| key(w)).collect()).collect();
    (0..keys.len())
        .map(|i| {
            let mut marks = vec![true; keys[i].len()];
            for other in keys.iter().enumerate().filter(|(k, _)| *k != i).map(|(_, o)| o) {
                for (mark, c) in marks.iter_mut().zip(in_common(&keys[i], other)) {
                    *mark &= c;
                }
            }
            // A word that is only punctuation is never a disagreement.
            for (mark, key) in marks.iter_mut().zip(&keys[i]) {
                *mark |= key.is_empty();
            }
            marks
        })
        .collect()
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
    fn the_words_one_answer_alone_says_are_the_disagreements() {
        let answers = [
            vec!["She ", "was ", "born ", "in ", "1843 ", "in ", "Lyon."],
            vec!["She ", "was ", "born ", "in ", "1851 ", "in ", "Lyon."],
            vec!["She ", "was ", "born ", "in ", "1843 ", "in ", "Paris."],
        ];
        let shared = shared_words(&answers);
        // The year and the city are each said by two answers of three: not by every one.
        assert_eq!(shared[0], [true, true, true, true, false, true, false]);
        assert_eq!(shared[1], [true, true, true, true, false, true, false]);
        assert_eq!(shared[2], [true, true, true, true, false, true, false]);
        // Case and punctuation do not make a difference.
        let same = shared_words(&[vec!["Yes, ", "it ", "is."], vec!["yes ", "it ", "is"]]);
        assert!(same.iter().flatten().all(|&s| s));
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
        assert_eq!(words[0].iter().map(|w| w.shared).collect::<Vec<_>>(), [true, false]);
        assert_eq!(doubt.answers[0].text(), "She sang.");
        let (mean, at, lowest) = doubt.answers[0].confidence().expect("tokens");
        assert!((mean - 0.55).abs() < 1e-6 && at == 1 && (lowest - 0.2).abs() < 1e-6);
        doubt.finish();
        assert!(!doubt.asking);
    }
}
