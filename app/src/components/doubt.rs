//! The hallucination lab: one question asked three times with three seeds, each answer with the words
//! that the answers do not all say highlighted and a confidence track (each token's probability as a
//! bar, the entropy as a line). The worker writes; `crate::doubt` keeps and compares; this draws.

use leptos::prelude::*;

use crate::doubt::Answer;
use crate::state::AppState;

/// Entropy at the top of the track, in nats (higher values are drawn there).
const TRACK_ENTROPY: f32 = 5.0;
/// The track's height in SVG units, and one token's width.
const TRACK_H: f32 = 60.0;
const TOKEN_W: f32 = 6.0;

/// The comma-separated list a `data-` attribute carries for the tests.
fn listed(values: impl Iterator<Item = f32>) -> String {
    values.map(|v| format!("{v:.5}")).collect::<Vec<_>>().join(",")
}

/// One answer's confidence track.
fn track(answer: &Answer) -> impl IntoView {
    let n = answer.tokens.len().max(1);
    let width = n as f32 * TOKEN_W;
    let bars = answer
        .tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let h = (t.prob.clamp(0.0, 1.0) * TRACK_H).max(1.0);
            let style = format!("--p: {:.3}", t.prob);
            view! {
                <rect x=i as f32 * TOKEN_W y=TRACK_H - h width=TOKEN_W - 1.0 height=h style=style>
                    <title>{format!("{} · p = {:.2} · H = {:.2}", t.piece, t.prob, t.entropy)}</title>
                </rect>
            }
        })
        .collect_view();
    let line = answer
        .tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| t.entropy.is_finite())
        .map(|(i, t)| {
            let y = TRACK_H - (t.entropy / TRACK_ENTROPY).clamp(0.0, 1.0) * TRACK_H;
            format!("{:.1},{y:.1}", i as f32 * TOKEN_W + TOKEN_W / 2.0)
        })
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <svg class="track" data-testid="doubt-track" viewBox=format!("0 0 {width} {TRACK_H}") preserveAspectRatio="none" role="img">
            {bars}
            <polyline points=line></polyline>
        </svg>
    }
}

/// The hallucination lab's panel.
#[component]
pub fn DoubtPanel(state: AppState) -> impl IntoView {
    let dt = move || state.lang.get().dt();
    let lang = move || state.lang.get();
    let doubt = state.teach.doubt;
    let draft = RwSignal::new(String::new());
    // The box shows the question asked (a link's, a lesson step's) until the class types another.
    Effect::new(move |_| {
        let question = doubt.with(|d| d.question.clone());
        if !question.is_empty() {
            draft.set(question);
        } else if draft.get_untracked().is_empty() {
            draft.set(dt().presets[0].1.to_owned());
        }
    });
    let words = Memo::new(move |_| doubt.with(|d| d.words()));
    view! {
        <section class="doubt panel" data-testid="doubt" aria-labelledby="doubt-title">
            <h2 id="doubt-title">{move || dt().title}</h2>
            <p class="hint">{move || dt().intro}</p>
            <super::ModelLine state=state/>
            <div class="presets">
                {move || {
                    dt().presets
                        .iter()
                        .map(|&(label, question)| {
                            view! {
                                <button type="button" class="secondary" data-testid="doubt-preset" on:click=move |_| {
                                    draft.set(question.to_owned());
                                    state.ask_doubt(question.to_owned());
                                } disabled=move || !state.can_doubt()>{label}</button>
                            }
                        })
                        .collect_view()
                }}
            </div>
            <form class="doubt-form" on:submit=move |ev| {
                ev.prevent_default();
                state.ask_doubt(draft.get_untracked());
            }>
                <textarea
                    rows="2"
                    data-testid="doubt-question"
                    aria-label=move || dt().question
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                ></textarea>
                <label>
                    {move || dt().temperature}" "
                    <input type="number" min="0" max="2" step="0.1" data-testid="doubt-temperature"
                        prop:value=move || doubt.with(|d| d.temperature.to_string())
                        on:change=move |ev| {
                            if let Ok(t) = event_target_value(&ev).parse::<f32>() {
                                doubt.update(|d| d.temperature = t.clamp(0.0, 2.0));
                            }
                        }
                    />
                </label>
                <label>
                    {move || dt().seed}" "
                    <input type="number" min="0" step="1" data-testid="doubt-seed"
                        prop:value=move || doubt.with(|d| d.seed.to_string())
                        on:change=move |ev| {
                            if let Ok(s) = event_target_value(&ev).parse::<u64>() {
                                doubt.update(|d| d.seed = s);
                            }
                        }
                    />
                </label>
                <button type="submit" data-testid="doubt-ask" disabled=move || !state.can_doubt() || draft.with(|d| d.trim().is_empty())>{move || dt().ask}</button>
                <button type="button" class="stop" data-testid="doubt-stop" disabled=move || !doubt.with(|d| d.asking) on:click=move |_| state.stop()>
                    {move || lang().t().stop}
                </button>
            </form>
            <p class="muted" hidden=move || !doubt.with(|d| d.asking)>{move || dt().waiting}</p>
            <div class="doubt-answers" data-testid="doubt-answers">
                {move || {
                    let all = words.get();
                    doubt.with(|d| {
                        d.answers
                            .iter()
                            .enumerate()
                            .map(|(i, answer)| {
                                let shown = all.get(i).cloned().unwrap_or_default();
                                let ids = answer.tokens.iter().map(|t| t.id.to_string()).collect::<Vec<_>>().join(",");
                                let shared = shown.iter().map(|w| if w.shared { "1" } else { "0" }).collect::<Vec<_>>().join(",");
                                let note = answer.confidence().map(|(mean, at, lowest)| lang().confidence(mean, answer.tokens[at].piece.trim(), lowest));
                                view! {
                                    <article
                                        class="answer"
                                        class:done=answer.done
                                        data-seed=answer.seed.to_string()
                                        data-done=if answer.done { "true" } else { "false" }
                                        data-text=answer.text()
                                        data-ids=ids
                                        data-probs=listed(answer.tokens.iter().map(|t| t.prob))
                                        data-entropies=listed(answer.tokens.iter().map(|t| t.entropy))
                                        data-shared=shared
                                    >
                                        <h3>{lang().answer_title(i + 1, answer.seed)}</h3>
                                        <p class="doubt-text">
                                            {shown.into_iter().map(|w| view! { <span class:differ=!w.shared>{w.text}</span> }).collect_view()}
                                        </p>
                                        {track(answer)}
                                        <p class="muted">{note}</p>
                                    </article>
                                }
                            })
                            .collect_view()
                    })
                }}
            </div>
            <p class="hint">{move || dt().track_hint}</p>
            <p class="hint">
                {move || dt().disagree_hint}" "
                {move || doubt.with(|d| d.facts()).map(|(facts, differ)| lang().disagreements(differ, facts))}
            </p>
            <p class="moral"><strong>{move || dt().moral}</strong></p>
        </section>
    }
}
