//! Chat templates: the GGUF's `tokenizer.chat_template` (Jinja) rendered with `minijinja`; ChatML when a
//! model has none. Message contents are user text: they are encoded apart from the template's markup, so
//! a user typing `<|im_end|>` gets the characters, not the control token.

use minijinja::{context, Environment, Error as JinjaError, ErrorKind};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::gguf::{Gguf, Value};
use crate::tokenizer::Tokenizer;

/// The template used when the GGUF carries none.
pub const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// Marks where a message's content goes in a rendering, so the markup around it can be told apart.
/// Private-use code points: no tokenizer or user text is expected to produce them.
const OPEN: char = '\u{F0000}';
const CLOSE: char = '\u{F0001}';

/// Who said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the assistant.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
}

impl Message {
    /// A user turn.
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: Role::User, content: content.into() }
    }
    /// An assistant turn.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self { role: Role::Assistant, content: content.into() }
    }
    /// A system turn.
    pub fn system(content: impl Into<String>) -> Self {
        Self { role: Role::System, content: content.into() }
    }
}

/// A model's chat template.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: String,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    /// The GGUF's template (ChatML if it has none), with its BOS/EOS strings for templates that use them.
    pub fn from_gguf(gguf: &Gguf, tokenizer: &Tokenizer) -> Result<Self> {
        let source = match gguf.get("tokenizer.chat_template") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(EngineError::WrongMetadataType {
                    key: "tokenizer.chat_template".into(),
                    expected: "a string",
                })
            }
            None => CHATML.to_owned(),
        };
        let text = |id: Option<u32>| id.and_then(|id| tokenizer.decode(&[id]).ok()).unwrap_or_default();
        Ok(Self { source, bos: text(tokenizer.bos), eos: text(tokenizer.eos) })
    }

    /// A template from its Jinja source.
    pub fn new(source: impl Into<String>) -> Self {
        Self { source: source.into(), bos: String::new(), eos: String::new() }
    }

    /// The prompt text the model sees.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let mut env = Environment::new();
        // A template comes from a file anyone may have written: its work is bounded, so a loop without
        // end fails in milliseconds instead of hanging the worker.
        env.set_fuel(Some(TEMPLATE_FUEL));
        // Hugging Face's templates are written for Python's Jinja and call string methods (`startswith`).
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |message: String| -> std::result::Result<String, JinjaError> {
            Err(JinjaError::new(ErrorKind::InvalidOperation, message))
        });
        env.add_template("chat", &self.source).map_err(jinja_err)?;
        let template = env.get_template("chat").map_err(jinja_err)?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos,
                eos_token => self.eos,
            })
            .map_err(jinja_err)
            .and_then(|text| {
                if text.len() > MAX_RENDERED {
                    Err(EngineError::ChatTemplate(format!(
                        "the chat template wrote {} MB of prompt: too much",
                        text.len() >> 20
                    )))
                } else {
                    Ok(text)
                }
            })
    }

    /// The prompt's ids: the template's markup with control tokens recognised, each message's content as
    /// plain text.
    pub fn encode(&self, tokenizer: &Tokenizer, messages: &[Message], add_generation_prompt: bool) -> Result<Vec<u32>> {
        if messages.iter().any(|m| m.content.contains([OPEN, CLOSE])) {
            return Err(EngineError::ChatTemplate("a message contains reserved private-use characters".into()));
        }
        let marked: Vec<Message> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| Message { role: m.role, content: format!("{OPEN}{i}{CLOSE}") })
            .collect();
        let rendered = self.render(&marked, add_generation_prompt)?;
        let mut ids = Vec::new();
        let mut rest = rendered.as_str();
        if tokenizer.add_bos {
            ids.extend(tokenizer.bos);
            // A template that writes BOS itself (Llama 3's, Gemma's) would give two: as llama.cpp does,
            // the tokenizer's stands and the template's goes.
            if !self.bos.is_empty() {
                rest = rest.strip_prefix(self.bos.as_str()).unwrap_or(rest);
            }
        }
        while let Some(open) = rest.find(OPEN) {
            ids.extend(tokenizer.encode_with_specials(&rest[..open])?);
            let after = &rest[open + OPEN.len_utf8()..];
            let close = after
                .find(CLOSE)
                .ok_or_else(|| EngineError::ChatTemplate("the template cut a message apart".into()))?;
            let index: usize = after[..close]
                .parse()
                .map_err(|_| EngineError::ChatTemplate("the template altered a message".into()))?;
            let message =
                messages.get(index).ok_or_else(|| EngineError::ChatTemplate("unknown message marker".into()))?;
            ids.extend(tokenizer.encode_text(&message.content)?);
            rest = &after[close + CLOSE.len_utf8()..];
        }
        ids.extend(tokenizer.encode_with_specials(rest)?);
        Ok(ids)
    }
}

/// The most instructions a template may run for one rendering: real templates use a few dozen per
/// message, so a conversation of thousands of messages fits; a hostile loop stops within ~0.1 s.
pub const TEMPLATE_FUEL: u64 = 2_000_000;

/// The longest prompt text a template may produce (bytes): far more than any context holds.
const MAX_RENDERED: usize = 16 << 20;

fn jinja_err(err: JinjaError) -> EngineError {
    if err.kind() == ErrorKind::OutOfFuel {
        return EngineError::ChatTemplate(
            "the chat template ran too long (a broken or hostile template): it was stopped".into(),
        );
    }
    EngineError::ChatTemplate(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_that_loops_without_end_is_stopped_with_a_reason() {
        // minijinja's `range` holds at most 100,000 items: two nested ones make 10¹⁰ steps.
        let hostile = ChatTemplate::new(
            "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}",
        );
        let err = hostile.render(&[Message::user("hi")], true).unwrap_err();
        assert!(err.to_string().contains("ran too long"), "{err}");
    }

    #[test]
    fn a_conversation_of_two_thousand_messages_fits_in_the_templates_budget() {
        let messages: Vec<Message> = (0..2000)
            .map(|i| if i % 2 == 0 { Message::user(format!("q{i}")) } else { Message::assistant("a") })
            .collect();
        let text = ChatTemplate::new(CHATML).render(&messages, true).unwrap();
        assert_eq!(text.matches("<|im_start|>").count(), 2001);
    }
}
