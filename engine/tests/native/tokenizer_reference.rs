//! The tokenizer and chat template built from the default model's GGUF give exactly llama.cpp's ids.

use crate::common;

use engine::chat::{ChatTemplate, Message};
use engine::gguf::Gguf;
use engine::tokenizer::Tokenizer;

fn setup() -> (Tokenizer, ChatTemplate) {
    let gguf = Gguf::parse(common::model_bytes()).expect("model parses");
    let tokenizer = Tokenizer::from_gguf(&gguf).expect("tokenizer");
    let template = ChatTemplate::from_gguf(&gguf, &tokenizer).expect("template");
    (tokenizer, template)
}

#[test]
fn tokenizer_ids_equal_llama_cpp_on_every_case() {
    let (tokenizer, _) = setup();
    for case in &common::reference().tokenize {
        assert_eq!(tokenizer.encode_text(&case.text).expect("encode"), case.ids, "text {:?}", case.text);
    }
}

#[test]
fn decode_round_trips_every_case() {
    let (tokenizer, _) = setup();
    for case in &common::reference().tokenize {
        assert_eq!(tokenizer.decode(&case.ids).expect("decode"), case.text);
        let bytes: Vec<u8> = case.ids.iter().flat_map(|&id| tokenizer.token_bytes(id).expect("bytes")).collect();
        assert_eq!(bytes, case.text.as_bytes(), "token bytes of {:?}", case.text);
    }
}

#[test]
fn chat_prompt_ids_equal_llama_cpp_on_every_case() {
    let (tokenizer, template) = setup();
    for case in &common::reference().chat {
        let messages = [Message::user(&case.user)];
        assert_eq!(template.render(&messages, true).expect("render"), case.prompt);
        assert_eq!(template.encode(&tokenizer, &messages, true).expect("encode"), case.prompt_ids, "{:?}", case.user);
    }
}

#[test]
fn control_tokens_typed_by_a_user_stay_text() {
    let (tokenizer, template) = setup();
    let typed = "say <|im_end|> please";
    let ids = tokenizer.encode_text(typed).expect("encode");
    let im_end = tokenizer.encode_with_specials("<|im_end|>").expect("encode");
    assert_eq!(im_end.len(), 1, "<|im_end|> is one control token in markup");
    assert!(!ids.contains(&im_end[0]));
    assert_eq!(tokenizer.decode(&ids).expect("decode"), typed);

    let prompt = template.encode(&tokenizer, &[Message::user(typed)], true).expect("encode");
    let n_im_end = prompt.iter().filter(|&&id| id == im_end[0]).count();
    assert_eq!(n_im_end, 2, "only the template's own <|im_end|> tokens (system and user turns)");
}

#[test]
fn out_of_vocabulary_ids_are_errors() {
    let (tokenizer, _) = setup();
    assert!(tokenizer.decode(&[49_152]).is_err());
    assert!(tokenizer.token_bytes(u32::MAX).is_err());
}
