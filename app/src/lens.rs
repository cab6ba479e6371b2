//! The logit lens as the page keeps it: the tokens read, one row of cells per block as the worker sends
//! them, and the cell the class clicked. Plain data, tested natively.

use crate::protocol::{Alternative, Piece};

/// The lens's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LensBoard {
    /// The tokens read (the columns).
    pub pieces: Vec<Piece>,
    /// `layers[l][p]`: at block `l` and position `p`, the likeliest next tokens, best first.
    pub layers: Vec<Vec<Vec<Alternative>>>,
    /// A lens is being computed.
    pub busy: bool,
    /// The clicked cell: block and position.
    pub selected: Option<(usize, usize)>,
    /// When the lens was asked for and how long it took (ms), for the page's note.
    pub started_ms: f64,
    /// How long the last lens took (ms).
    pub took_ms: Option<f64>,
    /// Whether the GPU computed it.
    pub on_gpu: bool,
}

impl LensBoard {
    /// A new lens is on its way.
    pub fn start(&mut self, now_ms: f64) {
        *self = Self { busy: true, started_ms: now_ms, ..Self::default() };
    }

    /// The tokens arrived.
    pub fn tokens(&mut self, pieces: Vec<Piece>) {
        self.pieces = pieces;
    }

    /// Block `layer`'s row arrived (rows arrive in order; one out of place is dropped).
    pub fn row(&mut self, layer: usize, cells: Vec<Vec<Alternative>>) {
        if layer == self.layers.len() && cells.len() == self.pieces.len() {
            self.layers.push(cells);
        }
    }

    /// The lens is complete.
    pub fn done(&mut self, now_ms: f64, on_gpu: bool) {
        self.busy = false;
        self.took_ms = Some(now_ms - self.started_ms);
        self.on_gpu = on_gpu;
    }

    /// The clicked cell's tokens.
    pub fn selected_cell(&self) -> Option<&[Alternative]> {
        let (l, p) = self.selected?;
        self.layers.get(l)?.get(p).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alt(id: u32, prob: f32) -> Alternative {
        Alternative { piece: Piece { id, text: format!("t{id}") }, prob }
    }

    #[test]
    fn rows_arrive_in_order_and_a_cell_can_be_picked() {
        let mut lens = LensBoard::default();
        lens.start(1000.0);
        lens.tokens(vec![Piece { id: 1, text: "a".into() }, Piece { id: 2, text: "b".into() }]);
        lens.row(1, vec![vec![alt(3, 0.5)], vec![alt(4, 0.5)]]);
        assert!(lens.layers.is_empty(), "block 1 before block 0 is dropped");
        lens.row(0, vec![vec![alt(3, 0.5)], vec![alt(4, 0.6), alt(5, 0.1)]]);
        lens.row(1, vec![vec![alt(3, 0.5)]]);
        assert_eq!(lens.layers.len(), 1, "a row of the wrong width is dropped");
        lens.selected = Some((0, 1));
        assert_eq!(lens.selected_cell().map(|c| c.len()), Some(2));
        lens.done(1250.0, true);
        assert_eq!((lens.busy, lens.took_ms, lens.on_gpu), (false, Some(250.0), true));
    }
}
