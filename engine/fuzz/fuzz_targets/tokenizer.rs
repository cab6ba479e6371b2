//! Arbitrary text through a byte-level BPE tokenizer built from a GGUF made in code, and through the
//! chat template: encoding never panics, user text never yields a control token, and decoding gives the
//! text back.
#![no_main]

use std::sync::OnceLock;

use engine::chat::{ChatTemplate, Message};
use engine::gguf::{Gguf, GgufBuilder};
use engine::tokenizer::Tokenizer;
use libfuzzer_sys::fuzz_target;

/// GPT-2's printable stand-in for each byte.
fn byte_char(b: u8) -> char {
    let printable = |b: u8| matches!(b, 0x21..=0x7e | 0xa1..=0xac | 0xae..=0xff);
    if printable(b) {
        return b as char;
    }
    let shifted = (0..b).filter(|&c| !printable(c)).count() as u32;
    char::from_u32(0x100 + shifted).expect("valid char")
}

fn setup() -> &'static (Tokenizer, ChatTemplate, u32) {
    static SETUP: OnceLock<(Tokenizer, ChatTemplate, u32)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let mut tokens: Vec<String> = (0..=255u8).map(|b| byte_char(b).to_string()).collect();
        let merges = ["Ġ t", "h e", "Ġt he", "i n", "Ã ©"];
        for m in merges {
            tokens.push(m.replace(' ', ""));
        }
        let specials = ["<|im_start|>", "<|im_end|>"];
        tokens.extend(specials.iter().map(|s| s.to_string()));
        let mut types = vec![1; tokens.len()];
        let n = types.len();
        types[n - 2..].fill(3);
        let bytes = GgufBuilder::new()
            .string("tokenizer.ggml.model", "gpt2")
            .string("tokenizer.ggml.pre", "smollm")
            .strings("tokenizer.ggml.tokens", &tokens)
            .strings("tokenizer.ggml.merges", &merges)
            .i32s("tokenizer.ggml.token_type", &types)
            .u32("tokenizer.ggml.eos_token_id", (n - 1) as u32)
            .build();
        let gguf = Gguf::parse(&bytes).expect("fixture parses");
        let tokenizer = Tokenizer::from_gguf(&gguf).expect("fixture tokenizer");
        let template = ChatTemplate::from_gguf(&gguf, &tokenizer).expect("ChatML");
        (tokenizer, template, (n - 2) as u32)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (tokenizer, template, first_control) = setup();
    let ids = tokenizer.encode_text(&text).expect("every byte has a token");
    assert!(ids.iter().all(|id| id < first_control), "user text produced a control token");
    assert_eq!(tokenizer.decode(&ids).expect("decode"), text);
    let _ = tokenizer.encode_with_specials(&text);
    let _ = template.encode(tokenizer, &[Message::user(text.to_string())], true);
});
