//! Letting a worker's event loop run between two pieces of work (a token, a training slice) so that a
//! *Stop* or another view's request is handled, without the timer clamping of `setTimeout(0)`: browsers
//! make a nested zero-delay timer wait at least 4 ms, which a token every 20–40 ms cannot afford. A
//! message posted to a `MessageChannel` is delivered as the next task, with no delay.

use wasm_bindgen::JsValue;

/// Resolves after the event loop has run once (the timer's way if the channel cannot be made).
pub async fn next_task() {
    let Ok(channel) = web_sys::MessageChannel::new() else {
        gloo_timers::future::TimeoutFuture::new(0).await;
        return;
    };
    // The port's handler is the promise's `resolve`: the message settles it.
    let delivered = js_sys::Promise::new(&mut |resolve, _| channel.port1().set_onmessage(Some(&resolve)));
    if channel.port2().post_message(&JsValue::NULL).is_err() {
        gloo_timers::future::TimeoutFuture::new(0).await;
        return;
    }
    let _ = wasm_bindgen_futures::JsFuture::from(delivered).await;
    channel.port1().close();
    channel.port2().close();
}
