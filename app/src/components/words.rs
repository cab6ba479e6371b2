//! The map of words: the class's words placed with reference words in the plane of their embeddings'
//! first two principal components; a word's nearest tokens over the whole vocabulary (or an analogy's,
//! right or wrong); and a word in two sentences, compared block by block. The worker computes; this draws.

use leptos::prelude::*;

use super::tokens::chip_text;
use crate::state::AppState;

/// Width and height of the map's drawing, in SVG units.
const MAP_SIZE: f32 = 600.0;

/// The map-of-words panel.
#[component]
pub fn WordMapPanel(state: AppState) -> impl IntoView {
    let tt = move || state.lang.get().tt();
    let lang = move || state.lang.get();
    let words = state.teach.words;
    let typed = RwSignal::new(String::new());
    let (a, b, c) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let near = RwSignal::new(String::new());
    let (word, first, second) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    // The examples follow the page's language until the class types its own.
    Effect::new(move |_| {
        let t = tt();
        let [x, y, z] = t.words_analogy;
        a.set(x.into());
        b.set(y.into());
        c.set(z.into());
        let (w, s1, s2) = t.words_context;
        word.set(w.into());
        first.set(s1.into());
        second.set(s2.into());
        near.set(t.words_reference[0].into());
    });
    // The list's word shows in its box, whoever asked for it (a lesson step asks for its first word).
    Effect::new(move |_| {
        if let Some(query) = words.with(|w| w.nearest.as_ref().map(|n| n.query.clone())) {
            if !query.contains(" − ") {
                near.set(query);
            }
        }
    });
    let input = move |signal: RwSignal<String>, testid: &'static str| {
        view! { <input type="text" data-testid=testid prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev))/> }
    };
    view! {
        <section class="words panel" data-testid="words" aria-labelledby="words-title">
            <h2 id="words-title">{move || tt().words_title}</h2>
            <p class="hint">{move || tt().words_intro}</p>
            <super::ModelLine state=state/>
            <div class="candidates" data-testid="words-chosen">
                {move || {
                    words.with(|w| w.chosen.clone())
                        .into_iter()
                        .map(|w| {
                            let (gone, label) = (w.clone(), w.clone());
                            view! {
                                <span class="candidate" data-word=w>
                                    {label}
                                    <button type="button" class="link" aria-label="×" on:click=move |_| words.update(|ws| ws.remove(&gone))>"×"</button>
                                </span>
                            }
                        })
                        .collect_view()
                }}
            </div>
            <form class="guess-row" on:submit=move |ev| {
                ev.prevent_default();
                words.update(|w| {
                    w.add(&typed.get_untracked());
                });
                typed.set(String::new());
                state.ask_word_map();
            }>
                <input
                    type="text"
                    data-testid="words-add-text"
                    placeholder=move || tt().masked_add_hint
                    aria-label=move || tt().masked_add_hint
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                />
                <button type="submit" data-testid="words-place" disabled=move || !state.can_predict()>{move || tt().words_place}</button>
            </form>
            <div class="words-grid">
                <figure>
                    <svg class="word-map" data-testid="word-map" viewBox=format!("0 0 {MAP_SIZE} {MAP_SIZE}") role="img" aria-label=move || tt().words_map>
                        {move || {
                            words.with(|w| w.laid_out(MAP_SIZE))
                                .into_iter()
                                .map(|p| {
                                    let (word, title) = (p.word.clone(), p.word.clone());
                                    let label = p.label.map(|(x, y, anchor)| view! { <text x=x y=y text-anchor=anchor>{p.word.clone()}</text> });
                                    view! {
                                        <g class:chosen=p.chosen data-word=word>
                                            <title>{title}</title>
                                            <circle cx=p.x cy=p.y r=if p.chosen { 6 } else { 4 }></circle>
                                            {label}
                                        </g>
                                    }
                                })
                                .collect_view()
                        }}
                    </svg>
                    <figcaption>
                        {move || tt().words_map_hint}" "
                        {move || {
                            words.with(|w| {
                                w.map.as_ref().filter(|m| !m.split.is_empty()).map(|m| {
                                    let list: Vec<String> = m.split.iter().map(|(w, n)| format!("{w} ({n})")).collect();
                                    format!("{} {}", tt().words_split, list.join(", "))
                                })
                            })
                        }}
                    </figcaption>
                </figure>
                <div>
                    <h3>{move || tt().words_nearest}</h3>
                    <form class="guess-row" on:submit=move |ev| {
                        ev.prevent_default();
                        state.ask_nearest(near.get_untracked(), None);
                    }>
                        {input(near, "nearest-word")}
                        <button type="submit" data-testid="nearest" disabled=move || !state.can_predict()>{move || tt().words_find}</button>
                    </form>
                    <form class="guess-row analogy" on:submit=move |ev| {
                        ev.prevent_default();
                        state.ask_nearest(a.get_untracked(), Some((b.get_untracked(), c.get_untracked())));
                    }>
                        {input(a, "analogy-a")}<span>"−"</span>{input(b, "analogy-b")}<span>"+"</span>{input(c, "analogy-c")}
                        <button type="submit" class="secondary" data-testid="analogy" disabled=move || !state.can_predict()>"="</button>
                    </form>
                    <p class="muted">{move || tt().words_analogy_hint}</p>
                    <p><strong data-testid="nearest-query">{move || words.with(|w| w.nearest.as_ref().map(|n| n.query.clone()))}</strong></p>
                    <ol class="bars" data-testid="nearest-list">
                        {move || {
                            words.with(|w| w.nearest.as_ref().map(|n| n.tokens.clone()).unwrap_or_default())
                                .into_iter()
                                .map(|(piece, cosine)| {
                                    let width = format!("width: {:.1}%", (cosine.max(0.0) * 100.0).clamp(0.5, 100.0));
                                    view! {
                                        <li class="bar-row" data-id=piece.id data-cosine=cosine.to_string()>
                                            <code>{chip_text(&piece.text)}</code>
                                            <span class="bar"><span style=width></span></span>
                                            <span class="num">{lang().num(cosine as f64, 3)}</span>
                                        </li>
                                    }
                                })
                                .collect_view()
                        }}
                    </ol>
                </div>
            </div>
            <h3>{move || tt().words_in_context}</h3>
            <p class="hint">{move || tt().words_in_context_hint}</p>
            <form class="context-form" on:submit=move |ev| {
                ev.prevent_default();
                state.ask_in_context(word.get_untracked(), (first.get_untracked(), second.get_untracked()));
            }>
                {input(word, "context-word")}
                {input(first, "context-first")}
                {input(second, "context-second")}
                <button type="submit" data-testid="in-context" disabled=move || !state.can_predict()>{move || tt().words_compare}</button>
            </form>
            <figure hidden=move || words.with(|w| w.in_context.is_none())>
                <svg class="context-curve" data-testid="context-curve" viewBox="0 0 600 202" role="img">
                    <line x1="30" y1="180" x2="590" y2="180" class="axis"></line>
                    <line x1="30" y1="10" x2="30" y2="180" class="axis"></line>
                    <text x="4" y="16">"1"</text>
                    <text x="4" y="184">"0"</text>
                    <text x="30" y="197">"0"</text>
                    <text x="590" y="197" text-anchor="end">{move || words.with(|w| w.in_context.as_ref().map(|c| c.1.len().saturating_sub(1)))}</text>
                    <text x="310" y="197" text-anchor="middle">{move || tt().words_axis}</text>
                    <polyline points=move || {
                        words.with(|w| {
                            let cosines = w.in_context.as_ref().map(|c| c.1.clone()).unwrap_or_default();
                            let n = cosines.len().max(2) - 1;
                            cosines.iter().enumerate().map(|(i, c)| format!("{:.1},{:.1}", 30.0 + 560.0 * i as f32 / n as f32, 180.0 - 170.0 * c.clamp(0.0, 1.0))).collect::<Vec<_>>().join(" ")
                        })
                    }></polyline>
                </svg>
                <figcaption data-testid="context-note" data-on-gpu=move || words.with(|w| w.in_context_on_gpu.to_string()) data-cosines=move || words.with(|w| w.in_context.as_ref().map(|c| c.1.iter().map(|x| format!("{x:.4}")).collect::<Vec<_>>().join(",")))>
                    {move || words.with(|w| {
                        let (word, _) = w.in_context.as_ref()?;
                        let (block, cosine) = w.most_apart()?;
                        Some(lang().context_note(word, block, cosine))
                    })}
                </figcaption>
            </figure>
        </section>
    }
}
