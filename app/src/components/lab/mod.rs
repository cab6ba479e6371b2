//! The autoencoder lab page: a plain autoencoder and a VAE trained side by side in their own worker;
//! held-out examples and their rebuilds, an input → code → output strip, loss curves, the 2-D latent
//! map with decoding under the pointer and a tiled plane, new samples from random codes, and one slider
//! per code number.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::lab::{DataChoice, DecodePurpose, LabRequest, Which, SHOWN};
use crate::state::AppState;

mod draw;
mod state;

use draw::{draw_curves, draw_grid, draw_map, draw_row, Pictures};
use state::{brush, Lab, EXTENT, TILES};

/// The lab page.
#[component]
pub fn AutoencoderLab(state: AppState) -> impl IntoView {
    let lt = move || state.lang.get().lt();
    let lang = move || state.lang.get();
    let lab = Lab {
        setup: state.teach.lab_setup,
        side: RwSignal::new(0),
        examples: RwSignal::new(Vec::new()),
        progress: RwSignal::new(None),
        curve: RwSignal::new(Vec::new()),
        picked: RwSignal::new(0),
        run: RwSignal::new(None),
        drawn: RwSignal::new(None),
        rebuild: RwSignal::new(None),
        samples: RwSignal::new((Vec::new(), Vec::new())),
        morph: RwSignal::new(vec![0.0; 2]),
        morph_image: RwSignal::new(Vec::new()),
        hover_image: RwSignal::new(Vec::new()),
        tiles: RwSignal::new(Vec::new()),
        bridge: StoredValue::new_local(None),
        pending_generate: StoredValue::new(false),
        fetched: state.teach.lab_fetched,
        starts: StoredValue::new(0),
        restarts: StoredValue::new(0),
    };
    lab.spawn_worker();
    // A new data set or code size (from the controls, a lesson step or a link) starts training over.
    // (A memo's `track` would not compute it, and a memo never computed never hears of a change: read it.)
    let shape = Memo::new(move |_| lab.setup.with(|s| (s.data, s.latent)));
    Effect::new(move |_| {
        let _ = shape.get();
        lab.start();
    });
    // A lesson step asks for new samples; the requests log asks what this worker fetched.
    Effect::new(move |first: Option<()>| {
        state.teach.lab_generate.track();
        if first.is_some() || state.teach.lab_generate.get_untracked() > 0 {
            lab.generate_when_trained();
        }
    });
    Effect::new(move |_| {
        if state.teach.fetch_tick.get() > 0 {
            lab.send(LabRequest::Fetched);
        }
    });

    let side = Signal::derive(move || lab.side.get());
    let running = move || lab.progress.with(|p| p.as_ref().is_none_or(|p| p.running));
    let rebuilds = move |which: Which| {
        Signal::derive(move || {
            lab.progress.with(|p| {
                p.as_ref()
                    .map(|p| if which == Which::Plain { p.rebuilds.0.clone() } else { p.rebuilds.1.clone() })
                    .unwrap_or_default()
            })
        })
    };

    // Loss curves: held-out MSE of both models against steps.
    let curve_canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        if let Some(c) = curve_canvas.get() {
            draw_curves(&c, &lab.curve.get());
        }
    });

    // The latent map: held-out codes coloured by class, over the tiled plane.
    let map_canvas = NodeRef::<Canvas>::new();
    let tiles_canvas = NodeRef::<Canvas>::new();
    let map_which = RwSignal::new(Which::Vae);
    Effect::new(move |_| {
        let (Some(c), Some(p)) = (map_canvas.get(), lab.progress.get()) else { return };
        if let Some(map) = p.map {
            let codes = if map_which.get() == Which::Vae { &map.vae } else { &map.plain };
            draw_map(&c, codes, &map.labels);
        }
    });
    Effect::new(move |_| {
        if let Some(c) = tiles_canvas.get() {
            draw_grid(&c, &lab.tiles.get(), side.get(), TILES);
        }
    });
    let hover_map = move |ev: leptos::ev::MouseEvent| {
        let Some(c) = map_canvas.get() else { return };
        let (w, h) = (c.client_width().max(1) as f32, c.client_height().max(1) as f32);
        let code = [(ev.offset_x() as f32 / w - 0.5) * 2.0 * EXTENT, (0.5 - ev.offset_y() as f32 / h) * 2.0 * EXTENT];
        lab.send(LabRequest::Decode {
            which: map_which.get_untracked(),
            codes: code.to_vec(),
            purpose: DecodePurpose::Hover,
        });
    };

    // The drawing pad: one canvas pixel per image pixel; a soft round brush adds ink.
    let pad_canvas = NodeRef::<Canvas>::new();
    let pen = RwSignal::new(false);
    Effect::new(move |_| {
        let side = lab.side.get();
        let image = lab.drawn.get().unwrap_or_else(|| vec![0.0; side * side]);
        if let Some(c) = pad_canvas.get() {
            draw_row(&c, &image, side, 0);
        }
    });
    let paint = move |ev: &leptos::ev::PointerEvent| {
        let Some(c) = pad_canvas.get_untracked() else { return };
        let side = lab.side.get_untracked();
        if side == 0 {
            return;
        }
        let scale = side as f64 / c.client_width().max(1) as f64;
        let (x, y) = (ev.offset_x() as f64 * scale, ev.offset_y() as f64 * scale);
        let mut image = lab.drawn.get_untracked().unwrap_or_else(|| vec![0.0; side * side]);
        brush(&mut image, side, x, y);
        lab.send(LabRequest::Reconstruct(image.clone()));
        lab.drawn.set(Some(image));
    };

    let status = move || {
        lab.progress.get().map(|p| {
            let l = lang();
            let place = p.gpu.as_ref().map(|g| format!("WebGPU: {g}")).unwrap_or_else(|| l.on_cpu(p.cores));
            format!(
                "{} {} · {} {}/s · {} {} / {} · {place}",
                lt().step,
                p.step,
                l.num(p.steps_per_s as f64, 0),
                lt().steps,
                lt().held_out,
                l.num(p.test_mse.0 as f64, 4),
                l.num(p.test_mse.1 as f64, 4)
            )
        })
    };
    let code_text = |code: &[f32], l: crate::i18n::Lang| {
        code.iter().map(|v| l.num(*v as f64, 2).replace('-', "−")).collect::<Vec<_>>().join("  ")
    };

    view! {
        <section class="lab panel" data-testid="lab" aria-labelledby="lab-title">
            <h2 id="lab-title">{move || lt().title}</h2>
            <p class="hint">{move || lt().intro}</p>
            <div class="controls">
                <label>
                    {move || lt().data}" "
                    <select
                        data-testid="lab-data"
                        prop:value=move || if lab.setup.with(|s| s.data == DataChoice::Digits) { "digits" } else { "faces" }
                        on:change=move |ev| {
                            let data = if event_target_value(&ev) == "digits" { DataChoice::Digits } else { DataChoice::Faces };
                            lab.setup.update(|s| s.data = data);
                        }
                    >
                        <option value="faces">{move || lt().faces}</option>
                        <option value="digits">{move || lt().digits}</option>
                    </select>
                </label>
                <label>
                    {move || format!("{} {}", lt().bottleneck, lab.setup.get().latent)}" "
                    <input
                        type="range"
                        data-testid="lab-latent"
                        min="2"
                        max="32"
                        prop:value=move || lab.setup.get().latent
                        on:change=move |ev| {
                            if let Ok(latent) = event_target_value(&ev).parse::<usize>() {
                                lab.setup.update(|s| s.latent = latent);
                            }
                        }
                    />
                </label>
                <label>
                    {move || format!("β {}", lang().num(lab.setup.get().beta as f64, 1))}" "
                    <input
                        type="range"
                        data-testid="lab-beta"
                        min="0"
                        max="4"
                        step="0.1"
                        prop:value=move || lab.setup.get().beta
                        on:input=move |ev| {
                            if let Ok(beta) = event_target_value(&ev).parse::<f32>() {
                                lab.setup.update(|s| s.beta = beta);
                                lab.send(LabRequest::Beta(beta));
                            }
                        }
                    />
                </label>
                <button type="button" data-testid="lab-run" on:click=move |_| lab.send(LabRequest::Run(!running()))>
                    {move || if running() { lt().pause } else { lt().resume }}
                </button>
                <button type="button" class="secondary" data-testid="lab-reset" on:click=move |_| lab.start()>
                    {move || lt().reset}
                </button>
            </div>
            <p
                class="muted"
                data-testid="lab-status"
                data-step=move || lab.progress.with(|p| p.as_ref().map(|p| p.step))
                data-plain-mse=move || lab.progress.with(|p| p.as_ref().map(|p| p.test_mse.0))
                data-vae-mse=move || lab.progress.with(|p| p.as_ref().map(|p| p.test_mse.1))
                data-first-vae-mse=move || lab.curve.with(|c| c.first().map(|p| p.vae))
                data-vae-train-mse=move || lab.progress.with(|p| p.as_ref().map(|p| p.train_mse.1))
                data-steps-per-s=move || lab.progress.with(|p| p.as_ref().map(|p| p.steps_per_s))
                data-cores=move || lab.progress.with(|p| p.as_ref().map(|p| p.cores))
            >
                {status}
            </p>
            <div class="lab-grid">
                <figure>
                    <figcaption class="title">{move || lt().examples}</figcaption>
                    <div class="rows">
                        <span>{move || lt().input}</span>
                        <Pictures
                            images=Signal::derive(move || lab.examples.get())
                            side=side
                            testid="lab-inputs"
                            on_pick=Callback::new(move |i: usize| {
                                if i < SHOWN {
                                    lab.picked.set(i);
                                    lab.drawn.set(None);
                                    lab.send(LabRequest::Reconstruct(lab.image(i)));
                                }
                            })
                        />
                        <span>{move || lt().plain}</span>
                        <Pictures images=rebuilds(Which::Plain) side=side testid="lab-plain"/>
                        <span>{move || lt().vae}</span>
                        <Pictures images=rebuilds(Which::Vae) side=side testid="lab-vae"/>
                    </div>
                    <figcaption>{move || lt().examples_hint}</figcaption>
                </figure>
                <figure>
                    <figcaption class="title">{move || lt().strip}</figcaption>
                    <div class="strip">
                        <Pictures images=Signal::derive(move || lab.drawn.get().unwrap_or_else(|| lab.image(lab.picked.get()))) side=side testid="lab-strip-in"/>
                        <span class="arrow">"→"</span>
                        <div class="codes">
                            <code>{move || lab.rebuild.with(|r| r.as_ref().map(|r| format!("{}{}{}", lt().plain, lang().colon(), code_text(&r.0, lang()))))}</code>
                            <code>{move || lab.rebuild.with(|r| r.as_ref().map(|r| format!("{}{}{}", lt().vae, lang().colon(), code_text(&r.2, lang()))))}</code>
                        </div>
                        <span class="arrow">"→"</span>
                        <Pictures images=Signal::derive(move || lab.rebuild.with(|r| r.as_ref().map(|r| [r.1.clone(), r.3.clone()].concat()).unwrap_or_default())) side=side testid="lab-strip-out"/>
                    </div>
                    <figcaption>{move || lt().strip_hint}</figcaption>
                    <div class="pad-row">
                        <canvas
                            class="pad"
                            node_ref=pad_canvas
                            data-testid="lab-pad"
                            on:pointerdown=move |ev| {
                                pen.set(true);
                                paint(&ev);
                            }
                            on:pointermove=move |ev| {
                                if pen.get_untracked() {
                                    paint(&ev);
                                }
                            }
                            on:pointerup=move |_| pen.set(false)
                            on:pointerleave=move |_| pen.set(false)
                        ></canvas>
                        <div>
                            <p class="muted">{move || lt().draw_hint}</p>
                            <button type="button" class="secondary" data-testid="lab-pad-clear" on:click=move |_| {
                                let d = lab.side.get_untracked().pow(2);
                                lab.drawn.set(Some(vec![0.0; d]));
                                lab.send(LabRequest::Reconstruct(vec![0.0; d]));
                            }>
                                {move || lt().draw_clear}
                            </button>
                        </div>
                    </div>
                </figure>
                <figure>
                    <figcaption class="title">{move || lt().curves}</figcaption>
                    <canvas class="curves" node_ref=curve_canvas data-testid="lab-curves"></canvas>
                    <figcaption>
                        <span class="key plain">"━ "</span>{move || lt().plain}" "
                        <span class="key vae">"━ "</span>{move || lt().vae}
                        " — "{move || lt().curves_hint}
                    </figcaption>
                </figure>
            </div>
            <div class="lab-grid" hidden=move || lab.setup.get().latent != 2>
                <figure>
                    <figcaption class="title">{move || lt().map}</figcaption>
                    <div class="group" role="group">
                        <button type="button" aria-pressed=move || (map_which.get() == Which::Plain).to_string() on:click=move |_| map_which.set(Which::Plain)>
                            {move || lt().plain}
                        </button>
                        <button type="button" aria-pressed=move || (map_which.get() == Which::Vae).to_string() on:click=move |_| map_which.set(Which::Vae)>
                            {move || lt().vae}
                        </button>
                    </div>
                    <div class="map-row">
                        <canvas class="map" node_ref=map_canvas data-testid="lab-map" on:mousemove=hover_map></canvas>
                        <Pictures images=Signal::derive(move || lab.hover_image.get()) side=side testid="lab-hover"/>
                    </div>
                    <figcaption>{move || lt().map_hint}</figcaption>
                </figure>
                <figure>
                    <figcaption class="title">{move || lt().tiles}</figcaption>
                    <canvas class="tiles" node_ref=tiles_canvas data-testid="lab-tiles"></canvas>
                    <figcaption>{move || lt().tiles_hint}</figcaption>
                </figure>
            </div>
            <div class="lab-grid">
                <figure>
                    <figcaption class="title">{move || lt().generate}</figcaption>
                    <button type="button" data-testid="lab-generate" on:click=move |_| lab.generate()>{move || lt().generate}</button>
                    <div class="rows">
                        <span>{move || lt().plain}</span>
                        <Pictures images=Signal::derive(move || lab.samples.get().0) side=side testid="lab-samples-plain"/>
                        <span>{move || lt().vae}</span>
                        <Pictures images=Signal::derive(move || lab.samples.get().1) side=side testid="lab-samples-vae"/>
                    </div>
                    <figcaption>{move || lt().generate_hint}</figcaption>
                </figure>
                <figure>
                    <figcaption class="title">{move || lt().morph}</figcaption>
                    <div class="morph">
                        <div class="sliders">
                            {move || {
                                (0..lab.setup.get().latent.min(8))
                                    .map(|j| {
                                        view! {
                                            <input
                                                type="range"
                                                min="-3"
                                                max="3"
                                                step="0.05"
                                                aria-label=format!("z{j}")
                                                prop:value=move || lab.morph.with(|m| m.get(j).copied().unwrap_or(0.0))
                                                on:input=move |ev| {
                                                    if let Ok(v) = event_target_value(&ev).parse::<f32>() {
                                                        lab.morph.update(|m| if let Some(x) = m.get_mut(j) { *x = v });
                                                        lab.send(LabRequest::Decode {
                                                            which: Which::Vae,
                                                            codes: lab.morph.get_untracked(),
                                                            purpose: DecodePurpose::Morph,
                                                        });
                                                    }
                                                }
                                            />
                                        }
                                    })
                                    .collect_view()
                            }}
                        </div>
                        <Pictures images=Signal::derive(move || lab.morph_image.get()) side=side testid="lab-morph"/>
                    </div>
                    <figcaption>{move || lt().morph_hint}</figcaption>
                </figure>
            </div>
        </section>
    }
}
