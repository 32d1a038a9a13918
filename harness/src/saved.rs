//! Saving the network the final protocol trained: its tensors under the
//! names of the network description (`{node}.{name}`, see
//! `nasarena_spaces::describe`) as safetensors next to the run's journal,
//! so `nasarena export` and other frameworks can load the exact network
//! the search recommended without retraining it.
//!
//! The file is written to a temporary name and renamed, so a killed run
//! never leaves a torn file under the final name (its resume rewrites it).

use crate::evaluation::TrainedNetwork;
use crate::{Error, Result};
use candle_core::{Device, Tensor};
use nasarena_results::SavedWeights;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// The weights file of the run journaled at `journal`: the journal's name
/// with the extension `safetensors` (`seed-0.jsonl` -> `seed-0.safetensors`).
pub fn weights_path(journal: &Path) -> std::path::PathBuf {
    journal.with_extension("safetensors")
}

/// Writes `net`'s tensors for the run journaled at `journal` and says
/// where, with the file's sha256 and the input normalisation.
pub fn save(net: &TrainedNetwork, journal: &Path) -> Result<SavedWeights> {
    let path = weights_path(journal);
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for t in &net.graph.tensors.0 {
        // Serialising reads host memory: bring GPU tensors over first.
        let host = t.tensor.to_device(&Device::Cpu)?;
        if tensors.insert(t.key(), host).is_some() {
            return Err(Error::Internal(format!(
                "the network description names tensor {} twice",
                t.key()
            )));
        }
    }
    let tmp = path.with_extension("safetensors.tmp");
    candle_core::safetensors::save(&tensors, &tmp)?;
    // The writer creates the file owner-only; give it the journal's mode
    // so whoever can read the runs can load the network.
    if let Ok(meta) = std::fs::metadata(journal) {
        std::fs::set_permissions(&tmp, meta.permissions()).map_err(|e| Error::Io {
            path: tmp.clone(),
            source: e,
        })?;
    }
    let bytes = std::fs::read(&tmp).map_err(|e| Error::Io {
        path: tmp.clone(),
        source: e,
    })?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::Io {
        path: path.clone(),
        source: e,
    })?;
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(SavedWeights {
        file,
        sha256: format!("{:x}", Sha256::digest(&bytes)),
        input_mean: net.norm.mean.clone(),
        input_std: net.norm.std.clone(),
    })
}
