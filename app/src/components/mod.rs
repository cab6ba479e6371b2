//! Leptos components. They stay thin: state lives in signals fed by worker messages ([`AppState`]).

mod attention;
mod chat;
mod doubt;
mod game;
mod lab;
mod lens;
mod lesson;
mod masked;
mod prefer;
mod pretrain;
mod privacy;
mod reading;
mod scale;
mod settings;
mod share;
mod status;
mod thoughts;
mod tokens;
mod words;

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

pub use attention::AttentionExplorer;
pub use chat::Chat;
pub use doubt::DoubtPanel;
pub use game::NextWordGame;
pub use lab::AutoencoderLab;
pub use lesson::LessonCard;
pub use masked::MaskedWord;
pub use prefer::PreferPanel;
pub use privacy::Privacy;
pub use scale::{big_models, in_words, log_bars, Scale};
pub use settings::SettingsPanel;
pub use share::Share;
pub use status::{ModelLine, SystemStatus};
pub use tokens::TokenView;
pub use words::WordMapPanel;

use crate::i18n::Lang;
use crate::route::Page;
use crate::state::{AppState, Pane, Prefs, Theme};

/// Whether a key event was typed into a text field (where arrows move the caret, not the lesson).
fn typing(ev: &ev::KeyboardEvent) -> bool {
    ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).is_some_and(|e| {
        matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") || e.has_attribute("contenteditable")
    })
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::start();
    let t = move || state.lang.get().t();
    let tt = move || state.lang.get().tt();
    // The outside world: the document's language, theme and projector mode follow the preferences.
    Effect::new(move |_| {
        let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) else {
            return;
        };
        let Prefs { theme, projector, .. } = state.prefs.get();
        let _ = root.set_attribute("lang", state.lang.get().tag());
        let _ = match theme {
            Theme::Auto => root.remove_attribute("data-theme"),
            Theme::Light => root.set_attribute("data-theme", "light"),
            Theme::Dark => root.set_attribute("data-theme", "dark"),
        };
        let _ =
            if projector { root.set_attribute("data-projector", "") } else { root.remove_attribute("data-projector") };
    });
    let teach = state.teach;
    let page = move || teach.page.get();
    let pane = move || if page() == Page::Lesson { teach.pane.get() } else { None };
    // Esc stops the answer from anywhere on the page; ← → change the lesson's step.
    let _keys = window_event_listener(ev::keydown, move |ev| match ev.key().as_str() {
        "Escape" => state.stop(),
        "ArrowRight" | "ArrowLeft" if teach.page.get_untracked() == Page::Lesson && !typing(&ev) => {
            let step = teach.step.get_untracked();
            let to = if ev.key() == "ArrowRight" { step + 1 } else { step.saturating_sub(1) };
            if to != step {
                state.go_to_step(to);
            }
        }
        _ => {}
    });
    let dragging = RwSignal::new(false);
    let shows = move |wanted: &[Pane]| pane().is_some_and(|p| wanted.contains(&p));
    let on_chat = move || page() == Page::Chat;
    let game_shown = move || page() == Page::Game || matches!(pane(), Some(Pane::Game { .. }));
    let lab_shown = move || page() == Page::Lab || shows(&[Pane::Lab]);
    // The lab (and its worker) starts the first time it is shown, then keeps training in the background.
    let lab_seen = RwSignal::new(false);
    Effect::new(move |_| {
        if lab_shown() {
            lab_seen.set(true);
        }
    });
    // The same for the pre-training lab, which pauses while it is not on screen.
    let pretrain_shown = Signal::derive(move || page() == Page::Pretrain || shows(&[Pane::Pretrain]));
    let pretrain_seen = RwSignal::new(false);
    Effect::new(move |_| {
        if pretrain_shown.get() {
            pretrain_seen.set(true);
        }
    });
    // The *Thoughts* view is drawn the first time it is shown; its training pauses while it is hidden.
    let thoughts_shown = Signal::derive(move || page() == Page::Thoughts || shows(&[Pane::Thoughts]));
    let thoughts_seen = RwSignal::new(false);
    Effect::new(move |_| {
        if thoughts_shown.get() {
            thoughts_seen.set(true);
        }
    });
    let tab = move |target: Page, label: fn(&AppState) -> &'static str, testid: &'static str| {
        let href = move || match target {
            Page::Lesson => {
                format!("#lesson/{}", crate::lesson::steps(Lang::Fr).get(teach.step.get()).map_or("t1", |s| s.id))
            }
            other => format!("#{}", other.slug()),
        };
        view! {
            <a href=href data-testid=testid aria-current=move || (page() == target).then_some("page")>
                {move || label(&state)}
            </a>
        }
    };
    view! {
        <div
            class="page"
            data-model=move || match state.model.get() {
                crate::state::ModelState::Ready { .. } => "ready",
                crate::state::ModelState::Loading => "loading",
                crate::state::ModelState::Failed(_) => "failed",
            }
            class:dragging=move || dragging.get()
            on:dragover=move |ev: ev::DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |ev: ev::DragEvent| {
                ev.prevent_default();
                dragging.set(false);
                if let Some(file) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
                    state.load_file(&file);
                }
            }
        >
            <header class="masthead">
                <div>
                    <h1 class="brand">"Glassbox"</h1>
                    <p class="tagline">{move || t().tagline}</p>
                </div>
                <Toolbar state=state/>
            </header>
            <nav class="tabs" aria-label="Pages">
                {tab(Page::Lesson, |s| s.lang.get().tt().tab_lesson, "tab-lesson")}
                {tab(Page::Chat, |s| s.lang.get().t().tab_chat, "tab-chat")}
                {tab(Page::Game, |s| s.lang.get().tt().tab_game, "tab-game")}
                {tab(Page::Masked, |s| s.lang.get().tt().tab_masked, "tab-masked")}
                {tab(Page::Words, |s| s.lang.get().tt().tab_words, "tab-words")}
                {tab(Page::Doubt, |s| s.lang.get().dt().tab, "tab-doubt")}
                {tab(Page::Prefer, |s| s.lang.get().pt().tab, "tab-prefer")}
                {tab(Page::Pretrain, |s| s.lang.get().rt().tab, "tab-pretrain")}
                {tab(Page::Thoughts, |s| s.lang.get().ht().tab, "tab-thoughts")}
                {tab(Page::Lab, |s| s.lang.get().t().tab_lab, "tab-lab")}
            </nav>
            <p class="link-note" data-testid="link-note" role="status" hidden=move || teach.link_note.get().is_none()>
                {move || teach.link_note.get().map(|why| state.lang.get().link_note(&why))}" "
                <button type="button" class="link" on:click=move |_| teach.link_note.set(None)>{move || tt().dismiss}</button>
            </p>
            <p class="link-note" data-testid="engine-silent" role="alert" hidden=move || !state.engine_silent.get()>
                {move || state.lang.get().t().engine_silent}" "
                <button type="button" class="secondary" data-testid="engine-restart" on:click=move |_| state.restart_engine()>
                    {move || state.lang.get().t().engine_restart}
                </button>
            </p>
            <Show when=move || page() == Page::Lesson>
                <LessonCard state=state/>
            </Show>
            <main>
                <section class="letters" aria-label="ChatGPT" hidden=move || !on_chat()>
                    {move || {
                        t().letters
                            .iter()
                            .map(|&(letter, word, gist)| {
                                view! {
                                    <article class="letter">
                                        <span class="glyph" aria-hidden="true">{letter}</span>
                                        <h2>{word}</h2>
                                        <p>{gist}</p>
                                    </article>
                                }
                            })
                            .collect_view()
                    }}
                </section>
                <div class="columns" hidden=move || !(on_chat() || shows(&[Pane::Chat]))>
                    <Chat state=state/>
                    <div class="side">
                        <SettingsPanel state=state/>
                        <SystemStatus state=state/>
                    </div>
                </div>
                <div hidden=move || !(on_chat() || shows(&[Pane::Chat, Pane::Explorer]))>
                    <TokenView state=state/>
                </div>
                <div hidden=move || !(on_chat() || shows(&[Pane::Explorer]))>
                    <AttentionExplorer state=state/>
                </div>
                <div hidden=move || !game_shown()>
                    <NextWordGame
                        state=state
                        sampling=Signal::derive(move || matches!(pane(), Some(Pane::Game { sampling: true })))
                    />
                </div>
                <div hidden=move || !(page() == Page::Masked || shows(&[Pane::Masked]))>
                    <MaskedWord state=state/>
                </div>
                <div hidden=move || !(page() == Page::Words || shows(&[Pane::Words]))>
                    <WordMapPanel state=state/>
                </div>
                <div hidden=move || !(page() == Page::Doubt || shows(&[Pane::Doubt]))>
                    <DoubtPanel state=state/>
                </div>
                <div hidden=move || !(page() == Page::Prefer || shows(&[Pane::Prefer]))>
                    <PreferPanel state=state/>
                </div>
                <Show when=move || lab_seen.get()>
                    <div hidden=move || !lab_shown()>
                        <AutoencoderLab state=state/>
                    </div>
                </Show>
                <Show when=move || pretrain_seen.get()>
                    <div hidden=move || !pretrain_shown.get()>
                        <pretrain::PretrainLab state=state shown=pretrain_shown/>
                    </div>
                </Show>
                <Show when=move || thoughts_seen.get()>
                    <div hidden=move || !thoughts_shown.get()>
                        <thoughts::ThoughtsLab state=state shown=thoughts_shown/>
                    </div>
                </Show>
                <Show when=move || shows(&[Pane::Scale])>
                    <Scale state=state/>
                </Show>
                <Show when=move || shows(&[Pane::Privacy])>
                    <Privacy state=state/>
                </Show>
            </main>
        </div>
    }
}

/// Language, theme and projector mode.
#[component]
fn Toolbar(state: AppState) -> impl IntoView {
    let t = move || state.lang.get().t();
    let set_lang = move |lang: Lang| state.prefs.update(|p| p.lang = Some(lang));
    let theme_button = move |theme: Theme, label: fn(&'static crate::i18n::Texts) -> &'static str| {
        view! {
            <button
                type="button"
                aria-pressed=move || (state.prefs.get().theme == theme).to_string()
                on:click=move |_| state.prefs.update(|p| p.theme = theme)
            >
                {move || label(t())}
            </button>
        }
    };
    view! {
        <nav class="toolbar" aria-label="Display">
            <div class="group" role="group" aria-label=move || t().language>
                <button
                    type="button"
                    data-testid="lang-en"
                    lang="en"
                    aria-pressed=move || (state.lang.get() == Lang::En).to_string()
                    on:click=move |_| set_lang(Lang::En)
                >
                    "English"
                </button>
                <button
                    type="button"
                    data-testid="lang-fr"
                    lang="fr"
                    aria-pressed=move || (state.lang.get() == Lang::Fr).to_string()
                    on:click=move |_| set_lang(Lang::Fr)
                >
                    "Français"
                </button>
            </div>
            <div class="group" role="group" aria-label=move || t().theme>
                {theme_button(Theme::Auto, |t| t.theme_auto)}
                {theme_button(Theme::Light, |t| t.theme_light)}
                {theme_button(Theme::Dark, |t| t.theme_dark)}
            </div>
            <Share state=state/>
            <button
                type="button"
                data-testid="projector"
                title=move || t().projector_hint
                aria-pressed=move || state.prefs.get().projector.to_string()
                on:click=move |_| state.prefs.update(|p| p.projector = !p.projector)
            >
                {move || t().projector}
            </button>
        </nav>
    }
}

/// The value of an `<input>` event's target, parsed (`None` if it does not parse).
fn input_number<T: std::str::FromStr>(ev: &ev::Event) -> Option<T> {
    event_target_value(ev).trim().replace(',', ".").parse().ok()
}

/// The `<input type=file>` behind an event.
fn input_file(ev: &ev::Event) -> Option<web_sys::File> {
    let input: web_sys::HtmlInputElement = ev.target()?.dyn_into().ok()?;
    let file = input.files()?.get(0);
    input.set_value("");
    file
}
