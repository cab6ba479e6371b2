//! The text of an answer as its tokens arrive, at a cost that does not grow with the answer: each token
//! decodes only a short window of the last tokens (the text it adds is the window's decoding less the
//! same window without it), and stop strings are looked for only in what is new plus the few characters
//! held back because they could be the start of one. Held-back text is shown once it cannot be: a stop
//! string never leaks into the answer, even in part.

use crate::error::Result;

/// The answer's text so far, fed one token at a time.
#[derive(Debug, Clone, Default)]
pub struct TextStream {
    stop: Vec<String>,
    /// The window's start and the end of what the window has already turned into text.
    from: usize,
    read: usize,
    /// Text decoded but not shown yet: it could be the start of a stop string.
    held: String,
    /// Everything shown.
    shown: String,
}

impl TextStream {
    /// A stream that ends at the first of `stop` (empty strings are ignored).
    pub fn new(stop: &[String]) -> Self {
        Self { stop: stop.iter().filter(|s| !s.is_empty()).cloned().collect(), ..Self::default() }
    }

    /// The text shown so far.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `ids` are every token of the answer so far, the last one new; `decode` turns ids into text.
    /// Returns the text to show now and whether a stop string ended the answer (it and what follows it
    /// are never shown).
    pub fn push(&mut self, ids: &[u32], decode: impl Fn(&[u32]) -> Result<String>) -> Result<(String, bool)> {
        let before = decode(&ids[self.from..self.read])?;
        let now = decode(&ids[self.from..])?;
        // A trailing incomplete character decodes as U+FFFD: wait for its other bytes.
        if now.ends_with('\u{FFFD}') || now.len() <= before.len() || !now.is_char_boundary(before.len()) {
            return Ok((String::new(), false));
        }
        let mut buffer = std::mem::take(&mut self.held);
        buffer.push_str(&now[before.len()..]);
        self.from = self.read;
        self.read = ids.len();
        if let Some(cut) = self.stop.iter().filter_map(|s| buffer.find(s.as_str())).min() {
            buffer.truncate(cut);
            self.shown.push_str(&buffer);
            return Ok((buffer, true));
        }
        let hold = self.stop.iter().map(|s| partial_stop(&buffer, s)).max().unwrap_or(0);
        self.held = buffer.split_off(buffer.len() - hold);
        self.shown.push_str(&buffer);
        Ok((buffer, false))
    }

    /// The text held back, shown now that the answer ended without a stop string.
    pub fn flush(&mut self) -> String {
        let rest = std::mem::take(&mut self.held);
        self.shown.push_str(&rest);
        rest
    }
}

/// The length of the longest end of `text` that is a proper beginning of `stop`.
fn partial_stop(text: &str, stop: &str) -> usize {
    (1..stop.len().min(text.len() + 1))
        .rev()
        .find(|&n| stop.is_char_boundary(n) && text.ends_with(&stop[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte-level vocabulary: each token some bytes, é and 🙂 split over several tokens.
    const VOCAB: [&[u8]; 12] =
        [b"Hel", b"lo", b" ", b"<|", b"im_", b"end", b"|>", &[0xC3], &[0xA9], &[0xF0, 0x9F], &[0x99, 0x82], b"<"];

    fn decode(ids: &[u32]) -> Result<String> {
        let bytes: Vec<u8> = ids.iter().flat_map(|&id| VOCAB[id as usize].iter().copied()).collect();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The reference: the whole answer decoded at once, cut at the first stop string.
    fn whole(ids: &[u32], stop: &[String]) -> (String, bool) {
        let text = decode(ids).unwrap();
        match stop.iter().filter_map(|s| text.find(s.as_str())).min() {
            Some(cut) => (text[..cut].to_owned(), true),
            None => (text.trim_end_matches('\u{FFFD}').to_owned(), false),
        }
    }

    #[test]
    fn streamed_text_is_the_whole_decoding_cut_at_the_stop_and_never_shows_a_part_of_it() {
        let stops = vec!["<|im_end|>".to_owned(), "lo Hel".to_owned()];
        let mut state = 12345u64;
        let mut stops_met = 0;
        for _ in 0..2000 {
            let len = 1 + (state % 24) as usize;
            let ids: Vec<u32> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((state >> 33) % VOCAB.len() as u64) as u32
                })
                .collect();
            let (expected, stopped) = whole(&ids, &stops);
            let mut stream = TextStream::new(&stops);
            let mut ended = false;
            for n in 1..=ids.len() {
                let (delta, stop) = stream.push(&ids[..n], decode).unwrap();
                assert!(delta.chars().all(|c| c != '\u{FFFD}') || expected.contains('\u{FFFD}'));
                // Whatever is shown is the start of the final answer: no part of a stop string leaks.
                assert!(expected.starts_with(stream.shown()), "{:?} shown, {expected:?} in the end", stream.shown());
                if stop {
                    ended = true;
                    break;
                }
            }
            if !ended {
                stream.flush();
            }
            assert_eq!(ended, stopped, "{ids:?}");
            stops_met += usize::from(stopped);
            if stopped || !decode(&ids).unwrap().ends_with('\u{FFFD}') {
                assert_eq!(stream.shown(), expected, "{ids:?}");
            }
        }
        assert!(stops_met > 10, "only {stops_met} answers met a stop string");
    }

    #[test]
    fn a_partial_stop_string_is_held_until_it_cannot_be_one() {
        let stops = vec!["<|im_end|>".to_owned()];
        let mut stream = TextStream::new(&stops);
        let ids = [0, 1, 3, 4];
        assert_eq!(stream.push(&ids[..2], decode).unwrap().0, "Hello");
        assert_eq!(stream.push(&ids[..3], decode).unwrap().0, "");
        assert_eq!(stream.push(&ids[..4], decode).unwrap().0, "");
        assert_eq!(stream.flush(), "<|im_");
        assert_eq!(stream.shown(), "Hello<|im_");
    }
}
