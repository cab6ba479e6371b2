//! The WebGPU device a trainer (the autoencoder lab, the pre-training lab) runs on: a hardware adapter,
//! or any adapter when the address asks for it (`?gpu`, for demonstrations and tests); a software one
//! is slower than the CPU path. Looked for once per worker.

use std::cell::RefCell;
use std::rc::Rc;

use engine::backend::gpu::{DeviceType, GpuContext};

/// What a worker found: `None` before it looked, `Some(None)` when there is no adapter.
pub type Found = RefCell<Option<Option<Rc<GpuContext>>>>;

/// The device to train on, or `None` for the CPU.
pub async fn trainer_gpu(found: &Found, force: bool) -> Option<Rc<GpuContext>> {
    let known = found.borrow().clone();
    let ctx = match known {
        Some(known) => known,
        None => {
            let ctx = GpuContext::new().await.ok().map(Rc::new);
            *found.borrow_mut() = Some(ctx.clone());
            ctx
        }
    };
    ctx.filter(|ctx| force || ctx.info.device_type != DeviceType::Cpu)
}
