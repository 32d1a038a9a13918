//! Where each unit of a submitted experiment stands, from its journal
//! (the record of truth: a unit is done when its final record is written)
//! and, when available, from what the scheduler says about its task.

use super::scheduler::TaskState;
use super::Submission;
use crate::Result;
use nasarena_results::{read_journal, Record};
use std::collections::BTreeMap;
use std::path::Path;

/// What a unit's journal holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalProgress {
    /// No journal yet.
    Missing,
    /// A journal with this many records and no final record.
    Started(usize),
    /// The final record is written.
    Done,
}

/// A unit's state, combining its journal and the scheduler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitState {
    /// The final record is written.
    Done,
    /// Slurm runs its task now (or is starting or ending it).
    Running,
    /// Its task waits in the queue (including after a requeue).
    Pending,
    /// Started, but not queued and not finished: failed, cancelled, timed
    /// out or stopped by a signal; `resubmit` continues it.
    Failed,
    /// Not started and not queued; `resubmit` starts it.
    Missing,
}

impl UnitState {
    /// The state's name as `status` prints it.
    pub fn name(&self) -> &'static str {
        match self {
            UnitState::Done => "done",
            UnitState::Running => "running",
            UnitState::Pending => "pending",
            UnitState::Failed => "failed",
            UnitState::Missing => "missing",
        }
    }

    /// Whether `resubmit` should submit the unit again.
    pub fn unfinished(&self) -> bool {
        matches!(self, UnitState::Failed | UnitState::Missing)
    }
}

/// One unit's status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitStatus {
    /// The unit (array task id).
    pub index: usize,
    /// Space, strategy and repetition.
    pub label: String,
    /// Combined state.
    pub state: UnitState,
    /// What the journal holds.
    pub journal: JournalProgress,
    /// What Slurm says about the task's latest job, if anything.
    pub scheduler: Option<TaskState>,
}

fn progress(path: &Path) -> Result<JournalProgress> {
    if !path.exists() {
        return Ok(JournalProgress::Missing);
    }
    let journal = read_journal(path)?;
    Ok(if journal.final_record().is_some() {
        JournalProgress::Done
    } else {
        JournalProgress::Started(
            journal
                .records
                .iter()
                .filter(|r| !matches!(r, Record::Final(_)))
                .count(),
        )
    })
}

/// Slurm states of a job that is still in the queue.
fn queued_state(state: &str) -> Option<UnitState> {
    match state {
        "RUNNING" | "COMPLETING" | "CONFIGURING" | "STAGE_OUT" | "SIGNALING" | "RESIZING" => {
            Some(UnitState::Running)
        }
        "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "SUSPENDED" | "STOPPED"
        | "RESV_DEL_HOLD" => Some(UnitState::Pending),
        _ => None,
    }
}

/// The status of every unit of `record` in experiment folder `dir`, given
/// the queued tasks (`squeue`) and finished ones (`sacct`) when known.
pub fn unit_states(
    record: &Submission,
    dir: &Path,
    queued: Option<&BTreeMap<usize, TaskState>>,
    accounted: Option<&BTreeMap<usize, TaskState>>,
) -> Result<Vec<UnitStatus>> {
    record
        .units
        .iter()
        .map(|u| {
            let journal = progress(&dir.join(&u.journal))?;
            let in_queue = queued.and_then(|q| q.get(&u.index));
            let queued_as = in_queue.and_then(|t| queued_state(&t.state));
            let state = match (journal, queued_as) {
                (JournalProgress::Done, _) => UnitState::Done,
                (_, Some(state)) => state,
                (JournalProgress::Started(_), None) => UnitState::Failed,
                (JournalProgress::Missing, None) => UnitState::Missing,
            };
            let scheduler = in_queue
                .or_else(|| accounted.and_then(|a| a.get(&u.index)))
                .cloned();
            Ok(UnitStatus {
                index: u.index,
                label: u.label.clone(),
                state,
                journal,
                scheduler,
            })
        })
        .collect()
}
