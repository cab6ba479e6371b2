//! Leptos components. They stay thin: state lives in signals fed by worker messages ([`AppState`]).

mod attention;
mod chat;
mod lab;
mod settings;
mod status;
mod tokens;

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

pub use attention::AttentionExplorer;
pub use chat::Chat;
pub use lab::AutoencoderLab;
pub use settings::SettingsPanel;
pub use status::SystemStatus;
pub use tokens::TokenView;

use crate::i18n::Lang;
use crate::state::{AppState, Prefs, Theme};

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::start();
    let t = move || state.lang.get().t();
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
    // Esc stops the answer from anywhere on the page.
    let _esc = window_event_listener(ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            state.stop();
        }
    });
    let dragging = RwSignal::new(false);
    // Which page: the address's #lab opens the lab, so a link can share it.
    let on_lab = || web_sys::window().and_then(|w| w.location().hash().ok()).is_some_and(|h| h == "#lab");
    let lab_open = RwSignal::new(on_lab());
    let lab_seen = RwSignal::new(on_lab());
    let _hash = window_event_listener(ev::hashchange, move |_| {
        lab_open.set(on_lab());
        if on_lab() {
            lab_seen.set(true);
        }
    });
    view! {
        <div
            class="page"
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
                <a href="#chat" data-testid="tab-chat" aria-current=move || (!lab_open.get()).then_some("page")>{move || t().tab_chat}</a>
                <a href="#lab" data-testid="tab-lab" aria-current=move || lab_open.get().then_some("page")>{move || t().tab_lab}</a>
            </nav>
            <main hidden=move || lab_open.get()>
                <section class="letters" aria-label="ChatGPT">
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
                <div class="columns">
                    <Chat state=state/>
                    <div class="side">
                        <SettingsPanel state=state/>
                        <SystemStatus state=state/>
                    </div>
                </div>
                <TokenView state=state/>
                <AttentionExplorer state=state/>
            </main>
            // The lab (and its worker) starts the first time it is opened, then keeps training in the background.
            <Show when=move || lab_seen.get()>
                <main hidden=move || !lab_open.get()>
                    <AutoencoderLab state=state/>
                </main>
            </Show>
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
