//! `nasarena export`: the network a run's final protocol trained, as files
//! another framework loads without nasarena: `model.safetensors` (copied
//! after its sha256 is checked against the journal), `architecture.json`
//! (what `nasarena bench describe` prints for the architecture, plus the
//! genotype, space and options, MACs, parameters, the recorded test
//! accuracy, the input normalisation and the run's provenance) and a
//! `README.md` on loading it (`bench/load_export.py` for PyTorch).
//!
//! The architecture is rebuilt from the journal's space, options and
//! genotype, and the saved file must hold exactly the tensors that
//! network's description names, in its shapes: a file from another
//! network or a damaged one is refused, never exported.

use crate::{Error, Result};
use candle_core::Device;
use nasarena_results::read_journal;
use nasarena_spaces::{build_space, Graph, SpaceOptions};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What an export wrote.
#[derive(Clone, Debug)]
pub struct Exported {
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The genotype exported.
    pub arch: String,
    /// Its recorded test accuracy (fraction).
    pub test_accuracy: Option<f64>,
}

fn refuse(path: &Path, reason: impl Into<String>) -> Error {
    Error::Export {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// Checks that the safetensors file `bytes` (read from `path`) holds
/// exactly the tensors `graph` names, in their shapes.
pub fn check_tensors(path: &Path, bytes: &[u8], graph: &Graph) -> Result<()> {
    let saved = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
        .map_err(|e| refuse(path, format!("not a readable safetensors file: {e}")))?;
    let want: BTreeMap<String, Vec<usize>> = graph
        .tensors
        .0
        .iter()
        .map(|t| (t.key(), t.tensor.dims().to_vec()))
        .collect();
    let have: BTreeMap<String, Vec<usize>> = saved
        .iter()
        .map(|(k, t)| (k.clone(), t.dims().to_vec()))
        .collect();
    if want != have {
        let missing: Vec<&String> = want.keys().filter(|k| !have.contains_key(*k)).collect();
        let extra: Vec<&String> = have.keys().filter(|k| !want.contains_key(*k)).collect();
        return Err(refuse(
            path,
            format!(
                "the file does not hold the recorded architecture's tensors (missing {missing:?}, unexpected {extra:?}, or shapes differ)"
            ),
        ));
    }
    Ok(())
}

/// Exports the network of the run journaled at `journal` into `out`.
pub fn export(journal: &Path, out: &Path) -> Result<Exported> {
    let j = read_journal(journal)?;
    let h = &j.header;
    let f = j.final_record().ok_or_else(|| {
        refuse(
            journal,
            "the run has not finished (no final record); finish it with `nasarena run --resume`",
        )
    })?;
    let w = f.weights.as_ref().ok_or_else(|| {
        refuse(journal, "the run saved no network: its final protocol looked the accuracy up in a table, training failed, or the journal predates saved networks")
    })?;
    let weights = journal.parent().unwrap_or(Path::new("")).join(&w.file);
    let bytes = std::fs::read(&weights).map_err(io(&weights))?;
    let sha = format!("{:x}", Sha256::digest(&bytes));
    if sha != w.sha256 {
        return Err(refuse(
            &weights,
            format!(
                "sha256 {sha} differs from the journal's {}: the file was changed or replaced",
                w.sha256
            ),
        ));
    }
    let space = build_space(&h.space, SpaceOptions::parse(&h.space, &h.space_options)?)?;
    let arch = space.parse(&f.arch)?;
    let graph = crate::bench::describe(space.as_ref(), &arch)?;
    check_tensors(&weights, &bytes, &graph)?;
    let cost = space.cost(&arch)?;
    let description = json!({
        "format": "nasarena-architecture",
        "version": 1,
        "space": h.space,
        "arch": f.arch,
        "opts": h.space_options,
        "input": space.input_shape(),
        "classes": space.classes(),
        "params": cost.params,
        "macs": cost.macs,
        "nodes": graph.nodes,
        "genotype": f.arch,
        "test_accuracy": f.test_accuracy,
        "search_val_accuracy": f.search_val_accuracy,
        "input_normalization": {
            "formula": "x = (pixel / 255 - mean[c]) / std[c]",
            "mean": w.input_mean,
            "std": w.input_std,
        },
        "weights": {
            "file": "model.safetensors",
            "sha256": w.sha256,
            "names": "{node}.{weight|bias|running_mean|running_var}, node = index into `nodes`",
        },
        "dataset": h.dataset,
        "run": {
            "experiment": h.experiment,
            "strategy": h.label,
            "seed": h.seed,
            "journal": journal.display().to_string(),
            "final_schedule": h.config.get("final").and_then(|f| f.get("schedule")),
            "crate_version": h.crate_version,
            "git_revision": h.git_revision,
            "device": h.device,
        },
    });
    std::fs::create_dir_all(out).map_err(io(out))?;
    let files = [
        (out.join("model.safetensors"), bytes),
        (
            out.join("architecture.json"),
            format!(
                "{}\n",
                serde_json::to_string_pretty(&description)
                    .map_err(|e| Error::Internal(e.to_string()))?
            )
            .into_bytes(),
        ),
        (
            out.join("README.md"),
            readme(&f.arch, &h.space, f.test_accuracy, &h.dataset.name).into_bytes(),
        ),
    ];
    for (path, data) in &files {
        std::fs::write(path, data).map_err(io(path))?;
    }
    Ok(Exported {
        files: files.into_iter().map(|(p, _)| p).collect(),
        arch: f.arch.clone(),
        test_accuracy: f.test_accuracy,
    })
}

fn readme(arch: &str, space: &str, test: Option<f64>, dataset: &str) -> String {
    let acc = test.map_or("not recorded".to_string(), |a| format!("{:.2}%", 100.0 * a));
    format!(
        r#"# Exported nasarena network

`{arch}` from the `{space}` space, test accuracy {acc} on `{dataset}`
after the run's final protocol.

- `model.safetensors`: the trained weights and batch-norm running
  statistics, float32, named `{{node}}.{{name}}` (`weight`, `bias`,
  `running_mean`, `running_var`) after `nodes` in `architecture.json`.
  Layouts are PyTorch's: convolution weights `(c_out, c_in/groups, kh, kw)`,
  linear weights `(c_out, c_in)`.
- `architecture.json`: the network as a list of nodes in execution order
  (node 0 is the input image, each node names the nodes it reads), the
  genotype, space and options, MACs, parameters, the recorded test
  accuracy, the input normalisation and where the run came from.

Inputs are NCHW float32 images normalised per channel as
`(pixel / 255 - mean) / std` with `input_normalization` from
`architecture.json`; the network returns class logits.

## PyTorch

`bench/load_export.py` in the nasarena repository builds the network from
`architecture.json` (`bench/torch_peer.py` implements every node), loads
the weights and, given the test images, reproduces the test accuracy:

```sh
python3 bench/load_export.py EXPORT_DIR --test-images t10k-images-idx3-ubyte.gz --test-labels t10k-labels-idx1-ubyte.gz
```

In your own code:

```python
import json, sys, torch
from safetensors.torch import load_file   # or load with nasarena's loader
sys.path.insert(0, "path/to/nasarena/bench")
from torch_peer import Peer
desc = json.load(open("architecture.json"))
net = Peer(desc["nodes"])
missing, unexpected = net.mods.load_state_dict(load_file("model.safetensors"), strict=False)
assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing)
net.eval()
```
"#
    )
}
