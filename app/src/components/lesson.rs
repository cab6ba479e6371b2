//! The lesson card: chapter tabs, the step's few sentences, its one action, the question for the class
//! and the teacher's notes (closed until opened), previous/next (also the ← → keys). The view the action
//! opens is drawn below the card by the page.

use leptos::prelude::*;

use crate::lesson::{self, Action, Chapter};
use crate::state::AppState;

/// The lesson card.
#[component]
pub fn LessonCard(state: AppState) -> impl IntoView {
    let tt = move || state.lang.get().tt();
    let lang = move || state.lang.get();
    let index = move || state.teach.step.get().min(lesson::STEP_COUNT - 1);
    let step = move || lesson::steps(lang())[index()];
    let href = |i: usize| lesson::steps(crate::i18n::Lang::Fr).get(i).map(|s| format!("#lesson/{}", s.id));
    view! {
        <section class="lesson panel" data-testid="lesson" data-step=move || step().id aria-labelledby="lesson-title">
            <p class="kicker">{move || tt().lesson_title}</p>
            <nav class="chapters" aria-label=move || tt().lesson_title>
                {move || {
                    Chapter::ALL
                        .iter()
                        .enumerate()
                        .map(|(c, &chapter)| {
                            let first = lesson::steps(lang()).iter().position(|s| s.chapter == chapter).unwrap_or(0);
                            let current = step().chapter == chapter;
                            view! {
                                <a
                                    href=href(first)
                                    class="chapter"
                                    data-testid=format!("chapter-{}", chapter.letter())
                                    aria-current=current.then_some("step")
                                >
                                    <span class="glyph">{chapter.letter()}</span>
                                    <span>{tt().chapters[c]}</span>
                                </a>
                            }
                        })
                        .collect_view()
                }}
            </nav>
            <ol class="dots" aria-hidden="true">
                {move || {
                    (0..lesson::STEP_COUNT)
                        .map(|i| view! { <li class:done=i < index() class:current=i == index()><a href=href(i) tabindex="-1"></a></li> })
                        .collect_view()
                }}
            </ol>
            <super::ModelLine state=state/>
            <p class="muted">{move || lang().step_of(index() + 1, lesson::STEP_COUNT, step().minutes)}</p>
            <h2 id="lesson-title" data-testid="lesson-title">{move || step().title}</h2>
            <p class="body" data-testid="lesson-body">{move || step().body}</p>
            <button
                type="button"
                class="action"
                data-testid="lesson-action"
                data-kind=move || step().action.kind()
                data-input=move || step().action.input()
                data-layer=move || match step().action {
                    Action::Read { layer, .. } => Some(layer),
                    _ => None,
                }
                data-head=move || match step().action {
                    Action::Read { head, .. } => Some(head.map_or_else(|| "mean".to_owned(), |h| h.to_string())),
                    _ => None,
                }
                data-focus=move || match step().action {
                    Action::Read { focus, .. } => Some(focus),
                    _ => None,
                }
                data-latent=move || match step().action {
                    Action::Lab { latent, .. } => Some(latent),
                    _ => None,
                }
                data-generate=move || match step().action {
                    Action::Lab { generate, .. } => Some(if generate { "true" } else { "false" }),
                    _ => None,
                }
                data-digits=move || match step().action {
                    Action::Lab { digits, .. } => Some(if digits { "true" } else { "false" }),
                    _ => None,
                }
                on:click=move |_| state.act(step().action)
            >
                {move || step().action_label}
            </button>
            <aside class="question">
                <h3>{move || tt().ask_class}</h3>
                <p data-testid="lesson-question">{move || step().question}</p>
            </aside>
            <details class="notes" data-testid="lesson-notes">
                <summary>{move || tt().teacher_notes}</summary>
                <p>{move || step().notes}</p>
            </details>
            <div class="lesson-nav">
                <a
                    class="button secondary"
                    data-testid="lesson-prev"
                    href=move || index().checked_sub(1).and_then(href)
                    aria-disabled=move || (index() == 0).to_string()
                >
                    {move || tt().previous}
                </a>
                <span class="muted">{move || tt().keys_hint}</span>
                <a
                    class="button"
                    data-testid="lesson-next"
                    href=move || href(index() + 1)
                    aria-disabled=move || (index() + 1 == lesson::STEP_COUNT).to_string()
                >
                    {move || tt().next}
                </a>
            </div>
        </section>
    }
}
