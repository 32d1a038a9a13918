//! What machine a run is on, and the reference workload that makes costs
//! comparable across machines.

use candle_core::{Device, Tensor};
use std::time::Instant;

/// Build facts the binary knows and the harness records in headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    /// Crate version.
    pub version: String,
    /// git revision.
    pub git_revision: String,
    /// Enabled features.
    pub features: String,
}

/// The CPU model from /proc/cpuinfo (`unknown` elsewhere).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// A short description of a device.
pub fn describe(device: &Device) -> String {
    match device {
        Device::Cpu => "cpu".to_string(),
        other => format!("{other:?}"),
    }
}

/// Seconds the reference workload takes on `device`: 20 products of
/// 384x384 matrices followed by a small convolution, after one untimed
/// warm-up. Device time divided by this figure is the hardware-normalised
/// cost. The inputs are deterministic (no RNG).
pub fn calibrate(device: &Device) -> candle_core::Result<f64> {
    let n = 384usize;
    let a: Vec<f32> = (0..n * n)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let a = Tensor::from_vec(a, (n, n), device)?;
    let img: Vec<f32> = (0..32 * 16 * 28 * 28)
        .map(|i| ((i * 104_729) % 997) as f32 / 997.0)
        .collect();
    let img = Tensor::from_vec(img, (32, 16, 28, 28), device)?;
    let k = Tensor::from_vec(vec![0.01f32; 16 * 16 * 9], (16, 16, 3, 3), device)?;
    let work = || -> candle_core::Result<()> {
        let mut x = a.clone();
        for _ in 0..20 {
            x = (x.matmul(&a)? * 0.01)?;
        }
        let y = img.conv2d(&k, 1, 1, 1, 1)?;
        let _ = (
            x.sum_all()?.to_scalar::<f32>()?,
            y.sum_all()?.to_scalar::<f32>()?,
        );
        Ok(())
    };
    work()?;
    device.synchronize()?;
    let start = Instant::now();
    work()?;
    device.synchronize()?;
    Ok(start.elapsed().as_secs_f64())
}

/// The machine's short host name (`unknown` when the kernel does not say):
/// with journals from many cluster nodes in one folder, each header names
/// the node that ran it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().split('.').next().unwrap_or_default().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The Slurm job this process runs in, from the variables Slurm sets in a
/// job's environment; `None` outside Slurm.
pub fn slurm_ids() -> Option<nasarena_results::SlurmIds> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(nasarena_results::SlurmIds {
        job_id: var("SLURM_JOB_ID")?,
        array_job_id: var("SLURM_ARRAY_JOB_ID"),
        array_task_id: var("SLURM_ARRAY_TASK_ID"),
    })
}
