//! Leptos components. They stay thin: state lives in signals fed by worker messages.

mod chat;
mod status;

use leptos::prelude::*;

pub use chat::Chat;
pub use status::SystemStatus;

use crate::state::AppState;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::start();
    view! {
        <header class="masthead">
            <h1 class="brand">"Glassbox"</h1>
            <p class="tagline">"A transformer you can see through. It runs on your machine; nothing leaves it."</p>
        </header>
        <main>
            <section class="letters" aria-label="ChatGPT, letter by letter">
                <Letter letter="T" word="Transformer" gist="Text becomes tokens, tokens become vectors, and attention decides which earlier words matter."/>
                <Letter letter="G" word="Generative" gist="Squeeze, rebuild, predict the next word: how a model makes something new."/>
                <Letter letter="P" word="Pre-trained" gist="The same small ideas, repeated over enormous amounts of text."/>
                <Letter letter="Chat" word="Conversation" gist="Templates, sampling and preferences turn a text predictor into an assistant that can still be wrong."/>
            </section>
            <Chat state=state/>
            <SystemStatus state=state/>
        </main>
    }
}

/// One letter of "ChatGPT" with the idea it stands for.
#[component]
fn Letter(letter: &'static str, word: &'static str, gist: &'static str) -> impl IntoView {
    view! {
        <article class="letter">
            <span class="glyph" aria-hidden="true">{letter}</span>
            <h2>{word}</h2>
            <p>{gist}</p>
        </article>
    }
}
