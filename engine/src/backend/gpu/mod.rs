//! The GPU backend: hand-written WGSL kernels run through `wgpu` (WebGPU in the browser, Vulkan/Metal/DX12
//! natively; on a machine without a GPU, Mesa's lavapipe). Same answers as the CPU backend's exact path
//! (f32 activations, weights dequantized in registers; the KV cache is f16).
//!
//! Each kernel is an `<op>.rs` + `<op>.wgsl` pair; [`GpuModel`] uploads the weights once, builds every
//! pipeline and bind group at load, and runs a decode step as one command encoder, one submit and one
//! small readback (the token the GPU picked, its logit and log Σ exp, and the best alternatives when
//! asked), or the logits and the attention probabilities when the caller asks for them. The next step
//! can be submitted before this one is back: it reads the picked token on the GPU.

mod attention;
mod embed;
mod matmul;
mod model;
mod pack;
mod rms_norm;
mod rope;
mod rows_top;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
mod topk;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) use model::shared_prefix;
pub use model::{GpuModel, GpuSession, Hidden, Input, Picked, Readback, Submitted, CHUNK, MAX_GPU_CONTEXT};
pub use rows_top::{RowTop, R as LENS_CANDIDATES};
pub use topk::{PickParams, K as PICK_CANDIDATES};
/// The kind of adapter (`Cpu` is a software rasteriser), re-exported for callers without wgpu.
pub use wgpu::DeviceType;

use crate::error::{EngineError, Result};

/// Per-step work counters, so a benchmark (or a curious student) can see what one token costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepCounters {
    /// Compute dispatches recorded.
    pub dispatches: u32,
    /// Queue submits.
    pub submits: u32,
    /// Buffer maps (readbacks) awaited.
    pub readbacks: u32,
    /// Bytes copied back from the GPU.
    pub readback_bytes: u64,
    /// GPU memory held by the model and its sessions, in bytes.
    pub gpu_memory_bytes: u64,
}

/// A device and its queue, with the adapter's description, error capture and memory accounting.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    /// The adapter as the driver describes it.
    pub info: wgpu::AdapterInfo,
    /// The limits the device was created with (WebGPU's defaults when the adapter has them).
    pub limits: wgpu::Limits,
    /// Whether the kernels use subgroup operations (the adapter has them, with subgroups of ≥ 8).
    pub subgroups: bool,
    /// Whether matrix products run `matmul_rows.wgsl` (8 rows per invocation), the kernel for a
    /// software adapter, rather than a GPU's `matmul.wgsl` (8 lanes per row).
    pub row_kernels: bool,
    lost: Arc<Mutex<Option<String>>>,
    errors: Arc<Mutex<Vec<String>>>,
    memory: Arc<AtomicU64>,
    /// The `Step` uniform every kernel reads (see `step.wgsl`).
    step: wgpu::Buffer,
    pipelines: Mutex<HashMap<String, wgpu::ComputePipeline>>,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext").field("adapter", &self.info.name).field("backend", &self.info.backend).finish()
    }
}

impl GpuContext {
    /// Opens the best adapter with WebGPU's default limits (which every WebGPU device offers), capturing
    /// errors instead of letting wgpu panic, and noting a lost device.
    pub async fn new() -> Result<Self> {
        Self::with_subgroups(true).await
    }

    /// [`Self::new`], using subgroup operations only if `allow` (tests run both reductions).
    pub async fn with_subgroups(allow: bool) -> Result<Self> {
        let adapter = super::gpu_adapter().await?;
        let info = adapter.get_info();
        let limits = if adapter.limits().check_limits(&wgpu::Limits::defaults()) {
            wgpu::Limits::defaults()
        } else {
            adapter.limits()
        };
        let subgroups = adapter.features().contains(wgpu::Features::SUBGROUP) && info.subgroup_min_size >= 8 && allow;
        let features = if subgroups { wgpu::Features::SUBGROUP } else { wgpu::Features::empty() };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("glassbox"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|err| EngineError::NoAdapter(format!("{}: {err}", info.name)))?;
        let lost = Arc::new(Mutex::new(None));
        let errors = Arc::new(Mutex::new(Vec::new()));
        {
            let lost = lost.clone();
            device.set_device_lost_callback(move |reason, message| {
                if let Ok(mut lost) = lost.lock() {
                    lost.get_or_insert(format!("{reason:?}: {message}"));
                }
            });
            let errors = errors.clone();
            device.on_uncaptured_error(Arc::new(move |err| {
                if let Ok(mut errors) = errors.lock() {
                    errors.push(err.to_string());
                }
            }));
        }
        let step = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("step"),
            size: STEP_BYTES,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let row_kernels = info.device_type == wgpu::DeviceType::Cpu;
        Ok(Self {
            device,
            queue,
            info,
            limits,
            subgroups,
            row_kernels,
            lost,
            errors,
            memory: Arc::new(AtomicU64::new(STEP_BYTES)),
            step,
            pipelines: Mutex::new(HashMap::new()),
            modules: Mutex::new(HashMap::new()),
        })
    }

    /// Products through `matmul_rows.wgsl` (`rows`) or `matmul.wgsl`, whatever the adapter: the tests run
    /// every kernel on the adapter they have.
    pub fn with_row_kernels(mut self, rows: bool) -> Self {
        self.row_kernels = rows;
        self
    }

    /// Whether the adapter is a software rasteriser (lavapipe, SwiftShader): its "GPU" is this
    /// machine's own CPU cores.
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// The `Step` uniform buffer.
    pub(crate) fn step_buffer(&self) -> &wgpu::Buffer {
        &self.step
    }

    /// Writes the `Step` uniform for the next submit.
    pub(crate) fn write_step(&self, step: &StepUniform) {
        let words = [
            step.start,
            step.n,
            step.head_row0,
            step.head_n,
            u32::from(step.trace),
            step.trace_first,
            step.trace_rows,
            step.trace_keys,
        ];
        self.queue.write_buffer(&self.step, 0, &words_to_bytes(&words));
    }

    /// `Err` once the device is lost or an operation failed; `Ok` while everything ran.
    pub fn check(&self) -> Result<()> {
        if let Some(reason) = self.lost.lock().ok().and_then(|l| l.clone()) {
            return Err(EngineError::GpuDeviceLost(reason));
        }
        match self.errors.lock().ok().and_then(|e| e.first().cloned()) {
            Some(first) if self.device_lost_like(&first) => Err(EngineError::GpuDeviceLost(first)),
            Some(first) => Err(EngineError::Gpu(first)),
            None => Ok(()),
        }
    }

    fn device_lost_like(&self, message: &str) -> bool {
        let m = message.to_ascii_lowercase();
        m.contains("lost") || m.contains("destroyed")
    }

    /// Whether the device has been lost.
    pub fn is_lost(&self) -> bool {
        matches!(self.check(), Err(EngineError::GpuDeviceLost(_)))
    }

    /// Destroys the device, exactly as a driver reset would lose it (tests and demonstrations).
    pub fn simulate_device_loss(&self) {
        self.device.destroy();
        if let Ok(mut lost) = self.lost.lock() {
            lost.get_or_insert_with(|| "destroyed on purpose (simulated loss)".to_owned());
        }
    }

    /// GPU memory held by buffers made through this context, in bytes.
    pub fn memory_in_use(&self) -> u64 {
        self.memory.load(Ordering::Relaxed)
    }

    /// `Err` with the reason when a buffer of `size` bytes used as `usage` exceeds this device's limits.
    pub(crate) fn check_fits(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> Result<()> {
        if usage.contains(wgpu::BufferUsages::STORAGE) && size > self.limits.max_storage_buffer_binding_size {
            return Err(EngineError::GpuUnsupported(format!(
                "{label} needs {} MiB in one binding; this GPU allows {} MiB",
                size >> 20,
                self.limits.max_storage_buffer_binding_size >> 20
            )));
        }
        if size > self.limits.max_buffer_size {
            return Err(EngineError::GpuUnsupported(format!(
                "{label} needs a {} MiB buffer; this GPU allows {} MiB",
                size >> 20,
                self.limits.max_buffer_size >> 20
            )));
        }
        Ok(())
    }

    /// A buffer of `size` bytes (rounded up to 16), counted in [`Self::memory_in_use`] until dropped.
    pub(crate) fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> Result<Tracked> {
        let size = size.max(16).next_multiple_of(16);
        self.check_fits(label, size, usage)?;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        });
        self.memory.fetch_add(size, Ordering::Relaxed);
        Ok(Tracked { buffer, size, memory: self.memory.clone() })
    }

    /// A storage buffer holding `words`.
    pub(crate) fn storage(&self, label: &str, words: &[u32]) -> Result<Tracked> {
        let b =
            self.buffer(label, 4 * words.len() as u64, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST)?;
        self.queue.write_buffer(&b.buffer, 0, &words_to_bytes(words));
        Ok(b)
    }

    /// A uniform buffer holding `words` (a kernel's fixed parameters).
    pub(crate) fn uniform(&self, label: &str, words: &[u32]) -> Result<Tracked> {
        let b =
            self.buffer(label, 4 * words.len() as u64, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST)?;
        self.queue.write_buffer(&b.buffer, 0, &words_to_bytes(words));
        Ok(b)
    }

    /// The pipeline of entry point `main` in `source` with these override constants, built once.
    pub(crate) fn pipeline(
        &self,
        name: &'static str,
        source: &'static str,
        constants: &[(&str, f64)],
    ) -> Result<wgpu::ComputePipeline> {
        let key = format!("{name}{constants:?}");
        let mut pipelines = self.pipelines.lock().map_err(|_| EngineError::Gpu("pipeline cache poisoned".into()))?;
        if let Some(p) = pipelines.get(&key) {
            return Ok(p.clone());
        }
        let mut modules = self.modules.lock().map_err(|_| EngineError::Gpu("module cache poisoned".into()))?;
        let module = modules
            .entry(name)
            .or_insert_with(|| {
                self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(name),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                })
            })
            .clone();
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&key),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions { constants, ..Default::default() },
            cache: None,
        });
        pipelines.insert(key, pipeline.clone());
        Ok(pipeline)
    }

    /// A bind group giving `buffers` to bindings 0, 1, 2... of `pipeline`'s group 0.
    pub(crate) fn bind(&self, pipeline: &wgpu::ComputePipeline, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        })
    }

    /// Maps `len` bytes of `staging` (after the work submitted so far) and returns them.
    /// Natively, it waits for submission `after` only (or for all work when `None`), not for what was
    /// submitted since.
    pub(crate) async fn read(
        &self,
        staging: &wgpu::Buffer,
        len: u64,
        after: Option<wgpu::SubmissionIndex>,
    ) -> Result<Vec<u8>> {
        let (tx, rx) = futures_channel::oneshot::channel();
        staging.map_async(wgpu::MapMode::Read, 0..len, move |result| {
            let _ = tx.send(result);
        });
        #[cfg(target_arch = "wasm32")]
        let _ = after; // the browser resolves the map when the work before it is done
        #[cfg(not(target_arch = "wasm32"))]
        if let Err(err) = self.device.poll(wgpu::PollType::Wait { submission_index: after, timeout: None }) {
            self.check()?;
            return Err(EngineError::GpuDeviceLost(err.to_string()));
        }
        let mapped = rx.await.map_err(|_| EngineError::GpuDeviceLost("the readback was dropped".into()))?;
        if let Err(err) = mapped {
            self.check()?;
            return Err(EngineError::GpuDeviceLost(err.to_string()));
        }
        let bytes = staging.get_mapped_range(0..len).map_err(|e| EngineError::Gpu(e.to_string()))?.to_vec();
        staging.unmap();
        self.check()?;
        Ok(bytes)
    }
}

const STEP_BYTES: u64 = 32;

/// The values of `step.wgsl`'s `Step`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StepUniform {
    pub start: u32,
    pub n: u32,
    pub head_row0: u32,
    pub head_n: u32,
    pub trace: bool,
    pub trace_first: u32,
    pub trace_rows: u32,
    pub trace_keys: u32,
}

/// A buffer whose size counts toward [`GpuContext::memory_in_use`] while it lives.
#[derive(Debug)]
pub(crate) struct Tracked {
    pub buffer: wgpu::Buffer,
    pub size: u64,
    memory: Arc<AtomicU64>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.memory.fetch_sub(self.size, Ordering::Relaxed);
        self.buffer.destroy();
    }
}

impl std::ops::Deref for Tracked {
    type Target = wgpu::Buffer;
    fn deref(&self) -> &wgpu::Buffer {
        &self.buffer
    }
}

/// Little-endian bytes of `words`.
pub(crate) fn words_to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// How many workgroups a dispatch needs, given the chunk's token count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grid {
    /// `(n, 1, 1)`: one workgroup per token.
    Tokens,
    /// `(x, n, 1)`.
    PerToken { x: u32 },
    /// `(x, ceil(n / 8), 1)`: matrix rows × tiles of 8 tokens.
    Tiles { x: u32 },
    /// `(x, ceil(head_n / 8), 1)`: the output head's rows.
    HeadTiles { x: u32 },
    /// `(x, head_n, 1)`: the output head's rows, one token per workgroup.
    HeadPerToken { x: u32 },
    /// `(head_n, 1, 1)`: one workgroup per output-head row.
    HeadRows,
    /// `(1, 1, 1)`.
    Single,
}

impl Grid {
    pub(crate) fn size(self, n: u32, head_n: u32) -> [u32; 3] {
        match self {
            Self::Tokens => [n, 1, 1],
            Self::PerToken { x } => [x, n, 1],
            Self::Tiles { x } => [x, n.div_ceil(8), 1],
            Self::HeadTiles { x } => [x, head_n.div_ceil(8), 1],
            Self::HeadPerToken { x } => [x, head_n, 1],
            Self::HeadRows => [head_n, 1, 1],
            Self::Single => [1, 1, 1],
        }
    }
}

/// One recorded kernel launch: its pipeline, its (cached) bind group and its grid.
#[derive(Debug, Clone)]
pub(crate) struct Dispatch {
    pub pipeline: wgpu::ComputePipeline,
    pub bind_group: wgpu::BindGroup,
    pub grid: Grid,
}

impl Dispatch {
    pub(crate) fn record(&self, pass: &mut wgpu::ComputePass<'_>, n: u32, head_n: u32) {
        let [x, y, z] = self.grid.size(n, head_n);
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(x, y, z);
    }
}
