//! The worker's side of the map of words: words placed by the first two principal components of their
//! embeddings, a word's nearest tokens (or an analogy's), and a word's vector in two sentences.

use engine::embedding::project_2d;
use engine::generate::Engine;

use super::piece;
use crate::protocol::{Nearest, WordMap};

/// The class's words and the reference ones, placed in the plane (unknown or empty words are skipped).
pub fn word_map(engine: &Engine, words: Vec<String>, reference: Vec<String>) -> Result<WordMap, String> {
    let mut vectors = Vec::new();
    let mut labels = Vec::new();
    let mut split = Vec::new();
    for (word, chosen) in words.iter().map(|w| (w, true)).chain(reference.iter().map(|w| (w, false))) {
        if word.trim().is_empty() || labels.iter().any(|(w, _): &(String, bool)| w == word.trim()) {
            continue;
        }
        let v = engine.word_vector(word).map_err(|e| e.to_string())?;
        if chosen && v.pieces.len() > 1 {
            split.push((v.word.clone(), v.pieces.len()));
        }
        labels.push((v.word, chosen));
        vectors.push(v.vector);
    }
    let coords = project_2d(&vectors);
    Ok(WordMap { points: labels.into_iter().zip(coords).map(|((w, c), [x, y])| (w, x, y, c)).collect(), split })
}

/// The `k` nearest tokens to `word`, or to `word − minus + plus`; the words' own tokens left out.
pub fn nearest(engine: &Engine, word: String, analogy: Option<(String, String)>, k: usize) -> Result<Nearest, String> {
    let (a, found) = engine
        .nearest_to(&word, analogy.as_ref().map(|(b, c)| (b.as_str(), c.as_str())), k)
        .map_err(|e| e.to_string())?;
    let query = match &analogy {
        Some((b, c)) => format!("{} − {} + {}", a.word, b.trim(), c.trim()),
        None => a.word,
    };
    Ok(Nearest { query, tokens: found.into_iter().map(|n| (piece(engine, n.id), n.cosine)).collect() })
}

/// The cosine between `word`'s vectors in the two sentences, after each block (on the GPU when the model
/// is there).
pub async fn in_context(engine: &Engine, word: &str, sentences: &(String, String)) -> Result<(Vec<f32>, bool), String> {
    engine.context_cosines_on_backend(word, &sentences.0, &sentences.1).await.map_err(|e| e.to_string())
}
