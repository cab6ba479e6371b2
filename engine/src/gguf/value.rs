//! GGUF metadata values. Arrays are stored as typed vectors (strings as one byte blob plus end offsets),
//! so a parsed array never takes more memory than its bytes in the file.

use crate::error::{EngineError, Result};
use crate::gguf::cursor::Cursor;

/// The value types of GGUF metadata, with their on-disk codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ValueType {
    /// u8
    U8 = 0,
    /// i8
    I8 = 1,
    /// u16
    U16 = 2,
    /// i16
    I16 = 3,
    /// u32
    U32 = 4,
    /// i32
    I32 = 5,
    /// f32
    F32 = 6,
    /// bool (one byte, 0 or 1)
    Bool = 7,
    /// UTF-8 string with a u64 length
    String = 8,
    /// typed array: element type, u64 count, elements
    Array = 9,
    /// u64
    U64 = 10,
    /// i64
    I64 = 11,
    /// f64
    F64 = 12,
}

impl ValueType {
    pub(crate) fn from_code(code: u32, offset: u64) -> Result<Self> {
        use ValueType::*;
        Ok(match code {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return Err(EngineError::UnknownValueType { code, offset }),
        })
    }

    /// The fewest bytes one value of this type takes in a file (used to bound counts).
    fn min_bytes(self) -> usize {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => 1,
            U16 | I16 => 2,
            U32 | I32 | F32 => 4,
            U64 | I64 | F64 | String => 8,
            Array => 12,
        }
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Any unsigned integer (u8, u16, u32, u64), widened.
    Uint(u64),
    /// Any signed integer (i8, i16, i32, i64), widened.
    Int(i64),
    /// f32 or f64, widened.
    Float(f64),
    /// bool
    Bool(bool),
    /// string
    String(String),
    /// array
    Array(Array),
}

/// A typed GGUF array.
#[derive(Debug, Clone, PartialEq)]
pub enum Array {
    /// Unsigned integers of any width, widened to u64 only on access.
    U8(Vec<u8>),
    /// i8 elements.
    I8(Vec<i8>),
    /// u16 elements.
    U16(Vec<u16>),
    /// i16 elements.
    I16(Vec<i16>),
    /// u32 elements.
    U32(Vec<u32>),
    /// i32 elements (e.g. `tokenizer.ggml.token_type`).
    I32(Vec<i32>),
    /// u64 elements.
    U64(Vec<u64>),
    /// i64 elements.
    I64(Vec<i64>),
    /// f32 elements (e.g. `tokenizer.ggml.scores`).
    F32(Vec<f32>),
    /// f64 elements.
    F64(Vec<f64>),
    /// bool elements.
    Bool(Vec<bool>),
    /// Strings, concatenated, with the end offset of each.
    String(StringArray),
    /// Arrays of arrays are legal GGUF but unused by any model we read: kept as a count only.
    Nested(usize),
}

/// Many strings in one allocation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StringArray {
    bytes: String,
    ends: Vec<u32>,
}

impl StringArray {
    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    /// The `i`-th string.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.bytes.get(start..end)
    }
    /// All strings in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
    /// Appends one string.
    pub fn push(&mut self, s: &str) {
        self.bytes.push_str(s);
        self.ends.push(self.bytes.len() as u32);
    }
}

impl Array {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Array::U8(v) => v.len(),
            Array::I8(v) => v.len(),
            Array::U16(v) => v.len(),
            Array::I16(v) => v.len(),
            Array::U32(v) => v.len(),
            Array::I32(v) => v.len(),
            Array::U64(v) => v.len(),
            Array::I64(v) => v.len(),
            Array::F32(v) => v.len(),
            Array::F64(v) => v.len(),
            Array::Bool(v) => v.len(),
            Array::String(v) => v.len(),
            Array::Nested(n) => *n,
        }
    }
    /// Whether the array is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub(crate) fn read_value(cursor: &mut Cursor<'_>, ty: ValueType) -> Result<Value> {
    const W: &str = "metadata value";
    Ok(match ty {
        ValueType::U8 => Value::Uint(cursor.u8(W)?.into()),
        ValueType::I8 => Value::Int((cursor.u8(W)? as i8).into()),
        ValueType::U16 => Value::Uint(cursor.u16(W)?.into()),
        ValueType::I16 => Value::Int((cursor.u16(W)? as i16).into()),
        ValueType::U32 => Value::Uint(cursor.u32(W)?.into()),
        ValueType::I32 => Value::Int((cursor.u32(W)? as i32).into()),
        ValueType::U64 => Value::Uint(cursor.u64(W)?),
        ValueType::I64 => Value::Int(cursor.u64(W)? as i64),
        ValueType::F32 => Value::Float(cursor.f32(W)?.into()),
        ValueType::F64 => Value::Float(cursor.f64(W)?),
        ValueType::Bool => Value::Bool(read_bool(cursor)?),
        ValueType::String => Value::String(cursor.string(W)?.to_owned()),
        ValueType::Array => Value::Array(read_array(cursor, 0)?),
    })
}

fn read_bool(cursor: &mut Cursor<'_>) -> Result<bool> {
    let offset = cursor.position() as u64;
    match cursor.u8("bool")? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(EngineError::InvalidBool { offset }),
    }
}

/// Nested arrays deeper than this are refused: recursion must not be steerable by the file.
const MAX_ARRAY_DEPTH: usize = 4;

fn read_array(cursor: &mut Cursor<'_>, depth: usize) -> Result<Array> {
    const W: &str = "array element";
    let offset = cursor.position() as u64;
    if depth > MAX_ARRAY_DEPTH {
        return Err(EngineError::ArrayTooDeep { offset });
    }
    let elem = ValueType::from_code(cursor.u32("array element type")?, offset)?;
    let n = cursor.count(elem.min_bytes(), "array length")?;
    macro_rules! collect {
        ($variant:ident, $read:expr) => {{
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push($read);
            }
            Array::$variant(v)
        }};
    }
    Ok(match elem {
        ValueType::U8 => Array::U8(cursor.take(n, W)?.to_vec()),
        ValueType::I8 => collect!(I8, cursor.u8(W)? as i8),
        ValueType::U16 => collect!(U16, cursor.u16(W)?),
        ValueType::I16 => collect!(I16, cursor.u16(W)? as i16),
        ValueType::U32 => collect!(U32, cursor.u32(W)?),
        ValueType::I32 => collect!(I32, cursor.u32(W)? as i32),
        ValueType::U64 => collect!(U64, cursor.u64(W)?),
        ValueType::I64 => collect!(I64, cursor.u64(W)? as i64),
        ValueType::F32 => collect!(F32, cursor.f32(W)?),
        ValueType::F64 => collect!(F64, cursor.f64(W)?),
        ValueType::Bool => collect!(Bool, read_bool(cursor)?),
        ValueType::String => {
            let mut strings = StringArray { bytes: String::new(), ends: Vec::with_capacity(n) };
            for _ in 0..n {
                strings.push(cursor.string(W)?);
            }
            Array::String(strings)
        }
        ValueType::Array => {
            // Skip nested arrays element by element; each consumes ≥ 12 bytes, so this terminates.
            for _ in 0..n {
                read_array(cursor, depth + 1)?;
            }
            Array::Nested(n)
        }
    })
}
