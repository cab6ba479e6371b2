//! The model's tokenizer, rebuilt from GGUF metadata as a `tokenizers::Tokenizer`: a byte-level BPE with
//! the GGUF's vocabulary and merges and the pre-tokenizer its `tokenizer.ggml.pre` names (`gpt2`
//! models), or SentencePiece's (`llama` models: Llama 2, TinyLlama, Mistral, Phi-3; `sentencepiece.rs`);
//! control tokens as special tokens.
//!
//! The `tokenizers` encoder never turns text into control tokens (`encode_special_tokens`), so whatever a
//! user types stays text; a chat template's own markup goes through [`Tokenizer::encode_with_specials`],
//! which cuts the control-token strings out first.

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior};

mod sentencepiece;

use crate::error::{EngineError, Result};
use crate::gguf::{Array, Gguf};

/// ggml's token types (`tokenizer.ggml.token_type`).
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// The GGUF's tokenizer, ready to encode and decode.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    plain: tokenizers::Tokenizer,
    /// Control tokens' strings and ids, longest string first (so a longer match wins).
    controls: Vec<(String, u32)>,
    /// Beginning-of-sequence id, if the model has one.
    pub bos: Option<u32>,
    /// End-of-sequence id.
    pub eos: Option<u32>,
    /// Whether a BOS token is prepended to a prompt (`tokenizer.ggml.add_bos_token`).
    pub add_bos: bool,
    vocab_size: usize,
    /// GPT-2's byte-to-character mapping (`false`: SentencePiece's pieces, `▁` for a space, `<0xXX>` bytes).
    byte_level: bool,
}

fn tok_err(err: impl std::fmt::Display) -> EngineError {
    EngineError::Tokenizer(err.to_string())
}

fn string_array<'a>(gguf: &'a Gguf, key: &str) -> Result<&'a crate::gguf::StringArray> {
    match gguf.array(key)? {
        Array::String(strings) => Ok(strings),
        _ => Err(EngineError::WrongMetadataType { key: key.to_owned(), expected: "an array of strings" }),
    }
}

fn optional_id(gguf: &Gguf, key: &str) -> Result<Option<u32>> {
    if gguf.get(key).is_none() {
        return Ok(None);
    }
    let id = gguf.u64(key)?;
    u32::try_from(id)
        .map(Some)
        .map_err(|_| EngineError::WrongMetadataType { key: key.to_owned(), expected: "a token id" })
}

impl Tokenizer {
    /// Builds the tokenizer described by `tokenizer.ggml.*` (model `gpt2`: byte-level BPE; `llama`:
    /// SentencePiece).
    pub fn from_gguf(gguf: &Gguf) -> Result<Self> {
        let model = gguf.str("tokenizer.ggml.model")?;
        let tokens = string_array(gguf, "tokenizer.ggml.tokens")?;
        let token_types: Vec<i32> = match gguf.get("tokenizer.ggml.token_type") {
            Some(crate::gguf::Value::Array(Array::I32(types))) => types.clone(),
            Some(_) => {
                return Err(EngineError::WrongMetadataType {
                    key: "tokenizer.ggml.token_type".into(),
                    expected: "an array of i32",
                })
            }
            None => vec![1; tokens.len()],
        };
        if token_types.len() != tokens.len() {
            return Err(EngineError::Tokenizer("token_type and tokens differ in length".into()));
        }

        let (mut plain, byte_level) = match model {
            "gpt2" => (byte_level_bpe(gguf, tokens)?, true),
            "llama" => (sentencepiece::build(gguf, tokens, &token_types)?, false),
            "gemma4" => (sentencepiece::build_gemma4(gguf, tokens)?, false),
            other => {
                return Err(EngineError::Tokenizer(format!(
                    "tokenizer model {other:?} is not supported (gpt2-style BPE, SentencePiece's llama and gemma4 are)"
                )))
            }
        };
        let of_type = |wanted: i32| -> Vec<(u32, &str)> {
            tokens
                .iter()
                .enumerate()
                .filter(|&(id, _)| token_types[id] == wanted)
                .map(|(id, t)| (id as u32, t))
                .collect()
        };
        let added = |wanted: i32, special: bool| -> Vec<AddedToken> {
            of_type(wanted).into_iter().map(|(_, t)| AddedToken::from(t.to_owned(), special)).collect()
        };
        plain.add_special_tokens(added(TOKEN_TYPE_CONTROL, true)).map_err(tok_err)?;
        plain.add_tokens(added(TOKEN_TYPE_USER_DEFINED, false)).map_err(tok_err)?;
        plain.set_encode_special_tokens(true);
        let mut controls: Vec<(String, u32)> = of_type(TOKEN_TYPE_CONTROL)
            .into_iter()
            .filter(|(_, t)| !t.is_empty())
            .map(|(id, t)| (t.to_owned(), id))
            .collect();
        controls.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));

        let add_bos = matches!(gguf.get("tokenizer.ggml.add_bos_token"), Some(crate::gguf::Value::Bool(true)));
        Ok(Self {
            plain,
            controls,
            bos: optional_id(gguf, "tokenizer.ggml.bos_token_id")?,
            eos: optional_id(gguf, "tokenizer.ggml.eos_token_id")?,
            add_bos,
            vocab_size: tokens.len(),
            byte_level,
        })
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Ids of text a user typed: control-token strings in it stay plain text.
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.plain.encode(text, false).map_err(tok_err)?.get_ids().to_vec())
    }

    /// Ids of trusted text (a rendered chat template's own markup): control-token strings become control ids,
    /// the text between them is encoded as in [`Tokenizer::encode_text`].
    pub fn encode_with_specials(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        let mut plain_start = 0;
        let mut at = 0;
        while at < text.len() {
            match self.controls.iter().find(|(s, _)| text[at..].starts_with(s.as_str())) {
                Some((s, id)) => {
                    if plain_start < at {
                        ids.extend(self.encode_text(&text[plain_start..at])?);
                    }
                    ids.push(*id);
                    at += s.len();
                    plain_start = at;
                }
                None => at += text[at..].chars().next().map_or(1, char::len_utf8),
            }
        }
        if plain_start < text.len() {
            ids.extend(self.encode_text(&text[plain_start..])?);
        }
        Ok(ids)
    }

    /// Text of `ids`, control tokens included.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.check_ids(ids)?;
        self.plain.decode(ids, false).map_err(tok_err)
    }

    /// The raw bytes one token stands for (a piece of UTF-8 that may be incomplete on its own).
    pub fn token_bytes(&self, id: u32) -> Result<Vec<u8>> {
        self.check_ids(&[id])?;
        let piece = self.plain.id_to_token(id).unwrap_or_default();
        if self.plain.get_added_vocabulary().is_special_token(&piece) {
            return Ok(piece.into_bytes());
        }
        if self.byte_level {
            Ok(piece.chars().map(byte_of_char).collect())
        } else {
            Ok(sentencepiece::piece_bytes(&piece))
        }
    }

    /// The ids a user would see as text, rendered for display: `Ġ` as a space, bytes as `<0xE9>` when
    /// they are not valid UTF-8 alone.
    pub fn token_label(&self, id: u32) -> Result<String> {
        let bytes = self.token_bytes(id)?;
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => e.into_bytes().iter().map(|b| format!("<0x{b:02X}>")).collect(),
        })
    }

    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        match ids.iter().find(|&&id| id as usize >= self.vocab_size) {
            Some(&id) => Err(EngineError::BadTokenId { id, vocab: self.vocab_size }),
            None => Ok(()),
        }
    }
}

/// GPT-2-style byte-level BPE: the file's merges, the pre-tokenizer its `tokenizer.ggml.pre` names.
/// Each token's text to its id, as `tokenizers`' BPE takes it.
fn vocab_of(tokens: &crate::gguf::StringArray) -> tokenizers::models::bpe::Vocab {
    tokens.iter().enumerate().map(|(id, t)| (t.to_owned(), id as u32)).collect()
}

fn byte_level_bpe(gguf: &Gguf, tokens: &crate::gguf::StringArray) -> Result<tokenizers::Tokenizer> {
    let vocab = vocab_of(tokens);
    let merges = merge_pairs(gguf)?;
    let pre = gguf.get("tokenizer.ggml.pre").and_then(|v| match v {
        crate::gguf::Value::String(s) => Some(s.as_str()),
        _ => None,
    });
    let pre = pre.unwrap_or("default");
    let pre_tokenizer = pre_tokenizer_for(pre)?;
    // Llama 3 takes a piece that is a token whole, without merging up to it.
    let ignore_merges = matches!(pre, "llama-bpe" | "llama3" | "llama-v3");
    let bpe = BPE::builder().vocab_and_merges(vocab, merges).ignore_merges(ignore_merges).build().map_err(tok_err)?;

    let mut plain = tokenizers::Tokenizer::new(bpe);
    plain.with_pre_tokenizer(Some(pre_tokenizer));
    plain.with_decoder(Some(ByteLevelDecoder::default()));
    Ok(plain)
}

/// The file's merges (`tokenizer.ggml.merges`, each `left right`), best first.
fn merge_pairs(gguf: &Gguf) -> Result<Vec<(String, String)>> {
    string_array(gguf, "tokenizer.ggml.merges")?
        .iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| tok_err(format!("bad merge {m:?}")))
        })
        .collect()
}

/// Llama 3's split (`llama-bpe`): contractions, words with one leading non-letter, numbers of up to three
/// digits, punctuation runs, line breaks, spaces (the last space before a word stays with the word).
const LLAMA3_SPLIT: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Qwen2's split: Llama 3's with every digit alone.
const QWEN2_SPLIT: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Qwen 3.5's split: Qwen2's with combining marks kept in words.
const QWEN35_SPLIT: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Pre-tokenizers named by `tokenizer.ggml.pre`. GPT-2's is the byte-level regex without a prefix space;
/// SmolLM's (StarCoder's, Refact's) splits digits one by one first; Llama 3's and Qwen's split with
/// their own regex, then map bytes without GPT-2's regex.
fn pre_tokenizer_for(name: &str) -> Result<Sequence> {
    let byte_level = |regex: bool| PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, regex));
    let split = |pattern: &str| -> Result<Sequence> {
        let split = Split::new(SplitPattern::Regex(pattern.to_owned()), SplitDelimiterBehavior::Isolated, false)
            .map_err(tok_err)?;
        Ok(Sequence::new(vec![PreTokenizerWrapper::Split(split), byte_level(false)]))
    };
    match name {
        "smollm" | "starcoder" | "refact" => {
            Ok(Sequence::new(vec![PreTokenizerWrapper::Digits(Digits::new(true)), byte_level(true)]))
        }
        "gpt-2" | "gpt2" | "default" => Ok(Sequence::new(vec![byte_level(true)])),
        "llama-bpe" | "llama3" | "llama-v3" => split(LLAMA3_SPLIT),
        "qwen2" => split(QWEN2_SPLIT),
        "qwen35" => split(QWEN35_SPLIT),
        other => Err(EngineError::Tokenizer(format!(
            "pre-tokenizer {other:?} is not supported (gpt-2, smollm, starcoder, refact, llama-bpe, qwen2 and qwen35 are)"
        ))),
    }
}

/// GPT-2's byte-level alphabet maps each byte to a printable char; this is the inverse.
fn byte_of_char(c: char) -> u8 {
    let code = c as u32;
    match code {
        0x21..=0x7e | 0xa1..=0xac | 0xae..=0xff => code as u8,
        // Bytes without a printable char were shifted to 256.. in order.
        0x100..=0x143 => {
            let shifted = (code - 0x100) as u8;
            (0u8..=255)
                .filter(|b| !matches!(b, 0x21..=0x7e | 0xa1..=0xac | 0xae..=0xff))
                .nth(shifted as usize)
                .unwrap_or(b'?')
        }
        _ => b'?',
    }
}
