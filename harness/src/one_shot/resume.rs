//! Continuing a one-shot search from its journal and last checkpoint.

use super::checkpoint;
use crate::journal::JournalWriter;
use crate::meter::Meter;
use crate::optim::Sgd;
use crate::{Error, Result};
use candle_core::Device;
use candle_nn::VarMap;
use nasarena_core::{Arch, OneShotStrategy};
use nasarena_results::{Journal, Record};
use nasarena_spaces::Realize;

/// Where a resumed run continues.
#[derive(Default)]
pub struct Resume {
    /// The first epoch still to run.
    pub next_epoch: usize,
    /// The planned epochs, once a plan was checkpointed.
    pub total_epochs: Option<usize>,
    /// Epochs recorded in the journal.
    pub epochs_done: u64,
    /// Architecture steps recorded in the journal's last epoch record.
    pub arch_steps: u64,
    /// The derived architecture and its validation accuracy, when the
    /// derivation was journaled.
    pub derived: Option<(Arch, f64)>,
}

/// The search state a resume restores.
pub struct Restored<'a> {
    /// The strategy (architecture parameters, optimiser, RNG).
    pub strategy: &'a mut dyn OneShotStrategy,
    /// The supernet's variables.
    pub varmap: &'a VarMap,
    /// The weight optimiser.
    pub sgd: &'a mut Sgd,
    /// The meter.
    pub meter: &'a mut Meter,
}

/// Restores strategy, supernet, optimiser and meter from the journal and
/// the last checkpoint; appends an epoch record a crash lost.
pub fn resume(
    journal: &Journal,
    space: &dyn Realize,
    state: Restored<'_>,
    writer: &mut JournalWriter,
    device: &Device,
) -> Result<Resume> {
    let Restored {
        strategy,
        varmap,
        sgd,
        meter,
    } = state;
    let path = &journal.path;
    let epochs = journal
        .records
        .iter()
        .filter(|r| matches!(r, Record::Epoch(_)))
        .count();
    let derive = journal.records.iter().find_map(|r| match r {
        Record::Derive(d) => Some(d),
        _ => None,
    });
    if let Some(d) = derive {
        *meter = Meter::resumed(meter.progress().budget, d.cumulative);
        let best = d
            .candidates
            .iter()
            .find(|c| c.arch == d.chosen)
            .map_or(0.0, |c| c.val_accuracy);
        return Ok(Resume {
            epochs_done: epochs as u64,
            derived: Some((space.parse(&d.chosen)?, best)),
            ..Resume::default()
        });
    }
    let Some(manifest) = checkpoint::load_manifest(path)? else {
        if epochs == 0 {
            return Ok(Resume::default());
        }
        return Err(Error::JournalMismatch {
            path: path.clone(),
            reason: format!("{epochs} epochs recorded but the checkpoint is missing; remove the journal to start this run again"),
        });
    };
    if manifest.epoch + 1 != epochs && manifest.epoch != epochs {
        return Err(Error::JournalMismatch {
            path: path.clone(),
            reason: format!(
                "the checkpoint is of epoch {} but {epochs} epochs are recorded",
                manifest.epoch
            ),
        });
    }
    checkpoint::restore(path, &manifest, varmap, sgd, device)?;
    strategy.restore_state(&manifest.strategy)?;
    *meter = Meter::resumed(meter.progress().budget, manifest.spent);
    if manifest.epoch == epochs {
        writer.append(&Record::Epoch(manifest.record.clone()))?;
    }
    Ok(Resume {
        next_epoch: manifest.epoch + 1,
        total_epochs: Some(manifest.total_epochs),
        epochs_done: manifest.epoch as u64 + 1,
        // The checkpoint's record is the last epoch's, journaled or not.
        arch_steps: manifest.record.arch_steps,
        derived: None,
    })
}
