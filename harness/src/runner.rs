//! Running a plan: every unit (or the one an array task names), one after
//! the other or several at once, each unit dispatched to the loop of its
//! kind.

use crate::black_box::run_black_box_unit;
use crate::context::UnitContext;
use crate::machine::calibrate;
use crate::one_shot::run_one_shot_unit;
use crate::options::RunOptions;
use crate::plan::{Plan, Unit, UnitKind};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs every unit of the plan (skipping finished ones on resume). With
/// more than one concurrent run ([`Plan::concurrent_runs`]), each executes
/// inside its own rayon pool of [`Plan::threads_per_run`] threads (candle's
/// CPU kernels and ours parallelise on the current pool), so runs never
/// compete for threads. Every run is independent and seeded on its own,
/// and its kernels split work by output element, never by reduction, so a
/// run's journal does not depend on the thread split (checked end to end).
pub fn run_plan(plan: &Plan, opts: &RunOptions) -> Result<Vec<PathBuf>> {
    let device = crate::device::open(opts.device)?;
    let units = plan.select(opts.only_unit)?;
    // Costs are normalised by the calibration of the machine that spent
    // them: a table's recorded costs by its build machine's, costs
    // measured here (live training, supernets on a table's images) by
    // this machine's, measured once only if some unit needs it.
    let recorded = plan
        .table
        .as_ref()
        .map_or(1.0, |t| t.table.header().calibration_seconds.unwrap_or(1.0));
    let jobs = plan.concurrent_runs(opts.jobs, units.len());
    let threads = plan.threads_per_run(jobs);
    // Each run in a pool of its own: several at once, or runs on a table,
    // which get the table build's one thread even when alone.
    let pooled = jobs > 1 || plan.table.is_some();
    let here = if units.iter().any(|u| plan.measured_here(u)) {
        calibrate_with_threads(&device, pooled.then_some(threads))?
    } else {
        recorded
    };
    let calibration = |unit: &Unit| {
        if !plan.measured_here(unit) {
            recorded
        } else if opts.resume {
            header_calibration(&unit.journal).unwrap_or(here)
        } else {
            here
        }
    };
    let run = |unit: &Unit| {
        let ctx = UnitContext::new(plan, unit, &device, calibration(unit), opts);
        run_unit(&ctx)
    };
    if pooled {
        run_concurrently(&units, jobs, threads, &run)?;
    } else {
        for unit in &units {
            run(unit)?;
        }
    }
    Ok(units.iter().map(|u| u.journal.clone()).collect())
}

/// This machine's calibration with the threads each run will have (`None`:
/// every core): a run in a pool of fewer threads measured against a
/// calibration taken on every core would look cheaper than it is (a table
/// built by one-thread shards is compared with one-thread supernets so).
fn calibrate_with_threads(device: &candle_core::Device, threads: Option<usize>) -> Result<f64> {
    let Some(threads) = threads else {
        return Ok(calibrate(device)?);
    };
    Ok(thread_pool(threads)?.install(|| calibrate(device))?)
}

/// A rayon pool of `threads` threads for one run (or its calibration).
fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Internal(format!("thread pool: {e}")))
}

/// The calibration a resumed run's journal header recorded: a run keeps
/// one calibration, so its normalised costs (and a supernet's budget on a
/// table) do not change when it is resumed. `None` without a readable
/// header (the run starts afresh, or the journal is refused later).
fn header_calibration(journal: &Path) -> Option<f64> {
    let file = std::fs::File::open(journal).ok()?;
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(file), &mut first).ok()?;
    let header: serde_json::Value = serde_json::from_str(&first).ok()?;
    header
        .get("calibration_seconds")?
        .as_f64()
        .filter(|c| c.is_finite() && *c > 0.0)
}

fn run_unit(ctx: &UnitContext) -> Result<()> {
    let _span = ctx.span().entered();
    match ctx.unit.kind {
        UnitKind::BlackBox => run_black_box_unit(ctx),
        UnitKind::OneShot(_) => run_one_shot_unit(ctx),
    }
}

fn run_concurrently(
    units: &[&Unit],
    jobs: usize,
    threads: usize,
    run: &(dyn Fn(&Unit) -> Result<()> + Sync),
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let worker = || -> Result<()> {
        let pool = thread_pool(threads)?;
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(unit) = units.get(i) else {
                return Ok(());
            };
            if let Err(e) = pool.install(|| run(unit)) {
                // Stop handing out runs; the others finish their current
                // one (every journal stays resumable).
                next.store(units.len(), Ordering::SeqCst);
                return Err(e);
            }
        }
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs).map(|_| scope.spawn(worker)).collect();
        let mut first: Result<()> = Ok(());
        for h in handles {
            let outcome = h
                .join()
                .unwrap_or_else(|_| Err(Error::Internal("a run thread panicked".into())));
            if first.is_ok() {
                first = outcome;
            }
        }
        first
    })
}
