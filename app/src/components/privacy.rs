//! The requests log: every request the page and its two workers made since it opened, read from the
//! browser's own resource timing (the page's navigation and resources, and what each worker reports of
//! its own), grouped by where it went; refreshed every second while shown.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::protocol::Fetched;
use crate::state::AppState;

/// Who made a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Page,
    Engine,
    Lab,
}

/// One request, as the log shows it.
#[derive(Debug, Clone, PartialEq)]
struct Request {
    who: Who,
    url: String,
    at_ms: f64,
    from_network: bool,
}

/// The page's own requests: its navigation, then every resource.
fn page_requests() -> Vec<Request> {
    let Some(performance) = web_sys::window().and_then(|w| w.performance()) else { return Vec::new() };
    let origin = performance.time_origin();
    let entries = performance.get_entries_by_type("navigation");
    let resources = performance.get_entries_by_type("resource");
    entries
        .iter()
        .chain(resources.iter())
        .filter_map(|e| e.dyn_into::<web_sys::PerformanceResourceTiming>().ok())
        .map(|e| Request {
            who: Who::Page,
            url: e.name(),
            at_ms: origin + e.start_time(),
            from_network: e.transfer_size() > 0.0,
        })
        .collect()
}

fn from_worker(who: Who, list: &[Fetched]) -> Vec<Request> {
    list.iter()
        .map(|f| Request { who, url: f.url.clone(), at_ms: f.at_ms, from_network: f.transfer_bytes > 0.0 })
        .collect()
}

/// `scheme://host:port` of an address (`blob:`/`data:` stay in the browser: they count as its own).
fn origin_of(url: &str) -> String {
    if url.starts_with("blob:") || url.starts_with("data:") {
        return "this browser".to_owned();
    }
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    format!("{scheme}://{host}")
}

/// The requests log.
#[component]
pub fn Privacy(state: AppState) -> impl IntoView {
    let tt = move || state.lang.get().tt();
    let lang = move || state.lang.get();
    let page = RwSignal::new(page_requests());
    state.ask_fetched();
    let tick = set_interval_with_handle(
        move || {
            page.set(page_requests());
            state.ask_fetched();
        },
        std::time::Duration::from_millis(1000),
    )
    // (The error, a JsValue, cannot go into the cleanup, which must be `Send`.)
    .ok();
    on_cleanup(move || {
        if let Some(handle) = tick {
            handle.clear();
        }
    });
    let own = StoredValue::new(web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default());
    let is_own = move |url: &str| {
        let o = origin_of(url);
        o == "this browser" || own.with_value(|own| *own == o)
    };
    let all = Memo::new(move |_| {
        let mut all = page.get();
        all.extend(from_worker(Who::Engine, &state.teach.engine_fetched.get()));
        all.extend(from_worker(Who::Lab, &state.teach.lab_fetched.get()));
        all.extend(from_worker(Who::Lab, &state.teach.pretrain_fetched.get()));
        all.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        all
    });
    let summary = Memo::new(move |_| {
        all.with(|all| {
            let elsewhere = all.iter().filter(|r| !is_own(&r.url)).count();
            let since = state.teach.model_ready_at.get().map(|t| all.iter().filter(|r| r.at_ms > t).count());
            (all.len(), all.len() - elsewhere, elsewhere, since)
        })
    });
    view! {
        <section class="privacy panel" data-testid="privacy" aria-labelledby="privacy-title">
            <h2 id="privacy-title">{move || tt().privacy_title}</h2>
            <p
                class="summary"
                data-testid="requests-summary"
                data-total=move || summary.get().0
                data-own=move || summary.get().1
                data-elsewhere=move || summary.get().2
                data-since-model=move || summary.get().3
            >
                {move || {
                    let (total, own, elsewhere, since) = summary.get();
                    lang().requests_summary(total, own, elsewhere, since)
                }}
            </p>
            <p class="muted">{move || tt().privacy_offline}</p>
            <table class="requests" data-testid="requests">
                <tbody>
                    {move || {
                        let t = tt();
                        let opened = page.with(|p| p.first().map_or(0.0, |r| r.at_ms));
                        all.get()
                            .into_iter()
                            .map(|r| {
                                let who = match r.who {
                                    Who::Page => t.privacy_by_page,
                                    Who::Engine => t.privacy_by_engine,
                                    Who::Lab => t.privacy_by_lab,
                                };
                                let origin = origin_of(&r.url);
                                let path = r.url.strip_prefix(&origin).unwrap_or(&r.url).to_owned();
                                let foreign = !is_own(&r.url);
                                view! {
                                    <tr class:foreign=foreign>
                                        <td class="num">{format!("+{} s", lang().num((r.at_ms - opened) / 1000.0, 1))}</td>
                                        <td>{who}</td>
                                        <td><code>{origin}</code>{path}</td>
                                        <td>{if r.from_network { t.privacy_from_network } else { t.privacy_from_copy }}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
            <button
                type="button"
                class="secondary"
                data-testid="privacy-faces"
                on:click=move |_| state.act(crate::lesson::Action::Lab { digits: false, latent: 2, generate: true })
            >
                {move || tt().privacy_faces}
            </button>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_keep_scheme_host_and_port() {
        assert_eq!(origin_of("http://127.0.0.1:8080/models/x.gguf?a#b"), "http://127.0.0.1:8080");
        assert_eq!(origin_of("https://example.org"), "https://example.org");
        assert_eq!(origin_of("blob:http://127.0.0.1:8080/1234"), "this browser");
    }
}
