//! Compute backends. The CPU backend is the reference and the fallback; the GPU backend runs WGSL kernels
//! through `wgpu` (WebGPU in the browser, Vulkan natively, where Mesa's lavapipe stands in for a GPU).

pub mod cpu;
pub mod gpu;

use serde::{Deserialize, Serialize};

/// Which compute backend the engine will use on this machine, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComputeBackend {
    /// A GPU adapter was found.
    Gpu {
        /// The adapter's name as the driver reports it (may be empty in browsers that hide it).
        name: String,
        /// The wgpu backend that found it: "WebGPU", "Vulkan", ...
        api: String,
        /// The kind of device: "DiscreteGpu", "IntegratedGpu", "Cpu" (a software rasteriser), ...
        device_type: String,
    },
    /// No usable adapter: the CPU backend runs the model. `reason` says why, for the user.
    Cpu {
        /// Why no GPU is used.
        reason: String,
    },
}

impl ComputeBackend {
    /// The GPU backend an adapter stands for.
    pub fn from_info(info: &wgpu::AdapterInfo) -> Self {
        Self::Gpu {
            name: info.name.clone(),
            api: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
        }
    }

    /// A short label for the user: "WebGPU: <adapter>", "Vulkan: <adapter> (software)", or "CPU".
    pub fn label(&self) -> String {
        match self {
            Self::Gpu { name, api, device_type } => {
                let api = match api.as_str() {
                    "BrowserWebGpu" => "WebGPU",
                    other => other,
                };
                let name = if name.is_empty() { "unnamed adapter" } else { name };
                let software = if device_type == "Cpu" { " (software)" } else { "" };
                format!("{api}: {name}{software}")
            }
            Self::Cpu { .. } => "CPU".to_owned(),
        }
    }
}

/// Looks for a GPU adapter (WebGPU in the browser, any native backend otherwise) and says which compute
/// backend the engine will use. Never fails: the absence of an adapter is an answer, not an error.
pub async fn probe_compute() -> ComputeBackend {
    match gpu_adapter().await {
        Ok(adapter) => ComputeBackend::from_info(&adapter.get_info()),
        Err(err) => ComputeBackend::Cpu { reason: err.to_string() },
    }
}

/// Requests a high-performance adapter from the backends this build can use.
pub async fn gpu_adapter() -> crate::Result<wgpu::Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            apply_limit_buckets: false,
        })
        .await
        .map_err(|err| crate::EngineError::NoAdapter(err.to_string()))
}
