//! The autoencoder lab page: a plain autoencoder and a VAE trained side by side in their own worker;
//! held-out examples and their rebuilds, an input → code → output strip, loss curves, the 2-D latent
//! map with decoding under the pointer and a tiled plane, new samples from random codes, and one slider
//! per code number.

use gloo_worker::{Spawnable, WorkerBridge};
use leptos::html::Canvas;
use leptos::prelude::*;

use crate::draw::{context_2d, put_pixels};
use crate::lab::{DataChoice, DecodePurpose, LabRequest, LabResponse, LabSetup, LabWorker, Progress, Which, SHOWN};
use crate::state::AppState;

/// Okabe–Ito colours for classes 0–9 (colour-blind safe), then two greys.
const CLASS_COLOURS: [&str; 10] =
    ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#999999", "#000000", "#6a3d9a"];
/// The latent plane shown: [-EXTENT, EXTENT]² (where N(0, 1) puts nearly all its mass).
const EXTENT: f32 = 3.0;
const TILES: usize = 8;

/// One curve: colour, dashed, and which value of each point.
type Curve = (&'static str, bool, fn(&Point) -> f32);

/// One training report kept for the curves: reconstruction error on held-out and on training images.
#[derive(Debug, Clone, Copy)]
struct Point {
    step: usize,
    plain: f32,
    vae: f32,
    plain_train: f32,
    vae_train: f32,
}

/// The picked image through both models: plain code, plain rebuild, VAE code, VAE rebuild.
type Rebuild = (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>);

#[derive(Debug, Clone, Copy)]
struct Lab {
    setup: RwSignal<LabSetup>,
    side: RwSignal<usize>,
    examples: RwSignal<Vec<f32>>,
    progress: RwSignal<Option<Progress>>,
    curve: RwSignal<Vec<Point>>,
    picked: RwSignal<usize>,
    /// The run whose reports are shown (`None` between a start and its answer).
    run: RwSignal<Option<u64>>,
    /// A drawing replaces the picked example in the strip while it exists.
    drawn: RwSignal<Option<Vec<f32>>>,
    rebuild: RwSignal<Option<Rebuild>>,
    samples: RwSignal<(Vec<f32>, Vec<f32>)>,
    morph: RwSignal<Vec<f32>>,
    morph_image: RwSignal<Vec<f32>>,
    hover_image: RwSignal<Vec<f32>>,
    tiles: RwSignal<Vec<f32>>,
    bridge: StoredValue<Option<WorkerBridge<LabWorker>>, LocalStorage>,
    /// Samples were asked for before the models had learned anything.
    pending_generate: StoredValue<bool>,
    /// Where the requests log's figures go.
    fetched: RwSignal<Vec<crate::protocol::Fetched>>,
}

/// Steps after which random codes decode to something worth showing.
const TRAINED_ENOUGH: usize = 300;

impl Lab {
    fn send(&self, request: LabRequest) {
        self.bridge.with_value(|b| {
            if let Some(b) = b {
                b.send(request);
            }
        });
    }

    fn start(&self) {
        let setup = self.setup.get_untracked();
        self.run.set(None);
        self.curve.set(Vec::new());
        self.progress.set(None);
        self.rebuild.set(None);
        self.samples.set((Vec::new(), Vec::new()));
        self.morph_image.set(Vec::new());
        self.hover_image.set(Vec::new());
        self.tiles.set(Vec::new());
        self.morph.set(vec![0.0; setup.latent]);
        self.send(LabRequest::Start(setup));
    }

    /// What the strip shows: the drawing, or the picked example.
    fn strip_input(&self) -> Vec<f32> {
        self.drawn.get_untracked().unwrap_or_else(|| self.image(self.picked.get_untracked()))
    }

    fn image(&self, i: usize) -> Vec<f32> {
        let d = self.side.get_untracked().pow(2);
        self.examples.with_untracked(|e| e.get(i * d..(i + 1) * d).map(<[f32]>::to_vec).unwrap_or_default())
    }

    fn on_response(&self, response: LabResponse) {
        match response {
            LabResponse::Ready { run, side, examples, .. } => {
                self.run.set(Some(run));
                self.side.set(side);
                self.drawn.set(None);
                self.examples.set(examples);
                self.picked.set(0);
            }
            LabResponse::Progress(p) if self.run.get_untracked() != Some(p.run) => {}
            LabResponse::Progress(p) => {
                let point = Point {
                    step: p.step,
                    plain: p.test_mse.0,
                    vae: p.test_mse.1,
                    plain_train: p.train_mse.0,
                    vae_train: p.train_mse.1,
                };
                self.curve.update(|c| {
                    if c.last().is_none_or(|last| last.step < point.step) {
                        c.push(point);
                    }
                });
                let latent = self.setup.get_untracked().latent;
                if p.step >= TRAINED_ENOUGH && self.pending_generate.get_value() {
                    self.pending_generate.set_value(false);
                    self.generate();
                }
                self.progress.set(Some(p));
                // Keep the strip, the morph and the tiles in step with training.
                self.send(LabRequest::Reconstruct(self.strip_input()));
                self.send(LabRequest::Decode {
                    which: Which::Vae,
                    codes: self.morph.get_untracked(),
                    purpose: DecodePurpose::Morph,
                });
                if latent == 2 {
                    let codes = (0..TILES * TILES)
                        .flat_map(|i| {
                            let at = |k: usize| (k as f32 + 0.5) / TILES as f32 * 2.0 * EXTENT - EXTENT;
                            [at(i % TILES), -at(i / TILES)]
                        })
                        .collect();
                    self.send(LabRequest::Decode { which: Which::Vae, codes, purpose: DecodePurpose::Tiles });
                }
            }
            LabResponse::Fetched(list) => self.fetched.set(list),
            LabResponse::Reconstruction { plain_code, plain, vae_code, vae } => {
                self.rebuild.set(Some((plain_code, plain, vae_code, vae)))
            }
            LabResponse::Decoded { which, purpose, images } => match purpose {
                DecodePurpose::Samples => self.samples.update(|s| match which {
                    Which::Plain => s.0 = images,
                    Which::Vae => s.1 = images,
                }),
                DecodePurpose::Morph => self.morph_image.set(images),
                DecodePurpose::Hover => self.hover_image.set(images),
                DecodePurpose::Tiles => self.tiles.set(images),
            },
        }
    }

    /// Draws new examples now if the models have learned a little, else as soon as they have.
    fn generate_when_trained(&self) {
        if self.progress.with_untracked(|p| p.as_ref().is_some_and(|p| p.step >= TRAINED_ENOUGH)) {
            self.generate();
        } else {
            self.pending_generate.set_value(true);
        }
    }

    fn generate(&self) {
        let latent = self.setup.get_untracked().latent;
        let mut rng = engine::train::Rng::new(js_sys::Date::now() as u64);
        let codes: Vec<f32> = (0..SHOWN * latent).map(|_| rng.normal()).collect();
        for which in [Which::Plain, Which::Vae] {
            self.send(LabRequest::Decode { which, codes: codes.clone(), purpose: DecodePurpose::Samples });
        }
    }
}

/// Grayscale images `(n, side²)` as one row of `n` pictures on a canvas, `gap` pixels apart.
fn draw_row(canvas: &web_sys::HtmlCanvasElement, images: &[f32], side: usize, gap: usize) {
    let d = side * side;
    let n = images.len() / d.max(1);
    if n == 0 {
        // Nothing (yet) for this setup: an empty canvas, not the last setup's pictures.
        put_pixels(canvas, 0, 0, &[]);
        return;
    }
    let width = n * (side + gap) - gap;
    let mut px = vec![0u8; width * side * 4];
    for (i, img) in images.chunks_exact(d).enumerate() {
        for (p, &v) in img.iter().enumerate() {
            let at = ((p / side) * width + i * (side + gap) + p % side) * 4;
            let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            px[at..at + 4].copy_from_slice(&[g, g, g, 255]);
        }
    }
    put_pixels(canvas, width, side, &px);
}

/// Grayscale images `(cols·rows, side²)` tiled in a grid.
fn draw_grid(canvas: &web_sys::HtmlCanvasElement, images: &[f32], side: usize, cols: usize) {
    let d = side * side;
    let n = images.len() / d.max(1);
    if n == 0 || cols == 0 {
        put_pixels(canvas, 0, 0, &[]);
        return;
    }
    let rows = n.div_ceil(cols);
    let (w, h) = (cols * side, rows * side);
    let mut px = vec![0u8; w * h * 4];
    for (i, img) in images.chunks_exact(d).enumerate() {
        let (ox, oy) = ((i % cols) * side, (i / cols) * side);
        for (p, &v) in img.iter().enumerate() {
            let at = ((oy + p / side) * w + ox + p % side) * 4;
            let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            px[at..at + 4].copy_from_slice(&[g, g, g, 255]);
        }
    }
    put_pixels(canvas, w, h, &px);
}

/// A canvas showing a row of images, redrawn when they change.
#[component]
fn Pictures(
    images: Signal<Vec<f32>>,
    side: Signal<usize>,
    #[prop(into)] testid: String,
    #[prop(optional)] on_pick: Option<Callback<usize>>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        if let Some(c) = canvas.get() {
            draw_row(&c, &images.get(), side.get(), 1);
        }
    });
    let pick = move |ev: leptos::ev::MouseEvent| {
        let (Some(c), Some(cb)) = (canvas.get(), on_pick) else { return };
        let side = side.get_untracked() + 1;
        let x = ev.offset_x() as f64 * c.width() as f64 / c.client_width().max(1) as f64;
        cb.run(x as usize / side);
    };
    view! { <canvas class="pictures" node_ref=canvas data-testid=testid on:click=pick class:pickable=on_pick.is_some()></canvas> }
}

/// The lab page.
#[component]
pub fn AutoencoderLab(state: AppState) -> impl IntoView {
    let t = move || state.lang.get().t();
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
    };
    let bridge = LabWorker::spawner()
        .callback(move |r| lab.on_response(r))
        .with_loader(true)
        .as_module(false)
        .spawn(crate::LAB_WORKER_LOADER_URL);
    lab.bridge.set_value(Some(bridge));
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
        let Some(c) = curve_canvas.get() else { return };
        let points = lab.curve.get();
        let (w, h) = (480.0, 200.0);
        c.set_width(w as u32);
        c.set_height(h as u32);
        let Some(ctx) = context_2d(&c) else { return };
        let Some(last) = points.last() else { return };
        let top = points.iter().map(|p| p.plain.max(p.vae).max(p.plain_train).max(p.vae_train)).fold(1e-6f32, f32::max)
            as f64;
        let x = |s: usize| 30.0 + (w - 40.0) * s as f64 / last.step.max(1) as f64;
        let y = |v: f32| h - 20.0 - (h - 30.0) * (v as f64 / top);
        ctx.set_stroke_style_str("#94a3b8");
        ctx.stroke_rect(30.0, 10.0, w - 40.0, h - 30.0);
        // Solid: held-out images; dashed: training images (a gap between them is overfitting).
        let curves: [Curve; 4] = [
            ("#e69f00", false, |p| p.plain),
            ("#0072b2", false, |p| p.vae),
            ("#e69f00", true, |p| p.plain_train),
            ("#0072b2", true, |p| p.vae_train),
        ];
        for (colour, dashed, pick) in curves {
            ctx.set_stroke_style_str(colour);
            ctx.set_line_width(2.5);
            let dash = js_sys::Array::new();
            if dashed {
                dash.push(&6.0.into());
                dash.push(&4.0.into());
            }
            let _ = ctx.set_line_dash(&dash);
            ctx.begin_path();
            for (i, p) in points.iter().enumerate() {
                if i == 0 {
                    ctx.move_to(x(p.step), y(pick(p)));
                } else {
                    ctx.line_to(x(p.step), y(pick(p)));
                }
            }
            ctx.stroke();
        }
    });

    // The latent map: held-out codes coloured by class, over the tiled plane.
    let map_canvas = NodeRef::<Canvas>::new();
    let tiles_canvas = NodeRef::<Canvas>::new();
    let map_which = RwSignal::new(Which::Vae);
    Effect::new(move |_| {
        let (Some(c), Some(p)) = (map_canvas.get(), lab.progress.get()) else { return };
        let Some(map) = p.map else { return };
        let size = 360.0;
        c.set_width(size as u32);
        c.set_height(size as u32);
        let Some(ctx) = context_2d(&c) else { return };
        let codes = if map_which.get() == Which::Vae { &map.vae } else { &map.plain };
        let to_px = |v: f32| ((v / EXTENT) as f64 * 0.5 + 0.5) * size;
        ctx.set_stroke_style_str("#94a3b8");
        ctx.stroke_rect(0.5, 0.5, size - 1.0, size - 1.0);
        for (xy, &label) in codes.chunks_exact(2).zip(&map.labels) {
            ctx.set_fill_style_str(CLASS_COLOURS[label as usize % 10]);
            ctx.begin_path();
            let _ = ctx.arc(to_px(xy[0]), size - to_px(xy[1]), 3.5, 0.0, std::f64::consts::TAU);
            ctx.fill();
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
        let radius = side as f64 / 16.0 + 0.3;
        let mut image = lab.drawn.get_untracked().unwrap_or_else(|| vec![0.0; side * side]);
        for (i, px) in image.iter_mut().enumerate() {
            let (px_x, px_y) = ((i % side) as f64 + 0.5, (i / side) as f64 + 0.5);
            let d = ((px_x - x).powi(2) + (px_y - y).powi(2)).sqrt();
            *px = (*px + (1.0 - d / (radius + 0.5)).clamp(0.0, 1.0) as f32 * 0.6).min(1.0);
        }
        lab.send(LabRequest::Reconstruct(image.clone()));
        lab.drawn.set(Some(image));
    };

    let status = move || {
        lab.progress.get().map(|p| {
            let l = lang();
            let place = p.gpu.as_ref().map(|g| format!("WebGPU: {g}")).unwrap_or_else(|| t().lab_on_cpu.to_owned());
            format!(
                "{} {} · {} {}/s · {} {} / {} · {place}",
                t().lab_step,
                p.step,
                l.num(p.steps_per_s as f64, 0),
                t().lab_steps,
                t().lab_held_out,
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
            <h2 id="lab-title">{move || t().lab_title}</h2>
            <p class="hint">{move || t().lab_intro}</p>
            <div class="controls">
                <label>
                    {move || t().lab_data}" "
                    <select
                        data-testid="lab-data"
                        prop:value=move || if lab.setup.with(|s| s.data == DataChoice::Digits) { "digits" } else { "faces" }
                        on:change=move |ev| {
                            let data = if event_target_value(&ev) == "digits" { DataChoice::Digits } else { DataChoice::Faces };
                            lab.setup.update(|s| s.data = data);
                        }
                    >
                        <option value="faces">{move || t().lab_faces}</option>
                        <option value="digits">{move || t().lab_digits}</option>
                    </select>
                </label>
                <label>
                    {move || format!("{} {}", t().lab_bottleneck, lab.setup.get().latent)}" "
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
                    {move || if running() { t().lab_pause } else { t().lab_resume }}
                </button>
                <button type="button" class="secondary" data-testid="lab-reset" on:click=move |_| lab.start()>
                    {move || t().lab_reset}
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
            >
                {status}
            </p>
            <div class="lab-grid">
                <figure>
                    <figcaption class="title">{move || t().lab_examples}</figcaption>
                    <div class="rows">
                        <span>{move || t().lab_input}</span>
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
                        <span>{move || t().lab_plain}</span>
                        <Pictures images=rebuilds(Which::Plain) side=side testid="lab-plain"/>
                        <span>{move || t().lab_vae}</span>
                        <Pictures images=rebuilds(Which::Vae) side=side testid="lab-vae"/>
                    </div>
                    <figcaption>{move || t().lab_examples_hint}</figcaption>
                </figure>
                <figure>
                    <figcaption class="title">{move || t().lab_strip}</figcaption>
                    <div class="strip">
                        <Pictures images=Signal::derive(move || lab.drawn.get().unwrap_or_else(|| lab.image(lab.picked.get()))) side=side testid="lab-strip-in"/>
                        <span class="arrow">"→"</span>
                        <div class="codes">
                            <code>{move || lab.rebuild.with(|r| r.as_ref().map(|r| format!("{}{}{}", t().lab_plain, lang().colon(), code_text(&r.0, lang()))))}</code>
                            <code>{move || lab.rebuild.with(|r| r.as_ref().map(|r| format!("{}{}{}", t().lab_vae, lang().colon(), code_text(&r.2, lang()))))}</code>
                        </div>
                        <span class="arrow">"→"</span>
                        <Pictures images=Signal::derive(move || lab.rebuild.with(|r| r.as_ref().map(|r| [r.1.clone(), r.3.clone()].concat()).unwrap_or_default())) side=side testid="lab-strip-out"/>
                    </div>
                    <figcaption>{move || t().lab_strip_hint}</figcaption>
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
                            <p class="muted">{move || t().lab_draw_hint}</p>
                            <button type="button" class="secondary" data-testid="lab-pad-clear" on:click=move |_| {
                                let d = lab.side.get_untracked().pow(2);
                                lab.drawn.set(Some(vec![0.0; d]));
                                lab.send(LabRequest::Reconstruct(vec![0.0; d]));
                            }>
                                {move || t().lab_draw_clear}
                            </button>
                        </div>
                    </div>
                </figure>
                <figure>
                    <figcaption class="title">{move || t().lab_curves}</figcaption>
                    <canvas class="curves" node_ref=curve_canvas data-testid="lab-curves"></canvas>
                    <figcaption>
                        <span class="key plain">"━ "</span>{move || t().lab_plain}" "
                        <span class="key vae">"━ "</span>{move || t().lab_vae}
                        " — "{move || t().lab_curves_hint}
                    </figcaption>
                </figure>
            </div>
            <div class="lab-grid" hidden=move || lab.setup.get().latent != 2>
                <figure>
                    <figcaption class="title">{move || t().lab_map}</figcaption>
                    <div class="group" role="group">
                        <button type="button" aria-pressed=move || (map_which.get() == Which::Plain).to_string() on:click=move |_| map_which.set(Which::Plain)>
                            {move || t().lab_plain}
                        </button>
                        <button type="button" aria-pressed=move || (map_which.get() == Which::Vae).to_string() on:click=move |_| map_which.set(Which::Vae)>
                            {move || t().lab_vae}
                        </button>
                    </div>
                    <div class="map-row">
                        <canvas class="map" node_ref=map_canvas data-testid="lab-map" on:mousemove=hover_map></canvas>
                        <Pictures images=Signal::derive(move || lab.hover_image.get()) side=side testid="lab-hover"/>
                    </div>
                    <figcaption>{move || t().lab_map_hint}</figcaption>
                </figure>
                <figure>
                    <figcaption class="title">{move || t().lab_tiles}</figcaption>
                    <canvas class="tiles" node_ref=tiles_canvas data-testid="lab-tiles"></canvas>
                    <figcaption>{move || t().lab_tiles_hint}</figcaption>
                </figure>
            </div>
            <div class="lab-grid">
                <figure>
                    <figcaption class="title">{move || t().lab_generate}</figcaption>
                    <button type="button" data-testid="lab-generate" on:click=move |_| lab.generate()>{move || t().lab_generate}</button>
                    <div class="rows">
                        <span>{move || t().lab_plain}</span>
                        <Pictures images=Signal::derive(move || lab.samples.get().0) side=side testid="lab-samples-plain"/>
                        <span>{move || t().lab_vae}</span>
                        <Pictures images=Signal::derive(move || lab.samples.get().1) side=side testid="lab-samples-vae"/>
                    </div>
                    <figcaption>{move || t().lab_generate_hint}</figcaption>
                </figure>
                <figure>
                    <figcaption class="title">{move || t().lab_morph}</figcaption>
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
                    <figcaption>{move || t().lab_morph_hint}</figcaption>
                </figure>
            </div>
        </section>
    }
}
