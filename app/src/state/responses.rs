//! What each of the engine worker's answers changes on the page.

use leptos::prelude::*;

use super::*;

impl AppState {
    pub(super) fn on_response(&self, response: Response) {
        if !matches!(response, Response::Token { .. }) {
            self.show_streamed();
        }
        match response {
            Response::Compute(backend) => {
                self.engine_silent.set(false);
                self.compute.set(Some(backend));
            }
            Response::ModelProgress { loaded, total } => self.progress.update(|p| match p {
                Some(p) => (p.loaded, p.total) = (loaded, total),
                None => *p = Some(Progress { loaded, total, started_ms: js_sys::Date::now(), estimate: None }),
            }),
            Response::ModelEstimate(estimate) => self.progress.update(|p| match p {
                Some(p) => p.estimate = Some(estimate),
                None => {
                    let started_ms = js_sys::Date::now();
                    *p = Some(Progress { loaded: 0, total: 0, started_ms, estimate: Some(estimate) })
                }
            }),
            Response::ModelReady { name, n_layer, n_head, bytes, backend, from_cache, card } => {
                self.progress.set(None);
                self.load_error.set(None);
                self.revoke_blob();
                self.explorer.shape.set((n_layer, n_head));
                self.explorer.layer.update(|l| *l = (*l).min(n_layer.saturating_sub(1)));
                if matches!(self.explorer.head.get_untracked(), HeadPick::One(h) if h >= n_head) {
                    self.explorer.head.set(HeadPick::One(0));
                }
                self.explorer.preview.set(None);
                self.requests.update_value(|r| *r = ViewRequests::default());
                self.model.set(ModelState::Ready { name, bytes, placement: backend, from_cache, card });
                self.teach.model_ready_at.set(Some(js_sys::Date::now()));
                // The worker dropped the hidden states and the autoencoder of the model before.
                self.teach.thoughts.update(|t| *t = crate::thoughts::Thoughts { kept: t.kept, ..Default::default() });
                self.ask_queued();
                if self.teach.game.with_untracked(|g| g.prediction.is_none()) {
                    self.predict(None);
                }
                if self.teach.masked.with_untracked(|m| m.result.is_none() && m.problem().is_none()) {
                    self.ask_fill();
                }
                if self.teach.words.with_untracked(|w| w.map.is_none() && !w.chosen.is_empty()) {
                    self.ask_word_map();
                }
                self.ask_pending_doubt();
            }
            Response::ModelFailed(message) => {
                self.progress.set(None);
                self.revoke_blob();
                if matches!(self.model.get_untracked(), ModelState::Loading) {
                    self.model.set(ModelState::Failed(message.clone()));
                }
                self.load_error.set(Some(message));
            }
            Response::Notice(message) => self.notice.set(Some(message)),
            Response::Prompt(pieces) => {
                let settings = self.settings.get_untracked();
                self.exchange.set(Exchange {
                    prompt_len: pieces.len(),
                    tokens: pieces.into_iter().map(|piece| TokenInfo { piece, prob: None, top: Vec::new() }).collect(),
                    traced: settings.trace,
                    read: false,
                    drawn_with: Some((settings.temperature, settings.top_k, settings.top_p)),
                })
            }
            Response::Token { piece, text, prob, top } => {
                self.on_token(text, TokenInfo { piece, prob: Some(prob), top });
            }
            Response::Done { tok_per_s, prompt, reused, .. } => {
                self.generating.set(false);
                self.speed.set(Some(Speed { tok_per_s, prompt, reused }));
                self.conversation.update(Conversation::drop_empty_answers);
                self.sync_views();
                self.ask_queued();
            }
            Response::Prediction(prediction) => self.on_prediction(prediction, crate::game::Player::Model),
            Response::Read(pieces) => self.on_read(pieces),
            Response::Continuation { slot, text, done } => {
                self.teach.game.update(|g| g.extend_answer(slot, &text, done));
            }
            Response::Filled(filled) => self.on_filled(filled),
            Response::LensTokens(pieces) => self.teach.lens.update(|l| l.tokens(pieces)),
            Response::LensLayer { layer, cells } => self.teach.lens.update(|l| l.row(layer, cells)),
            Response::LensDone { on_gpu } => self.teach.lens.update(|l| l.done(js_sys::Date::now(), on_gpu)),
            Response::WordMap(map) => self.teach.words.update(|w| w.map = Some(map)),
            Response::Nearest(nearest) => self.teach.words.update(|w| w.nearest = Some(nearest)),
            Response::InContext { asked, word, cosines, on_gpu } => self.teach.words.update(|w| {
                w.accept_in_context(asked, word, cosines, on_gpu);
            }),
            Response::DoubtToken { slot, token, done } => self.on_doubt_token(slot, token, done),
            Response::DoubtDone => self.on_doubt_done(),
            Response::Thoughts(crate::thoughts::ThoughtsResponse::Saved(bytes, false)) => {
                crate::draw::download_bytes(&bytes, "application/octet-stream", "glassbox-thoughts.sae")
            }
            Response::Thoughts(crate::thoughts::ThoughtsResponse::Saved(bytes, true)) => {
                let thoughts = self.teach.thoughts;
                wasm_bindgen_futures::spawn_local(async move {
                    let kept = crate::thoughts_store::keep(&bytes).await;
                    thoughts.update(|t| match kept {
                        Ok(()) => t.kept = Some((bytes.len(), js_sys::Date::now())),
                        Err(why) => t.refused = Some(why),
                    });
                });
            }
            Response::Thoughts(r) => self.teach.thoughts.update(|t| t.take(r)),
            Response::Preferred { slot, answer } => self.on_preferred(slot, answer),
            Response::PreferDone => self.on_prefer_done(),
            Response::Continued => {
                self.generating.set(false);
                self.ask_queued();
            }
            Response::Fetched(list) => self.teach.engine_fetched.set(list),
            Response::AttentionGrid(thumbs) => {
                self.requests.update_value(|r| r.grid_in_flight = false);
                self.explorer.grid.set(thumbs);
                self.sync_views();
            }
            Response::AttentionHead(matrix) => {
                self.requests.update_value(|r| r.head_in_flight = false);
                self.explorer.matrix.set(matrix);
                self.sync_views();
            }
            Response::Error(message) => {
                self.generating.set(false);
                self.teach.thinking.set(false);
                self.teach.masked.update(|m| m.asking = false);
                self.teach.lens.update(|l| l.busy = false);
                self.teach.doubt.update(|d| d.asking = false);
                self.teach.prefer.update(|p| p.writing = false);
                self.conversation.update(Conversation::drop_empty_answers);
                self.notice.set(Some(message));
            }
        }
    }
}
