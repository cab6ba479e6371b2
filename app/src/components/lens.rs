//! The logit lens: a blocks × tokens grid, each cell the token the model would predict next if it
//! stopped after that block, coloured by its probability (viridis, 0–1); a click lists the cell's five
//! likeliest tokens. Rows arrive one block at a time from the worker.

use leptos::prelude::*;

use super::tokens::chip_text;
use crate::draw::colour;
use crate::protocol::Context;
use crate::state::AppState;

/// Black or white text, whichever reads better on a viridis cell.
fn ink_on(p: f32) -> &'static str {
    if p > 0.55 {
        "#000"
    } else {
        "#fff"
    }
}

/// The lens panel: on the game's text, or on the last chat answer.
#[component]
pub fn LogitLens(state: AppState) -> impl IntoView {
    let tt = move || state.lang.get().tt();
    let lang = move || state.lang.get();
    let lens = state.teach.lens;
    let on_game = move || {
        let context = state.teach.game.with_untracked(|g| g.context());
        state.ask_lens(context);
    };
    let on_answer = move || {
        let ids: Vec<u32> = state.exchange.with_untracked(|e| e.tokens.iter().map(|t| t.piece.id).collect());
        if !ids.is_empty() {
            state.ask_lens(Context::Ids(ids));
        }
    };
    view! {
        <section class="lens" data-testid="lens" aria-labelledby="lens-title">
            <h3 id="lens-title">{move || tt().lens_title}</h3>
            <p class="hint">{move || tt().lens_intro}</p>
            <div class="actions">
                <button
                    type="button"
                    data-testid="lens-game"
                    disabled=move || !state.can_predict() || lens.with(|l| l.busy) || state.teach.game.with(|g| g.start.is_empty() && g.ids.is_empty())
                    on:click=move |_| on_game()
                >
                    {move || tt().lens_on_text}
                </button>
                <button
                    type="button"
                    class="secondary"
                    data-testid="lens-answer"
                    disabled=move || !state.can_predict() || lens.with(|l| l.busy) || state.exchange.with(|e| e.tokens.is_empty())
                    on:click=move |_| on_answer()
                >
                    {move || tt().lens_on_answer}
                </button>
                <span class="muted" role="status" data-testid="lens-status" data-done=move || lens.with(|l| if l.took_ms.is_some() { "true" } else { "false" }) data-on-gpu=move || lens.with(|l| l.on_gpu.to_string())>
                    {move || {
                        lens.with(|l| {
                            if l.busy {
                                Some(format!("{} {}/{}", tt().game_thinking, l.layers.len(), state.explorer.shape.get().0))
                            } else {
                                l.took_ms.map(|ms| lang().lens_took(l.pieces.len(), l.layers.len(), ms, l.on_gpu))
                            }
                        })
                    }}
                </span>
            </div>
            <div class="colour-bar" hidden=move || lens.with(|l| l.layers.is_empty())>
                <span>"0"</span>
                <span class="bar" style=format!("background: {}", crate::draw::css_gradient())></span>
                <span>"1"</span>
            </div>
            <div class="lens-holder" hidden=move || lens.with(|l| l.layers.is_empty())>
                <table class="lens-grid" data-testid="lens-grid">
                    <thead>
                        <tr>
                            <th>{move || tt().lens_layer}</th>
                            {move || lens.with(|l| l.pieces.iter().map(|p| view! { <th><code>{chip_text(&p.text)}</code></th> }).collect_view())}
                        </tr>
                    </thead>
                    <tbody>
                        {move || {
                            lens.with(|l| {
                                l.layers
                                    .iter()
                                    .enumerate()
                                    .map(|(layer, row)| {
                                        let cells = row
                                            .iter()
                                            .enumerate()
                                            .map(|(pos, cell)| {
                                                let best = cell.first().cloned();
                                                let (text, prob, id) = best.map(|b| (chip_text(&b.piece.text), b.prob, b.piece.id)).unwrap_or_default();
                                                let [r, g, b] = colour(prob);
                                                let style = format!("background: rgb({r},{g},{b}); color: {}", ink_on(prob));
                                                let title = format!("{text} · {}", lang().percent(prob));
                                                view! {
                                                    <td
                                                        style=style
                                                        title=title
                                                        data-layer=layer
                                                        data-pos=pos
                                                        data-id=id
                                                        data-prob=prob.to_string()
                                                        class:selected=move || lens.with(|l| l.selected == Some((layer, pos)))
                                                        on:click=move |_| lens.update(|l| l.selected = Some((layer, pos)))
                                                    >
                                                        {text}
                                                    </td>
                                                }
                                            })
                                            .collect_view();
                                        view! { <tr><th>{layer}</th>{cells}</tr> }
                                    })
                                    .collect_view()
                            })
                        }}
                    </tbody>
                </table>
            </div>
            <div class="lens-cell" data-testid="lens-cell" hidden=move || lens.with(|l| l.selected_cell().is_none())>
                {move || {
                    lens.with(|l| {
                        let (layer, pos) = l.selected?;
                        let token = l.pieces.get(pos).map(|p| chip_text(&p.text)).unwrap_or_default();
                        let items = l.selected_cell()?.iter().map(|alt| {
                            let width = format!("width: {:.1}%", (alt.prob * 100.0).clamp(0.5, 100.0));
                            view! {
                                <li>
                                    <code>{chip_text(&alt.piece.text)}</code>
                                    <span class="bar"><span style=width></span></span>
                                    <span class="num">{lang().percent(alt.prob)}</span>
                                </li>
                            }
                        }).collect_view();
                        Some(view! {
                            <p><strong>{lang().lens_cell(layer, &token)}</strong></p>
                            <ol class="alternatives">{items}</ol>
                        })
                    })
                }}
            </div>
        </section>
    }
}
