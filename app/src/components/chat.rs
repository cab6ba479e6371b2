//! The chat: the conversation, a box to write in, Send and Stop; edit a question and send it again,
//! regenerate the last answer, start over, export. Tokens stream in from the worker.

use engine::chat::Role;
use leptos::prelude::*;

use crate::draw::download_text;
use crate::state::AppState;

/// The chat panel.
#[component]
pub fn Chat(state: AppState) -> impl IntoView {
    let t = move || state.lang.get().t();
    let draft = RwSignal::new(String::new());
    // The question being edited: its index and its new text.
    let editing: RwSignal<Option<(usize, String)>> = RwSignal::new(None);
    let send = move || {
        let text = draft.get_untracked();
        if state.can_ask() && !text.trim().is_empty() {
            state.ask(text);
            draft.set(String::new());
        }
    };
    let export_markdown = move || {
        let t = t();
        let settings = state.settings.get_untracked();
        let md =
            state.conversation.with_untracked(|c| c.to_markdown("Glassbox", t.you, t.model, &settings.system_prompt));
        download_text(&md, "text/markdown", "glassbox-conversation.md");
    };
    let export_json = move || {
        let json = serde_json::json!({
            "settings": state.settings.get_untracked(),
            "messages": state.conversation.get_untracked().messages,
        });
        download_text(
            &serde_json::to_string_pretty(&json).unwrap_or_default(),
            "application/json",
            "glassbox-conversation.json",
        );
    };
    let empty = move || state.conversation.with(|c| c.messages.is_empty());
    // Who speaks at each place: a streamed token changes an answer's text, not this list.
    let numbered_messages =
        move || state.conversation.with(|c| c.messages.iter().map(|m| m.role).enumerate().collect::<Vec<_>>());
    view! {
        <section class="chat panel" aria-labelledby="chat-title">
            <h2 id="chat-title">{move || t().chat}</h2>
            <p class="hint" hidden=move || !empty()>{move || t().empty_chat}</p>
            <ol class="messages" data-testid="messages" aria-live="polite">
                // Keyed by place and speaker: a streamed token rewrites the text of the answer being
                // written (each message's text is a memo), and nothing else of the conversation.
                <For
                    each=numbered_messages
                    key=|(index, role)| (*index, *role == Role::User)
                    children=move |(index, role)| {
                            let content = Memo::new(move |_| {
                                state.conversation.with(|c| c.messages.get(index).map(|m| m.content.clone()).unwrap_or_default())
                            });
                            let class = match role {
                                Role::User => "message user",
                                Role::Assistant => "message assistant",
                                Role::System => "message system",
                            };
                            // Read at each language change: a conversation drawn in English and then
                            // shown in French says "Vous" and "Modèle".
                            let who = move || match role {
                                Role::User => t().you,
                                Role::Assistant => t().model,
                                Role::System => "System",
                            };
                            let is_user = role == Role::User;
                            let being_edited = move || editing.get().is_some_and(|(i, _)| i == index);
                            view! {
                                <li class=class data-role=format!("{role:?}")>
                                    <span class="who">{who}</span>
                                    <Show
                                        when=being_edited
                                        fallback=move || view! { <p>{move || content.get()}</p> }
                                    >
                                        <textarea
                                            class="edit"
                                            data-testid="edit-text"
                                            prop:value=move || editing.get().map(|(_, s)| s).unwrap_or_default()
                                            on:input=move |ev| editing.set(Some((index, event_target_value(&ev))))
                                        ></textarea>
                                        <div class="actions">
                                            <button
                                                type="button"
                                                data-testid="resend"
                                                on:click=move |_| {
                                                    if let Some((i, text)) = editing.get_untracked() {
                                                        editing.set(None);
                                                        state.edit(i, text);
                                                    }
                                                }
                                            >
                                                {move || t().resend}
                                            </button>
                                            <button type="button" class="secondary" on:click=move |_| editing.set(None)>
                                                {move || t().cancel}
                                            </button>
                                        </div>
                                    </Show>
                                    <div class="actions" hidden=move || being_edited() || state.generating.get()>
                                        {is_user.then(|| {
                                            view! {
                                                <button
                                                    type="button"
                                                    class="link"
                                                    data-testid="edit"
                                                    disabled=move || !state.can_ask()
                                                    on:click=move |_| editing.set(Some((index, content.get_untracked())))
                                                >
                                                    {move || t().edit}
                                                </button>
                                            }
                                        })}
                                        // On the last message: write its answer again, or write one for a
                                        // question whose answer was stopped before its first word.
                                        <Show when=move || state.is_last(index)>
                                            <button
                                                type="button"
                                                class="link"
                                                data-testid="regenerate"
                                                disabled=move || !state.can_ask()
                                                on:click=move |_| state.regenerate()
                                            >
                                                {move || t().regenerate}
                                            </button>
                                        </Show>
                                    </div>
                                </li>
                            }
                    }
                />
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
                    aria-label=move || t().chat
                    placeholder=move || t().placeholder
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && !ev.shift_key() {
                            ev.prevent_default();
                            send();
                        }
                    }
                ></textarea>
                <button type="submit" data-testid="send" disabled=move || !state.can_ask()>
                    {move || t().send}
                </button>
                <button type="button" data-testid="stop" disabled=move || !state.generating.get() on:click=move |_| state.stop()>
                    {move || t().stop}
                </button>
            </form>
            <div class="chat-tools">
                <select
                    data-testid="conversations"
                    aria-label=move || t().conversations
                    disabled=move || state.generating.get()
                    on:change=move |ev| {
                        if let Ok(id) = event_target_value(&ev).parse::<f64>() {
                            state.switch_to(id);
                        }
                    }
                >
                    {move || {
                        let current = state.current_id.get();
                        let mut titles = state.titles();
                        if !titles.iter().any(|(id, _)| *id == current) {
                            titles.insert(0, (current, t().untitled.to_owned()));
                        }
                        titles
                            .into_iter()
                            .map(|(id, title)| {
                                let title = if title.is_empty() { t().untitled.to_owned() } else { title };
                                view! { <option value=id.to_string() selected=id == current>{title}</option> }
                            })
                            .collect_view()
                    }}
                </select>
                <button
                    type="button"
                    class="secondary"
                    data-testid="new-conversation"
                    disabled=move || state.generating.get() || empty()
                    on:click=move |_| state.new_conversation()
                >
                    {move || t().new_conversation}
                </button>
                <button
                    type="button"
                    class="secondary"
                    data-testid="delete-conversation"
                    title=move || t().delete_hint
                    disabled=move || state.generating.get() || empty()
                    on:click=move |_| state.delete_conversation()
                >
                    {move || t().delete}
                </button>
                <button type="button" class="secondary" data-testid="export-md" disabled=empty on:click=move |_| export_markdown()>
                    {move || t().export_markdown}
                </button>
                <button type="button" class="secondary" data-testid="export-json" disabled=empty on:click=move |_| export_json()>
                    {move || t().export_json}
                </button>
                <span class="muted">{move || t().kept_here}</span>
            </div>
            <p class="note" data-testid="chat-note" role="status" data-reused=move || state.speed.get().map_or(0, |s| s.reused)>
                {move || match (state.notice.get(), state.speed.get()) {
                    (Some(notice), _) => format!("{}: {notice}", t().problem),
                    (None, Some(s)) if !state.generating.get() => state.lang.get().speed(s.tok_per_s, s.prompt, s.reused),
                    _ => String::new(),
                }}
            </p>
        </section>
    }
}
