//! Shows the harness's progress events: one live bar per run in flight on
//! a terminal (indicatif; concurrent `--jobs` runs each get a bar), plain
//! log lines when stderr is not a terminal, nothing with `--quiet`.
//!
//! Plain lines are a stable, greppable format (documented in README.md),
//! one per event, `[UNIT/UNITS] SPACE STRATEGY seed N: WHAT ...`; trial and
//! epoch lines of one run are thinned to one per [`PLAIN_INTERVAL`] so that
//! a tabular run, which evaluates thousands of architectures a second,
//! does not flood a log. The ETA is of the search budget, extrapolated
//! from the run's own pace; the final retrain comes after it.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use nasarena_core::BudgetUnit;
use nasarena_harness::progress::{
    EpochSummary, ProgressEvent, ProgressSink, TrialResult, UnitLabel,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Least time between two trial or epoch lines of one run in plain mode.
pub const PLAIN_INTERVAL: Duration = Duration::from_millis(200);

/// Bar positions are budget fractions in thousandths.
const BAR_STEPS: u64 = 1000;

/// The sink `nasarena run` reports to: bars when `bars` draws to a
/// terminal, plain lines otherwise, nothing when `quiet`.
pub fn sink(quiet: bool, bars: &MultiProgress) -> Arc<dyn ProgressSink> {
    if quiet {
        return nasarena_harness::progress::silent();
    }
    let mode = if bars.is_hidden() {
        Mode::Plain
    } else {
        Mode::Bars(bars.clone())
    };
    Arc::new(View {
        mode,
        units: Mutex::new(HashMap::new()),
    })
}

#[derive(Debug)]
enum Mode {
    Plain,
    Bars(MultiProgress),
}

/// What the view remembers of a run in flight.
#[derive(Debug)]
struct UnitState {
    started: Instant,
    /// Budget fraction when this process took the run up (resume).
    start_fraction: f64,
    last_line: Option<Instant>,
    bar: Option<ProgressBar>,
}

impl UnitState {
    fn new(bars: Option<&MultiProgress>, label: &UnitLabel) -> Self {
        let bar = bars.map(|m| {
            let bar = m.add(ProgressBar::new(BAR_STEPS));
            bar.set_style(bar_style());
            bar.set_prefix(prefix(label));
            // Trials take seconds to minutes; keep the clock moving.
            bar.enable_steady_tick(Duration::from_millis(500));
            bar
        });
        UnitState {
            started: Instant::now(),
            start_fraction: 0.0,
            last_line: None,
            bar,
        }
    }

    /// Seconds until the budget is spent at this run's pace so far.
    fn eta_seconds(&self, fraction: f64) -> Option<f64> {
        let done = fraction - self.start_fraction;
        let elapsed = self.started.elapsed().as_secs_f64();
        (done > 0.0).then(|| elapsed * (1.0 - fraction).max(0.0) / done)
    }
}

#[derive(Debug)]
struct View {
    mode: Mode,
    units: Mutex<HashMap<usize, UnitState>>,
}

impl ProgressSink for View {
    fn event(&self, unit: &UnitLabel, event: ProgressEvent) {
        // A poisoned lock only means another run's display panicked;
        // progress is cosmetic, so carry on with what is there.
        let mut units = self.units.lock().unwrap_or_else(|p| p.into_inner());
        let bars = match &self.mode {
            Mode::Bars(m) => Some(m),
            Mode::Plain => None,
        };
        let state = units
            .entry(unit.index)
            .or_insert_with(|| UnitState::new(bars, unit));
        let fraction = budget_fraction(&event);
        if let (ProgressEvent::Resumed { budget, .. }, Some(_)) = (&event, fraction) {
            state.start_fraction = *budget;
        }
        let eta = fraction.and_then(|f| state.eta_seconds(f));
        let text = line(unit, &event, eta);
        let done = matches!(
            event,
            ProgressEvent::Finished { .. } | ProgressEvent::Skipped
        );
        match (&self.mode, &state.bar) {
            (Mode::Bars(m), Some(bar)) => {
                if let Some(f) = fraction {
                    bar.set_position((f.clamp(0.0, 1.0) * BAR_STEPS as f64) as u64);
                }
                bar.set_message(bar_message(&event, eta));
                if done {
                    bar.finish_and_clear();
                    m.remove(bar);
                    // Finished runs leave one line above the live bars.
                    let _ = m.println(text);
                }
            }
            _ => {
                let step = matches!(
                    event,
                    ProgressEvent::Trial { .. } | ProgressEvent::Epoch { .. }
                );
                // Only trial and epoch lines are thinned, and only against
                // each other: a `started` line must not swallow the first
                // trial (fast trials come well within the interval).
                let due = state
                    .last_line
                    .is_none_or(|t| t.elapsed() >= PLAIN_INTERVAL);
                if !step {
                    eprintln!("{text}");
                } else if due {
                    eprintln!("{text}");
                    state.last_line = Some(Instant::now());
                }
            }
        }
        if done {
            units.remove(&unit.index);
        }
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} [{bar:24}] {percent:>3}% {elapsed:>4} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn prefix(unit: &UnitLabel) -> String {
    format!("[{}/{}] {}", unit.index + 1, unit.total, unit.name)
}

/// The budget fraction an event reports, if any.
fn budget_fraction(event: &ProgressEvent) -> Option<f64> {
    match event {
        ProgressEvent::Resumed { budget, .. }
        | ProgressEvent::Trial { budget, .. }
        | ProgressEvent::Epoch { budget, .. } => Some(*budget),
        _ => None,
    }
}

/// A budget unit as people write it.
pub fn unit_name(unit: BudgetUnit) -> &'static str {
    match unit {
        BudgetUnit::DeviceSeconds => "device seconds",
        BudgetUnit::DeviceHours => "device hours",
        BudgetUnit::TrainSamples => "train samples",
        BudgetUnit::Macs => "MACs",
        BudgetUnit::Evaluations => "evaluations",
    }
}

fn percent(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

/// `1h02m`, `3m05s`, `42s`; `?` before any pace is known.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds.filter(|s| s.is_finite()) else {
        return "?".into();
    };
    let s = s.round() as u64;
    match (s / 3600, (s / 60) % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m{sec:02}s"),
        (h, min, _) => format!("{h}h{min:02}m"),
    }
}

fn trial_text(trial: u64, result: &TrialResult, best: Option<f64>) -> String {
    let shown = match result {
        TrialResult::Evaluated(acc) => format!("val {}", percent(*acc)),
        TrialResult::Failed(reason) => format!("failed ({reason})"),
    };
    let best = best.map_or("-".into(), percent);
    format!("trial {trial} {shown} best {best}")
}

fn epoch_text(s: &EpochSummary) -> String {
    let tau = s.tau.map_or("-".into(), |t| format!("{t:.2}"));
    format!(
        "epoch {}/{} tau {tau} loss {:.3} val {} entropy {:.3} argmax {:.2} MMACs",
        s.epoch,
        s.total,
        s.loss,
        percent(s.val_accuracy),
        s.entropy,
        s.argmax_mmacs
    )
}

/// The plain line of an event.
pub fn line(unit: &UnitLabel, event: &ProgressEvent, eta: Option<f64>) -> String {
    let what = match event {
        ProgressEvent::Started { budget } => {
            format!(
                "started, budget {} {}",
                budget.limit,
                unit_name(budget.unit)
            )
        }
        ProgressEvent::Skipped => "finished earlier, skipped".into(),
        ProgressEvent::Resumed { done, budget } => {
            format!(
                "resumed after {done} recorded steps, budget {:.1}%",
                100.0 * budget
            )
        }
        ProgressEvent::Trial {
            trial,
            result,
            best,
            budget,
            seconds,
        } => format!(
            "{} budget {:.1}% eta {} ({seconds:.1} s)",
            trial_text(*trial, result, *best),
            100.0 * budget,
            duration(eta)
        ),
        ProgressEvent::Epoch {
            summary,
            budget,
            seconds,
        } => format!(
            "{} budget {:.1}% eta {} ({seconds:.1} s)",
            epoch_text(summary),
            100.0 * budget,
            duration(eta)
        ),
        ProgressEvent::Derived {
            arch,
            val_accuracy,
            candidates,
        } => format!(
            "derived {arch} val {} (shared weights, best of {candidates})",
            percent(*val_accuracy)
        ),
        ProgressEvent::Retraining {
            arch,
            looked_up: false,
        } => format!("final protocol retrains {arch}"),
        ProgressEvent::Retraining {
            arch,
            looked_up: true,
        } => format!("final protocol looks {arch} up in the table"),
        ProgressEvent::Finished {
            arch,
            test_accuracy,
        } => format!(
            "finished {arch} test {}",
            test_accuracy.map_or("failed".into(), percent)
        ),
    };
    format!("{}: {what}", prefix(unit))
}

/// The short message after a run's bar.
fn bar_message(event: &ProgressEvent, eta: Option<f64>) -> String {
    match event {
        ProgressEvent::Trial {
            trial,
            result,
            best,
            ..
        } => format!(
            "{}  eta {}",
            trial_text(*trial, result, *best),
            duration(eta)
        ),
        ProgressEvent::Epoch { summary, .. } => format!(
            "epoch {}/{} val {}  eta {}",
            summary.epoch,
            summary.total,
            percent(summary.val_accuracy),
            duration(eta)
        ),
        ProgressEvent::Started { .. } => "first evaluation".into(),
        ProgressEvent::Resumed { done, .. } => format!("resumed after {done} steps"),
        ProgressEvent::Derived { val_accuracy, .. } => {
            format!("derived, val {}", percent(*val_accuracy))
        }
        ProgressEvent::Retraining {
            looked_up: false, ..
        } => "final protocol (retraining)".into(),
        ProgressEvent::Retraining {
            looked_up: true, ..
        } => "final protocol (table lookup)".into(),
        ProgressEvent::Finished { .. } | ProgressEvent::Skipped => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::{InMemoryTerm, ProgressDrawTarget};
    use nasarena_core::Budget;

    fn label(index: usize) -> UnitLabel {
        UnitLabel {
            index,
            total: 2,
            name: format!("cell random seed {index}"),
        }
    }

    fn trial(trial: u64, budget: f64) -> ProgressEvent {
        ProgressEvent::Trial {
            trial,
            result: TrialResult::Evaluated(0.4),
            best: Some(0.5),
            budget,
            seconds: 1.25,
        }
    }

    #[test]
    fn plain_lines_name_the_run_and_the_numbers() {
        let text = line(&label(0), &trial(3, 0.5), Some(65.0));
        assert_eq!(
            text,
            "[1/2] cell random seed 0: trial 3 val 40.00% best 50.00% budget 50.0% eta 1m05s (1.2 s)"
        );
        let done = ProgressEvent::Finished {
            arch: "A".into(),
            test_accuracy: None,
        };
        assert_eq!(
            line(&label(1), &done, None),
            "[2/2] cell random seed 1: finished A test failed"
        );
    }

    #[test]
    fn the_final_protocol_line_says_whether_it_trains_or_looks_up() {
        let event = |looked_up| ProgressEvent::Retraining {
            arch: "A".into(),
            looked_up,
        };
        assert_eq!(
            line(&label(0), &event(false), None),
            "[1/2] cell random seed 0: final protocol retrains A"
        );
        assert_eq!(
            line(&label(0), &event(true), None),
            "[1/2] cell random seed 0: final protocol looks A up in the table"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(None), "?");
        assert_eq!(duration(Some(f64::INFINITY)), "?");
        assert_eq!(duration(Some(42.4)), "42s");
        assert_eq!(duration(Some(185.0)), "3m05s");
        assert_eq!(duration(Some(3720.0)), "1h02m");
    }

    #[test]
    fn eta_extrapolates_the_pace_since_this_process_took_the_run_up() {
        let mut state = UnitState::new(None, &label(0));
        state.started = Instant::now() - Duration::from_secs(10);
        state.start_fraction = 0.5;
        let eta = state.eta_seconds(0.75).expect("pace known");
        assert!((eta - 10.0).abs() < 0.5, "{eta}");
        assert!(state.eta_seconds(0.5).is_none());
    }

    /// Two concurrent runs each get a bar; a finished run leaves its line.
    #[test]
    fn bars_show_every_run_in_flight() {
        let term = InMemoryTerm::new(10, 120);
        let bars =
            MultiProgress::with_draw_target(ProgressDrawTarget::term_like(Box::new(term.clone())));
        let view = sink(false, &bars);
        let budget = Budget {
            unit: BudgetUnit::Evaluations,
            limit: 3.0,
        };
        for i in 0..2 {
            view.event(&label(i), ProgressEvent::Started { budget });
        }
        view.event(&label(0), trial(0, 1.0 / 3.0));
        view.event(&label(1), trial(0, 2.0 / 3.0));
        // Draws are rate-limited; a println forces one.
        bars.println("-").expect("draw");
        let screen = term.contents();
        assert!(screen.contains("[1/2] cell random seed 0 ["), "{screen}");
        assert!(screen.contains("[2/2] cell random seed 1 ["), "{screen}");
        assert!(screen.contains(" 67% "), "{screen}");
        let finished = ProgressEvent::Finished {
            arch: "A".into(),
            test_accuracy: Some(0.5),
        };
        view.event(&label(0), finished);
        let screen = term.contents();
        assert!(
            screen.contains("[1/2] cell random seed 0: finished A test 50.00%"),
            "{screen}"
        );
    }
}
