//! The one bridge to the engine worker: started with the page, watched until it answers, restarted on
//! the user's word; every request of the page goes through [`AppState::send`].

use gloo_worker::Spawnable;
use leptos::prelude::*;

use super::{AppState, ENGINE_SILENCE_MS};
use crate::protocol::Request;
use crate::worker::EngineWorker;

impl AppState {
    /// Starts the engine worker, asks it for the compute backend and the default model, and watches
    /// that it answers.
    pub(super) fn spawn_engine(self) {
        let bridge = EngineWorker::spawner()
            .callback(move |response| self.on_response(response))
            .with_loader(true)
            .as_module(false)
            .spawn(crate::engine_worker_url());
        self.bridge.set_value(Some(bridge));
        self.engine_silent.set(false);
        self.send(Request::ProbeCompute);
        self.load_default_model();
        let spawned = self.compute_tick.get_untracked();
        gloo_timers::callback::Timeout::new(ENGINE_SILENCE_MS, move || {
            // Still no word from this worker (a newer one resets the watch).
            if self.compute.get_untracked().is_none() && self.compute_tick.get_untracked() == spawned {
                web_sys::console::warn_1(&"the engine worker has not answered yet".into());
                self.engine_silent.set(true);
            }
        })
        .forget();
    }

    /// Ends a worker that never answered and starts a new one (the user asked for it).
    pub fn restart_engine(&self) {
        self.compute_tick.update(|n| *n += 1);
        // Dropping the only bridge ends the old worker.
        self.bridge.set_value(None);
        self.spawn_engine();
    }

    /// Sends a request of the *Thoughts* view to the engine worker.
    pub fn thoughts(&self, request: crate::thoughts::ThoughtsRequest) {
        self.teach.thoughts.update(|t| t.sent(&request));
        self.send(Request::Thoughts(request));
    }

    pub(super) fn send(&self, request: Request) {
        self.bridge.with_value(|b| {
            if let Some(bridge) = b {
                bridge.send(request);
            }
        });
    }
}
