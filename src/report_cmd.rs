//! `nasarena report` and `nasarena compare`: tables, plots and the CI
//! regression gate over run journals (all logic lives in nasarena-results).

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use nasarena_results::compare::{gate, GateOptions, GateReport, Metric};
use nasarena_results::format::{self, markdown::location};
use nasarena_results::plot::{write_plots, PlotOptions};
use nasarena_results::{find_journals, load_runs, read_journal, summarise, Loaded, Summary};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The arguments of `nasarena report`: which journals to summarise and
/// where the tables and plots go. (The `report` subcommand's own doc comment
/// in `main.rs` is its help text; this one is overridden there.)
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The directory holding run journals (searched recursively for *.jsonl).
    pub runs_dir: PathBuf,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
    /// Also write table.md, table.csv, table.tex, summary.json, the plots
    /// (SVG, PNG) and index.html here; for runs scored on a table also
    /// cost-to-target.md and families.md (the family comparison).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Logarithmic cost axis for the anytime plot.
    #[arg(long)]
    pub log_x: bool,
    /// The table runs were scored on, for cost-to-target and the family
    /// comparison (default: the one their journals name).
    #[arg(long, value_name = "FILE")]
    pub table: Option<PathBuf>,
    /// Cost-to-target: accuracy points below the table's best test accuracy
    /// that count as reaching it.
    #[arg(long, value_name = "POINTS", default_value_t = 0.5)]
    pub target_gap: f64,
}

/// The table format `report` prints on stdout (`--format`); every format
/// is also written to `--out` when given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Markdown tables.
    Md,
    /// One CSV table.
    Csv,
    /// LaTeX tables (booktabs).
    Latex,
    /// The JSON summary that `compare` accepts as a baseline.
    Json,
    /// One CSV row per evaluation or epoch of every run (not a summary).
    TrialsCsv,
}

/// The arguments of `nasarena compare`, the CI regression gate: the two
/// sides, the metric and the test's significance and tolerance.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Baseline: a runs directory or a `report --format json` summary file.
    pub baseline: PathBuf,
    /// Candidate: a runs directory or a summary file.
    pub new: PathBuf,
    /// What to compare.
    #[arg(long, value_enum, default_value = "anytime-auc")]
    pub metric: MetricArg,
    /// Significance level of the one-sided test (Holm-corrected over strategies).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Worsening of the median that is tolerated, in the metric's unit
    /// (percent points for accuracy and AUC, device-hours for cost-to-target).
    #[arg(long, default_value_t = 0.0)]
    pub tolerance: f64,
    /// Validation accuracy in percent for cost-to-target, e.g. 85.
    #[arg(long, value_name = "ACC")]
    pub target: Option<f64>,
}

/// The metric `compare` tests (`--metric`), mapped onto
/// [`nasarena_results::compare::Metric`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    /// Normalised area under the best-so-far validation accuracy curve.
    AnytimeAuc,
    /// Test accuracy after the final protocol.
    FinalAccuracy,
    /// Device-hours until the best-so-far validation accuracy reaches --target.
    CostToTarget,
}

fn load(dir: &Path) -> Result<Loaded> {
    let loaded = load_runs(dir).with_context(|| format!("reading runs in {}", dir.display()))?;
    for s in &loaded.skipped {
        eprintln!(
            "warning: skipped {}",
            location(&dir.join(&s.file).display().to_string(), s.line, &s.reason)
        );
    }
    for s in &loaded.warnings {
        eprintln!(
            "warning: {}",
            location(&dir.join(&s.file).display().to_string(), s.line, &s.reason)
        );
    }
    if !loaded.unfinished.is_empty() {
        eprintln!(
            "note: {} unfinished run(s) left out of the tables",
            loaded.unfinished.len()
        );
    }
    Ok(loaded)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Prints the Markdown tables of every journal under `dir` (used by `run`),
/// and cost-to-target and the family comparison when the runs were scored
/// on `table`.
pub fn print_markdown(dir: &Path, table: Option<&Path>) -> Result<()> {
    let loaded = load(dir)?;
    print!("{}", format::markdown::render(&summarise(&loaded)));
    if let Some(t) = crate::report_target::section(&loaded, table, 0.5)? {
        print!("{}{}", t.cost_to_target, t.families);
    }
    Ok(())
}

/// The per-trial CSV of every readable journal under `dir` (unreadable
/// ones were already named by [`load`]).
fn trials_csv(dir: &Path) -> Result<String> {
    let mut out = format::trials::header();
    for path in find_journals(dir).with_context(|| format!("reading runs in {}", dir.display()))? {
        if let Ok(j) = read_journal(&path) {
            let file = path.strip_prefix(dir).unwrap_or(&path);
            format::trials::append(&mut out, &j, &file.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(out)
}

/// `nasarena report`.
pub fn report(args: &ReportArgs) -> Result<()> {
    let loaded = load(&args.runs_dir)?;
    let summary = summarise(&loaded);
    if summary.spaces.is_empty() {
        eprintln!(
            "warning: no finished run under {}: the tables are empty",
            args.runs_dir.display()
        );
    }
    let text = match args.format {
        Format::Md => format::markdown::render(&summary),
        Format::Csv => format::csv::render(&summary),
        Format::Latex => format::latex::render(&summary),
        Format::Json => format::json::render(&summary),
        Format::TrialsCsv => trials_csv(&args.runs_dir)?,
    };
    print!("{text}");
    let target = crate::report_target::section(&loaded, args.table.as_deref(), args.target_gap)?;
    if let (Some(t), Format::Md) = (&target, args.format) {
        print!("{}{}", t.cost_to_target, t.families);
    }
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        if let Some(t) = &target {
            write(&out.join("cost-to-target.md"), &t.cost_to_target)?;
            write(&out.join("families.md"), &t.families)?;
        }
        write(&out.join("table.md"), &format::markdown::render(&summary))?;
        write(&out.join("table.csv"), &format::csv::render(&summary))?;
        write(&out.join("table.tex"), &format::latex::render(&summary))?;
        write(&out.join("summary.json"), &format::json::render(&summary))?;
        let opts = PlotOptions {
            log_x: args.log_x,
            svg_only: false,
        };
        let plotted = write_plots(&loaded, out, opts)?;
        for w in &plotted.warnings {
            eprintln!("warning: {w}");
        }
        let mut figures = Vec::new();
        for (space, path) in &plotted.svgs {
            figures.push(format::html::Figure {
                space: space.clone(),
                name: path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                svg: std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
            });
        }
        let title = format!("nasarena report: {}", args.runs_dir.display());
        write(
            &out.join("index.html"),
            &format::html::render(
                &title,
                &summary,
                &figures,
                &target
                    .iter()
                    .flat_map(|t| [t.cost_to_target.as_str(), t.families.as_str()])
                    .collect::<Vec<_>>(),
            ),
        )?;
        eprintln!(
            "wrote table.md, table.csv, table.tex, summary.json, {} plot file(s) and index.html to {}",
            plotted.files.len(),
            out.display()
        );
    }
    Ok(())
}

fn read_side(path: &Path) -> Result<Summary> {
    if path.is_dir() {
        Ok(summarise(&load(path)?))
    } else if path.is_file() {
        Ok(format::json::read(path)?)
    } else {
        bail!(
            "{}: no such directory or summary file (give a runs directory or the output of `nasarena report RUNS --format json`)",
            path.display()
        )
    }
}

fn options(args: &CompareArgs) -> Result<GateOptions> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha must be in (0, 1), got {}", args.alpha);
    }
    if !(args.tolerance >= 0.0 && args.tolerance.is_finite()) {
        bail!(
            "--tolerance must be a finite number >= 0, got {}",
            args.tolerance
        );
    }
    let metric = match (args.metric, args.target) {
        (MetricArg::AnytimeAuc, _) => Metric::AnytimeAuc,
        (MetricArg::FinalAccuracy, _) => Metric::FinalAccuracy,
        (MetricArg::CostToTarget, Some(t)) if t > 0.0 && t <= 100.0 => Metric::CostToTarget(t),
        (MetricArg::CostToTarget, Some(t)) => {
            bail!("--target is a validation accuracy in percent, in (0, 100]; got {t}")
        }
        (MetricArg::CostToTarget, None) => {
            bail!("--metric cost-to-target needs --target ACC (validation accuracy in percent)")
        }
    };
    Ok(GateOptions {
        metric,
        alpha: args.alpha,
        tolerance: args.tolerance,
    })
}

fn cell(x: Option<f64>, digits: usize) -> String {
    x.map_or("never".to_string(), |v| format!("{v:.digits$}"))
}

fn print_gate(r: &GateReport, opts: &GateOptions) {
    let digits = if matches!(opts.metric, Metric::CostToTarget(_)) {
        5
    } else {
        2
    };
    println!(
        "metric: {}; one-sided test that NEW is worse, Holm-corrected over {} strategies; alpha {}, tolerance {}\n",
        opts.metric.describe(),
        r.lines.len(),
        opts.alpha,
        opts.tolerance
    );
    println!("| space | strategy | runs (base/new) | baseline median | new median | worse by | test | p | p (Holm) | verdict |");
    println!("|---|---|---:|---:|---:|---:|---|---:|---:|---|");
    for l in &r.lines {
        let verdict = if l.regressed {
            "REGRESSED"
        } else if l.min_p > opts.alpha {
            "ok (too few seeds to detect)"
        } else {
            "ok"
        };
        println!(
            "| {} | {} | {}/{} | {} | {} | {} | {} | {:.4} | {:.4} | {} |",
            l.space,
            l.label,
            l.n.0,
            l.n.1,
            cell(l.medians.0, digits),
            cell(l.medians.1, digits),
            l.worsening.map_or("–".into(), |w| format!("{w:+.digits$}")),
            l.test,
            l.p.0,
            l.p.1,
            verdict
        );
    }
    for l in r.lines.iter().filter(|l| l.min_p > opts.alpha) {
        eprintln!(
            "warning: {} / {}: with these seeds the smallest possible p is {:.4} > alpha {}; run more seeds for the gate to detect a regression",
            l.space, l.label, l.min_p, opts.alpha
        );
    }
    for u in &r.unmatched {
        eprintln!("warning: not compared: {u}");
    }
    let n = r.lines.iter().filter(|l| l.regressed).count();
    println!(
        "\n{}",
        if n == 0 {
            "no significant regression".to_string()
        } else {
            format!("{n} of {} strategies regressed", r.lines.len())
        }
    );
}

/// `nasarena compare`: 0 no regression, 1 regression, 2 usage or input error.
pub fn compare(args: &CompareArgs) -> ExitCode {
    let run = || -> Result<GateReport> {
        let opts = options(args)?;
        let base = read_side(&args.baseline).context("BASELINE")?;
        let new = read_side(&args.new).context("NEW")?;
        let report = gate(&base, &new, &opts);
        if report.lines.is_empty() {
            bail!("no strategy appears in both BASELINE and NEW with results to compare");
        }
        print_gate(&report, &opts);
        Ok(report)
    };
    match run() {
        Ok(r) if r.regressed() => ExitCode::from(1),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
