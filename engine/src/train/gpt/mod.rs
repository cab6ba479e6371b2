//! A tiny GPT, trained from scratch in the page (the **P** of GPT): token and position embeddings, blocks
//! of pre-norm causal self-attention and MLP (GELU), a final layer norm and an output tied to the token
//! embeddings. Its forward and backward passes are written out layer by layer, like the autoencoder's;
//! every parameter lives in one flat vector so the optimiser, saving and gradient checks see one array.

use serde::{Deserialize, Serialize};

use super::nn::{axpy, Rng};
use super::split;

mod gpu;
mod ops;

pub use gpu::{GptState, GpuGpt};

use ops::{
    attention, attention_backward, gelu, layer_norm, layer_norm_backward, matmul, matmul_backward, softmax_in_place,
    Norm,
};

/// About how many multiply-adds one GELU (a tanh) is worth, when deciding whether to share them out.
const GELU_COST: usize = 32;

/// The sizes the page can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GptConfig {
    /// Distinct tokens (characters).
    pub vocab: usize,
    /// Blocks, 1 ..= 4.
    pub layers: usize,
    /// Width of the residual stream, 32 ..= 128 (any ≥ 1 natively).
    pub width: usize,
    /// Attention heads, dividing the width.
    pub heads: usize,
    /// The longest text the model reads at once.
    pub context: usize,
}

/// Where one block's parameters start in the flat vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BlockAt {
    ln1_g: usize,
    ln1_b: usize,
    qkv_w: usize,
    qkv_b: usize,
    proj_w: usize,
    proj_b: usize,
    ln2_g: usize,
    ln2_b: usize,
    fc_w: usize,
    fc_b: usize,
    out_w: usize,
    out_b: usize,
}

/// A named run of parameters: what a gradient check walks, and whether weight decay applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamGroup {
    /// "wte", "block 0 qkv_w", …
    pub name: String,
    /// First index in the flat vector.
    pub start: usize,
    /// How many.
    pub len: usize,
    /// Matrices decay; biases and norms do not.
    pub decay: bool,
}

/// The flat vector's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    wte: usize,
    wpe: usize,
    blocks: Vec<BlockAt>,
    lnf_g: usize,
    lnf_b: usize,
    groups: Vec<ParamGroup>,
    total: usize,
}

impl Layout {
    fn new(c: &GptConfig) -> Self {
        let mut groups = Vec::new();
        let mut total = 0;
        let mut alloc = |name: String, len: usize, decay: bool| {
            groups.push(ParamGroup { name, start: total, len, decay });
            total += len;
            total - len
        };
        let w = c.width;
        let wte = alloc("wte".into(), c.vocab * w, true);
        let wpe = alloc("wpe".into(), c.context * w, true);
        let blocks = (0..c.layers)
            .map(|l| {
                let mut a = |what: &str, len, decay| alloc(format!("block {l} {what}"), len, decay);
                BlockAt {
                    ln1_g: a("ln1_g", w, false),
                    ln1_b: a("ln1_b", w, false),
                    qkv_w: a("qkv_w", 3 * w * w, true),
                    qkv_b: a("qkv_b", 3 * w, false),
                    proj_w: a("proj_w", w * w, true),
                    proj_b: a("proj_b", w, false),
                    ln2_g: a("ln2_g", w, false),
                    ln2_b: a("ln2_b", w, false),
                    fc_w: a("fc_w", 4 * w * w, true),
                    fc_b: a("fc_b", 4 * w, false),
                    out_w: a("out_w", 4 * w * w, true),
                    out_b: a("out_b", w, false),
                }
            })
            .collect();
        let lnf_g = alloc("lnf_g".into(), w, false);
        let lnf_b = alloc("lnf_b".into(), w, false);
        Self { wte, wpe, blocks, lnf_g, lnf_b, groups, total }
    }
}

/// The model: its sizes and every parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpt {
    /// Sizes.
    pub config: GptConfig,
    /// Every parameter, laid out by [`Gpt::groups`].
    pub params: Vec<f32>,
    layout: Layout,
}

/// What the forward pass keeps for the backward one (and the attention the page draws).
#[derive(Debug, Clone)]
pub struct Pass {
    batch: usize,
    len: usize,
    tokens: Vec<u32>,
    blocks: Vec<BlockPass>,
    xf: Vec<f32>,
    lnf: Norm,
    /// `(batch · len, vocab)` softmax of the logits.
    pub probs: Vec<f32>,
}

#[derive(Debug, Clone)]
struct BlockPass {
    x: Vec<f32>,
    ln1: Norm,
    qkv: Vec<f32>,
    /// `(batch, heads, len, len)`, zero above the diagonal.
    att: Vec<f32>,
    y: Vec<f32>,
    x2: Vec<f32>,
    ln2: Norm,
    h: Vec<f32>,
    g: Vec<f32>,
}

impl Gpt {
    /// Weights drawn from N(0, 0.02²) (the residual projections scaled by 1/√(2·layers), as GPT-2 does),
    /// norms at 1, biases at 0.
    pub fn new(config: GptConfig, seed: u64) -> Self {
        let layout = Layout::new(&config);
        let mut params = vec![0.0; layout.total];
        let mut rng = Rng::new(seed);
        let residual = 0.02 / (2.0 * config.layers as f32).sqrt();
        for g in &layout.groups {
            let std = if g.name.ends_with("proj_w") || g.name.ends_with("out_w") { residual } else { 0.02 };
            let slice = &mut params[g.start..g.start + g.len];
            if g.decay {
                slice.iter_mut().for_each(|p| *p = rng.normal() * std);
            } else if g.name.contains("_g") {
                slice.fill(1.0);
            }
        }
        Self { config, params, layout }
    }

    /// A model with these sizes and parameters (`None` when the count is wrong).
    pub fn from_params(config: GptConfig, params: Vec<f32>) -> Option<Self> {
        let layout = Layout::new(&config);
        (params.len() == layout.total).then_some(Self { config, params, layout })
    }

    /// The named runs of parameters, in order.
    pub fn groups(&self) -> &[ParamGroup] {
        &self.layout.groups
    }

    /// How many parameters for these sizes.
    pub fn parameter_count(config: &GptConfig) -> usize {
        Layout::new(config).total
    }

    fn p(&self, start: usize, len: usize) -> &[f32] {
        &self.params[start..start + len]
    }

    /// Reads `batch` rows of `tokens` (each as long as the others, at most the context) and, with
    /// `targets`, returns the mean cross-entropy (nats per token) with the pass.
    pub fn forward(&self, tokens: &[u32], batch: usize, targets: Option<&[u32]>) -> (Pass, Option<f32>) {
        let c = &self.config;
        let (w, len) = (c.width, tokens.len() / batch.max(1));
        assert!(len >= 1 && len <= c.context && len * batch == tokens.len(), "rows of 1 ..= context tokens");
        let n = batch * len;
        let mut x = vec![0.0; n * w];
        for (i, (&tok, row)) in tokens.iter().zip(x.chunks_exact_mut(w)).enumerate() {
            let (te, pe) = (self.p(self.layout.wte + tok as usize * w, w), self.p(self.layout.wpe + (i % len) * w, w));
            row.iter_mut().zip(te.iter().zip(pe)).for_each(|(r, (a, b))| *r = a + b);
        }
        let mut blocks = Vec::with_capacity(c.layers);
        for at in &self.layout.blocks {
            let ln1 = layer_norm(&x, self.p(at.ln1_g, w), self.p(at.ln1_b, w), w);
            let qkv = matmul(&ln1.out, self.p(at.qkv_w, 3 * w * w), Some(self.p(at.qkv_b, 3 * w)), w, 3 * w);
            let (y, att) = attention(&qkv, batch, len, c.heads, w);
            let mut x2 = matmul(&y, self.p(at.proj_w, w * w), Some(self.p(at.proj_b, w)), w, w);
            x2.iter_mut().zip(&x).for_each(|(a, b)| *a += b);
            let ln2 = layer_norm(&x2, self.p(at.ln2_g, w), self.p(at.ln2_b, w), w);
            let h = matmul(&ln2.out, self.p(at.fc_w, 4 * w * w), Some(self.p(at.fc_b, 4 * w)), w, 4 * w);
            let g = split::map(&h, GELU_COST, &|v| gelu(v).0);
            let mut x3 = matmul(&g, self.p(at.out_w, 4 * w * w), Some(self.p(at.out_b, w)), 4 * w, w);
            x3.iter_mut().zip(&x2).for_each(|(a, b)| *a += b);
            blocks.push(BlockPass { x: std::mem::replace(&mut x, x3), ln1, qkv, att, y, x2, ln2, h, g });
        }
        let lnf = layer_norm(&x, self.p(self.layout.lnf_g, w), self.p(self.layout.lnf_b, w), w);
        let mut probs = matmul(&lnf.out, self.p(self.layout.wte, c.vocab * w), None, w, c.vocab);
        for row in probs.chunks_exact_mut(c.vocab) {
            softmax_in_place(row);
        }
        let loss = targets.map(|t| {
            assert_eq!(t.len(), n, "a target per token");
            let sum: f64 =
                t.iter().enumerate().map(|(i, &y)| -(probs[i * c.vocab + y as usize].max(1e-30) as f64).ln()).sum();
            (sum / n as f64) as f32
        });
        (Pass { batch, len, tokens: tokens.to_vec(), blocks, xf: x, lnf, probs }, loss)
    }

    /// The gradient of the mean cross-entropy against `targets` for every parameter, laid out like
    /// [`Gpt::params`].
    pub fn backward(&self, pass: &Pass, targets: &[u32]) -> Vec<f32> {
        let c = &self.config;
        let (w, v, len, batch) = (c.width, c.vocab, pass.len, pass.batch);
        let n = batch * len;
        let mut grad = vec![0.0; self.params.len()];
        // Cross-entropy through the softmax: (p − one-hot) / n.
        let mut dlogits = pass.probs.clone();
        for (i, &y) in targets.iter().enumerate() {
            dlogits[i * v + y as usize] -= 1.0;
        }
        dlogits.iter_mut().for_each(|d| *d /= n as f32);
        let lo = &self.layout;
        let mut dlnf = vec![0.0; n * w];
        matmul_backward(&dlogits, &pass.lnf.out, self.p(lo.wte, v * w), &mut dlnf, &mut grad, lo.wte, None, w, v);
        let mut dx = vec![0.0; n * w];
        layer_norm_backward(&dlnf, &pass.xf, &pass.lnf, self.p(lo.lnf_g, w), &mut dx, &mut grad, lo.lnf_g, lo.lnf_b);
        for (at, bp) in lo.blocks.iter().zip(&pass.blocks).rev() {
            // x3 = x2 + out(gelu(fc(ln2(x2)))): dx flows to x2 directly and through the MLP.
            let mut dg = vec![0.0; n * 4 * w];
            matmul_backward(
                &dx,
                &bp.g,
                self.p(at.out_w, 4 * w * w),
                &mut dg,
                &mut grad,
                at.out_w,
                Some(at.out_b),
                4 * w,
                w,
            );
            let mut dh = dg;
            split::by_rows(&mut dh, 4 * w, 1, n * 4 * w * GELU_COST, &|first, part| {
                part.iter_mut().zip(&bp.h[first * 4 * w..]).for_each(|(d, &h)| *d *= gelu(h).1)
            });
            let mut dln2 = vec![0.0; n * w];
            matmul_backward(
                &dh,
                &bp.ln2.out,
                self.p(at.fc_w, 4 * w * w),
                &mut dln2,
                &mut grad,
                at.fc_w,
                Some(at.fc_b),
                w,
                4 * w,
            );
            let mut dx2 = dx;
            layer_norm_backward(&dln2, &bp.x2, &bp.ln2, self.p(at.ln2_g, w), &mut dx2, &mut grad, at.ln2_g, at.ln2_b);
            // x2 = x + proj(attention(qkv(ln1(x)))).
            let mut dy = vec![0.0; n * w];
            matmul_backward(
                &dx2,
                &bp.y,
                self.p(at.proj_w, w * w),
                &mut dy,
                &mut grad,
                at.proj_w,
                Some(at.proj_b),
                w,
                w,
            );
            let dqkv = attention_backward(&dy, &bp.qkv, &bp.att, batch, len, c.heads, w);
            let mut dln1 = vec![0.0; n * w];
            matmul_backward(
                &dqkv,
                &bp.ln1.out,
                self.p(at.qkv_w, 3 * w * w),
                &mut dln1,
                &mut grad,
                at.qkv_w,
                Some(at.qkv_b),
                w,
                3 * w,
            );
            let mut dxin = dx2;
            layer_norm_backward(&dln1, &bp.x, &bp.ln1, self.p(at.ln1_g, w), &mut dxin, &mut grad, at.ln1_g, at.ln1_b);
            dx = dxin;
        }
        for (i, (&tok, d)) in pass.tokens.iter().zip(dx.chunks_exact(w)).enumerate() {
            axpy(1.0, d, &mut grad[lo.wte + tok as usize * w..][..w]);
            axpy(1.0, d, &mut grad[lo.wpe + (i % len) * w..][..w]);
        }
        grad
    }
}

impl Pass {
    /// Row `row`'s attention weights: `(layers, heads, len, len)` flattened, zero above the diagonal.
    pub fn attention(&self, row: usize) -> Vec<f32> {
        let per_row = self.blocks.first().map_or(0, |b| b.att.len() / self.batch);
        self.blocks.iter().flat_map(|b| b.att[row * per_row..(row + 1) * per_row].iter().copied()).collect()
    }

    /// The next-token distribution after position `pos` of row `row`.
    pub fn next(&self, row: usize, pos: usize) -> &[f32] {
        let v = self.probs.len() / (self.batch * self.len);
        &self.probs[(row * self.len + pos) * v..][..v]
    }
}
