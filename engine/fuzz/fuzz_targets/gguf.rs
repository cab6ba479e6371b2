//! Arbitrary bytes as a GGUF file: parsing, then everything built from a parsed header (config,
//! tokenizer, chat template, weights) must return a value or a typed error, never panic or hang.
#![no_main]

use engine::backend::cpu::Precision;
use engine::gguf::Gguf;
use engine::model::{Config, FileBytes, Model};
use engine::tokenizer::Tokenizer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(gguf) = Gguf::parse(data) else { return };
    for t in &gguf.tensors {
        assert!(gguf.tensor_data(data, t).is_ok(), "a parsed tensor must lie inside the file");
    }
    let _ = Config::from_gguf(&gguf);
    if let Ok(tokenizer) = Tokenizer::from_gguf(&gguf) {
        let _ = engine::chat::ChatTemplate::from_gguf(&gguf, &tokenizer);
    }
    let file = FileBytes::new(data.to_vec());
    let _ = Model::load(&gguf, &file, Precision::Int8);
});
