//! The attention explorer: a layers × heads grid of thumbnails (hover previews, click chooses), the chosen
//! head as a query × key matrix or as lines between two token columns, a step scrubber with replay, the
//! mean over heads, the first ("sink") token hidden on demand, PNG and SVG export. The worker computes
//! every view from the attention it recorded; this component only draws.

use engine::trace::HeadPick;
use leptos::ev;
use leptos::html::{Canvas, Div};
use leptos::prelude::*;

mod canvas;

use self::canvas::{draw_lines, draw_matrix, head_code, labels, labels_untracked, line_row, MatrixLayout};
use crate::draw::{self, context_2d, css_gradient, put_pixels};
use crate::state::{AppState, HeadView};

const GRID_GAP: usize = 2;

/// The explorer panel.
#[component]
pub fn AttentionExplorer(state: AppState) -> impl IntoView {
    let t = move || state.lang.get().t();
    let lang = move || state.lang.get();
    let ex = state.explorer;
    let grid_canvas = NodeRef::<Canvas>::new();
    let head_canvas = NodeRef::<Canvas>::new();
    let lines_canvas = NodeRef::<Canvas>::new();
    let lines_holder = NodeRef::<Div>::new();
    let layout = StoredValue::new(MatrixLayout::default());
    let tip: RwSignal<Option<(f64, f64, String)>> = RwSignal::new(None);
    let replay: StoredValue<Option<IntervalHandle>> = StoredValue::new(None);

    let last = move || state.shown.with(|e| if e.traced { e.last_read() } else { None });
    let projector = move || state.prefs.with(|p| p.projector);

    // Pictures are drawn only while the explorer is on screen, and again when it comes back: on two
    // cores, drawing takes time from the engine's threads while an answer is written.
    let panel = NodeRef::<leptos::html::Section>::new();
    let on_screen = RwSignal::new(true);
    Effect::new(move |_| {
        if let Some(panel) = panel.get() {
            draw::watch_on_screen(&panel, on_screen);
        }
    });
    // Draw the grid whenever its thumbnails (or the chosen head) change.
    Effect::new(move |_| {
        if !on_screen.get() {
            return;
        }
        let (Some(canvas), Some(thumbs)) = (grid_canvas.get(), ex.grid.get()) else { return };
        let (w, h, px) = draw::grid_pixels(&thumbs, GRID_GAP);
        put_pixels(&canvas, w, h, &px);
        if let (Some(ctx), HeadPick::One(head)) = (context_2d(&canvas), ex.head.get()) {
            let cell = (thumbs.side + GRID_GAP) as f64;
            ctx.set_stroke_style_str("#e69f00");
            ctx.set_line_width(1.0);
            // Inside the thumbnail, so the last column's frame is not cut by the canvas's edge.
            let side = thumbs.side as f64;
            ctx.stroke_rect(head as f64 * cell + 0.5, ex.layer.get() as f64 * cell + 0.5, side - 1.0, side - 1.0);
        }
    });
    // Draw the selected head when it changes (not at every token: the matrix's tokens are all there).
    Effect::new(move |_| {
        if !on_screen.get() {
            return;
        }
        let Some(m) = ex.matrix.get() else { return };
        let labels = labels_untracked(&state);
        let projector = projector();
        let _ = state.lang.get();
        match ex.view.get() {
            HeadView::Matrix => {
                if let Some(canvas) = head_canvas.get() {
                    layout.set_value(draw_matrix(&canvas, &m, &labels, projector));
                }
            }
            HeadView::Lines => {
                if let (Some(canvas), Some(holder)) = (lines_canvas.get(), lines_holder.get()) {
                    let at = draw_lines(&canvas, &m, &labels, projector);
                    // Keep the selected token in view when the conversation is taller than the view.
                    let scale = canvas.client_height() as f64 / canvas.height().max(1) as f64;
                    holder.set_scroll_top((at * scale - holder.client_height() as f64 / 2.0) as i32);
                }
            }
        }
    });

    let grid_hit = move |ev: &ev::MouseEvent| -> Option<(usize, usize)> {
        let canvas = grid_canvas.get()?;
        let thumbs = ex.grid.get_untracked()?;
        let scale = canvas.width() as f64 / canvas.client_width().max(1) as f64;
        let cell = (thumbs.side + GRID_GAP) as f64;
        let head = (ev.offset_x() as f64 * scale / cell) as usize;
        let layer = (ev.offset_y() as f64 * scale / cell) as usize;
        (layer < thumbs.n_layer && head < thumbs.n_head).then_some((layer, head))
    };
    let matrix_hover = move |ev: ev::MouseEvent| {
        let (Some(canvas), Some(m)) = (head_canvas.get(), ex.matrix.get_untracked()) else { return };
        let l = layout.get_value();
        let scale = canvas.width() as f64 / canvas.client_width().max(1) as f64;
        let (x, y) = (ev.offset_x() as f64 * scale - l.margin, ev.offset_y() as f64 * scale - l.margin);
        let (k, q) = ((x / l.cell).floor(), (y / l.cell).floor());
        if x < 0.0 || y < 0.0 || k as usize >= l.n || q as usize >= l.n {
            tip.set(None);
            return;
        }
        let (q, k) = (q as usize, k as usize);
        let text = if k > q {
            None
        } else if !m.has_row(q) {
            Some(t().untraced.to_owned())
        } else {
            let labels = labels(&state);
            let name = |i: usize| labels.get(i).cloned().unwrap_or_default();
            Some(lang().weight_tip(&name(q), q, &name(k), k, m.get(q, k)))
        };
        tip.set(text.map(|s| (ev.offset_x() as f64 + 14.0, ev.offset_y() as f64 + 14.0, s)));
    };
    let lines_click = move |ev: ev::MouseEvent| {
        let Some(canvas) = lines_canvas.get() else { return };
        let n = ex.matrix.with_untracked(|m| m.as_ref().map_or(1, |m| m.n));
        let scale = canvas.height() as f64 / canvas.client_height().max(1) as f64;
        let row = ((ev.offset_y() as f64 * scale - 8.0) / line_row(n)).floor();
        if row >= 0.0 {
            ex.selected.set(Some(row as usize));
        }
    };
    let stop_replay = move || {
        if let Some(handle) = replay.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    };
    let start_replay = move || {
        stop_replay();
        let Some(end) = last() else { return };
        let from = state.shown.with_untracked(|e| e.prompt_len.saturating_sub(1));
        ex.selected.set(Some(from));
        let handle = set_interval_with_handle(
            move || {
                let next = ex.selected.get_untracked().map_or(end, |s| s + 1);
                if next >= end {
                    ex.selected.set(None);
                    stop_replay();
                } else {
                    ex.selected.set(Some(next));
                }
            },
            std::time::Duration::from_millis(250),
        );
        if let Ok(handle) = handle {
            replay.set_value(Some(handle));
        }
    };
    let file_stem = move || {
        ex.matrix.with_untracked(|m| {
            m.as_ref()
                .map(|m| format!("glassbox-attention-layer{}-head{}-token{}", m.layer, head_code(m.head), m.n - 1))
                .unwrap_or_else(|| "glassbox-attention".to_owned())
        })
    };
    let title = move || {
        ex.matrix.with_untracked(|m| {
            m.as_ref()
                .map(|m| {
                    let head = match m.head {
                        HeadPick::One(h) => Some(h),
                        HeadPick::Mean => None,
                    };
                    let at = m.n - 1;
                    let token = labels(&state).get(at).cloned().unwrap_or_default();
                    format!("{} · {}", lang().head_name(m.layer, head), lang().step_name(at, at, &token))
                })
                .unwrap_or_default()
        })
    };
    let export_png = move || {
        let canvas = match ex.view.get_untracked() {
            HeadView::Matrix => head_canvas.get_untracked(),
            HeadView::Lines => lines_canvas.get_untracked(),
        };
        if let Some(url) = canvas.and_then(|c| c.to_data_url().ok()) {
            draw::download_url(&url, &format!("{}.png", file_stem()));
        }
    };
    let export_svg = move || {
        let Some(m) = ex.matrix.get_untracked() else { return };
        let labels = labels(&state);
        let svg = match ex.view.get_untracked() {
            HeadView::Matrix => draw::matrix_svg(&m, &labels, &title()),
            HeadView::Lines => {
                let q = m.n - 1;
                let row: Vec<f32> = (0..=q).map(|k| if m.has_row(q) { m.get(q, k) } else { 0.0 }).collect();
                draw::lines_svg(&row, &labels[..m.n.min(labels.len())], q, &title())
            }
        };
        draw::download_text(&svg, "image/svg+xml", &format!("{}.svg", file_stem()));
    };

    let shown_row = move || {
        ex.matrix.with(|m| {
            m.as_ref()
                .filter(|m| m.has_row(m.n - 1))
                .map(|m| (0..m.n).map(|k| format!("{:.6}", m.get(m.n - 1, k))).collect::<Vec<_>>().join(","))
        })
    };
    let status = move || {
        if !state.settings.with(|s| s.trace) && last().is_none() {
            Some(t().attention_off)
        } else if last().is_none() {
            Some(t().attention_empty)
        } else {
            None
        }
    };
    let (n_layer, n_head) = (move || ex.shape.get().0, move || ex.shape.get().1);
    view! {
        <section class="attention panel" aria-labelledby="attention-title" data-testid="attention" node_ref=panel>
            <h2 id="attention-title">{move || t().attention}</h2>
            <p class="hint">{move || t().attention_intro}</p>
            <super::reading::ReadBox state=state/>
            <p class="muted" data-testid="attention-status" hidden=move || status().is_none()>{status}</p>
            <div class="explorer" hidden=move || status().is_some()>
                <div class="controls">
                    <label>
                        {move || t().layer}" "
                        <select
                            data-testid="layer"
                            on:change=move |ev| {
                                if let Ok(l) = event_target_value(&ev).parse() {
                                    ex.layer.set(l);
                                    ex.preview.set(None);
                                }
                            }
                        >
                            {move || {
                                (0..n_layer())
                                    .map(|l| view! { <option value=l selected=move || ex.layer.get() == l>{l}</option> })
                                    .collect_view()
                            }}
                        </select>
                    </label>
                    <label>
                        {move || t().head}" "
                        <select
                            data-testid="head"
                            on:change=move |ev| {
                                let v = event_target_value(&ev);
                                ex.head.set(v.parse().map(HeadPick::One).unwrap_or(HeadPick::Mean));
                                ex.preview.set(None);
                            }
                        >
                            <option value="mean" selected=move || ex.head.get() == HeadPick::Mean>
                                {move || t().mean_of_heads}
                            </option>
                            {move || {
                                (0..n_head())
                                    .map(|h| {
                                        view! { <option value=h selected=move || ex.head.get() == HeadPick::One(h)>{h}</option> }
                                    })
                                    .collect_view()
                            }}
                        </select>
                    </label>
                    <label class="check">
                        <input
                            type="checkbox"
                            data-testid="hide-sink"
                            prop:checked=move || ex.hide_sink.get()
                            on:change=move |ev| ex.hide_sink.set(event_target_checked(&ev))
                        />
                        {move || t().hide_sink}
                    </label>
                    <div class="group" role="group">
                        <button
                            type="button"
                            data-testid="view-matrix"
                            aria-pressed=move || (ex.view.get() == HeadView::Matrix).to_string()
                            on:click=move |_| ex.view.set(HeadView::Matrix)
                        >
                            {move || t().matrix_view}
                        </button>
                        <button
                            type="button"
                            data-testid="view-lines"
                            aria-pressed=move || (ex.view.get() == HeadView::Lines).to_string()
                            on:click=move |_| ex.view.set(HeadView::Lines)
                        >
                            {move || t().lines_view}
                        </button>
                    </div>
                    <button type="button" class="secondary" data-testid="export-png" on:click=move |_| export_png()>
                        {move || t().export_png}
                    </button>
                    <button type="button" class="secondary" data-testid="export-svg" on:click=move |_| export_svg()>
                        {move || t().export_svg}
                    </button>
                </div>
                <div class="scrubber">
                    <input
                        type="range"
                        data-testid="step"
                        aria-label=move || t().follow
                        min="0"
                        max=move || last().unwrap_or(0)
                        prop:value=move || state.upto().unwrap_or(0)
                        on:input=move |ev| {
                            stop_replay();
                            if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                                ex.selected.set(Some(v));
                                state.focus.set(Some(v));
                            }
                        }
                    />
                    <span class="step-name" data-testid="step-name">
                        {move || {
                            let at = state.upto()?;
                            let token = labels(&state).get(at).cloned().unwrap_or_default();
                            Some(lang().step_name(at, last()?, &token))
                        }}
                    </span>
                    <button type="button" class="secondary" on:click=move |_| start_replay()>
                        {move || t().play}
                    </button>
                    <button
                        type="button"
                        class="secondary"
                        data-testid="follow"
                        disabled=move || ex.selected.get().is_none()
                        on:click=move |_| {
                            stop_replay();
                            ex.selected.set(None);
                        }
                    >
                        {move || t().follow}
                    </button>
                </div>
                <div class="views">
                    <figure class="grid">
                        <canvas
                            node_ref=grid_canvas
                            data-testid="head-grid"
                            on:mousemove=move |ev| ex.preview.set(grid_hit(&ev))
                            on:mouseleave=move |_| ex.preview.set(None)
                            on:click=move |ev| {
                                if let Some((layer, head)) = grid_hit(&ev) {
                                    ex.layer.set(layer);
                                    ex.head.set(HeadPick::One(head));
                                    ex.preview.set(None);
                                }
                            }
                        ></canvas>
                        <figcaption>{move || t().grid_hint}</figcaption>
                    </figure>
                    <figure
                        class="head"
                        data-testid="head-view"
                        data-layer=move || ex.matrix.with(|m| m.as_ref().map(|m| m.layer))
                        data-head=move || ex.matrix.with(|m| m.as_ref().map(|m| head_code(m.head)))
                        data-upto=move || ex.matrix.with(|m| m.as_ref().map(|m| m.n - 1))
                        data-hide-sink=move || ex.matrix.with(|m| m.as_ref().map(|m| m.hide_sink.to_string()))
                        data-row=shown_row
                    >
                        <figcaption class="title">
                            {move || {
                                let (layer, head) = state.shown_head();
                                let head = match head {
                                    HeadPick::One(h) => Some(h),
                                    HeadPick::Mean => None,
                                };
                                lang().head_name(layer, head)
                            }}
                        </figcaption>
                        <div class="canvas-holder" hidden=move || ex.view.get() != HeadView::Matrix>
                            <canvas
                                node_ref=head_canvas
                                data-testid="head-matrix"
                                on:mousemove=matrix_hover
                                on:mouseleave=move |_| tip.set(None)
                            ></canvas>
                            <div
                                class="tip"
                                data-testid="weight-tip"
                                hidden=move || tip.get().is_none()
                                style=move || tip.get().map(|(x, y, _)| format!("left: {x}px; top: {y}px")).unwrap_or_default()
                            >
                                {move || tip.get().map(|(_, _, s)| s)}
                            </div>
                        </div>
                        <div class="lines-holder" node_ref=lines_holder hidden=move || ex.view.get() != HeadView::Lines>
                            <canvas node_ref=lines_canvas data-testid="head-lines" on:click=lines_click></canvas>
                        </div>
                        <div class="colour-bar" hidden=move || ex.view.get() == HeadView::Lines>
                            <span>"0"</span>
                            <span class="bar" style=format!("background: {}", css_gradient())></span>
                            <span>"1"</span>
                        </div>
                        <figcaption>
                            {move || match ex.view.get() {
                                HeadView::Matrix => t().matrix_hint,
                                HeadView::Lines => t().lines_hint,
                            }}
                        </figcaption>
                        <figcaption class="muted" hidden=move || state.explorer.selected.get().is_some() || state.shown.with(|e| e.read)>
                            {move || t().not_read_yet}
                        </figcaption>
                    </figure>
                </div>
            </div>
        </section>
    }
}
