//! A conversation's attention, kept for the explorer: every traced token's probabilities over the keys it
//! saw, for every layer and head, stored as 16-bit fixed point (error ≤ 7.7e-6) under a memory cap; and
//! the views the app draws from it (one head's query × key matrix, the mean over heads, a thumbnail of
//! every head), with the first ("sink") key optionally hidden and each row renormalised.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::AttentionTrace;

/// Largest stored value: probabilities are kept as `round(p × SCALE)`.
const SCALE: f32 = u16::MAX as f32;

/// Which head a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeadPick {
    /// One query head.
    One(usize),
    /// The mean over the layer's heads.
    Mean,
}

/// One head's attention as a square matrix: rows are queries, columns keys, both positions `0..n`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadMatrix {
    /// Layer shown.
    pub layer: usize,
    /// Head shown.
    pub head: HeadPick,
    /// Side: positions `0..n` (the last row is the selected token).
    pub n: usize,
    /// Row-major `n × n`; entries above the diagonal (the future) are 0; rows that were not traced are NaN.
    pub weights: Vec<f32>,
    /// Whether the sink key (position 0) was hidden and each row renormalised.
    pub hide_sink: bool,
}

impl HeadMatrix {
    /// Weight of `key` in the row of `query`.
    pub fn get(&self, query: usize, key: usize) -> f32 {
        self.weights[query * self.n + key]
    }

    /// Whether the row of `query` was traced.
    pub fn has_row(&self, query: usize) -> bool {
        query < self.n && !self.weights[query * self.n].is_nan()
    }
}

/// A small picture of every head: `side × side` cells per head, each the largest weight of the
/// query × key block it covers, as `0..=255`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thumbnails {
    /// Layers (rows of the grid).
    pub n_layer: usize,
    /// Heads (columns of the grid).
    pub n_head: usize,
    /// Positions covered: `0..n`.
    pub n: usize,
    /// Cells per side of each thumbnail.
    pub side: usize,
    /// `(n_layer, n_head, side, side)`; 0 where a block holds no traced row.
    pub cells: Vec<u8>,
}

impl Thumbnails {
    /// Cell `(row, col)` of the thumbnail of `layer`, `head`.
    pub fn cell(&self, layer: usize, head: usize, row: usize, col: usize) -> u8 {
        self.cells[((layer * self.n_head + head) * self.side + row) * self.side + col]
    }
}

/// Traced rows of one conversation, oldest first, within a cap on stored values.
#[derive(Debug, Clone)]
pub struct AttentionBook {
    n_layer: usize,
    n_head: usize,
    cap_values: usize,
    values: usize,
    /// `(position, row)`; a row is `(n_layer, n_head, position + 1)` fixed-point values; positions ascend.
    rows: VecDeque<(usize, Vec<u16>)>,
    /// The tokens its rows were traced over, as the caller said ([`Self::set_context`]; empty: unknown).
    context: Vec<u32>,
}

impl AttentionBook {
    /// An empty book for a model of this shape, holding at most `cap_values` values (the oldest rows
    /// are dropped first).
    pub fn new(n_layer: usize, n_head: usize, cap_values: usize) -> Self {
        Self { n_layer, n_head, cap_values, values: 0, rows: VecDeque::new(), context: Vec::new() }
    }

    /// Forgets everything (a new answer starts).
    pub fn clear(&mut self) {
        self.rows.clear();
        self.values = 0;
        self.context.clear();
    }

    /// Says which tokens the rows were traced over, so that [`Self::rewind`] knows which stay true.
    pub fn set_context(&mut self, ids: Vec<u32>) {
        self.context = ids;
    }

    /// Keeps the rows of the first positions (at most `n`) whose tokens are `ids`' own, and forgets the
    /// rest: a new turn that continues the conversation's cache from position `n` adds its rows there.
    pub fn rewind(&mut self, ids: &[u32], n: usize) {
        let same = self.context.iter().zip(ids).take_while(|(a, b)| a == b).count().min(n);
        while self.rows.back().is_some_and(|&(position, _)| position >= same) {
            if let Some((_, dropped)) = self.rows.pop_back() {
                self.values -= dropped.len();
            }
        }
        self.context.truncate(same);
    }

    /// Layers and heads of the model it was made for.
    pub fn shape(&self) -> (usize, usize) {
        (self.n_layer, self.n_head)
    }

    /// First and last traced position, if any.
    pub fn span(&self) -> Option<(usize, usize)> {
        Some((self.rows.front()?.0, self.rows.back()?.0))
    }

    /// Values held (2 bytes each).
    pub fn values(&self) -> usize {
        self.values
    }

    /// Adds the rows of one forward pass. A pass that does not continue the book (a new conversation,
    /// or a model of another shape) replaces it.
    pub fn record(&mut self, trace: &AttentionTrace) {
        if (trace.n_layer, trace.n_head) != (self.n_layer, self.n_head)
            || self.rows.back().is_some_and(|&(last, _)| last + 1 != trace.first)
        {
            self.clear();
            (self.n_layer, self.n_head) = (trace.n_layer, trace.n_head);
        }
        for q in 0..trace.n_query {
            let position = trace.first + q;
            let mut row = Vec::with_capacity(self.n_layer * self.n_head * (position + 1));
            for layer in 0..self.n_layer {
                for head in 0..self.n_head {
                    let probs = &trace.row(layer, head, q)[..=position];
                    row.extend(probs.iter().map(|&p| (p.clamp(0.0, 1.0) * SCALE).round() as u16));
                }
            }
            self.values += row.len();
            self.rows.push_back((position, row));
        }
        while self.values > self.cap_values && self.rows.len() > 1 {
            if let Some((_, dropped)) = self.rows.pop_front() {
                self.values -= dropped.len();
            }
        }
    }

    fn row(&self, position: usize) -> Option<&[u16]> {
        let (first, last) = self.span()?;
        if position < first || position > last {
            return None;
        }
        let (at, row) = &self.rows[position - first];
        debug_assert_eq!(*at, position);
        Some(row)
    }

    /// The weight token `query` gave to `key` in `layer`, `head` (`None` if not traced or `key > query`).
    pub fn weight(&self, query: usize, layer: usize, head: usize, key: usize) -> Option<f32> {
        let row = self.row(query)?;
        (key <= query && layer < self.n_layer && head < self.n_head)
            .then(|| row[(layer * self.n_head + head) * (query + 1) + key] as f32 / SCALE)
    }

    /// Writes into `out` (length `query + 1`) the row of `query` for `layer` and `head`; false if the
    /// row was not traced.
    fn fill_row(&self, query: usize, layer: usize, head: HeadPick, hide_sink: bool, out: &mut [f32]) -> bool {
        let Some(row) = self.row(query) else { return false };
        let n_key = query + 1;
        let heads = match head {
            HeadPick::One(h) => h..h + 1,
            HeadPick::Mean => 0..self.n_head,
        };
        let unit = SCALE * heads.len() as f32;
        // The stored values summed over the heads picked, in integers (exact): hiding the sink then
        // rescales the row by one exact factor, for one head as for the mean.
        let mut sums = vec![0u32; n_key];
        for h in heads {
            let keys = &row[(layer * self.n_head + h) * n_key..][..n_key];
            sums.iter_mut().zip(keys).for_each(|(s, &v)| *s += v as u32);
        }
        let scale = if hide_sink { sink_hidden_scale(&sums) } else { Some(1.0) };
        for (o, &s) in out.iter_mut().zip(&sums) {
            *o = scale.map_or(0.0, |scale| s as f32 / unit * scale);
        }
        if hide_sink {
            out[0] = 0.0;
        }
        true
    }

    /// One head's (or the mean's) matrix over positions `0..=upto`; `None` if `layer` or `head` is out of
    /// range, or nothing up to `upto` was traced.
    pub fn head_matrix(&self, upto: usize, layer: usize, head: HeadPick, hide_sink: bool) -> Option<HeadMatrix> {
        let (first, last) = self.span()?;
        if layer >= self.n_layer || matches!(head, HeadPick::One(h) if h >= self.n_head) || upto < first {
            return None;
        }
        let n = upto.min(last) + 1;
        let mut weights = vec![0.0f32; n * n];
        for (q, out) in weights.chunks_exact_mut(n).enumerate() {
            if !self.fill_row(q, layer, head, hide_sink, &mut out[..=q]) {
                out.fill(f32::NAN);
            }
        }
        Some(HeadMatrix { layer, head, n, weights, hide_sink })
    }

    /// A thumbnail of every head over positions `0..=upto`, at most `max_side` cells per side.
    ///
    /// Each cell is the largest weight of its block; a weight grows with its stored value (hiding the
    /// sink scales a row by one factor), so only the largest stored value of each run of keys is
    /// converted, and each cell is rounded once. The explorer asks for this twice a second while an
    /// answer is written, between two tokens: converting every weight took 13 ms at 150 positions.
    pub fn thumbnails(&self, upto: usize, max_side: usize, hide_sink: bool) -> Option<Thumbnails> {
        let (first, last) = self.span()?;
        if upto < first || max_side == 0 {
            return None;
        }
        let n = upto.min(last) + 1;
        let side = n.min(max_side);
        let (n_layer, n_head) = (self.n_layer, self.n_head);
        let mut cells = vec![0u8; n_layer * n_head * side * side];
        // Key `k` falls in column `k * side / n`, which ascends with `k`: column `c` holds the keys
        // `starts[c]..starts[c + 1]`. Each cell's largest weight, then converted once.
        let starts: Vec<usize> = (0..=side).map(|c| (c * n).div_ceil(side)).collect();
        let mut largest = vec![0.0f32; n_layer * n_head * side];
        let mut r_now = usize::MAX;
        let mut flush = |r: usize, largest: &mut [f32]| {
            for (lh, row) in largest.chunks_exact_mut(side).enumerate() {
                let thumb = &mut cells[(lh * side + r) * side..][..side];
                for (cell, w) in thumb.iter_mut().zip(row.iter_mut()) {
                    *cell = (*w * 255.0).round() as u8;
                    *w = 0.0;
                }
            }
        };
        for q in first..n {
            let Some(row) = self.row(q) else { continue };
            let r = q * side / n;
            if r != r_now {
                if r_now != usize::MAX {
                    flush(r_now, &mut largest);
                }
                r_now = r;
            }
            let n_key = q + 1;
            for (keys, top) in row.chunks_exact(n_key).zip(largest.chunks_exact_mut(side)) {
                let scale = if hide_sink { sink_hidden_scale(keys) } else { Some(1.0) };
                let Some(scale) = scale else { continue }; // a row that was all sink stays all zero
                for (c, top) in top.iter_mut().enumerate() {
                    let from = if hide_sink { starts[c].max(1) } else { starts[c] };
                    let to = starts[c + 1].min(n_key);
                    if let Some(&v) = keys.get(from..to).and_then(|run| run.iter().max()) {
                        *top = top.max(v as f32 / SCALE * scale);
                    }
                }
            }
        }
        if r_now != usize::MAX {
            flush(r_now, &mut largest);
        }
        Some(Thumbnails { n_layer, n_head, n, side, cells })
    }
}

/// The factor that gives a row's weight, its first key's dropped, back to the row's sum: the integer
/// sums of the stored values (exact), `None` for a row that was all sink (it stays all zero).
fn sink_hidden_scale<V: Copy + Into<u64>>(keys: &[V]) -> Option<f32> {
    let rest: u64 = keys[1..].iter().map(|&v| v.into()).sum();
    (rest > 0).then(|| (rest + keys[0].into()) as f32 / rest as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace whose every row is a softmax of a position-dependent pattern, so values differ by layer,
    /// head, query and key.
    fn trace(n_layer: usize, n_head: usize, first: usize, n_query: usize) -> AttentionTrace {
        let mut t = AttentionTrace::new(n_layer, n_head, first, n_query);
        for l in 0..n_layer {
            for h in 0..n_head {
                for q in 0..n_query {
                    let pos = first + q;
                    let raw: Vec<f32> = (0..=pos).map(|k| ((l * 7 + h * 3 + k * 5 + pos) % 11) as f32 * 0.4).collect();
                    let z: f32 = raw.iter().map(|r| r.exp()).sum();
                    let p: Vec<f32> = raw.iter().map(|r| r.exp() / z).collect();
                    t.record(l, h, q, &p);
                }
            }
        }
        t
    }

    /// Fixed point at 16 bits: half a step of 1/65535.
    const STORE_TOLERANCE: f32 = 0.5 / 65535.0 + 1e-7;

    #[test]
    fn a_rewound_book_keeps_the_rows_the_next_turn_shares_and_takes_its_rows_after_them() {
        let (nl, nh) = (2, 3);
        let mut book = AttentionBook::new(nl, nh, 1 << 20);
        book.record(&trace(nl, nh, 0, 9));
        book.set_context((100..110).collect());
        let full = book.values();
        // The next turn's prompt agrees with the first 6 tokens; its cache was kept up to position 8.
        let prompt: Vec<u32> = (100..106).chain([7, 7, 7]).collect();
        book.rewind(&prompt, 8);
        assert_eq!(book.span(), Some((0, 5)), "rows 0..6 stay: their tokens are the prompt's");
        assert_eq!(book.values(), nl * nh * (1..=6).sum::<usize>());
        assert!(book.values() < full);
        // The new pass's rows start at 6 and continue the book.
        book.record(&trace(nl, nh, 6, 3));
        assert_eq!(book.span(), Some((0, 8)));
        let want = trace(nl, nh, 0, 9).row(1, 2, 2)[1];
        assert!((book.weight(2, 1, 2, 1).expect("a kept row") - want).abs() <= STORE_TOLERANCE);
        // Rewinding a book whose context is unknown keeps nothing.
        book.clear();
        book.record(&trace(nl, nh, 0, 4));
        book.rewind(&prompt, 4);
        assert_eq!(book.span(), None);
    }

    #[test]
    fn book_keeps_every_weight_of_a_prefill_and_its_decode_steps_to_16_bits() {
        let (nl, nh) = (3, 4);
        let prefill = trace(nl, nh, 0, 7);
        let step = trace(nl, nh, 7, 1);
        let mut book = AttentionBook::new(nl, nh, 1 << 20);
        book.record(&prefill);
        book.record(&step);
        assert_eq!(book.span(), Some((0, 7)));
        for (t, q0) in [(&prefill, 0), (&step, 7)] {
            for q in 0..t.n_query {
                for l in 0..nl {
                    for h in 0..nh {
                        for k in 0..=q0 + q {
                            let got = book.weight(q0 + q, l, h, k).expect("traced");
                            assert!((got - t.row(l, h, q)[k]).abs() <= STORE_TOLERANCE, "q{q} l{l} h{h} k{k}");
                        }
                    }
                }
            }
        }
        assert_eq!(book.weight(3, 0, 0, 4), None, "the future is not a weight");
        assert_eq!(book.weight(8, 0, 0, 0), None, "not traced yet");
    }

    #[test]
    fn head_matrix_is_causal_and_mean_averages_the_heads() {
        let mut book = AttentionBook::new(2, 3, 1 << 20);
        book.record(&trace(2, 3, 0, 6));
        let m = book.head_matrix(4, 1, HeadPick::One(2), false).expect("matrix");
        assert_eq!(m.n, 5);
        for q in 0..5 {
            let sum: f32 = (0..5).map(|k| m.get(q, k)).sum();
            assert!((sum - 1.0).abs() < 1e-3, "row {q} sums to {sum}");
            assert!((q + 1..5).all(|k| m.get(q, k) == 0.0), "row {q} sees no future key");
        }
        let mean = book.head_matrix(4, 1, HeadPick::Mean, false).expect("mean");
        for q in 0..5 {
            for k in 0..=q {
                let expected: f32 = (0..3).map(|h| book.weight(q, 1, h, k).unwrap_or(0.0)).sum::<f32>() / 3.0;
                assert!((mean.get(q, k) - expected).abs() < 1e-6);
            }
        }
        assert!(book.head_matrix(4, 2, HeadPick::One(0), false).is_none(), "layer out of range");
        assert!(book.head_matrix(4, 0, HeadPick::One(3), false).is_none(), "head out of range");
    }

    #[test]
    fn hiding_the_sink_renormalises_the_other_keys_for_one_head_and_the_mean() {
        let mut book = AttentionBook::new(1, 3, 1 << 20);
        book.record(&trace(1, 3, 0, 5));
        for pick in [HeadPick::One(1), HeadPick::Mean] {
            let plain = book.head_matrix(4, 0, pick, false).expect("plain");
            let hidden = book.head_matrix(4, 0, pick, true).expect("hidden");
            for q in 1..5 {
                assert_eq!(hidden.get(q, 0), 0.0);
                let rest: f32 = (1..=q).map(|k| plain.get(q, k)).sum();
                for k in 1..=q {
                    assert!((hidden.get(q, k) - plain.get(q, k) / rest).abs() < 1e-5, "{pick:?} q{q} k{k}");
                }
            }
            // Query 0 sees only the sink: nothing is left to show.
            assert_eq!(hidden.get(0, 0), 0.0);
        }
    }

    #[test]
    fn the_cap_drops_the_oldest_rows_and_untraced_rows_read_as_nan() {
        let (nl, nh) = (2, 2);
        // Rows at positions 0..10 hold 4·(1 + … + 10) = 220 values; a cap of 150 keeps the newest.
        let mut book = AttentionBook::new(nl, nh, 150);
        book.record(&trace(nl, nh, 0, 10));
        let (first, last) = book.span().expect("rows");
        assert_eq!(last, 9);
        assert!(first > 0 && book.values() <= 150, "first {first}, values {}", book.values());
        let m = book.head_matrix(9, 0, HeadPick::One(0), false).expect("matrix");
        assert!(!m.has_row(first - 1) && m.has_row(first) && m.has_row(9));
        assert!(book.head_matrix(first - 1, 0, HeadPick::One(0), false).is_none());
    }

    #[test]
    fn a_pass_that_does_not_continue_the_book_starts_a_new_one() {
        let mut book = AttentionBook::new(1, 2, 1 << 20);
        book.record(&trace(1, 2, 0, 4));
        book.record(&trace(1, 2, 0, 3));
        assert_eq!(book.span(), Some((0, 2)));
        book.record(&trace(1, 2, 5, 1));
        assert_eq!(book.span(), Some((5, 5)));
    }

    /// The thumbnails as first written: every weight of a row converted, then each cell's largest.
    fn thumbnails_converting_every_weight(
        book: &AttentionBook,
        upto: usize,
        max_side: usize,
        hide: bool,
    ) -> Thumbnails {
        let (first, last) = book.span().expect("rows");
        let n = upto.min(last) + 1;
        let side = n.min(max_side);
        let mut cells = vec![0u8; book.n_layer * book.n_head * side * side];
        let mut scratch = vec![0.0f32; n];
        for q in first..n {
            let r = q * side / n;
            for layer in 0..book.n_layer {
                for h in 0..book.n_head {
                    book.fill_row(q, layer, HeadPick::One(h), hide, &mut scratch[..=q]);
                    let thumb = &mut cells[((layer * book.n_head + h) * side + r) * side..][..side];
                    for (k, &w) in scratch[..=q].iter().enumerate() {
                        let c = &mut thumb[k * side / n];
                        *c = (*c).max((w * 255.0).round() as u8);
                    }
                }
            }
        }
        Thumbnails { n_layer: book.n_layer, n_head: book.n_head, n, side, cells }
    }

    #[test]
    fn thumbnails_equal_converting_every_weight_for_any_size_and_sink() {
        for (first, n_query, max_side) in [(0, 9, 4), (0, 40, 24), (3, 37, 24), (0, 150, 24), (0, 5, 24), (10, 61, 7)] {
            let mut book = AttentionBook::new(2, 3, 1 << 24);
            if first > 0 {
                book.record(&trace(2, 3, 0, first));
            }
            book.record(&trace(2, 3, first, n_query));
            // A row given all to the sink (hiding it leaves zeros) and one with a zero sink.
            if let Some((_, row)) = book.rows.back_mut() {
                let n_key = first + n_query;
                row[..n_key].fill(0);
                row[0] = u16::MAX;
                row[n_key] = 0;
            }
            let upto = first + n_query - 1;
            for hide in [false, true] {
                for upto in [upto, upto / 2 + first / 2] {
                    let want = thumbnails_converting_every_weight(&book, upto, max_side, hide);
                    assert_eq!(
                        book.thumbnails(upto, max_side, hide),
                        Some(want),
                        "{first} {n_query} {max_side} {hide} {upto}"
                    );
                }
            }
        }
    }

    #[test]
    fn thumbnails_hold_the_largest_weight_of_each_block() {
        let (nl, nh, n) = (2, 3, 9);
        let mut book = AttentionBook::new(nl, nh, 1 << 20);
        book.record(&trace(nl, nh, 0, n));
        let small = book.thumbnails(8, 4, false).expect("thumbs");
        assert_eq!((small.side, small.n), (4, 9));
        for l in 0..nl {
            for h in 0..nh {
                for r in 0..4 {
                    for c in 0..4 {
                        let expected = (0..n)
                            .filter(|q| q * 4 / n == r)
                            .flat_map(|q| (0..=q).filter(move |k| k * 4 / n == c).map(move |k| (q, k)))
                            .map(|(q, k)| (book.weight(q, l, h, k).unwrap_or(0.0) * 255.0).round() as u8)
                            .max()
                            .unwrap_or(0);
                        assert_eq!(small.cell(l, h, r, c), expected, "l{l} h{h} cell {r},{c}");
                    }
                }
            }
        }
        // At full resolution a thumbnail is the matrix itself, to 1/255.
        let full = book.thumbnails(8, 64, false).expect("full");
        assert_eq!(full.side, 9);
        let m = book.head_matrix(8, 1, HeadPick::One(2), false).expect("matrix");
        for q in 0..n {
            for k in 0..=q {
                assert!((full.cell(1, 2, q, k) as f32 / 255.0 - m.get(q, k)).abs() <= 0.5 / 255.0 + 1e-6);
            }
        }
    }
}
