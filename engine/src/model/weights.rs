//! The model's tensors, kept in their quantized block layout (rows of blocks) as the GGUF stores them.

use std::sync::Arc;

use crate::error::{EngineError, Result};
use crate::gguf::Gguf;
use crate::model::Config;
use crate::quant::{dequantize, GgmlType};

/// A whole GGUF file in memory (a `Vec`, a static slice in tests, a memory map natively), shared by
/// every tensor that lives in it: weights are never copied out of the file.
#[derive(Clone)]
pub struct FileBytes(Arc<dyn AsRef<[u8]> + Send + Sync>);

impl FileBytes {
    /// Wraps any owner of the file's bytes.
    pub fn new(owner: impl AsRef<[u8]> + Send + Sync + 'static) -> Self {
        Self(Arc::new(owner))
    }

    /// Maps the file at `path` into memory (native only): pages are read on first touch and shared with
    /// the OS page cache, so loading costs no copy.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn map(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        // SAFETY: the map is read-only; like every mmap-based loader (llama.cpp included) we rely on the
        // file not being truncated while the model is loaded.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Self::new(map))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileBytes({} bytes)", self.as_slice().len())
    }
}

/// A weight matrix `(rows, cols)`: each of the `rows` output features is one row of `cols` inputs,
/// stored as `cols / block_size` consecutive blocks of `ty`, in place in the GGUF file (no copy, no
/// unpacked constants: the kernels convert each block's f16 constants as they go).
#[derive(Debug, Clone)]
pub struct QMatrix {
    /// Block format.
    pub ty: GgmlType,
    /// Output features.
    pub rows: usize,
    /// Input features (the contiguous dimension).
    pub cols: usize,
    file: FileBytes,
    /// Where the tensor's `rows * row_bytes()` bytes start in `file`.
    offset: usize,
}

impl QMatrix {
    /// Reads tensor `name`, checking it is `(rows, cols)` (ggml dims `[cols, rows]`).
    pub fn load(gguf: &Gguf, file: &FileBytes, name: &str, rows: usize, cols: usize) -> Result<Self> {
        let info = gguf.tensor(name)?;
        if info.dims != [cols as u64, rows as u64] {
            return Err(EngineError::BadTensorShape {
                name: name.to_owned(),
                reason: format!("{:?}, expected [{cols}, {rows}]", info.dims),
            });
        }
        let data = gguf.tensor_data(file.as_slice(), info)?;
        let offset = data.as_ptr() as usize - file.as_slice().as_ptr() as usize;
        Ok(Self { ty: info.ty, rows, cols, file: file.clone(), offset })
    }

    /// A matrix over `bytes` (`rows` rows of `cols / block_size` blocks of `ty`), e.g. built in a test.
    pub fn from_bytes(ty: GgmlType, rows: usize, cols: usize, bytes: Vec<u8>) -> Result<Self> {
        let expected = ty.bytes_for((rows * cols) as u64, cols as u64);
        if expected != Some(bytes.len() as u64) {
            return Err(EngineError::BadTensorShape {
                name: format!("{ty:?} matrix"),
                reason: format!("{} bytes for ({rows}, {cols})", bytes.len()),
            });
        }
        Ok(Self { ty, rows, cols, file: FileBytes::new(bytes), offset: 0 })
    }

    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.cols / self.ty.block_size() * self.ty.block_bytes()
    }

    /// The raw blocks of row `r`.
    pub fn row(&self, r: usize) -> &[u8] {
        let n = self.row_bytes();
        &self.file.as_slice()[self.offset + r * n..self.offset + (r + 1) * n]
    }

    /// Row `r` as floats.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) -> Result<()> {
        dequantize(self.ty, self.row(r), out)
    }
}

/// Reads a 1-D tensor of any float or block type as f32 values, checking its length.
pub fn load_vector(gguf: &Gguf, file: &FileBytes, name: &str, len: usize) -> Result<Vec<f32>> {
    let info = gguf.tensor(name)?;
    if info.dims != [len as u64] {
        return Err(EngineError::BadTensorShape {
            name: name.to_owned(),
            reason: format!("{:?}, expected [{len}]", info.dims),
        });
    }
    let mut out = vec![0.0; len];
    dequantize(info.ty, gguf.tensor_data(file.as_slice(), info)?, &mut out)?;
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
    pub fn load(gguf: &Gguf, file: &FileBytes, config: &Config) -> Result<Self> {
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
