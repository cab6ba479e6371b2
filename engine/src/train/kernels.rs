//! What the GPU trainers share: storage buffers that can be read back, a recorded kernel launch, one
//! compute pass per step, and waiting for and reading back the GPU's work.

use crate::backend::gpu::{words_to_bytes, GpuContext, Tracked};
use crate::error::{EngineError, Result};

/// Invocations per workgroup in every kernel here (`@workgroup_size(64)`).
pub(crate) const WG: u32 = 64;

pub(crate) const STORAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_DST).union(wgpu::BufferUsages::COPY_SRC);

pub(crate) fn f32_words(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// A storage buffer holding `words` that can also be read back.
pub(crate) fn readable(ctx: &GpuContext, label: &str, words: &[u32]) -> Result<Tracked> {
    let b = ctx.buffer(label, 4 * words.len() as u64, STORAGE)?;
    ctx.queue.write_buffer(&b, 0, &words_to_bytes(words));
    Ok(b)
}

/// One kernel dispatch, recorded every step.
pub(crate) struct Launch {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) bind_group: wgpu::BindGroup,
    pub(crate) groups: [u32; 3],
}

/// Records `launches` into one compute pass and submits it.
pub(crate) fn submit<'a>(ctx: &GpuContext, label: &str, launches: impl Iterator<Item = &'a Launch>) {
    let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
    {
        let mut pass =
            encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(label), timestamp_writes: None });
        for l in launches {
            pass.set_pipeline(&l.pipeline);
            pass.set_bind_group(0, &l.bind_group, &[]);
            pass.dispatch_workgroups(l.groups[0], l.groups[1], l.groups[2]);
        }
    }
    ctx.queue.submit([encoder.finish()]);
}

/// Workgroups for `n` invocations of a 64-wide kernel that folds its second dimension back in
/// (`id.x + id.y · 65535 · 64`, as `adam.wgsl` does), so that `n` may exceed 65,535 workgroups.
pub(crate) fn spread(n: usize) -> [u32; 3] {
    let groups = (n as u32).div_ceil(WG).max(1);
    [groups.min(65535), groups.div_ceil(65535), 1]
}

/// Resolves once the GPU has finished every step submitted so far.
pub(crate) async fn finish(ctx: &GpuContext) -> Result<()> {
    let (tx, rx) = futures_channel::oneshot::channel();
    ctx.queue.on_submitted_work_done(move || {
        let _ = tx.send(());
    });
    #[cfg(not(target_arch = "wasm32"))]
    if let Err(err) = ctx.device.poll(wgpu::PollType::wait_indefinitely()) {
        return Err(EngineError::GpuDeviceLost(err.to_string()));
    }
    rx.await.map_err(|_| EngineError::GpuDeviceLost("the GPU stopped answering".into()))?;
    ctx.check()
}

/// Copies `buffers` back, whole, as f32 words.
pub(crate) async fn read_back(ctx: &GpuContext, buffers: &[&wgpu::Buffer]) -> Result<Vec<Vec<f32>>> {
    let sizes: Vec<u64> = buffers.iter().map(|b| b.size()).collect();
    let total: u64 = sizes.iter().sum();
    let staging = ctx.buffer("train.readback", total, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST)?;
    let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
    let mut at = 0;
    for (b, &size) in buffers.iter().zip(&sizes) {
        encoder.copy_buffer_to_buffer(b, 0, &staging, at, size);
        at += size;
    }
    ctx.queue.submit([encoder.finish()]);
    let bytes = ctx.read(&staging, total, None).await?;
    let mut out = Vec::new();
    let mut at = 0usize;
    for &size in &sizes {
        let words = &bytes[at..at + size as usize];
        out.push(words.chunks_exact(4).map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect());
        at += size as usize;
    }
    Ok(out)
}
