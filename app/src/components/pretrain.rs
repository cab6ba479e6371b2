//! The pre-training lab's page (`#pretrain`): the text and sizes, the loss curves beside the letter
//! frequencies' line, the samples' history, a prompt to write from, each head's attention on the last
//! passage read, and the figures of scale. The worker trains; [`Training`] keeps what it said.

use gloo_worker::{Spawnable, WorkerBridge};
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::{big_models, log_bars};
use crate::draw::{download_bytes, heads_pixels, put_pixels};
use crate::i18n::Lang;
use crate::pretrain::{PretrainRequest, PretrainResponse, PretrainWorker, Refusal, Setup, Text, Training};
use crate::state::AppState;

/// Curves' drawing box (SVG units).
const W: f32 = 600.0;
const H: f32 = 220.0;
const PAD: f32 = 34.0;

#[derive(Clone, Copy)]
struct Lab {
    setup: RwSignal<Setup>,
    training: RwSignal<Training>,
    refused: RwSignal<Option<Refusal>>,
    prompt: RwSignal<String>,
    temperature: RwSignal<f32>,
    layer: RwSignal<usize>,
    bridge: StoredValue<Option<WorkerBridge<PretrainWorker>>, LocalStorage>,
}

impl Lab {
    fn send(&self, request: PretrainRequest) {
        self.bridge.with_value(|b| {
            if let Some(b) = b {
                b.send(request);
            }
        });
    }

    fn start(&self) {
        self.refused.set(None);
        self.send(PretrainRequest::Start(self.setup.get_untracked()));
    }

    fn running(&self) -> bool {
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
    let first_text = if state.lang.get_untracked() == Lang::Fr { Text::Histoires } else { Text::Sonnets };
    let lab = Lab {
        setup: RwSignal::new(Setup::new(first_text)),
        training: RwSignal::new(Training::default()),
        refused: RwSignal::new(None),
        prompt: RwSignal::new(String::new()),
        temperature: RwSignal::new(0.8),
        layer: RwSignal::new(0),
        bridge: StoredValue::new_local(None),
    };
    let fetched = state.teach.pretrain_fetched;
    let bridge = PretrainWorker::spawner()
        .callback(move |r| match r {
            PretrainResponse::Refused(why) => lab.refused.set(Some(why)),
            PretrainResponse::Saved(bytes) => {
                download_bytes(&bytes, "application/octet-stream", "glassbox-tiny-gpt.bin")
            }
            PretrainResponse::Fetched(list) => fetched.set(list),
            other => {
                if let PretrainResponse::Ready(_) = other {
                    lab.layer.set(0);
                }
                lab.training.update(|t| {
                    t.take(&other);
                });
            }
        })
        .with_loader(true)
        .as_module(false)
        .spawn(crate::PRETRAIN_WORKER_LOADER_URL);
    lab.bridge.set_value(Some(bridge));
    // Training starts once the engine has loaded its model (or failed to, or stayed silent): on a
    // two-core laptop the two would otherwise fight over the processor while the engine starts.
    let engine_settled =
        move || !matches!(state.model.get(), crate::state::ModelState::Loading) || state.engine_silent.get();
    let started = StoredValue::new(false);
    Effect::new(move |_| {
        if engine_settled() && !started.get_value() {
            started.set_value(true);
            lab.start();
        }
    });
    // A lesson step starts over on its text.
    Effect::new(move |_| {
        let (asked, french) = state.teach.pretrain_text.get();
        if asked > 0 {
            lab.setup.update(|s| s.text = if french { Text::Histoires } else { Text::Sonnets });
            if started.get_value() {
                lab.start();
            }
        }
    });
    // Training pauses while the lab is not on screen (the chat needs the processor), and resumes.
    let paused_away = StoredValue::new(false);
    Effect::new(move |_| {
        let on = shown.get();
        if !on && lab.running() {
            paused_away.set_value(true);
            lab.send(PretrainRequest::Run(false));
        } else if on && paused_away.get_value() {
            paused_away.set_value(false);
            lab.send(PretrainRequest::Run(true));
        }
    });
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
            >
                {move || lab.training.with(|t| {
                    let p = t.last.as_ref();
                    let letters = t.ready.as_ref().and_then(|r| r.unigram_loss);
                    lang().pretrain_status(p.map_or(0, |p| p.step), p.map_or(0, |p| p.tokens), t.held_out_now(), letters, p.map_or(0.0, |p| p.tokens_per_s))
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
                    <Writer lab=lab lang=Signal::derive(lang)/>
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
    let choice = move || match lab.setup.with(|s| s.text.clone()) {
        Text::Sonnets => "sonnets",
        Text::Histoires => "histoires",
        Text::Own(_) => "own",
    };
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
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        input.set_value("");
        wasm_bindgen_futures::spawn_local(async move {
            if let Ok(buffer) = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                lab.send(PretrainRequest::Load(js_sys::Uint8Array::new(&buffer).to_vec()));
            }
        });
    };
    view! {
        <div class="controls">
            <label>
                {move || rt().text}
                <select
                    data-testid="pretrain-text"
                    prop:value=choice
                    on:change=move |ev| {
                        let text = match event_target_value(&ev).as_str() {
                            "histoires" => Text::Histoires,
                            "own" => Text::Own(own.get_untracked()),
                            _ => Text::Sonnets,
                        };
                        lab.setup.update(|s| s.text = text);
                    }
                >
                    <option value="sonnets">{move || rt().sonnets}</option>
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

/// Held-out (solid) and training (dashed) losses over the steps, and the letter frequencies' line.
#[component]
fn Curves(lab: Lab, lang: Signal<Lang>) -> impl IntoView {
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
fn Writer(lab: Lab, lang: Signal<Lang>) -> impl IntoView {
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
    }
}

/// Each head of one block on the last passage the model read while writing.
#[component]
fn Attention(lab: Lab, lang: Signal<Lang>) -> impl IntoView {
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
