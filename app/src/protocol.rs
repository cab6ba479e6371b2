//! Messages between the UI thread and the engine worker. Both sides are compiled from this one file, so
//! they cannot drift apart.

use engine::ComputeBackend;
use serde::{Deserialize, Serialize};

/// UI → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Find out which compute backend this browser offers (WebGPU adapter or CPU).
    ProbeCompute,
}

/// Worker → UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The answer to [`Request::ProbeCompute`].
    Compute(ComputeBackend),
}
