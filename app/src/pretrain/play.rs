//! The tiny model's side of the next-word game: the same [`Prediction`] the engine worker sends for the
//! language model, one character per token, built in the pre-training worker from
//! [`engine::train::tiny_game`].

use engine::predict::guess_text;
use engine::sample::SamplerConfig;
use engine::train::pretrain::Corpus;
use engine::train::{tiny_game, Gpt};

use crate::protocol::{Alternative, Context, GuessView, Piece, Prediction};

/// How many of the likeliest next characters the game shows (as many as for the language model).
const TOP: usize = crate::game::GAME_TOP;

/// The distribution after `context` and, with `guess`, the guess's score. A text is answered with its
/// own words as `text` (so the game knows the answer is for it) and the characters the model read as
/// pieces; a guess with a character the model never saw gets probability 0 and no pieces.
pub fn prediction(gpt: &Gpt, corpus: &Corpus, context: Context, guess: Option<String>) -> Prediction {
    let (ids, text) = match context {
        Context::Text(text) => (tiny_game::read(corpus, &text), text),
        Context::Ids(mut ids) => {
            ids.retain(|&id| (id as usize) < corpus.chars.len());
            let text = corpus.decode(&ids);
            (ids, text)
        }
    };
    let word = guess.filter(|g| !g.trim().is_empty());
    let glued = word.as_ref().map(|w| guess_text(&text, w));
    let pieces =
        glued.as_ref().map(|g| corpus.encode(g)).filter(|p| p.len() == glued.as_ref().map_or(0, |g| g.chars().count()));
    let (next, score) = tiny_game::predict(gpt, &ids, pieces.as_deref().filter(|p| !p.is_empty()));
    let piece = |id: u32| Piece { id, text: corpus.decode(&[id]) };
    let alternative = |id: u32, prob: f32| Alternative { piece: piece(id), prob };
    let guess = word.map(|word| match score {
        Some(s) => GuessView {
            word,
            pieces: s.pieces.iter().zip(&s.piece_probs).map(|(&id, &p)| alternative(id, p)).collect(),
            prob: s.prob,
            rank: s.rank,
        },
        None => GuessView { word, pieces: Vec::new(), prob: 0.0, rank: 0 },
    });
    Prediction {
        pieces: ids.iter().map(|&id| piece(id)).collect(),
        ids,
        text,
        top: next.top(TOP).iter().map(|c| alternative(c.id, c.prob)).collect(),
        entropy: next.entropy(),
        sorted: next.sorted(),
        guess,
        on_gpu: false,
    }
}

/// *Three answers*: `count` characters after `ids` for each seed, drawn with `sampler`.
pub fn answers(
    gpt: &Gpt,
    corpus: &Corpus,
    ids: &[u32],
    seeds: &[u64],
    sampler: &SamplerConfig,
    count: usize,
) -> Vec<String> {
    let ids: Vec<u32> = ids.iter().copied().filter(|&id| (id as usize) < corpus.chars.len()).collect();
    seeds
        .iter()
        .map(|&seed| tiny_game::continue_text(gpt, corpus, &ids, &SamplerConfig { seed, ..sampler.clone() }, count))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::train::pretrain::HISTOIRES;
    use engine::train::GptConfig;

    fn model() -> (Gpt, Corpus) {
        let corpus = Corpus::new(HISTOIRES, 32).unwrap();
        let config = GptConfig { vocab: corpus.chars.len(), layers: 1, width: 32, heads: 2, context: 32 };
        (Gpt::new(config, 3), corpus)
    }

    #[test]
    fn a_text_is_answered_as_itself_with_one_chip_per_known_character() {
        let (gpt, corpus) = model();
        let p = prediction(&gpt, &corpus, Context::Text("Le chat\u{1F600}".into()), None);
        assert_eq!(p.text, "Le chat\u{1F600}", "the game recognises its own text");
        assert_eq!(p.pieces.iter().map(|p| p.text.as_str()).collect::<String>(), "Le chat", "the emoji is not read");
        assert_eq!((p.top.len(), p.sorted.len()), (TOP, corpus.chars.len()));
        let total: f32 = p.sorted.iter().map(|&(_, l)| l.exp()).sum();
        assert!((total - 1.0).abs() < 1e-4, "the logits are log-probabilities: Σ p = {total}");
        let again = prediction(&gpt, &corpus, Context::Ids(p.ids.clone()), Some("dort".into()));
        assert_eq!((again.text.as_str(), again.top.clone()), ("Le chat", p.top.clone()));
        let guess = again.guess.unwrap();
        assert_eq!(guess.pieces.iter().map(|a| a.piece.text.as_str()).collect::<String>(), " dort");
        let product: f32 = guess.pieces.iter().map(|a| a.prob).product();
        assert!((guess.prob - product).abs() <= 1e-6 * product.max(1e-30) && guess.rank >= 1);
    }

    #[test]
    fn a_guess_with_a_character_never_seen_scores_zero_and_answers_follow_their_seeds() {
        let (gpt, corpus) = model();
        let p = prediction(&gpt, &corpus, Context::Text("Le chat".into()), Some("\u{1F600}".into()));
        assert_eq!(p.guess, Some(GuessView { word: "\u{1F600}".into(), pieces: vec![], prob: 0.0, rank: 0 }));
        let sampler = SamplerConfig { temperature: 1.0, ..SamplerConfig::default() };
        let three = answers(&gpt, &corpus, &p.ids, &[4, 5, 4], &sampler, 12);
        assert_eq!(three[0], three[2]);
        assert_eq!(three.iter().map(|a| a.chars().count()).collect::<Vec<_>>(), [12, 12, 12]);
    }
}
