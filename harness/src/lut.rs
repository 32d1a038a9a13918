//! Per-candidate latency lookup tables, FBNet's latency model (Wu et al.
//! 2019, "FBNet: Hardware-aware efficient ConvNet design via
//! differentiable neural architecture search", Sec. 3.2): the latency of an
//! architecture is the sum over its searched layers of the latency of the
//! chosen block, each measured once, on the target device, at the input
//! shape it has in the network. With such a table the `gumbel` strategy's
//! cost term is expected latency instead of expected MACs.
//!
//! `nasarena bench lut` builds a table ([`measure`]) by running every
//! candidate of every decision alone through the space's supernet
//! ([`Supernet::run_candidate`]) in inference mode, and keeps the median of
//! repeated timed runs; a decision used at several places (a cell-space edge
//! is in every cell) costs the sum over its sites. Tables are JSON files
//! with the space, its options, the device, threads, batch and provenance;
//! [`LatencyTable::load`] refuses a table for another space, other options
//! or another shape of decisions.

use crate::error::{Error, Result};
use crate::machine;
use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use nasarena_core::CostTable;
use nasarena_core::Seed;
use nasarena_spaces::supernet::{one_hot_mixing, Supernet};
use nasarena_spaces::{Realize, SeededInit};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// Format version of the JSON file.
pub const LUT_VERSION: u32 = 1;

/// How to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LutConfig {
    /// Images per timed forward pass (FBNet measured batch 1).
    pub batch: usize,
    /// Untimed runs before the timed ones, per candidate and site.
    pub warmup: usize,
    /// Timed runs per candidate and site; the median is kept.
    pub repeats: usize,
}

/// A measured latency table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyTable {
    /// [`LUT_VERSION`] of the writer.
    pub version: u32,
    /// Registered space name.
    pub space: String,
    /// Space options as given (`key=value`), sorted.
    pub options: Vec<String>,
    /// Device, as the journals describe it.
    pub device: String,
    /// CPU model.
    pub cpu: String,
    /// Compute threads.
    pub threads: usize,
    /// Images per timed pass.
    pub batch: usize,
    /// Timed runs per candidate and site.
    pub repeats: usize,
    /// nasarena version and git revision that measured it.
    pub nasarena: String,
    /// Median nanoseconds of everything outside the searched decisions
    /// (stem, reductions, head): a whole forward pass of the cheapest
    /// architecture minus its candidates' entries. Like the MAC table's
    /// fixed part, it keeps ln(COST) defined where a decision can cost 0.
    pub fixed_ns: u64,
    /// `ns[d][o]`: median nanoseconds of option `o` of decision `d`, summed
    /// over the decision's sites; 0 for a candidate with no work (`none`).
    pub ns: Vec<Vec<u64>>,
}

/// Random input of one site's shape, from a fixed seed.
fn site_input(shape: [usize; 3], batch: usize, device: &Device) -> Result<Tensor> {
    let [c, h, w] = shape;
    let mut rng = Seed(7).derive("lut-input", (c * h * w) as u64).rng();
    let len = batch * c * h * w;
    let data: Vec<f32> = (0..len)
        .map(|_| rand::Rng::random_range(&mut rng, -1.0f32..1.0))
        .collect();
    Ok(Tensor::from_vec(data, (batch, c, h, w), device)?)
}

/// Median seconds of `config.repeats` timed runs of `run` after
/// `config.warmup` untimed ones, each timed between device
/// synchronisations; `None` as soon as `run` says it did no work.
fn median_seconds(
    config: &LutConfig,
    device: &Device,
    mut run: impl FnMut() -> Result<bool>,
) -> Result<Option<f64>> {
    let mut times = Vec::with_capacity(config.repeats);
    for i in 0..config.warmup + config.repeats {
        device.synchronize()?;
        let started = Instant::now();
        let worked = run()?;
        device.synchronize()?;
        if !worked {
            return Ok(None);
        }
        if i >= config.warmup {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times.get(times.len() / 2).copied())
}

/// Median seconds of one candidate at one site (`None`: no work).
fn time_candidate(
    net: &dyn Supernet,
    (decision, site, option): (usize, usize, usize),
    x: &Tensor,
    config: &LutConfig,
    device: &Device,
) -> Result<Option<f64>> {
    median_seconds(config, device, || {
        Ok(net.run_candidate(decision, site, option, x)?.is_some())
    })
}

/// Measures the table of `space` (named `space_name` with `options`);
/// `progress` gets `(decision, decisions)` after each decision.
pub fn measure(
    space: &dyn Realize,
    (space_name, options): (&str, &[String]),
    config: &LutConfig,
    build: &machine::BuildInfo,
    mut progress: impl FnMut(usize, usize),
) -> Result<LatencyTable> {
    if config.batch == 0 || config.repeats == 0 {
        return Err(Error::BadSetting {
            setting: "--batch/--repeats".into(),
            reason: "a latency table needs a batch and repeats of at least 1".into(),
        });
    }
    let device = Device::Cpu;
    let varmap = VarMap::new();
    let net = space.build_supernet(SeededInit::var_builder(&varmap, Seed(0), &device))?;
    let sites = net.candidate_sites().ok_or_else(|| {
        Error::Unsupported(format!(
            "space `{space_name}`: its supernet cannot run candidates alone, so it has no latency table"
        ))
    })?;
    let arities: Vec<usize> = space.decisions().iter().map(|d| d.arity()).collect();
    let mut ns = Vec::with_capacity(sites.len());
    for (d, shapes) in sites.iter().enumerate() {
        let arity = arities.get(d).copied().unwrap_or(0);
        let mut row = vec![0u64; arity];
        for (site, &shape) in shapes.iter().enumerate() {
            let x = site_input(shape, config.batch, &device)?;
            for (o, cell) in row.iter_mut().enumerate() {
                if let Some(seconds) = time_candidate(&*net, (d, site, o), &x, config, &device)? {
                    *cell += (seconds * 1e9).round() as u64;
                }
            }
        }
        ns.push(row);
        progress(d + 1, sites.len());
    }
    let fixed_ns = fixed_part(&*net, space.input_shape(), &ns, config, &device)?;
    let mut options = options.to_vec();
    options.sort();
    Ok(LatencyTable {
        version: LUT_VERSION,
        space: space_name.to_string(),
        options,
        device: crate::device::describe(&device),
        cpu: machine::cpu_model(),
        threads: candle_core::utils::get_num_threads(),
        batch: config.batch,
        repeats: config.repeats,
        nasarena: format!("{} ({})", build.version, build.git_revision),
        fixed_ns,
        ns,
    })
}

/// Nanoseconds outside the searched decisions: the median whole forward
/// pass of the cheapest architecture (one-hot mixing, only the chosen
/// candidates run) minus the entries of its choices, at least 0.
fn fixed_part(
    net: &dyn Supernet,
    input: [usize; 3],
    ns: &[Vec<u64>],
    config: &LutConfig,
    device: &Device,
) -> Result<u64> {
    let (choices, chosen_ns): (Vec<u32>, Vec<u64>) = ns
        .iter()
        .map(|row| {
            let (o, t) = row
                .iter()
                .enumerate()
                .min_by_key(|&(_, t)| *t)
                .map_or((0, 0), |(o, &t)| (o, t));
            (o as u32, t)
        })
        .unzip();
    let arities: Vec<usize> = ns.iter().map(Vec::len).collect();
    let mixing = one_hot_mixing(&choices, &arities, device)?;
    let x = site_input(input, config.batch, device)?;
    let seconds = median_seconds(config, device, || {
        net.forward_mixed(&x, &mixing, true)?;
        Ok(true)
    })?;
    let whole = (seconds.unwrap_or(0.0) * 1e9).round() as u64;
    Ok(whole.saturating_sub(chosen_ns.iter().sum()))
}

impl LatencyTable {
    /// Reads a table and checks it belongs to `space_name` with `options`
    /// and matches the space's decisions.
    pub fn load(
        path: &Path,
        space: &dyn Realize,
        space_name: &str,
        options: &[String],
    ) -> Result<Self> {
        let bad = |reason: String| Error::Table {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let table: LatencyTable = serde_json::from_str(&text)
            .map_err(|e| bad(format!("not a nasarena latency table: {e}")))?;
        if table.version != LUT_VERSION {
            return Err(bad(format!(
                "format version {} (this nasarena reads {LUT_VERSION}); measure it again with `nasarena bench lut`",
                table.version
            )));
        }
        let mut want = options.to_vec();
        want.sort();
        if table.space != space_name || table.options != want {
            return Err(bad(format!(
                "measured on space `{}` with options {:?}, but this run searches `{space_name}` with {want:?}",
                table.space, table.options
            )));
        }
        let arities: Vec<usize> = space.decisions().iter().map(|d| d.arity()).collect();
        let rows: Vec<usize> = table.ns.iter().map(Vec::len).collect();
        if rows != arities {
            return Err(bad(format!(
                "has rows of {rows:?} options, the space's decisions have {arities:?}"
            )));
        }
        Ok(table)
    }

    /// The table as the `gumbel` strategy's cost table, in nanoseconds
    /// (FBNet sums only the searched layers; the fixed part added here
    /// shifts COST by a constant, as the MAC table's stem and head do).
    pub fn cost_table(&self) -> CostTable {
        CostTable {
            fixed: self.fixed_ns,
            per_decision: self.ns.clone(),
        }
    }

    /// Writes the table as pretty JSON (through a temporary file and a
    /// rename, so a crash never leaves half a table).
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("latency table to JSON: {e}")))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n").map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}
