//! The token view: the latest prompt (chat template included) and answer as chips, the answer's
//! coloured by the model's confidence; a click shows the alternatives at that step and selects the token
//! in the attention explorer.

use leptos::prelude::*;

use crate::state::AppState;

/// How a token's text is shown on a chip: spaces and line breaks made visible.
pub fn chip_text(text: &str) -> String {
    text.replace(' ', "·").replace('\n', "↵").replace('\t', "→")
}

/// The token view.
#[component]
pub fn TokenView(state: AppState) -> impl IntoView {
    let t = move || state.lang.get().t();
    let lang = move || state.lang.get();
    let select = move |position: usize| {
        state.focus.set(Some(position));
        state.explorer.selected.set(Some(position));
    };
    let details = move || {
        let position = state.focus.get()?;
        let token = state.shown.with(|e| e.tokens.get(position).cloned())?;
        Some((position, token))
    };
    view! {
        <section class="tokens panel" aria-labelledby="tokens-title">
            <h2 id="tokens-title">{move || t().tokens}</h2>
            <p class="hint">{move || t().tokens_intro}</p>
            <p class="muted" hidden=move || !state.shown.with(|e| e.tokens.is_empty())>{move || t().tokens_empty}</p>
            <div class="legend" hidden=move || state.shown.with(|e| e.tokens.len() <= e.prompt_len)>
                <span class="chip prompt">{move || t().prompt_token.split(':').next().unwrap_or_default().to_owned()}</span>
                <span class="scale" aria-hidden="true"></span>
                <span>{move || format!("{} → {}", t().unsure, t().sure)}</span>
            </div>
            <p class="muted" data-testid="drawn-with" hidden=move || state.shown.with(|e| e.tokens.is_empty())>
                {move || state.lang.get().drawn_with(state.shown.with(|e| e.drawn_with))}
            </p>
            <div class="chips" data-testid="chips">
                // Keyed: a new token adds one chip instead of rebuilding them all.
                <For
                    each=move || {
                        let exchange = state.shown.get();
                        let prompt_len = exchange.prompt_len;
                        exchange.tokens.into_iter().enumerate().map(move |(i, t)| (i, i < prompt_len, t)).collect::<Vec<_>>()
                    }
                    key=|(position, prompt, token)| (*position, *prompt, token.piece.id, token.prob.map(f32::to_bits))
                    children=move |(position, prompt, token)| {
                        let class = if prompt { "chip prompt" } else { "chip answer" };
                        let style = token.prob.map(|p| format!("--p: {p:.3}")).unwrap_or_default();
                        let title = move || match token.prob {
                            Some(p) => format!("{} · {}", lang().token_id(token.piece.id), lang().percent(p)),
                            None => lang().token_id(token.piece.id),
                        };
                        view! {
                            <button
                                type="button"
                                class=class
                                class:focused=move || state.focus.get() == Some(position)
                                style=style
                                title=title
                                data-id=token.piece.id
                                data-position=position
                                data-prob=token.prob.map(|p| p.to_string())
                                on:click=move |_| select(position)
                            >
                                {chip_text(&token.piece.text)}
                            </button>
                        }
                    }
                />
            </div>
            <div class="token-details" data-testid="token-details" hidden=move || details().is_none()>
                {move || {
                    details()
                        .map(|(position, token)| {
                            let head = format!("«{}» · {} · position {position}", chip_text(&token.piece.text), lang().token_id(token.piece.id));
                            match token.prob {
                                None => {
                                    let why = if state.shown.with(|e| e.read) { state.lang.get().tt().read_token } else { t().prompt_token };
                                    view! { <p><strong>{head}</strong>" — "{why}</p> }.into_any()
                                }
                                Some(p) => view! {
                                    <p>
                                        <strong>{head}</strong>
                                        {format!(" — {} {}", t().chosen_with, lang().percent(p))}
                                    </p>
                                    <h3>{t().alternatives}</h3>
                                    <ol class="alternatives">
                                        {token
                                            .top
                                            .into_iter()
                                            .map(|alt| {
                                                let chosen = alt.piece.id == token.piece.id;
                                                let width = format!("width: {:.1}%", (alt.prob * 100.0).clamp(0.5, 100.0));
                                                view! {
                                                    <li class:chosen=chosen>
                                                        <code>{chip_text(&alt.piece.text)}</code>
                                                        <span class="bar"><span style=width></span></span>
                                                        <span class="num">{lang().percent(alt.prob)}</span>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ol>
                                }
                                .into_any(),
                            }
                        })
                }}
            </div>
        </section>
    }
}
