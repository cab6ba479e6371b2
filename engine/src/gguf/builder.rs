//! Builds GGUF files in memory: the fixtures of the reader's and the model's tests, and the fuzzers' seeds.

use super::{ValueType, DEFAULT_ALIGNMENT, GGUF_MAGIC};
use crate::quant::GgmlType;

/// Writes a GGUF file: `GgufBuilder::new().u32("llama.block_count", 2).tensor(...).build()`.
#[derive(Debug, Clone)]
pub struct GgufBuilder {
    version: u32,
    alignment: u64,
    kvs: Vec<(String, u32, Vec<u8>)>,
    tensors: Vec<(String, Vec<u64>, GgmlType, Vec<u8>)>,
}

impl Default for GgufBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn string_bytes(s: &str) -> Vec<u8> {
    let mut out = (s.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(s.as_bytes());
    out
}

fn array_bytes(elem: ValueType, n: usize, items: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = (elem as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&(n as u64).to_le_bytes());
    for item in items {
        out.extend_from_slice(&item);
    }
    out
}

impl GgufBuilder {
    /// An empty version-3 file with the default alignment.
    pub fn new() -> Self {
        Self { version: 3, alignment: DEFAULT_ALIGNMENT, kvs: Vec::new(), tensors: Vec::new() }
    }

    /// Sets the version field (2 and 3 are valid).
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    /// Sets `general.alignment` (written as metadata when it differs from the default).
    pub fn alignment(mut self, alignment: u32) -> Self {
        self.alignment = alignment.into();
        self.u32("general.alignment", alignment)
    }

    /// A key with a raw type code and value bytes (for malformed fixtures).
    pub fn raw(mut self, key: &str, type_code: u32, value: Vec<u8>) -> Self {
        self.kvs.push((key.to_owned(), type_code, value));
        self
    }

    /// A u32 value.
    pub fn u32(self, key: &str, v: u32) -> Self {
        self.raw(key, ValueType::U32 as u32, v.to_le_bytes().to_vec())
    }
    /// A u64 value.
    pub fn u64(self, key: &str, v: u64) -> Self {
        self.raw(key, ValueType::U64 as u32, v.to_le_bytes().to_vec())
    }
    /// An i32 value.
    pub fn i32(self, key: &str, v: i32) -> Self {
        self.raw(key, ValueType::I32 as u32, v.to_le_bytes().to_vec())
    }
    /// An f32 value.
    pub fn f32(self, key: &str, v: f32) -> Self {
        self.raw(key, ValueType::F32 as u32, v.to_le_bytes().to_vec())
    }
    /// An f64 value.
    pub fn f64(self, key: &str, v: f64) -> Self {
        self.raw(key, ValueType::F64 as u32, v.to_le_bytes().to_vec())
    }
    /// A bool value.
    pub fn bool(self, key: &str, v: bool) -> Self {
        self.raw(key, ValueType::Bool as u32, vec![u8::from(v)])
    }
    /// A string value.
    pub fn string(self, key: &str, v: &str) -> Self {
        self.raw(key, ValueType::String as u32, string_bytes(v))
    }
    /// An array of strings.
    pub fn strings<S: AsRef<str>>(self, key: &str, v: &[S]) -> Self {
        let bytes = array_bytes(ValueType::String, v.len(), v.iter().map(|s| string_bytes(s.as_ref())));
        self.raw(key, ValueType::Array as u32, bytes)
    }
    /// An array of i32.
    pub fn i32s(self, key: &str, v: &[i32]) -> Self {
        let bytes = array_bytes(ValueType::I32, v.len(), v.iter().map(|x| x.to_le_bytes().to_vec()));
        self.raw(key, ValueType::Array as u32, bytes)
    }
    /// An array of f32.
    pub fn f32s(self, key: &str, v: &[f32]) -> Self {
        let bytes = array_bytes(ValueType::F32, v.len(), v.iter().map(|x| x.to_le_bytes().to_vec()));
        self.raw(key, ValueType::Array as u32, bytes)
    }

    /// A tensor: `dims` in ggml order (contiguous first), `data` already in `ty`'s layout.
    pub fn tensor(mut self, name: &str, dims: &[u64], ty: GgmlType, data: Vec<u8>) -> Self {
        self.tensors.push((name.to_owned(), dims.to_vec(), ty, data));
        self
    }

    /// An F32 tensor from values.
    pub fn tensor_f32(self, name: &str, dims: &[u64], values: &[f32]) -> Self {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensor(name, dims, GgmlType::F32, data)
    }

    /// The file's bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&GGUF_MAGIC.to_le_bytes());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.kvs.len() as u64).to_le_bytes());
        for (key, code, value) in &self.kvs {
            out.extend_from_slice(&string_bytes(key));
            out.extend_from_slice(&code.to_le_bytes());
            out.extend_from_slice(value);
        }
        let align = |n: u64| n.div_ceil(self.alignment) * self.alignment;
        let mut offset = 0u64;
        let mut offsets = Vec::new();
        for (name, dims, ty, data) in &self.tensors {
            out.extend_from_slice(&string_bytes(name));
            out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&ty.code().to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            offsets.push(offset);
            offset = align(offset + data.len() as u64);
        }
        let data_start = align(out.len() as u64);
        out.resize(data_start as usize, 0);
        for ((_, _, _, data), at) in self.tensors.iter().zip(offsets) {
            out.resize((data_start + at) as usize, 0);
            out.extend_from_slice(data);
        }
        out
    }
}
