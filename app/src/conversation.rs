//! The conversation as the page keeps it: messages with the tokens of each answer, the edits a person
//! can make (edit and resend, regenerate, start over), and its exports. Plain data, tested natively.

use engine::chat::{Message, Role};
use serde::{Deserialize, Serialize};

use crate::protocol::{Alternative, Piece};

/// One token of an answer (or of a prompt, without a probability).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The token.
    pub piece: Piece,
    /// The probability the model gave it when it chose it (`None`: a prompt token, read, not chosen).
    pub prob: Option<f32>,
    /// The most likely tokens at that step.
    pub top: Vec<Alternative>,
}

/// One turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who.
    pub role: Role,
    /// What.
    pub content: String,
    /// For an answer: its tokens as they were chosen.
    #[serde(default)]
    pub tokens: Vec<TokenInfo>,
}

/// The whole token sequence of the latest answer: the prompt as the model read it, then the answer.
/// Position `i` here is position `i` in the model's context (and in the attention explorer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// Prompt tokens, then answer tokens.
    pub tokens: Vec<TokenInfo>,
    /// How many of them are the prompt.
    pub prompt_len: usize,
    /// Whether attention was recorded for it.
    pub traced: bool,
    /// A text the model read whole (no answer): every token's attention exists.
    #[serde(default)]
    pub read: bool,
    /// How the answer's tokens were drawn (temperature, top-k, top-p); `None` for a reading.
    #[serde(default)]
    pub drawn_with: Option<(f32, usize, f32)>,
}

impl Exchange {
    /// The last position whose attention has been computed: a token's attention exists once the model
    /// has read it, so the newest chosen token of an answer has none yet.
    pub fn last_read(&self) -> Option<usize> {
        if self.read {
            return self.tokens.len().checked_sub(1);
        }
        (self.tokens.len() > self.prompt_len).then(|| self.tokens.len().saturating_sub(2))
    }
}

/// The messages of a conversation, oldest first (the system prompt is a setting, not a message).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Turns.
    pub messages: Vec<ChatMessage>,
}

impl Conversation {
    /// Adds the user's turn and an empty answer to be filled.
    pub fn ask(&mut self, text: String) {
        self.messages.push(ChatMessage { role: Role::User, content: text, tokens: Vec::new() });
        self.messages.push(ChatMessage { role: Role::Assistant, content: String::new(), tokens: Vec::new() });
    }

    /// Appends a token of the answer being written.
    pub fn append(&mut self, text: &str, token: TokenInfo) {
        if let Some(last) = self.messages.last_mut().filter(|m| m.role == Role::Assistant) {
            last.content.push_str(text);
            last.tokens.push(token);
        }
    }

    /// Replaces the user's turn at `index` with `text` and drops every turn after it, ready for a new
    /// answer. False if `index` is not a user turn.
    pub fn edit(&mut self, index: usize, text: String) -> bool {
        if self.messages.get(index).is_none_or(|m| m.role != Role::User) {
            return false;
        }
        self.messages.truncate(index);
        self.ask(text);
        true
    }

    /// Empties the last answer so it can be written again (or opens one for a last question left
    /// unanswered). False for an empty conversation.
    pub fn regenerate(&mut self) -> bool {
        match self.messages.last_mut() {
            Some(last) if last.role == Role::Assistant => {
                last.content.clear();
                last.tokens.clear();
                true
            }
            // A question whose answer was stopped before its first word: answer it.
            Some(last) if last.role == Role::User => {
                self.messages.push(ChatMessage { role: Role::Assistant, content: String::new(), tokens: Vec::new() });
                true
            }
            _ => false,
        }
    }

    /// Drops answers that never got a word (a failed or stopped-at-once answer), so they are not saved.
    pub fn drop_empty_answers(&mut self) {
        self.messages.retain(|m| !(m.role == Role::Assistant && m.content.is_empty() && m.tokens.is_empty()));
    }

    /// What the engine reads: the system prompt (if any), then every turn with words in it.
    pub fn for_engine(&self, system_prompt: &str) -> Vec<Message> {
        let system = (!system_prompt.trim().is_empty()).then(|| Message::system(system_prompt.trim()));
        system
            .into_iter()
            .chain(
                self.messages
                    .iter()
                    .filter(|m| !m.content.is_empty())
                    .map(|m| Message { role: m.role, content: m.content.clone() }),
            )
            .collect()
    }

    /// The conversation as Markdown, with the names of the page's language.
    pub fn to_markdown(&self, title: &str, you: &str, model: &str, system_prompt: &str) -> String {
        let mut out = format!("# {title}\n\n");
        if !system_prompt.trim().is_empty() {
            out += &format!("> {}\n\n", system_prompt.trim().replace('\n', "\n> "));
        }
        for m in &self.messages {
            let who = match m.role {
                Role::User => you,
                Role::Assistant => model,
                Role::System => "System",
            };
            out += &format!("**{who}:** {}\n\n", m.content.trim_end());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str, prob: f32) -> TokenInfo {
        TokenInfo { piece: Piece { id: 7, text: text.into() }, prob: Some(prob), top: Vec::new() }
    }

    fn answered(question: &str, answer: &str) -> Conversation {
        let mut c = Conversation::default();
        c.ask(question.into());
        c.append(answer, token(answer, 0.5));
        c
    }

    #[test]
    fn an_answer_streams_into_the_last_turn_with_its_tokens() {
        let mut c = Conversation::default();
        c.ask("Hi".into());
        c.append("Hel", token("Hel", 0.9));
        c.append("lo", token("lo", 0.4));
        assert_eq!(c.messages[1].content, "Hello");
        assert_eq!(c.messages[1].tokens.len(), 2);
        assert_eq!(c.for_engine(""), vec![Message::user("Hi"), Message::assistant("Hello")]);
    }

    #[test]
    fn the_system_prompt_comes_first_and_empty_turns_are_not_sent() {
        let mut c = answered("Hi", "Hello");
        c.ask("Again".into());
        assert_eq!(
            c.for_engine("  Be brief.  "),
            vec![
                Message::system("Be brief."),
                Message::user("Hi"),
                Message::assistant("Hello"),
                Message::user("Again")
            ]
        );
    }

    #[test]
    fn editing_a_question_drops_what_came_after_it() {
        let mut c = answered("Hi", "Hello");
        c.ask("Second".into());
        c.append("Sure", token("Sure", 0.3));
        assert!(c.edit(2, "Second, edited".into()));
        assert_eq!(c.messages.len(), 4);
        assert_eq!(c.messages[2].content, "Second, edited");
        assert!(c.messages[3].content.is_empty());
        assert!(!c.edit(1, "not a question".into()), "answers are not edited");
        assert!(!c.edit(9, "nothing there".into()));
    }

    #[test]
    fn regenerate_empties_the_last_answer_only() {
        let mut c = answered("Hi", "Hello");
        assert!(c.regenerate());
        assert_eq!(c.messages.len(), 2);
        assert!(c.messages[1].content.is_empty() && c.messages[1].tokens.is_empty());
        // A question left without an answer (stopped before the first word) gets one.
        let mut q = Conversation::default();
        q.messages.push(ChatMessage { role: Role::User, content: "Hi".into(), tokens: Vec::new() });
        assert!(q.regenerate());
        assert_eq!(q.messages.len(), 2);
        assert!(q.messages[1].role == Role::Assistant && q.messages[1].content.is_empty());
        assert!(!Conversation::default().regenerate(), "nothing to regenerate in an empty conversation");
    }

    #[test]
    fn markdown_export_names_each_speaker_and_quotes_the_system_prompt() {
        let c = answered("Bonjour ?", "Salut.");
        let md = c.to_markdown("Glassbox", "Vous", "Modèle", "Sois bref.\nEn français.");
        assert_eq!(md, "# Glassbox\n\n> Sois bref.\n> En français.\n\n**Vous:** Bonjour ?\n\n**Modèle:** Salut.\n\n");
    }

    #[test]
    fn the_newest_token_has_no_attention_yet() {
        let mut e = Exchange { tokens: vec![token("a", 1.0); 5], prompt_len: 5, traced: true, ..Exchange::default() };
        assert_eq!(e.last_read(), None, "prompt only: nothing read yet");
        e.tokens.push(token("b", 0.5));
        assert_eq!(e.last_read(), Some(4), "the first answer token came from reading the prompt");
        e.tokens.push(token("c", 0.5));
        assert_eq!(e.last_read(), Some(5));
    }

    #[test]
    fn a_text_read_whole_has_every_tokens_attention() {
        let e =
            Exchange { tokens: vec![token("a", 1.0); 5], prompt_len: 5, traced: true, read: true, drawn_with: None };
        assert_eq!(e.last_read(), Some(4));
        assert_eq!(Exchange { read: true, ..Exchange::default() }.last_read(), None);
    }
}
