//! Chat templates of other model families, as their authors wrote them for Python's Jinja (from
//! llama.cpp's `models/templates/`, fetched by `cargo xtask test` into `GLASSBOX_VOCABS/templates`):
//! each renders a conversation of a system prompt and two turns into the prompt format its model card
//! documents, written out here. Qwen3's and SmolLM3's call Python string methods (`startswith`,
//! `replace`), which `minijinja-contrib`'s pycompat provides.

use engine::chat::{ChatTemplate, Message};

fn render(name: &str) -> String {
    let dir: std::path::PathBuf =
        std::env::var_os("GLASSBOX_VOCABS").expect("GLASSBOX_VOCABS (cargo xtask test sets it)").into();
    let source = std::fs::read_to_string(dir.join("templates").join(format!("{name}.jinja"))).expect("template");
    let conversation = [
        Message::system("Be brief."),
        Message::user("Hi"),
        Message::assistant("Hello!"),
        Message::user("Who are you?"),
    ];
    ChatTemplate::new(source).render(&conversation, true).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn llama_3_template_writes_headers_and_eot_ids_with_its_knowledge_date() {
    let turn = |role: &str, text: &str| format!("<|start_header_id|>{role}<|end_header_id|>\n\n{text}<|eot_id|>");
    let want = [
        turn("system", "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief."),
        turn("user", "Hi"),
        turn("assistant", "Hello!"),
        turn("user", "Who are you?"),
        "<|start_header_id|>assistant<|end_header_id|>\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(render("meta-llama-Llama-3.2-3B-Instruct"), want);
}

#[test]
fn qwen_2_5_template_writes_chatml() {
    let want = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n";
    assert_eq!(render("Qwen-Qwen2.5-7B-Instruct"), want);
}

#[test]
fn qwen_3_template_writes_chatml_through_python_string_methods() {
    let want = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n";
    assert_eq!(render("Qwen-Qwen3-0.6B"), want);
}

#[test]
fn smollm3_template_puts_the_system_prompt_under_its_metadata() {
    let text = render("HuggingFaceTB-SmolLM3-3B");
    let system = text.find("## Custom Instructions\n\nBe brief.").expect("the system prompt");
    let turns = [
        "<|im_start|>user\nHi<|im_end|>",
        "<|im_start|>assistant\nHello!<|im_end|>",
        "<|im_start|>user\nWho are you?<|im_end|>",
    ];
    let mut at = system;
    for turn in turns {
        at += text[at..].find(turn).unwrap_or_else(|| panic!("{turn:?} after the system prompt in {text:?}"));
    }
    assert!(text.trim_end().ends_with("<|im_start|>assistant"), "{text:?}");
}

#[test]
fn phi_3_5_template_writes_role_tags_and_end_markers() {
    let want = "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nWho are you?<|end|>\n<|assistant|>\n";
    assert_eq!(render("microsoft-Phi-3.5-mini-instruct"), want);
}

#[test]
fn mistral_nemo_template_folds_the_system_prompt_into_the_last_instruction() {
    assert_eq!(
        render("mistralai-Mistral-Nemo-Instruct-2407"),
        "[INST]Hi[/INST]Hello![INST]Be brief.\n\nWho are you?[/INST]"
    );
}

/// Gemma's template writes BOS itself, calls the assistant "model", and refuses a system prompt with
/// its own message (which the engine passes on).
#[test]
fn gemma_template_writes_model_turns_and_refuses_a_system_prompt_in_its_own_words() {
    let dir: std::path::PathBuf = std::env::var_os("GLASSBOX_VOCABS").expect("GLASSBOX_VOCABS").into();
    let source = std::fs::read_to_string(dir.join("templates/google-gemma-2-2b-it.jinja")).expect("template");
    let template = ChatTemplate::new(source);
    let turns = [Message::user("Hi"), Message::assistant("Hello!"), Message::user("Who are you?")];
    let text = template.render(&turns, true).expect("render");
    let want = "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nWho are you?<end_of_turn>\n<start_of_turn>model\n";
    assert_eq!(text, want);
    let err = template.render(&[Message::system("Be brief."), Message::user("Hi")], true).expect_err("refused");
    assert!(err.to_string().contains("System role not supported"), "{err}");
}

/// Gemma 4's template: turns between `<|turn>` and `<turn|>`, the assistant called "model", and an empty
/// thought channel opened for the answer (thinking off), as Python's Jinja renders it.
#[test]
fn gemma_4_template_writes_turn_markers_and_an_empty_thought_channel() {
    let want = "<|turn>system\nBe brief.<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\nHello!<turn|>\n<|turn>user\nWho are you?<turn|>\n<|turn>model\n<|channel>thought\n<channel|>";
    assert_eq!(render("google-gemma-4-31B-it"), want);
}

/// Qwen 3.5's template: ChatML, the answer opening with its thinking (`<think>`), as Python's Jinja
/// renders it.
#[test]
fn qwen_3_5_template_writes_chatml_and_opens_the_thinking() {
    let want = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n<think>\n";
    assert_eq!(render("Qwen3.5-4B"), want);
}
