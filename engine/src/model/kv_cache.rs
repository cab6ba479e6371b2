//! Keys and values of every position seen so far, per layer. Memory grows with the conversation (up to a
//! fixed capacity), so a short chat does not pay for the model's whole context.

use crate::model::Config;

/// Per layer: keys and values, each `(len, n_head_kv * head_dim)`, f32.
#[derive(Debug, Clone)]
pub struct KvCache {
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    kv_dim: usize,
    len: usize,
    capacity: usize,
    /// Round what is stored to f16, as the GPU's cache does (to test the GPU against its exact twin).
    f16: bool,
}

impl KvCache {
    /// An empty cache for `config` holding at most `capacity` positions.
    pub fn new(config: &Config, capacity: usize) -> Self {
        Self {
            keys: vec![Vec::new(); config.n_layer],
            values: vec![Vec::new(); config.n_layer],
            kv_dim: config.kv_dim(),
            len: 0,
            capacity,
            f16: false,
        }
    }

    /// The same cache storing keys and values rounded to f16, as the GPU backend keeps them: the CPU
    /// twin the GPU is compared with where attention is sharp enough for that rounding to show.
    pub fn rounding_to_f16(mut self) -> Self {
        self.f16 = true;
        self
    }

    /// Positions filled.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no position is filled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most positions it may hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Lets it hold up to `capacity` positions (never fewer than it holds).
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(self.len);
    }

    /// Forgets every position from `len` on (to rewind a conversation).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
        for layer in self.keys.iter_mut().chain(self.values.iter_mut()) {
            layer.truncate(self.len * self.kv_dim);
        }
    }

    /// Writes layer `l`'s keys and values for positions `len..len + n` (`k`, `v`: `(n, kv_dim)`).
    pub(crate) fn write(&mut self, l: usize, k: &[f32], v: &[f32]) {
        let at = self.len * self.kv_dim;
        for (store, new) in [(&mut self.keys[l], k), (&mut self.values[l], v)] {
            store.truncate(at);
            if self.f16 {
                store.extend(new.iter().map(|&v| half::f16::from_f32(v).to_f32()));
            } else {
                store.extend_from_slice(new);
            }
        }
    }

    /// Layer `l`'s keys and values for positions `0..n`.
    pub(crate) fn layer(&self, l: usize, n: usize) -> (&[f32], &[f32]) {
        (&self.keys[l][..n * self.kv_dim], &self.values[l][..n * self.kv_dim])
    }

    /// Marks `n` more positions as filled (after every layer wrote them).
    pub(crate) fn advance(&mut self, n: usize) {
        self.len += n;
    }
}
