//! Crash-safe checkpoints of a one-shot search, written after every epoch
//! so `--resume` continues exactly where a killed run stopped.
//!
//! A checkpoint is two files next to the journal: the tensors (supernet
//! variables, BN statistics, SGD momentum) in safetensors named by epoch,
//! and a JSON manifest (epoch, planned epochs, strategy state, the epoch's
//! journal record) that is written last by an atomic rename and names the
//! tensor file. The manifest is written *before* the epoch's record is
//! appended to the journal, so after a crash either both exist, or the
//! manifest is one epoch ahead and carries the record that was lost.

use crate::optim::Sgd;
use crate::{Error, Result};
use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use nasarena_core::Cost;
use nasarena_results::EpochRecord;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The JSON side of a checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The last finished epoch.
    pub epoch: usize,
    /// Planned epochs of the search.
    pub total_epochs: usize,
    /// The strategy's saved state after that epoch.
    pub strategy: serde_json::Value,
    /// Cost spent so far (search only).
    pub spent: Cost,
    /// The journal record of that epoch.
    pub record: EpochRecord,
    /// File name of the tensors, in the same folder.
    pub tensors: String,
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The manifest's path for a journal.
pub fn manifest_path(journal: &Path) -> PathBuf {
    journal.with_extension("ckpt.json")
}

/// The tensor file name for epoch `epoch` of a journal.
pub fn tensors_file(journal: &Path, epoch: usize) -> String {
    let stem = journal
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    format!("{stem}.ckpt-{epoch}.safetensors")
}

/// Writes the checkpoint of `manifest.epoch`, then removes older tensors.
pub fn save(journal: &Path, manifest: &Manifest, varmap: &VarMap, sgd: &Sgd) -> Result<()> {
    let dir = journal.parent().unwrap_or(Path::new("."));
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    {
        let data = varmap
            .data()
            .lock()
            .map_err(|_| Error::Internal("supernet variables are poisoned".into()))?;
        for (name, var) in data.iter() {
            tensors.insert(format!("var.{name}"), var.as_tensor().clone());
        }
    }
    for (i, b) in sgd.buffers().iter().enumerate() {
        if let Some(b) = b {
            tensors.insert(format!("sgd.{i}"), b.clone());
        }
    }
    let tensor_path = dir.join(&manifest.tensors);
    let tmp = tensor_path.with_extension("tmp");
    candle_core::safetensors::save(&tensors, &tmp)?;
    std::fs::rename(&tmp, &tensor_path).map_err(|e| io(&tensor_path, e))?;
    let manifest_file = manifest_path(journal);
    let tmp = manifest_file.with_extension("tmp");
    let text = serde_json::to_vec(manifest).map_err(|e| Error::Internal(e.to_string()))?;
    write_synced(&tmp, &text)?;
    std::fs::rename(&tmp, &manifest_file).map_err(|e| io(&manifest_file, e))?;
    if manifest.epoch > 0 {
        let old = dir.join(tensors_file(journal, manifest.epoch - 1));
        let _ = std::fs::remove_file(old);
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| io(path, e))?;
    f.write_all(bytes).map_err(|e| io(path, e))?;
    f.sync_all().map_err(|e| io(path, e))
}

/// Reads the manifest, if there is one.
pub fn load_manifest(journal: &Path) -> Result<Option<Manifest>> {
    let path = manifest_path(journal);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read(&path).map_err(|e| io(&path, e))?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| Error::JournalMismatch {
            path,
            reason: format!("unreadable checkpoint manifest: {e}"),
        })
}

/// Loads the manifest's tensors into the supernet variables and SGD.
pub fn restore(
    journal: &Path,
    manifest: &Manifest,
    varmap: &VarMap,
    sgd: &mut Sgd,
    device: &Device,
) -> Result<()> {
    let dir = journal.parent().unwrap_or(Path::new("."));
    let path = dir.join(&manifest.tensors);
    let mut tensors =
        candle_core::safetensors::load(&path, device).map_err(|e| Error::JournalMismatch {
            path: path.clone(),
            reason: format!("unreadable checkpoint tensors: {e}"),
        })?;
    {
        let data = varmap
            .data()
            .lock()
            .map_err(|_| Error::Internal("supernet variables are poisoned".into()))?;
        for (name, var) in data.iter() {
            let t =
                tensors
                    .remove(&format!("var.{name}"))
                    .ok_or_else(|| Error::JournalMismatch {
                        path: path.clone(),
                        reason: format!(
                            "checkpoint has no variable {name}; was it written by another build?"
                        ),
                    })?;
            var.set(&t)?;
        }
    }
    let buffers = (0..sgd.buffers().len())
        .map(|i| tensors.remove(&format!("sgd.{i}")))
        .collect();
    sgd.set_buffers(buffers)?;
    Ok(())
}

/// Removes a finished run's checkpoint files.
pub fn remove(journal: &Path, manifest: &Manifest) {
    let dir = journal.parent().unwrap_or(Path::new("."));
    let _ = std::fs::remove_file(dir.join(&manifest.tensors));
    let _ = std::fs::remove_file(manifest_path(journal));
}
