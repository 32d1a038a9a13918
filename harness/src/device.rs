//! Which device a run trains on: `cpu` (the default) or `cuda:N`, chosen
//! with `nasarena run --device`. Asking for CUDA from a build without the
//! `cuda` feature, or on a machine without that GPU, is an error that says
//! so; nothing silently falls back to the CPU, because a budget measured
//! on the wrong device would be a wrong result.

use crate::{Error, Result};
use candle_core::{Device, DeviceLocation};
use std::fmt;
use std::str::FromStr;

/// A device as the user names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The host CPU.
    #[default]
    Cpu,
    /// The CUDA GPU with this ordinal (`cuda` means `cuda:0`).
    Cuda(usize),
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("unknown device `{s}`: use `cpu`, `cuda` or `cuda:N` (N = GPU index)");
        match s {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(bad),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Cpu => write!(f, "cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Whether this build can use CUDA devices.
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");

/// Opens the chosen device.
pub fn open(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda(_) if !CUDA_BUILT => Err(Error::Device(format!(
            "`{choice}` was asked for, but this nasarena was built without CUDA; rebuild with `cargo build --release --features cuda` (README: GPU) or use `--device cpu`"
        ))),
        DeviceChoice::Cuda(n) => match without_panic_output(|| Device::new_cuda(n)) {
            Ok(Ok(device)) => Ok(device),
            Ok(Err(e)) => Err(Error::Device(format!(
                "`{choice}` is not available ({e}); check `nvidia-smi` and that the driver supports CUDA 13, or use `--device cpu`"
            ))),
            Err(missing) => Err(Error::Device(format!(
                "`{choice}` was asked for, but the CUDA libraries could not be loaded ({missing}); this machine needs an NVIDIA driver (libcuda) and CUDA 13's cuBLAS and cuRAND on the library path (README: GPU), or use `--device cpu`"
            ))),
        },
    }
}

/// Runs `f`, turning a panic into its message. A CUDA build whose cudarc
/// loads the CUDA libraries at run time (scripts/cuda-workspace.sh)
/// panics when one is missing; here that becomes an error that says what
/// to install. The default panic output is held back meanwhile.
fn without_panic_output<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    outcome.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a CUDA library failed to load".to_string())
    })
}

/// The device as journal headers record it: `cpu`, or `cuda:N` followed by
/// the GPU's name, memory and compute capability (reports call device time
/// GPU-hours when every journal's device starts with `cuda`).
pub fn describe(device: &Device) -> String {
    match device.location() {
        DeviceLocation::Cuda { gpu_id } => {
            let details = gpu_details(device).unwrap_or_default();
            format!("cuda:{gpu_id}{details}")
        }
        DeviceLocation::Cpu => "cpu".to_string(),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(feature = "cuda")]
fn gpu_details(device: &Device) -> Option<String> {
    let ctx = device
        .as_cuda_device()
        .ok()?
        .cuda_stream()
        .context()
        .clone();
    let name = ctx.name().ok()?;
    let (major, minor) = ctx.compute_capability().ok()?;
    let gib = ctx.total_mem().ok()? as f64 / (1u64 << 30) as f64;
    Some(format!(
        " ({name}, {gib:.0} GiB, compute capability {major}.{minor})"
    ))
}

#[cfg(not(feature = "cuda"))]
fn gpu_details(_device: &Device) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_opening_becomes_its_message() {
        let caught = without_panic_output(|| -> u8 { panic!("no libcuda.so.1") });
        assert_eq!(caught, Err("no libcuda.so.1".to_string()));
        assert_eq!(without_panic_output(|| 7), Ok(7));
    }

    #[test]
    fn device_names_parse_and_print_back() {
        for (text, choice) in [
            ("cpu", DeviceChoice::Cpu),
            ("cuda", DeviceChoice::Cuda(0)),
            ("cuda:3", DeviceChoice::Cuda(3)),
        ] {
            assert_eq!(text.parse::<DeviceChoice>(), Ok(choice));
        }
        assert_eq!(DeviceChoice::Cuda(3).to_string(), "cuda:3");
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1", "CPU"] {
            let err = bad.parse::<DeviceChoice>().expect_err(bad);
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn cpu_opens_and_is_described_as_cpu() {
        let device = open(DeviceChoice::Cpu).expect("cpu");
        assert_eq!(describe(&device), "cpu");
    }

    /// A CPU build refuses CUDA with a message that says how to get it.
    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_in_a_cpu_build_is_a_clear_error() {
        let err = open(DeviceChoice::Cuda(0))
            .expect_err("no cuda")
            .to_string();
        assert!(
            err.contains("built without CUDA") && err.contains("--features cuda"),
            "{err}"
        );
    }
}
