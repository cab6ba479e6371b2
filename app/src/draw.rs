//! Pictures of attention: the colour scale, the pixels of a head's matrix and of the grid of every head,
//! an SVG export, and the canvas calls that put them on the page. Pixels and SVG are plain functions,
//! tested natively; only [`put_pixels`] and the download helpers touch the browser.

use engine::trace::{HeadMatrix, Thumbnails};
use wasm_bindgen::{Clamped, JsCast};

/// Viridis at nine evenly spaced points: perceptually uniform, readable by the colour-blind, and
/// still ordered when printed in grey.
const VIRIDIS: [[u8; 3]; 9] = [
    [0x44, 0x01, 0x54],
    [0x48, 0x28, 0x78],
    [0x3e, 0x49, 0x89],
    [0x31, 0x68, 0x8e],
    [0x26, 0x82, 0x8e],
    [0x1f, 0x9e, 0x89],
    [0x35, 0xb7, 0x79],
    [0x6e, 0xce, 0x58],
    [0xfd, 0xe7, 0x25],
];

/// Cells the query cannot see (the future).
pub const FUTURE: [u8; 3] = [0x9a, 0xa0, 0xa8];
/// Rows that were not recorded.
pub const UNTRACED: [u8; 3] = [0x5b, 0x61, 0x6b];

/// The colour of weight `w` on the fixed [0, 1] scale (values outside are clamped).
pub fn colour(w: f32) -> [u8; 3] {
    let x = if w.is_finite() { w.clamp(0.0, 1.0) } else { 0.0 } * (VIRIDIS.len() - 1) as f32;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let t = x - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    [0, 1, 2].map(|c| (a[c] as f32 + (b[c] as f32 - a[c] as f32) * t).round() as u8)
}

/// CSS `linear-gradient` stops of the scale, for the colour bar.
pub fn css_gradient() -> String {
    let stops: Vec<String> = (0..VIRIDIS.len())
        .map(|i| {
            let [r, g, b] = VIRIDIS[i];
            format!("#{r:02x}{g:02x}{b:02x} {}%", i * 100 / (VIRIDIS.len() - 1))
        })
        .collect();
    format!("linear-gradient(to right, {})", stops.join(", "))
}

/// RGBA pixels of a head's matrix, one pixel per (query, key): weights in colour, the future in grey,
/// rows that were not recorded darker.
pub fn matrix_pixels(m: &HeadMatrix) -> Vec<u8> {
    let mut px = Vec::with_capacity(m.n * m.n * 4);
    for q in 0..m.n {
        let traced = m.has_row(q);
        for k in 0..m.n {
            let rgb = match (traced, k > q) {
                (_, true) => FUTURE,
                (false, false) => UNTRACED,
                (true, false) => colour(m.get(q, k)),
            };
            px.extend_from_slice(&rgb);
            px.push(255);
        }
    }
    px
}

/// RGBA pixels of every head's thumbnail tiled as layers (rows) × heads (columns), `gap` transparent
/// pixels apart, the future transparent; returns `(width, height, pixels)`.
pub fn grid_pixels(t: &Thumbnails, gap: usize) -> (usize, usize, Vec<u8>) {
    let cell = t.side + gap;
    let (width, height) = (t.n_head * cell - gap, t.n_layer * cell - gap);
    let mut px = vec![0u8; width * height * 4];
    for layer in 0..t.n_layer {
        for head in 0..t.n_head {
            for r in 0..t.side {
                for c in 0..t.side {
                    // The future stays transparent: each thumbnail reads as the causal triangle it is.
                    if c > r {
                        continue;
                    }
                    let at = ((layer * cell + r) * width + head * cell + c) * 4;
                    px[at..at + 3].copy_from_slice(&colour(t.cell(layer, head, r, c) as f32 / 255.0));
                    px[at + 3] = 255;
                }
            }
        }
    }
    (width, height, px)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A standalone SVG of a head's matrix with its token labels, title and colour bar; each cell carries
/// its exact weight in a `<title>`.
pub fn matrix_svg(m: &HeadMatrix, labels: &[String], title: &str) -> String {
    const CELL: usize = 14;
    const MARGIN: usize = 120;
    let side = MARGIN + m.n * CELL + 20;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{side}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"10\">\n<title>{}</title>\n<text x=\"4\" y=\"14\" font-size=\"13\">{}</text>\n",
        side + 40,
        escape(title),
        escape(title)
    );
    let label = |i: usize| escape(labels.get(i).map(String::as_str).unwrap_or(""));
    for i in 0..m.n {
        let y = MARGIN + i * CELL + CELL - 3;
        out += &format!("<text x=\"{}\" y=\"{y}\" text-anchor=\"end\">{}</text>\n", MARGIN - 4, label(i));
        let x = MARGIN + i * CELL + CELL - 3;
        out += &format!("<text transform=\"translate({x},{}) rotate(-90)\">{}</text>\n", MARGIN - 4, label(i));
    }
    for q in 0..m.n {
        for k in 0..m.n {
            let (x, y) = (MARGIN + k * CELL, MARGIN + q * CELL);
            let (rgb, tip) = match (m.has_row(q), k > q) {
                (_, true) => (FUTURE, String::new()),
                (false, false) => (UNTRACED, String::new()),
                (true, false) => (colour(m.get(q, k)), format!("<title>{:.4}</title>", m.get(q, k))),
            };
            let [r, g, b] = rgb;
            out += &format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"{CELL}\" height=\"{CELL}\" fill=\"#{r:02x}{g:02x}{b:02x}\">{tip}</rect>\n"
            );
        }
    }
    let bar_y = MARGIN + m.n * CELL + 12;
    for i in 0..100 {
        let [r, g, b] = colour(i as f32 / 99.0);
        out += &format!(
            "<rect x=\"{}\" y=\"{bar_y}\" width=\"2\" height=\"10\" fill=\"#{r:02x}{g:02x}{b:02x}\"/>",
            MARGIN + i * 2
        );
    }
    out += &format!(
        "\n<text x=\"{MARGIN}\" y=\"{}\">0</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">1</text>\n</svg>\n",
        bar_y + 22,
        MARGIN + 200,
        bar_y + 22
    );
    out
}

/// A standalone SVG of the lines view: the selected token on the left joined to every token it looks
/// at on the right, each line's opacity its weight.
pub fn lines_svg(row: &[f32], labels: &[String], query: usize, title: &str) -> String {
    const ROW: usize = 18;
    let (left, right) = (220, 380);
    let height = 40 + labels.len().max(1) * ROW;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<title>{}</title>\n<text x=\"4\" y=\"14\" font-size=\"13\">{}</text>\n",
        escape(title),
        escape(title)
    );
    let y = |i: usize| 40 + i * ROW;
    for (k, &w) in row.iter().enumerate() {
        if w > 0.0 {
            out += &format!(
                "<line x1=\"{left}\" y1=\"{}\" x2=\"{right}\" y2=\"{}\" stroke=\"#0072b2\" stroke-width=\"2\" stroke-opacity=\"{w:.4}\"><title>{w:.4}</title></line>\n",
                y(query) - 4,
                y(k) - 4
            );
        }
    }
    for (i, label) in labels.iter().enumerate() {
        let weight = if i == query { " font-weight=\"bold\"" } else { "" };
        out += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"end\"{weight}>{}</text>", left - 8, y(i), escape(label));
        out += &format!("<text x=\"{}\" y=\"{}\">{}</text>\n", right + 8, y(i), escape(label));
    }
    out + "</svg>\n"
}

/// Sizes `canvas` to `width × height` and fills it with `rgba` (CSS scales it up, pixelated); a 0 size
/// empties it.
pub fn put_pixels(canvas: &web_sys::HtmlCanvasElement, width: usize, height: usize, rgba: &[u8]) {
    canvas.set_width(width as u32);
    canvas.set_height(height as u32);
    if width == 0 || height == 0 {
        return;
    }
    let Some(ctx) = context_2d(canvas) else { return };
    if let Ok(image) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width as u32, height as u32)
    {
        let _ = ctx.put_image_data(&image, 0.0, 0.0);
    }
}

/// The canvas's 2-D context.
pub fn context_2d(canvas: &web_sys::HtmlCanvasElement) -> Option<web_sys::CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

/// Offers `url` as a download named `file_name`.
pub fn download_url(url: &str, file_name: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(a) = document.create_element("a") else { return };
    let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>() else { return };
    a.set_href(url);
    a.set_download(file_name);
    a.click();
}

/// Offers `text` as a download of type `mime`.
pub fn download_text(text: &str, mime: &str, file_name: &str) {
    download_parts(&js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text)), mime, file_name);
}

/// Offers `bytes` as a download of type `mime`.
pub fn download_bytes(bytes: &[u8], mime: &str, file_name: &str) {
    download_parts(&js_sys::Array::of1(&js_sys::Uint8Array::from(bytes)), mime, file_name);
}

/// Offers a blob of `parts` (strings or byte arrays) as a download.
fn download_parts(parts: &js_sys::Array, mime: &str, file_name: &str) {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_blob_sequence_and_options(parts, &options) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    download_url(&url, file_name);
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// RGBA pixels of every head of one layer side by side, `gap` columns apart: `attention` is
/// `(heads, len, len)` (zero above the diagonal, drawn as the future). Returns width, height, pixels.
pub fn heads_pixels(attention: &[f32], heads: usize, len: usize, gap: usize) -> (usize, usize, Vec<u8>) {
    let width = heads * len + heads.saturating_sub(1) * gap;
    let mut px = vec![0u8; width * len * 4];
    for h in 0..heads {
        for q in 0..len {
            for k in 0..len {
                let rgb =
                    if k > q { FUTURE } else { colour(attention.get((h * len + q) * len + k).copied().unwrap_or(0.0)) };
                let at = (q * width + h * (len + gap) + k) * 4;
                px[at..at + 4].copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
            }
        }
    }
    (width, len, px)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_side_by_side_put_each_weight_at_its_query_and_key_and_grey_the_future() {
        // Two heads over 3 characters: head 1 looks only at the first character.
        let mut att = vec![0.0f32; 2 * 9];
        for q in 0..3 {
            att[q * 3 + q] = 1.0;
            att[9 + q * 3] = 1.0;
        }
        let (w, h, px) = heads_pixels(&att, 2, 3, 1);
        assert_eq!((w, h, px.len()), (7, 3, 7 * 3 * 4));
        let at = |x: usize, y: usize| [px[(y * w + x) * 4], px[(y * w + x) * 4 + 1], px[(y * w + x) * 4 + 2]];
        assert_eq!(at(2, 2), colour(1.0));
        assert_eq!(at(0, 2), colour(0.0));
        assert_eq!(at(2, 0), FUTURE);
        assert_eq!(at(4, 2), colour(1.0), "head 1, key 0, past the gap");
        assert_eq!(at(3, 0), [0, 0, 0], "the gap stays empty");
    }
    use engine::trace::HeadPick;

    fn matrix() -> HeadMatrix {
        // 3 tokens; row 0 not recorded.
        let nan = f32::NAN;
        let weights = vec![nan, nan, nan, 0.25, 0.75, 0.0, 0.0, 0.5, 0.5];
        HeadMatrix { layer: 1, head: HeadPick::One(2), n: 3, weights, hide_sink: false }
    }

    #[test]
    fn the_scale_runs_from_viridis_dark_purple_to_yellow_and_clamps() {
        assert_eq!(colour(0.0), [0x44, 0x01, 0x54]);
        assert_eq!(colour(1.0), [0xfd, 0xe7, 0x25]);
        assert_eq!(colour(0.5), [0x26, 0x82, 0x8e]);
        assert_eq!(colour(-3.0), colour(0.0));
        assert_eq!(colour(7.0), colour(1.0));
        assert_eq!(colour(f32::NAN), colour(0.0));
        // Monotone in lightness (sum of channels) across the scale, so the order survives greyscale.
        let lightness: Vec<u32> = (0..=20).map(|i| colour(i as f32 / 20.0).iter().map(|&c| c as u32).sum()).collect();
        assert!(lightness.windows(2).all(|w| w[0] <= w[1]), "{lightness:?}");
    }

    #[test]
    fn matrix_pixels_grey_the_future_and_the_rows_not_recorded() {
        let px = matrix_pixels(&matrix());
        let at = |q: usize, k: usize| [px[(q * 3 + k) * 4], px[(q * 3 + k) * 4 + 1], px[(q * 3 + k) * 4 + 2]];
        assert_eq!(at(0, 0), UNTRACED);
        assert_eq!(at(0, 1), FUTURE);
        assert_eq!(at(1, 0), colour(0.25));
        assert_eq!(at(1, 2), FUTURE);
        assert_eq!(at(2, 2), colour(0.5));
        assert!(px.chunks(4).all(|p| p[3] == 255));
    }

    #[test]
    fn grid_pixels_tile_layers_down_and_heads_across() {
        let t = Thumbnails { n_layer: 2, n_head: 3, n: 2, side: 2, cells: (0..24).map(|i| (i * 10) as u8).collect() };
        let (w, h, px) = grid_pixels(&t, 1);
        assert_eq!((w, h), (8, 5));
        // Layer 1, head 2, cell (1, 0) sits at x = 2·3, y = 1·3 + 1.
        let at = ((4 * w) + 6) * 4;
        assert_eq!(px[at..at + 3], colour(t.cell(1, 2, 1, 0) as f32 / 255.0));
        // Gaps and the future stay transparent.
        assert_eq!(px[(2 * 4) + 3], 0);
        assert_eq!(px[4 + 3], 0, "cell (0, 1) is in the future");
    }

    #[test]
    fn svg_export_escapes_labels_and_carries_each_weight() {
        let svg = matrix_svg(&matrix(), &["<|im_start|>".into(), "a&b".into(), "c".into()], "Layer 1, head 2");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("&lt;|im_start|&gt;") && svg.contains("a&amp;b"));
        assert!(svg.contains("<title>0.7500</title>") && svg.contains("<title>0.2500</title>"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn lines_svg_draws_one_line_per_key_with_weight_as_opacity() {
        let svg = lines_svg(&[0.5, 0.0, 0.5], &["a".into(), "b".into(), "c".into()], 2, "t");
        assert_eq!(svg.matches("<line").count(), 2, "a zero weight draws no line");
        assert!(svg.contains("stroke-opacity=\"0.5000\""));
    }
}

/// The bytes of the file just chosen in a file input (the input is cleared, so the same file can be
/// chosen again), handed to `then`.
pub fn chosen_file_bytes(ev: &leptos::ev::Event, then: impl FnOnce(Vec<u8>) + 'static) {
    let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
    let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
    input.set_value("");
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(buffer) = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
            then(js_sys::Uint8Array::new(&buffer).to_vec());
        }
    });
}

/// Keeps `on_screen` true while `element` shows at least partly in the viewport (an
/// `IntersectionObserver`, disconnected when the calling scope ends); without the API it stays as it is.
pub fn watch_on_screen(element: &web_sys::Element, on_screen: leptos::prelude::RwSignal<bool>) {
    use leptos::prelude::*;
    let callback = wasm_bindgen::closure::Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
        if let Some(entry) = entries.iter().last() {
            on_screen.set(entry.unchecked_into::<web_sys::IntersectionObserverEntry>().is_intersecting());
        }
    });
    let Ok(observer) = web_sys::IntersectionObserver::new(callback.as_ref().unchecked_ref()) else { return };
    observer.observe(element);
    let kept = StoredValue::new_local((observer, callback));
    on_cleanup(move || kept.with_value(|(observer, _)| observer.disconnect()));
}
