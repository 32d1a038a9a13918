//! Times loading the full Fashion-MNIST (60,000 + 10,000 images) from
//! Debian's package (or `NASARENA_DATA_DIR`), and the checksum separately:
//! `cargo run --release -p nasarena-datasets --example load_fashion_mnist`.

use nasarena_datasets::{data_dir_from_env, load_named, Dataset};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = data_dir_from_env();
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..5 {
        let t = Instant::now();
        let tt = load_named("fashion-mnist", dir.as_deref())?;
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(tt);
    }
    let Some(tt) = last else { return Ok(()) };
    println!(
        "loaded {} + {} images, best of 5: {:.3} s",
        tt.train.len(),
        tt.test.len(),
        best
    );
    let t = Instant::now();
    let sum = tt.train.checksum();
    println!(
        "checksum of train {sum} in {:.3} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
