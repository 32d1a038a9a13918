//! `nasarena bench train` (training and eval throughput of one
//! architecture on random data), `nasarena bench describe` (the
//! network as a framework-neutral node list, which `bench/torch_peer.py`
//! rebuilds in PyTorch), `nasarena bench lut` (a per-candidate latency
//! table for latency-aware one-shot search) and `nasarena bench supernet`
//! (search steps of a weight-sharing supernet).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use nasarena_core::{Arch, Seed};
use nasarena_harness::bench::{configure, describe as describe_network, throughput, BenchConfig};
use nasarena_harness::bench_supernet::{supernet_throughput, SupernetBenchConfig};
use nasarena_harness::lut::{measure, LutConfig};
use nasarena_spaces::{build_space, Realize, SpaceOptions};
use serde_json::json;

/// The `bench` actions.
#[derive(Debug, Subcommand)]
pub enum BenchAction {
    /// Time training steps (forward, CE loss, backward, SGD momentum) and
    /// eval forward passes of one architecture on random data.
    Train(TrainArgs),
    /// Print the built network as a node list (JSON) for other frameworks.
    Describe(Target),
    /// Time search steps of the space's weight-sharing supernet (one
    /// weight step and one architecture step on separate batches).
    Supernet(SupernetArgs),
    /// Measure a per-candidate latency table (median of repeated runs of
    /// each candidate at its position's shape) for latency-aware search.
    Lut(LutArgs),
}

/// How the supernet mixes its candidates.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Mixing {
    /// Every candidate, weighted by the softmax of the architecture logits.
    Soft,
    /// One sampled candidate per decision, straight-through weights.
    Hard,
}

/// Arguments of `bench supernet`.
#[derive(Debug, Args)]
pub struct SupernetArgs {
    /// The search space (one with a supernet: `fbnet*`, `cell`, ...).
    #[arg(long)]
    space: String,
    /// A space option `key=value` (repeatable).
    #[arg(long = "opt", value_name = "KEY=VALUE")]
    opts: Vec<String>,
    /// Soft or hard mixing.
    #[arg(long, value_enum, default_value = "soft")]
    mixing: Mixing,
    /// Images per batch (a search step uses two).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Timed search steps.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    steps: u32,
    /// Untimed search steps first.
    #[arg(long, default_value_t = 2)]
    warmup: u32,
    /// CPU threads for candle and rayon (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
    /// Seed of the weights, batches and samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `bench lut`.
#[derive(Debug, Args)]
pub struct LutArgs {
    /// The search space (one with a supernet: `fbnet*`, `cell`, `squeezenas-*` with `head=classify`).
    #[arg(long)]
    space: String,
    /// A space option `key=value` (repeatable).
    #[arg(long = "opt", value_name = "KEY=VALUE")]
    opts: Vec<String>,
    /// Where to write the table (JSON).
    #[arg(long)]
    out: std::path::PathBuf,
    /// Images per timed pass (FBNet measured batch 1).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Timed runs per candidate; the median is kept.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    repeats: u32,
    /// Untimed runs per candidate before the timed ones.
    #[arg(long, default_value_t = 3)]
    warmup: u32,
    /// CPU threads for candle and rayon (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
}

/// Which network: space, genotype and space options.
#[derive(Debug, Args)]
pub struct Target {
    /// The search space, e.g. `fbnet-28` or `cell` (see `nasarena spaces`).
    #[arg(long)]
    space: String,
    /// The genotype string.
    #[arg(long, allow_hyphen_values = true)]
    arch: String,
    /// A space option `key=value` (repeatable), e.g. `--opt input=1x28x28`.
    #[arg(long = "opt", value_name = "KEY=VALUE")]
    opts: Vec<String>,
    /// Print one JSON object (always on for `describe`).
    #[arg(long)]
    json: bool,
}

/// Arguments of `bench train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    target: Target,
    /// Images per step.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Timed steps (training, then as many eval passes).
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Untimed warm-up steps before each timed phase.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// CPU threads for candle and rayon (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Seed of the weights and the random batch.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Use candle's stock ops only (no nasarena-ops fast paths), for
    /// reference numbers.
    #[arg(long)]
    stock: bool,
    /// `cpu`, or `cuda:N` in a build with the `cuda` feature.
    #[arg(long, default_value = "cpu")]
    device: nasarena_harness::device::DeviceChoice,
}

/// Runs a `bench` action.
pub fn run(action: BenchAction) -> Result<()> {
    match action {
        BenchAction::Train(args) => train(args),
        BenchAction::Describe(target) => describe(&target),
        BenchAction::Supernet(args) => supernet(&args),
        BenchAction::Lut(args) => lut(&args),
    }
}

fn resolve(target: &Target) -> Result<(Box<dyn Realize>, Arch)> {
    let options = SpaceOptions::parse(&target.space, &target.opts)?;
    let space = build_space(&target.space, options)?;
    let arch = space
        .parse(&target.arch)
        .with_context(|| format!("`--arch` is not a valid `{}` genotype", target.space))?;
    Ok((space, arch))
}

/// Sizes the CPU kernels' thread pool. Called before any tensor exists:
/// candle's CPU kernels and gemm read `RAYON_NUM_THREADS` on every call,
/// and rayon's global pool reads it once when first used.
fn set_kernel_threads(threads: Option<usize>) {
    if let Some(t) = threads {
        std::env::set_var("RAYON_NUM_THREADS", t.to_string());
    }
}

fn train(args: TrainArgs) -> Result<()> {
    if args.batch == 0 || args.steps == 0 {
        bail!("`--batch` and `--steps` must be at least 1");
    }
    if args.threads == Some(0) {
        bail!("`--threads` must be at least 1");
    }
    set_kernel_threads(args.threads);
    let threads = configure(args.threads, !args.stock);
    let (space, arch) = resolve(&args.target)?;
    let config = BenchConfig {
        batch: args.batch,
        steps: args.steps,
        warmup: args.warmup,
        seed: Seed(args.seed),
        device: args.device,
    };
    let report = throughput(space.as_ref(), &arch, &config)?;
    let t = &args.target;
    if t.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("space".into(), json!(t.space));
            map.insert("arch".into(), json!(space.format(&arch)));
            map.insert("opts".into(), json!(t.opts));
            map.insert("batch".into(), json!(args.batch));
            map.insert("steps".into(), json!(args.steps));
            map.insert("warmup".into(), json!(args.warmup));
            map.insert("threads".into(), json!(threads));
            map.insert("stock_candle".into(), json!(args.stock));
            map.insert("device".into(), json!(args.device.to_string()));
            map.insert("isa".into(), json!(nasarena_ops::isa().name()));
        }
        println!("{value}");
    } else {
        println!("space      {} {}", t.space, t.opts.join(" "));
        println!("arch       {}", space.format(&arch));
        println!(
            "params     {}   macs {}   batch {}   steps {}   threads {}",
            report.params, report.macs, args.batch, args.steps, threads
        );
        println!(
            "train      {:.1} img/s ({:.3} s)",
            report.train_img_s, report.train_seconds
        );
        println!(
            "eval       {:.1} img/s ({:.3} s)",
            report.eval_img_s, report.eval_seconds
        );
        println!(
            "memory     {:.0} MB peak RSS   isa {}",
            report.peak_rss_mb,
            nasarena_ops::isa()
        );
    }
    Ok(())
}

fn describe(target: &Target) -> Result<()> {
    let (space, arch) = resolve(target)?;
    let cost = space.cost(&arch)?;
    let graph = describe_network(space.as_ref(), &arch)?;
    let value = json!({
        "space": target.space,
        "arch": space.format(&arch),
        "opts": target.opts,
        "input": space.input_shape(),
        "classes": space.classes(),
        "params": cost.params,
        "macs": cost.macs,
        "nodes": graph.nodes,
    });
    println!("{value}");
    Ok(())
}

fn supernet(args: &SupernetArgs) -> Result<()> {
    let threads = configure(args.threads.map(|t| t as usize), true);
    let options = SpaceOptions::parse(&args.space, &args.opts)?;
    let space = build_space(&args.space, options)?;
    let config = SupernetBenchConfig {
        batch: args.batch as usize,
        steps: args.steps as usize,
        warmup: args.warmup as usize,
        hard: matches!(args.mixing, Mixing::Hard),
        seed: Seed(args.seed),
    };
    let report = supernet_throughput(space.as_ref(), &config)?;
    let mixing = if config.hard { "hard" } else { "soft" };
    let isa = nasarena_ops::isa().name();
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("space".into(), json!(args.space));
            map.insert("opts".into(), json!(args.opts));
            map.insert("mixing".into(), json!(mixing));
            map.insert("batch".into(), json!(args.batch));
            map.insert("steps".into(), json!(args.steps));
            map.insert("warmup".into(), json!(args.warmup));
            map.insert("threads".into(), json!(threads));
            map.insert("isa".into(), json!(isa));
        }
        println!("{value}");
    } else {
        println!(
            "space      {} {} ({mixing} mixing)",
            args.space,
            args.opts.join(" ")
        );
        println!(
            "params     {}   batch {}   steps {}   threads {threads}   isa {isa}",
            report.params, args.batch, args.steps
        );
        println!(
            "search     {:.3} s/step   {:.1} img/s   peak RSS {:.0} MB",
            report.step_s, report.img_s, report.peak_rss_mb
        );
    }
    Ok(())
}

fn lut(args: &LutArgs) -> Result<()> {
    let threads = args.threads.map(|t| t as usize);
    set_kernel_threads(threads);
    configure(threads, true);
    let options = SpaceOptions::parse(&args.space, &args.opts)?;
    let space = build_space(&args.space, options)?;
    let config = LutConfig {
        batch: args.batch as usize,
        warmup: args.warmup as usize,
        repeats: args.repeats as usize,
    };
    let started = std::time::Instant::now();
    let table = measure(
        space.as_ref(),
        (&args.space, &args.opts),
        &config,
        &crate::run_cmd::build_info(),
        |done, total| eprintln!("bench lut: decision {done}/{total} measured"),
    )?;
    table.save(&args.out)?;
    eprintln!(
        "bench lut: {} decisions in {:.1} s -> {}",
        table.ns.len(),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
