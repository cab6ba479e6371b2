//! What a lab's worker does while the lab is not on screen.

/// Whether a lab's view is on screen, as its worker keeps it: training (and the *Thoughts* view's
/// reading) pauses while the view is away — the chat needs the processor — and what was running then
/// resumes on its return. Training the student paused stays paused.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Presence {
    away: bool,
    resume: bool,
}

impl Presence {
    /// The view left (`away`) or came back, while training `running`s or not; whether training is to
    /// resume now.
    pub fn set(&mut self, away: bool, running: bool) -> bool {
        let resume = !away && self.resume;
        self.resume = away && (running || self.resume);
        self.away = away;
        resume
    }

    /// Training asks to start: not while the view is away (it starts on the view's return).
    pub fn may_start(&mut self) -> bool {
        self.resume |= self.away;
        !self.away
    }

    /// Training was replaced (a new collection): nothing to resume.
    pub fn forget(&mut self) {
        self.resume = false;
    }

    /// The view is away.
    pub fn away(&self) -> bool {
        self.away
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_running_when_the_view_leaves_resumes_on_its_return_and_paused_training_stays_paused() {
        let mut p = Presence::default();
        assert!(!p.set(false, true), "on screen: nothing to resume");
        // Running when the view leaves (told twice, as an effect may): resumes once, on return.
        assert!(!p.set(true, true));
        assert!(p.away());
        assert!(!p.set(true, false), "the second leave sees it paused, and still remembers");
        assert!(p.set(false, false));
        assert!(!p.away());
        assert!(!p.set(false, false), "only once");
        // Paused by the student, then the view leaves and returns: stays paused.
        assert!(!p.set(true, false));
        assert!(!p.set(false, false));
        // Asked to start while away (a lesson step, an answer written to the end): starts on return.
        p.set(true, false);
        assert!(!p.may_start());
        assert!(p.set(false, false));
        assert!(p.may_start());
        // Replaced by a new collection while away: nothing resumes.
        p.set(true, true);
        p.forget();
        assert!(!p.set(false, false));
    }
}
