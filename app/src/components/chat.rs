//! The chat: the conversation, a box to write in, Send and Stop. Tokens stream in from the worker.

use engine::chat::Role;
use leptos::prelude::*;

use crate::state::{AppState, ModelState};

/// The chat panel.
#[component]
pub fn Chat(state: AppState) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let ready = move || matches!(state.model.get(), ModelState::Ready { .. });
    let send = move || {
        let text = draft.get_untracked();
        if ready() && !text.trim().is_empty() {
            state.ask(text);
            draft.set(String::new());
        }
    };
    view! {
        <section class="chat" aria-label="Chat">
            <h2>"Chat"</h2>
            <ol class="messages" data-testid="messages">
                {move || {
                    state
                        .messages
                        .get()
                        .into_iter()
                        .map(|m| {
                            let (class, who) = match m.role {
                                Role::User => ("message user", "You"),
                                Role::Assistant => ("message assistant", "Model"),
                                Role::System => ("message system", "System"),
                            };
                            view! {
                                <li class=class data-role=who>
                                    <span class="who">{who}</span>
                                    <p>{m.content}</p>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ol>
            <form
                class="composer"
                on:submit=move |ev| {
                    ev.prevent_default();
                    send();
                }
            >
                <textarea
                    data-testid="prompt"
                    rows="2"
                    placeholder="Ask something… (Enter sends, Shift+Enter for a new line)"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && !ev.shift_key() {
                            ev.prevent_default();
                            send();
                        }
                    }
                ></textarea>
                <button type="submit" data-testid="send" disabled=move || !ready() || state.generating.get()>
                    "Send"
                </button>
                <button type="button" data-testid="stop" disabled=move || !state.generating.get() on:click=move |_| state.stop()>
                    "Stop"
                </button>
                <button
                    type="button"
                    class="secondary"
                    data-testid="clear"
                    title="Forget this conversation (it is kept on this device only)"
                    disabled=move || state.generating.get() || state.messages.get().is_empty()
                    on:click=move |_| state.clear()
                >
                    "Clear"
                </button>
            </form>
            <p class="note" data-testid="chat-note">
                {move || match (state.error.get(), state.speed.get()) {
                    (Some(error), _) => error,
                    (None, Some(speed)) if !state.generating.get() => format!("{speed:.1} tokens per second, on this device"),
                    _ => String::new(),
                }}
            </p>
        </section>
    }
}
