//! The tiny GPT's building blocks and their backward passes: matrix products, layer norm, GELU, softmax
//! and causal self-attention, on row-major f32 slices.

use crate::train::dense;
use crate::train::nn::{axpy, dot};
use crate::train::split::by_rows;

#[derive(Debug, Clone)]
pub(super) struct Norm {
    pub(super) out: Vec<f32>,
    mean: Vec<f32>,
    rstd: Vec<f32>,
}

const LN_EPS: f32 = 1e-5;

/// `x (n, inp) · wᵀ (out, inp) + b`.
pub(super) fn matmul(x: &[f32], w: &[f32], b: Option<&[f32]>, inp: usize, out: usize) -> Vec<f32> {
    dense::x_wt(x, w, b, inp, out)
}

/// The backward pass of [`matmul`]: `dx += dy · w`, and into `grad` at `w_at` (and `b_at`) `dw += dyᵀ · x`,
/// `db += Σ dy`.
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul_backward(
    dy: &[f32],
    x: &[f32],
    w: &[f32],
    dx: &mut [f32],
    grad: &mut [f32],
    w_at: usize,
    b_at: Option<usize>,
    inp: usize,
    out: usize,
) {
    dense::add_dy_w(dy, w, dx, inp, out);
    dense::add_dyt_x(dy, x, &mut grad[w_at..][..out * inp], inp, out);
    if let Some(b) = b_at {
        dense::add_column_sums(dy, &mut grad[b..b + out]);
    }
}

pub(super) fn layer_norm(x: &[f32], g: &[f32], b: &[f32], w: usize) -> Norm {
    let rows = x.len() / w;
    let (mut out, mut mean, mut rstd) =
        (Vec::with_capacity(x.len()), Vec::with_capacity(rows), Vec::with_capacity(rows));
    for r in x.chunks_exact(w) {
        let m = r.iter().sum::<f32>() / w as f32;
        let var = r.iter().map(|v| (v - m) * (v - m)).sum::<f32>() / w as f32;
        let s = 1.0 / (var + LN_EPS).sqrt();
        out.extend(r.iter().zip(g.iter().zip(b)).map(|(v, (g, b))| (v - m) * s * g + b));
        mean.push(m);
        rstd.push(s);
    }
    Norm { out, mean, rstd }
}

/// `dx += ∂/∂x`, and the scale's and shift's gradients into `grad` at `g_at`, `b_at`.
#[allow(clippy::too_many_arguments)]
pub(super) fn layer_norm_backward(
    dout: &[f32],
    x: &[f32],
    norm: &Norm,
    g: &[f32],
    dx: &mut [f32],
    grad: &mut [f32],
    g_at: usize,
    b_at: usize,
) {
    let w = g.len();
    for (i, ((d, xr), dxr)) in dout.chunks_exact(w).zip(x.chunks_exact(w)).zip(dx.chunks_exact_mut(w)).enumerate() {
        let (m, s) = (norm.mean[i], norm.rstd[i]);
        let (mut mean_d, mut mean_dx) = (0.0, 0.0);
        for k in 0..w {
            let xhat = (xr[k] - m) * s;
            let dn = d[k] * g[k];
            mean_d += dn;
            mean_dx += dn * xhat;
            grad[g_at + k] += d[k] * xhat;
            grad[b_at + k] += d[k];
        }
        (mean_d, mean_dx) = (mean_d / w as f32, mean_dx / w as f32);
        for k in 0..w {
            let xhat = (xr[k] - m) * s;
            dxr[k] += s * (d[k] * g[k] - mean_d - xhat * mean_dx);
        }
    }
}

/// GELU (the tanh form GPT-2 uses) and its derivative.
pub(super) fn gelu(x: f32) -> (f32, f32) {
    const K: f32 = 0.797_884_6; // √(2/π)
    let u = K * (x + 0.044_715 * x * x * x);
    let t = u.tanh();
    (0.5 * x * (1.0 + t), 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * K * (1.0 + 3.0 * 0.044_715 * x * x))
}

pub(super) fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let mut sum = 0.0;
    row.iter_mut().for_each(|v| {
        *v = (*v - max).exp();
        sum += *v;
    });
    row.iter_mut().for_each(|v| *v /= sum);
}

/// Causal self-attention over `qkv (batch·len, 3w)`: the heads' outputs side by side `(batch·len, w)` and
/// the weights `(batch, heads, len, len)`. The batch's rows are shared by the engine's threads.
pub(super) fn attention(qkv: &[f32], batch: usize, len: usize, heads: usize, w: usize) -> (Vec<f32>, Vec<f32>) {
    let hd = w / heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let work = batch * heads * len * len * hd / 2;
    let mut att = vec![0.0; batch * heads * len * len];
    by_rows(&mut att, heads * len * len, 1, work, &|first, part| {
        for (i, weights) in part.chunks_exact_mut(heads * len * len).enumerate() {
            let b = first + i;
            for (h, head) in weights.chunks_exact_mut(len * len).enumerate() {
                for (t, row) in head.chunks_exact_mut(len).enumerate() {
                    let q = &qkv[(b * len + t) * 3 * w + h * hd..][..hd];
                    for s in 0..=t {
                        row[s] = dot(q, &qkv[(b * len + s) * 3 * w + w + h * hd..][..hd]) * scale;
                    }
                    softmax_in_place(&mut row[..=t]);
                }
            }
        }
    });
    let mut y = vec![0.0; batch * len * w];
    by_rows(&mut y, len * w, 1, work, &|first, part| {
        for (i, rows) in part.chunks_exact_mut(len * w).enumerate() {
            let b = first + i;
            for (t, out) in rows.chunks_exact_mut(w).enumerate() {
                for (h, out) in out.chunks_exact_mut(hd).enumerate() {
                    let row = &att[((b * heads + h) * len + t) * len..][..len];
                    for s in 0..=t {
                        axpy(row[s], &qkv[(b * len + s) * 3 * w + 2 * w + h * hd..][..hd], out);
                    }
                }
            }
        }
    });
    (y, att)
}

/// The backward pass of [`attention`]: the gradient at `qkv`. A batch's rows of it depend on that
/// batch's rows alone, so the batch is shared by the engine's threads.
pub(super) fn attention_backward(
    dy: &[f32],
    qkv: &[f32],
    att: &[f32],
    batch: usize,
    len: usize,
    heads: usize,
    w: usize,
) -> Vec<f32> {
    let hd = w / heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut dqkv = vec![0.0; qkv.len()];
    let work = batch * heads * len * len * hd * 2;
    by_rows(&mut dqkv, len * 3 * w, 1, work, &|first, part| {
        let mut datt = vec![0.0; len];
        for (i, dqkv) in part.chunks_exact_mut(len * 3 * w).enumerate() {
            let b = first + i;
            // `dqkv` holds this batch's rows: offsets in it are from the batch's first row.
            let at = b * len * 3 * w;
            for h in 0..heads {
                for t in 0..len {
                    let row = &att[((b * heads + h) * len + t) * len..][..len];
                    let d = &dy[(b * len + t) * w + h * hd..][..hd];
                    for s in 0..=t {
                        let vs = (b * len + s) * 3 * w + 2 * w + h * hd;
                        datt[s] = dot(d, &qkv[vs..vs + hd]);
                        axpy(row[s], d, &mut dqkv[vs - at..vs - at + hd]);
                    }
                    // Through the softmax: dscore = p (datt − Σ p·datt), then the scale.
                    let mean: f32 = (0..=t).map(|s| row[s] * datt[s]).sum();
                    let qt = (b * len + t) * 3 * w + h * hd;
                    for s in 0..=t {
                        let ds = row[s] * (datt[s] - mean) * scale;
                        let ks = (b * len + s) * 3 * w + w + h * hd;
                        for k in 0..hd {
                            dqkv[qt - at + k] += ds * qkv[ks + k];
                            dqkv[ks - at + k] += ds * qkv[qt + k];
                        }
                    }
                }
            }
        }
    });
    dqkv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::pool::{install, Pool};
    use crate::train::nn::Rng;

    #[test]
    fn attention_shared_by_threads_equals_one_thread_bit_for_bit() {
        // The pre-training lab's batch: 16 rows of 64 characters, two heads of 32.
        let (batch, len, heads, w) = (16, 64, 2, 64);
        let mut rng = Rng::new(5);
        let qkv: Vec<f32> = (0..batch * len * 3 * w).map(|_| rng.normal()).collect();
        let dy: Vec<f32> = (0..batch * len * w).map(|_| rng.normal()).collect();
        let run = || {
            let (y, att) = attention(&qkv, batch, len, heads, w);
            let dqkv = attention_backward(&dy, &qkv, &att, batch, len, heads, w);
            [y, att, dqkv]
        };
        let one = install(&Pool::new(1), run);
        let three = install(&Pool::new(3), run);
        for (name, a, b) in [("y", &one[0], &three[0]), ("att", &one[1], &three[1]), ("dqkv", &one[2], &three[2])] {
            assert!(a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits()), "{name}");
        }
        // And the split is the one-row loop's: row 37 of batch 5, head 1, checked by hand.
        let (b, t, h, hd) = (5, 37, 1, w / heads);
        let q = &qkv[(b * len + t) * 3 * w + h * hd..][..hd];
        let mut row: Vec<f32> = (0..=t)
            .map(|s| dot(q, &qkv[(b * len + s) * 3 * w + w + h * hd..][..hd]) * (1.0 / (hd as f32).sqrt()))
            .collect();
        softmax_in_place(&mut row);
        let got = &three[1][((b * heads + h) * len + t) * len..][..=t];
        assert!(got.iter().zip(&row).all(|(a, b)| a.to_bits() == b.to_bits()), "attention weights of one row");
    }
}
