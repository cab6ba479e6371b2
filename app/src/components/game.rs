//! The next-word game and the live sampling view: the text as token chips, a guess and *Reveal*, the ten
//! likeliest next tokens as bars (a click continues with one), *Undo*, *Auto*; then the same scores
//! reshaped by temperature, top-k and top-p, *Roll* and *Three answers*. The worker computes; this draws.

use leptos::prelude::*;

use super::input_number;
use super::tokens::chip_text;
use crate::game::{Game, Player};
use crate::state::AppState;

/// Bars shown in both views.
const BARS: usize = 10;

/// The game panel. `sampling` opens the sampling view.
#[component]
pub fn NextWordGame(state: AppState, #[prop(into)] sampling: Signal<bool>) -> impl IntoView {
    let t = move || state.lang.get().tt();
    let lang = move || state.lang.get();
    let game = state.teach.game;
    let draft = RwSignal::new(String::new());
    // The text box follows the game's start text (a step or a link may set it).
    Effect::new(move |_| draft.set(game.with(|g| g.start.clone())));
    let auto: RwSignal<Option<u32>> = RwSignal::new(None);
    let pace = RwSignal::new(1500u32);
    let timer: StoredValue<Option<IntervalHandle>> = StoredValue::new(None);
    let stop_auto = move || {
        if let Some(handle) = timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
        auto.set(None);
    };
    let start_auto = move || {
        stop_auto();
        let ms = pace.get_untracked();
        auto.set(Some(ms));
        let handle = set_interval_with_handle(
            move || {
                if !state.teach.thinking.get_untracked() && game.with_untracked(|g| g.prediction.is_some()) {
                    state.roll();
                }
            },
            std::time::Duration::from_millis(ms as u64),
        );
        timer.set_value(handle.ok());
    };
    on_cleanup(stop_auto);

    let tiny = move || game.with(|g| g.player == Player::Tiny);
    let revealed = move || game.with(|g| g.revealed && g.prediction.is_some());
    let vocab = move || game.with(|g| g.prediction.as_ref().map_or(0, |p| p.sorted.len()));
    let guess_line = move || {
        game.with(|g| {
            let guess = g.prediction.as_ref()?.guess.as_ref()?;
            let pieces: Vec<String> = guess.pieces.iter().map(|p| chip_text(&p.piece.text)).collect();
            Some((guess.prob, guess.rank, lang().guess_result(&guess.word, &pieces, guess.prob, guess.rank, vocab())))
        })
    };
    let top_max =
        move || game.with(|g| g.prediction.as_ref().and_then(|p| p.top.first().map(|a| a.prob)).unwrap_or(1.0));

    view! {
        <section class="game panel" data-testid="game" aria-labelledby="game-title">
            <h2 id="game-title">{move || t().game_title}</h2>
            <p class="hint">{move || t().game_intro}</p>
            <Players state=state/>
            <div hidden=tiny>
                <super::ModelLine state=state/>
            </div>
            <form
                class="game-start"
                on:submit=move |ev| {
                    ev.prevent_default();
                    stop_auto();
                    state.start_game(draft.get_untracked());
                }
            >
                <label for="game-text">{move || t().game_text}</label>
                <input
                    id="game-text"
                    data-testid="game-text"
                    type="text"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                />
                <button type="submit" data-testid="game-start" disabled=move || !state.can_play()>
                    {move || t().game_start}
                </button>
            </form>
            <div class="chips game-chips" data-testid="game-chips" aria-live="polite">
                {move || {
                    let (pieces, first_move) = game.with(|g| (g.pieces.clone(), g.start_len()));
                    pieces
                        .into_iter()
                        .enumerate()
                        .map(|(i, p)| {
                            let added = i >= first_move;
                            view! {
                                <span class="chip" class:added=added data-id=p.id>{chip_text(&p.text)}</span>
                            }
                        })
                        .collect_view()
                }}
                <span class="cursor" aria-hidden="true">"▍"</span>
            </div>
            <form
                class="guess-row"
                on:submit=move |ev| {
                    ev.prevent_default();
                    state.reveal();
                }
            >
                <input
                    type="text"
                    data-testid="game-guess"
                    aria-label=move || t().game_guess
                    placeholder=move || t().game_guess
                    prop:value=move || game.with(|g| g.guess.clone())
                    on:input=move |ev| game.update(|g| g.guess = event_target_value(&ev))
                />
                <button type="submit" data-testid="game-reveal" disabled=move || game.with(|g| g.prediction.is_none())>
                    {move || t().game_reveal}
                </button>
                <button
                    type="button"
                    class="secondary"
                    data-testid="game-undo"
                    disabled=move || !game.with(Game::can_undo)
                    on:click=move |_| state.undo()
                >
                    {move || t().game_undo}
                </button>
                <button
                    type="button"
                    class="secondary"
                    data-testid="game-auto"
                    aria-pressed=move || auto.get().is_some().to_string()
                    disabled=move || game.with(|g| g.ids.is_empty())
                    on:click=move |_| if auto.get_untracked().is_some() { stop_auto() } else { start_auto() }
                >
                    {move || if auto.get().is_some() { t().game_stop_auto } else { t().game_auto }}
                </button>
                <label class="pace">
                    {move || t().game_pace}" "
                    <select on:change=move |ev| {
                        if let Some(ms) = input_number::<u32>(&ev) {
                            pace.set(ms);
                            if auto.get_untracked().is_some() {
                                start_auto();
                            }
                        }
                    }>
                        {move || {
                            [700u32, 1500, 3000]
                                .map(|ms| {
                                    let label = format!("{} s", lang().num(ms as f64 / 1000.0, 1));
                                    view! { <option value=ms selected=pace.get_untracked() == ms>{label}</option> }
                                })
                                .collect_view()
                        }}
                    </select>
                </label>
                <span class="muted" role="status">{move || state.teach.thinking.get().then(|| t().game_thinking)}</span>
            </form>
            <p class="muted" hidden=revealed>{move || t().game_hidden}</p>
            <div class="reveal" hidden=move || !revealed()>
                <p
                    class="guess-result"
                    data-testid="guess-result"
                    hidden=move || guess_line().is_none()
                    data-prob=move || guess_line().map(|g| g.0)
                    data-rank=move || guess_line().map(|g| g.1)
                >
                    {move || guess_line().map(|g| g.2)}
                </p>
                <h3>{move || t().game_top}</h3>
                <ol class="bars" data-testid="game-bars" data-on-gpu=move || game.with(|g| g.prediction.as_ref().is_some_and(|p| p.on_gpu).to_string())>
                    {move || {
                        game.with(|g| g.prediction.as_ref().map(|p| p.top.clone()).unwrap_or_default())
                            .into_iter()
                            .map(|alt| {
                                let width = format!("width: {:.1}%", (alt.prob / top_max() * 100.0).clamp(0.5, 100.0));
                                let id = alt.piece.id;
                                view! {
                                    <li>
                                        <button type="button" class="bar-row" data-id=id data-prob=alt.prob.to_string() on:click=move |_| state.play(id)>
                                            <code>{chip_text(&alt.piece.text)}</code>
                                            <span class="bar"><span style=width></span></span>
                                            <span class="num">{lang().percent_precise(alt.prob)}</span>
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ol>
                <p class="muted">
                    {move || game.with(|g| g.prediction.as_ref().map(|p| lang().entropy(p.entropy)))}
                    " "{move || t().game_pieces_note}
                </p>
            </div>
            <Sampling state=state open=sampling/>
            // The lens reads the language model's blocks: the tiny model has its own views in its lab.
            <div hidden=tiny>
                <super::lens::LogitLens state=state/>
            </div>
        </section>
    }
}

/// Who plays, once the pre-training lab has a tiny model: the language model or the tiny GPT.
#[component]
fn Players(state: AppState) -> impl IntoView {
    let rt = move || state.lang.get().rt();
    let player = move || state.teach.game.with(|g| g.player);
    let choice = move |who: Player, testid: &'static str| {
        let label = move || match who {
            Player::Model => rt().player_model.to_owned(),
            Player::Tiny => state.lang.get().player_tiny(state.teach.tiny.get()),
        };
        view! {
            <label>
                <input type="radio" name="game-player" data-testid=testid prop:checked=move || player() == who on:change=move |_| state.set_player(who)/>
                " "{label}
            </label>
        }
    };
    view! {
        <fieldset class="players" data-testid="game-players" hidden=move || state.teach.tiny.get().is_none()>
            <legend>{move || rt().player}</legend>
            {choice(Player::Model, "player-model")}
            {choice(Player::Tiny, "player-tiny")}
            <p class="muted" hidden=move || player() != Player::Tiny>{move || rt().player_note}</p>
        </fieldset>
    }
}

/// The sampling view of the game's current step.
#[component]
fn Sampling(state: AppState, open: Signal<bool>) -> impl IntoView {
    let t = move || state.lang.get().t();
    let tt = move || state.lang.get().tt();
    let lang = move || state.lang.get();
    let game = state.teach.game;
    let reshaped = Memo::new(move |_| game.with(|g| g.reshaped(BARS)));
    type Get = fn(&Game) -> f32;
    type Set = fn(&mut Game, f32);
    let slider = move |label: &'static str, testid: &'static str, range: [&'static str; 3], get: Get, set: Set| {
        let [min, max, step] = range;
        let decimals = if step.contains('.') { 2 } else { 0 };
        view! {
            <label class="slider">
                <span>{label}" "<strong>{move || lang().num(game.with(get) as f64, decimals)}</strong></span>
                <input
                    type="range"
                    data-testid=testid
                    min=min
                    max=max
                    step=step
                    prop:value=move || game.with(get)
                    on:input=move |ev| {
                        if let Some(x) = input_number::<f32>(&ev) {
                            game.update(|g| set(g, x));
                        }
                    }
                />
            </label>
        }
    };
    view! {
        <details class="sampling" data-testid="sampling" prop:open=move || open.get()>
            <summary><h3>{move || tt().sampling_title}</h3></summary>
            <p class="hint">{move || tt().sampling_intro}</p>
            <div class="sliders">
                {move || slider(t().temperature, "sampling-temperature", ["0", "2", "0.05"], |g| g.sampler.temperature, |g, x| g.sampler.temperature = x)}
                {move || slider(t().top_k, "sampling-top-k", ["0", "100", "1"], |g| g.sampler.top_k as f32, |g, x| g.sampler.top_k = x as usize)}
                {move || slider(t().top_p, "sampling-top-p", ["0.05", "1", "0.05"], |g| g.sampler.top_p, |g, x| g.sampler.top_p = x)}
                <label class="slider">
                    <span>{move || t().seed}</span>
                    <input
                        type="number"
                        data-testid="sampling-seed"
                        min="0"
                        prop:value=move || game.with(|g| g.sampler.seed)
                        on:change=move |ev| {
                            if let Some(seed) = input_number::<u64>(&ev) {
                                game.update(|g| {
                                    g.sampler.seed = seed;
                                    g.rolls = 0;
                                });
                            }
                        }
                    />
                </label>
            </div>
            <p class="muted">{move || tt().sampling_legend}" "{move || format!("(top-k{}{})", lang().colon(), tt().top_k_all)}</p>
            <p data-testid="sampled-kept" data-kept=move || reshaped.with(|r| r.as_ref().map(|r| r.kept))>
                {move || reshaped.with(|r| r.as_ref().map(|r| lang().kept(r.kept)))}
            </p>
            <ol class="bars sampled" data-testid="sampled-bars">
                {move || {
                    let names = game.with(|g| g.prediction.as_ref().map(|p| p.top.clone()).unwrap_or_default());
                    reshaped
                        .get()
                        .map(|r| r.top)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(id, prob)| {
                            // The reshaped list is the model's likeliest, in its order: the same tokens as `top`.
                            let named = names.iter().find(|a| a.piece.id == id);
                            let name = named.map(|a| chip_text(&a.piece.text)).unwrap_or_else(|| format!("#{id}"));
                            let model = named.map_or(0.0, |a| a.prob);
                            view! {
                                <li class:cut=prob == 0.0 data-id=id data-prob=prob.to_string()>
                                    <code>{name}</code>
                                    <span class="bar">
                                        <span class="own" style=format!("width: {:.1}%", model * 100.0)></span>
                                        <span style=format!("width: {:.1}%", prob * 100.0)></span>
                                    </span>
                                    <span class="num">{lang().percent_precise(prob)}</span>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ol>
            <div class="actions">
                <button type="button" data-testid="roll" disabled=move || game.with(|g| g.prediction.is_none()) on:click=move |_| state.roll()>
                    {move || tt().roll}
                </button>
                <span data-testid="rolled" data-seed=move || game.with(|g| g.last_roll.map(|r| r.0))>
                    {move || {
                        game.with(|g| {
                            let (seed, id) = g.last_roll?;
                            let text = g.pieces.iter().rev().find(|p| p.id == id).map(|p| chip_text(&p.text))?;
                            Some(lang().rolled(seed, &text))
                        })
                    }}
                </span>
                <button
                    type="button"
                    class="secondary"
                    data-testid="three-answers"
                    disabled=move || game.with(|g| g.ids.is_empty() || (g.player == Player::Model && !state.can_ask()))
                    on:click=move |_| state.three_answers()
                >
                    {move || tt().three_answers}
                </button>
                <span class="muted" role="status" hidden=move || !game.with(|g| g.answers.iter().any(|a| !a.1)) || !state.generating.get()>
                    {move || tt().writing}
                </span>
            </div>
            <div class="answers" data-testid="answers">
                {move || {
                    let seeds = game.with(Game::answer_seeds);
                    game.with(|g| g.answers.clone())
                        .into_iter()
                        .zip(seeds)
                        .map(|((text, done), seed)| {
                            view! {
                                <figure class="answer" class:done=done>
                                    <figcaption>{lang().seed_label(seed)}</figcaption>
                                    <p>{game.with(Game::text)}<strong>{text}</strong></p>
                                </figure>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </details>
    }
}
