//! The model's tensors, kept in their quantized block layout (rows of blocks) as the GGUF stores them.

use crate::error::{EngineError, Result};
use crate::gguf::Gguf;
use crate::model::Config;
use crate::quant::{dequantize, GgmlType};

/// A weight matrix `(rows, cols)`: each of the `rows` output features is one row of `cols` inputs,
/// stored as `cols / block_size` consecutive blocks of `ty`.
#[derive(Debug, Clone)]
pub struct QMatrix {
    /// Block format.
    pub ty: GgmlType,
    /// Output features.
    pub rows: usize,
    /// Input features (the contiguous dimension).
    pub cols: usize,
    /// `rows * row_bytes()` bytes.
    pub data: Vec<u8>,
}

impl QMatrix {
    /// Reads tensor `name`, checking it is `(rows, cols)` (ggml dims `[cols, rows]`).
    pub fn load(gguf: &Gguf, file: &[u8], name: &str, rows: usize, cols: usize) -> Result<Self> {
        let info = gguf.tensor(name)?;
        if info.dims != [cols as u64, rows as u64] {
            return Err(EngineError::BadTensorShape { name: name.to_owned(), reason: format!("{:?}, expected [{cols}, {rows}]", info.dims) });
        }
        let data = gguf.tensor_data(file, info)?.to_vec();
        Ok(Self { ty: info.ty, rows, cols, data })
    }

    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.cols / self.ty.block_size() * self.ty.block_bytes()
    }

    /// The raw blocks of row `r`.
    pub fn row(&self, r: usize) -> &[u8] {
        let n = self.row_bytes();
        &self.data[r * n..(r + 1) * n]
    }

    /// Row `r` as floats.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) -> Result<()> {
        dequantize(self.ty, self.row(r), out)
    }
}

/// Reads a 1-D tensor of any float or block type as f32 values, checking its length.
pub fn load_vector(gguf: &Gguf, file: &[u8], name: &str, len: usize) -> Result<Vec<f32>> {
    let info = gguf.tensor(name)?;
    if info.dims != [len as u64] {
        return Err(EngineError::BadTensorShape { name: name.to_owned(), reason: format!("{:?}, expected [{len}]", info.dims) });
    }
    let mut out = vec![0.0; len];
    dequantize(info.ty, gguf.tensor_data(file, info)?, &mut out)?;
    Ok(out)
}

/// One transformer block.
#[derive(Debug, Clone)]
pub struct Layer {
    /// RMSNorm gain before attention, `(n_embd)`.
    pub attn_norm: Vec<f32>,
    /// Query projection, `(n_head * head_dim, n_embd)`.
    pub wq: QMatrix,
    /// Key projection, `(n_head_kv * head_dim, n_embd)`.
    pub wk: QMatrix,
    /// Value projection, `(n_head_kv * head_dim, n_embd)`.
    pub wv: QMatrix,
    /// Attention output projection, `(n_embd, n_head * head_dim)`.
    pub wo: QMatrix,
    /// RMSNorm gain before the feed-forward, `(n_embd)`.
    pub ffn_norm: Vec<f32>,
    /// SwiGLU gate, `(n_ff, n_embd)`.
    pub w_gate: QMatrix,
    /// SwiGLU up, `(n_ff, n_embd)`.
    pub w_up: QMatrix,
    /// SwiGLU down, `(n_embd, n_ff)`.
    pub w_down: QMatrix,
}

/// Every tensor of a llama-family model.
#[derive(Debug, Clone)]
pub struct Weights {
    /// Token embeddings, `(n_vocab, n_embd)`; also the output head when `output` is `None` (tied).
    pub token_embd: QMatrix,
    /// The blocks, `n_layer` of them.
    pub layers: Vec<Layer>,
    /// Final RMSNorm gain, `(n_embd)`.
    pub output_norm: Vec<f32>,
    /// Output head, `(n_vocab, n_embd)`, when not tied to the embeddings.
    pub output: Option<QMatrix>,
}

impl Weights {
    /// Loads every tensor `config` calls for from the GGUF `file`.
    pub fn load(gguf: &Gguf, file: &[u8], config: &Config) -> Result<Self> {
        let (d, q_dim, kv_dim) = (config.n_embd, config.n_head * config.head_dim, config.kv_dim());
        let matrix = |name: &str, rows, cols| QMatrix::load(gguf, file, name, rows, cols);
        let layers = (0..config.n_layer)
            .map(|i| {
                let name = |t: &str| format!("blk.{i}.{t}.weight");
                Ok(Layer {
                    attn_norm: load_vector(gguf, file, &name("attn_norm"), d)?,
                    wq: matrix(&name("attn_q"), q_dim, d)?,
                    wk: matrix(&name("attn_k"), kv_dim, d)?,
                    wv: matrix(&name("attn_v"), kv_dim, d)?,
                    wo: matrix(&name("attn_output"), d, q_dim)?,
                    ffn_norm: load_vector(gguf, file, &name("ffn_norm"), d)?,
                    w_gate: matrix(&name("ffn_gate"), config.n_ff, d)?,
                    w_up: matrix(&name("ffn_up"), config.n_ff, d)?,
                    w_down: matrix(&name("ffn_down"), d, config.n_ff)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let output = match gguf.tensor("output.weight") {
            Ok(_) => Some(matrix("output.weight", config.n_vocab, d)?),
            Err(_) => None,
        };
        Ok(Self {
            token_embd: matrix("token_embd.weight", config.n_vocab, d)?,
            layers,
            output_norm: load_vector(gguf, file, "output_norm.weight", d)?,
            output,
        })
    }

    /// The output head (the embeddings when tied).
    pub fn output_head(&self) -> &QMatrix {
        self.output.as_ref().unwrap_or(&self.token_embd)
    }
}
