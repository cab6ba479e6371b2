//! What this machine offers: the compute backend the engine found and the state of the model.

use leptos::prelude::*;

use crate::state::{AppState, ModelState};

/// The "this machine" panel.
#[component]
pub fn SystemStatus(state: AppState) -> impl IntoView {
    view! {
        <section class="status" aria-label="This machine">
            <h2>"This machine"</h2>
            <dl>
                <dt>"Engine runs on"</dt>
                <dd data-testid="engine-backend">
                    {move || match state.model.get() {
                        ModelState::Ready { backend, .. } => backend,
                        _ => "decided once the model is loaded".to_owned(),
                    }}
                </dd>
                <dt>"GPU found"</dt>
                <dd data-testid="compute-backend">
                    {move || match state.compute.get() {
                        None => "looking for a GPU…".to_owned(),
                        Some(backend) => backend.label(),
                    }}
                </dd>
                <dt>"Model"</dt>
                <dd data-testid="model-status">
                    {move || match state.model.get() {
                        ModelState::Loading { loaded, total } if total > 0 => {
                            format!("loading… {:.0} / {:.0} MB", loaded as f64 / 1e6, total as f64 / 1e6)
                        }
                        ModelState::Loading { .. } => "loading…".to_owned(),
                        ModelState::Ready { name, bytes, .. } => {
                            format!("{name}, {:.1} MB, loaded on this device", bytes as f64 / 1e6)
                        }
                        ModelState::Failed(message) => message,
                    }}
                </dd>
            </dl>
        </section>
    }
}
