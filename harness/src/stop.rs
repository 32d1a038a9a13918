//! Stopping runs cleanly between records. A cluster scheduler warns a job
//! before it is preempted or hits its time limit (Slurm: `--signal`,
//! then SIGTERM); the binary turns such signals into a [`StopFlag`], and
//! the run loops look at it after every journal record, so a stopped run
//! leaves a journal that `--resume` continues to exactly the records an
//! uninterrupted run writes.

use crate::journal::JournalWriter;
use crate::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The exit status of a run stopped by a signal (EX_TEMPFAIL: try again;
/// its journals resume).
pub const INTERRUPTED_EXIT: u8 = 75;

/// A shared "stop after the current record" request.
#[derive(Clone, Debug, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag nobody has raised yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The underlying atomic, for signal handlers to set.
    pub fn shared(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }

    /// Asks every run that watches this flag to stop at its next check.
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// A stop point between records: once a stop was asked for, makes the
    /// journal durable and returns `Err(Error::Interrupted)`.
    pub fn check(&self, journal: &JournalWriter) -> Result<()> {
        if self.raised() {
            journal.sync()?;
            return Err(Error::Interrupted);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raise_through_the_signal_handle_is_seen_by_every_clone() {
        let flag = StopFlag::new();
        let seen_by_run = flag.clone();
        assert!(!seen_by_run.raised());
        flag.shared().store(true, Ordering::SeqCst);
        assert!(seen_by_run.raised());
    }
}
