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
    /// Row `r` is the file's row `order[r]` (a model whose RoPE rotates halves, read as one that rotates
    /// adjacent pairs: see [`neox_order`]); `None`: the file's order.
    order: Option<Arc<[u32]>>,
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
        Ok(Self { ty: info.ty, rows, cols, file: file.clone(), offset, order: None })
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
        Ok(Self { ty, rows, cols, file: FileBytes::new(bytes), offset: 0, order: None })
    }

    /// The same matrix with its rows in `order` (a permutation of `0..rows`).
    pub fn reordered(mut self, order: Arc<[u32]>) -> Self {
        debug_assert_eq!(order.len(), self.rows);
        self.order = Some(order);
        self
    }

    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.cols / self.ty.block_size() * self.ty.block_bytes()
    }

    /// The raw blocks of row `r`.
    pub fn row(&self, r: usize) -> &[u8] {
        let r = self.order.as_ref().map_or(r, |order| order[r] as usize);
        let n = self.row_bytes();
        &self.file.as_slice()[self.offset + r * n..self.offset + (r + 1) * n]
    }

    /// Row `r` as floats.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) -> Result<()> {
        dequantize(self.ty, self.row(r), out)
    }
}

/// The row order that reads a projection whose RoPE rotates halves (`(x[i], x[i + rope_dim/2])`, the
/// "NeoX" style Qwen2 files keep) as one that rotates adjacent pairs `(x[2i], x[2i+1])`, as this engine's
/// CPU and GPU kernels do: per head, the two halves interleaved (`order[2i] = i`, `order[2i+1] = i +
/// rope_dim/2`), the dimensions past `rope_dim` in place. Queries and keys reordered alike keep every
/// attention score: a dot product over the same pairs, rotated by the same angles.
pub fn neox_order(heads: usize, head_dim: usize, rope_dim: usize) -> Arc<[u32]> {
    let half = rope_dim / 2;
    (0..heads * head_dim)
        .map(|r| {
            let (head, d) = (r / head_dim, r % head_dim);
            let from = match d {
                d if d >= rope_dim => d,
                d if d % 2 == 0 => d / 2,
                d => d / 2 + half,
            };
            (head * head_dim + from) as u32
        })
        .collect()
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
    /// Biases of the query, key and value projections (Qwen2's), in the rows' order; `None`: none.
    pub qkv_bias: Option<[Vec<f32>; 3]>,
    /// RMSNorm gains of every query head and every key head (Qwen3's), `(head_dim)` each, in the rows'
    /// order within a head; `None`: the heads are not normalised.
    pub qk_norm: Option<[Vec<f32>; 2]>,
    /// RMSNorm gain before the feed-forward, `(n_embd)`.
    pub ffn_norm: Vec<f32>,
    /// SwiGLU gate, `(n_ff, n_embd)`.
    pub w_gate: QMatrix,
    /// SwiGLU up, `(n_ff, n_embd)`.
    pub w_up: QMatrix,
    /// SwiGLU down, `(n_embd, n_ff)`.
    pub w_down: QMatrix,
    /// Gemma's RMSNorm gains of the attention's and the feed-forward's outputs (`post_attention_norm`,
    /// `post_ffw_norm`), `(n_embd)` each; `None`: the outputs join the residual stream as they are.
    pub post_norms: Option<[Vec<f32>; 2]>,
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
        // Half-rotating models are read in the adjacent-pair order (queries, keys and their biases).
        let orders = config.rope_neox.then(|| {
            (
                neox_order(config.n_head, config.head_dim, config.rope_dim),
                neox_order(config.n_head_kv, config.head_dim, config.rope_dim),
            )
        });
        let reorder = |values: Vec<f32>, order: Option<&Arc<[u32]>>| match order {
            Some(order) => order.iter().map(|&r| values[r as usize]).collect(),
            None => values,
        };
        let layers = (0..config.n_layer)
            .map(|i| {
                let name = |t: &str| format!("blk.{i}.{t}.weight");
                let bias = |t: &str, len| load_vector(gguf, file, &format!("blk.{i}.{t}.bias"), len);
                let (q_order, k_order) = (orders.as_ref().map(|o| &o.0), orders.as_ref().map(|o| &o.1));
                let qkv_bias = if gguf.tensor(&format!("blk.{i}.attn_q.bias")).is_ok() {
                    Some([
                        reorder(bias("attn_q", q_dim)?, q_order),
                        reorder(bias("attn_k", kv_dim)?, k_order),
                        bias("attn_v", kv_dim)?,
                    ])
                } else {
                    None
                };
                let qk_norm = if config.qk_norm {
                    let head_order = config.rope_neox.then(|| neox_order(1, config.head_dim, config.rope_dim));
                    let gain = |t: &str| load_vector(gguf, file, &name(t), config.head_dim);
                    Some([
                        reorder(gain("attn_q_norm")?, head_order.as_ref()),
                        reorder(gain("attn_k_norm")?, head_order.as_ref()),
                    ])
                } else {
                    None
                };
                let wq = matrix(&name("attn_q"), q_dim, d)?;
                let wk = matrix(&name("attn_k"), kv_dim, d)?;
                Ok(Layer {
                    attn_norm: load_vector(gguf, file, &name("attn_norm"), d)?,
                    wq: match q_order {
                        Some(order) => wq.reordered(Arc::clone(order)),
                        None => wq,
                    },
                    wk: match k_order {
                        Some(order) => wk.reordered(Arc::clone(order)),
                        None => wk,
                    },
                    qkv_bias,
                    qk_norm,
                    wv: matrix(&name("attn_v"), kv_dim, d)?,
                    wo: matrix(&name("attn_output"), d, q_dim)?,
                    ffn_norm: load_vector(gguf, file, &name("ffn_norm"), d)?,
                    w_gate: matrix(&name("ffn_gate"), config.n_ff, d)?,
                    w_up: matrix(&name("ffn_up"), config.n_ff, d)?,
                    w_down: matrix(&name("ffn_down"), d, config.n_ff)?,
                    post_norms: match config.gemma {
                        Some(_) => Some([
                            load_vector(gguf, file, &name("post_attention_norm"), d)?,
                            load_vector(gguf, file, &name("post_ffw_norm"), d)?,
                        ]),
                        None => None,
                    },
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
