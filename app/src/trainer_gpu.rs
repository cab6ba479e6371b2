//! The WebGPU device a trainer (the autoencoder lab, the pre-training lab) runs on: a hardware adapter,
//! or any adapter when the address asks for it (`?gpu`, for demonstrations and tests); a software one
//! is slower than the CPU path. Looked for once per worker: a second request made while the first is
//! still looking waits for its answer (two quick starts of a lab never open two devices).

use std::cell::RefCell;
use std::rc::Rc;

use engine::backend::gpu::{DeviceType, GpuContext};

/// Where a worker's look for a device stands.
#[derive(Default, Clone)]
pub enum Look {
    /// Not looked for yet.
    #[default]
    NotYet,
    /// A request is looking now.
    Looking,
    /// Looked for: the device, or `None` when there is none.
    Done(Option<Rc<GpuContext>>),
}

impl std::fmt::Debug for Look {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotYet => f.write_str("NotYet"),
            Self::Looking => f.write_str("Looking"),
            Self::Done(ctx) => write!(f, "Done({})", ctx.as_ref().map_or("no adapter", |c| c.info.name.as_str())),
        }
    }
}

/// What a worker found, shared by its requests.
pub type Found = RefCell<Look>;

/// How often a request waiting for another one's look checks for its answer.
const WAIT_MS: u32 = 20;

/// How many times a look the address forces (`?gpu`) asks again when the browser gives no device, and
/// the wait between: a software adapter's device can be refused for a moment on a busy machine. An
/// unforced look asks once (a laptop without WebGPU must not wait to train on its CPU).
const FORCED_TRIES: u32 = 3;
const RETRY_MS: u32 = 1_000;

/// Asks the browser for a device, again when forced and refused; says why in the console.
async fn look_for_device(force: bool) -> Option<Rc<GpuContext>> {
    let tries = if force { FORCED_TRIES } else { 1 };
    for attempt in 1..=tries {
        match GpuContext::new().await {
            Ok(ctx) => return Some(Rc::new(ctx)),
            Err(err) if force => {
                web_sys::console::warn_1(
                    &format!("no WebGPU device to train on (try {attempt} of {tries}): {err}").into(),
                );
                if attempt < tries {
                    gloo_timers::future::TimeoutFuture::new(RETRY_MS).await;
                }
            }
            Err(_) => {}
        }
    }
    None
}

/// The device to train on, or `None` for the CPU.
pub async fn trainer_gpu(found: &Found, force: bool) -> Option<Rc<GpuContext>> {
    let ctx = loop {
        let look = found.borrow().clone();
        match look {
            Look::Done(ctx) => break ctx,
            Look::Looking => gloo_timers::future::TimeoutFuture::new(WAIT_MS).await,
            Look::NotYet => {
                *found.borrow_mut() = Look::Looking;
                let ctx = look_for_device(force).await;
                *found.borrow_mut() = Look::Done(ctx.clone());
                break ctx;
            }
        }
    };
    ctx.filter(|ctx| force || ctx.info.device_type != DeviceType::Cpu)
}
