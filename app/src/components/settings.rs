//! Settings: system prompt and sampling, each with a one-line explanation. They apply to the next answer.

use leptos::prelude::*;

use super::input_number;
use crate::i18n::Texts;
use crate::state::{AppState, Settings};

/// One numeric setting: label, explanation, an `<input type=number>` bound to a field.
#[component]
fn NumberSetting(
    state: AppState,
    id: &'static str,
    label: fn(&'static Texts) -> &'static str,
    hint: fn(&'static Texts) -> &'static str,
    min: &'static str,
    max: &'static str,
    step: &'static str,
    get: fn(&Settings) -> String,
    set: fn(&mut Settings, f64),
) -> impl IntoView {
    let t = move || state.lang.get().t();
    view! {
        <div class="setting">
            <label for=id>{move || label(t())}</label>
            <input
                id=id
                data-testid=id
                type="number"
                min=min
                max=max
                step=step
                prop:value=move || state.settings.with(get)
                on:change=move |ev| {
                    if let Some(x) = input_number::<f64>(&ev) {
                        state.settings.update(|s| set(s, x));
                    }
                }
            />
            <small>{move || hint(t())}</small>
        </div>
    }
}

/// The settings panel.
#[component]
pub fn SettingsPanel(state: AppState) -> impl IntoView {
    let t = move || state.lang.get().t();
    view! {
        <details class="settings panel" data-testid="settings">
            <summary>
                <h2>{move || t().settings}</h2>
            </summary>
            <div class="setting wide">
                <label for="system-prompt">{move || t().system_prompt}</label>
                <textarea
                    id="system-prompt"
                    data-testid="system-prompt"
                    rows="2"
                    prop:value=move || state.settings.with(|s| s.system_prompt.clone())
                    on:change=move |ev| state.settings.update(|s| s.system_prompt = event_target_value(&ev))
                ></textarea>
                <small>{move || t().system_prompt_hint}</small>
            </div>
            <NumberSetting
                state=state
                id="temperature"
                label=|t| t.temperature
                hint=|t| t.temperature_hint
                min="0"
                max="2"
                step="0.1"
                get=|s| format!("{}", s.temperature)
                set=|s, x| s.temperature = x.clamp(0.0, 2.0) as f32
            />
            <NumberSetting
                state=state
                id="top-k"
                label=|t| t.top_k
                hint=|t| t.top_k_hint
                min="0"
                max="200"
                step="1"
                get=|s| s.top_k.to_string()
                set=|s, x| s.top_k = x.clamp(0.0, 49152.0) as usize
            />
            <NumberSetting
                state=state
                id="top-p"
                label=|t| t.top_p
                hint=|t| t.top_p_hint
                min="0.05"
                max="1"
                step="0.05"
                get=|s| format!("{}", s.top_p)
                set=|s, x| s.top_p = x.clamp(0.05, 1.0) as f32
            />
            <NumberSetting
                state=state
                id="max-tokens"
                label=|t| t.max_tokens
                hint=|t| t.max_tokens_hint
                min="1"
                max="2048"
                step="1"
                get=|s| s.max_tokens.to_string()
                set=|s, x| s.max_tokens = x.clamp(1.0, 2048.0) as usize
            />
            <NumberSetting
                state=state
                id="seed"
                label=|t| t.seed
                hint=|t| t.seed_hint
                min="0"
                max="4294967295"
                step="1"
                get=|s| s.seed.to_string()
                set=|s, x| s.seed = x.clamp(0.0, u32::MAX as f64) as u64
            />
            <div class="setting check">
                <label>
                    <input
                        type="checkbox"
                        data-testid="trace"
                        prop:checked=move || state.settings.with(|s| s.trace)
                        on:change=move |ev| state.settings.update(|s| s.trace = event_target_checked(&ev))
                    />
                    {move || t().trace}
                </label>
                <small>{move || t().trace_hint}</small>
            </div>
            <button type="button" class="secondary" on:click=move |_| state.settings.set(Settings::default())>
                {move || t().reset}
            </button>
        </details>
    }
}
