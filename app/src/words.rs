//! The map of words as the page keeps it: the class's words, where the worker placed them, a word's
//! nearest tokens (or an analogy's), and a word's vectors in two sentences compared block by block.
//! Plain data, tested natively.

use crate::masked::add_words;
use crate::protocol::{Nearest, WordMap};

/// The map's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Words {
    /// The class's words, in the order given.
    pub chosen: Vec<String>,
    /// The plane, once placed.
    pub map: Option<WordMap>,
    /// The last neighbours asked for.
    pub nearest: Option<Nearest>,
    /// The last word compared in two sentences, and its cosine after each block.
    pub in_context: Option<(String, Vec<f32>)>,
    /// Whether the GPU computed them.
    pub in_context_on_gpu: bool,
    /// How many comparisons were asked for: an answer to an earlier one, arriving late, is dropped.
    pub in_context_asked: u64,
}

impl Words {
    /// Words to start with.
    pub fn new(words: &[&str]) -> Self {
        let mut map = Self::default();
        for w in words {
            map.add(w);
        }
        map
    }

    /// Adds the words typed (commas or spaces between them), each once; returns how many were new.
    pub fn add(&mut self, typed: &str) -> usize {
        add_words(&mut self.chosen, typed)
    }

    /// Removes a word.
    pub fn remove(&mut self, word: &str) {
        self.chosen.retain(|w| w != word);
    }

    /// The map's points laid out in a square of side `size` (see [`layout`]).
    pub fn laid_out(&self, size: f32) -> Vec<Placed> {
        self.map.as_ref().map(|m| layout(&m.points, size)).unwrap_or_default()
    }

    /// A new comparison is on its way: its number, for [`Self::accept_in_context`].
    pub fn ask_in_context(&mut self) -> u64 {
        self.in_context_asked += 1;
        self.in_context_asked
    }

    /// Comparison `asked`'s answer: kept when it is the last one asked for (the GPU may answer an earlier
    /// one after a later one the CPU took).
    pub fn accept_in_context(&mut self, asked: u64, word: String, cosines: Vec<f32>, on_gpu: bool) -> bool {
        if asked != self.in_context_asked {
            return false;
        }
        self.in_context = Some((word, cosines));
        self.in_context_on_gpu = on_gpu;
        true
    }

    /// The block where the word's two vectors are least alike, and that cosine.
    pub fn most_apart(&self) -> Option<(usize, f32)> {
        let (_, cosines) = self.in_context.as_ref()?;
        cosines.iter().copied().enumerate().min_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// A point as drawn: its place in the square and where its label goes (none when every place near it
/// is taken: the word is then named on hover only).
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// The word.
    pub word: String,
    /// Centre of the dot.
    pub x: f32,
    /// Centre of the dot (down is larger).
    pub y: f32,
    /// One of the class's words.
    pub chosen: bool,
    /// The label's anchor point and its SVG `text-anchor`.
    pub label: Option<(f32, f32, &'static str)>,
}

/// Font sizes of the labels, in SVG units (as in the style sheet).
const FONT: f32 = 14.0;
const FONT_CHOSEN: f32 = 17.0;

/// An axis-aligned box `(left, top, right, bottom)`.
type Box2 = (f32, f32, f32, f32);

fn overlaps(a: Box2, b: Box2) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Lays out `(word, x, y, chosen)` points in a square of side `size`: each axis stretched to fill it
/// (the two principal axes keep their order, not their ratio: the map is for seeing who is near whom),
/// then labels placed greedily — the class's words first, each to the right of its dot, else to the
/// left, above or below, wherever it overlaps no label and no dot already there, and inside the square.
/// A reference word with no free place keeps its dot and loses its label.
pub fn layout(points: &[(String, f32, f32, bool)], size: f32) -> Vec<Placed> {
    let (mut lo_x, mut hi_x, mut lo_y, mut hi_y) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for &(_, x, y, _) in points {
        (lo_x, hi_x, lo_y, hi_y) = (lo_x.min(x), hi_x.max(x), lo_y.min(y), hi_y.max(y));
    }
    let (margin_x, margin_y) = (size * 0.12, size * 0.06);
    let scale = |v: f32, lo: f32, hi: f32, margin: f32| {
        if hi - lo < 1e-6 {
            size / 2.0
        } else {
            margin + (v - lo) / (hi - lo) * (size - 2.0 * margin)
        }
    };
    let mut placed: Vec<Placed> = points
        .iter()
        .map(|(word, x, y, chosen)| Placed {
            word: word.clone(),
            x: scale(*x, lo_x, hi_x, margin_x),
            y: size - scale(*y, lo_y, hi_y, margin_y),
            chosen: *chosen,
            label: None,
        })
        .collect();
    let mut taken: Vec<Box2> = placed.iter().map(|p| (p.x - 6.0, p.y - 6.0, p.x + 6.0, p.y + 6.0)).collect();
    let mut order: Vec<usize> = (0..placed.len()).collect();
    order.sort_by_key(|&i| !placed[i].chosen);
    for i in order {
        let p = &placed[i];
        let font = if p.chosen { FONT_CHOSEN } else { FONT };
        let (w, h) = (p.word.chars().count() as f32 * font * 0.6 + 2.0, font);
        let (x, y) = (p.x, p.y);
        // Anchor points and text-anchors to try; a label's box spans the font's height above its baseline.
        let tries = [
            (x + 9.0, y + h * 0.35, "start"),
            (x - 9.0, y + h * 0.35, "end"),
            (x, y - 9.0, "middle"),
            (x, y + 9.0 + h, "middle"),
        ]
        .map(|(ax, ay, anchor)| {
            let left = match anchor {
                "start" => ax,
                "end" => ax - w,
                _ => ax - w / 2.0,
            };
            ((ax, ay, anchor), (left, ay - h, left + w, ay))
        });
        let own = (x - 6.0, y - 6.0, x + 6.0, y + 6.0);
        let inside = |b: Box2| b.0 >= 0.0 && b.1 >= 0.0 && b.2 <= size && b.3 <= size;
        let free = tries
            .iter()
            .find(|(_, b)| inside(*b) && !taken.iter().any(|t| *t != own && overlaps(*t, *b)))
            .or(p.chosen.then_some(&tries[0]));
        if let Some(&(anchor, b)) = free {
            taken.push(b);
            placed[i].label = Some(anchor);
        }
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_kept_once_and_the_most_apart_block_is_found() {
        let mut words = Words::new(&["chat", "chien"]);
        assert_eq!(words.add("chat, souris"), 1);
        words.remove("chien");
        assert_eq!(words.chosen, ["chat", "souris"]);
        assert_eq!(words.most_apart(), None);
        words.in_context = Some(("souris".into(), vec![0.99, 0.8, 0.6, 0.7]));
        assert_eq!(words.most_apart(), Some((2, 0.6)));
    }

    #[test]
    fn a_late_answer_to_an_earlier_comparison_is_dropped() {
        let mut words = Words::default();
        let (first, second) = (words.ask_in_context(), words.ask_in_context());
        assert!(words.accept_in_context(second, "souris".into(), vec![0.5], false));
        assert!(!words.accept_in_context(first, "chat".into(), vec![0.9], true), "the earlier one arrives late");
        assert_eq!(words.in_context, Some(("souris".into(), vec![0.5])));
        assert!(!words.in_context_on_gpu);
    }

    fn label_box(p: &Placed) -> Box2 {
        let font = if p.chosen { FONT_CHOSEN } else { FONT };
        let w = p.word.chars().count() as f32 * font * 0.6 + 2.0;
        let (x, y, anchor) = p.label.expect("a label");
        let left = match anchor {
            "start" => x,
            "end" => x - w,
            _ => x - w / 2.0,
        };
        (left, y - font, left + w, y)
    }

    #[test]
    fn the_layout_fills_the_square_and_no_two_labels_overlap() {
        // A crowd of reference words in one corner, one word far away, and the class's two words inside the crowd.
        let mut points: Vec<(String, f32, f32, bool)> =
            (0..30).map(|i| (format!("word{i}"), (i % 5) as f32 * 0.1, (i / 5) as f32 * 0.1, false)).collect();
        points.push(("far".into(), 1.0, 1.0, false));
        points.push(("souris".into(), 0.2, 0.2, true));
        points.push(("lion".into(), 0.21, 0.2, true));
        let placed = layout(&points, 600.0);
        let xs: Vec<f32> = placed.iter().map(|p| p.x).collect();
        let ys: Vec<f32> = placed.iter().map(|p| p.y).collect();
        let spread =
            |v: &[f32]| v.iter().cloned().fold(f32::MIN, f32::max) - v.iter().cloned().fold(f32::MAX, f32::min);
        assert!(
            spread(&xs) > 400.0 && spread(&ys) > 400.0,
            "both axes fill the square: {} × {}",
            spread(&xs),
            spread(&ys)
        );
        assert!(placed.iter().filter(|p| p.chosen).all(|p| p.label.is_some()), "the class's words are always named");
        let boxes: Vec<Box2> = placed.iter().filter(|p| p.label.is_some()).map(label_box).collect();
        assert!(boxes.len() >= 20, "most words keep a label: {}", boxes.len());
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                assert!(!overlaps(*a, *b), "{a:?} and {b:?}");
            }
        }
    }
}
