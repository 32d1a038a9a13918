//! The options of a whole `run` invocation, shared by every unit.

use crate::device::DeviceChoice;
use crate::machine::BuildInfo;
use crate::progress::ProgressSink;
use crate::stop::StopFlag;
use std::sync::Arc;

/// Options of a whole `run` invocation.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Build facts for the provenance header.
    pub build: BuildInfo,
    /// Continue unfinished runs from their journals.
    pub resume: bool,
    /// Receives progress events ([`crate::progress::silent`] for none).
    pub progress: Arc<dyn ProgressSink>,
    /// Only this unit (for array jobs); all when `None`.
    pub only_unit: Option<usize>,
    /// Runs executed concurrently (1: one after the other).
    pub jobs: usize,
    /// Raised (by a signal) to stop every run after its current record.
    pub stop: StopFlag,
    /// The device every run trains on.
    pub device: DeviceChoice,
}
