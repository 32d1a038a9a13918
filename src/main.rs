//! The `nasarena` command line: a thin layer over the harness and results
//! crates. All errors become `anyhow` reports here and nowhere else.

use anyhow::Result;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench_cmd;
mod data_cmd;
mod export_cmd;
mod logging;
mod progress_view;
mod report_cmd;
mod report_target;
mod run_cmd;
mod segment_cmd;
mod slurm_cmd;
mod space_cmd;
mod tabulate_build_cmd;
mod tabulate_cmd;
mod tabulate_rank_cmd;
mod tabulate_retime_cmd;
mod version;

/// Compare neural architecture search strategies fairly: random search,
/// evolution, RL controllers and Gumbel-Softmax search on the same spaces
/// under the same compute budget.
#[derive(Debug, Parser)]
#[command(name = "nasarena")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log what happens to stderr: -v runs, trials and epochs; -vv also
    /// evaluations; -vvv everything. RUST_LOG, when set, overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an experiment (default: experiments/default.toml) and journal every event.
    Run(RunArgs),
    /// Build result tables (md, csv, latex, json) and plots from run journals.
    Report(report_cmd::ReportArgs),
    /// Compare two sets of runs; exit 1 when NEW is significantly worse.
    Compare(report_cmd::CompareArgs),
    /// Export a finished run's trained network (safetensors, architecture.json, README.md).
    Export(export_cmd::ExportArgs),
    /// Count MACs and parameters of an architecture given as a genotype string.
    Macs(MacsArgs),
    /// List the registered search spaces.
    Spaces,
    /// List available datasets or check a dataset file.
    Data(DataArgs),
    /// Speed benchmarks: `bench train` (throughput), `bench describe`
    /// (network description for the PyTorch peer in bench/).
    Bench {
        #[command(subcommand)]
        action: bench_cmd::BenchAction,
    },
    /// Build, merge, import or inspect tabular benchmarks.
    Tabulate(TabulateArgs),
    /// Train a SqueezeNAS segmentation network on a Cityscapes-layout
    /// folder and report mIoU.
    Segment(segment_cmd::SegmentArgs),
    /// Run an experiment as a Slurm job array: submit, status, resubmit.
    Slurm {
        #[command(subcommand)]
        action: slurm_cmd::SlurmAction,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The experiment file.
    #[arg(default_value = "experiments/default.toml")]
    experiment: PathBuf,
    /// Continue unfinished runs from their journals; skip finished ones.
    #[arg(long)]
    resume: bool,
    /// Where run folders go.
    #[arg(long, default_value = "runs")]
    runs_dir: PathBuf,
    /// Validate the experiment and print the plan without training.
    #[arg(long)]
    check: bool,
    /// No progress display and no progress lines (errors and warnings only).
    #[arg(long, short)]
    quiet: bool,
    /// Runs to execute concurrently, each with cores/N threads; journals
    /// are the same as with one job. On a table, at least one per core
    /// (one thread each, as tables are built).
    #[arg(long, short = 'j', default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Run only this unit (0-based, as `--check` lists them), e.g. as one
    /// task of a job array.
    #[arg(long, value_name = "I")]
    unit: Option<usize>,
    /// Train on `cpu` or `cuda:N` (needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: nasarena_harness::device::DeviceChoice,
}

#[derive(Debug, Args)]
struct MacsArgs {
    /// The search space, e.g. `fbnet` or `cell` (see `nasarena spaces`).
    #[arg(long)]
    space: String,
    /// The genotype string, e.g. `|nor_conv_3x3~0|+|...|` for `cell`.
    #[arg(long, allow_hyphen_values = true)]
    arch: String,
    /// A space option `key=value` (repeatable), e.g. `--opt input=1x28x28`.
    #[arg(long = "opt", value_name = "KEY=VALUE")]
    opts: Vec<String>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DataArgs {
    #[command(subcommand)]
    action: data_cmd::DataAction,
}

#[derive(Debug, Args)]
struct TabulateArgs {
    /// Arguments of the tabulate action.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

fn main() -> std::process::ExitCode {
    restore_default_sigpipe();
    keep_freed_memory();
    element_wise_ops_on_the_calling_thread();
    let version = version::long();
    let matches = Cli::command()
        .version(version)
        .long_version(version)
        .get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // A forced instruction-set path this CPU cannot run is refused here,
    // before any kernel could run another one.
    if let Err(err) = nasarena_ops::init_isa() {
        eprintln!("error: {err}");
        return std::process::ExitCode::from(2);
    }
    // One display for the whole process: progress bars draw on it (when
    // stderr is a terminal) and log lines are printed between its redraws.
    let bars = indicatif::MultiProgress::new();
    logging::init(cli.verbose, &bars);
    match dispatch(cli, &bars) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli, bars: &indicatif::MultiProgress) -> Result<std::process::ExitCode> {
    let done = match cli.command {
        Command::Spaces => space_cmd::list(),
        Command::Run(args) => {
            let outcome = run_cmd::run(&run_cmd::RunRequest {
                experiment: &args.experiment,
                runs_root: &args.runs_dir,
                resume: args.resume,
                check_only: args.check,
                jobs: usize::from(args.jobs),
                unit: args.unit,
                device: args.device,
                progress: progress_view::sink(args.quiet, bars),
                quiet: args.quiet,
            });
            return Ok(run_cmd::exit_code(outcome));
        }
        Command::Report(args) => report_cmd::report(&args),
        // compare has three outcomes: 0 ok, 1 regression, 2 bad input.
        Command::Compare(args) => return Ok(report_cmd::compare(&args)),
        Command::Export(args) => export_cmd::run(&args),
        Command::Macs(args) => space_cmd::macs(&args.space, &args.arch, &args.opts, args.json),
        Command::Data(args) => data_cmd::run(args.action),
        Command::Bench { action } => bench_cmd::run(action),
        Command::Tabulate(args) => tabulate_cmd::run(&args.rest),
        Command::Segment(args) => segment_cmd::run(args),
        Command::Slurm { action } => slurm_cmd::run(action),
    };
    done.map(|()| std::process::ExitCode::SUCCESS)
}

extern "C" {
    /// mimalloc's option setter (statically linked by the `mimalloc` crate).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e`.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Training allocates and frees tensors of the same few sizes every step.
/// By default mimalloc hands freed large blocks back to the OS after 10 ms,
/// so the next step page-faults them in again and the kernel zeroes them:
/// measured 11,118 page faults against 663 for two training steps of an
/// fbnet-28 network at batch 16, with the kernel's page clearing the top
/// entry of the profile. Never purging keeps the peak resident instead.
fn keep_freed_memory() {
    // SAFETY: called first thing in main, before any thread starts; sets
    // one documented mimalloc option to a documented value (-1: no purge).
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, -1);
    }
}

/// The environment variable that sets the size of candle's own thread pool.
const CANDLE_THREADS_VAR: &str = "CANDLE_NUM_THREADS";

/// candle 0.11 runs its element-wise ops (the autograd's gradient adds, the
/// cell nodes' sums) on a pool of its own, separate from rayon's, whose
/// workers spin for a while after every op. nasarena's convolutions and
/// batch norms run on rayon's pool, so on a small machine those spinning
/// workers take cores away from the heavy ops: measured on 2 cores, one
/// candle thread trained the NAS-Bench-201 cell network 1.5x faster and
/// fbnet-28 (all k3_e6) 1.3x faster. A value the user sets is kept.
fn element_wise_ops_on_the_calling_thread() {
    if std::env::var_os(CANDLE_THREADS_VAR).is_none() {
        // Called first thing in main, before any thread starts (the
        // variable is read when candle's pool is first used).
        std::env::set_var(CANDLE_THREADS_VAR, "1");
    }
}

/// Rust ignores SIGPIPE, so `nasarena spaces | head` would panic on the
/// closed pipe; like other Unix tools, exit quietly instead.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread starts; it only
    // resets one signal's disposition to the system default.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
