//! GGUF reader (versions 2 and 3). No read goes past the length captured at open, every count is checked
//! against the bytes that remain before anything is allocated from it, and every failure is a typed
//! [`EngineError`]: a crafted file cannot make it panic, loop, or allocate beyond a small multiple of its
//! own size.
//!
//! Layout: magic `GGUF`, version u32, tensor count u64, metadata count u64, the metadata key/values, the
//! tensor infos (name, dims, type, offset), padding to `general.alignment`, then the tensor data.

mod builder;
mod cursor;
mod value;

use std::collections::BTreeMap;

pub use builder::GgufBuilder;
pub use value::{Array, StringArray, Value, ValueType};

use crate::error::{EngineError, Result};
use crate::quant::GgmlType;
use cursor::Cursor;

/// `GGUF` read as a little-endian u32.
pub const GGUF_MAGIC: u32 = u32::from_le_bytes(*b"GGUF");
/// Alignment of the tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most four dimensions.
pub const MAX_DIMS: usize = 4;

/// One tensor's entry in the index.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// e.g. `blk.0.attn_q.weight`
    pub name: String,
    /// ggml order: `dims[0]` is the contiguous (row) length.
    pub dims: Vec<u64>,
    /// Element or block format.
    pub ty: GgmlType,
    /// Byte offset from the start of the data section.
    pub offset: u64,
    /// Size in bytes of the tensor's data.
    pub size: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A parsed GGUF header; the tensor data stays in the caller's bytes.
#[derive(Debug, Clone)]
pub struct Gguf {
    /// 2 or 3.
    pub version: u32,
    /// Metadata by key.
    pub metadata: BTreeMap<String, Value>,
    /// Tensors in file order.
    pub tensors: Vec<TensorInfo>,
    /// Absolute offset of the data section.
    pub data_offset: u64,
    /// Length of the bytes this header was parsed from.
    pub file_len: u64,
}

impl Gguf {
    /// Parses the header of a GGUF file held in `bytes` (the whole file) and checks that every tensor's
    /// data lies inside it.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        Self::parse_header(bytes, bytes.len() as u64)
    }

    /// Parses the header from `prefix`, the first bytes of a file of `file_len` bytes, and checks that
    /// every tensor's data lies inside the whole file: what a file holds (its card, the memory it needs)
    /// is known before it is read. A prefix that ends inside the header gives
    /// [`EngineError::TruncatedHeader`]: read more and try again.
    pub fn parse_header(prefix: &[u8], file_len: u64) -> Result<Self> {
        let bytes = &prefix[..prefix.len().min(usize::try_from(file_len).unwrap_or(usize::MAX))];
        let mut cursor = Cursor::new(bytes);
        let magic = cursor.u32("magic")?;
        if magic != GGUF_MAGIC {
            return Err(EngineError::BadMagic { found: magic.to_le_bytes() });
        }
        let version = cursor.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(EngineError::UnsupportedVersion { version });
        }
        // A tensor info takes ≥ 8 (name) + 4 (n_dims) + 4 (type) + 8 (offset) bytes; a key/value ≥ 8 + 4 + 1.
        let n_tensors = cursor.count(24, "tensor count")?;
        let n_kv = cursor.count(13, "metadata count")?;

        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = cursor.string("metadata key")?.to_owned();
            let offset = cursor.position() as u64;
            let ty = ValueType::from_code(cursor.u32("metadata type")?, offset)?;
            let value = value::read_value(&mut cursor, ty)?;
            if metadata.insert(key.clone(), value).is_some() {
                return Err(EngineError::DuplicateKey { key });
            }
        }

        let mut tensors = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            tensors.push(read_tensor_info(&mut cursor)?);
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(Value::Uint(a)) if *a > 0 && a.is_power_of_two() && *a <= 1 << 16 => *a,
            Some(_) => {
                return Err(EngineError::WrongMetadataType {
                    key: "general.alignment".into(),
                    expected: "a power of two u32",
                })
            }
        };
        let header_end = cursor.position() as u64;
        let data_offset = header_end.div_ceil(alignment) * alignment;
        if data_offset > file_len && !tensors.is_empty() {
            return Err(EngineError::TruncatedTensorData { name: tensors[0].name.clone() });
        }
        for t in &tensors {
            if t.offset % alignment != 0 {
                return Err(EngineError::MisalignedTensor { name: t.name.clone(), offset: t.offset });
            }
            let end = data_offset.checked_add(t.offset).and_then(|start| start.checked_add(t.size));
            if end.is_none_or(|end| end > file_len) {
                return Err(EngineError::TruncatedTensorData { name: t.name.clone() });
            }
        }
        Ok(Self { version, metadata, tensors, data_offset, file_len })
    }

    /// The tensor called `name`.
    pub fn tensor(&self, name: &str) -> Result<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name).ok_or_else(|| EngineError::MissingTensor { name: name.to_owned() })
    }

    /// The bytes of `tensor` inside `file` (the same bytes the header was parsed from).
    pub fn tensor_data<'a>(&self, file: &'a [u8], tensor: &TensorInfo) -> Result<&'a [u8]> {
        let start = self.data_offset + tensor.offset;
        usize::try_from(start)
            .ok()
            .zip(usize::try_from(start + tensor.size).ok())
            .and_then(|(s, e)| file.get(s..e))
            .ok_or_else(|| EngineError::TruncatedTensorData { name: tensor.name.clone() })
    }

    /// A metadata value, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    /// A required unsigned integer.
    pub fn u64(&self, key: &str) -> Result<u64> {
        match self.require(key)? {
            Value::Uint(v) => Ok(*v),
            Value::Int(v) if *v >= 0 => Ok(*v as u64),
            _ => Err(wrong_type(key, "an unsigned integer")),
        }
    }

    /// A required float (f32 or f64).
    pub fn f64(&self, key: &str) -> Result<f64> {
        match self.require(key)? {
            Value::Float(v) => Ok(*v),
            _ => Err(wrong_type(key, "a float")),
        }
    }

    /// A required string.
    pub fn str(&self, key: &str) -> Result<&str> {
        match self.require(key)? {
            Value::String(s) => Ok(s),
            _ => Err(wrong_type(key, "a string")),
        }
    }

    /// A required array.
    pub fn array(&self, key: &str) -> Result<&Array> {
        match self.require(key)? {
            Value::Array(a) => Ok(a),
            _ => Err(wrong_type(key, "an array")),
        }
    }

    fn require(&self, key: &str) -> Result<&Value> {
        self.metadata.get(key).ok_or_else(|| EngineError::MissingMetadata { key: key.to_owned() })
    }
}

fn wrong_type(key: &str, expected: &'static str) -> EngineError {
    EngineError::WrongMetadataType { key: key.to_owned(), expected }
}

fn read_tensor_info(cursor: &mut Cursor<'_>) -> Result<TensorInfo> {
    let name = cursor.string("tensor name")?.to_owned();
    let n_dims = cursor.u32("tensor dimension count")? as usize;
    if n_dims == 0 || n_dims > MAX_DIMS {
        return Err(EngineError::BadTensorShape {
            name,
            reason: format!("{n_dims} dimensions (1 to {MAX_DIMS} allowed)"),
        });
    }
    let mut dims = Vec::with_capacity(n_dims);
    for _ in 0..n_dims {
        dims.push(cursor.u64("tensor dimension")?);
    }
    let type_offset = cursor.position() as u64;
    let code = cursor.u32("tensor type")?;
    let ty = GgmlType::from_code(code).ok_or(EngineError::UnknownTensorType {
        name: name.clone(),
        code,
        kind: crate::quant::ggml_type_name(code),
        offset: type_offset,
    })?;
    let offset = cursor.u64("tensor offset")?;
    let n_elements = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
    let size = n_elements.and_then(|n| ty.bytes_for(n, dims[0]));
    let Some(size) = size else {
        return Err(EngineError::BadTensorShape { name, reason: format!("{dims:?} does not fit {ty:?} blocks") });
    };
    Ok(TensorInfo { name, dims, ty, offset, size })
}
