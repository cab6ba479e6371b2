//! The explorer's reading box: the model reads a sentence the class types (no chat template), and the
//! explorer shows its attention instead of the last answer's until the next answer or *Back*.

use leptos::prelude::*;

use crate::state::AppState;

/// A text box, *Read*, and *Back to the last answer* while a reading is shown.
#[component]
pub fn ReadBox(state: AppState) -> impl IntoView {
    let tt = move || state.lang.get().tt();
    let draft = RwSignal::new(String::new());
    // The box shows the text being read (a lesson step may have chosen it).
    Effect::new(move |_| {
        if let Some(reading) = state.teach.reading.get() {
            draft.set(reading.tokens.iter().map(|t| t.piece.text.as_str()).collect());
        }
    });
    view! {
        <form
            class="read-box"
            on:submit=move |ev| {
                ev.prevent_default();
                state.read(draft.get_untracked());
            }
        >
            <label for="read-text">{move || tt().read_label}</label>
            <input
                id="read-text"
                type="text"
                data-testid="read-text"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
            />
            <button type="submit" data-testid="read" disabled=move || !state.can_predict() || state.generating.get()>
                {move || tt().read_button}
            </button>
            <button
                type="button"
                class="secondary"
                data-testid="back-to-answer"
                hidden=move || state.teach.reading.with(Option::is_none)
                on:click=move |_| state.teach.reading.set(None)
            >
                {move || tt().back_to_answer}
            </button>
        </form>
    }
}
