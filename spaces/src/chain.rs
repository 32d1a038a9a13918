//! The `chain` space: NAS-Bench-201's operations (Dong & Yang 2020) on a
//! plain chain instead of a cell. A 3x3 stem conv (+ BN + ReLU) with
//! `channels` outputs, then `layers` searched layers, each one of the ops
//! below on `channels` channels at stride 1, then a 1x1 head conv (+ BN +
//! ReLU), global average pooling and a linear classifier: the layer-wise
//! frame of FBNet (Wu et al. 2019, Table 1).
//!
//! Why a chain: in a cell, several edges lead to the same node, so most
//! single decisions matter little (a cell with `none` on a side edge is
//! nearly as good as one with a conv there), and a one-shot search cannot
//! be checked against a known answer. In a chain every layer is on the
//! only path, so each decision changes what the network can compute: with
//! `ops=skip_connect,nor_conv_3x3` on a 28x28 input, every conv widens the
//! receptive field that global pooling summarises, and the all-conv chain
//! is the planted winner of the one-shot learning tests.
//!
//! Ops (`ops=`, default all four): `skip_connect`, `nor_conv_1x1`,
//! `nor_conv_3x3` (ReLU -> conv -> BN, as in the cell) and `avg_pool_3x3`.
//! `none` is refused: a zero layer disconnects the classifier from the
//! input. `residual=true` makes every layer `x + op(x)` (a supernet adds
//! `x` once to the mixed ops): with one op per layer, GDAS's
//! straight-through estimator otherwise only scales a layer's whole
//! output, which the next BN removes, so its architecture gradient
//! vanishes on a plain chain (in NAS-Bench-201's cell, edges into one node
//! are summed, which keeps it). Other options: `layers` (default 6), `channels` (default 16),
//! `input` (default 1x28x28), `classes` (default 10). Genotype: the op
//! names in layer order, comma-separated (the fbnet syntax).

use crate::cell::cost::op_conv;
use crate::cell::genotype::OPS;
use crate::cell::EdgeOp;
use crate::describe::Graph;
use crate::fbnet::genotype::{format_layers, parse_layers};
use crate::geometry::{batch_norm_params, ConvSpec, MacCounter};
use crate::layers::Linear;
use crate::layerwise::{Frame, LayerwiseNetwork, LayerwiseSupernet, SearchedLayer};
use crate::{CostReport, Error, LayerCost, Network, Realize, Result, SpaceEntry, SpaceOptions};
use candle_core::Tensor;
use candle_nn::VarBuilder;
use nasarena_core::{Arch, Decision, SearchSpace};

/// Option keys the space accepts.
pub const OPTIONS: &[&str] = &["layers", "channels", "ops", "input", "classes", "residual"];

/// The registry entry.
pub const ENTRY: SpaceEntry = SpaceEntry {
    name: "chain",
    summary: "NAS-Bench-201 ops on a plain chain: each of `layers` layers picks one op",
    options: OPTIONS,
};

/// The ops a chain layer may use (every NAS-Bench-201 op but `none`).
pub const CHAIN_OPS: [&str; 4] = [
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
];

/// One searched layer: a NAS-Bench-201 op that always has an output,
/// alone or as the branch of a residual layer (`x + op(x)`).
#[derive(Clone, Debug)]
pub struct ChainLayer {
    op: EdgeOp,
    residual: bool,
}

impl SearchedLayer for ChainLayer {
    fn forward_t(&self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let y = self.branch_t(x, train)?;
        if self.residual {
            x + y
        } else {
            Ok(y)
        }
    }

    fn describe(&self, g: &mut Graph, x: usize) -> Option<usize> {
        let y = self.op.describe(g, x)?;
        Some(if self.residual { g.add(vec![x, y]) } else { y })
    }

    fn residual(&self) -> bool {
        self.residual
    }

    fn branch_t(&self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        self.op
            .forward_t(x, train)?
            .ok_or_else(|| candle_core::Error::Msg("chain layer: `none` op".into()))
    }
}

/// The chain space for one set of options.
#[derive(Clone, Debug)]
pub struct ChainSpace {
    decisions: Vec<Decision>,
    /// Cell op index ([`OPS`]) of each choice, in the order listed.
    ops: Vec<usize>,
    channels: usize,
    input: [usize; 3],
    classes: usize,
    residual: bool,
}

impl ChainSpace {
    /// The space with its options applied.
    pub fn from_options(mut options: SpaceOptions) -> Result<Self> {
        let layers = options.take_usize("layers", 6)?;
        let channels = options.take_usize("channels", 16)?;
        let input = options.take_shape("input", [1, 28, 28])?;
        let classes = options.take_usize("classes", 10)?;
        let residual = match options.take("residual").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(Error::Option {
                    space: ENTRY.name.into(),
                    key: "residual".into(),
                    reason: format!("expected `true` or `false`, got `{other}`"),
                })
            }
        };
        let ops = match options.take("ops") {
            Some(text) => parse_ops(&text)?,
            None => CHAIN_OPS.iter().map(|&name| op_index(name)).collect(),
        };
        options.finish(OPTIONS)?;
        if layers > 64 || channels > 4096 || input[1].max(input[2]) > 8192 {
            return Err(Error::Option {
                space: ENTRY.name.into(),
                key: "layers/channels/input".into(),
                reason: "at most 64 layers, 4096 channels and 8192-pixel sides".into(),
            });
        }
        let names: Vec<&str> = ops.iter().map(|&o| OPS[o]).collect();
        let decisions = (0..layers)
            .map(|i| Decision::new(format!("layer{i}"), &names))
            .collect();
        Ok(ChainSpace {
            decisions,
            ops,
            channels,
            input,
            classes,
            residual,
        })
    }

    fn frame(&self) -> Frame {
        Frame {
            input: self.input,
            stem: self.stem(),
            head: Some(self.head()),
            features: self.channels,
            classes: self.classes,
        }
    }

    fn stem(&self) -> ConvSpec {
        ConvSpec::new(self.input[0], self.channels, 3, 1)
    }

    /// The 1x1 head conv (+ BN + ReLU): it normalises the last searched
    /// layer's output before pooling, so no op wins by the scale of its
    /// output alone (NAS-Bench-201 ends its networks with BN + ReLU for the
    /// same reason).
    fn head(&self) -> ConvSpec {
        ConvSpec::new(self.channels, self.channels, 1, 1)
    }

    /// Cell op index of choice `choice`, or an error naming the layer.
    fn op_of(&self, layer: usize, choice: u32) -> Result<usize> {
        self.ops
            .get(choice as usize)
            .copied()
            .ok_or_else(|| Error::UnknownCandidate {
                space: ENTRY.name.into(),
                layer,
                choice,
                candidates: self.ops.len(),
            })
    }

    fn layer(
        &self,
        op: usize,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> candle_core::Result<ChainLayer> {
        Ok(ChainLayer {
            op: EdgeOp::new(op, self.channels, vb, counter)?,
            residual: self.residual,
        })
    }

    /// `(macs, params, weight params)` of op `op` in one layer.
    fn op_cost(&self, op: usize) -> (u64, u64, u64) {
        let [_, h, w] = self.input;
        match op_conv(op, self.channels) {
            Some(spec) => (
                spec.macs(h, w),
                spec.params() + batch_norm_params(spec.c_out),
                spec.weight_params(),
            ),
            None => (0, 0, 0),
        }
    }

    /// Builds the network; convolutions and the classifier add their MACs
    /// to `counter` on every forward pass (for checking analytic counts).
    pub fn build_counted(
        &self,
        arch: &Arch,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<LayerwiseNetwork<ChainLayer>> {
        self.check(arch)?;
        let ops = arch
            .choices()
            .iter()
            .enumerate()
            .map(|(i, &c)| self.op_of(i, c))
            .collect::<Result<Vec<_>>>()?;
        Ok(LayerwiseNetwork::new(
            &self.frame(),
            ops.len(),
            vb,
            counter,
            |i, vb| self.layer(ops[i], vb, counter),
        )?)
    }
}

fn op_index(name: &str) -> usize {
    OPS.iter().position(|&o| o == name).unwrap_or(0)
}

/// Parses `ops=`: comma-separated chain ops, each at most once, two or more.
fn parse_ops(text: &str) -> Result<Vec<usize>> {
    let bad = |reason: String| Error::Option {
        space: ENTRY.name.into(),
        key: "ops".into(),
        reason,
    };
    let mut ops = Vec::new();
    for name in text.split(',').map(str::trim) {
        if name == "none" {
            return Err(bad(
                "`none` cannot be a chain layer: a zero layer disconnects the classifier".into(),
            ));
        }
        if !CHAIN_OPS.contains(&name) {
            return Err(bad(format!(
                "unknown op `{name}`; valid ops: {}",
                CHAIN_OPS.join(", ")
            )));
        }
        let op = op_index(name);
        if ops.contains(&op) {
            return Err(bad(format!("op `{name}` is listed twice")));
        }
        ops.push(op);
    }
    if ops.len() < 2 {
        return Err(bad("list at least two ops".into()));
    }
    Ok(ops)
}

impl SearchSpace for ChainSpace {
    fn name(&self) -> &str {
        ENTRY.name
    }

    fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    fn format(&self, arch: &Arch) -> String {
        format_layers(&self.decisions, arch)
    }

    fn parse(&self, text: &str) -> nasarena_core::Result<Arch> {
        parse_layers(ENTRY.name, &self.decisions, text)
    }

    fn macs(&self, arch: &Arch) -> Option<u64> {
        self.cost(arch).ok().map(|c| c.macs)
    }
}

impl Realize for ChainSpace {
    fn input_shape(&self) -> [usize; 3] {
        self.input
    }

    fn classes(&self) -> usize {
        self.classes
    }

    fn cost(&self, arch: &Arch) -> Result<CostReport> {
        self.check(arch)?;
        let [_, h, w] = self.input;
        let stem = self.stem();
        let part = |name: String, candidate: &str, macs, params| LayerCost {
            name,
            candidate: candidate.to_string(),
            macs,
            params,
        };
        let mut layers = vec![part(
            "stem".into(),
            "conv3x3+bn",
            stem.macs(h, w),
            stem.params() + batch_norm_params(self.channels),
        )];
        let mut weights = stem.weight_params();
        for (i, &choice) in arch.choices().iter().enumerate() {
            let op = self.op_of(i, choice)?;
            let (macs, params, weight_params) = self.op_cost(op);
            weights += weight_params;
            layers.push(part(format!("layer{i}"), OPS[op], macs, params));
        }
        let head = self.head();
        weights += head.weight_params();
        layers.push(part(
            "head".into(),
            "conv1x1+bn",
            head.macs(h, w),
            head.params() + batch_norm_params(self.channels),
        ));
        let fc = self.channels as u64 * self.classes as u64;
        layers.push(part(
            "fc".into(),
            "linear",
            fc,
            Linear::params(self.channels, self.classes),
        ));
        Ok(CostReport::from_layers(layers, weights + fc))
    }

    fn candidate_macs(&self) -> Result<Vec<Vec<u64>>> {
        let row: Vec<u64> = self.ops.iter().map(|&op| self.op_cost(op).0).collect();
        Ok(vec![row; self.decisions.len()])
    }

    fn build(&self, arch: &Arch, vb: VarBuilder) -> Result<Box<dyn Network>> {
        Ok(Box::new(self.build_counted(arch, vb, None)?))
    }

    fn build_supernet(&self, vb: VarBuilder) -> Result<Box<dyn crate::Supernet>> {
        let [_, h, w] = self.input;
        let names: Vec<&str> = self.ops.iter().map(|&o| OPS[o]).collect();
        Ok(Box::new(LayerwiseSupernet::new(
            ENTRY.name,
            &self.frame(),
            vec![[self.channels, h, w]; self.decisions.len()],
            &names,
            vb,
            None,
            |_, o, vb| self.layer(self.ops[o], vb, None),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::SeededInit;
    use candle_core::{DType, Device};
    use nasarena_core::Seed;

    fn space(items: &[&str]) -> Result<ChainSpace> {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        ChainSpace::from_options(SpaceOptions::parse("chain", &items)?)
    }

    #[test]
    fn counted_macs_and_params_equal_the_analytic_cost() {
        let s = space(&["layers=4", "channels=8"]).expect("space");
        let arch = s
            .parse("nor_conv_3x3,skip_connect,avg_pool_3x3,nor_conv_1x1")
            .expect("parse");
        let cost = s.cost(&arch).expect("cost");
        // stem 28*28*8*9 + conv3x3 28*28*8*8*9 + conv1x1 28*28*8*8 + head
        // conv1x1 28*28*8*8 + fc 80.
        assert_eq!(cost.macs, 56_448 + 451_584 + 50_176 + 50_176 + 80);
        let counter = MacCounter::new();
        let vm = candle_nn::VarMap::new();
        let vb = SeededInit::var_builder(&vm, Seed(1), &Device::Cpu);
        let net = s.build_counted(&arch, vb, Some(&counter)).expect("build");
        let x = Tensor::zeros((1, 1, 28, 28), DType::F32, &Device::Cpu).expect("x");
        net.forward_t(&x, false).expect("forward");
        assert_eq!(counter.total(), cost.macs);
        assert_eq!(crate::layers::trainable_params(&vm), cost.params);
    }

    #[test]
    fn genotypes_round_trip_and_bad_ones_name_the_layer() {
        let s = space(&["layers=2", "ops=skip_connect,nor_conv_3x3"]).expect("space");
        let arch = s.parse("nor_conv_3x3, skip_connect").expect("parse");
        assert_eq!(arch.choices(), [1, 0]);
        assert_eq!(s.format(&arch), "nor_conv_3x3,skip_connect");
        let err = s
            .parse("nor_conv_3x3,avg_pool_3x3")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("layer 1") && err.contains("avg_pool_3x3"),
            "{err}"
        );
    }

    #[test]
    fn bad_ops_are_refused_with_the_reason() {
        let err = space(&["ops=none,nor_conv_3x3"]).unwrap_err().to_string();
        assert!(
            err.contains("`ops`") && err.contains("disconnects"),
            "{err}"
        );
        let err = space(&["ops=nor_conv_3x3"]).unwrap_err().to_string();
        assert!(err.contains("at least two"), "{err}");
        let err = space(&["ops=conv9"]).unwrap_err().to_string();
        assert!(
            err.contains("conv9") && err.contains("skip_connect"),
            "{err}"
        );
        let err = space(&["depth=3"]).unwrap_err().to_string();
        assert!(err.contains("depth") && err.contains("layers"), "{err}");
    }

    #[test]
    fn the_supernet_runs_every_layer_mixed() {
        let s = space(&["layers=3", "channels=4"]).expect("space");
        let vm = candle_nn::VarMap::new();
        let vb = SeededInit::var_builder(&vm, Seed(2), &Device::Cpu);
        let net = s.build_supernet(vb).expect("supernet");
        let x = Tensor::ones((2, 1, 28, 28), DType::F32, &Device::Cpu).expect("x");
        let w = Tensor::full(0.25f32, (2, 4), &Device::Cpu).expect("w");
        let logits = net
            .forward_mixed(&x, &[w.clone(), w.clone(), w], false)
            .expect("forward");
        assert_eq!(logits.dims(), [2, 10]);
    }

    /// With one-hot weights (soft and hard), the residual supernet
    /// computes the stand-alone residual chain of that choice (whose
    /// weights it is given), `x + op(x)` per layer, and a `skip_connect`
    /// layer doubles its input.
    #[test]
    fn residual_supernet_with_one_hot_weights_is_the_residual_chain() {
        let s = space(&[
            "layers=2",
            "channels=4",
            "ops=skip_connect,nor_conv_3x3",
            "residual=true",
        ])
        .expect("space");
        let x = Tensor::arange(0f32, 2.0 * 784.0, &Device::Cpu)
            .and_then(|t| t.reshape((2, 1, 28, 28)))
            .and_then(|t| t.affine(1e-3, -0.5))
            .expect("x");
        let vm = candle_nn::VarMap::new();
        let supernet = s
            .build_supernet(SeededInit::var_builder(&vm, Seed(4), &Device::Cpu))
            .expect("supernet");
        // The stand-alone chain `nor_conv_3x3,skip_connect` with the
        // supernet's weights: layer 0 reads `layers.0.nor_conv_3x3.*`.
        let standalone_vm = candle_nn::VarMap::new();
        let arch = s.parse("nor_conv_3x3,skip_connect").expect("parse");
        let net = s
            .build(
                &arch,
                SeededInit::var_builder(&standalone_vm, Seed(9), &Device::Cpu),
            )
            .expect("network");
        let from = vm.data().lock().expect("lock");
        for (name, var) in standalone_vm.data().lock().expect("lock").iter() {
            let source = name.replace("layers.0.", "layers.0.nor_conv_3x3.");
            var.set(
                from.get(&source)
                    .unwrap_or_else(|| panic!("{source}"))
                    .as_tensor(),
            )
            .expect("copy");
        }
        drop(from);
        let want = net.forward_t(&x, true).expect("network forward");
        let conv = Tensor::new(&[[0f32, 1.0], [0.0, 1.0]], &Device::Cpu).expect("w");
        let skip = Tensor::new(&[[1f32, 0.0], [1.0, 0.0]], &Device::Cpu).expect("w");
        for hard in [false, true] {
            let got = supernet
                .forward_mixed(&x, &[conv.clone(), skip.clone()], hard)
                .expect("supernet forward");
            let diff = (&got - &want)
                .and_then(|d| d.abs())
                .and_then(|d| d.max_all())
                .and_then(|d| d.to_scalar::<f32>())
                .expect("diff");
            assert!(diff < 1e-5, "hard={hard}: differs by {diff}");
        }
        let err = space(&["residual=yes"]).unwrap_err().to_string();
        assert!(err.contains("`true` or `false`, got `yes`"), "{err}");
    }
}
