//! The autoencoder lab's pictures: rows and grids of grayscale images, the loss curves and the latent
//! map, drawn on canvases.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::state::{Point, EXTENT};
use crate::draw::{context_2d, put_pixels};

/// Okabe–Ito colours for classes 0–9 (colour-blind safe), then two greys.
const CLASS_COLOURS: [&str; 10] =
    ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#999999", "#000000", "#6a3d9a"];

/// One curve: colour, dashed, and which value of each point.
type Curve = (&'static str, bool, fn(&Point) -> f32);

/// Grayscale images `(n, side²)` as one row of `n` pictures on a canvas, `gap` pixels apart.
pub(super) fn draw_row(canvas: &web_sys::HtmlCanvasElement, images: &[f32], side: usize, gap: usize) {
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
pub(super) fn draw_grid(canvas: &web_sys::HtmlCanvasElement, images: &[f32], side: usize, cols: usize) {
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
pub(super) fn Pictures(
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

/// Held-out mean squared error of both models against steps: solid on held-out images, dashed on
/// training images (a gap between them is overfitting).
pub(super) fn draw_curves(c: &web_sys::HtmlCanvasElement, points: &[Point]) {
    let (w, h) = (480.0, 200.0);
    c.set_width(w as u32);
    c.set_height(h as u32);
    let Some(ctx) = context_2d(c) else { return };
    let Some(last) = points.last() else { return };
    let top =
        points.iter().map(|p| p.plain.max(p.vae).max(p.plain_train).max(p.vae_train)).fold(1e-6f32, f32::max) as f64;
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
}

/// Held-out codes `(n, 2)` as dots coloured by class on the latent plane [-EXTENT, EXTENT]².
pub(super) fn draw_map(c: &web_sys::HtmlCanvasElement, codes: &[f32], labels: &[u8]) {
    let size = 360.0;
    c.set_width(size as u32);
    c.set_height(size as u32);
    let Some(ctx) = context_2d(c) else { return };
    let to_px = |v: f32| ((v / EXTENT) as f64 * 0.5 + 0.5) * size;
    ctx.set_stroke_style_str("#94a3b8");
    ctx.stroke_rect(0.5, 0.5, size - 1.0, size - 1.0);
    for (xy, &label) in codes.chunks_exact(2).zip(labels) {
        ctx.set_fill_style_str(CLASS_COLOURS[label as usize % 10]);
        ctx.begin_path();
        let _ = ctx.arc(to_px(xy[0]), size - to_px(xy[1]), 3.5, 0.0, std::f64::consts::TAU);
        ctx.fill();
    }
}
