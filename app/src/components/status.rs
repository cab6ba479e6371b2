//! What this machine offers: where the engine runs, the GPU found, the model (download progress, open
//! another GGUF file).

use leptos::prelude::*;

use super::input_file;
use crate::state::{AppState, ModelState};

/// One line while the model is not ready (loading with its progress, or why it failed), for the views
/// that need it away from the status panel (the lesson, the game), with the engine's last notice.
#[component]
pub fn ModelLine(state: AppState) -> impl IntoView {
    let t = move || state.lang.get().t();
    let text = move || match state.model.get() {
        ModelState::Ready { .. } => None,
        ModelState::Loading => Some(
            state
                .progress
                .get()
                .map(|p| state.lang.get().progress(p.loaded, p.total, None))
                .unwrap_or_else(|| t().loading.to_owned()),
        ),
        ModelState::Failed(message) => Some(format!("{}: {message}", t().load_failed)),
    };
    view! {
        <p class="model-line muted" data-testid="model-line" role="status" hidden=move || text().is_none()>
            {move || format!("{} — {}", t().model_label, text().unwrap_or_default())}
        </p>
        // What the engine said went wrong last (a question too long for the context, …), here as in the chat.
        <p class="error" data-testid="notice-line" role="alert" hidden=move || state.notice.with(Option::is_none)>
            {move || state.notice.get()}
        </p>
    }
}

/// The "this machine" panel.
#[component]
pub fn SystemStatus(state: AppState) -> impl IntoView {
    let t = move || state.lang.get().t();
    let progress_text = move || {
        state.progress.get().map(|p| {
            let elapsed_s = (js_sys::Date::now() - p.started_ms) / 1000.0;
            let rate = (elapsed_s > 0.5 && p.loaded > 0).then(|| p.loaded as f64 / 1e6 / elapsed_s);
            state.lang.get().progress(p.loaded, p.total, rate)
        })
    };
    let fraction = move || state.progress.get().filter(|p| p.total > 0).map(|p| p.loaded as f64 / p.total as f64);
    view! {
        <section class="status panel" aria-labelledby="status-title">
            <h2 id="status-title">{move || t().machine}</h2>
            <dl>
                <dt>{move || t().engine_runs_on}</dt>
                <dd data-testid="engine-backend">
                    {move || match state.model.get() {
                        ModelState::Ready { placement, .. } => placement.describe(state.lang.get()),
                        _ => t().decided_later.to_owned(),
                    }}
                </dd>
                <dt>{move || t().gpu_found}</dt>
                <dd data-testid="compute-backend">
                    {move || match state.compute.get() {
                        None => t().looking_for_gpu.to_owned(),
                        Some(backend) => backend.label(),
                    }}
                </dd>
                <dt>{move || t().model_label}</dt>
                <dd data-testid="model-status">
                    {move || match state.model.get() {
                        ModelState::Loading => progress_text().unwrap_or_else(|| t().loading.to_owned()),
                        ModelState::Ready { name, bytes, from_cache, .. } => {
                            state.lang.get().model_ready(&name, bytes, from_cache)
                        }
                        ModelState::Failed(message) => format!("{}: {message}", t().load_failed),
                    }}
                </dd>
            </dl>
            {move || match state.model.get() {
                ModelState::Ready { card, .. } => {
                    let lang = state.lang.get();
                    let rows = lang
                        .card_rows(&card)
                        .into_iter()
                        .map(|(label, value)| view! { <dt>{label}</dt><dd>{value}</dd> })
                        .collect_view();
                    Some(view! {
                        <details class="model-card" data-testid="model-card" data-parameters=card.parameters>
                            <summary>{lang.card_title()}</summary>
                            <dl>{rows}</dl>
                        </details>
                    })
                }
                _ => None,
            }}
            <div class="loading" hidden=move || state.progress.get().is_none()>
                <progress
                    data-testid="model-progress"
                    max="1"
                    prop:value=move || fraction().unwrap_or(0.0)
                ></progress>
                <span>{progress_text}</span>
                <p class="muted" data-testid="model-estimate" hidden=move || state.progress.with(|p| p.as_ref().is_none_or(|p| p.estimate.is_none()))>
                    {move || state.progress.get().and_then(|p| p.estimate).map(|e| state.lang.get().estimate(&e))}
                </p>
            </div>
            <p class="error" data-testid="load-error" role="alert" hidden=move || state.load_error.get().is_none()>
                {move || {
                    let ready = matches!(state.model.get(), ModelState::Ready { .. });
                    state
                        .load_error
                        .get()
                        .map(|e| {
                            if ready {
                                format!("{}: {e} ({}).", t().load_failed, t().still_loaded)
                            } else {
                                format!("{}: {e}.", t().load_failed)
                            }
                        })
                        .unwrap_or_default()
                }}
            </p>
            <label class="button secondary file">
                <input
                    type="file"
                    accept=".gguf"
                    data-testid="open-gguf"
                    disabled=move || state.generating.get() || state.progress.get().is_some()
                    on:change=move |ev| {
                        if let Some(file) = input_file(&ev) {
                            state.load_file(&file);
                        }
                    }
                />
                {move || t().open_gguf}
            </label>
            <span class="muted">" "{move || t().drop_hint}</span>
        </section>
    }
}
