//! The masked-word game ("Schtroumpf"): a sentence with a blank, the class's candidate words (and the
//! model's own), ranked by the probability of each completed sentence; one click opens the attention
//! of the best word in the explorer. The worker scores; this draws.

use leptos::prelude::*;

use engine::trace::HeadPick;

use crate::masked::{Masked, Problem};
use crate::route::Page;
use crate::state::{AppState, Pane};

/// The game panel.
#[component]
pub fn MaskedWord(state: AppState) -> impl IntoView {
    let tt = move || state.lang.get().tt();
    let lang = move || state.lang.get();
    let game = state.teach.masked;
    let draft = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    // The sentence box follows the game (a lesson step or a link may set it).
    Effect::new(move |_| draft.set(game.with(|g| g.text.clone())));
    let problem = move || {
        game.with(|g| match g.problem() {
            Some(Problem::NoBlank) => Some(tt().masked_no_blank),
            Some(Problem::NoCandidate) => Some(tt().masked_no_candidate),
            None => None,
        })
    };
    let add = move || {
        let words = typed.get_untracked();
        game.update(|g| {
            g.add(&words);
        });
        typed.set(String::new());
    };
    let look = move || {
        // The best word in its sentence, read by the model; the explorer on its first token, heads averaged.
        let Some((sentence, word)) =
            game.with_untracked(|g| Some((g.best_sentence()?, g.result.as_ref()?.scores.first()?.0.clone())))
        else {
            return;
        };
        state.read_focused(sentence, format!(" {word}"), 13, HeadPick::Mean, true);
        if state.teach.page.get_untracked() == Page::Lesson {
            state.teach.pane.set(Some(Pane::Explorer));
        } else if let Some(location) = web_sys::window().map(|w| w.location()) {
            // The explorer lives on the chat's page.
            let _ = location.set_hash(Page::Chat.slug());
        }
    };
    view! {
        <section class="masked panel" data-testid="masked" aria-labelledby="masked-title">
            <h2 id="masked-title">{move || tt().masked_title}</h2>
            <p class="hint">{move || tt().masked_intro}</p>
            <super::ModelLine state=state/>
            <div class="game-start">
                <label for="masked-text">{move || tt().masked_sentence}</label>
                <input
                    id="masked-text"
                    type="text"
                    data-testid="masked-text"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:change=move |_| game.update(|g| {
                        g.text = draft.get_untracked();
                        g.result = None;
                    })
                />
                <select
                    aria-label=move || tt().masked_examples
                    data-testid="masked-examples"
                    on:change=move |ev| {
                        if let Ok(i) = event_target_value(&ev).parse::<usize>() {
                            if let Some((text, words)) = tt().masked_presets.get(i) {
                                game.set(Masked::new(text, words));
                                state.ask_fill();
                            }
                        }
                    }
                >
                    <option value="">{move || tt().masked_examples}</option>
                    {move || {
                        tt().masked_presets
                            .iter()
                            .enumerate()
                            .map(|(i, (text, _))| view! { <option value=i>{*text}</option> })
                            .collect_view()
                    }}
                </select>
            </div>
            <div class="candidates" data-testid="masked-candidates">
                {move || {
                    game.with(|g| g.candidates.clone())
                        .into_iter()
                        .map(|word| {
                            let (gone, label) = (word.clone(), word.clone());
                            view! {
                                <span class="candidate" data-word=word>
                                    {label}
                                    <button type="button" class="link" aria-label="×" on:click=move |_| game.update(|g| g.remove(&gone))>"×"</button>
                                </span>
                            }
                        })
                        .collect_view()
                }}
            </div>
            <form
                class="guess-row"
                on:submit=move |ev| {
                    ev.prevent_default();
                    add();
                }
            >
                <input
                    type="text"
                    data-testid="masked-add-text"
                    placeholder=move || tt().masked_add_hint
                    aria-label=move || tt().masked_add_hint
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                />
                <button type="submit" class="secondary" data-testid="masked-add">{move || tt().masked_add}</button>
                <button
                    type="button"
                    data-testid="masked-ask"
                    disabled=move || problem().is_some() || !state.can_predict() || game.with(|g| g.asking)
                    on:click=move |_| {
                        game.update(|g| g.text = draft.get_untracked());
                        state.ask_fill();
                    }
                >
                    {move || tt().masked_ask}
                </button>
                <span class="muted" role="status">{move || problem().or_else(|| game.with(|g| g.asking).then(|| tt().game_thinking))}</span>
            </form>
            <div hidden=move || game.with(|g| g.result.is_none())>
                <h3>{move || tt().masked_bars}</h3>
                <ol class="bars" data-testid="masked-bars" data-on-gpu=move || game.with(|g| g.result.as_ref().is_some_and(|r| r.on_gpu).to_string())>
                    {move || {
                        let (scores, proposed) = game.with(|g| {
                            g.result.as_ref().map(|r| (r.scores.clone(), r.proposed.clone())).unwrap_or_default()
                        });
                        scores
                            .into_iter()
                            .map(|(word, logprob, prob)| {
                                let by_model = proposed.contains(&word) && !game.with(|g| g.candidates.contains(&word));
                                let width = format!("width: {:.1}%", (prob * 100.0).clamp(0.5, 100.0));
                                let label = word.clone();
                                view! {
                                    <li class="bar-row" class:proposed=by_model data-word=word data-prob=prob.to_string() data-logprob=logprob.to_string()>
                                        <code>{label}</code>
                                        <span class="bar"><span style=width></span></span>
                                        <span class="num">{lang().percent_precise(prob as f32)}</span>
                                        <span class="tag">{by_model.then(|| tt().masked_proposed)}</span>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ol>
                <button type="button" class="secondary" data-testid="masked-look" on:click=move |_| look()>
                    {move || tt().masked_look}
                </button>
            </div>
        </section>
    }
}
