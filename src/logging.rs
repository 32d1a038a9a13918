//! Diagnostic logging with `tracing`: `-v` shows what each run does (run
//! start and end, trials, epochs), `-vv` adds evaluations and the epochs
//! of candidate training, `-vvv` everything. `RUST_LOG`, when set, is used
//! instead (`RUST_LOG=nasarena_harness=debug`). Without either, only
//! warnings. Log lines go to stderr, printed between progress bar redraws
//! so the two never garble each other.

use indicatif::MultiProgress;
use std::io::{IsTerminal, Write};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber; `bars` is the display that log lines
/// must not tear.
pub fn init(verbosity: u8, bars: &MultiProgress) {
    let level = match verbosity {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    // Fails only if a subscriber is installed already, which main never does.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(BarSafeStderr(bars.clone()))
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// Hands out one buffered writer per log event.
#[derive(Debug)]
struct BarSafeStderr(MultiProgress);

impl<'a> MakeWriter<'a> for BarSafeStderr {
    type Writer = EventBuffer;

    fn make_writer(&'a self) -> EventBuffer {
        EventBuffer {
            bars: self.0.clone(),
            text: Vec::new(),
        }
    }
}

/// Collects one event's text and prints it whole with the bars cleared.
#[derive(Debug)]
struct EventBuffer {
    bars: MultiProgress,
    text: Vec<u8>,
}

impl Write for EventBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        if self.text.is_empty() {
            return;
        }
        // Logging must never fail a run; a closed stderr loses the line.
        self.bars
            .suspend(|| std::io::stderr().lock().write_all(&self.text))
            .ok();
    }
}
