//! When a change that comes often reaches somewhere slow: at once when it is due, else together with the
//! changes after it, at most every so often (a timer guarantees the last is not left behind).
//!
//! Two uses: the conversation goes to IndexedDB at most every [`AUTOSAVE_MS`] while an answer streams
//! (at once when nothing streams, and when the tab is hidden or closed); a streamed answer's tokens reach
//! the screen at most every [`TOKENS_MS`], the first at once. Each screen update re-renders the answer,
//! its chips and the views that follow them, and on a two-core machine that work is taken from the
//! engine's threads: fewer, larger updates let the answer be written faster (`cargo xtask bench app`),
//! and ten a second still read as a flow. Plain data, tested natively; `mod.rs` and `stream.rs` act.

/// The longest a streamed token waits before it is written to IndexedDB.
pub const AUTOSAVE_MS: f64 = 500.0;

/// The longest a streamed token waits before it is shown.
pub const TOKENS_MS: f64 = 100.0;

/// What to do after a change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// Act on every change so far, now.
    Now,
    /// Act after this many milliseconds (a timer).
    After(f64),
    /// Nothing: a timer is already on its way.
    Queued,
}

/// One throttled destination.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    /// The shortest time between two actions while changes stream (ms).
    every: f64,
    /// When the last action started (ms), if any.
    last: Option<f64>,
    /// A timer will act.
    queued: bool,
}

impl Throttle {
    /// At most once every `ms` milliseconds while changes stream.
    pub fn every(ms: f64) -> Self {
        Self { every: ms, last: None, queued: false }
    }

    /// Something changed at `now`; `streaming`: more changes are coming (else act at once).
    pub fn changed(&mut self, now: f64, streaming: bool) -> When {
        let due = self.last.map_or(0.0, |last| last + self.every - now);
        if !streaming || due <= 0.0 {
            When::Now
        } else if self.queued {
            When::Queued
        } else {
            self.queued = true;
            When::After(due)
        }
    }

    /// An action on every change so far started at `now` (a timer's included).
    pub fn acted(&mut self, now: f64) {
        self.last = Some(now);
        self.queued = false;
    }

    /// Whether a timer's action is still to come (the tab hides: act now).
    pub fn pending(&self) -> bool {
        self.queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Changes every `every` ms, `n` of them: when the actions happen, following the decisions.
    fn stream(throttle_ms: f64, n: usize, every: f64) -> Vec<f64> {
        let mut throttle = Throttle::every(throttle_ms);
        let (mut actions, mut timer): (Vec<f64>, Option<f64>) = (Vec::new(), None);
        for i in 0..n {
            let now = i as f64 * every;
            if let Some(at) = timer.filter(|&at| at <= now) {
                throttle.acted(at);
                actions.push(at);
                timer = None;
            }
            match throttle.changed(now, true) {
                When::Now => {
                    throttle.acted(now);
                    actions.push(now);
                }
                When::After(ms) => timer = Some(now + ms),
                When::Queued => {}
            }
        }
        actions
    }

    #[test]
    fn a_streamed_answer_is_written_at_most_every_half_second() {
        let writes = stream(AUTOSAVE_MS, 100, 30.0);
        assert_eq!(writes[0], 0.0, "the first token at once");
        assert!(writes.windows(2).all(|w| w[1] - w[0] >= AUTOSAVE_MS), "{writes:?}");
        // 3 s of tokens: about six writes, not a hundred.
        assert!((6..=7).contains(&writes.len()), "{writes:?}");
    }

    #[test]
    fn tokens_at_thirty_three_a_second_reach_the_screen_ten_times_a_second_the_first_at_once() {
        let shown = stream(TOKENS_MS, 100, 30.0);
        assert_eq!(shown[0], 0.0, "the first token at once");
        assert!(shown.windows(2).all(|w| w[1] - w[0] >= TOKENS_MS), "{shown:?}");
        // 3 s of tokens: about thirty updates, not a hundred.
        assert!((29..=31).contains(&shown.len()), "{} updates: {shown:?}", shown.len());
        // Slower than the throttle: every token on its own, none delayed.
        assert_eq!(stream(TOKENS_MS, 10, 150.0), (0..10).map(|i| i as f64 * 150.0).collect::<Vec<_>>());
    }

    #[test]
    fn a_token_waits_at_most_half_a_second_and_the_end_of_an_answer_is_written_at_once() {
        let mut save = Throttle::every(AUTOSAVE_MS);
        assert_eq!(save.changed(0.0, true), When::Now);
        save.acted(0.0);
        assert_eq!(save.changed(100.0, true), When::After(400.0), "written with the next write, 0.4 s on");
        assert!(save.pending());
        assert_eq!(save.changed(200.0, true), When::Queued, "one timer for every token in between");
        assert_eq!(save.changed(300.0, false), When::Now, "the answer ended: at once");
        save.acted(300.0);
        assert!(!save.pending());
        assert_eq!(save.changed(310.0, false), When::Now, "an edit between answers: at once");
    }
}
