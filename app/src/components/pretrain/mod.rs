//! The pre-training lab's page (`#pretrain`): the text and sizes, the loss curves beside the letter
//! frequencies' line, the samples' history, a prompt to write from, each head's attention on the last
//! passage read, and the figures of scale. The worker trains; [`Training`] keeps what it said.

use gloo_worker::{Spawnable, WorkerBridge};
use leptos::prelude::*;

use crate::components::{big_models, log_bars};
use crate::draw::download_bytes;
use crate::game::Player;
use crate::i18n::Lang;
use crate::pretrain::{PretrainRequest, PretrainResponse, PretrainWorker, Refusal, Setup, Text, Training};
use crate::state::{AppState, TinyModel};

mod views;

use views::{Attention, Curves, Writer};

#[derive(Clone, Copy)]
pub(super) struct Lab {
    pub(super) setup: RwSignal<Setup>,
    pub(super) training: RwSignal<Training>,
    pub(super) refused: RwSignal<Option<Refusal>>,
    pub(super) prompt: RwSignal<String>,
    pub(super) temperature: RwSignal<f32>,
    pub(super) layer: RwSignal<usize>,
    pub(super) bridge: StoredValue<Option<WorkerBridge<PretrainWorker>>, LocalStorage>,
}

impl Lab {
    pub(super) fn send(&self, request: PretrainRequest) {
        self.bridge.with_value(|b| {
            if let Some(b) = b {
                b.send(request);
            }
        });
    }

    fn start(&self) {
        self.refused.set(None);
        self.send(PretrainRequest::Start(Setup { force_gpu: crate::force_gpu(), ..self.setup.get_untracked() }));
    }

    pub(super) fn running(&self) -> bool {
        self.training.with(|t| {
            t.last.as_ref().is_none_or(|p| p.running) && t.ready.as_ref().is_some_and(|r| r.unigram_loss.is_some())
        })
    }
}

/// The pre-training lab.
#[component]
pub fn PretrainLab(state: AppState, #[prop(into)] shown: Signal<bool>) -> impl IntoView {
    let lang = move || state.lang.get();
    let rt = move || state.lang.get().rt();
    let first_text = Text::of_language(state.lang.get_untracked() == Lang::Fr);
    let lab = Lab {
        setup: RwSignal::new(Setup::new(first_text)),
        training: RwSignal::new(Training::default()),
        refused: RwSignal::new(None),
        prompt: RwSignal::new(String::new()),
        temperature: RwSignal::new(0.8),
        layer: RwSignal::new(0),
        // The next-word game asks the same worker when the tiny model plays.
        bridge: state.teach.pretrain_bridge,
    };
    let fetched = state.teach.pretrain_fetched;
    let bridge = PretrainWorker::spawner()
        .callback(move |r| match r {
            PretrainResponse::Refused(why) => lab.refused.set(Some(why)),
            PretrainResponse::Saved(bytes) => {
                download_bytes(&bytes, "application/octet-stream", "glassbox-tiny-gpt.bin")
            }
            PretrainResponse::Fetched(list) => fetched.set(list),
            PretrainResponse::Prediction(prediction) => state.on_prediction(prediction, Player::Tiny),
            PretrainResponse::Answers(texts) => state.on_tiny_answers(texts),
            other => {
                match &other {
                    PretrainResponse::Ready(ready) => {
                        lab.layer.set(0);
                        let saved = ready.unigram_loss.is_none();
                        state.on_tiny(if saved { TinyModel::Saved } else { TinyModel::Trained(0) });
                        // A game the tiny model plays starts over with the new model.
                        if state.teach.game.with_untracked(|g| g.player == Player::Tiny) {
                            let text = state.teach.game.with_untracked(|g| g.text());
                            state.start_game(text);
                        }
                    }
                    PretrainResponse::Progress(p) if lab.training.with_untracked(|t| t.run == Some(p.run)) => {
                        state.on_tiny_step(p.step);
                    }
                    _ => {}
                }
                lab.training.update(|t| {
                    t.take(&other);
                });
            }
        })
        .with_loader(true)
        .as_module(false)
        .spawn(crate::pretrain_worker_url());
    lab.bridge.set_value(Some(bridge));
    // Training starts once the engine has loaded its model (or failed to, or stayed silent): on a
    // two-core laptop the two would otherwise fight over the processor while the engine starts.
    let engine_settled =
        move || !matches!(state.model.get(), crate::state::ModelState::Loading) || state.engine_silent.get();
    let started = RwSignal::new(false);
    Effect::new(move |_| {
        if engine_settled() && !started.get_untracked() {
            started.set(true);
            lab.start();
        }
    });
    // A lesson step starts over on its text.
    Effect::new(move |_| {
        let (asked, french) = state.teach.pretrain_text.get();
        if asked > 0 {
            lab.setup.update(|s| s.text = Text::of_language(french));
            if started.get_untracked() {
                lab.start();
            }
        }
    });
    // Training pauses while the lab is not on screen (the chat needs the processor) and resumes on its
    // return; the worker remembers what it paused.
    Effect::new(move |_| lab.send(PretrainRequest::Away(!shown.get())));
    Effect::new(move |_| {
        if state.teach.fetch_tick.get() > 0 {
            lab.send(PretrainRequest::Fetched);
        }
    });

    view! {
        <section class="panel pretrain" data-testid="pretrain" aria-labelledby="pretrain-title">
            <h2 id="pretrain-title">{move || rt().title}</h2>
            <p class="intro">{move || rt().intro}</p>
            <Controls lab=lab lang=Signal::derive(lang)/>
            <p class="muted" data-testid="pretrain-waiting" hidden=move || started.get()>{move || rt().waiting}</p>
            <p class="link-note" role="alert" data-testid="pretrain-refused" hidden=move || lab.refused.with(Option::is_none)>
                {move || lab.refused.get().map(|why| lang().refusal(&why))}
            </p>
            <p class="muted" data-testid="pretrain-model" data-parameters=move || lab.training.with(|t| t.ready.as_ref().map(|r| r.parameters))>
                {move || lab.training.with(|t| t.ready.as_ref().map(|r| lang().pretrain_model(r.parameters, r.vocab, r.chars, r.memory)))}
                " "
                {move || lab.training.with(|t| t.ready.as_ref().is_some_and(|r| r.unigram_loss.is_none())).then(|| rt().loaded)}
            </p>
            <p
                class="status"
                data-testid="pretrain-status"
                role="status"
                data-run=move || lab.training.with(|t| t.run)
                data-step=move || lab.training.with(|t| t.last.as_ref().map_or(0, |p| p.step))
                data-held-out=move || lab.training.with(|t| t.held_out_now())
                data-unigram=move || lab.training.with(|t| t.ready.as_ref().and_then(|r| r.unigram_loss))
                data-speed=move || lab.training.with(|t| t.last.as_ref().map(|p| p.tokens_per_s))
                data-on-gpu=move || lab.training.with(|t| t.last.as_ref().is_some_and(|p| p.gpu.is_some()).to_string())
                data-cores=move || lab.training.with(|t| t.last.as_ref().map(|p| p.cores))
            >
                {move || lab.training.with(|t| {
                    let p = t.last.as_ref();
                    let letters = t.ready.as_ref().and_then(|r| r.unigram_loss);
                    let on = lang().trains_on(p.and_then(|p| p.gpu.as_deref()), p.map_or(1, |p| p.cores));
                    lang().pretrain_status(p.map_or(0, |p| p.step), p.map_or(0, |p| p.tokens), t.held_out_now(), letters, p.map_or(0.0, |p| p.tokens_per_s), &on)
                })}
            </p>
            <div class="pretrain-grid">
                <div>
                    <h3>{move || rt().curves}</h3>
                    <Curves lab=lab lang=Signal::derive(lang)/>
                    <p class="muted">{move || rt().curves_hint}</p>
                </div>
                <div>
                    <h3>{move || rt().samples}</h3>
                    <Writer lab=lab state=state/>
                    <ol class="pretrain-samples" data-testid="pretrain-samples">
                        {move || lab.training.with(|t| t.samples.iter().map(|s| view! {
                            <li data-step=s.step>
                                <span class="muted">{lang().after_steps(s.step)}</span>
                                <pre><b>{s.prompt.clone()}</b>{s.text.clone()}</pre>
                            </li>
                        }).collect_view())}
                    </ol>
                </div>
            </div>
            <Attention lab=lab lang=Signal::derive(lang)/>
            <div class="scale" data-testid="pretrain-scale">
                <h3>{move || rt().scale}</h3>
                {move || {
                    let t = rt();
                    let (params, tokens, flops) = lab.training.with(|tr| {
                        let p = tr.ready.as_ref().map_or(0, |r| r.parameters) as f64;
                        let n = tr.last.as_ref().map_or(0, |p| p.tokens) as f64;
                        (p, n, tr.flops())
                    });
                    let [smol, gpt3] = big_models();
                    let rows = [
                        (t.parameters, [Some(params), Some(smol.0), Some(gpt3.0)], false),
                        (t.tokens_read, [Some(tokens), Some(smol.1), Some(gpt3.1)], false),
                        (t.compute, [Some(flops), Some(smol.2), Some(gpt3.2)], true),
                    ];
                    log_bars(lang(), [t.this_model, "SmolLM2-135M", "GPT-3"], &rows)
                }}
                <p class="muted">{move || rt().scale_note}" "{move || rt().where_it_runs}</p>
            </div>
        </section>
    }
}

/// The text, the sizes, and start / pause / save / open.
#[component]
fn Controls(lab: Lab, lang: Signal<Lang>) -> impl IntoView {
    let rt = move || lang.get().rt();
    let choice = move || lab.setup.with(|s| s.text.name());
    let own = RwSignal::new(String::new());
    let size = move |label: fn(&'static crate::i18n::PretrainTexts) -> &'static str,
                     testid: &'static str,
                     options: &'static [usize],
                     get: fn(&Setup) -> usize,
                     set: fn(&mut Setup, usize)| {
        view! {
            <label>
                {move || label(rt())}
                <select
                    data-testid=testid
                    prop:value=move || lab.setup.with(|s| get(s).to_string())
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse() {
                            lab.setup.update(|s| set(s, v));
                        }
                    }
                >
                    {options.iter().map(|o| view! { <option value=o.to_string()>{o.to_string()}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    let open_file = move |ev: leptos::ev::Event| {
        crate::draw::chosen_file_bytes(&ev, move |bytes| lab.send(PretrainRequest::Load(bytes)))
    };
    view! {
        <div class="controls">
            <label>
                {move || rt().text}
                <select
                    data-testid="pretrain-text"
                    prop:value=choice
                    on:change=move |ev| {
                        let text = Text::from_name(&event_target_value(&ev), own.get_untracked());
                        lab.setup.update(|s| s.text = text);
                    }
                >
                    <option value="sonnets">{move || rt().sonnets}</option>
                    <option value="la-fontaine">{move || rt().la_fontaine}</option>
                    <option value="histoires">{move || rt().histoires}</option>
                    <option value="own">{move || rt().own}</option>
                </select>
            </label>
            {size(|t| t.layers, "pretrain-layers", &[1, 2, 3, 4], |s| s.layers, |s, v| s.layers = v)}
            {size(|t| t.width, "pretrain-width", &[32, 64, 96, 128], |s| s.width, |s, v| s.width = v)}
            {size(|t| t.heads, "pretrain-heads", &[1, 2, 3, 4], |s| s.heads, |s, v| s.heads = v)}
            {size(|t| t.context, "pretrain-context", &[32, 64, 96, 128], |s| s.context, |s, v| s.context = v)}
        </div>
        <textarea
            data-testid="pretrain-own"
            rows="4"
            hidden=move || choice() != "own"
            placeholder=move || rt().own_placeholder
            prop:value=move || own.get()
            on:input=move |ev| {
                let text = event_target_value(&ev);
                own.set(text.clone());
                lab.setup.update(|s| s.text = Text::Own(text));
            }
        ></textarea>
        <div class="controls">
            <button type="button" data-testid="pretrain-start" on:click=move |_| lab.start()>{move || rt().start}</button>
            <button
                type="button"
                class="secondary"
                data-testid="pretrain-run"
                disabled=move || lab.training.with(|t| t.ready.as_ref().is_none_or(|r| r.unigram_loss.is_none()))
                on:click=move |_| lab.send(PretrainRequest::Run(!lab.running()))
            >
                {move || if lab.running() { rt().pause } else { rt().resume }}
            </button>
            <button type="button" class="secondary" data-testid="pretrain-save" on:click=move |_| lab.send(PretrainRequest::Save)>
                {move || rt().save}
            </button>
            <label class="button secondary">
                {move || rt().open}
                <input type="file" data-testid="pretrain-open" class="hidden-input" on:change=open_file/>
            </label>
        </div>
    }
}
