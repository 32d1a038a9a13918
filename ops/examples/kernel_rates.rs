//! Single-thread GFLOP/s of the GEMM kernels on the shapes of FBNet's and
//! the NAS-Bench-201 cell's convolutions, and of the panel kernel with
//! each row blocking the AVX2 path has, best of three:
//! `cargo run --release -p nasarena-ops --example kernel_rates`. Run it on
//! an idle machine; `NASARENA_ISA` picks the path.

use nasarena_ops::kernel_probe::{dot_rate, panel_rate};

fn best_of_three(f: impl Fn() -> f64) -> f64 {
    (0..3).map(|_| f()).fold(0.0, f64::max)
}

fn main() {
    println!("path {}", nasarena_ops::isa());
    println!("panel (rows x depth, p positions): own blocking | 6-row | 4-row blocks, GFLOP/s");
    for (rows, depth, p) in [
        (8, 72, 800),
        (16, 144, 800),
        (24, 96, 800),
        (32, 64, 800),
        (56, 336, 49),
        (96, 16, 784),
        (16, 96, 784),
    ] {
        let rates =
            [None, Some(6), Some(4)].map(|mr| best_of_three(|| panel_rate(rows, depth, p, mr)));
        println!(
            "  {rows:4} x {depth:4}, p {p:4}: {:6.1} | {:6.1} | {:6.1}",
            rates[0], rates[1], rates[2]
        );
    }
    println!("dot (m x n, length): GFLOP/s");
    for (m, n, len) in [(96, 16, 784), (16, 96, 784), (16, 144, 1024), (8, 72, 800)] {
        let rate = best_of_three(|| dot_rate(m, n, len));
        println!("  {m:4} x {n:4}, length {len:5}: {rate:6.1}");
    }
}
