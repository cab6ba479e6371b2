//! The GGUF reader against files built in code: every value type round-trips, and a file truncated or
//! corrupted at any header byte gives a typed error, never a panic.

use engine::gguf::{Array, Gguf, GgufBuilder, Value};
use engine::quant::GgmlType;
use engine::EngineError;

fn fixture() -> GgufBuilder {
    GgufBuilder::new()
        .string("general.architecture", "llama")
        .u32("llama.block_count", 2)
        .u64("big", u64::MAX)
        .i32("neg", -7)
        .f32("llama.rope.freq_base", 10000.0)
        .f64("pi", std::f64::consts::PI)
        .bool("flag", true)
        .strings("tokenizer.ggml.tokens", &["a", "bc", "", "é"])
        .i32s("tokenizer.ggml.token_type", &[1, 3, 1, 1])
        .f32s("scores", &[0.5, -1.0])
        .tensor_f32("a.weight", &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        .tensor("b.weight", &[32, 1], GgmlType::Q8_0, vec![7u8; 34])
}

#[test]
fn every_value_type_round_trips() {
    let bytes = fixture().build();
    let gguf = Gguf::parse(&bytes).expect("valid fixture");
    assert_eq!(gguf.version, 3);
    assert_eq!(gguf.str("general.architecture"), Ok("llama"));
    assert_eq!(gguf.u64("llama.block_count"), Ok(2));
    assert_eq!(gguf.u64("big"), Ok(u64::MAX));
    assert_eq!(gguf.get("neg"), Some(&Value::Int(-7)));
    assert_eq!(gguf.f64("llama.rope.freq_base"), Ok(10000.0));
    assert_eq!(gguf.f64("pi"), Ok(std::f64::consts::PI));
    assert_eq!(gguf.get("flag"), Some(&Value::Bool(true)));
    let Ok(Array::String(tokens)) = gguf.array("tokenizer.ggml.tokens") else { panic!("tokens") };
    assert_eq!(tokens.iter().collect::<Vec<_>>(), ["a", "bc", "", "é"]);
    assert_eq!(gguf.array("tokenizer.ggml.token_type"), Ok(&Array::I32(vec![1, 3, 1, 1])));
    assert_eq!(gguf.array("scores"), Ok(&Array::F32(vec![0.5, -1.0])));
    assert!(matches!(gguf.u64("general.architecture"), Err(EngineError::WrongMetadataType { .. })));
    assert!(matches!(gguf.u64("absent"), Err(EngineError::MissingMetadata { .. })));

    let a = gguf.tensor("a.weight").expect("a");
    assert_eq!((a.dims.as_slice(), a.ty, a.size), (&[3u64, 2][..], GgmlType::F32, 24));
    let data = gguf.tensor_data(&bytes, a).expect("data");
    assert_eq!(&data[..4], &1.0f32.to_le_bytes());
    let b = gguf.tensor("b.weight").expect("b");
    assert_eq!((b.offset % 32, b.size), (0, 34));
    assert_eq!(gguf.tensor_data(&bytes, b).expect("data"), &[7u8; 34][..]);
    assert!(matches!(gguf.tensor("c"), Err(EngineError::MissingTensor { .. })));
}

#[test]
fn version_2_and_custom_alignment_parse() {
    let bytes = fixture().version(2).alignment(64).build();
    let gguf = Gguf::parse(&bytes).expect("valid");
    assert_eq!(gguf.version, 2);
    assert_eq!(gguf.data_offset % 64, 0);
    assert_eq!(gguf.tensor("b.weight").expect("b").offset % 64, 0);
}

#[test]
fn truncation_at_every_byte_is_a_typed_error() {
    let bytes = fixture().build();
    let tensor_start = Gguf::parse(&bytes).expect("valid").data_offset as usize;
    for len in 0..bytes.len() {
        match Gguf::parse(&bytes[..len]) {
            Err(EngineError::BadMagic { .. }) => assert!(len < 4),
            Err(EngineError::TruncatedHeader { .. }) => assert!(len < tensor_start, "len {len}"),
            Err(EngineError::TruncatedTensorData { .. }) => {}
            other => panic!("truncated to {len} bytes: {other:?}"),
        }
    }
}

/// The header read from the first bytes of a file is the whole file's (what a page shows and checks
/// before reading the rest); a prefix that ends inside the header asks for more with TruncatedHeader (or
/// BadMagic, under four bytes); tensors that would run past the whole length are still refused.
#[test]
fn a_header_read_from_a_prefix_is_the_whole_files_and_a_short_prefix_asks_for_more() {
    let bytes = fixture().build();
    let whole = Gguf::parse(&bytes).expect("valid");
    let header_end = whole.data_offset as usize;
    let read = Gguf::parse_header(&bytes[..header_end], bytes.len() as u64).expect("the header alone");
    assert_eq!((&read.metadata, read.data_offset, read.file_len), (&whole.metadata, whole.data_offset, whole.file_len));
    let names = |g: &Gguf| g.tensors.iter().map(|t| (t.name.clone(), t.offset, t.size)).collect::<Vec<_>>();
    assert_eq!(names(&read), names(&whole));
    let mut asked_more = 0;
    for len in 0..header_end {
        match Gguf::parse_header(&bytes[..len], bytes.len() as u64) {
            Err(EngineError::BadMagic { .. }) => assert!(len < 4),
            Err(EngineError::TruncatedHeader { .. }) => asked_more += 1,
            Ok(_) => assert!(len >= header_end - 64, "a header parsed from {len} of its {header_end} bytes"),
            other => panic!("a prefix of {len} bytes: {other:?}"),
        }
    }
    assert!(asked_more > header_end / 2);
    let short = Gguf::parse_header(&bytes[..header_end], bytes.len() as u64 - 1);
    assert!(matches!(short, Err(EngineError::TruncatedTensorData { .. })), "{short:?}");
}

#[test]
fn corrupting_any_header_byte_never_panics() {
    let bytes = fixture().build();
    let header_len = Gguf::parse(&bytes).expect("valid").data_offset as usize;
    for at in 0..header_len {
        for poison in [0x00u8, 0x7f, 0xff] {
            let mut corrupt = bytes.clone();
            corrupt[at] = poison;
            // Any outcome but a panic is acceptable; an Ok must still describe in-bounds tensors.
            if let Ok(gguf) = Gguf::parse(&corrupt) {
                for t in &gguf.tensors {
                    assert!(gguf.tensor_data(&corrupt, t).is_ok(), "byte {at} = {poison:#x}");
                }
            }
        }
    }
}

#[test]
fn named_corruptions_give_named_errors() {
    let mut bytes = fixture().build();
    bytes[0] = b'X';
    assert!(matches!(Gguf::parse(&bytes), Err(EngineError::BadMagic { .. })));

    for version in [1, 4] {
        let bytes = fixture().version(version).build();
        assert_eq!(Gguf::parse(&bytes).map(|_| ()), Err(EngineError::UnsupportedVersion { version }));
    }

    let bytes = GgufBuilder::new().raw("k", 13, vec![0; 8]).build();
    assert!(matches!(Gguf::parse(&bytes), Err(EngineError::UnknownValueType { code: 13, .. })));

    let bytes = GgufBuilder::new().raw("flag", 7, vec![2]).build();
    assert!(matches!(Gguf::parse(&bytes), Err(EngineError::InvalidBool { .. })));

    let bytes = GgufBuilder::new().u32("k", 1).u32("k", 2).build();
    assert!(matches!(Gguf::parse(&bytes), Err(EngineError::DuplicateKey { .. })));

    let bytes = GgufBuilder::new().tensor("q", &[31, 1], GgmlType::Q4_0, vec![0; 18]).build();
    assert!(matches!(Gguf::parse(&bytes), Err(EngineError::BadTensorShape { .. })));

    // An array that claims 2^60 elements must be refused before anything is allocated.
    let mut huge = 4u32.to_le_bytes().to_vec();
    huge.extend_from_slice(&(1u64 << 60).to_le_bytes());
    let bytes = GgufBuilder::new().raw("huge", 9, huge).build();
    assert!(matches!(Gguf::parse(&bytes), Err(EngineError::TruncatedHeader { what: "array length", .. })));

    // Arrays nested without end are refused, not recursed into.
    let mut nested = Vec::new();
    for _ in 0..64 {
        nested.extend_from_slice(&9u32.to_le_bytes());
        nested.extend_from_slice(&1u64.to_le_bytes());
    }
    nested.extend_from_slice(&0u32.to_le_bytes());
    nested.extend_from_slice(&0u64.to_le_bytes());
    let bytes = GgufBuilder::new().raw("deep", 9, nested).build();
    assert!(matches!(Gguf::parse(&bytes), Err(EngineError::ArrayTooDeep { .. })));
}

#[test]
fn unknown_tensor_type_is_named() {
    let mut bytes = GgufBuilder::new().tensor_f32("t", &[1], &[0.0]).build();
    // The type code sits right after the name and the dims: find the F32 code (0) after "t".
    let name_at = bytes.windows(1).rposition(|w| w == b"t").expect("name");
    let type_at = name_at + 1 + 4 + 8;
    bytes[type_at..type_at + 4].copy_from_slice(&20u32.to_le_bytes()); // IQ4_NL: not read yet
    let err = Gguf::parse(&bytes).expect_err("IQ4_NL is refused");
    assert!(matches!(err, EngineError::UnknownTensorType { code: 20, kind: "IQ4_NL", .. }));
    assert!(err.to_string().contains("ggml's IQ4_NL format"), "{err}");
}

/// A file of an architecture the engine does not run (here Gemma 4's) is refused with its name and the
/// list of those it runs, every one of which loads.
#[test]
fn an_architecture_the_engine_does_not_run_is_named_with_those_it_runs() {
    let bytes = GgufBuilder::new().string("general.architecture", "gemma4").u32("gemma4.block_count", 1).build();
    let gguf = Gguf::parse(&bytes).expect("parses");
    let err = engine::model::Config::from_gguf(&gguf).expect_err("gemma4 is refused");
    assert!(matches!(&err, EngineError::UnsupportedArchitecture { arch } if arch == "gemma4"), "{err:?}");
    let text = err.to_string();
    for arch in ["\"gemma4\"", "llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3"] {
        assert!(text.contains(arch), "{text} names {arch}");
    }
}
