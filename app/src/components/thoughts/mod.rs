//! The *Thoughts* view (`#thoughts`): read a text and keep one layer's hidden states, train a sparse
//! autoencoder on them, let the model write with that layer squeezed through it, read its tokens
//! through it, and look at (and steer with) one feature. The engine's worker does the work
//! (`worker/thoughts.rs`); [`crate::thoughts::Thoughts`] keeps what it said.

use leptos::prelude::*;

use crate::i18n::Lang;
use crate::state::{AppState, ModelState};
use crate::thoughts::{ThoughtsRequest, ThoughtsResponse};

mod views;

use views::{Answers, Card, Curves, Reading};

/// Tokens per answer.
const ANSWER_TOKENS: usize = 24;

/// The view's choices.
#[derive(Clone, Copy)]
pub(super) struct Choices {
    pub(super) layer: RwSignal<Option<usize>>,
    pub(super) own: RwSignal<Option<String>>,
    pub(super) expansion: RwSignal<usize>,
    pub(super) k: RwSignal<usize>,
    pub(super) prompt: RwSignal<String>,
    pub(super) feature: RwSignal<usize>,
    pub(super) strength: RwSignal<f32>,
}

/// The view.
#[component]
pub fn ThoughtsLab(state: AppState, #[prop(into)] shown: Signal<bool>) -> impl IntoView {
    let lang = Signal::derive(move || state.lang.get());
    let ht = move || lang.get().ht();
    let thoughts = state.teach.thoughts;
    let c = Choices {
        layer: RwSignal::new(None),
        own: RwSignal::new(None),
        expansion: RwSignal::new(8),
        k: RwSignal::new(32),
        prompt: RwSignal::new(String::new()),
        feature: RwSignal::new(0),
        strength: RwSignal::new(8.0),
    };
    let n_layer = move || state.explorer.shape.get().0;
    let layer = move || c.layer.get().unwrap_or(n_layer() / 3);
    let ready = move || matches!(state.model.get(), ModelState::Ready { .. });
    // Training, and a collection under way, pause while the view is not on screen (the chat needs the
    // processor) and resume on its return; the worker remembers what it paused. Sent again once a model
    // is ready, in case the worker was not there yet.
    Effect::new(move |_| {
        let _ = ready();
        state.thoughts(ThoughtsRequest::Away(!shown.get()));
    });
    // What this browser kept.
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(Some((bytes, when))) = crate::thoughts_store::kept().await {
            thoughts.update(|t| t.kept = Some((bytes.len(), when)));
        }
    });
    let collect = move |_| state.thoughts(ThoughtsRequest::Collect { layer: layer(), text: c.own.get_untracked() });
    // A lesson step reads the built-in text (unless it was read at this layer) and trains once it is read.
    let train_when_read = StoredValue::new(false);
    Effect::new(move |_| {
        if state.teach.thoughts_start.get() == 0 || !ready() {
            return;
        }
        let (read, trained) = thoughts.with_untracked(|t| {
            let read =
                matches!(&t.collected, Some(ThoughtsResponse::Collected { layer: l, done: true, .. }) if *l == layer());
            (read, t.ready.is_some())
        });
        if !read {
            train_when_read.set_value(true);
            c.own.set(None);
            state.thoughts(ThoughtsRequest::Collect { layer: layer(), text: None });
        } else if !trained {
            state.thoughts(ThoughtsRequest::Train { expansion: c.expansion.get_untracked(), k: c.k.get_untracked() });
        }
    });
    Effect::new(move |_| {
        let done = thoughts.with(|t| matches!(&t.collected, Some(ThoughtsResponse::Collected { done: true, .. })));
        // Only on screen: training starts when the class is looking.
        if done && shown.get() && train_when_read.get_value() {
            train_when_read.set_value(false);
            state.thoughts(ThoughtsRequest::Train { expansion: c.expansion.get_untracked(), k: c.k.get_untracked() });
        }
    });
    let open_file = move |ev: leptos::ev::Event| {
        crate::draw::chosen_file_bytes(&ev, move |bytes| state.thoughts(ThoughtsRequest::Load(bytes)))
    };
    let select = move |testid: &'static str, options: Vec<usize>, get: Signal<usize>, set: Callback<usize>| {
        view! {
            <select
                data-testid=testid
                prop:value=move || get.get().to_string()
                on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse() {
                        set.run(v);
                    }
                }
            >
                {options.into_iter().map(|o| view! { <option value=o.to_string()>{o.to_string()}</option> }).collect_view()}
            </select>
        }
    };
    view! {
        <section class="panel thoughts" data-testid="thoughts" aria-labelledby="thoughts-title">
            <h2 id="thoughts-title">{move || ht().title}</h2>
            <p class="intro">{move || ht().intro}</p>
            <p class="muted" data-testid="thoughts-waiting" hidden=ready>{move || ht().waiting}</p>
            <p class="link-note" role="alert" data-testid="thoughts-refused" hidden=move || thoughts.with(|t| t.refused.is_none())>
                {move || thoughts.with(|t| t.refused.as_deref().map(|why| lang.get().thoughts_refusal(why)))}
            </p>

            <h3>{move || ht().step_collect}</h3>
            <div class="controls">
                <label>
                    {move || ht().layer}
                    {move || select("thoughts-layer", (0..n_layer()).collect(), Signal::derive(layer), Callback::new(move |v| c.layer.set(Some(v))))}
                </label>
                <label>
                    {move || ht().text}
                    <select
                        data-testid="thoughts-text"
                        prop:value=move || if c.own.with(Option::is_some) { "own" } else { "built-in" }
                        on:change=move |ev| c.own.set((event_target_value(&ev) == "own").then(String::new))
                    >
                        <option value="built-in">{move || ht().built_in}</option>
                        <option value="own">{move || ht().own}</option>
                    </select>
                </label>
                <button type="button" data-testid="thoughts-collect" disabled=move || !ready() on:click=collect>
                    {move || ht().collect}
                </button>
            </div>
            <textarea
                data-testid="thoughts-own"
                rows="4"
                hidden=move || c.own.with(Option::is_none)
                placeholder=move || ht().own_placeholder
                on:input=move |ev| c.own.set(Some(event_target_value(&ev)))
            ></textarea>
            <p class="muted">{move || ht().collect_hint}</p>
            <p class="status" data-testid="thoughts-collected" role="status"
                data-vectors=move || thoughts.with(|t| match &t.collected { Some(ThoughtsResponse::Collected { vectors, .. }) => *vectors, _ => 0 })
                data-held-out=move || thoughts.with(|t| match &t.collected { Some(ThoughtsResponse::Collected { held_out, .. }) => *held_out, _ => 0 })
                data-done=move || thoughts.with(|t| matches!(&t.collected, Some(ThoughtsResponse::Collected { done: true, .. })).to_string())
            >
                {move || thoughts.with(|t| match &t.collected {
                    Some(ThoughtsResponse::Collected { layer, vectors, held_out, bytes, tokens_per_s, done }) => {
                        lang.get().thoughts_collected(*layer, *vectors, *held_out, *bytes, *tokens_per_s, *done)
                    }
                    _ => String::new(),
                })}
            </p>

            <h3>{move || ht().step_train}</h3>
            <div class="controls">
                <label>
                    {move || ht().width}
                    {select("thoughts-expansion", vec![2, 4, 8, 16], c.expansion.into(), Callback::new(move |v| c.expansion.set(v)))}
                </label>
                <label>
                    {move || ht().k}
                    {select("thoughts-k", vec![4, 8, 16, 32, 64], c.k.into(), Callback::new(move |v| c.k.set(v)))}
                </label>
                <button
                    type="button"
                    data-testid="thoughts-train"
                    disabled=move || !thoughts.with(|t| matches!(&t.collected, Some(ThoughtsResponse::Collected { done: true, .. })))
                    on:click=move |_| state.thoughts(ThoughtsRequest::Train { expansion: c.expansion.get_untracked(), k: c.k.get_untracked() })
                >
                    {move || ht().train}
                </button>
                <button
                    type="button"
                    class="secondary"
                    data-testid="thoughts-run"
                    disabled=move || thoughts.with(|t| t.ready.is_none())
                    on:click=move |_| state.thoughts(ThoughtsRequest::Run(!thoughts.with_untracked(|t| t.running())))
                >
                    {move || if thoughts.with(|t| t.running()) { ht().pause } else { ht().resume }}
                </button>
                <button type="button" class="secondary" data-testid="thoughts-save"
                    disabled=move || thoughts.with(|t| t.ready.is_none())
                    on:click=move |_| state.thoughts(ThoughtsRequest::Save { keep: false })>
                    {move || ht().save}
                </button>
                <button type="button" class="secondary" data-testid="thoughts-keep"
                    disabled=move || thoughts.with(|t| t.ready.is_none())
                    on:click=move |_| state.thoughts(ThoughtsRequest::Save { keep: true })>
                    {move || ht().keep}
                </button>
                <button type="button" class="secondary" data-testid="thoughts-open-kept"
                    hidden=move || thoughts.with(|t| t.kept.is_none())
                    disabled=move || !ready()
                    on:click=move |_| open_kept(state)>
                    {move || thoughts.with(|t| t.kept.map(|(bytes, when)| lang.get().thoughts_kept(bytes, when)))}
                </button>
                <label class="button secondary">
                    {move || ht().open}
                    <input type="file" accept=".sae" data-testid="thoughts-open" class="hidden-input" on:change=open_file/>
                </label>
            </div>
            <p class="muted" data-testid="thoughts-ready">
                {move || thoughts.with(|t| t.ready.map(|(l, w, k, loaded)| lang.get().thoughts_ready(l, w, k, loaded)))}
            </p>
            <p class="status" data-testid="thoughts-status" role="status"
                data-step=move || thoughts.with(|t| t.last.map_or(0, |p| p.step))
                data-fvu=move || thoughts.with(|t| t.train_curve.last().map(|p| p.value))
                data-held-out=move || thoughts.with(|t| t.held_out_curve.last().map(|p| p.value))
                data-speed=move || thoughts.with(|t| t.last.map(|p| p.vectors_per_s))
                data-on-gpu=move || thoughts.with(|t| t.last.map(|p| p.on_gpu.to_string()))
            >
                {move || thoughts.with(|t| {
                    let fvu = t.train_curve.last().map(|p| p.value)?;
                    let p = t.last?;
                    let active = t.active_curve.last().map_or(0.0, |p| p.value);
                    Some(lang.get().thoughts_status(&p, fvu, t.held_out_curve.last().map(|p| p.value), active))
                })}
            </p>
            <Curves thoughts=thoughts lang=lang/>
            <p class="muted">{move || ht().image_lab}</p>

            <h3>{move || ht().step_write}</h3>
            <div class="controls">
                <label class="grow">
                    {move || ht().prompt}
                    <input
                        type="text"
                        data-testid="thoughts-prompt"
                        prop:value=move || { let p = c.prompt.get(); if p.is_empty() { ht().prompt_default.to_owned() } else { p } }
                        on:input=move |ev| c.prompt.set(event_target_value(&ev))
                    />
                </label>
                <button
                    type="button"
                    data-testid="thoughts-write"
                    disabled=move || thoughts.with(|t| t.ready.is_none() || t.writing)
                    on:click=move |_| state.thoughts(ThoughtsRequest::Write { prompt: prompt_of(c, lang.get_untracked()), max_tokens: ANSWER_TOKENS, steer: None })
                >
                    {move || ht().write}
                </button>
            </div>
            <p class="muted">{move || ht().write_hint}</p>
            <Answers thoughts=thoughts lang=lang prompt=Signal::derive(move || thoughts.with(|t| t.prompt.clone()))/>
            <Reading thoughts=thoughts lang=lang choices=c state=state/>

            <h3>{move || ht().step_features}</h3>
            <Card thoughts=thoughts lang=lang choices=c state=state/>
        </section>
    }
}

/// Opens the autoencoder kept in this browser.
fn open_kept(state: AppState) {
    wasm_bindgen_futures::spawn_local(async move {
        match crate::thoughts_store::kept().await {
            Ok(Some((bytes, _))) => state.thoughts(ThoughtsRequest::Load(bytes)),
            Ok(None) => {}
            Err(why) => state.teach.thoughts.update(|t| t.refused = Some(why)),
        }
    });
}

/// The beginning to write after: what was typed, or the default one.
pub(super) fn prompt_of(c: Choices, lang: Lang) -> String {
    let typed = c.prompt.get_untracked();
    if typed.trim().is_empty() {
        lang.ht().prompt_default.to_owned()
    } else {
        typed
    }
}

/// Writes with feature `feature` added at the chosen strength.
pub(super) fn steer(state: AppState, c: Choices, lang: Lang) {
    state.thoughts(ThoughtsRequest::Write {
        prompt: prompt_of(c, lang),
        max_tokens: ANSWER_TOKENS,
        steer: Some((c.feature.get_untracked(), c.strength.get_untracked())),
    });
}
