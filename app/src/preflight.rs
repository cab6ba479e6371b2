//! A model file judged before it is read: its header is parsed from the first bytes as they arrive, and
//! the memory it needs (the file and the key/value cache of a conversation) is weighed against what this
//! browser's engine can hold, so a file too large is refused with the figure and a corrupt one at once,
//! before the rest is read and while the current model stays. Plain data, tested natively; the worker
//! feeds it the bytes (`worker/load.rs`).

use engine::gguf::Gguf;
use engine::model::ModelCard;
use engine::EngineError;

/// What the engine may hold in all: WebAssembly's 32-bit memory ends at 4 GiB, and the engine needs room
/// beside the model for its working buffers.
pub const MAX_MEMORY_BYTES: u64 = 3_000_000_000;

/// The conversation the estimate makes room for, in tokens (less when the model's context is shorter).
pub const ESTIMATE_POSITIONS: u64 = 4096;

/// The first try reads this much; each try that ends inside the header doubles it.
const FIRST_TRY: usize = 1 << 20;

/// The memory a file needs, before it is read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    /// The architecture the file names.
    pub architecture: String,
    /// Its parameters.
    pub parameters: u64,
    /// Its block formats, the most bytes first ([`ModelCard::formats_line`]).
    pub formats: String,
    /// The file and the cache of `positions` tokens, in bytes.
    pub bytes: u64,
    /// The conversation counted, in tokens.
    pub positions: u64,
}

/// What the first bytes say.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The file fits: read on.
    Fits(Estimate),
    /// Stop reading: why, in one line (too large, with the figures; or not a file the engine reads).
    Refused(String),
}

/// Watches the bytes of a file of `total` bytes as they arrive.
#[derive(Debug, Clone)]
pub struct Preflight {
    total: u64,
    next_try: usize,
    done: bool,
}

impl Preflight {
    /// For a file of `total` bytes (0: unknown, nothing is judged).
    pub fn new(total: u64) -> Self {
        Self { total, next_try: FIRST_TRY, done: total == 0 }
    }

    /// Looks at the bytes read so far; `Some` once, when the header has been read (or cannot be).
    pub fn look(&mut self, read: &[u8]) -> Option<Verdict> {
        let whole = read.len() as u64 >= self.total;
        if self.done || (read.len() < self.next_try && !whole) {
            return None;
        }
        match Gguf::parse_header(read, self.total) {
            Ok(gguf) => {
                self.done = true;
                Some(judge(&ModelCard::read(&gguf)))
            }
            Err(EngineError::TruncatedHeader { .. }) if !whole => {
                self.next_try = read.len().saturating_mul(2);
                None
            }
            Err(e) => {
                self.done = true;
                Some(Verdict::Refused(format!("this file cannot be used: {e}")))
            }
        }
    }
}

/// Whether a model with this card fits, with the estimate or the reason.
pub fn judge(card: &ModelCard) -> Verdict {
    let positions = card.context.unwrap_or(ESTIMATE_POSITIONS).clamp(1, ESTIMATE_POSITIONS);
    let bytes = card.memory_bytes(positions);
    if bytes > MAX_MEMORY_BYTES {
        let gb = |b: u64| format!("{:.1} GB", b as f64 / 1e9);
        return Verdict::Refused(format!(
            "this model needs about {} here ({} for the file and {} for a conversation of {positions} tokens), \
             more than the {} the browser engine can hold (it holds {})",
            gb(bytes),
            gb(card.file_bytes),
            gb(bytes - card.file_bytes),
            gb(MAX_MEMORY_BYTES),
            card.summary(),
        ));
    }
    Verdict::Fits(Estimate {
        architecture: card.architecture.clone(),
        parameters: card.parameters,
        formats: card.formats_line(),
        bytes,
        positions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::gguf::GgufBuilder;
    use engine::quant::GgmlType;

    /// A llama header of `layers` blocks 4,096 wide (8 KV heads of 128) with a context of `context`, its
    /// only tensor a Q8_0 matrix of `blocks` blocks.
    fn file(layers: u32, context: u32, blocks: usize) -> Vec<u8> {
        GgufBuilder::new()
            .string("general.architecture", "llama")
            .u32("llama.block_count", layers)
            .u32("llama.embedding_length", 4096)
            .u32("llama.attention.head_count", 32)
            .u32("llama.attention.head_count_kv", 8)
            .u32("llama.context_length", context)
            .strings("tokenizer.ggml.tokens", &vec!["x"; 130_000])
            .tensor("output.weight", &[32, blocks as u64], GgmlType::Q8_0, vec![1u8; 34 * blocks])
            .build()
    }

    #[test]
    fn the_header_is_read_from_the_first_bytes_and_the_estimate_is_the_file_and_its_cache() {
        let bytes = file(32, 8192, 1000);
        let mut watch = Preflight::new(bytes.len() as u64);
        // 130,000 token strings: the header outgrows the first try, and the second sees it whole.
        assert!(bytes.len() > FIRST_TRY + 34_000 && bytes.len() < 2 * FIRST_TRY);
        assert_eq!(watch.look(&bytes[..1000]), None, "not before the first try's size");
        assert_eq!(watch.look(&bytes[..FIRST_TRY]), None, "the header goes on: read more");
        let Some(Verdict::Fits(estimate)) = watch.look(&bytes) else { panic!("fits") };
        // Keys and values (2) × 32 blocks × 8 heads × 128 × 4 bytes = 256 KiB per token, for 4,096 tokens.
        assert_eq!(estimate.positions, 4096);
        assert_eq!(estimate.bytes, bytes.len() as u64 + 4096 * 2 * 32 * 8 * 128 * 4);
        assert_eq!((estimate.architecture.as_str(), estimate.parameters), ("llama", 32_000));
        assert_eq!(estimate.formats, "Q8_0 ×1 (100 %)");
        assert_eq!(watch.look(&bytes), None, "said once");
    }

    #[test]
    fn a_model_whose_cache_would_not_fit_is_refused_with_the_figures_and_a_foreign_file_at_once() {
        // 160 blocks: the cache of 4,096 tokens alone is 5.4 GB.
        let bytes = file(160, 32768, 10);
        match Preflight::new(bytes.len() as u64).look(&bytes) {
            Some(Verdict::Refused(why)) => {
                assert!(why.contains("about 5.4 GB") && why.contains("4096 tokens") && why.contains("3.0 GB"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        // A short context is counted as it is.
        let Some(Verdict::Fits(e)) = Preflight::new(file(2, 256, 10).len() as u64).look(&file(2, 256, 10)) else {
            panic!("fits")
        };
        assert_eq!(e.positions, 256);
        let mut watch = Preflight::new(50_000_000);
        let first = b"PK\x03\x04 a zip file".repeat(100_000);
        assert!(matches!(watch.look(&first), Some(Verdict::Refused(why)) if why.contains("not a GGUF file")));
        assert_eq!(Preflight::new(0).look(&first), None, "an unknown size is not judged");
    }
}
