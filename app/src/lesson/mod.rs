//! The lesson "ChatGPT, letter by letter": four chapters — T, G, P, Chat — and a closing step, each step
//! a few sentences, one action that opens a real view of the app with a prepared input, a question for
//! the class and notes for the teacher. French first, English too; the two tables have one type and
//! one length, and a test keeps their steps and actions in step.
//!
//! The ideas follow the story told in DESIGN.md §2 and §8, written in our own words.

mod en;
mod fr;

use crate::i18n::Lang;

/// The letters, and the closing step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chapter {
    /// Transformer.
    T,
    /// Generative.
    G,
    /// Pre-trained.
    P,
    /// Chat.
    Chat,
    /// Why it runs here.
    End,
}

impl Chapter {
    /// Every chapter, in order.
    pub const ALL: [Chapter; 5] = [Self::T, Self::G, Self::P, Self::Chat, Self::End];

    /// The letter shown on the chapter's tab.
    pub fn letter(self) -> &'static str {
        match self {
            Self::T => "T",
            Self::G => "G",
            Self::P => "P",
            Self::Chat => "Chat",
            Self::End => "★",
        }
    }
}

/// What a step's button does: it opens a real view with a prepared input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// The next-word game on `text`: its tokens, then the guess and the reveal.
    Game {
        /// The text.
        text: &'static str,
    },
    /// The game on `text` with sampling at `temperature`, and *Three answers* written.
    Sampling {
        /// The text.
        text: &'static str,
        /// Temperature.
        temperature: f32,
    },
    /// The next-word game on `text`, with the logit lens over it.
    Lens {
        /// The text.
        text: &'static str,
    },
    /// The map of words with these words placed, the first one's neighbours listed.
    Words {
        /// The words.
        words: &'static [&'static str],
    },
    /// The masked-word game on `text` (with its blank) and the class's first `candidates`, ranked.
    Fill {
        /// The sentence.
        text: &'static str,
        /// Words to start with.
        candidates: &'static [&'static str],
    },
    /// The model reads `text`; the attention explorer opens on `layer` and `head` (`None`: the mean of
    /// the heads) with the token `focus` selected (its first occurrence; `""`: the last token).
    Read {
        /// The text.
        text: &'static str,
        /// A token's text (spaces included), or `""`.
        focus: &'static str,
        /// Layer.
        layer: usize,
        /// Head.
        head: Option<usize>,
        /// The lines view rather than the matrix.
        lines: bool,
    },
    /// A new conversation asks `question` (the chat, its token view showing the template).
    Ask {
        /// The question.
        question: &'static str,
    },
    /// The preference game: two answers to `question` for the class to choose between.
    Prefer {
        /// The question.
        question: &'static str,
    },
    /// The hallucination lab: `question` answered three times with three seeds.
    Doubt {
        /// The question.
        question: &'static str,
    },
    /// The autoencoder lab with this setup; with `generate`, new images drawn from random codes.
    Lab {
        /// Handwritten digits rather than faces.
        digits: bool,
        /// Code size.
        latent: usize,
        /// Draw new examples once the models have learned a little.
        generate: bool,
    },
    /// The pre-training lab starts over: a tiny GPT learns from La Fontaine or the sonnets.
    Pretrain {
        /// La Fontaine rather than the sonnets.
        french: bool,
    },
    /// The *Thoughts* view reads the built-in text at its default layer, then trains its sparse
    /// autoencoder.
    Thoughts,
    /// Pre-training at three scales, with the figures' sources.
    Scale,
    /// Every request the page and its workers made, and where it went.
    Privacy,
}

impl Action {
    /// Its kind, as a word (for the page's `data-` attributes, which the end-to-end tests read).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Game { .. } => "game",
            Self::Sampling { .. } => "sampling",
            Self::Fill { .. } => "fill",
            Self::Lens { .. } => "lens",
            Self::Words { .. } => "words",
            Self::Read { .. } => "read",
            Self::Ask { .. } => "ask",
            Self::Doubt { .. } => "doubt",
            Self::Prefer { .. } => "prefer",
            Self::Lab { .. } => "lab",
            Self::Pretrain { .. } => "pretrain",
            Self::Thoughts => "thoughts",
            Self::Scale => "scale",
            Self::Privacy => "privacy",
        }
    }

    /// The text it prepares (a game's text, a sentence to read, a question), if any.
    pub fn input(&self) -> Option<&'static str> {
        match *self {
            Self::Game { text }
            | Self::Sampling { text, .. }
            | Self::Read { text, .. }
            | Self::Fill { text, .. }
            | Self::Lens { text } => Some(text),
            Self::Ask { question } | Self::Doubt { question } | Self::Prefer { question } => Some(question),
            Self::Lab { .. }
            | Self::Pretrain { .. }
            | Self::Thoughts
            | Self::Scale
            | Self::Privacy
            | Self::Words { .. } => None,
        }
    }
}

/// One step, in one language.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Its address: `#lesson/<id>`.
    pub id: &'static str,
    /// Its chapter.
    pub chapter: Chapter,
    /// Title.
    pub title: &'static str,
    /// Two to four sentences.
    pub body: &'static str,
    /// The button's words.
    pub action_label: &'static str,
    /// What the button does.
    pub action: Action,
    /// To ask the class.
    pub question: &'static str,
    /// For the teacher: answers, background, what to click.
    pub notes: &'static str,
    /// Minutes to present it, with the class's answers.
    pub minutes: u32,
}

/// How many steps the lesson has.
pub const STEP_COUNT: usize = 18;

/// The lesson in `lang`.
pub fn steps(lang: Lang) -> &'static [Step; STEP_COUNT] {
    match lang {
        Lang::Fr => &fr::STEPS,
        Lang::En => &en::STEPS,
    }
}

/// The index of the step whose id is `id`.
pub fn find(id: &str) -> Option<usize> {
    fr::STEPS.iter().position(|s| s.id == id)
}

/// Minutes to present each chapter, in order.
pub fn minutes_per_chapter() -> Vec<(Chapter, u32)> {
    Chapter::ALL.iter().map(|&c| (c, fr::STEPS.iter().filter(|s| s.chapter == c).map(|s| s.minutes).sum())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(text: &str) -> usize {
        // A sentence ends with . ! ? or … followed by a space or the end (French spaces before ? ! : too).
        let chars: Vec<char> = text.chars().collect();
        (0..chars.len())
            .filter(|&i| ".!?…".contains(chars[i]) && chars.get(i + 1).is_none_or(|c| c.is_whitespace()))
            .count()
    }

    #[test]
    fn both_languages_have_the_same_steps_with_the_same_kind_of_action() {
        for (fr, en) in fr::STEPS.iter().zip(&en::STEPS) {
            assert_eq!((fr.id, fr.chapter), (en.id, en.chapter));
            assert_eq!(std::mem::discriminant(&fr.action), std::mem::discriminant(&en.action), "{}", fr.id);
            assert_eq!(fr.minutes, en.minutes, "{}", fr.id);
        }
    }

    #[test]
    fn every_chapter_has_three_to_six_steps_and_ids_are_unique() {
        for chapter in [Chapter::T, Chapter::G, Chapter::P, Chapter::Chat] {
            let n = fr::STEPS.iter().filter(|s| s.chapter == chapter).count();
            assert!((3..=6).contains(&n), "{chapter:?}: {n} steps");
        }
        assert_eq!(fr::STEPS.last().map(|s| s.chapter), Some(Chapter::End));
        let mut ids: Vec<&str> = fr::STEPS.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), STEP_COUNT);
        assert_eq!(find("t2"), Some(1));
        assert_eq!(find("nope"), None);
    }

    #[test]
    fn each_step_says_two_to_four_sentences_and_asks_a_question() {
        for lang in [Lang::Fr, Lang::En] {
            for step in steps(lang) {
                let n = sentences(step.body);
                assert!((2..=4).contains(&n), "{lang:?} {}: {n} sentences", step.id);
                assert!(step.question.trim_end().ends_with('?'), "{lang:?} {}: a question", step.id);
                assert!(!step.notes.is_empty() && !step.action_label.is_empty(), "{lang:?} {}", step.id);
            }
        }
    }

    #[test]
    fn the_lesson_fits_a_fifty_minute_class() {
        let total: u32 = minutes_per_chapter().iter().map(|c| c.1).sum();
        assert!((40..=50).contains(&total), "{total} minutes");
    }
}
