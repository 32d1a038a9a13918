//! Writes `datasets/data/fashion-mnist-16/`, the compiled-in copy of
//! `fashion-mnist@16` (the full Fashion-MNIST, every image padded to 32x32
//! and reduced to 16x16 by 2x2 block means, see `downsample.rs`), from
//! Debian's `dataset-fashion-mnist`:
//!
//! ```sh
//! cargo run --release -p nasarena-datasets --example make_fashion_mnist_16
//! ```
//!
//! It prints the sha256 of each decompressed IDX file for `bundled.rs`.
//! The output is deterministic (gzip level 9, no timestamp).

use flate2::{write::GzEncoder, Compression};
use nasarena_datasets::idx::{encode_images, encode_labels};
use nasarena_datasets::{downsample::downsample_pair, load_named, Dataset, ImageDataset};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = load_named("fashion-mnist", None)?;
    let small = downsample_pair(full, 16)?;
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/fashion-mnist-16");
    std::fs::create_dir_all(&out)?;
    for (part, data) in [("train", &small.train), ("t10k", &small.test)] {
        write(&out, &format!("{part}-images-idx3-ubyte.gz"), &images(data))?;
        write(&out, &format!("{part}-labels-idx1-ubyte.gz"), &labels(data))?;
    }
    Ok(())
}

fn images(data: &ImageDataset) -> Vec<u8> {
    let s = data.shape();
    encode_images(data.len(), s.height, s.width, data.pixels())
}

fn labels(data: &ImageDataset) -> Vec<u8> {
    let bytes: Vec<u8> = data.labels().iter().map(|&l| l as u8).collect();
    encode_labels(&bytes)
}

fn write(dir: &Path, name: &str, idx: &[u8]) -> std::io::Result<()> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(idx)?;
    std::fs::write(dir.join(name), gz.finish()?)?;
    println!("{name}: sha256 {:x}", Sha256::digest(idx));
    Ok(())
}
