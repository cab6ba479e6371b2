//! The lab page's panels, each a component of its own: the controls, the drawing pad, the 2-D latent map
//! with its tiled plane, and new samples with one slider per code number.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::draw::{draw_grid, draw_map, draw_row, Pictures};
use super::state::{brush, Lab, EXTENT, TILES};
use crate::i18n::Lang;
use crate::lab::{DataChoice, DecodePurpose, LabRequest, Which};

/// Data set, code size, β, pause and reset.
#[component]
pub fn LabControls(lab: Lab, lang: Memo<Lang>) -> impl IntoView {
    let lt = move || lang.get().lt();
    let running = move || lab.progress.with(|p| p.as_ref().is_none_or(|p| p.running));
    view! {
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
                {move || format!("β {}", lang.get().num(lab.setup.get().beta as f64, 1))}" "
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
    }
}

/// The drawing pad: one canvas pixel per image pixel; a soft round brush adds ink, and each stroke is
/// sent to both models to rebuild.
#[component]
pub fn DrawingPad(lab: Lab, lang: Memo<Lang>) -> impl IntoView {
    let lt = move || lang.get().lt();
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
    view! {
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
    }
}

/// The latent map (a 2-D code only): held-out codes coloured by class, decoding under the pointer, and
/// the tiled plane.
#[component]
pub fn LabMap(lab: Lab, lang: Memo<Lang>) -> impl IntoView {
    let lt = move || lang.get().lt();
    let side = Signal::derive(move || lab.side.get());
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
    view! {
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
    }
}

/// New samples from random codes, and one slider per code number of the VAE.
#[component]
pub fn LabSamples(lab: Lab, lang: Memo<Lang>) -> impl IntoView {
    let lt = move || lang.get().lt();
    let side = Signal::derive(move || lab.side.get());
    view! {
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
    }
}
