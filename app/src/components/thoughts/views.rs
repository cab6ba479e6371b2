//! The *Thoughts* view's pieces: the curves, the answers coloured by how far each token's prediction
//! moved, the plain answer read through the autoencoder, and a feature's card with steering.

use leptos::prelude::*;

use super::{steer, Choices};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::thoughts::{Thoughts, ThoughtsRequest, Way};

/// Curves' drawing box (SVG units).
const W: f32 = 600.0;
const H: f32 = 200.0;
const PAD: f32 = 34.0;

/// The fraction of variance unexplained on training batches (dashed) and held-out vectors (solid).
#[component]
pub(super) fn Curves(thoughts: RwSignal<Thoughts>, lang: Signal<Lang>) -> impl IntoView {
    let ht = move || lang.get().ht();
    let drawn = move || {
        thoughts.with(|t| {
            let steps = t.train_curve.last().map_or(1, |p| p.step).max(1);
            let x = move |s: usize| PAD + (W - PAD - 8.0) * s as f32 / steps as f32;
            let y = move |v: f32| 8.0 + (H - PAD - 8.0) * (1.0 - v.clamp(0.0, 1.0));
            let line = |pts: &[crate::thoughts::Point]| {
                pts.iter().map(|p| format!("{:.1},{:.1}", x(p.step), y(p.value))).collect::<Vec<_>>().join(" ")
            };
            (line(&t.train_curve), line(&t.held_out_curve), steps, [0.0f32, 0.25, 0.5, 0.75, 1.0].map(|v| (y(v), v)))
        })
    };
    view! {
        <svg class="pretrain-curves" data-testid="thoughts-curves" viewBox=format!("0 0 {W} {H}") role="img" aria-label=move || ht().curves>
            {move || {
                let (train, held, steps, ticks) = drawn();
                view! {
                    {ticks.into_iter().map(|(y, v)| view! {
                        <line x1=PAD x2=W - 8.0 y1=y y2=y class="grid"></line>
                        <text x=PAD - 6.0 y=y + 4.0 text-anchor="end" class="tick">{v.to_string()}</text>
                    }).collect_view()}
                    <text x=W - 8.0 y=H - 10.0 text-anchor="end" class="tick">{steps.to_string()}</text>
                    <text x=PAD y=H - 10.0 class="tick">"0"</text>
                    <polyline points=train class="train"></polyline>
                    <polyline points=held class="held"></polyline>
                }
            }}
        </svg>
        <p class="legend">
            <span class="key held"></span>{move || ht().legend_held_out}" "
            <span class="key train"></span>{move || ht().legend_train}" — "
            {move || ht().curves}
        </p>
        <p class="muted">{move || ht().curves_hint}</p>
    }
}

/// A token's text with its line breaks shown as ↵ (an answer of blank lines stays one line high).
fn visible_breaks(text: &str) -> String {
    text.replace("\r\n", "↵").replace('\n', "↵")
}

/// The shade of a token whose prediction moved by `kl` nats: none at 0, full at 2 or more.
fn shade(kl: f32) -> String {
    format!("background: rgba(214, 69, 65, {:.2})", (kl / 2.0).clamp(0.0, 1.0) * 0.85)
}

/// The answers, one per way, each token shaded by its KL, underlined where the token changed.
#[component]
pub(super) fn Answers(thoughts: RwSignal<Thoughts>, lang: Signal<Lang>, prompt: Signal<String>) -> impl IntoView {
    view! {
        <div class="thought-answers" data-testid="thoughts-answers">
            {move || Way::ALL.iter().enumerate().filter_map(|(i, &way)| {
                let tokens = thoughts.with(|t| t.answers[i].clone());
                if tokens.is_empty() {
                    return None;
                }
                let summary = thoughts.with(|t| t.summary(way)).map(|(kl, changed, n)| lang.get().thoughts_summary(kl, changed, n));
                let mean_kl = thoughts.with(|t| t.summary(way)).map_or(0.0, |s| s.0);
                Some(view! {
                    <div class="thought-answer" data-testid=format!("thoughts-answer-{i}") data-way=format!("{way:?}") data-kl=mean_kl>
                        <h4>{lang.get().way(way)}</h4>
                        <p class="tokens">
                            <b>{prompt.get()}</b>
                            {tokens.into_iter().map(|t| view! {
                                <span class="token" class:changed=t.changed style=shade(t.kl) title=format!("KL {:.3}", t.kl) data-kl=t.kl>
                                    {visible_breaks(&t.text)}
                                </span>
                            }).collect_view()}
                        </p>
                        <p class="muted">{summary}</p>
                    </div>
                })
            }).collect_view()}
        </div>
    }
}

/// The plain answer's tokens through the autoencoder: error and strongest features under each.
#[component]
pub(super) fn Reading(
    thoughts: RwSignal<Thoughts>,
    lang: Signal<Lang>,
    choices: Choices,
    state: AppState,
) -> impl IntoView {
    let ht = move || lang.get().ht();
    view! {
        <div hidden=move || thoughts.with(|t| t.reading.is_empty())>
            <h4>{move || ht().reading}</h4>
            <p class="muted">{move || ht().reading_hint}</p>
            <div class="thought-reading" data-testid="thoughts-reading">
                {move || thoughts.with(|t| t.reading.clone()).into_iter().map(|r| view! {
                    <div class="read-token" data-error=r.error>
                        <span class="token">{visible_breaks(&r.text)}</span>
                        <span class="muted">{format!("{:.0} %", r.error * 100.0)}</span>
                        {r.features.into_iter().map(|(j, z)| view! {
                            <button
                                type="button"
                                class="link feature"
                                title=format!("{z:.1}")
                                on:click=move |_| {
                                    choices.feature.set(j as usize);
                                    state.thoughts(ThoughtsRequest::Card(j as usize));
                                }
                            >
                                {format!("#{j}")}
                            </button>
                        }).collect_view()}
                    </div>
                }).collect_view()}
            </div>
        </div>
    }
}

/// One feature: the tokens that light it most, and writing with it added.
#[component]
pub(super) fn Card(
    thoughts: RwSignal<Thoughts>,
    lang: Signal<Lang>,
    choices: Choices,
    state: AppState,
) -> impl IntoView {
    let ht = move || lang.get().ht();
    let c = choices;
    let no_sae = move || thoughts.with(|t| t.ready.is_none());
    view! {
        <div class="controls">
            <label>
                {move || ht().feature}
                <input
                    type="number"
                    min="0"
                    data-testid="thoughts-feature"
                    prop:value=move || c.feature.get().to_string()
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse() {
                            c.feature.set(v);
                        }
                    }
                />
            </label>
            <button type="button" class="secondary" data-testid="thoughts-show" disabled=no_sae
                on:click=move |_| state.thoughts(ThoughtsRequest::Card(c.feature.get_untracked()))>
                {move || ht().show}
            </button>
            <label>
                {move || ht().strength}
                <input
                    type="range"
                    min="-8"
                    max="24"
                    step="1"
                    data-testid="thoughts-strength"
                    prop:value=move || c.strength.get().to_string()
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse() {
                            c.strength.set(v);
                        }
                    }
                />
                <output>{move || c.strength.get().to_string()}</output>
            </label>
            <button type="button" data-testid="thoughts-steer" disabled=move || no_sae() || thoughts.with(|t| t.writing)
                on:click=move |_| steer(state, c, lang.get_untracked())>
                {move || ht().steer}
            </button>
        </div>
        <p class="muted">{move || ht().steer_hint}</p>
        <div hidden=move || thoughts.with(|t| t.card.is_none())>
            <p class="muted">{move || ht().card_hint}</p>
            <ol class="thought-card" data-testid="thoughts-card" data-feature=move || thoughts.with(|t| t.card.as_ref().map(|c| c.0))>
                {move || thoughts.with(|t| t.card.clone()).map(|(_, top)| top.into_iter().map(|(before, token, z)| view! {
                    <li>
                        <span class="muted">{before}</span>
                        <mark>{token}</mark>
                        <span class="muted">{format!(" {z:.1}")}</span>
                    </li>
                }).collect_view())}
            </ol>
        </div>
    }
}
