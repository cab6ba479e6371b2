//! The preference game: two answers to one question, the class picks the better one; a reward model is
//! fitted to the votes after each one; best-of-n lets it choose among several answers. The worker
//! writes; `crate::prefer` keeps the votes and fits; this draws.

use leptos::prelude::*;

use crate::prefer::Round;
use crate::state::AppState;

/// The preference game's panel.
#[component]
pub fn PreferPanel(state: AppState) -> impl IntoView {
    let pt = move || state.lang.get().pt();
    let lang = move || state.lang.get();
    let prefer = state.teach.prefer;
    let draft = RwSignal::new(String::new());
    let many = RwSignal::new(4usize);
    Effect::new(move |_| {
        let question = prefer.with(|p| p.question.clone());
        if !question.is_empty() {
            draft.set(question);
        } else if draft.get_untracked().is_empty() {
            draft.set(pt().presets[0].1.to_owned());
        }
    });
    let round = move || prefer.with(|p| p.round);
    let voting = move || round() == Round::Pair;
    view! {
        <section class="prefer panel" data-testid="prefer" aria-labelledby="prefer-title">
            <h2 id="prefer-title">{move || pt().title}</h2>
            <p class="hint">{move || pt().intro}</p>
            <super::ModelLine state=state/>
            <div class="presets">
                {move || {
                    pt().presets
                        .iter()
                        .map(|&(label, question)| {
                            view! {
                                <button type="button" class="secondary" data-testid="prefer-preset" disabled=move || !state.can_prefer()
                                    on:click=move |_| draft.set(question.to_owned())>{label}</button>
                            }
                        })
                        .collect_view()
                }}
            </div>
            <form class="doubt-form" on:submit=move |ev| {
                ev.prevent_default();
                state.ask_prefer(draft.get_untracked(), Round::Pair, 2);
            }>
                <textarea rows="2" data-testid="prefer-question" aria-label=move || pt().question
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
                <button type="submit" data-testid="prefer-write" disabled=move || !state.can_prefer() || draft.with(|d| d.trim().is_empty())>{move || pt().write_two}</button>
            </form>
            <div class="doubt-answers" data-testid="prefer-answers" data-round=move || format!("{:?}", round()).to_lowercase()
                data-writing=move || if prefer.with(|p| p.writing) { "true" } else { "false" }>
                {move || {
                    let rewards = prefer.with(|p| p.rewards());
                    let best = prefer.with(|p| p.best());
                    prefer.with(|p| {
                        p.answers
                            .iter()
                            .enumerate()
                            .map(|(i, answer)| {
                                let reward = rewards.get(i).copied().flatten();
                                let text = answer.as_ref().map(|a| a.text.clone());
                                let length = text.as_ref().map(|t| t.chars().count().to_string()).unwrap_or_default();
                                let seed = answer.as_ref().map(|a| a.seed.to_string()).unwrap_or_default();
                                view! {
                                    <article class="answer" class:best=best == Some(i) data-seed=seed
                                        data-ready=if answer.is_some() { "true" } else { "false" }
                                        data-length=length
                                        data-reward=reward.map(|r| format!("{r:.5}")).unwrap_or_default()>
                                        <h3>{lang().answer_letter(i)}{reward.map(|r| format!(" · {} {}", pt().reward, lang().num(r, 2)))}{(best == Some(i)).then_some(" ★")}</h3>
                                        <p class="doubt-text">{text.unwrap_or_else(|| "…".to_owned())}</p>
                                        <button type="button" data-testid="prefer-vote" hidden=move || !voting()
                                            disabled=move || prefer.with(|p| p.writing || p.answers.iter().any(Option::is_none))
                                            on:click=move |_| {
                                                prefer.update(|p| {
                                                    p.vote(i);
                                                });
                                            }>{move || pt().better}</button>
                                    </article>
                                }
                            })
                            .collect_view()
                    })
                }}
            </div>
            <p>
                <button type="button" class="secondary" data-testid="prefer-skip" hidden=move || !voting()
                    disabled=move || !state.can_prefer()
                    on:click=move |_| state.ask_prefer(draft.get_untracked(), Round::Pair, 2)>{move || pt().skip}</button>
            </p>
            <p data-testid="prefer-stats" data-votes=move || prefer.with(|p| p.ballots.len().to_string())
                data-train=move || prefer.with(|p| p.fitted.as_ref().and_then(|f| f.train.1).map(|a| format!("{a:.4}")).unwrap_or_default())
                data-held=move || prefer.with(|p| p.fitted.as_ref().and_then(|f| f.held_out.1).map(|a| format!("{a:.4}")).unwrap_or_default())>
                {move || prefer.with(|p| match &p.fitted {
                    Some(f) => lang().reward_stats(p.ballots.len(), f.train, f.held_out),
                    None => pt().first_vote.to_owned(),
                })}
                " "{move || pt().kept}" "
                <button type="button" class="link" data-testid="prefer-export" disabled=move || prefer.with(|p| p.ballots.is_empty())
                    on:click=move |_| crate::draw::download_text(&prefer.with_untracked(|p| p.export()), "application/json", "glassbox-votes.json")>
                    {move || pt().export}
                </button>" "
                <button type="button" class="link" data-testid="prefer-forget" disabled=move || prefer.with(|p| p.ballots.is_empty())
                    on:click=move |_| prefer.update(|p| {
                        p.ballots.clear();
                        p.refit();
                    })>{move || pt().forget}</button>
            </p>
            <h3>{move || pt().best_title}</h3>
            <p class="hint">{move || pt().best_hint}</p>
            <div class="doubt-form">
                <label>
                    <select data-testid="prefer-n" on:change=move |ev| many.set(event_target_value(&ev).parse().unwrap_or(4))>
                        {[2usize, 3, 4, 5, 6].into_iter().map(|n| view! { <option value=n selected=n == 4>{n}</option> }).collect_view()}
                    </select>
                    " "{move || pt().answers}
                </label>
                <button type="button" data-testid="prefer-best" disabled=move || !state.can_prefer() || prefer.with(|p| p.fitted.is_none())
                    on:click=move |_| state.ask_prefer(draft.get_untracked(), Round::BestOf, many.get_untracked())>{move || pt().best_button}</button>
            </div>
            <p class="hint">{move || pt().real}</p>
        </section>
    }
}
