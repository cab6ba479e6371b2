//! The attention explorer's two canvases: the query × key matrix and the lines between two token
//! columns, with the geometry the component needs to find what the pointer is on.

use engine::trace::{HeadMatrix, HeadPick};
use leptos::prelude::*;

use crate::components::tokens::chip_text;
use crate::draw::{self, context_2d, put_pixels};
use crate::state::AppState;

/// Every token's label, following the tokens as they come.
pub(super) fn labels(state: &AppState) -> Vec<String> {
    state.shown.with(|e| e.tokens.iter().map(|t| chip_text(&t.piece.text)).collect())
}

/// [`labels`] without following the tokens: for drawing a matrix, whose tokens are all there already.
pub(super) fn labels_untracked(state: &AppState) -> Vec<String> {
    state.shown.with_untracked(|e| e.tokens.iter().map(|t| chip_text(&t.piece.text)).collect())
}

/// A head's name in a file name.
pub(super) fn head_code(head: HeadPick) -> String {
    match head {
        HeadPick::One(h) => h.to_string(),
        HeadPick::Mean => "mean".to_owned(),
    }
}

/// Geometry of the matrix canvas, for hit-testing: left/top margin and cell size in canvas pixels.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct MatrixLayout {
    pub(super) margin: f64,
    pub(super) cell: f64,
    pub(super) n: usize,
}

const MIN_LINE_ROW: f64 = 10.0;
const MAX_LINE_ROW: f64 = 26.0;

/// Text colour of the page, for labels drawn on canvases.
fn ink(canvas: &web_sys::HtmlCanvasElement) -> String {
    web_sys::window()
        .and_then(|w| w.get_computed_style(canvas).ok().flatten())
        .and_then(|s| s.get_property_value("color").ok())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "#888".to_owned())
}

/// Draws `m` with its token labels (when cells are big enough to read them); returns the geometry.
pub(super) fn draw_matrix(
    canvas: &web_sys::HtmlCanvasElement,
    m: &HeadMatrix,
    labels: &[String],
    projector: bool,
) -> MatrixLayout {
    let cell = (560 / m.n.max(1)).clamp(3, 28) as f64;
    let with_labels = cell >= 9.0;
    let margin = if with_labels { 120.0 } else { 4.0 };
    let side = margin + cell * m.n as f64 + 4.0;
    canvas.set_width(side as u32);
    canvas.set_height(side as u32);
    let layout = MatrixLayout { margin, cell, n: m.n };
    let Some(ctx) = context_2d(canvas) else { return layout };
    // One pixel per cell on a scratch canvas, scaled up without smoothing.
    let Some(scratch) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("canvas").ok())
        .and_then(|c| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlCanvasElement>(c).ok())
    else {
        return layout;
    };
    put_pixels(&scratch, m.n, m.n, &draw::matrix_pixels(m));
    ctx.set_image_smoothing_enabled(false);
    let size = cell * m.n as f64;
    let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&scratch, margin, margin, size, size);
    // The selected token is the last row.
    ctx.set_stroke_style_str("#e69f00");
    ctx.set_line_width(if projector { 3.0 } else { 2.0 });
    ctx.stroke_rect(margin, margin + cell * (m.n - 1) as f64, size, cell);
    if with_labels {
        let font = (cell - 2.0).min(if projector { 16.0 } else { 13.0 });
        ctx.set_font(&format!("{font}px system-ui, sans-serif"));
        ctx.set_fill_style_str(&ink(canvas));
        ctx.set_text_baseline("middle");
        for (i, label) in labels.iter().take(m.n).enumerate() {
            let at = margin + cell * (i as f64 + 0.5);
            ctx.set_text_align("right");
            let _ = ctx.fill_text_with_max_width(label, margin - 4.0, at, margin - 8.0);
            ctx.save();
            let _ = ctx.translate(at, margin - 4.0);
            let _ = ctx.rotate(-std::f64::consts::FRAC_PI_2);
            ctx.set_text_align("left");
            let _ = ctx.fill_text_with_max_width(label, 0.0, 0.0, margin - 8.0);
            ctx.restore();
        }
    }
    layout
}

/// Row height of the lines view for `n` tokens: the whole conversation fits in about 640 canvas pixels
/// while rows stay readable; beyond that the view scrolls.
pub(super) fn line_row(n: usize) -> f64 {
    (640.0 / n.max(1) as f64).clamp(MIN_LINE_ROW, MAX_LINE_ROW)
}

/// Draws the lines view: the selected token (last row of `m`) joined to each key, opacity = weight.
/// Returns the selected token's height on the canvas, to scroll it into view.
pub(super) fn draw_lines(
    canvas: &web_sys::HtmlCanvasElement,
    m: &HeadMatrix,
    labels: &[String],
    projector: bool,
) -> f64 {
    let width = 560.0;
    let row = line_row(m.n);
    let height = 16.0 + row * m.n as f64;
    canvas.set_width(width as u32);
    canvas.set_height(height as u32);
    let (left, right) = (210.0, 350.0);
    let y = |i: usize| 8.0 + row * (i as f64 + 0.5);
    let query = m.n - 1;
    let Some(ctx) = context_2d(canvas) else { return y(query) };
    if m.has_row(query) {
        ctx.set_line_width(if projector { 4.0 } else { 2.5 });
        for k in 0..=query {
            let w = m.get(query, k) as f64;
            if w > 0.0 {
                ctx.set_stroke_style_str(&format!("rgba(0, 114, 178, {w:.4})"));
                ctx.begin_path();
                ctx.move_to(left, y(query));
                ctx.line_to(right, y(k));
                ctx.stroke();
            }
        }
    }
    let font = (row - 2.0).min(if projector { 16.0 } else { 13.0 });
    ctx.set_font(&format!("{font}px system-ui, sans-serif"));
    ctx.set_text_baseline("middle");
    let ink = ink(canvas);
    for (i, label) in labels.iter().take(m.n).enumerate() {
        ctx.set_fill_style_str(if i == query { "#e69f00" } else { &ink });
        ctx.set_text_align("right");
        let _ = ctx.fill_text_with_max_width(label, left - 8.0, y(i), left - 16.0);
        ctx.set_fill_style_str(&ink);
        ctx.set_text_align("left");
        let _ = ctx.fill_text_with_max_width(label, right + 8.0, y(i), width - right - 16.0);
    }
    y(query)
}
