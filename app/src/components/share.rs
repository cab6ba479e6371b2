//! *Share*: the link of the screen as it is now, to copy, and as a QR code drawn in the page (SVG from
//! the `qrcode` crate; nothing is sent anywhere to make it).

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::state::AppState;

/// The QR code of `text` as an SVG document, or `None` when it is too long for one.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(280, 280)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
    )
}

/// The share button and its panel.
#[component]
pub fn Share(state: AppState) -> impl IntoView {
    let tt = move || state.lang.get().tt();
    let open = RwSignal::new(false);
    let link = RwSignal::new(String::new());
    let qr = Memo::new(move |_| qr_svg(&link.get()));
    let show = move |_| {
        link.set(state.link());
        open.set(true);
    };
    let copy = move |_| {
        if let Some(clipboard) = web_sys::window().map(|w| w.navigator().clipboard()) {
            let _ = clipboard.write_text(&link.get_untracked());
        }
    };
    view! {
        <button type="button" data-testid="share" on:click=show>{move || tt().share}</button>
        <div class="share-panel panel" data-testid="share-panel" hidden=move || !open.get() role="dialog" aria-modal="false">
            <p>{move || tt().share_title}</p>
            <div class="share-link">
                <input
                    type="text"
                    readonly
                    data-testid="share-link"
                    prop:value=move || link.get()
                    on:focus=move |ev| {
                        if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                            input.select();
                        }
                    }
                />
                <button type="button" class="secondary" on:click=copy>{move || tt().copy}</button>
            </div>
            {move || match qr.get() {
                Some(svg) => view! { <div class="qr" data-testid="share-qr" inner_html=svg></div> }.into_any(),
                None => view! { <p class="muted">{tt().qr_too_long}</p> }.into_any(),
            }}
            <button type="button" class="secondary" on:click=move |_| open.set(false)>{move || tt().close}</button>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::qr_svg;

    #[test]
    fn a_link_becomes_a_qr_code_and_a_huge_one_does_not() {
        let svg = qr_svg("http://192.168.1.20:8080/#lesson/t2").expect("a QR code");
        assert!(svg.contains("<svg") && svg.contains("#000000"));
        assert!(qr_svg(&"x".repeat(10_000)).is_none());
    }
}
