//! A model's card, read from a GGUF header alone (no weights touched): what the file is, how large, in
//! which block formats, with which tokenizer and chat template, and what a conversation will cost in
//! memory. The page shows it for the loaded model and names it when a file cannot be used;
//! `glassbox card` prints it.

use serde::{Deserialize, Serialize};

use crate::gguf::Gguf;

/// The tensors of one block format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormatShare {
    /// ggml's name (`Q4_K`, `F32`, …).
    pub format: String,
    /// How many tensors.
    pub tensors: usize,
    /// Their values.
    pub parameters: u64,
    /// Their bytes in the file.
    pub bytes: u64,
}

/// What a GGUF file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// `general.architecture` (`llama`, `qwen2`, …).
    pub architecture: String,
    /// `general.name`, when the file gives one.
    pub name: Option<String>,
    /// Values over every tensor.
    pub parameters: u64,
    /// The file's size.
    pub file_bytes: u64,
    /// Tensors per block format, the most bytes first.
    pub formats: Vec<FormatShare>,
    /// Blocks.
    pub layers: Option<u64>,
    /// Width of the residual stream.
    pub embedding: Option<u64>,
    /// Query heads and key/value heads.
    pub heads: Option<(u64, u64)>,
    /// Positions the model was trained on.
    pub context: Option<u64>,
    /// Tokens in the vocabulary.
    pub vocabulary: Option<u64>,
    /// `tokenizer.ggml.model`, then `tokenizer.ggml.pre` when present (`gpt2 / smollm`).
    pub tokenizer: Option<String>,
    /// Whether the file carries a chat template.
    pub chat_template: bool,
    /// Bytes of the CPU's key/value cache per position (f32 keys and values of every block).
    pub kv_bytes_per_position: Option<u64>,
}

impl ModelCard {
    /// Reads the card from a parsed header.
    pub fn read(gguf: &Gguf) -> Self {
        let architecture = gguf.str("general.architecture").unwrap_or("unknown").to_owned();
        let key = |k: &str| gguf.u64(&format!("{architecture}.{k}")).ok();
        let mut formats: Vec<FormatShare> = Vec::new();
        for t in &gguf.tensors {
            let format = format!("{:?}", t.ty);
            let share = match formats.iter_mut().position(|f| f.format == format) {
                Some(i) => &mut formats[i],
                None => {
                    formats.push(FormatShare { format, tensors: 0, parameters: 0, bytes: 0 });
                    formats.last_mut().unwrap_or_else(|| unreachable!("just pushed"))
                }
            };
            share.tensors += 1;
            share.parameters += t.n_elements();
            share.bytes += t.size;
        }
        formats.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.format.cmp(&b.format)));
        let (layers, embedding, n_head) = (key("block_count"), key("embedding_length"), key("attention.head_count"));
        let n_head_kv = key("attention.head_count_kv").or(n_head);
        let head_dim = key("attention.key_length").or_else(|| Some(embedding? / n_head?.max(1)));
        let kv_bytes_per_position = (|| Some(2 * layers? * n_head_kv? * head_dim? * 4))();
        let tokenizer = gguf.str("tokenizer.ggml.model").ok().map(|model| match gguf.str("tokenizer.ggml.pre") {
            Ok(pre) => format!("{model} / {pre}"),
            Err(_) => model.to_owned(),
        });
        Self {
            name: gguf.str("general.name").ok().map(str::to_owned),
            parameters: gguf.tensors.iter().map(|t| t.n_elements()).sum(),
            file_bytes: gguf.file_len,
            formats,
            layers,
            embedding,
            heads: n_head.zip(n_head_kv),
            context: key("context_length"),
            vocabulary: gguf.array("tokenizer.ggml.tokens").ok().map(|a| a.len() as u64),
            tokenizer,
            chat_template: gguf.get("tokenizer.chat_template").is_some(),
            kv_bytes_per_position,
            architecture,
        }
    }

    /// Memory to hold the model and a conversation of `positions` tokens on the CPU: the file itself
    /// (the weights are read in place) and the key/value cache.
    pub fn memory_bytes(&self, positions: u64) -> u64 {
        self.file_bytes + self.kv_bytes_per_position.unwrap_or(0) * positions
    }

    /// One line for messages: `a llama model of 134.5 M parameters in Q4_1 ×210 (69 %), …`.
    pub fn summary(&self) -> String {
        let n = self.parameters as f64;
        let count = match n {
            n if n >= 1e9 => format!("{:.1} B", n / 1e9),
            n if n >= 1e6 => format!("{:.1} M", n / 1e6),
            _ => self.parameters.to_string(),
        };
        format!("a {} model of {count} parameters in {}", self.architecture, self.formats_line())
    }

    /// The block formats in one line, the most bytes first: `Q5_0 ×150 (62 %), Q8_0 ×30 (20 %), …`.
    pub fn formats_line(&self) -> String {
        let total = self.formats.iter().map(|f| f.bytes).sum::<u64>().max(1);
        let share = |f: &FormatShare| match f.bytes as f64 * 100.0 / total as f64 {
            s if s < 1.0 => "< 1 %".to_owned(),
            s => format!("{s:.0} %"),
        };
        self.formats
            .iter()
            .map(|f| format!("{} ×{} ({})", f.format, f.tensors, share(f)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
