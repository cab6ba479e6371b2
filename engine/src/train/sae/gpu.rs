//! The sparse autoencoder's training on the GPU: the same step as [`SaeTrainer::step`](super::SaeTrainer::step) — the same
//! batches from the same seed, the same top-k code, gradients, projection, Adam and renormalisation —
//! as WGSL kernels recorded into one compute pass and one submit per step, nothing read back. The
//! figures of the steps (loss, fraction unexplained, features on) add up on the GPU until
//! [`GpuSaeTrainer::take_stats`] reads them; the weights come back when asked ([`GpuSaeTrainer::download`]).
//!
//! The code is kept twice: dense `(batch, width)` for the weight gradients (every entry of a gradient
//! is written, so nothing has to be zeroed between steps) and compact `(batch, k)` for the decoder, the
//! features' gradients and the decoder bias, which only touch the k features on.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::{draw, draw_seed, BatchStats, Sae, SaeConfig, SaeGrads, BATCH, DEAD_AFTER, LEARNING_RATE};
use crate::backend::gpu::{words_to_bytes, GpuContext, Tracked};
use crate::error::{EngineError, Result};
use crate::train::kernels::{f32_words, finish, read_back, readable, spread, submit, Launch, WG};
use crate::train::nn::Rng;

const LINEAR: &str = include_str!("../gpu/linear.wgsl");
const GRAD_WEIGHTS: &str = include_str!("../gpu/grad_weights.wgsl");
const ADAM: &str = include_str!("../gpu/adam.wgsl");
const CENTRE: &str = include_str!("../gpu/sae_centre.wgsl");
const TOPK: &str = include_str!("../gpu/sae_topk.wgsl");
const DECODE: &str = include_str!("../gpu/sae_decode.wgsl");
const CODE_GRAD: &str = include_str!("../gpu/sae_code_grad.wgsl");
const BIAS_GRAD: &str = include_str!("../gpu/sae_bias_grad.wgsl");
const ROWS: &str = include_str!("../gpu/sae_rows.wgsl");
const STATS: &str = include_str!("../gpu/sae_stats.wgsl");

/// A [`Sae`]'s training on the GPU, for batches of [`BATCH`] vectors.
pub struct GpuSaeTrainer {
    ctx: Rc<GpuContext>,
    /// Sizes, centring and scale (fixed while training); the weights live on the GPU.
    frame: Sae,
    /// `w_enc, b_enc, w_dec, b_dec`, then their gradients.
    params: [Tracked; 4],
    grads: [Tracked; 4],
    u: Tracked,
    seen_now: Tracked,
    adam_step: Tracked,
    last_fired: Tracked,
    stats: Tracked,
    /// The forward and backward passes; the bookkeeping; the projection, Adam and renormalisation.
    backprop: Vec<Launch>,
    bookkeeping: Vec<Launch>,
    update: Vec<Launch>,
    t: Cell<i32>,
    seen: Cell<usize>,
    /// Vectors per step.
    pub batch: usize,
    rng: RefCell<Rng>,
    // Activations, moments and uniforms, kept alive for the bind groups.
    _buffers: Vec<Tracked>,
}

impl std::fmt::Debug for GpuSaeTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.frame.config;
        write!(f, "GpuSaeTrainer({}→{} k {}, on {})", c.d, c.width, c.k, self.ctx.info.name)
    }
}

impl GpuSaeTrainer {
    /// Copies `sae` to the GPU (Adam's moments start at zero); batches are drawn as
    /// [`SaeTrainer::new`](super::SaeTrainer::new)`(sae, seed)` draws them.
    pub fn new(ctx: Rc<GpuContext>, sae: &Sae, seed: u64) -> Result<Self> {
        let SaeConfig { d, width, k, .. } = sae.config;
        let n = BATCH;
        let c = &*ctx;
        let params = [
            readable(c, "sae.w_enc", &f32_words(&sae.w_enc))?,
            readable(c, "sae.b_enc", &f32_words(&sae.b_enc))?,
            readable(c, "sae.w_dec", &f32_words(&sae.w_dec))?,
            readable(c, "sae.b_dec", &f32_words(&sae.b_dec))?,
        ];
        let sizes = [width * d, width, width * d, d];
        let zeros = |name: &str, len: usize| readable(c, name, &vec![0u32; len]);
        let grads = [
            zeros("sae.g_w_enc", sizes[0])?,
            zeros("sae.g_b_enc", sizes[1])?,
            zeros("sae.g_w_dec", sizes[2])?,
            zeros("sae.g_b_dec", sizes[3])?,
        ];
        let u = zeros("sae.u", n * d)?;
        let centred = zeros("sae.centred", n * d)?;
        let pre = zeros("sae.pre", n * width)?;
        let z = zeros("sae.z", n * width)?;
        let dz = zeros("sae.dz", n * width)?;
        let idx = zeros("sae.idx", n * k)?;
        let val = zeros("sae.val", n * k)?;
        let du = zeros("sae.du", n * d)?;
        let dzc = zeros("sae.dzc", n * k)?;
        let unused = zeros("sae.sum_z", width)?;
        let last_fired = zeros("sae.last_fired", width)?;
        let stats = zeros("sae.stats", 4)?;
        let uniform = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
        let seen_now = c.buffer("sae.seen", 16, uniform)?;
        let adam_step = c.buffer("sae.adam", 32, uniform)?;

        let norm = 2.0 / (n * d) as f32;
        let dims = c.uniform("sae.dims", &[n as u32, d as u32, width as u32, k as u32, norm.to_bits(), 0, 0, 0])?;
        let linear = c.uniform("sae.linear", &[n as u32, d as u32, width as u32, 1])?;
        let weights = c.uniform("sae.weights", &[n as u32, d as u32, width as u32, 0])?;
        let project = c.uniform("sae.project", &[width as u32, d as u32, 1, 0])?;
        let normalise = c.uniform("sae.normalise", &[width as u32, d as u32, 0, 0])?;
        let launch = |name: &'static str, source: &'static str, buffers: &[&wgpu::Buffer], groups: [u32; 3]| {
            let pipeline = c.pipeline(name, source, &[])?;
            let bind_group = c.bind(&pipeline, buffers);
            Ok::<_, EngineError>(Launch { pipeline, bind_group, groups })
        };
        let across = |len: usize| (len as u32).div_ceil(WG);
        let rows = [width.min(65535) as u32, width.div_ceil(65535) as u32, 1];
        let [w_enc, b_enc, w_dec, b_dec] = &params;
        let [g_w_enc, g_b_enc, g_w_dec, g_b_dec] = &grads;
        let backprop = vec![
            launch("sae_centre", CENTRE, &[&dims, &u, b_dec, &centred], [across(n * d), 1, 1])?,
            launch("linear", LINEAR, &[&linear, &centred, w_enc, b_enc, &pre], [across(width), n as u32, 1])?,
            launch("sae_topk", TOPK, &[&dims, &pre, &z, &dz, &idx, &val], [n as u32, 1, 1])?,
            launch("sae_decode", DECODE, &[&dims, &u, w_dec, b_dec, &idx, &val, &du], [across(d), n as u32, 1])?,
            launch("sae_code_grad", CODE_GRAD, &[&dims, &du, w_dec, &idx, &val, &dzc, &dz], [across(k), n as u32, 1])?,
            launch(
                "grad_weights",
                GRAD_WEIGHTS,
                &[&weights, &dz, &centred, g_w_enc, g_b_enc],
                [across(d + 1), width as u32, 1],
            )?,
            launch(
                "grad_weights",
                GRAD_WEIGHTS,
                &[&weights, &z, &du, g_w_dec, &unused],
                [across(d + 1), width as u32, 1],
            )?,
            launch("sae_bias_grad", BIAS_GRAD, &[&dims, &du, w_enc, &idx, &dzc, g_b_dec], [across(d), 1, 1])?,
        ];
        let bookkeeping = vec![launch(
            "sae_stats",
            STATS,
            &[&dims, &seen_now, &u, &du, &z, &val, &last_fired, &stats],
            [across(width), 1, 1],
        )?];
        let mut update = vec![launch("sae_rows", ROWS, &[&project, w_dec, g_w_dec], rows)?];
        let mut kept = vec![centred, pre, z, dz, idx, val, du, dzc, unused, dims, linear, weights, project];
        for ((p, g), &len) in params.iter().zip(&grads).zip(&sizes) {
            let (m, v) = (zeros("sae.m", len)?, zeros("sae.v", len)?);
            let size = c.uniform("sae.adam.size", &[len as u32, 0, 0, 0])?;
            update.push(launch("adam", ADAM, &[&size, &adam_step, p, g, &m, &v], spread(len))?);
            kept.extend([m, v, size]);
        }
        update.push(launch("sae_rows", ROWS, &[&normalise, w_dec, g_w_dec], rows)?);
        kept.push(normalise);
        c.check()?;
        let frame = Sae {
            config: sae.config,
            mean: sae.mean.clone(),
            scale: sae.scale,
            w_enc: Vec::new(),
            b_enc: Vec::new(),
            w_dec: Vec::new(),
            b_dec: Vec::new(),
        };
        Ok(Self {
            ctx,
            frame,
            params,
            grads,
            u,
            seen_now,
            adam_step,
            last_fired,
            stats,
            backprop,
            bookkeeping,
            update,
            t: Cell::new(0),
            seen: Cell::new(0),
            batch: n,
            rng: RefCell::new(Rng::new(draw_seed(seed))),
            _buffers: kept,
        })
    }

    /// The adapter it runs on.
    pub fn adapter(&self) -> &str {
        &self.ctx.info.name
    }

    /// The sizes being trained.
    pub fn config(&self) -> SaeConfig {
        self.frame.config
    }

    /// Uploads `batch` (hidden states in the model's units) in the autoencoder's units.
    fn upload(&self, batch: &[f32]) -> Result<()> {
        let d = self.frame.config.d;
        if batch.len() != self.batch * d {
            return Err(EngineError::Gpu(format!("a batch must hold {} vectors of {d} values", self.batch)));
        }
        self.ctx.check()?;
        let units: Vec<f32> = batch.chunks_exact(d).flat_map(|x| self.frame.to_units(x)).collect();
        self.ctx.queue.write_buffer(&self.u, 0, &words_to_bytes(&f32_words(&units)));
        Ok(())
    }

    /// Training vectors seen.
    pub fn seen(&self) -> usize {
        self.seen.get()
    }

    /// One step on a batch drawn at random from `train` `(n, d)`: one submit, nothing read back.
    pub fn step(&self, train: &[f32]) -> Result<()> {
        let d = self.frame.config.d;
        if train.len() < d || !train.len().is_multiple_of(d) {
            return Err(EngineError::Gpu("no hidden states to learn from".into()));
        }
        let batch = draw(&mut self.rng.borrow_mut(), train, self.batch, d);
        self.upload(&batch)?;
        let seen = self.seen.get() + self.batch;
        self.seen.set(seen);
        let t = self.t.get() + 1;
        self.t.set(t);
        let (b1, b2) = (0.9f32, 0.999f32);
        let adam = [LEARNING_RATE, 1.0 - b1.powi(t), 1.0 - b2.powi(t), b1, b2, 1e-8, 0.0, 0.0];
        let q = &self.ctx.queue;
        q.write_buffer(&self.adam_step, 0, &words_to_bytes(&f32_words(&adam)));
        q.write_buffer(&self.seen_now, 0, &words_to_bytes(&[seen as u32, 0, 0, 0]));
        submit(&self.ctx, "sae step", self.backprop.iter().chain(&self.bookkeeping).chain(&self.update));
        Ok(())
    }

    /// Resolves once every step submitted so far is done.
    pub async fn finish(&self) -> Result<()> {
        finish(&self.ctx).await
    }

    /// The mean of the figures of the steps since the last call (`None` if there were none).
    pub async fn take_stats(&self) -> Result<Option<BatchStats>> {
        let read = read_back(&self.ctx, &[&self.stats]).await?;
        self.ctx.queue.write_buffer(&self.stats, 0, &[0u8; 16]);
        let s = read.into_iter().next().unwrap_or_default();
        let steps = s.get(3).copied().unwrap_or(0.0);
        Ok((steps > 0.0).then(|| BatchStats { loss: s[0] / steps, fvu: s[1] / steps, active: s[2] / steps }))
    }

    /// Features that have not fired in the last [`DEAD_AFTER`] training vectors, as
    /// [`SaeTrainer::dead`] counts them.
    pub async fn dead(&self) -> Result<usize> {
        let seen = self.seen.get();
        if seen < DEAD_AFTER {
            return Ok(0);
        }
        let read = read_back(&self.ctx, &[&self.last_fired]).await?;
        let width = self.frame.config.width;
        let last = read.into_iter().next().unwrap_or_default();
        Ok(last.iter().take(width).filter(|at| seen - at.to_bits() as usize >= DEAD_AFTER).count())
    }

    /// The gradients of `batch` (hidden states in the model's units, [`BATCH`] of them), nothing updated:
    /// what [`Sae::gradients`] computes, to check the kernels against it.
    pub async fn gradients(&self, batch: &[f32]) -> Result<SaeGrads> {
        self.upload(batch)?;
        submit(&self.ctx, "sae gradients", self.backprop.iter());
        let mut read = read_back(&self.ctx, &self.grads.iter().map(|g| &**g).collect::<Vec<_>>()).await?.into_iter();
        let SaeConfig { d, width, .. } = self.frame.config;
        let mut next = |len: usize| {
            let mut v = read.next().unwrap_or_default();
            v.truncate(len);
            v
        };
        Ok(SaeGrads { w_enc: next(width * d), b_enc: next(width), w_dec: next(width * d), b_dec: next(d) })
    }

    /// The autoencoder as trained so far.
    pub async fn download(&self) -> Result<Sae> {
        let mut read = read_back(&self.ctx, &self.params.iter().map(|p| &**p).collect::<Vec<_>>()).await?.into_iter();
        let SaeConfig { d, width, .. } = self.frame.config;
        let mut next = |len: usize| -> Result<Vec<f32>> {
            let mut v = read.next().unwrap_or_default();
            if v.len() < len {
                return Err(EngineError::Gpu("the weights read back are short".into()));
            }
            v.truncate(len);
            Ok(v)
        };
        Ok(Sae {
            w_enc: next(width * d)?,
            b_enc: next(width)?,
            w_dec: next(width * d)?,
            b_dec: next(d)?,
            ..self.frame.clone()
        })
    }
}
