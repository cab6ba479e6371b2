//! The autoencoder lab page: a plain autoencoder and a VAE trained side by side in their own worker;
//! held-out examples and their rebuilds, an input → code → output strip, loss curves, the 2-D latent
//! map with decoding under the pointer and a tiled plane, new samples from random codes, and one slider
//! per code number.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::lab::{LabRequest, Which, SHOWN};
use crate::state::AppState;

mod draw;
mod panels;
mod state;

use draw::{draw_curves, Pictures};
use panels::{DrawingPad, LabControls, LabMap, LabSamples};
use state::Lab;

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
            <LabControls lab=lab lang=state.lang/>
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
                    <DrawingPad lab=lab lang=state.lang/>
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
            <LabMap lab=lab lang=state.lang/>
            <LabSamples lab=lab lang=state.lang/>
        </section>
    }
}
