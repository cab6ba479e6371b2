//! The autoencoder's training step on the GPU: the same forward pass, backward pass and Adam update
//! as [`Autoencoder::train_step`], as WGSL kernels (`gpu/*.wgsl`) recorded into one compute pass and
//! one submit per step, with no readback. The weights come back only when asked
//! ([`GpuAutoencoder::download`]), e.g. a few times a second to draw what the model does.

use std::cell::Cell;
use std::rc::Rc;

use super::autoencoder::{Autoencoder, Grads, Kind};
use super::kernels::{f32_words, finish, read_back, readable, spread, submit, Launch, STORAGE, WG};
use super::nn::{Linear, LinearGrad};
use crate::backend::gpu::{words_to_bytes, GpuContext, Tracked};
use crate::error::{EngineError, Result};

const LINEAR: &str = include_str!("gpu/linear.wgsl");
const GRAD_INPUT: &str = include_str!("gpu/grad_input.wgsl");
const GRAD_WEIGHTS: &str = include_str!("gpu/grad_weights.wgsl");
const BCE_GRAD: &str = include_str!("gpu/bce_grad.wgsl");
const REPARAM: &str = include_str!("gpu/reparam.wgsl");
const CODE_GRAD: &str = include_str!("gpu/code_grad.wgsl");
const ADAM: &str = include_str!("gpu/adam.wgsl");

/// One layer's weights, bias, their gradients and Adam moments on the GPU.
struct GpuLinear {
    inp: usize,
    out: usize,
    w: Tracked,
    b: Tracked,
    gw: Tracked,
    gb: Tracked,
    moments: [Tracked; 4],
}

impl GpuLinear {
    fn upload(ctx: &GpuContext, name: &str, l: &Linear) -> Result<Self> {
        let zeros = |n: usize, what: &str| readable(ctx, &format!("{name}.{what}"), &vec![0u32; n]);
        Ok(Self {
            inp: l.inp,
            out: l.out,
            w: readable(ctx, &format!("{name}.w"), &f32_words(&l.w))?,
            b: readable(ctx, &format!("{name}.b"), &f32_words(&l.b))?,
            gw: zeros(l.w.len(), "gw")?,
            gb: zeros(l.b.len(), "gb")?,
            moments: [
                zeros(l.w.len(), "mw")?,
                zeros(l.w.len(), "vw")?,
                zeros(l.b.len(), "mb")?,
                zeros(l.b.len(), "vb")?,
            ],
        })
    }
}

/// An [`Autoencoder`]'s training on the GPU, for batches of a fixed size.
pub struct GpuAutoencoder {
    ctx: Rc<GpuContext>,
    batch: usize,
    dim: usize,
    latent: usize,
    variational: bool,
    lr: f32,
    t: Cell<i32>,
    layers: [GpuLinear; 4],
    x: Tracked,
    eps: Tracked,
    adam_step: Tracked,
    /// Indices in `_buffers` of the uniforms that hold β.
    beta_at: Vec<usize>,
    /// Forward and backward launches, then Adam's.
    backprop: Vec<Launch>,
    adam: Vec<Launch>,
    // Activations and their gradients, kept alive for the bind groups.
    _buffers: Vec<Tracked>,
}

impl std::fmt::Debug for GpuAutoencoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuAutoencoder({}→{}, batch {}, on {})", self.dim, self.latent, self.batch, self.ctx.info.name)
    }
}

impl GpuAutoencoder {
    /// Copies `model`'s weights to the GPU (Adam's moments start at zero) for batches of `batch`.
    pub fn new(ctx: Rc<GpuContext>, model: &Autoencoder, batch: usize) -> Result<Self> {
        let (dim, hidden, latent) = (model.dim, model.hidden, model.latent);
        let (variational, beta) = match model.kind {
            Kind::Plain => (false, 0.0),
            Kind::Variational { beta } => (true, beta),
        };
        let c = &*ctx;
        let layers = [
            GpuLinear::upload(c, "enc1", &model.enc1)?,
            GpuLinear::upload(c, "enc2", &model.enc2)?,
            GpuLinear::upload(c, "dec1", &model.dec1)?,
            GpuLinear::upload(c, "dec2", &model.dec2)?,
        ];
        let code_width = if variational { 2 * latent } else { latent };
        let act = |name: &str, n: usize| c.buffer(name, 4 * n as u64, STORAGE);
        let x = act("x", batch * dim)?;
        let eps = act("eps", batch * latent.max(1))?;
        let h1 = act("h1", batch * hidden)?;
        let code = act("code", batch * code_width)?;
        let z = act("z", batch * latent)?;
        let h2 = act("h2", batch * hidden)?;
        let logits = act("logits", batch * dim)?;
        let dlogits = act("dlogits", batch * dim)?;
        let dh2 = act("dh2", batch * hidden)?;
        let dz = act("dz", batch * latent)?;
        let dcode = act("dcode", batch * code_width)?;
        let dh1 = act("dh1", batch * hidden)?;
        let adam_step = c.buffer("adam.step", 32, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST)?;

        let mut uniforms = Vec::new();
        let mut backprop = Vec::new();
        let scale = 1.0 / batch as f32;
        let dims = |l: &GpuLinear, relu: bool| [batch as u32, l.inp as u32, l.out as u32, relu as u32];
        let launch = |uniforms: &mut Vec<Tracked>,
                      name: &'static str,
                      source: &'static str,
                      params: [u32; 4],
                      buffers: &[&wgpu::Buffer],
                      groups: [u32; 3]|
         -> Result<Launch> {
            let pipeline = c.pipeline(name, source, &[])?;
            let u = c.uniform(&format!("{name}.params"), &params)?;
            let mut all: Vec<&wgpu::Buffer> = vec![&u];
            all.extend_from_slice(buffers);
            let bind_group = c.bind(&pipeline, &all);
            uniforms.push(u);
            Ok(Launch { pipeline, bind_group, groups })
        };
        let across = |n: usize| (n as u32).div_ceil(WG);
        let [enc1, enc2, dec1, dec2] = &layers;
        let u = &mut uniforms;
        // Forward.
        let code_out: &wgpu::Buffer = if variational { &code } else { &z };
        backprop.push(launch(
            u,
            "linear",
            LINEAR,
            dims(enc1, true),
            &[&x, &enc1.w, &enc1.b, &h1],
            [across(hidden), batch as u32, 1],
        )?);
        backprop.push(launch(
            u,
            "linear",
            LINEAR,
            dims(enc2, false),
            &[&h1, &enc2.w, &enc2.b, code_out],
            [across(code_width), batch as u32, 1],
        )?);
        let vae_params = [batch as u32, latent as u32, beta.to_bits(), scale.to_bits()];
        // Where β sits (the uniforms of `reparam` and `code_grad`), so it can change between steps.
        let mut beta_at = Vec::new();
        if variational {
            beta_at.push(u.len());
            backprop.push(launch(
                u,
                "reparam",
                REPARAM,
                vae_params,
                &[&code, &eps, &z],
                [across(batch * latent), 1, 1],
            )?);
        }
        backprop.push(launch(
            u,
            "linear",
            LINEAR,
            dims(dec1, true),
            &[&z, &dec1.w, &dec1.b, &h2],
            [across(hidden), batch as u32, 1],
        )?);
        backprop.push(launch(
            u,
            "linear",
            LINEAR,
            dims(dec2, false),
            &[&h2, &dec2.w, &dec2.b, &logits],
            [across(dim), batch as u32, 1],
        )?);
        // Backward.
        let n = batch * dim;
        backprop.push(launch(
            u,
            "bce_grad",
            BCE_GRAD,
            [n as u32, scale.to_bits(), 0, 0],
            &[&logits, &x, &dlogits],
            [across(n), 1, 1],
        )?);
        backprop.push(launch(
            u,
            "grad_weights",
            GRAD_WEIGHTS,
            dims(dec2, false),
            &[&dlogits, &h2, &dec2.gw, &dec2.gb],
            [across(hidden + 1), dim as u32, 1],
        )?);
        backprop.push(launch(
            u,
            "grad_input",
            GRAD_INPUT,
            dims(dec2, true),
            &[&dlogits, &dec2.w, &h2, &dh2],
            [across(hidden), batch as u32, 1],
        )?);
        backprop.push(launch(
            u,
            "grad_weights",
            GRAD_WEIGHTS,
            dims(dec1, false),
            &[&dh2, &z, &dec1.gw, &dec1.gb],
            [across(latent + 1), hidden as u32, 1],
        )?);
        let dcode_in: &wgpu::Buffer = if variational { &dz } else { &dcode };
        backprop.push(launch(
            u,
            "grad_input",
            GRAD_INPUT,
            dims(dec1, false),
            &[&dh2, &dec1.w, &z, dcode_in],
            [across(latent), batch as u32, 1],
        )?);
        if variational {
            beta_at.push(u.len());
            backprop.push(launch(
                u,
                "code_grad",
                CODE_GRAD,
                vae_params,
                &[&code, &eps, &dz, &dcode],
                [across(batch * latent), 1, 1],
            )?);
        }
        backprop.push(launch(
            u,
            "grad_weights",
            GRAD_WEIGHTS,
            dims(enc2, false),
            &[&dcode, &h1, &enc2.gw, &enc2.gb],
            [across(hidden + 1), code_width as u32, 1],
        )?);
        backprop.push(launch(
            u,
            "grad_input",
            GRAD_INPUT,
            dims(enc2, true),
            &[&dcode, &enc2.w, &h1, &dh1],
            [across(hidden), batch as u32, 1],
        )?);
        backprop.push(launch(
            u,
            "grad_weights",
            GRAD_WEIGHTS,
            dims(enc1, false),
            &[&dh1, &x, &enc1.gw, &enc1.gb],
            [across(dim + 1), hidden as u32, 1],
        )?);

        let mut adam = Vec::new();
        for l in &layers {
            for (p, g, m, v) in
                [(&l.w, &l.gw, &l.moments[0], &l.moments[1]), (&l.b, &l.gb, &l.moments[2], &l.moments[3])]
            {
                let count = p.size as usize / 4;
                let pipeline = c.pipeline("adam", ADAM, &[])?;
                let size = c.uniform("adam.size", &[count as u32, 0, 0, 0])?;
                let bind_group = c.bind(&pipeline, &[&size, &adam_step, p, g, m, v]);
                uniforms.push(size);
                adam.push(Launch { pipeline, bind_group, groups: spread(count) });
            }
        }
        c.check()?;
        let mut buffers = uniforms;
        buffers.extend([h1, code, z, h2, logits, dlogits, dh2, dz, dcode, dh1]);
        Ok(Self {
            lr: model.learning_rate(),
            ctx,
            batch,
            dim,
            latent,
            variational,
            t: Cell::new(0),
            layers,
            x,
            eps,
            adam_step,
            beta_at,
            backprop,
            adam,
            _buffers: buffers,
        })
    }

    /// Changes the VAE's β from the next step on (its uniforms hold β at byte 8).
    pub fn set_beta(&self, beta: f32) {
        for &i in &self.beta_at {
            self.ctx.queue.write_buffer(&self._buffers[i], 8, &beta.to_le_bytes());
        }
    }

    /// The adapter it runs on.
    pub fn adapter(&self) -> &str {
        &self.ctx.info.name
    }

    fn run(&self, x: &[f32], noise: &[f32], with_adam: bool) -> Result<()> {
        if x.len() != self.batch * self.dim || (self.variational && noise.len() != self.batch * self.latent) {
            return Err(EngineError::Gpu(format!(
                "a training batch must hold {} examples of {} pixels (and {} noise values)",
                self.batch,
                self.dim,
                self.batch * self.latent
            )));
        }
        self.ctx.check()?;
        let q = &self.ctx.queue;
        q.write_buffer(&self.x, 0, &words_to_bytes(&f32_words(x)));
        if self.variational {
            q.write_buffer(&self.eps, 0, &words_to_bytes(&f32_words(noise)));
        }
        if with_adam {
            let t = self.t.get() + 1;
            self.t.set(t);
            let (b1, b2) = (0.9f32, 0.999f32);
            let step = [self.lr, 1.0 - b1.powi(t), 1.0 - b2.powi(t), b1, b2, 1e-8, 0.0, 0.0];
            q.write_buffer(&self.adam_step, 0, &words_to_bytes(&f32_words(&step)));
        }
        let launches = self.backprop.iter().chain(if with_adam { self.adam.iter() } else { [].iter() });
        submit(&self.ctx, "train step", launches);
        Ok(())
    }

    /// One Adam step on `x` (`(batch, dim)`), the VAE's codes drawn with `noise` (`(batch, latent)`
    /// standard normals): one submit, nothing read back.
    pub fn train_step(&self, x: &[f32], noise: &[f32]) -> Result<()> {
        self.run(x, noise, true)
    }

    /// Resolves once the GPU has finished every step submitted so far (callers keep only a few steps
    /// in flight, so the queue never runs far ahead of the device).
    pub async fn finish(&self) -> Result<()> {
        finish(&self.ctx).await
    }

    async fn read(&self, buffers: &[&wgpu::Buffer]) -> Result<Vec<Vec<f32>>> {
        read_back(&self.ctx, buffers).await
    }

    /// The gradients of one batch, without updating anything (to check the kernels against the CPU).
    pub async fn gradients(&self, x: &[f32], noise: &[f32]) -> Result<Grads> {
        self.run(x, noise, false)?;
        let bufs: Vec<&wgpu::Buffer> = self.layers.iter().flat_map(|l| [&*l.gw, &*l.gb]).collect();
        let mut read = self.read(&bufs).await?.into_iter();
        let mut grad = |l: &GpuLinear| -> LinearGrad {
            let mut w = read.next().unwrap_or_default();
            let mut b = read.next().unwrap_or_default();
            w.truncate(l.inp * l.out);
            b.truncate(l.out);
            LinearGrad { w, b }
        };
        let [enc1, enc2, dec1, dec2] = &self.layers;
        Ok(Grads { enc1: grad(enc1), enc2: grad(enc2), dec1: grad(dec1), dec2: grad(dec2) })
    }

    /// Copies the GPU's weights into `model` (same shape), for drawing and decoding on the CPU.
    pub async fn download(&self, model: &mut Autoencoder) -> Result<()> {
        let bufs: Vec<&wgpu::Buffer> = self.layers.iter().flat_map(|l| [&*l.w, &*l.b]).collect();
        let mut read = self.read(&bufs).await?.into_iter();
        for l in [&mut model.enc1, &mut model.enc2, &mut model.dec1, &mut model.dec2] {
            let (w, b) = (read.next().unwrap_or_default(), read.next().unwrap_or_default());
            if w.len() < l.w.len() || b.len() < l.b.len() {
                return Err(EngineError::Gpu("the weights read back are short".into()));
            }
            let (nw, nb) = (l.w.len(), l.b.len());
            l.w.copy_from_slice(&w[..nw]);
            l.b.copy_from_slice(&b[..nb]);
        }
        Ok(())
    }
}
