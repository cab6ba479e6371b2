//! Words as points in space: a word's vector is the row of the token-embedding matrix for its token (the
//! mean of its pieces' rows for a word of several tokens); words of related meaning tend to lie close,
//! measured by the cosine of the angle between their vectors. Also the same word *in context*: the
//! residual stream at its position after a chosen block, which the sentence around it has moved.

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::generate::Engine;
use crate::model::LogitsFor;

/// A word's static vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordVector {
    /// The word as given.
    pub word: String,
    /// Its tokens (the word with a space before it, as it stands inside a sentence).
    pub pieces: Vec<u32>,
    /// The mean of their embedding rows, `(n_embd)`.
    pub vector: Vec<f32>,
}

/// A token near a vector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Neighbour {
    /// Token id.
    pub id: u32,
    /// Cosine similarity to the vector.
    pub cosine: f32,
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        ab += f64::from(x) * f64::from(y);
        aa += f64::from(x) * f64::from(x);
        bb += f64::from(y) * f64::from(y);
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        (ab / (aa.sqrt() * bb.sqrt())) as f32
    }
}

/// The first two principal components of `points` (each `(d)`), as 2-D coordinates per point: the
/// centred points' Gram matrix's two leading eigenvectors, found by power iteration, scaled by the
/// square roots of their eigenvalues. Deterministic (a fixed start), so a map is the same every time.
pub fn project_2d(points: &[Vec<f32>]) -> Vec<[f32; 2]> {
    let m = points.len();
    if m == 0 {
        return Vec::new();
    }
    let d = points[0].len();
    let mean: Vec<f64> = (0..d).map(|j| points.iter().map(|p| f64::from(p[j])).sum::<f64>() / m as f64).collect();
    let centred: Vec<Vec<f64>> =
        points.iter().map(|p| p.iter().zip(&mean).map(|(&x, mu)| f64::from(x) - mu).collect()).collect();
    let mut gram = vec![vec![0.0f64; m]; m];
    for i in 0..m {
        for k in 0..=i {
            let g: f64 = centred[i].iter().zip(&centred[k]).map(|(a, b)| a * b).sum();
            gram[i][k] = g;
            gram[k][i] = g;
        }
    }
    let mut coords = vec![[0.0f32; 2]; m];
    for axis in 0..2 {
        // A fixed, non-symmetric start so the direction found does not depend on chance.
        let mut v: Vec<f64> = (0..m).map(|i| 1.0 + (i as f64 * 0.618).fract()).collect();
        let mut lambda = 0.0;
        for _ in 0..500 {
            let w: Vec<f64> = (0..m).map(|i| gram[i].iter().zip(&v).map(|(g, x)| g * x).sum()).collect();
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                break;
            }
            lambda = norm;
            v = w.into_iter().map(|x| x / norm).collect();
        }
        // A sign convention: the component's largest coordinate is positive.
        let flip = v.iter().copied().fold(0.0f64, |a, x| if x.abs() > a.abs() { x } else { a }) < 0.0;
        for (c, &x) in coords.iter_mut().zip(&v) {
            c[axis] = ((if flip { -x } else { x }) * lambda.sqrt()) as f32;
        }
        // Deflate: remove this component before looking for the next.
        for i in 0..m {
            for k in 0..m {
                gram[i][k] -= lambda * v[i] * v[k];
            }
        }
    }
    coords
}

impl Engine {
    /// The static vector of `word` (see the module docs).
    pub fn word_vector(&self, word: &str) -> Result<WordVector> {
        let word = word.trim();
        let pieces = self.tokenizer.encode_text(&format!(" {word}"))?;
        if word.is_empty() || pieces.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let embd = &self.model.weights.token_embd;
        let mut vector = vec![0.0f32; embd.cols];
        let mut row = vec![0.0f32; embd.cols];
        for &id in &pieces {
            embd.dequantize_row(id as usize, &mut row)?;
            for (v, r) in vector.iter_mut().zip(&row) {
                *v += r / pieces.len() as f32;
            }
        }
        Ok(WordVector { word: word.to_owned(), pieces, vector })
    }

    /// The `k` tokens whose embedding rows are nearest `vector` by cosine, best first, leaving out
    /// `exclude` (ties: lower id first).
    pub fn neighbours(&self, vector: &[f32], k: usize, exclude: &[u32]) -> Result<Vec<Neighbour>> {
        let embd = &self.model.weights.token_embd;
        let mut row = vec![0.0f32; embd.cols];
        let mut best: Vec<Neighbour> = Vec::with_capacity(k + 1);
        for id in 0..embd.rows as u32 {
            if exclude.contains(&id) {
                continue;
            }
            embd.dequantize_row(id as usize, &mut row)?;
            let c = cosine(vector, &row);
            if best.len() == k && best.last().is_some_and(|w| c <= w.cosine) {
                continue;
            }
            let at = best.partition_point(|b| b.cosine >= c);
            best.insert(at, Neighbour { id, cosine: c });
            best.truncate(k);
        }
        Ok(best)
    }

    /// The `k` tokens nearest `word`'s vector, or `word − minus + plus` for an analogy, leaving out the
    /// words' own tokens; with the first word's vector.
    pub fn nearest_to(
        &self,
        word: &str,
        analogy: Option<(&str, &str)>,
        k: usize,
    ) -> Result<(WordVector, Vec<Neighbour>)> {
        let a = self.word_vector(word)?;
        let mut vector = a.vector.clone();
        let mut exclude = a.pieces.clone();
        if let Some((minus, plus)) = analogy {
            let (b, c) = (self.word_vector(minus)?, self.word_vector(plus)?);
            for ((v, x), y) in vector.iter_mut().zip(&b.vector).zip(&c.vector) {
                *v += y - x;
            }
            exclude.extend(b.pieces.iter().chain(&c.pieces));
        }
        let found = self.neighbours(&vector, k, &exclude)?;
        Ok((a, found))
    }

    /// The cosine between `word`'s vectors in two sentences after each block: 1 where the sentences
    /// have not (yet) changed it.
    pub fn context_cosines(&self, word: &str, first: &str, second: &str) -> Result<Vec<f32>> {
        let a = self.word_in_context(first, word)?;
        let b = self.word_in_context(second, word)?;
        Ok(a.iter().zip(&b).map(|(x, y)| cosine(x, y)).collect())
    }

    /// [`Self::context_cosines`] on the engine's backend: on the GPU when the engine has one (exact,
    /// its KV cache in f16), else on the CPU. Both sentences are read on one backend (a GPU that fails on
    /// the second leaves both to the CPU); also says which.
    pub async fn context_cosines_on_backend(&self, word: &str, first: &str, second: &str) -> Result<(Vec<f32>, bool)> {
        let d = self.model.config.n_embd;
        let mut vectors: Vec<Vec<Vec<f32>>> = Vec::with_capacity(2);
        for text in [first, second] {
            let (ids, at, len) = self.locate_word(text, word)?;
            match self.gpu_hidden(&ids, true).await? {
                Some(hidden) => vectors.push(hidden.blocks.iter().map(|rows| mean_rows(rows, d, at, len)).collect()),
                None => return Ok((self.context_cosines(word, first, second)?, false)),
            }
        }
        Ok((vectors[0].iter().zip(&vectors[1]).map(|(x, y)| cosine(x, y)).collect(), true))
    }

    /// `text` read after the start token, and where `word` is in it: its first occurrence, with a space
    /// before it or at the start, as `(ids, first token, tokens)`.
    fn locate_word(&self, text: &str, word: &str) -> Result<(Vec<u32>, usize, usize)> {
        let ids: Vec<u32> = self.sentence_start().into_iter().chain(self.tokenizer.encode_text(text)?).collect();
        let word = word.trim();
        let find = |pieces: Vec<u32>| {
            (!pieces.is_empty())
                .then(|| ids.windows(pieces.len()).position(|w| w == pieces.as_slice()).map(|at| (at, pieces.len())))
                .flatten()
        };
        let (at, len) = find(self.tokenizer.encode_text(&format!(" {word}"))?)
            .or(find(self.tokenizer.encode_text(word)?))
            .ok_or_else(|| EngineError::Tokenizer(format!("«{word}» is not in «{text}»")))?;
        Ok((ids, at, len))
    }

    /// `word` inside `text`: after every block, the mean of the residual stream over the word's tokens
    /// (its first occurrence, with a space before it or at the start), one vector per block.
    pub fn word_in_context(&self, text: &str, word: &str) -> Result<Vec<Vec<f32>>> {
        let (ids, at, len) = self.locate_word(text, word)?;
        let d = self.model.config.n_embd;
        let mut cache = self.model.new_cache(ids.len());
        let mut per_block = Vec::with_capacity(self.model.config.n_layer);
        self.model.forward_observed(&mut cache, &ids, LogitsFor::Last, false, &mut |_, x| {
            per_block.push(mean_rows(x, d, at, len));
        })?;
        Ok(per_block)
    }

    /// The residual stream after block `layer` at each token of `text` (read after the start token, as
    /// the masked-word game reads a sentence), with the tokens: `(ids, rows (n, n_embd))`.
    pub fn hidden_states(&self, text: &str, layer: usize) -> Result<(Vec<u32>, Vec<f32>)> {
        if layer >= self.model.config.n_layer {
            return Err(EngineError::Tokenizer(format!("the model has {} blocks", self.model.config.n_layer)));
        }
        let ids: Vec<u32> = self.sentence_start().into_iter().chain(self.tokenizer.encode_text(text)?).collect();
        let mut cache = self.model.new_cache(ids.len());
        let mut rows = Vec::new();
        self.model.forward_observed(&mut cache, &ids, LogitsFor::Last, false, &mut |l, x| {
            if l == layer {
                rows = x.to_vec();
            }
        })?;
        Ok((ids, rows))
    }
}

/// The mean of rows `at..at + len` of `rows` (`d` values each).
pub(crate) fn mean_rows(rows: &[f32], d: usize, at: usize, len: usize) -> Vec<f32> {
    let mut v = vec![0.0f32; d];
    for row in rows.chunks_exact(d).skip(at).take(len) {
        for (a, b) in v.iter_mut().zip(row) {
            *a += b / len as f32;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_is_one_for_the_same_direction_and_zero_across() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn the_first_component_follows_the_widest_spread() {
        // Points along x (spread 10) with a little y (spread 1): the first axis is x, the second y.
        let points: Vec<Vec<f32>> =
            [(-5.0, 0.5), (-2.0, -0.5), (0.0, 0.3), (3.0, -0.3), (4.0, 0.0)].iter().map(|&(x, y)| vec![x, y]).collect();
        let coords = project_2d(&points);
        let xs: Vec<f32> = points.iter().map(|p| p[0]).collect();
        let mean_x = xs.iter().sum::<f32>() / 5.0;
        for (c, x) in coords.iter().zip(&xs) {
            assert!((c[0].abs() - (x - mean_x).abs()).abs() < 0.1, "{c:?} for x {x}");
        }
        assert!(coords.iter().all(|c| c[1].abs() < 0.7));
    }
}
