//! Real tokenizers of other model families against the ids Hugging Face's tokenizers give: llama.cpp's
//! vocab-only GGUF files with their test strings (accents, digits, spaces and tabs, line breaks, emoji,
//! code, several scripts) and expected ids, fetched by `cargo xtask test` from the `llama-cpp-python`
//! source package on PyPI (the folder in `GLASSBOX_VOCABS`). Every id must be equal, and the ids must
//! decode to the text again.

use engine::gguf::Gguf;
use engine::tokenizer::Tokenizer;

/// The folder of `ggml-vocab-*.gguf{,.inp,.out}`.
fn vocabs() -> std::path::PathBuf {
    std::env::var_os("GLASSBOX_VOCABS")
        .expect("GLASSBOX_VOCABS must name the folder of llama.cpp's vocab files (cargo xtask test sets it)")
        .into()
}

/// Encodes every test string of `ggml-vocab-<name>` and compares with its expected ids; returns how many.
fn check(name: &str) -> usize {
    let dir = vocabs();
    let path = |ext: &str| dir.join(format!("ggml-vocab-{name}.gguf{ext}"));
    let bytes = std::fs::read(path("")).unwrap_or_else(|e| panic!("{name}: {e}"));
    let gguf = Gguf::parse(&bytes).expect("parse");
    assert!(gguf.tensors.is_empty(), "{name}: a vocab-only file");
    let tokenizer = Tokenizer::from_gguf(&gguf).unwrap_or_else(|e| panic!("{name}: {e}"));
    let inputs = std::fs::read_to_string(path(".inp")).expect("inputs");
    let outputs = std::fs::read_to_string(path(".out")).expect("outputs");
    let inputs: Vec<&str> = inputs.split("\n__ggml_vocab_test__\n").collect();
    let outputs: Vec<&str> = outputs.lines().collect();
    assert_eq!(inputs.len(), outputs.len() + usize::from(inputs.last() == Some(&"")), "{name}: pairs");
    for (text, want) in inputs.iter().zip(&outputs) {
        let want: Vec<u32> = want.split_whitespace().map(|id| id.parse().expect("an id")).collect();
        let got = tokenizer.encode_text(text).expect("encode");
        assert_eq!(got, want, "{name}: {text:?}");
        // And back: the text, and piece by piece its bytes (after SentencePiece's added space).
        assert_eq!(tokenizer.decode(&got).expect("decode"), *text, "{name}: decoding {got:?}");
        let bytes: Vec<u8> = got.iter().flat_map(|&id| tokenizer.token_bytes(id).expect("bytes")).collect();
        let spaced = format!(" {text}");
        assert!(bytes == text.as_bytes() || bytes == spaced.as_bytes(), "{name}: the bytes of {text:?}");
    }
    outputs.len()
}

#[test]
fn gpt2_style_tokenizers_give_hugging_faces_ids_on_llama_cpps_test_strings() {
    for name in ["gpt-2", "starcoder", "refact"] {
        let n = check(name);
        eprintln!("{name}: {n} strings");
    }
}

#[test]
fn llama_3_tokenizer_gives_hugging_faces_ids_on_llama_cpps_test_strings() {
    eprintln!("llama-bpe: {} strings", check("llama-bpe"));
}

#[test]
fn qwen2_and_qwen_3_5_tokenizers_give_hugging_faces_ids_on_llama_cpps_test_strings() {
    for name in ["qwen2", "qwen35"] {
        let n = check(name);
        eprintln!("{name}: {n} strings");
    }
}

#[test]
fn gemma_4_tokenizer_gives_hugging_faces_ids_on_llama_cpps_test_strings() {
    eprintln!("gemma-4: {} strings", check("gemma-4"));
}

#[test]
fn sentencepiece_tokenizers_of_llama_2_and_phi_3_give_hugging_faces_ids_on_llama_cpps_test_strings() {
    for name in ["llama-spm", "phi-3"] {
        let n = check(name);
        eprintln!("{name}: {n} strings");
    }
}
