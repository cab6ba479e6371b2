//! `glassbox reward` — the preference game's reward model — against the float64 forward (each answer's
//! features) and against a planted preference on real answers (the shorter one always wins).
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use common::reference_forward::default_model;
use serde_json::{json, Value};

/// `(question, a short answer, a long answer)`.
const PAIRS: [(&str, &str, &str); 16] = [
    ("What is the capital of France?", "Paris.", "The capital of France is Paris, a large city on the Seine, famous for its museums, its cafés and the Eiffel Tower, which millions of visitors climb every year."),
    ("How many legs does a spider have?", "Eight.", "A spider has eight legs, unlike insects, which have six; each leg has seven segments and ends in small claws that help it walk on its web without sticking."),
    ("What colour is the sky on a clear day?", "Blue.", "On a clear day the sky looks blue, because the air scatters the short blue wavelengths of sunlight much more than the red ones, in every direction."),
    ("Who wrote Les Misérables?", "Victor Hugo.", "Les Misérables was written by Victor Hugo, the French poet and novelist, who published it in 1862 while he lived in exile on the island of Guernsey."),
    ("What do bees make?", "Honey.", "Bees make honey from the nectar of flowers, which they carry back to the hive, store in wax cells and dry by fanning their wings until it thickens."),
    ("How many days are in a week?", "Seven.", "A week has seven days, from Monday to Sunday, a custom that goes back thousands of years to the ancient peoples who watched the moon and the planets."),
    ("What is frozen water called?", "Ice.", "Frozen water is called ice; it forms when water cools below zero degrees Celsius, and it floats because it is a little less dense than liquid water."),
    ("Which planet do we live on?", "Earth.", "We live on Earth, the third planet from the Sun, a rocky world with liquid oceans, a breathable atmosphere and one large moon that causes the tides."),
    ("What is two plus two?", "Four.", "Two plus two makes four: if you put two apples next to two other apples and count them one by one, you find four apples in all."),
    ("What animal says moo?", "A cow.", "The cow says moo; farmers keep cows for their milk and meat, and a cow can spend up to eight hours a day chewing the grass it has eaten."),
    ("What is the opposite of hot?", "Cold.", "The opposite of hot is cold, as in a cold winter morning when frost covers the windows and everyone wants to stay inside near a warm fire."),
    ("Where do fish live?", "In water.", "Fish live in water, in rivers, lakes and the sea, and breathe with gills that take the oxygen dissolved in the water as it flows over them."),
    ("What do we use to write on paper?", "A pen.", "To write on paper we use a pen or a pencil, tools that leave a trail of ink or graphite as they move across the page in the shapes of letters."),
    ("What is the largest ocean?", "The Pacific.", "The largest ocean is the Pacific, which covers about a third of the Earth's surface and is wider than all the continents put together."),
    ("How many hours are in a day?", "Twenty-four.", "A day has twenty-four hours, the time the Earth takes to turn once on its axis, so that the Sun seems to rise, cross the sky and set again."),
    ("What fruit is yellow and curved?", "A banana.", "A banana is yellow and curved; it grows in large bunches on tall plants in warm countries and is full of sugar, which makes it a good snack."),
];

fn write(name: &str, value: &Value) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("glassbox-{name}-{}.json", std::process::id()));
    std::fs::write(&path, value.to_string()).expect("write");
    path
}

fn ids_of(value: &Value) -> Vec<u32> {
    serde_json::from_value(value.clone()).expect("ids")
}

#[test]
fn an_answers_features_are_its_mean_final_hidden_state_as_a_float64_forward_computes() {
    let (question, short, long) = PAIRS[1];
    features_match_float64("cpu", 1e-3, (question, short, long));
}

/// The page computes them on the GPU when there is one (lavapipe here): its keys and values are stored in
/// f16, which moves a feature by a few thousandths more (1.7e-3 measured, relative). The rejected answer
/// is a short one too: lavapipe is slow (see `common::bare_ids`).
#[test]
fn an_answers_features_on_the_gpu_are_its_mean_final_hidden_state_too() {
    let (question, short, _) = PAIRS[1];
    features_match_float64("gpu", 5e-3, (question, short, "A spider has eight legs."));
}

fn features_match_float64(backend: &str, tolerance: f64, (question, short, long): (&str, &str, &str)) {
    let model = default_model();
    let answer = |text: &str| ids_of(&common::glassbox_json("tokenize", &["--text", text])["ids"]);
    let (a, b) = (answer(short), answer(long));
    let votes = json!({ "votes": [{ "question": question, "chosen": { "ids": a }, "rejected": { "ids": b } }] });
    let path = write(&format!("features-{backend}"), &votes);
    let args = ["--exact", "--features", "--votes", path.to_str().expect("utf8"), "--backend", backend];
    let value = common::glassbox_json("reward", &args);
    assert_eq!(value["backend"], backend);
    let prompt = ids_of(
        &common::glassbox_json("generate", &["--chat", "--prompt", question, "--max-tokens", "1"])["prompt_ids"],
    );
    let mut worst = 0.0f64;
    for (k, ids) in [&a, &b].into_iter().enumerate() {
        let all: Vec<u32> = prompt.iter().chain(ids).copied().collect();
        let pass = model.run(&all);
        let last = pass.hidden.last().expect("blocks");
        let mut want = vec![0.0f64; model.n_embd];
        for row in last.chunks_exact(model.n_embd).skip(prompt.len()) {
            for (w, x) in want.iter_mut().zip(model.final_normed(row)) {
                *w += x / ids.len() as f64;
            }
        }
        let got: Vec<f64> = serde_json::from_value(value["features"][0][k].clone()).expect("features");
        assert_eq!(got.len(), model.n_embd);
        for (g, w) in got.iter().zip(&want) {
            worst = worst.max((g - w).abs() / (1.0 + w.abs()));
        }
    }
    eprintln!("{backend}: answer features vs float64: max relative |Δ| {worst:.2e}");
    assert!(worst < tolerance, "{worst}");
}

#[test]
fn a_preference_for_short_answers_is_learned_from_votes_and_holds_on_held_out_ones() {
    // Every vote prefers the short answer; the short and long answers are listed in turn so that the
    // preference is not "the first one".
    let votes: Vec<Value> = PAIRS
        .iter()
        .map(|&(q, short, long)| json!({ "question": q, "chosen": { "text": short }, "rejected": { "text": long } }))
        .collect();
    let candidates = json!([
        { "question": "What is the capital of Italy?", "text": "Rome, a city of seven hills on the Tiber, once the heart of an empire that stretched from Britain to Egypt and left roads, bridges and aqueducts behind it." },
        { "question": "What is the capital of Italy?", "text": "Rome." },
    ]);
    let path = write("votes", &json!({ "votes": votes, "candidates": candidates }));
    let value = common::glassbox_json("reward", &["--votes", path.to_str().expect("utf8")]);
    eprintln!("short answers preferred: {value:#}");
    assert_eq!((value["fitted_on"].as_u64(), value["held_out"].as_u64()), (Some(12), Some(4)));
    assert_eq!(value["train_accuracy"].as_f64(), Some(1.0), "the votes it was fitted on");
    assert!(value["held_out_accuracy"].as_f64().expect("accuracy") >= 0.75, "votes it never saw");
    let scores: Vec<f64> = serde_json::from_value(value["scores"].clone()).expect("scores");
    assert!(scores[1] > scores[0], "a new short answer beats a new long one: {scores:?}");
}

#[test]
fn reward_refuses_a_missing_or_empty_votes_file_with_one_line() {
    let empty = write("empty", &json!({ "votes": [] }));
    let model = std::env::var("GLASSBOX_MODEL").expect("GLASSBOX_MODEL");
    for (file, why) in [("/no/such/votes.json", "cannot read"), (empty.to_str().expect("utf8"), "no votes")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(["reward", "--model", &model, "--votes", file])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(why) && stderr.lines().count() == 1, "{stderr}");
    }
}
