//! The teaching side of the page's state: which page and lesson step is shown, what a step opened, the
//! next-word game and its worker traffic, a text read for the attention explorer, the lab's setup and
//! the requests log. The screen's address is in `address.rs`.

use engine::sample::SamplerConfig;
use engine::trace::HeadPick;
use leptos::prelude::*;

use super::tiny::ANSWER_CHARS;
use super::{AppState, HeadView, ModelState};
use crate::conversation::{Exchange, TokenInfo};
use crate::doubt::Doubt;
use crate::game::{Game, Player};
use crate::lab::{DataChoice, LabSetup};
use crate::lens::LensBoard;
use crate::lesson::{self, Action};
use crate::masked::{Masked, PROPOSED};
use crate::prefer::Prefer;
use crate::pretrain::PretrainRequest;
use crate::protocol::{Context, Fetched, Filled, Piece, Prediction, Request};
use crate::route::Page;
use crate::words::Words;

/// What a lesson step opened under its card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// The chat and its tokens.
    Chat,
    /// The tokens and the attention explorer on a text the model read.
    Explorer,
    /// The next-word game (with the sampling panel open or not).
    Game {
        /// The sampling panel is open.
        sampling: bool,
    },
    /// The masked-word game.
    Masked,
    /// The map of words.
    Words,
    /// The hallucination lab.
    Doubt,
    /// The preference game.
    Prefer,
    /// The autoencoder lab.
    Lab,
    /// The pre-training lab.
    Pretrain,
    /// The model's thoughts through a sparse autoencoder.
    Thoughts,
    /// Pre-training at three scales.
    Scale,
    /// The requests log.
    Privacy,
}

/// The explorer's choice waiting for a reading to arrive: layer, head, the token to select.
type Focus = (usize, HeadPick, String);

/// The teaching signals; `Copy`, part of [`AppState`].
#[derive(Debug, Clone, Copy)]
pub struct Teach {
    /// Which page.
    pub page: RwSignal<Page>,
    /// The lesson step shown.
    pub step: RwSignal<usize>,
    /// What the step's action opened.
    pub pane: RwSignal<Option<Pane>>,
    /// The next-word game.
    pub game: RwSignal<Game>,
    /// A prediction has been asked for and not answered yet.
    pub thinking: RwSignal<bool>,
    /// The masked-word game.
    pub masked: RwSignal<Masked>,
    /// The logit lens.
    pub lens: RwSignal<LensBoard>,
    /// The map of words.
    pub words: RwSignal<Words>,
    /// The hallucination lab.
    pub doubt: RwSignal<Doubt>,
    /// The *Thoughts* view.
    pub thoughts: RwSignal<crate::thoughts::Thoughts>,
    /// Bumped by a lesson step: read the built-in text, then train.
    pub thoughts_start: RwSignal<u64>,
    /// The preference game.
    pub prefer: RwSignal<Prefer>,
    /// A text the model read for the explorer (shown instead of the last answer until the next one).
    pub reading: RwSignal<Option<Exchange>>,
    /// The lab's setup.
    pub lab_setup: RwSignal<LabSetup>,
    /// Bumped to ask the lab for new samples.
    pub lab_generate: RwSignal<u64>,
    /// Why the address could not be read (shown in one line).
    pub link_note: RwSignal<Option<String>>,
    /// When the model became ready (ms since the epoch).
    pub model_ready_at: RwSignal<Option<f64>>,
    /// What the engine worker has fetched.
    pub engine_fetched: RwSignal<Vec<Fetched>>,
    /// What the lab worker has fetched.
    pub lab_fetched: RwSignal<Vec<Fetched>>,
    /// What the pre-training lab's worker fetched.
    pub pretrain_fetched: RwSignal<Vec<Fetched>>,
    /// A lesson step asks the pre-training lab to start over on the French stories (`true`) or the
    /// sonnets: `(how many times asked, french)`.
    pub pretrain_text: RwSignal<(u64, bool)>,
    /// Bumped to ask the workers what they fetched.
    pub fetch_tick: RwSignal<u64>,
    /// The pre-training lab's worker, once the lab has started it (the next-word game asks it too).
    pub pretrain_bridge: StoredValue<Option<gloo_worker::WorkerBridge<crate::pretrain::PretrainWorker>>, LocalStorage>,
    /// The pre-training lab's model, once it has one (`None`: no tiny model to play with).
    pub tiny: RwSignal<Option<super::TinyModel>>,
    /// Questions to ask in turn once the model is ready (a link's, a step's).
    pub(super) queued: StoredValue<Vec<String>>,
    /// Open a new conversation before the queued questions.
    pub(super) fresh: StoredValue<bool>,
    /// Write *Three answers* as soon as the game's next prediction arrives (a lesson step asks).
    answers_wanted: StoredValue<bool>,
    /// The explorer's choice for the reading on its way.
    reading_focus: StoredValue<Option<Focus>>,
}

impl Teach {
    pub(super) fn new() -> Self {
        Self {
            page: RwSignal::new(Page::Chat),
            step: RwSignal::new(0),
            pane: RwSignal::new(None),
            game: RwSignal::new(Game::default()),
            thinking: RwSignal::new(false),
            masked: RwSignal::new(Masked::default()),
            lens: RwSignal::new(LensBoard::default()),
            words: RwSignal::new(Words::default()),
            doubt: RwSignal::new(Doubt::default()),
            thoughts: RwSignal::new(Default::default()),
            thoughts_start: RwSignal::new(0),
            prefer: RwSignal::new(Prefer::default()),
            reading: RwSignal::new(None),
            lab_setup: RwSignal::new(LabSetup {
                data: DataChoice::Faces,
                latent: 2,
                beta: 1.0,
                force_gpu: crate::force_gpu(),
            }),
            lab_generate: RwSignal::new(0),
            link_note: RwSignal::new(None),
            model_ready_at: RwSignal::new(None),
            engine_fetched: RwSignal::new(Vec::new()),
            lab_fetched: RwSignal::new(Vec::new()),
            pretrain_fetched: RwSignal::new(Vec::new()),
            pretrain_text: RwSignal::new((0, false)),
            pretrain_bridge: StoredValue::new_local(None),
            tiny: RwSignal::new(None),
            fetch_tick: RwSignal::new(0),
            queued: StoredValue::new(Vec::new()),
            fresh: StoredValue::new(false),
            reading_focus: StoredValue::new(None),
            answers_wanted: StoredValue::new(false),
        }
    }
}

impl AppState {
    // ---- Lesson ------------------------------------------------------------------------------------

    /// Goes to lesson step `index` (a new address, so Back returns to the step before).
    pub fn go_to_step(&self, index: usize) {
        let Some(step) = lesson::steps(crate::i18n::Lang::Fr).get(index) else { return };
        if let Some(location) = web_sys::window().map(|w| w.location()) {
            let _ = location.set_hash(&format!("lesson/{}", step.id));
        }
    }

    /// Does what a step's button says.
    pub fn act(&self, action: Action) {
        let t = self.teach;
        // The lesson's game steps are about the language model, whoever played last.
        if matches!(action, Action::Game { .. } | Action::Sampling { .. } | Action::Lens { .. }) {
            t.game.update(|g| g.player = Player::Model);
        }
        match action {
            Action::Game { text } => {
                self.start_game(text.to_owned());
                t.pane.set(Some(Pane::Game { sampling: false }));
            }
            Action::Sampling { text, temperature } => {
                t.game.update(|g| g.sampler = SamplerConfig { temperature, top_k: 0, top_p: 1.0, ..g.sampler.clone() });
                t.answers_wanted.set_value(true);
                self.start_game(text.to_owned());
                t.pane.set(Some(Pane::Game { sampling: true }));
            }
            Action::Read { text, focus, layer, head, lines } => {
                let head = head.map_or(HeadPick::Mean, HeadPick::One);
                self.read_focused(text.to_owned(), focus.to_owned(), layer, head, lines);
                t.pane.set(Some(Pane::Explorer));
            }
            Action::Ask { question } => {
                t.fresh.set_value(true);
                t.queued.set_value(vec![question.to_owned()]);
                t.reading.set(None);
                self.ask_queued();
                t.pane.set(Some(Pane::Chat));
            }
            Action::Lab { digits, latent, generate } => {
                t.lab_setup.update(|s| {
                    s.data = if digits { DataChoice::Digits } else { DataChoice::Faces };
                    s.latent = latent;
                });
                if generate {
                    t.lab_generate.update(|n| *n += 1);
                }
                t.pane.set(Some(Pane::Lab));
            }
            Action::Fill { text, candidates } => {
                t.masked.set(Masked::new(text, candidates));
                self.ask_fill();
                t.pane.set(Some(Pane::Masked));
            }
            Action::Lens { text } => {
                self.start_game(text.to_owned());
                self.ask_lens(Context::Text(text.to_owned()));
                t.pane.set(Some(Pane::Game { sampling: false }));
            }
            Action::Words { words } => {
                t.words.set(Words::new(words));
                self.ask_word_map();
                if let Some(first) = words.first() {
                    self.ask_nearest((*first).to_owned(), None);
                }
                t.pane.set(Some(Pane::Words));
            }
            Action::Doubt { question } => {
                self.ask_doubt(question.to_owned());
                t.pane.set(Some(Pane::Doubt));
            }
            Action::Prefer { question } => {
                self.ask_prefer(question.to_owned(), crate::prefer::Round::Pair, 2);
                t.pane.set(Some(Pane::Prefer));
            }
            Action::Pretrain { french } => {
                t.pretrain_text.update(|(n, f)| (*n, *f) = (*n + 1, french));
                t.pane.set(Some(Pane::Pretrain));
            }
            Action::Thoughts => {
                t.thoughts_start.update(|n| *n += 1);
                t.pane.set(Some(Pane::Thoughts));
            }
            Action::Scale => t.pane.set(Some(Pane::Scale)),
            Action::Privacy => t.pane.set(Some(Pane::Privacy)),
        }
    }

    // ---- Reading a text for the explorer ------------------------------------------------------------

    /// Lets the model read `text` and opens the explorer on `layer`, `head`, the token `focus` selected
    /// (its first occurrence; `""`: the last token), in the lines or the matrix view.
    pub fn read_focused(&self, text: String, focus: String, layer: usize, head: HeadPick, lines: bool) {
        self.explorer.view.set(if lines { HeadView::Lines } else { HeadView::Matrix });
        self.explorer.hide_sink.set(false);
        self.teach.reading_focus.set_value(Some((layer, head, focus)));
        self.read(text);
    }

    /// Lets the model read `text` and shows its attention in the explorer.
    pub fn read(&self, text: String) {
        if text.trim().is_empty() {
            return;
        }
        self.notice.set(None);
        self.send(Request::Read { text });
    }

    pub(super) fn on_read(&self, pieces: Vec<Piece>) {
        let n = pieces.len();
        let tokens = pieces.into_iter().map(|piece| TokenInfo { piece, prob: None, top: Vec::new() }).collect();
        let focus = self.teach.reading_focus.try_update_value(Option::take).flatten();
        let mut selected = None;
        if let Some((layer, head, token)) = focus {
            self.explorer.layer.set(layer);
            self.explorer.head.set(head);
            selected = Some(token);
        }
        let reading = Exchange { tokens, prompt_len: n, traced: true, read: true, drawn_with: None };
        // The focus token itself, else the first token that begins it (a word cut into pieces).
        let position = selected.and_then(|token| {
            let tokens = &reading.tokens;
            tokens.iter().position(|t| t.piece.text == token).or_else(|| {
                tokens.iter().position(|t| !t.piece.text.trim().is_empty() && token.starts_with(t.piece.text.as_str()))
            })
        });
        self.reset_views();
        self.teach.reading.set(Some(reading));
        self.explorer.selected.set(position);
        self.focus.set(position);
    }

    // ---- The next-word game -------------------------------------------------------------------------

    /// Starts the game over from `text`.
    pub fn start_game(&self, text: String) {
        self.teach.game.update(|g| g.start(text));
        self.predict(None);
    }

    /// Asks the worker for the distribution after the game's text (and a guess's score).
    pub fn predict(&self, guess: Option<String>) {
        let t = self.teach;
        let tiny = t.game.with_untracked(|g| g.player == Player::Tiny);
        if !tiny && !matches!(self.model.get_untracked(), ModelState::Ready { .. }) {
            return;
        }
        if t.game.with_untracked(|g| g.start.trim().is_empty() && g.ids.is_empty()) {
            return;
        }
        t.thinking.set(true);
        let context = t.game.with_untracked(Game::context);
        if tiny {
            self.send_tiny(PretrainRequest::Predict { context, guess });
        } else {
            self.send(Request::Predict { context, guess });
        }
    }

    /// A prediction from `player`'s worker (dropped if another player has the game now).
    pub fn on_prediction(&self, prediction: Prediction, player: Player) {
        let t = self.teach;
        let mut kept = false;
        t.game.update(|g| kept = g.player == player && g.accept(prediction));
        if kept {
            t.thinking.set(false);
            if t.answers_wanted.get_value() {
                t.answers_wanted.set_value(false);
                self.three_answers();
            }
        }
    }

    /// Shows the distribution, scoring the class's guess first when there is one.
    pub fn reveal(&self) {
        let t = self.teach;
        let guess = t.game.with_untracked(|g| g.guess.trim().to_owned());
        if guess.is_empty() {
            t.game.update(|g| g.revealed = true);
        } else {
            self.predict(Some(guess));
        }
    }

    /// Continues the text with token `id`.
    pub fn play(&self, id: u32) {
        let mut moved = false;
        self.teach.game.update(|g| moved = g.push(id));
        if moved {
            self.predict(None);
        }
    }

    /// Draws the next token with the sampling settings and continues with it.
    pub fn roll(&self) {
        let mut moved = false;
        self.teach.game.update(|g| moved = g.take_roll().is_some());
        if moved {
            self.predict(None);
        }
    }

    /// Goes back one move.
    pub fn undo(&self) {
        let mut moved = false;
        self.teach.game.update(|g| moved = g.undo());
        if moved {
            self.predict(None);
        }
    }

    /// Writes three continuations with the next three seeds.
    pub fn three_answers(&self) {
        let t = self.teach;
        let tiny = t.game.with_untracked(|g| g.player == Player::Tiny);
        if t.game.with_untracked(|g| g.ids.is_empty()) || (!tiny && !self.can_ask_untracked()) {
            return;
        }
        let (ids, seeds, sampler) = t.game.with_untracked(|g| (g.ids.clone(), g.answer_seeds(), g.sampler.clone()));
        t.game.update(Game::start_answers);
        if tiny {
            self.send_tiny(PretrainRequest::Continue { ids, seeds, sampler, count: ANSWER_CHARS });
        } else {
            self.generating.set(true);
            self.send(Request::Continue { ids, seeds, sampler, max_tokens: 40 });
        }
    }

    // ---- The masked-word game ------------------------------------------------------------------------

    /// Asks the model to rank the masked-word game's candidates (its own words added).
    pub fn ask_fill(&self) {
        let t = self.teach;
        if !matches!(self.model.get_untracked(), ModelState::Ready { .. })
            || t.masked.with_untracked(|m| m.problem().is_some())
        {
            return;
        }
        let (text, candidates) = t.masked.with_untracked(|m| (m.text.clone(), m.candidates.clone()));
        t.masked.update(|m| m.asking = true);
        self.send(Request::Fill { text, candidates, propose: PROPOSED });
    }

    pub(super) fn on_filled(&self, filled: Filled) {
        self.teach.masked.update(|m| {
            m.accept(filled);
        });
    }

    // ---- The logit lens -----------------------------------------------------------------------------

    /// Asks for the logit lens over `context` (rows arrive one block at a time).
    pub fn ask_lens(&self, context: Context) {
        if !matches!(self.model.get_untracked(), ModelState::Ready { .. }) || self.teach.lens.with_untracked(|l| l.busy)
        {
            return;
        }
        self.teach.lens.update(|l| l.start(js_sys::Date::now()));
        self.send(Request::Lens { context });
    }

    // ---- The map of words ---------------------------------------------------------------------------

    /// Places the class's words (and the reference ones of the page's language) on the map.
    pub fn ask_word_map(&self) {
        if !matches!(self.model.get_untracked(), ModelState::Ready { .. }) {
            return;
        }
        let words = self.teach.words.with_untracked(|w| w.chosen.clone());
        let reference = self.lang.get_untracked().tt().words_reference.iter().map(|w| (*w).to_owned()).collect();
        self.send(Request::WordMap { words, reference });
    }

    /// The nearest tokens to `word`, or to `word − minus + plus`.
    pub fn ask_nearest(&self, word: String, analogy: Option<(String, String)>) {
        if matches!(self.model.get_untracked(), ModelState::Ready { .. }) && !word.trim().is_empty() {
            self.send(Request::Nearest { word, analogy, k: 10 });
        }
    }

    /// `word` in two sentences, compared after each block.
    pub fn ask_in_context(&self, word: String, sentences: (String, String)) {
        if matches!(self.model.get_untracked(), ModelState::Ready { .. }) && !word.trim().is_empty() {
            let mut asked = 0;
            self.teach.words.update(|w| asked = w.ask_in_context());
            self.send(Request::InContext { asked, word, sentences });
        }
    }

    /// Asks both workers what they have fetched (the requests log).
    pub fn ask_fetched(&self) {
        self.send(Request::Fetched);
        self.teach.fetch_tick.update(|n| *n += 1);
    }
}
