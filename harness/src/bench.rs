//! Training and inference throughput of one architecture on random data:
//! the engine half of `nasarena bench train`, whose PyTorch peer is
//! `bench/torch_peer.py` (same steps, same network by construction).
//!
//! One seeded random batch of the space's input shape (standard normal
//! pixels, uniform labels) is reused for every step, so data loading is
//! not measured. A training step is forward (BN in training mode),
//! cross-entropy, backward and an SGD-momentum update (the harness
//! optimiser, lr 0.01, momentum 0.9, as the peer). An eval step is one
//! forward pass in inference mode. Warm-up steps run first and are not
//! timed; times are wall clock around the timed steps, ended by a device
//! synchronisation and reading the last loss back to the host. CPU only
//! for now (the device of the comparison with PyTorch's CPU build).

use crate::optim::{Sgd, SgdConfig};
use crate::{Error, Result};
use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use nasarena_core::{Arch, Seed};
use nasarena_spaces::layers::{trainable_params, trainable_vars};
use nasarena_spaces::{Graph, Realize, SeededInit};
use rand::Rng;
use serde::Serialize;
use std::time::Instant;

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenchConfig {
    /// Images per step.
    pub batch: usize,
    /// Timed training steps (and as many timed eval steps).
    pub steps: usize,
    /// Untimed steps before each timed phase.
    pub warmup: usize,
    /// Seed of the weights and the random batch.
    pub seed: Seed,
    /// Where to train.
    pub device: crate::device::DeviceChoice,
}

/// Measured throughput.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchReport {
    /// Training images per second.
    pub train_img_s: f64,
    /// Inference images per second.
    pub eval_img_s: f64,
    /// Seconds of the timed training steps.
    pub train_seconds: f64,
    /// Seconds of the timed eval steps.
    pub eval_seconds: f64,
    /// CPU seconds (user + system, all threads) the process spent in the
    /// timed training steps: on a shared machine, where wall time depends
    /// on the neighbours, work per image is still comparable through it.
    pub train_cpu_seconds: f64,
    /// CPU seconds of the timed eval steps (see `train_cpu_seconds`).
    pub eval_cpu_seconds: f64,
    /// Trainable parameters of the built network.
    pub params: u64,
    /// Analytic MACs per image.
    pub macs: u64,
    /// Loss of the last training step (a sanity check: finite).
    pub last_loss: f64,
    /// Peak resident memory of the whole process so far, in MB (2^20
    /// bytes), as the OS counts it (`getrusage`); 0 where it does not say.
    pub peak_rss_mb: f64,
}

/// Turns nasarena-ops' fast paths on or off and returns the CPU thread
/// count the kernels will use: `threads` when given (the caller has set
/// `RAYON_NUM_THREADS` to it before any tensor existed: candle's CPU
/// kernels and gemm read it on every call, and rayon's global pool once),
/// candle's default (all cores) otherwise.
pub fn configure(threads: Option<usize>, custom_ops: bool) -> usize {
    nasarena_ops::set_custom_ops(custom_ops);
    threads.unwrap_or_else(candle_core::utils::get_num_threads)
}

/// The description of the network `arch` builds (see
/// [`nasarena_spaces::describe`]); its parameter count is checked against
/// the analytic one.
pub fn describe(space: &dyn Realize, arch: &Arch) -> Result<Graph> {
    let cost = space.cost(arch)?;
    let varmap = VarMap::new();
    let vb = SeededInit::var_builder(&varmap, Seed(0), &Device::Cpu);
    let net = space.build(arch, vb)?;
    let graph = net.describe().ok_or_else(|| {
        Error::Unsupported(
            "this space cannot describe its networks yet (fbnet, cell and macro can)".into(),
        )
    })?;
    if graph.params() != cost.params {
        return Err(Error::Internal(format!(
            "the description has {} parameters, the analytic count is {}",
            graph.params(),
            cost.params
        )));
    }
    Ok(graph)
}

/// Builds `arch` and measures its training and eval throughput.
pub fn throughput(space: &dyn Realize, arch: &Arch, config: &BenchConfig) -> Result<BenchReport> {
    let device = &crate::device::open(config.device)?;
    let macs = space.cost(arch)?.macs;
    let varmap = VarMap::new();
    let vb = SeededInit::var_builder(&varmap, config.seed.derive("init", 0), device);
    let net = space.build(arch, vb)?;
    let params = trainable_params(&varmap);
    let mut opt = Sgd::new(
        trainable_vars(&varmap),
        SgdConfig {
            lr: 0.01,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
        },
    );
    let (x, y) = random_batch(space, config.batch, config.seed, device)?;

    let train_step = |opt: &mut Sgd| -> Result<Tensor> {
        let logits = net.forward_t(&x, true)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
        let grads = loss.backward()?;
        opt.step(&grads)?;
        // Detached, the loss no longer holds the step's autograd graph (every
        // activation): kept as `last`, it would otherwise double the memory
        // of the next step (PyTorch frees the graph in `backward`).
        Ok(loss.detach())
    };
    for _ in 0..config.warmup {
        train_step(&mut opt)?;
    }
    device.synchronize()?;
    let started = Instant::now();
    let cpu_started = process_cpu_seconds();
    let mut last = None;
    for _ in 0..config.steps {
        last = Some(train_step(&mut opt)?);
    }
    let last_loss = match last {
        Some(loss) => f64::from(loss.to_scalar::<f32>()?),
        None => f64::NAN,
    };
    device.synchronize()?;
    let train_seconds = started.elapsed().as_secs_f64();
    let train_cpu_seconds = process_cpu_seconds() - cpu_started;

    for _ in 0..config.warmup {
        net.forward_t(&x, false)?;
    }
    device.synchronize()?;
    let started = Instant::now();
    let cpu_started = process_cpu_seconds();
    let mut sink = 0f32;
    for _ in 0..config.steps {
        let logits = net.forward_t(&x, false)?;
        // Reading one value back forces the work on lazy devices.
        sink += logits.flatten_all()?.get(0)?.to_scalar::<f32>()?;
    }
    device.synchronize()?;
    let eval_seconds = started.elapsed().as_secs_f64();
    let eval_cpu_seconds = process_cpu_seconds() - cpu_started;
    std::hint::black_box(sink);

    let images = (config.batch * config.steps) as f64;
    Ok(BenchReport {
        train_img_s: images / train_seconds,
        eval_img_s: images / eval_seconds,
        train_seconds,
        eval_seconds,
        train_cpu_seconds,
        eval_cpu_seconds,
        params,
        macs,
        last_loss,
        peak_rss_mb: peak_rss_mb(),
    })
}

/// One seeded batch: standard normal images, uniform labels. Benchmarks
/// time classification training; a segmentation space is refused.
pub(crate) fn random_batch(
    space: &dyn Realize,
    batch: usize,
    seed: Seed,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    if space.task() != nasarena_spaces::Task::Classification {
        return Err(crate::Error::Unsupported(format!(
            "{}: the benchmarks time classification training; set --opt head=classify (`nasarena segment` trains segmentation networks)",
            space.name()
        )));
    }
    let [c, h, w] = space.input_shape();
    let mut rng = seed.derive("bench-batch", 0).rng();
    let pixels: Vec<f32> = (0..batch * c * h * w)
        .map(|_| {
            // Box-Muller from two uniforms in (0, 1].
            let u1: f32 = 1.0 - rng.random::<f32>();
            let u2: f32 = rng.random::<f32>();
            (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect();
    let classes = space.classes() as u32;
    let labels: Vec<u32> = (0..batch).map(|_| rng.random_range(0..classes)).collect();
    let x = Tensor::from_vec(pixels, (batch, c, h, w), device)?;
    let y = Tensor::from_vec(labels, batch, device)?;
    Ok((x, y))
}

/// User + system CPU seconds of this process so far (all threads); 0 where
/// the OS does not say.
#[cfg(unix)]
fn process_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `rusage` into the valid pointer it is given.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
    if !ok {
        return 0.0;
    }
    // SAFETY: zero-initialised and, on success, filled in by getrusage.
    let usage = unsafe { usage.assume_init() };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Peak resident set size of this process in MB (2^20 bytes): Linux
/// reports `ru_maxrss` in KiB, macOS in bytes; 0 where the OS does not say.
#[cfg(unix)]
pub fn peak_rss_mb() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `rusage` into the valid pointer it is given.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
    if !ok {
        return 0.0;
    }
    // SAFETY: zero-initialised and, on success, filled in by getrusage.
    let max = unsafe { usage.assume_init() }.ru_maxrss as f64;
    if cfg!(target_os = "macos") {
        max / (1024.0 * 1024.0)
    } else {
        max / 1024.0
    }
}

/// No resident-memory figure off unix: 0.
#[cfg(not(unix))]
pub fn peak_rss_mb() -> f64 {
    0.0
}

/// No CPU clock off unix: 0.
#[cfg(not(unix))]
fn process_cpu_seconds() -> f64 {
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use nasarena_spaces::{build_space, SpaceOptions};

    #[test]
    fn measures_a_small_cell_network() {
        let opts = ["C=4".to_string(), "N=1".to_string()];
        let space =
            build_space("cell", SpaceOptions::parse("cell", &opts).expect("opts")).expect("space");
        let arch = space
            .parse("|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|")
            .expect("arch");
        let config = BenchConfig {
            batch: 4,
            steps: 2,
            warmup: 1,
            seed: Seed(3),
            device: Default::default(),
        };
        let report = throughput(space.as_ref(), &arch, &config).expect("bench");
        assert!(report.train_img_s > 0.0 && report.eval_img_s > 0.0);
        assert!(report.last_loss.is_finite());
        assert_eq!(report.params, space.cost(&arch).expect("cost").params);
        #[cfg(target_os = "linux")]
        assert!(report.peak_rss_mb > 1.0, "{}", report.peak_rss_mb);
    }
}
