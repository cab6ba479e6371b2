//! SentencePiece's BPE as `llama` GGUF files describe it (Llama 2, TinyLlama, Mistral, Phi-3): pieces
//! with scores and no merge list. A space becomes `▁` (and the text gets one in front, unless the file
//! says `add_space_prefix = false`); adjacent pieces merge best score first; a character no piece covers
//! falls back to its bytes (`<0x41>`). The merges `tokenizers` needs are derived from the scores as
//! Hugging Face's converter derives them: every way of cutting a piece in two, both halves pieces too,
//! ranked by the whole piece's score.
//!
//! Gemma 4's files (`tokenizer.ggml.model = "gemma4"`) are the same kind of pieces with a merge list of
//! their own and no space in front: a space becomes `▁`, each line (and each run of line breaks) is
//! merged on its own, bytes fall back to `<0xXX>`.

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{BpeBuilder, BPE};
use tokenizers::normalizers::{Prepend, Replace, Sequence as NormalizerSequence};
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{NormalizerWrapper, SplitDelimiterBehavior};

use super::tok_err;
use crate::error::{EngineError, Result};
use crate::gguf::{Array, Gguf, StringArray, Value};

/// SentencePiece's stand-in for a space.
const SPACE: char = '▁';
/// ggml's token type of ordinary pieces (the others are control, byte, unknown and user-defined tokens).
const NORMAL: i32 = 1;

/// The tokenizer of a `llama` GGUF.
pub(super) fn build(gguf: &Gguf, tokens: &StringArray, types: &[i32]) -> Result<tokenizers::Tokenizer> {
    let scores = match gguf.get("tokenizer.ggml.scores") {
        Some(Value::Array(Array::F32(scores))) if scores.len() == tokens.len() => scores.clone(),
        _ => return Err(EngineError::Tokenizer("a SentencePiece vocabulary needs one score per token".into())),
    };
    let vocab = super::vocab_of(tokens);
    let mut merges: Vec<(f32, usize, String, String)> = Vec::new();
    for (id, piece) in tokens.iter().enumerate() {
        if types[id] != NORMAL {
            continue;
        }
        for (cut, _) in piece.char_indices().skip(1) {
            let (left, right) = piece.split_at(cut);
            if vocab.contains_key(left) && vocab.contains_key(right) {
                merges.push((scores[id], id, left.to_owned(), right.to_owned()));
            }
        }
    }
    merges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let merges = merges.into_iter().map(|(_, _, l, r)| (l, r)).collect();
    let bpe = with_unknown(gguf, tokens, BPE::builder().vocab_and_merges(vocab, merges).fuse_unk(true))?;

    let mut normalizers = Vec::new();
    if !matches!(gguf.get("tokenizer.ggml.add_space_prefix"), Some(Value::Bool(false))) {
        normalizers.push(NormalizerWrapper::Prepend(Prepend::new(SPACE.to_string())));
    }
    normalizers.push(NormalizerWrapper::Replace(Replace::new(" ", SPACE.to_string()).map_err(tok_err)?));
    let mut plain = tokenizers::Tokenizer::new(bpe);
    plain.with_normalizer(Some(NormalizerSequence::new(normalizers))).map_err(tok_err)?;
    plain.with_decoder(Some(pieces_decoder(true)?));
    Ok(plain)
}

/// The tokenizer of a `gemma4` GGUF: its merges over pieces written with `▁`, within each line and each
/// run of line breaks (a piece that is a whole run or line is taken as it is).
pub(super) fn build_gemma4(gguf: &Gguf, tokens: &StringArray) -> Result<tokenizers::Tokenizer> {
    let vocab = super::vocab_of(tokens);
    let merges = super::merge_pairs(gguf)?;
    let bpe = with_unknown(gguf, tokens, BPE::builder().vocab_and_merges(vocab, merges).ignore_merges(true))?;
    let mut plain = tokenizers::Tokenizer::new(bpe);
    let lines = Split::new(SplitPattern::Regex(r"[^\n]+|\n+".to_owned()), SplitDelimiterBehavior::Isolated, false)
        .map_err(tok_err)?;
    plain.with_normalizer(Some(Replace::new(" ", SPACE.to_string()).map_err(tok_err)?)).map_err(tok_err)?;
    plain.with_pre_tokenizer(Some(lines));
    plain.with_decoder(Some(pieces_decoder(false)?));
    Ok(plain)
}

/// A BPE over pieces with byte fallback (`<0xE9>`), and the unknown piece
/// `tokenizer.ggml.unknown_token_id` names, if any.
fn with_unknown(gguf: &Gguf, tokens: &StringArray, bpe: BpeBuilder) -> Result<BPE> {
    let mut bpe = bpe.byte_fallback(true);
    let unknown = gguf.u64("tokenizer.ggml.unknown_token_id").ok().and_then(|id| tokens.get(id as usize));
    if let Some(unk) = unknown {
        bpe = bpe.unk_token(unk.to_owned());
    }
    bpe.build().map_err(tok_err)
}

/// Pieces back to text: `▁` is a space, `<0xE9>` a byte; with `strip_prefix`, the space the normaliser
/// put in front of the text is taken off again.
fn pieces_decoder(strip_prefix: bool) -> Result<DecoderSequence> {
    let mut steps = vec![
        DecoderWrapper::Replace(Replace::new(SPACE.to_string(), " ").map_err(tok_err)?),
        DecoderWrapper::ByteFallback(ByteFallback::new()),
        DecoderWrapper::Fuse(Fuse::new()),
    ];
    if strip_prefix {
        steps.push(DecoderWrapper::Strip(Strip::new(' ', 1, 0)));
    }
    Ok(DecoderSequence::new(steps))
}

/// The bytes a piece stands for: `<0xE9>` is that byte; `▁` is a space.
pub(super) fn piece_bytes(piece: &str) -> Vec<u8> {
    if let Some(hex) = piece.strip_prefix("<0x").and_then(|rest| rest.strip_suffix('>')) {
        if let Ok(byte) = u8::from_str_radix(hex, 16) {
            if hex.len() == 2 {
                return vec![byte];
            }
        }
    }
    piece.replace(SPACE, " ").into_bytes()
}
