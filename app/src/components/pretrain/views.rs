//! The pre-training lab's views: the loss curves, the writer (a beginning, a temperature, the next
//! letter) and each head's attention on the last passage read.

use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::Lab;
use crate::draw::{heads_pixels, put_pixels};
use crate::i18n::Lang;
use crate::pretrain::PretrainRequest;
use crate::state::AppState;

/// Curves' drawing box (SVG units).
const W: f32 = 600.0;
const H: f32 = 220.0;
const PAD: f32 = 34.0;

/// Held-out (solid) and training (dashed) losses over the steps, and the letter frequencies' line.
#[component]
pub(super) fn Curves(lab: Lab, lang: Signal<Lang>) -> impl IntoView {
    let rt = move || lang.get().rt();
    let drawn = move || {
        lab.training.with(|t| {
            let (steps, lo, hi) = t.frame();
            let x = move |s: usize| PAD + (W - PAD - 8.0) * s as f32 / steps as f32;
            let y = move |v: f32| 8.0 + (H - PAD - 8.0) * (hi - v) / (hi - lo).max(1e-3);
            let line = |pts: &[(usize, f32)]| {
                pts.iter().map(|&(s, v)| format!("{:.1},{:.1}", x(s), y(v))).collect::<Vec<_>>().join(" ")
            };
            let letters = t.ready.as_ref().and_then(|r| r.unigram_loss).map(|u| y(u as f32));
            let ticks: Vec<f32> = (lo as i32..=hi as i32).map(|v| v as f32).collect();
            (
                line(&t.held_out),
                line(&t.train),
                letters,
                ticks.into_iter().map(|v| (y(v), v)).collect::<Vec<_>>(),
                steps,
            )
        })
    };
    view! {
        <svg
            class="pretrain-curves"
            data-testid="pretrain-curves"
            viewBox=format!("0 0 {W} {H}")
            role="img"
            aria-label=move || rt().curves
            data-held-out=move || lab.training.with(|t| serde_json::to_string(&t.held_out).unwrap_or_default())
        >
            {move || {
                let (held, train, letters, ticks, steps) = drawn();
                view! {
                    {ticks.into_iter().map(|(y, v)| view! {
                        <line x1=PAD x2=W - 8.0 y1=y y2=y class="grid"></line>
                        <text x=PAD - 6.0 y=y + 4.0 text-anchor="end" class="tick">{v.to_string()}</text>
                    }).collect_view()}
                    <text x=W - 8.0 y=H - 10.0 text-anchor="end" class="tick">{steps.to_string()}</text>
                    <text x=PAD y=H - 10.0 class="tick">"0"</text>
                    {letters.map(|y| view! { <line x1=PAD x2=W - 8.0 y1=y y2=y class="letters"></line> })}
                    <polyline points=train class="train"></polyline>
                    <polyline points=held class="held"></polyline>
                }
            }}
        </svg>
        <p class="legend">
            <span class="key held"></span>{move || rt().legend_held_out}" "
            <span class="key train"></span>{move || rt().legend_train}" "
            <span class="key letters"></span>{move || rt().legend_letters}
        </p>
    }
}

/// A beginning, a temperature, and *Write*.
#[component]
pub(super) fn Writer(lab: Lab, state: AppState) -> impl IntoView {
    let lang = state.lang;
    let rt = move || lang.get().rt();
    // The next letters follow the beginning as it is typed or clicked, and the model as it learns.
    Effect::new(move |_| {
        let prompt = lab.prompt.get();
        lab.training.with(|t| (t.run, t.samples.first().map(|s| s.step)));
        lab.send(PretrainRequest::Next(prompt));
    });
    let write = move || {
        lab.send(PretrainRequest::Write {
            prompt: lab.prompt.get_untracked(),
            temperature: lab.temperature.get_untracked(),
            count: 200,
        })
    };
    view! {
        <form class="controls" on:submit=move |ev| { ev.prevent_default(); write(); }>
            <label>
                {move || rt().prompt}
                <input data-testid="pretrain-prompt" prop:value=move || lab.prompt.get() on:input=move |ev| lab.prompt.set(event_target_value(&ev))/>
            </label>
            <label>
                {move || rt().temperature}" "{move || lang.get().num(f64::from(lab.temperature.get()), 1)}
                <input
                    type="range"
                    min="0"
                    max="1.5"
                    step="0.1"
                    data-testid="pretrain-temperature"
                    prop:value=move || lab.temperature.get().to_string()
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse() {
                            lab.temperature.set(v);
                        }
                    }
                />
            </label>
            <button type="submit" data-testid="pretrain-write">{move || rt().write}</button>
        </form>
        <h3>{move || rt().next}</h3>
        <ol class="next-chars" data-testid="pretrain-next" data-prompt=move || lab.training.with(|t| t.next.as_ref().map(|n| n.0.clone()))>
            {move || lab.training.with(|t| t.next.as_ref().map(|(_, top)| top.iter().map(|&(c, p)| {
                let shown = match c {
                    ' ' => "␣".to_owned(),
                    '\n' => "↵".to_owned(),
                    c => c.to_string(),
                };
                view! {
                    <li data-char=c.to_string() data-prob=p.to_string()>
                        <button type="button" class="secondary" on:click=move |_| lab.prompt.update(|s| s.push(c))>
                            <b>{shown}</b>
                            <span class="bar"><span style=format!("width: {:.1}%", p * 100.0)></span></span>
                            <span class="num">{format!("{:.0} %", p * 100.0)}</span>
                        </button>
                    </li>
                }
            }).collect_view()))}
        </ol>
        <p class="muted">{move || rt().next_hint}</p>
        <p>
            <button type="button" class="secondary" data-testid="pretrain-play" on:click=move |_| {
                // The beginning typed here, else the game's own text, else the usual opening.
                let typed = lab.prompt.get_untracked();
                let game = state.teach.game.with_untracked(|g| g.text());
                let text = [typed, game].into_iter().find(|t| !t.trim().is_empty());
                state.play_with_tiny(text.unwrap_or_else(|| rt().play_start.to_owned()));
            }>
                {move || rt().play}
            </button>
        </p>
    }
}

/// Each head of one block on the last passage the model read while writing.
#[component]
pub(super) fn Attention(lab: Lab, lang: Signal<Lang>) -> impl IntoView {
    let rt = move || lang.get().rt();
    let canvas = NodeRef::<Canvas>::new();
    let latest =
        move || lab.training.with(|t| t.samples.first().map(|s| (s.attention.clone(), s.window.clone(), s.shape)));
    Effect::new(move |_| {
        let latest = latest();
        let Some(canvas) = canvas.get() else { return };
        let Some((attention, window, (layers, heads))) = latest else {
            put_pixels(canvas.unchecked_ref(), 0, 0, &[]);
            return;
        };
        let len = window.chars().count();
        let layer = lab.layer.get().min(layers.saturating_sub(1));
        let per_layer = heads * len * len;
        let slice = attention.get(layer * per_layer..(layer + 1) * per_layer).unwrap_or(&[]);
        let (w, h, px) = heads_pixels(slice, heads, len, 4);
        put_pixels(canvas.unchecked_ref(), w, h, &px);
    });
    view! {
        <div class="pretrain-attention">
            <h3>{move || rt().attention}</h3>
            <label>
                {move || rt().layer}
                <select data-testid="pretrain-layer" prop:value=move || lab.layer.get().to_string() on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse() {
                        lab.layer.set(v);
                    }
                }>
                    {move || (0..latest().map_or(1, |l| l.2 .0)).map(|l| view! { <option value=l.to_string()>{(l + 1).to_string()}</option> }).collect_view()}
                </select>
            </label>
            <canvas node_ref=canvas data-testid="pretrain-attention" class="pixelated"></canvas>
            <p class="muted">
                {move || rt().attention_hint}" "
                {move || latest().map(|(_, _, (_, heads))| format!("{} 1 → {heads}", rt().head))}
            </p>
            <pre class="window" data-testid="pretrain-window">{move || latest().map(|l| l.1)}</pre>
        </div>
    }
}
