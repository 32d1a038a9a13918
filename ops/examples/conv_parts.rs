//! Times the parts of one grouped convolution training step (forward, input
//! gradient, weight gradient, and candle's autograd around them) at batch
//! 128, to see where the time goes:
//! `cargo run --release -p nasarena-ops --example conv_parts`.

// The same allocator as the nasarena binary, which reuses large buffers
// instead of mapping fresh zeroed pages for every tensor.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use candle_core::{Device, Tensor, Var};
use nasarena_core::Seed;
use nasarena_ops::{
    direct_conv2d, grouped_conv2d, ConvParams, GroupedConv2d, GroupedConv2dGradInput,
    GroupedConv2dGradWeight,
};
use rand::Rng;
use std::time::Instant;

fn random(seed: Seed, dims: &[usize]) -> candle_core::Result<Tensor> {
    let mut rng = seed.rng();
    let len: usize = dims.iter().product();
    let data: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Tensor::from_vec(data, dims, &Device::Cpu)
}

/// Best of `reps` runs (after one warm-up): the least disturbed by other
/// processes on a shared machine.
fn time<T>(
    label: &str,
    reps: u32,
    mut f: impl FnMut() -> candle_core::Result<T>,
) -> candle_core::Result<()> {
    f()?;
    let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..reps {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
        best_cpu = best_cpu.min(cpu_seconds() - cpu);
    }
    println!(
        "{label:>28}: {:8.2} ms ({:8.2} ms CPU)",
        best * 1e3,
        best_cpu * 1e3
    );
    Ok(())
}

/// CPU time of the whole process: on a shared machine it counts the work,
/// where wall time also counts waiting for a core.
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// `(c_in, c_out, h = w, kernel, stride, groups)` of FBNet's depthwise and
/// `g2` convolutions.
const GROUPED: &[(usize, usize, usize, usize, usize, usize)] = &[
    (96, 96, 28, 3, 1, 96),
    (96, 96, 28, 3, 2, 96),
    (192, 192, 14, 5, 1, 192),
    (16, 96, 28, 1, 1, 2),
    (96, 32, 14, 1, 1, 2),
];

/// The dense convolutions of the NAS-Bench-201 cell network (C=16, 32x32)
/// and of FBNet's MBConv expansion and projection.
const DENSE: &[(usize, usize, usize, usize, usize, usize)] = &[
    (16, 16, 32, 3, 1, 1),
    (32, 32, 16, 3, 1, 1),
    (64, 64, 8, 3, 1, 1),
    (16, 96, 28, 1, 1, 1),
    (96, 24, 28, 1, 1, 1),
    (352, 1984, 7, 1, 1, 1),
];

/// `conv_parts [dense [INDEX]]`: the grouped shapes with every path, or
/// (`dense`) the dense shapes' three kernels alone (only shape INDEX).
fn main() -> candle_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "dense") {
        // An optional index picks one shape (for a profiler).
        let only: Option<usize> = args.get(2).and_then(|i| i.parse().ok());
        let picked = DENSE.iter().enumerate();
        for (_, &(ci, co, hw, k, s, g)) in picked.filter(|(i, _)| only.is_none_or(|o| o == *i)) {
            println!("c{ci}->c{co} {hw}x{hw} k{k} s{s} g{g}");
            let x = random(Seed(1), &[128, ci, hw, hw])?;
            let w = random(Seed(2), &[co, ci / g, k, k])?;
            kernels(&x, &w, s, k / 2, g)?;
        }
        return Ok(());
    }
    for &(ci, co, hw, k, s, g) in GROUPED {
        println!("c{ci}->c{co} {hw}x{hw} k{k} s{s} g{g}");
        let x = Var::from_tensor(&random(Seed(1), &[128, ci, hw, hw])?)?;
        let w = Var::from_tensor(&random(Seed(2), &[co, ci / g, k, k])?)?;
        let p = k / 2;
        if k > 1 {
            kernels(x.as_tensor(), w.as_tensor(), s, p, g)?;
        }
        let step =
            |f: Conv| -> candle_core::Result<_> { f(&x, &w, s, p, g)?.sum_all()?.backward() };
        let stock_ok = std::env::args().any(|a| a == "--stock") || k == 1;
        let paths = [
            ("auto", auto as Conv),
            ("direct", direct as Conv),
            ("per-group", per_group as Conv),
            ("stock", stock as Conv),
        ];
        for (label, f) in paths {
            if (label == "stock" && !stock_ok) || (label == "per-group" && k != 1) {
                continue;
            }
            time(&format!("{label} forward"), 5, || f(&x, &w, s, p, g))?;
            time(&format!("{label} forward + backward"), 4, || step(f))?;
        }
    }
    Ok(())
}

type Conv = fn(&Tensor, &Tensor, usize, usize, usize) -> candle_core::Result<Tensor>;

fn auto(x: &Tensor, w: &Tensor, s: usize, p: usize, g: usize) -> candle_core::Result<Tensor> {
    grouped_conv2d(x, w, s, p, 1, g)
}

fn direct(x: &Tensor, w: &Tensor, s: usize, p: usize, g: usize) -> candle_core::Result<Tensor> {
    direct_conv2d(x, w, s, p, 1, g)
}

fn stock(x: &Tensor, w: &Tensor, s: usize, p: usize, g: usize) -> candle_core::Result<Tensor> {
    x.conv2d(w, p, s, 1, g)
}

/// The other grouped 1x1 formulation, for comparison: one matmul per group
/// with the weight broadcast over the batch by a zero stride.
fn per_group(
    x: &Tensor,
    w: &Tensor,
    _s: usize,
    _p: usize,
    groups: usize,
) -> candle_core::Result<Tensor> {
    let (n, c_in, h, wd) = x.dims4()?;
    let (c_out, cin_g) = (w.dim(0)?, c_in / groups);
    let cout_g = c_out / groups;
    let xs = x.reshape((n, groups, cin_g, h * wd))?;
    let ys = (0..groups)
        .map(|i| {
            let xg = xs.narrow(1, i, 1)?.squeeze(1)?;
            let wg = w.narrow(0, i * cout_g, cout_g)?.reshape((cout_g, cin_g))?;
            wg.broadcast_left(n)?.matmul(&xg)
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    Tensor::cat(&ys, 1)?.reshape((n, c_out, h, wd))
}

/// The three direct kernels alone, without candle's autograd around them.
fn kernels(
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    padding: usize,
    groups: usize,
) -> candle_core::Result<()> {
    let params = ConvParams {
        stride,
        padding,
        dilation: 1,
        groups,
    };
    let y = x.apply_op2_no_bwd(w, &GroupedConv2d(params))?;
    let gy = random(Seed(4), y.dims())?;
    let x_dims = [x.dim(0)?, x.dim(1)?, x.dim(2)?, x.dim(3)?];
    let w_dims = [w.dim(0)?, w.dim(1)?, w.dim(2)?, w.dim(3)?];
    time("kernel forward", 5, || {
        x.apply_op2_no_bwd(w, &GroupedConv2d(params))
    })?;
    time("kernel grad input", 5, || {
        gy.apply_op2_no_bwd(w, &GroupedConv2dGradInput { params, x_dims })
    })?;
    time("kernel grad weight", 5, || {
        x.apply_op2_no_bwd(
            &gy,
            &GroupedConv2dGradWeight {
                params,
                w_dims,
                relu_input: false,
            },
        )
    })?;
    let yv = Var::from_tensor(&y)?;
    time("candle sum_all backward", 5, || yv.sum_all()?.backward())?;
    Ok(())
}
