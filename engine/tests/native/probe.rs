//! The compute probe answers on every machine: a GPU adapter (lavapipe counts) or the CPU with a reason.

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn probe_reports_a_backend_with_a_label() {
    let backend = pollster::block_on(engine::probe_compute());
    let label = backend.label();
    assert!(!label.is_empty());
    if let engine::ComputeBackend::Cpu { reason } = &backend {
        assert!(!reason.is_empty(), "a CPU fallback must say why");
    }
    eprintln!("compute backend: {label}");
}
