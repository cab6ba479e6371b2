//! The tiny GPT's training step on the GPU: the same forward pass, backward pass and clipped AdamW
//! update as [`Trainer::train_step`], as WGSL kernels (`gpu/*.wgsl`) recorded into one compute pass and
//! one submit per step. Batches are drawn on the CPU by the [`Trainer`] (its random source and step
//! count), so a run on the GPU reads the same windows as one on the CPU. Only a few floats come back per
//! step (the batch's loss, summed on the GPU); the weights and Adam's moments come back when asked
//! ([`GpuGpt::download`]), e.g. to write a sample.

use std::rc::Rc;

use super::Layout;
use crate::backend::gpu::{words_to_bytes, GpuContext, Tracked};
use crate::error::{EngineError, Result};
use crate::train::kernels::{f32_words, finish, read_back, readable, spread, submit, Launch, STORAGE, WG};
use crate::train::pretrain::{Corpus, Trainer};

const EMBED: &str = include_str!("gpu/embed.wgsl");
const EMBED_BACK: &str = include_str!("gpu/embed_back.wgsl");
const LAYER_NORM: &str = include_str!("gpu/layer_norm.wgsl");
const LAYER_NORM_BACK: &str = include_str!("gpu/layer_norm_back.wgsl");
const LAYER_NORM_PARAMS: &str = include_str!("gpu/layer_norm_params.wgsl");
const MATMUL: &str = include_str!("gpu/matmul.wgsl");
const MATMUL_DX: &str = include_str!("gpu/matmul_dx.wgsl");
const MATMUL_DW: &str = include_str!("gpu/matmul_dw.wgsl");
const GELU: &str = include_str!("gpu/gelu.wgsl");
const ATTENTION: &str = include_str!("gpu/attention.wgsl");
const ATTENTION_BACK_Q: &str = include_str!("gpu/attention_back_q.wgsl");
const ATTENTION_BACK_KV: &str = include_str!("gpu/attention_back_kv.wgsl");
const SOFTMAX_LOSS: &str = include_str!("gpu/softmax_loss.wgsl");
const LOSS_MEAN: &str = include_str!("gpu/loss_mean.wgsl");
const GRAD_NORM: &str = include_str!("gpu/grad_norm.wgsl");
const ADAMW: &str = include_str!("gpu/adamw.wgsl");

/// `matmul.wgsl`'s flags (`matmul_dw.wgsl` takes the first).
const BIAS: u32 = 1;
const RESIDUAL: u32 = 2;

/// A tiny GPT's training on the GPU, for batches of its trainer's size and windows of its context.
pub struct GpuGpt {
    ctx: Rc<GpuContext>,
    batch: usize,
    context: usize,
    params: Tracked,
    grad: Tracked,
    m: Tracked,
    v: Tracked,
    tokens: Tracked,
    targets: Tracked,
    /// [Σ step losses, steps, held-out loss, 0].
    acc: Tracked,
    /// What [`GpuGpt::take_step_losses`] took out of `acc`.
    acc_taken: Tracked,
    adam_step: Tracked,
    /// The held-out pass's `loss_mean` uniform (its row count changes with the windows).
    eval_count: Tracked,
    forward: Vec<Launch>,
    step_loss: Launch,
    backward: Vec<Launch>,
    adam: Launch,
    eval_loss: Launch,
    // Activations, gradients and uniforms, kept alive for the bind groups.
    _buffers: Vec<Tracked>,
}

impl std::fmt::Debug for GpuGpt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuGpt(batch {} × {}, on {})", self.batch, self.context, self.ctx.info.name)
    }
}

/// Builds launches: each gets its own uniform holding its sizes and offsets.
struct Recorder<'a> {
    ctx: &'a GpuContext,
    uniforms: Vec<Tracked>,
}

impl Recorder<'_> {
    fn launch(
        &mut self,
        name: &'static str,
        source: &'static str,
        params: &[u32],
        buffers: &[&wgpu::Buffer],
        groups: [u32; 3],
    ) -> Result<Launch> {
        let pipeline = self.ctx.pipeline(name, source, &[])?;
        let u = self.ctx.uniform(&format!("gpt.{name}"), params)?;
        let mut all: Vec<&wgpu::Buffer> = vec![&u];
        all.extend_from_slice(buffers);
        let bind_group = self.ctx.bind(&pipeline, &all);
        self.uniforms.push(u);
        Ok(Launch { pipeline, bind_group, groups })
    }
}

/// Workgroups across `n` invocations of a 64-wide kernel.
fn across(n: usize) -> u32 {
    (n as u32).div_ceil(WG).max(1)
}

/// What one block keeps from its forward pass.
struct BlockBuffers {
    ln1: Tracked,
    st1: Tracked,
    qkv: Tracked,
    att: Tracked,
    y: Tracked,
    x2: Tracked,
    ln2: Tracked,
    st2: Tracked,
    h: Tracked,
    g: Tracked,
}

impl GpuGpt {
    /// Copies `trainer`'s model and Adam moments to the GPU.
    pub fn new(ctx: Rc<GpuContext>, trainer: &Trainer) -> Result<Self> {
        let gpt = &trainer.gpt;
        let c = gpt.config;
        let lo: &Layout = &gpt.layout;
        let (batch, t, w, v, heads) = (trainer.settings.batch, c.context, c.width, c.vocab, c.heads);
        let n = batch * t;
        if batch == 0 || heads == 0 || !w.is_multiple_of(heads) {
            return Err(EngineError::Gpu(format!("cannot train {batch} windows of width {w} with {heads} heads")));
        }
        // The kernels take one workgroup row per token of a batch.
        if n > 65_535 {
            return Err(EngineError::GpuUnsupported(format!(
                "{batch} windows of {t} characters are {n} rows, more than a GPU dispatch takes (65,535)"
            )));
        }
        let cx = &*ctx;
        let (m, vv) = trainer.moments();
        let params = readable(cx, "gpt.params", &f32_words(&gpt.params))?;
        let grad = readable(cx, "gpt.grad", &vec![0u32; gpt.params.len()])?;
        let m = readable(cx, "gpt.m", &f32_words(m))?;
        let v_buf = readable(cx, "gpt.v", &f32_words(vv))?;
        let mask: Vec<f32> = {
            let mut mask = vec![0.0; gpt.params.len()];
            for g in gpt.groups().iter().filter(|g| g.decay) {
                mask[g.start..g.start + g.len].fill(1.0);
            }
            mask
        };
        let decay = readable(cx, "gpt.decay", &f32_words(&mask))?;
        let norm = readable(cx, "gpt.norm", &[0; 4])?;
        let tokens = readable(cx, "gpt.tokens", &vec![0; n])?;
        let targets = readable(cx, "gpt.targets", &vec![0; n])?;
        let acc = readable(cx, "gpt.acc", &[0; 4])?;
        let acc_taken = readable(cx, "gpt.acc_taken", &[0; 4])?;
        let adam_step = cx.buffer("gpt.adam", 32, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST)?;
        let act = |name: &str, len: usize| cx.buffer(name, 4 * len.max(1) as u64, STORAGE);
        let xs = (0..=c.layers).map(|l| act(&format!("gpt.x{l}"), n * w)).collect::<Result<Vec<_>>>()?;
        let blocks = (0..c.layers)
            .map(|_| {
                Ok(BlockBuffers {
                    ln1: act("gpt.ln1", n * w)?,
                    st1: act("gpt.st1", 2 * n)?,
                    qkv: act("gpt.qkv", n * 3 * w)?,
                    att: act("gpt.att", batch * heads * t * t)?,
                    y: act("gpt.y", n * w)?,
                    x2: act("gpt.x2", n * w)?,
                    ln2: act("gpt.ln2", n * w)?,
                    st2: act("gpt.st2", 2 * n)?,
                    h: act("gpt.h", n * 4 * w)?,
                    g: act("gpt.g", n * 4 * w)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let lnf = act("gpt.lnf", n * w)?;
        let stf = act("gpt.stf", 2 * n)?;
        let logits = act("gpt.logits", n * v)?;
        let rowloss = act("gpt.rowloss", n)?;
        let dx = act("gpt.dx", n * w)?;
        let dln = act("gpt.dln", n * w)?;
        let dy = act("gpt.dy", n * w)?;
        let dh = act("gpt.dh", n * 4 * w)?;
        let dqkv = act("gpt.dqkv", n * 3 * w)?;
        let ds = act("gpt.ds", batch * heads * t * t)?;

        let mut r = Recorder { ctx: cx, uniforms: Vec::new() };
        let u = |x: usize| x as u32;
        let (nu, wu, tu) = (u(n), u(w), u(t));
        let rows = [across(n), 1, 1];
        let heads_grid = [across(t), u(heads), u(batch)];
        let p: &wgpu::Buffer = &params;

        // Forward.
        let mut forward = vec![r.launch(
            "embed",
            EMBED,
            &[nu, tu, wu, u(lo.wte), u(lo.wpe), 0, 0, 0],
            &[p, &tokens, &xs[0]],
            [across(w), nu, 1],
        )?];
        for (l, (at, b)) in lo.blocks.iter().zip(&blocks).enumerate() {
            let (x, out) = (&xs[l], &xs[l + 1]);
            forward.push(r.launch(
                "layer_norm",
                LAYER_NORM,
                &[nu, wu, u(at.ln1_g), u(at.ln1_b)],
                &[p, x, &b.ln1, &b.st1],
                rows,
            )?);
            forward.push(r.launch(
                "matmul",
                MATMUL,
                &[nu, wu, 3 * wu, u(at.qkv_w), u(at.qkv_b), BIAS, 0, 0],
                &[p, &b.ln1, &b.ln1, &b.qkv],
                [across(3 * w), nu, 1],
            )?);
            forward.push(r.launch(
                "attention",
                ATTENTION,
                &[tu, u(heads), wu, 0],
                &[&b.qkv, &b.att, &b.y],
                heads_grid,
            )?);
            forward.push(r.launch(
                "matmul",
                MATMUL,
                &[nu, wu, wu, u(at.proj_w), u(at.proj_b), BIAS | RESIDUAL, 0, 0],
                &[p, &b.y, x, &b.x2],
                [across(w), nu, 1],
            )?);
            forward.push(r.launch(
                "layer_norm",
                LAYER_NORM,
                &[nu, wu, u(at.ln2_g), u(at.ln2_b)],
                &[p, &b.x2, &b.ln2, &b.st2],
                rows,
            )?);
            forward.push(r.launch(
                "matmul",
                MATMUL,
                &[nu, wu, 4 * wu, u(at.fc_w), u(at.fc_b), BIAS, 0, 0],
                &[p, &b.ln2, &b.ln2, &b.h],
                [across(4 * w), nu, 1],
            )?);
            forward.push(r.launch("gelu", GELU, &[nu, 4 * wu, 0, 0], &[&b.h, &b.g], [across(4 * w), nu, 1])?);
            forward.push(r.launch(
                "matmul",
                MATMUL,
                &[nu, 4 * wu, wu, u(at.out_w), u(at.out_b), BIAS | RESIDUAL, 0, 0],
                &[p, &b.g, &b.x2, out],
                [across(w), nu, 1],
            )?);
        }
        let last = &xs[c.layers];
        forward.push(r.launch(
            "layer_norm",
            LAYER_NORM,
            &[nu, wu, u(lo.lnf_g), u(lo.lnf_b)],
            &[p, last, &lnf, &stf],
            rows,
        )?);
        forward.push(r.launch(
            "matmul",
            MATMUL,
            &[nu, wu, u(v), u(lo.wte), 0, 0, 0, 0],
            &[p, &lnf, &lnf, &logits],
            [across(v), nu, 1],
        )?);
        let scale = (1.0 / n as f32).to_bits();
        forward.push(r.launch(
            "softmax_loss",
            SOFTMAX_LOSS,
            &[nu, u(v), scale, 0],
            &[&targets, &logits, &rowloss],
            rows,
        )?);
        let step_loss = r.launch("loss_mean", LOSS_MEAN, &[nu, 0, 0, 0], &[&rowloss, &acc], [1, 1, 1])?;
        let eval_loss = r.launch("loss_mean", LOSS_MEAN, &[nu, 1, 0, 0], &[&rowloss, &acc], [1, 1, 1])?;
        let eval_count = r.uniforms.pop().ok_or_else(|| EngineError::Gpu("no uniform".into()))?;

        // Backward: the output layer (tied to the token embeddings), the final norm, then each block.
        let g: &wgpu::Buffer = &grad;
        let dw =
            |r: &mut Recorder<'_>, dy: &wgpu::Buffer, x: &wgpu::Buffer, inp: usize, out: usize, w_at, b_at, flags| {
                r.launch(
                    "matmul_dw",
                    MATMUL_DW,
                    &[nu, u(inp), u(out), w_at, b_at, flags, 0, 0],
                    &[dy, x, g],
                    [across(inp + 1), u(out), 1],
                )
            };
        let dxl = |r: &mut Recorder<'_>,
                   dy: &wgpu::Buffer,
                   pre: &wgpu::Buffer,
                   out_buf: &wgpu::Buffer,
                   inp: usize,
                   out: usize,
                   w_at,
                   flags| {
            r.launch(
                "matmul_dx",
                MATMUL_DX,
                &[nu, u(inp), u(out), w_at, flags, 0, 0, 0],
                &[p, dy, pre, out_buf],
                [across(inp), nu, 1],
            )
        };
        let ln_back = |r: &mut Recorder<'_>,
                       x: &wgpu::Buffer,
                       st: &wgpu::Buffer,
                       g_at: usize,
                       b_at: usize,
                       add: u32|
         -> Result<[Launch; 2]> {
            Ok([
                r.launch(
                    "layer_norm_params",
                    LAYER_NORM_PARAMS,
                    &[nu, wu, u(g_at), u(b_at)],
                    &[&dln, x, st, g],
                    [across(w), 1, 1],
                )?,
                r.launch("layer_norm_back", LAYER_NORM_BACK, &[nu, wu, u(g_at), add], &[p, &dln, x, st, &dx], rows)?,
            ])
        };
        let mut backward = vec![
            dw(&mut r, &logits, &lnf, w, v, u(lo.wte), 0, 0)?,
            dxl(&mut r, &logits, &logits, &dln, w, v, u(lo.wte), 0)?,
        ];
        backward.extend(ln_back(&mut r, last, &stf, lo.lnf_g, lo.lnf_b, 0)?);
        for (l, (at, b)) in lo.blocks.iter().zip(&blocks).enumerate().rev() {
            backward.push(dw(&mut r, &dx, &b.g, 4 * w, w, u(at.out_w), u(at.out_b), BIAS)?);
            backward.push(dxl(&mut r, &dx, &b.h, &dh, 4 * w, w, u(at.out_w), 1)?);
            backward.push(dw(&mut r, &dh, &b.ln2, w, 4 * w, u(at.fc_w), u(at.fc_b), BIAS)?);
            backward.push(dxl(&mut r, &dh, &dh, &dln, w, 4 * w, u(at.fc_w), 0)?);
            backward.extend(ln_back(&mut r, &b.x2, &b.st2, at.ln2_g, at.ln2_b, 1)?);
            backward.push(dw(&mut r, &dx, &b.y, w, w, u(at.proj_w), u(at.proj_b), BIAS)?);
            backward.push(dxl(&mut r, &dx, &dx, &dy, w, w, u(at.proj_w), 0)?);
            let heads_dims = [tu, u(heads), wu, 0];
            backward.push(r.launch(
                "attention_back_q",
                ATTENTION_BACK_Q,
                &heads_dims,
                &[&b.qkv, &b.att, &dy, &ds, &dqkv],
                heads_grid,
            )?);
            backward.push(r.launch(
                "attention_back_kv",
                ATTENTION_BACK_KV,
                &heads_dims,
                &[&b.qkv, &b.att, &dy, &ds, &dqkv],
                heads_grid,
            )?);
            backward.push(dw(&mut r, &dqkv, &b.ln1, w, 3 * w, u(at.qkv_w), u(at.qkv_b), BIAS)?);
            backward.push(dxl(&mut r, &dqkv, &dqkv, &dln, w, 3 * w, u(at.qkv_w), 0)?);
            backward.extend(ln_back(&mut r, &xs[l], &b.st1, at.ln1_g, at.ln1_b, 1)?);
        }
        backward.push(r.launch(
            "embed_back",
            EMBED_BACK,
            &[nu, tu, wu, u(v), u(lo.wte), u(lo.wpe), 0, 0],
            &[&tokens, &dx, g],
            [across(w), u(v + t), 1],
        )?);
        let total = gpt.params.len();
        backward.push(r.launch("grad_norm", GRAD_NORM, &[u(total), 0, 0, 0], &[g, &norm], [1, 1, 1])?);
        let adam = {
            let pipeline = cx.pipeline("adamw", ADAMW, &[])?;
            let size = cx.uniform("gpt.adam.size", &[u(total), 0, 0, 0])?;
            let bind_group = cx.bind(&pipeline, &[&size, &adam_step, p, g, &m, &v_buf, &decay, &norm]);
            r.uniforms.push(size);
            Launch { pipeline, bind_group, groups: spread(total) }
        };
        cx.check()?;
        let mut buffers = r.uniforms;
        buffers.extend(xs);
        for b in blocks {
            buffers.extend([b.ln1, b.st1, b.qkv, b.att, b.y, b.x2, b.ln2, b.st2, b.h, b.g]);
        }
        buffers.extend([lnf, stf, logits, rowloss, dx, dln, dy, dh, dqkv, ds, decay, norm]);
        Ok(Self {
            ctx,
            batch,
            context: t,
            params,
            grad,
            m,
            v: v_buf,
            tokens,
            targets,
            acc,
            acc_taken,
            adam_step,
            eval_count,
            forward,
            step_loss,
            backward,
            adam,
            eval_loss,
            _buffers: buffers,
        })
    }

    /// The adapter it runs on.
    pub fn adapter(&self) -> &str {
        &self.ctx.info.name
    }

    fn write_windows(&self, x: &[u32], y: &[u32]) -> Result<()> {
        let n = self.batch * self.context;
        if x.len() > n || y.len() != x.len() || !x.len().is_multiple_of(self.context) {
            return Err(EngineError::Gpu(format!(
                "a batch holds at most {} windows of {} tokens, and a target per token",
                self.batch, self.context
            )));
        }
        self.ctx.check()?;
        let mut padded = vec![0u32; n];
        padded[..x.len()].copy_from_slice(x);
        self.ctx.queue.write_buffer(&self.tokens, 0, &words_to_bytes(&padded));
        padded[..y.len()].copy_from_slice(y);
        padded[y.len()..].fill(0);
        self.ctx.queue.write_buffer(&self.targets, 0, &words_to_bytes(&padded));
        Ok(())
    }

    /// One clipped AdamW step on a batch `trainer` draws from `corpus` (the same batch its CPU step
    /// would read): one submit, nothing read back. The trainer counts the step.
    pub fn train_step(&self, trainer: &mut Trainer, corpus: &Corpus) -> Result<()> {
        let (x, y) = trainer.batch(corpus);
        if x.len() != self.batch * self.context {
            return Err(EngineError::Gpu("the trainer's batch does not match the GPU's".into()));
        }
        self.write_windows(&x, &y)?;
        let s = trainer.settings;
        let t = trainer.step as i32 + 1;
        let (b1, b2) = (0.9f32, 0.99f32);
        let step = [s.lr(trainer.step), 1.0 - b1.powi(t), 1.0 - b2.powi(t), s.clip, s.weight_decay, b1, b2, 0.0];
        self.ctx.queue.write_buffer(&self.adam_step, 0, &words_to_bytes(&f32_words(&step)));
        trainer.step += 1;
        let launches = self.forward.iter().chain([&self.step_loss]).chain(&self.backward).chain([&self.adam]);
        submit(&self.ctx, "gpt train step", launches);
        Ok(())
    }

    /// The gradient of the mean cross-entropy of `targets` after `tokens` (a full batch), laid out like
    /// [`super::Gpt::params`], without updating anything (to check the kernels against the CPU).
    pub async fn gradients(&self, tokens: &[u32], targets: &[u32]) -> Result<Vec<f32>> {
        if tokens.len() != self.batch * self.context {
            return Err(EngineError::Gpu("gradients are taken over a full batch".into()));
        }
        self.write_windows(tokens, targets)?;
        submit(&self.ctx, "gpt gradients", self.forward.iter().chain(&self.backward));
        Ok(read_back(&self.ctx, &[&self.grad]).await?.remove(0))
    }

    /// The mean cross-entropy (nats per token) of `windows` windows `x` → `y`, in passes of a batch.
    pub async fn loss(&self, x: &[u32], y: &[u32], windows: usize) -> Result<f32> {
        let t = self.context;
        if windows == 0 || x.len() != windows * t || y.len() != x.len() {
            return Err(EngineError::Gpu(format!("{windows} windows of {t} tokens expected")));
        }
        let mut sum = 0.0f64;
        for (xs, ys) in x.chunks(self.batch * t).zip(y.chunks(self.batch * t)) {
            self.write_windows(xs, ys)?;
            self.ctx.queue.write_buffer(&self.eval_count, 0, &words_to_bytes(&[xs.len() as u32, 1, 0, 0]));
            submit(&self.ctx, "gpt held-out", self.forward.iter().chain([&self.eval_loss]));
            let acc = read_back(&self.ctx, &[&self.acc]).await?.remove(0);
            sum += acc[2] as f64 * xs.len() as f64;
        }
        Ok((sum / x.len() as f64) as f32)
    }

    /// The held-out loss as [`Trainer::held_out_loss`] measures it, on the GPU.
    pub async fn held_out_loss(&self, corpus: &Corpus, windows: usize) -> Result<f32> {
        let (x, y, n) = corpus.held_out_windows(self.context, windows);
        self.loss(&x, &y, n).await
    }

    /// The mean loss of the steps since the last call, and how many (`None` when there were none).
    /// The sums are copied and cleared in one submit, so steps submitted while they come back count
    /// towards the next call.
    pub async fn take_step_losses(&self) -> Result<Option<(f32, usize)>> {
        let mut encoder =
            self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gpt losses") });
        encoder.copy_buffer_to_buffer(&self.acc, 0, &self.acc_taken, 0, 8);
        encoder.clear_buffer(&self.acc, 0, Some(8));
        self.ctx.queue.submit([encoder.finish()]);
        let acc = read_back(&self.ctx, &[&self.acc_taken]).await?.remove(0);
        let steps = acc[1].round() as usize;
        Ok((steps > 0).then(|| (acc[0] / steps as f32, steps)))
    }

    /// Resolves once the GPU has finished every step submitted so far.
    pub async fn finish(&self) -> Result<()> {
        finish(&self.ctx).await
    }

    /// Copies the GPU's weights and Adam moments into `trainer` (the same model), so that sampling
    /// and, should the GPU fail, training go on from them on the CPU.
    pub async fn download(&self, trainer: &mut Trainer) -> Result<()> {
        self.read_state().await?.copy_into(trainer)
    }

    /// The GPU's weights and Adam moments, read back (to move into a trainer later, without holding
    /// it across the wait).
    pub async fn read_state(&self) -> Result<GptState> {
        let mut read = read_back(&self.ctx, &[&self.params, &self.m, &self.v]).await?.into_iter();
        match (read.next(), read.next(), read.next()) {
            (Some(params), Some(m), Some(v)) => Ok(GptState { params, m, v }),
            _ => Err(EngineError::Gpu("the GPU's weights were not read back".into())),
        }
    }
}

/// A tiny GPT's weights and Adam moments as read back from the GPU.
#[derive(Debug)]
pub struct GptState {
    params: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl GptState {
    /// Copies the state into `trainer`'s weights and moments (a trainer of the same model).
    pub fn copy_into(self, trainer: &mut Trainer) -> Result<()> {
        let n = trainer.gpt.params.len();
        if self.params.len() < n || self.m.len() < n || self.v.len() < n {
            return Err(EngineError::Gpu("the weights read back are short".into()));
        }
        trainer.gpt.params.copy_from_slice(&self.params[..n]);
        let (tm, tv) = trainer.moments_mut();
        tm.copy_from_slice(&self.m[..n]);
        tv.copy_from_slice(&self.v[..n]);
        Ok(())
    }
}
