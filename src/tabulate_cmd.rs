//! `nasarena tabulate`: build tables (see `tabulate_build_cmd`), import
//! community tabular benchmarks, inspect tables, and summarise searches
//! replayed on a table.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use nasarena_harness::tabular::import_nb201::{self, Nb201Dataset};
use nasarena_harness::tabular::{reader, Table, TableScores};
use nasarena_results::{budget_curve, find_journals, read_journal};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(
    name = "nasarena tabulate",
    about = "Build, import or inspect tabular benchmarks"
)]
struct TabulateCli {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Train every canonical architecture of a small space into a table
    /// (resumable with --resume, shardable with --shard i/n).
    Build(crate::tabulate_build_cmd::BuildArgs),
    /// Join the shards of a sharded build into one table.
    Merge(crate::tabulate_build_cmd::MergeArgs),
    /// Check a built table's ranking: retrain a seeded random sample of
    /// its non-degenerate architectures with a longer schedule and report
    /// Spearman's and Kendall's rank correlation (resumable journal).
    RankCheck(crate::tabulate_rank_cmd::RankCheckArgs),
    /// Train again the entries whose device seconds are out of line with a
    /// reference table (seconds inflated by other work on the machine),
    /// checking that accuracies come out identical (resumable, shardable).
    Retime(crate::tabulate_retime_cmd::RetimeArgs),
    /// Write a table with the device seconds measured by `retime`.
    RetimeApply(crate::tabulate_retime_cmd::RetimeApplyArgs),
    /// Convert a community table into a nasarena table file.
    Import {
        /// Source format: `nb201-csv` (NAS-Bench-201 accuracies per cell).
        #[arg(long)]
        format: String,
        /// The source file (plain or gzip-compressed).
        file: PathBuf,
        /// `cifar10`, `cifar100` or `imagenet16-120`.
        #[arg(long)]
        dataset: String,
        /// Training epochs behind the accuracies (the fidelity).
        #[arg(long, default_value_t = 12)]
        epochs: usize,
        /// Isomorphic rows whose accuracies differ by more than this many
        /// percentage points are reported.
        #[arg(long, default_value_t = 2.0)]
        tolerance: f64,
        /// Where the table goes.
        #[arg(long)]
        out: PathBuf,
    },
    /// Describe a table: space, dataset, settings, entries, accuracy range.
    Info {
        /// The table file.
        table: PathBuf,
    },
    /// Anytime summary of searches replayed on a table: test accuracy of
    /// the incumbent after k evaluations, rank and significance.
    Curve {
        /// The runs folder (journals) of a table experiment.
        runs: PathBuf,
        /// The table the runs used.
        #[arg(long)]
        table: PathBuf,
        /// Budgets in evaluations.
        #[arg(long, value_delimiter = ',', default_value = "25,50,100,200")]
        at: Vec<u64>,
        /// Strategy label to test against.
        #[arg(long, default_value = "random")]
        baseline: String,
        /// Also write the Markdown report to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write an SVG anytime plot (every `--svg-step` evaluations).
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Spacing of the plot's points, in evaluations.
        #[arg(long, default_value_t = 5)]
        svg_step: u64,
    },
}

/// Runs `nasarena tabulate <rest>`.
pub fn run(rest: &[String]) -> Result<()> {
    let cli = TabulateCli::parse_from(
        std::iter::once("nasarena tabulate".to_string()).chain(rest.iter().cloned()),
    );
    match cli.action {
        Action::Build(a) => {
            let command = std::iter::once("nasarena tabulate")
                .chain(rest.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            crate::tabulate_build_cmd::run_build(a, command)
        }
        Action::Merge(a) => crate::tabulate_build_cmd::run_merge(a),
        Action::RankCheck(a) => crate::tabulate_rank_cmd::run(a),
        Action::Retime(a) => crate::tabulate_retime_cmd::run(a),
        Action::RetimeApply(a) => crate::tabulate_retime_cmd::run_apply(a),
        Action::Import {
            format,
            file,
            dataset,
            epochs,
            tolerance,
            out,
        } => import(&format, &file, &dataset, epochs, tolerance, &out),
        Action::Info { table } => info(&table),
        Action::Curve {
            runs,
            table,
            at,
            baseline,
            out,
            svg,
            svg_step,
        } => curve(
            &runs,
            &table,
            &at,
            &baseline,
            out.as_deref(),
            svg.as_deref().map(|p| (p, svg_step)),
        ),
    }
}

fn import(
    format: &str,
    file: &Path,
    dataset: &str,
    epochs: usize,
    tolerance: f64,
    out: &Path,
) -> Result<()> {
    if format != "nb201-csv" {
        bail!("unknown --format `{format}`; known: nb201-csv");
    }
    let Some(ds) = Nb201Dataset::parse(dataset) else {
        bail!(
            "unknown --dataset `{dataset}` for nb201-csv; known: cifar10, cifar100, imagenet16-120"
        );
    };
    if epochs == 0 || !(tolerance.is_finite() && tolerance >= 0.0) {
        bail!("--epochs must be at least 1 and --tolerance a non-negative number");
    }
    let started = Instant::now();
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let (table, report) = import_nb201::import(&bytes, file, ds, epochs, tolerance)?;
    let size = reader::write(&table, out)?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "imported {} rows of {} into {} ({size} bytes) in {took:.2} s",
        report.rows,
        file.display(),
        out.display()
    );
    println!("sha256 {}", table.checksum());
    println!(
        "canonical classes: {} ({} with more than one row; median validation spread within them {:.2} points)",
        report.classes, report.shared_classes, report.median_val_spread
    );
    println!(
        "isomorphic rows differing by more than {} points (val or test): {} classes{}",
        report.tolerance,
        report.inconsistent.len(),
        if report.inconsistent.is_empty() {
            ""
        } else {
            "; NAS-Bench-201 trained isomorphic cells separately, so each row keeps its own values. Largest:"
        }
    );
    for i in report.inconsistent.iter().take(5) {
        println!(
            "  {} ({} rows): val spread {:.2}, test spread {:.2} (lines {} and {})",
            i.canonical, i.members, i.val_spread, i.test_spread, i.lines.0, i.lines.1
        );
    }
    Ok(())
}

fn open_timed(path: &Path) -> Result<(Table, f64)> {
    let started = Instant::now();
    let table = reader::open(path)?;
    Ok((table, started.elapsed().as_secs_f64()))
}

fn info(path: &Path) -> Result<()> {
    let (t, secs) = open_timed(path)?;
    let h = t.header();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!(
        "table      {} ({size} bytes, loaded and verified in {:.1} ms)",
        path.display(),
        secs * 1e3
    );
    println!("sha256     {}", t.checksum());
    let opts: Vec<String> = h
        .space_options
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!("space      {} ({})", h.space, opts.join(", "));
    println!(
        "dataset    {} (train/val/test {:?})",
        h.dataset, h.settings.splits
    );
    let classes = (0..t.len()).filter(|&i| t.canonical_of(i) == i).count();
    println!(
        "entries    {} ({classes} canonical classes), {} seed(s), fidelities {:?} epochs",
        t.len(),
        h.seeds,
        h.fidelities
    );
    let recorded = [
        ("val loss", h.recorded.val_loss),
        ("train loss", h.recorded.train_loss),
        ("device seconds", h.recorded.device_seconds),
    ];
    let (yes, no): (Vec<_>, Vec<_>) = recorded.iter().partition(|(_, r)| *r);
    println!(
        "recorded   val accuracy, test accuracy{}{}",
        yes.iter()
            .map(|(n, _)| format!(", {n}"))
            .collect::<String>(),
        if no.is_empty() {
            String::new()
        } else {
            format!(
                " (not recorded: {})",
                no.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )
        }
    );
    let last = h.fidelities.len() - 1;
    for (name, pick) in [("val acc", 0usize), ("test acc", 1)] {
        let xs: Vec<f64> = (0..t.len())
            .flat_map(|i| (0..h.seeds).map(move |s| (i, s)))
            .map(|(i, s)| {
                let v = t.values(i, s, last);
                if pick == 0 {
                    v.val_accuracy
                } else {
                    v.test_accuracy
                }
            })
            .filter(|x| x.is_finite())
            .collect();
        let (lo, hi) = xs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, u), &x| {
                (l.min(x), u.max(x))
            });
        let mean = xs.iter().sum::<f64>() / xs.len().max(1) as f64;
        println!(
            "{name:<10} at {} epochs: min {:.2}%, mean {:.2}%, max {:.2}%",
            h.fidelities[last],
            100.0 * lo,
            100.0 * mean,
            100.0 * hi
        );
    }
    print_quality(&t)?;
    println!(
        "schedule   {}",
        serde_json::to_string(&h.settings.schedule)?
    );
    println!("note       {}", h.settings.note);
    println!("costs      {}", h.cost_note);
    for (k, v) in &h.provenance {
        println!("provenance {k}: {v}");
    }
    Ok(())
}

/// What makes a table useful as ground truth: the spread of its
/// non-degenerate entries (validation accuracy more than 2 points above
/// chance at the last epoch; the rest cannot carry a signal from input to
/// output) and how well validation ranks test accuracy.
fn print_quality(t: &Table) -> Result<()> {
    let h = t.header();
    let space = nasarena_spaces::build_space(
        &h.space,
        nasarena_spaces::SpaceOptions::from_pairs(&h.space, h.space_options.clone()),
    )?;
    let chance = 1.0 / space.classes() as f64;
    let last = h.fidelities.len() - 1;
    let canonical: Vec<(f64, f64)> = (0..t.len())
        .filter(|&i| t.canonical_of(i) == i)
        .map(|i| t.mean_over_seeds(i, last))
        .map(|v| (v.val_accuracy, v.test_accuracy))
        .filter(|(v, t)| v.is_finite() && t.is_finite())
        .collect();
    let alive: Vec<f64> = canonical
        .iter()
        .filter(|(v, _)| *v > chance + 0.02)
        .map(|&(_, t)| t)
        .collect();
    if let (Some(lo), Some(hi)) = (
        alive.iter().copied().reduce(f64::min),
        alive.iter().copied().reduce(f64::max),
    ) {
        println!(
            "spread     {} of {} canonical entries non-degenerate (val > chance + 2 points): test {:.2}% to {:.2}%, {:.2} points",
            alive.len(),
            canonical.len(),
            100.0 * lo,
            100.0 * hi,
            100.0 * (hi - lo)
        );
    }
    let (val, test): (Vec<f64>, Vec<f64>) = canonical.into_iter().unzip();
    if val.len() >= 3 {
        println!(
            "ranking    Spearman rho of validation and test accuracy over canonical entries: {:.3}",
            nasarena_results::stats::spearman(&val, &test)
        );
    }
    Ok(())
}

fn curve(
    runs: &Path,
    table_path: &Path,
    at: &[u64],
    baseline: &str,
    out: Option<&Path>,
    svg: Option<(&Path, u64)>,
) -> Result<()> {
    let (table, _) = open_timed(table_path)?;
    let h = table.header();
    let last = h.fidelities.len() - 1;
    // Mean over the table's seeds: the expected test accuracy.
    let scores = TableScores::new(&table, table_path, h.fidelities[last])?;
    let test_of = |arch: &str| scores.test_accuracy(arch);
    let paths = find_journals(runs).with_context(|| format!("reading {}", runs.display()))?;
    if paths.is_empty() {
        bail!("no journals (*.jsonl) under {}", runs.display());
    }
    let journals = paths
        .iter()
        .map(|p| read_journal(p))
        .collect::<Result<Vec<_>, _>>()?;
    for j in &journals {
        if !j.header.dataset.checksum.ends_with(table.checksum()) {
            bail!(
                "{} was not run on this table (its data checksum is {})",
                j.path.display(),
                j.header.dataset.checksum
            );
        }
    }
    let curves = budget_curve::budget_curves(&journals, at, baseline, &test_of);
    let title = format!(
        "{} on {} ({} epochs), table sha256 {}",
        h.space,
        h.dataset,
        h.fidelities[last],
        &table.checksum()[..16]
    );
    let report = format!(
        "### {title}\n\n{}\nBudgets are counted in evaluations ({}).\n",
        budget_curve::markdown(&curves, baseline),
        h.cost_note
    );
    print!("{report}");
    if let Some(path) = out {
        std::fs::write(path, &report).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some((path, step)) = svg {
        let max = at.iter().copied().max().unwrap_or(0);
        let ks: Vec<u64> = (1..=max)
            .filter(|k| k % step.max(1) == 0 || *k == 1)
            .collect();
        let dense = budget_curve::budget_curves(&journals, &ks, baseline, &test_of);
        let plot = nasarena_results::anytime_svg::anytime_svg(&dense, &title);
        std::fs::write(path, plot).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
