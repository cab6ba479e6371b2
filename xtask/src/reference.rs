//! `cargo xtask reference [--write]`: writes the default model's reference again — llama.cpp's outputs
//! and a float64 forward (`xtask/reference/default_reference.py`, run with the llama-cpp-python that
//! `cargo xtask test` builds) — and compares it with the copy the tests read
//! (`engine/tests/data/smollm2-135m-instruct-q4_1.reference.json`); `--write` replaces the copy.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The copy the tests read, relative to the repository root.
pub const COPY: &str = "engine/tests/data/smollm2-135m-instruct-q4_1.reference.json";

pub fn run(root: &Path, write: bool) -> Result<()> {
    let python = crate::bench::ensure_llama_cpp()?;
    let model = crate::model::ensure()?;
    let copy = root.join(COPY);
    let out = crate::cache_dir()?.join("reference").join("default.json");
    std::fs::create_dir_all(out.parent().context("the reference folder")?)?;
    eprintln!("xtask: llama.cpp and a float64 forward on the default model (about a minute)");
    let script = root.join("xtask").join("reference").join("default_reference.py");
    let status = Command::new(&python).arg(&script).arg(&model).arg(&copy).arg(&out).status()?;
    if !status.success() {
        bail!("{} failed", script.display());
    }
    let read = |path: &Path| -> Result<Value> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    };
    let (new, old) = (read(&out)?, read(&copy)?);
    if std::fs::read(&out)? == std::fs::read(&copy)? {
        println!("the same file as the tests' copy, byte for byte");
    }
    for line in compare(&new, &old)? {
        println!("{line}");
    }
    if write {
        std::fs::copy(&out, &copy)?;
        println!("wrote {}", copy.display());
    } else {
        println!("written to {} (`cargo xtask reference --write` replaces the tests' copy with it)", out.display());
    }
    Ok(())
}

/// What differs between two references, a line per chat case and one for the tokenizer's cases: equal
/// prompts, how many greedy tokens agree, and the largest gap between the logits of the same ids.
fn compare(new: &Value, old: &Value) -> Result<Vec<String>> {
    let list = |v: &Value, key: &str| v[key].as_array().cloned().with_context(|| format!("no `{key}` list"));
    let mut lines =
        vec![format!("model sha256 {}", if new["model_sha256"] == old["model_sha256"] { "equal" } else { "DIFFERS" })];
    let (cases, kept) = (list(new, "chat")?.len(), list(old, "chat")?.len());
    if cases != kept {
        lines.push(format!("chat cases: {cases} written, {kept} in the copy"));
    }
    for (n, o) in list(new, "chat")?.iter().zip(list(old, "chat")?) {
        let same_prefix =
            n["greedy_ids"].as_array().into_iter().flatten().zip(o["greedy_ids"].as_array().into_iter().flatten());
        let agree = same_prefix.take_while(|(a, b)| a == b).count();
        lines.push(format!(
            "{:?}: prompt ids {}, greedy {agree} of {} tokens agree ({} written), logits max |Δ| llama.cpp {:.2e}, \
             float64 {:.2e}",
            n["user"].as_str().unwrap_or("?"),
            if n["prompt_ids"] == o["prompt_ids"] { "equal" } else { "DIFFER" },
            o["greedy_ids"].as_array().map_or(0, Vec::len),
            n["greedy_ids"].as_array().map_or(0, Vec::len),
            max_gap(&n["teacher_forced"], &o["teacher_forced"]),
            max_gap(&n["exact_teacher_forced"], &o["exact_teacher_forced"]),
        ));
    }
    let (tn, to) = (list(new, "tokenize")?, list(old, "tokenize")?);
    let equal = tn.iter().zip(&to).filter(|(a, b)| a["ids"] == b["ids"]).count();
    lines.push(format!("tokenizer: {equal} of {} texts give the same ids", to.len()));
    Ok(lines)
}

/// The largest |Δ| between the logits two top-5 lists give the same id, over every position.
fn max_gap(new: &Value, old: &Value) -> f64 {
    let rows = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let mut gap = 0.0f64;
    for (n, o) in rows(new).iter().zip(rows(old)) {
        let pairs = |r: &Value| -> Vec<(u64, f64)> {
            let ids = r["top5_ids"].as_array().cloned().unwrap_or_default();
            let logits = r["top5_logits"].as_array().cloned().unwrap_or_default();
            ids.iter().zip(&logits).filter_map(|(i, l)| Some((i.as_u64()?, l.as_f64()?))).collect()
        };
        let old_pairs = pairs(&o);
        for (id, logit) in pairs(n) {
            if let Some((_, want)) = old_pairs.iter().find(|(i, _)| *i == id) {
                gap = gap.max((logit - want).abs());
            }
        }
    }
    gap
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_comparison_counts_agreeing_tokens_and_the_largest_gap_of_shared_ids() {
        let case = |greedy: Vec<u32>, logits: [f64; 2]| {
            json!({"user": "q", "prompt_ids": [1, 2], "greedy_ids": greedy,
                   "teacher_forced": [{"top5_ids": [7, 8], "top5_logits": logits}],
                   "exact_teacher_forced": [{"top5_ids": [7, 9], "top5_logits": logits}]})
        };
        let reference = |greedy: Vec<u32>, logits: [f64; 2], ids: Vec<u32>| json!({"model_sha256": "a", "chat": [case(greedy, logits)], "tokenize": [{"text": "x", "ids": ids}]});
        let old = reference(vec![5, 6, 7], [3.0, 2.0], vec![1]);
        let new = reference(vec![5, 6, 9], [3.25, 1.5], vec![2]);
        let lines = super::compare(&new, &old).unwrap();
        assert_eq!(lines[0], "model sha256 equal");
        assert!(lines[1].contains("greedy 2 of 3 tokens agree"), "{}", lines[1]);
        assert!(lines[1].contains("llama.cpp 5.00e-1"), "{}", lines[1]);
        assert!(lines[2].contains("0 of 1 texts"), "{}", lines[2]);
    }
}
