//! When the conversation goes to IndexedDB: while an answer streams, at most every
//! [`EVERY_MS`] (the tokens in between are written with the next write, which a timer guarantees);
//! at once when nothing streams (an answer ended, a message sent, edited or deleted); and when the tab
//! is hidden or closed. Plain data, tested natively; `mod.rs` does the writing.

/// The longest a streamed token waits before it is written.
pub const EVERY_MS: f64 = 500.0;

/// What to do after a change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Write {
    /// Write the conversation as it is now.
    Now,
    /// Write it after this many milliseconds (a timer).
    After(f64),
    /// Nothing: a write is already on its way.
    Queued,
}

/// The writes of one page.
#[derive(Debug, Clone, Copy, Default)]
pub struct Autosave {
    /// When the last write started (ms), if any.
    last: Option<f64>,
    /// A timer will write.
    queued: bool,
}

impl Autosave {
    /// The conversation changed at `now`; `streaming`: an answer is being written.
    pub fn changed(&mut self, now: f64, streaming: bool) -> Write {
        let due = self.last.map_or(0.0, |last| last + EVERY_MS - now);
        if !streaming || due <= 0.0 {
            Write::Now
        } else if self.queued {
            Write::Queued
        } else {
            self.queued = true;
            Write::After(due)
        }
    }

    /// A write of the conversation as it is started at `now` (a timer's included).
    pub fn wrote(&mut self, now: f64) {
        self.last = Some(now);
        self.queued = false;
    }

    /// Whether a timer's write is still to come (the tab hides: write now).
    pub fn pending(&self) -> bool {
        self.queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens every 30 ms for 3 s: the writes a page makes, following the decisions.
    fn stream(tokens: usize, every: f64) -> Vec<f64> {
        let mut save = Autosave::default();
        let (mut writes, mut timer): (Vec<f64>, Option<f64>) = (Vec::new(), None);
        for i in 0..tokens {
            let now = i as f64 * every;
            if let Some(at) = timer.filter(|&at| at <= now) {
                save.wrote(at);
                writes.push(at);
                timer = None;
            }
            match save.changed(now, true) {
                Write::Now => {
                    save.wrote(now);
                    writes.push(now);
                }
                Write::After(ms) => timer = Some(now + ms),
                Write::Queued => {}
            }
        }
        writes
    }

    #[test]
    fn a_streamed_answer_is_written_at_most_every_half_second() {
        let writes = stream(100, 30.0);
        assert_eq!(writes[0], 0.0, "the first token at once");
        assert!(writes.windows(2).all(|w| w[1] - w[0] >= EVERY_MS), "{writes:?}");
        // 3 s of tokens: about six writes, not a hundred.
        assert!((6..=7).contains(&writes.len()), "{writes:?}");
    }

    #[test]
    fn a_token_waits_at_most_half_a_second_and_the_end_of_an_answer_is_written_at_once() {
        let mut save = Autosave::default();
        assert_eq!(save.changed(0.0, true), Write::Now);
        save.wrote(0.0);
        assert_eq!(save.changed(100.0, true), Write::After(400.0), "written with the next write, 0.4 s on");
        assert!(save.pending());
        assert_eq!(save.changed(200.0, true), Write::Queued, "one timer for every token in between");
        assert_eq!(save.changed(300.0, false), Write::Now, "the answer ended: at once");
        save.wrote(300.0);
        assert!(!save.pending());
        assert_eq!(save.changed(310.0, false), Write::Now, "an edit between answers: at once");
    }
}
