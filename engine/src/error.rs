//! One error type for the whole engine. Library code returns these and never panics on input.

/// Everything the engine can report to its caller.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The file does not start with `GGUF`.
    #[error("not a GGUF file: it starts with \"{}\", not \"GGUF\"", .found.escape_ascii())]
    BadMagic {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// GGUF v1 or a future version.
    #[error("GGUF version {version} is not supported (2 and 3 are)")]
    UnsupportedVersion {
        /// The version in the file.
        version: u32,
    },
    /// The header ends before a field it announced.
    #[error("the GGUF header is truncated: {what} at byte {offset} runs past the end of the file")]
    TruncatedHeader {
        /// The field being read.
        what: &'static str,
        /// Where it starts.
        offset: u64,
    },
    /// A tensor's data lies (partly) beyond the end of the file.
    #[error("the data of tensor {name} runs past the end of the file (truncated download?)")]
    TruncatedTensorData {
        /// The tensor.
        name: String,
    },
    /// A tensor's offset is not a multiple of the file's alignment.
    #[error("tensor {name} starts at data offset {offset}, which is not aligned")]
    MisalignedTensor {
        /// The tensor.
        name: String,
        /// Its offset.
        offset: u64,
    },
    /// A metadata value type code outside 0..=12.
    #[error("unknown metadata value type {code} at byte {offset}")]
    UnknownValueType {
        /// The code.
        code: u32,
        /// Where it was read.
        offset: u64,
    },
    /// A tensor type this engine does not know.
    #[error(
        "tensor {name} is in ggml's {kind} format (type code {code}, at byte {offset}), which this engine does not read yet (it reads F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q2_K to Q6_K)"
    )]
    UnknownTensorType {
        /// The tensor.
        name: String,
        /// The ggml type code.
        code: u32,
        /// ggml's name for the code (`IQ4_NL`), or `unknown`.
        kind: &'static str,
        /// Where it was read.
        offset: u64,
    },
    /// A string that is not UTF-8.
    #[error("{what} at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field.
        what: &'static str,
        /// Where it starts.
        offset: u64,
    },
    /// A bool byte other than 0 or 1.
    #[error("invalid bool at byte {offset}")]
    InvalidBool {
        /// Where it was read.
        offset: u64,
    },
    /// Arrays nested too deeply.
    #[error("arrays nested too deeply at byte {offset}")]
    ArrayTooDeep {
        /// Where it was read.
        offset: u64,
    },
    /// The same metadata key twice.
    #[error("metadata key {key} appears twice")]
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// A model this engine cannot run.
    #[error(
        "unsupported architecture {arch:?}: this engine runs {} models",
        crate::model::config::LLAMA_FAMILY.join(", ")
    )]
    UnsupportedArchitecture {
        /// `general.architecture`.
        arch: String,
    },
    /// A required metadata key is absent.
    #[error("metadata key {key} is missing from the GGUF file")]
    MissingMetadata {
        /// The key.
        key: String,
    },
    /// A metadata key holds a value of the wrong type.
    #[error("metadata key {key} should be {expected}")]
    WrongMetadataType {
        /// The key.
        key: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A required tensor is absent.
    #[error("tensor {name} is missing from the GGUF file")]
    MissingTensor {
        /// The tensor.
        name: String,
    },
    /// A tensor whose shape is impossible or not what the model needs.
    #[error("tensor {name} has a bad shape: {reason}")]
    BadTensorShape {
        /// The tensor.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The tokenizer could not be built or used.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template could not be rendered.
    #[error("chat template: {0}")]
    ChatTemplate(String),
    /// Nothing to run the model on.
    #[error("the prompt is empty")]
    EmptyPrompt,
    /// The context window is full.
    #[error("the conversation needs {needed} tokens but the model's context holds {limit}")]
    ContextFull {
        /// Tokens required.
        needed: usize,
        /// The context length.
        limit: usize,
    },
    /// A token id outside the vocabulary.
    #[error("token id {id} is outside the vocabulary ({vocab} tokens)")]
    BadTokenId {
        /// The id.
        id: u32,
        /// Vocabulary size.
        vocab: usize,
    },
    /// No WebGPU / Vulkan adapter could be obtained; the caller falls back to the CPU.
    #[error("no GPU adapter is available: {0}")]
    NoAdapter(String),
    /// The GPU refused the model or a kernel: the caller keeps (or falls back to) the CPU.
    #[error("the GPU cannot run this model: {0}")]
    GpuUnsupported(String),
    /// The GPU device was lost (driver reset, GPU process crash, tab backgrounded too long...).
    #[error("the GPU device was lost: {0}")]
    GpuDeviceLost(String),
    /// A GPU operation failed validation or ran out of memory.
    #[error("GPU error: {0}")]
    Gpu(String),
}

/// The engine's `Result` alias.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
