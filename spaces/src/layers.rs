//! Building blocks shared by every space's networks: convolution, linear
//! and batch-norm layers that know their own geometry, so that MACs can be
//! counted while a network runs (the check that the analytic counts in
//! each space describe the network that is actually built).
//!
//! All convolutions go through [`Conv`], so a faster kernel for depthwise
//! and grouped convolution (nasarena-ops) is plugged in at one place.

use candle_core::{Module, ModuleT, Result, Tensor};
use candle_nn::VarBuilder;

// The geometry moved to `crate::geometry` (no candle); these names stay
// reachable here for code written against `layers::ConvSpec` and friends.
pub use crate::geometry::{batch_norm_params, ConvSpec, MacCounter};

/// A convolution from `nasarena_ops`: `(x, w, stride, padding, dilation, groups)`.
type ConvFn = fn(&Tensor, &Tensor, usize, usize, usize, usize) -> Result<Tensor>;

/// A convolution layer that knows its [`ConvSpec`].
#[derive(Clone, Debug)]
pub struct Conv {
    spec: ConvSpec,
    weight: Tensor,
    bias: Option<Tensor>,
    counter: Option<MacCounter>,
}

impl Conv {
    /// Appends the convolution reading node `x` (and its tensors) to a
    /// description.
    pub fn describe(&self, g: &mut crate::describe::Graph, x: usize) -> usize {
        let node = g.conv(x, &self.spec);
        g.tensor(node, "weight", &self.weight);
        if let Some(b) = &self.bias {
            g.tensor(node, "bias", b);
        }
        node
    }

    /// Creates the layer's variables under `vb` (`weight`, `bias`).
    pub fn new(spec: ConvSpec, vb: VarBuilder, counter: Option<&MacCounter>) -> Result<Self> {
        let shape = (
            spec.c_out,
            spec.c_in / spec.groups,
            spec.kernel,
            spec.kernel,
        );
        let weight = vb.get_with_hints(shape, "weight", candle_nn::init::DEFAULT_KAIMING_NORMAL)?;
        let bias = if spec.bias {
            let bound = 1.0 / ((spec.c_in / spec.groups * spec.kernel * spec.kernel) as f64).sqrt();
            let init = candle_nn::Init::Uniform {
                lo: -bound,
                up: bound,
            };
            Some(vb.get_with_hints(spec.c_out, "bias", init)?)
        } else {
            None
        };
        Ok(Conv {
            spec,
            weight,
            bias,
            counter: counter.cloned(),
        })
    }

    /// The layer's geometry.
    pub fn spec(&self) -> &ConvSpec {
        &self.spec
    }
}

impl Module for Conv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, nasarena_ops::grouped_conv2d)
    }
}

impl Conv {
    /// The convolution of `relu(x)`, the ReLU fused into the convolution
    /// where the CPU kernels can (NAS-Bench-201's ReLU-conv-BN).
    pub fn forward_relu_input(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, nasarena_ops::relu_conv2d)
    }

    /// Training-mode `bn(self(relu(x)))` with batch statistics as one op
    /// where the CPU kernels can ([`nasarena_ops::relu_conv_bn_train`]);
    /// the layer must have no bias.
    fn relu_conv_bn_train(
        &self,
        x: &Tensor,
        bn: &BatchNorm,
    ) -> Result<(Tensor, nasarena_ops::BnStats)> {
        let out = nasarena_ops::relu_conv_bn_train(
            x,
            &self.weight,
            self.params(),
            [&bn.weight, &bn.bias],
            bn.eps,
        )?;
        self.count_macs(x)?;
        Ok(out)
    }

    /// Training-mode `act(bn(self(x)))` with batch statistics as one op
    /// where the CPU kernels can ([`nasarena_ops::conv_bn_train`]), `act`
    /// a ReLU when `relu`; the layer must have no bias.
    fn conv_bn_train(
        &self,
        x: &Tensor,
        bn: &BatchNorm,
        relu: bool,
    ) -> Result<(Tensor, nasarena_ops::BnStats)> {
        let out = nasarena_ops::conv_bn_train(
            x,
            &self.weight,
            self.params(),
            [&bn.weight, &bn.bias],
            bn.eps,
            relu,
        )?;
        self.count_macs(x)?;
        Ok(out)
    }

    /// Inference-mode `act(bn(self(x)))` (of `relu(x)` when `relu_input`)
    /// as one op where the CPU kernels can
    /// ([`nasarena_ops::conv_bn_eval`]); the layer must have no bias.
    fn conv_bn_eval(
        &self,
        x: &Tensor,
        bn: &BatchNorm,
        relu: bool,
        relu_input: bool,
    ) -> Result<Tensor> {
        let coefficients = bn.eval_coefficients()?;
        let y = nasarena_ops::conv_bn_eval(
            x,
            &self.weight,
            self.params(),
            coefficients,
            relu,
            relu_input,
        )?;
        self.count_macs(x)?;
        Ok(y)
    }

    /// The hyper-parameters nasarena-ops takes.
    fn params(&self) -> nasarena_ops::ConvParams {
        let s = &self.spec;
        nasarena_ops::ConvParams {
            stride: s.stride,
            padding: s.padding,
            dilation: s.dilation,
            groups: s.groups,
        }
    }

    fn count_macs(&self, x: &Tensor) -> Result<()> {
        let (_, _, h, w) = x.dims4()?;
        self.count_macs_at(h, w);
        Ok(())
    }

    /// Counts the MACs of one pass over an `h x w` input.
    fn count_macs_at(&self, h: usize, w: usize) {
        if let Some(counter) = &self.counter {
            counter.add(self.spec.macs(h, w));
        }
    }

    fn forward_with(&self, x: &Tensor, conv: ConvFn) -> Result<Tensor> {
        let s = &self.spec;
        let y = conv(x, &self.weight, s.stride, s.padding, s.dilation, s.groups)?;
        self.count_macs(x)?;
        match &self.bias {
            Some(b) => y.broadcast_add(&b.reshape((1, s.c_out, 1, 1))?),
            None => Ok(y),
        }
    }
}

/// A fully connected layer that counts its MACs.
#[derive(Clone, Debug)]
pub struct Linear {
    inner: candle_nn::Linear,
    c_in: usize,
    c_out: usize,
    macs: u64,
    counter: Option<MacCounter>,
}

impl Linear {
    /// A linear layer `c_in -> c_out` with bias.
    pub fn new(
        c_in: usize,
        c_out: usize,
        vb: VarBuilder,
        counter: Option<&MacCounter>,
    ) -> Result<Self> {
        Ok(Linear {
            inner: candle_nn::linear(c_in, c_out, vb)?,
            c_in,
            c_out,
            macs: (c_in * c_out) as u64,
            counter: counter.cloned(),
        })
    }

    /// Appends the layer reading node `x` (and its tensors) to a
    /// description.
    pub fn describe(&self, g: &mut crate::describe::Graph, x: usize) -> usize {
        let node = g.push(crate::describe::Node::Linear {
            x,
            c_in: self.c_in,
            c_out: self.c_out,
        });
        g.tensor(node, "weight", self.inner.weight());
        if let Some(b) = self.inner.bias() {
            g.tensor(node, "bias", b);
        }
        node
    }

    /// Trainable parameters of a `c_in -> c_out` layer with bias.
    pub fn params(c_in: usize, c_out: usize) -> u64 {
        (c_in * c_out + c_out) as u64
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(counter) = &self.counter {
            counter.add(self.macs);
        }
        self.inner.forward(x)
    }
}

/// Batch norm with affine parameters (PyTorch defaults: eps 1e-5, momentum
/// 0.1, running variance updated with the unbiased batch variance); the
/// running statistics are buffers, not trainable parameters. On the CPU in
/// f32 it runs nasarena-ops' fused kernels (optionally with the following
/// ReLU fused in); elsewhere, or with the custom ops switched off,
/// candle-nn's composition.
#[derive(Clone, Debug)]
pub struct BatchNorm {
    running_mean: candle_core::Var,
    running_var: candle_core::Var,
    weight: Tensor,
    bias: Tensor,
    eps: f64,
    momentum: f64,
}

impl BatchNorm {
    /// Appends the layer reading node `x` (and its parameters and running
    /// statistics) to a description.
    pub fn describe(&self, g: &mut crate::describe::Graph, x: usize) -> usize {
        let node = g.push(crate::describe::Node::Bn {
            x,
            channels: self.weight.dims().first().copied().unwrap_or(0),
        });
        g.tensor(node, "weight", &self.weight);
        g.tensor(node, "bias", &self.bias);
        g.tensor(node, "running_mean", self.running_mean.as_tensor());
        g.tensor(node, "running_var", self.running_var.as_tensor());
        node
    }

    /// Normalises `x` (batch statistics when `train`, running ones
    /// otherwise), then applies ReLU when `relu`.
    pub fn forward_act(&self, x: &Tensor, train: bool, relu: bool) -> Result<Tensor> {
        if !self.runs_fused(x) {
            let bn = candle_nn::BatchNorm::new_with_momentum(
                self.weight.dim(0)?,
                self.running_mean.as_tensor().clone(),
                self.running_var.as_tensor().clone(),
                self.weight.clone(),
                self.bias.clone(),
                self.eps,
                self.momentum,
            )?;
            let y = bn.forward_t(x, train)?;
            return if relu { nasarena_ops::relu(&y) } else { Ok(y) };
        }
        if train {
            let (y, stats) =
                nasarena_ops::batch_norm_train(x, &self.weight, &self.bias, self.eps, relu)?;
            self.update_running(&stats)?;
            Ok(y)
        } else {
            let (scale, shift) = self.eval_coefficients()?;
            nasarena_ops::batch_norm_eval(x, scale, shift, relu)
        }
    }

    /// Inference mode's per-channel `(scale, shift)`: `gamma / sqrt(var +
    /// eps)` and `beta - mean * scale` over the running statistics.
    fn eval_coefficients(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let mean: Vec<f32> = self.running_mean.as_tensor().to_vec1()?;
        let var: Vec<f32> = self.running_var.as_tensor().to_vec1()?;
        let gamma: Vec<f32> = self.weight.to_vec1()?;
        let beta: Vec<f32> = self.bias.to_vec1()?;
        let scale: Vec<f32> = gamma
            .iter()
            .zip(&var)
            .map(|(g, v)| g / (v + self.eps as f32).sqrt())
            .collect();
        let shift: Vec<f32> = (0..scale.len())
            .map(|i| beta[i] - mean[i] * scale[i])
            .collect();
        Ok((scale, shift))
    }

    /// Whether `x` is normalised by nasarena-ops' fused kernels.
    fn runs_fused(&self, x: &Tensor) -> bool {
        nasarena_ops::custom_ops()
            && x.device().is_cpu()
            && x.dtype() == candle_core::DType::F32
            && x.rank() == 4
    }

    /// `running = (1 - momentum) * running + momentum * batch`, with the
    /// unbiased batch variance (PyTorch's rule).
    fn update_running(&self, stats: &nasarena_ops::BnStats) -> Result<()> {
        let m = self.momentum as f32;
        let unbias = if stats.count > 1 {
            stats.count as f32 / (stats.count - 1) as f32
        } else {
            1.0
        };
        let rm: Vec<f32> = self.running_mean.as_tensor().to_vec1()?;
        let rv: Vec<f32> = self.running_var.as_tensor().to_vec1()?;
        let new_mean: Vec<f32> = rm
            .iter()
            .zip(&stats.mean)
            .map(|(r, b)| (1.0 - m) * r + m * b)
            .collect();
        let new_var: Vec<f32> = rv
            .iter()
            .zip(&stats.var)
            .map(|(r, b)| (1.0 - m) * r + m * b * unbias)
            .collect();
        let dev = self.running_mean.device();
        let n = new_mean.len();
        self.running_mean
            .set(&Tensor::from_vec(new_mean, n, dev)?)?;
        self.running_var.set(&Tensor::from_vec(new_var, n, dev)?)?;
        Ok(())
    }
}

impl candle_core::ModuleT for BatchNorm {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_act(x, train, false)
    }
}

/// A [`BatchNorm`] over `channels` with its variables under `vb`
/// (`running_mean`, `running_var`, `weight`, `bias`, as candle-nn names
/// them).
pub fn batch_norm(channels: usize, vb: VarBuilder) -> Result<BatchNorm> {
    use candle_nn::Init;
    let running_mean = vb.get_with_hints(channels, "running_mean", Init::Const(0.))?;
    let running_var = vb.get_with_hints(channels, "running_var", Init::Const(1.))?;
    let weight = vb.get_with_hints(channels, "weight", Init::Const(1.))?;
    let bias = vb.get_with_hints(channels, "bias", Init::Const(0.))?;
    Ok(BatchNorm {
        running_mean: candle_core::Var::from_tensor(&running_mean)?,
        running_var: candle_core::Var::from_tensor(&running_var)?,
        weight,
        bias,
        eps: 1e-5,
        momentum: 0.1,
    })
}

/// Convolution followed by batch norm, the unit almost every block uses.
#[derive(Clone, Debug)]
pub struct ConvBn {
    /// The convolution.
    pub conv: Conv,
    /// The batch norm after it.
    pub bn: BatchNorm,
}

impl ConvBn {
    /// Creates `conv` and `bn` under `vb`.
    pub fn new(spec: ConvSpec, vb: VarBuilder, counter: Option<&MacCounter>) -> Result<Self> {
        Ok(ConvBn {
            conv: Conv::new(spec, vb.pp("conv"), counter)?,
            bn: batch_norm(spec.c_out, vb.pp("bn"))?,
        })
    }

    /// Trainable parameters of a conv + BN with this spec.
    pub fn params(spec: &ConvSpec) -> u64 {
        spec.params() + batch_norm_params(spec.c_out)
    }

    /// Appends conv then BN reading node `x` to a description.
    pub fn describe(&self, g: &mut crate::describe::Graph, x: usize) -> usize {
        let c = self.conv.describe(g, x);
        self.bn.describe(g, c)
    }

    /// Conv then BN (batch statistics when `train`), both in one op where
    /// the fused kernels run.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.conv_bn(x, train, false)
    }

    /// Conv, BN, then ReLU when `relu`: one op where the fused kernels
    /// run, conv then BN (with the ReLU fused into it) elsewhere.
    fn conv_bn(&self, x: &Tensor, train: bool, relu: bool) -> Result<Tensor> {
        if !self.fuses(x) {
            return self.bn.forward_act(&self.conv.forward(x)?, train, relu);
        }
        if !train {
            return self.conv.conv_bn_eval(x, &self.bn, relu, false);
        }
        let (y, stats) = self.conv.conv_bn_train(x, &self.bn, relu)?;
        self.bn.update_running(&stats)?;
        Ok(y)
    }

    /// ReLU, conv, then BN (the ReLU fused into the conv where it can be;
    /// all three in one op where the fused kernels run).
    pub fn relu_forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if !self.fuses(x) {
            return self
                .bn
                .forward_act(&self.conv.forward_relu_input(x)?, train, false);
        }
        if !train {
            return self.conv.conv_bn_eval(x, &self.bn, false, true);
        }
        let (y, stats) = self.conv.relu_conv_bn_train(x, &self.bn)?;
        self.bn.update_running(&stats)?;
        Ok(y)
    }

    /// Conv, BN, then ReLU (all three in one op where the fused kernels
    /// run).
    pub fn forward_relu(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.conv_bn(x, train, true)
    }

    /// Whether conv and BN can run as one op on `x`: no bias, and the BN
    /// on nasarena-ops' kernels.
    fn fuses(&self, x: &Tensor) -> bool {
        self.conv.bias.is_none() && self.bn.runs_fused(x)
    }

    /// This conv-BN as a unit of [`nasarena_ops::conv_bn_chain_train`],
    /// a ReLU after the BN when `relu`.
    fn chain_unit(&self, relu: bool) -> nasarena_ops::ChainUnit<'_> {
        nasarena_ops::ChainUnit {
            weight: &self.conv.weight,
            params: self.conv.params(),
            gamma_beta: [&self.bn.weight, &self.bn.bias],
            eps: self.bn.eps,
            relu,
        }
    }
}

/// Training-mode chain of conv-BN units, each `(unit, relu after its
/// BN)`, with a channel shuffle over `shuffle_groups` groups after the
/// first unit (1 for none), as one op
/// ([`nasarena_ops::conv_bn_chain_train`]): the body of FBNet's blocks.
/// Updates every BN's running statistics and counts every convolution's
/// MACs. `None` where the units do not fuse (a conv with a
/// bias, or off the fused kernels' CPU path): the caller runs them one by
/// one.
pub fn conv_bn_chain_train(
    x: &Tensor,
    units: &[(&ConvBn, bool)],
    shuffle_groups: usize,
) -> Result<Option<Tensor>> {
    if !units.iter().all(|(unit, _)| unit.fuses(x)) {
        return Ok(None);
    }
    let chain: Vec<_> = units.iter().map(|(u, relu)| u.chain_unit(*relu)).collect();
    let (y, stats) = nasarena_ops::conv_bn_chain_train(x, &chain, shuffle_groups)?;
    let (_, _, mut h, mut w) = x.dims4()?;
    for ((unit, _), stats) in units.iter().zip(&stats) {
        unit.bn.update_running(stats)?;
        unit.conv.count_macs_at(h, w);
        (h, w) = (unit.conv.spec.out_size(h), unit.conv.spec.out_size(w));
    }
    Ok(Some(y))
}

/// Whether a VarMap entry is a BN running statistic: a buffer, not a
/// trainable parameter (PyTorch's `parameters()` excludes them too).
pub fn is_buffer(name: &str) -> bool {
    name.ends_with("running_mean") || name.ends_with("running_var")
}

/// The trainable variables of a VarMap (buffers excluded), sorted by name
/// so an optimiser's order never depends on hashing.
pub fn trainable_vars(varmap: &candle_nn::VarMap) -> Vec<candle_core::Var> {
    sorted_vars(varmap, |name, _| !is_buffer(name))
}

/// [`trainable_vars`] without the batch norms' affine scale and shift (the
/// `weight` and `bias` beside a `running_mean`), which then stay at their
/// initial 1 and 0: batch norm without affine parameters, as DARTS
/// searches (Liu et al. 2019, appendix A.1.1).
pub fn trainable_vars_without_bn_affine(varmap: &candle_nn::VarMap) -> Vec<candle_core::Var> {
    sorted_vars(varmap, |name, all| {
        let is_bn_affine = ["weight", "bias"].iter().any(|p| {
            name.strip_suffix(p)
                .is_some_and(|prefix| all.contains_key(&format!("{prefix}running_mean")))
        });
        !is_buffer(name) && !is_bn_affine
    })
}

/// The variables `keep(name, all)` accepts, sorted by name.
fn sorted_vars(
    varmap: &candle_nn::VarMap,
    keep: impl Fn(&str, &std::collections::HashMap<String, candle_core::Var>) -> bool,
) -> Vec<candle_core::Var> {
    let Ok(data) = varmap.data().lock() else {
        return Vec::new();
    };
    let mut named: Vec<_> = data.iter().filter(|(name, _)| keep(name, &data)).collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    named.into_iter().map(|(_, v)| v.clone()).collect()
}

/// Trainable parameters in a VarMap: every variable except BN buffers.
pub fn trainable_params(varmap: &candle_nn::VarMap) -> u64 {
    trainable_vars(varmap)
        .iter()
        .map(|v| v.elem_count() as u64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededInit;
    use candle_core::Device;
    use nasarena_core::Seed;

    #[test]
    fn without_bn_affine_leaves_out_exactly_the_batch_norms_scale_and_shift() {
        let varmap = candle_nn::VarMap::new();
        let vb = SeededInit::var_builder(&varmap, Seed(1), &Device::Cpu);
        let spec = ConvSpec::new(3, 4, 3, 1);
        ConvBn::new(spec, vb.pp("block"), None).expect("conv-bn");
        batch_norm(4, vb.pp("lastact_bn")).expect("bn");
        let names = |vars: &[candle_core::Var]| -> Vec<Vec<usize>> {
            vars.iter().map(|v| v.dims().to_vec()).collect()
        };
        let all = trainable_vars(&varmap);
        let searched = trainable_vars_without_bn_affine(&varmap);
        // conv weight (4, 3, 3, 3) + two BNs' weight and bias (4 each).
        assert_eq!(all.len(), 5, "{:?}", names(&all));
        assert_eq!(names(&searched), vec![vec![4, 3, 3, 3]]);
    }

    #[test]
    fn counted_macs_and_params_match_specs() {
        let varmap = candle_nn::VarMap::new();
        let vb = SeededInit::var_builder(&varmap, Seed(1), &Device::Cpu);
        let counter = MacCounter::new();
        let spec = ConvSpec::new(4, 8, 3, 2).groups(2);
        let layer = ConvBn::new(spec, vb.pp("a"), Some(&counter)).expect("layer");
        let fc = Linear::new(8, 3, vb.pp("fc"), Some(&counter)).expect("fc");
        let x = Tensor::ones((2, 4, 9, 9), candle_core::DType::F32, &Device::Cpu).expect("x");
        let y = layer.forward_t(&x, true).expect("conv");
        assert_eq!(y.dims(), &[2, 8, 5, 5]);
        let pooled = y.mean((2, 3)).expect("pool");
        fc.forward(&pooled).expect("fc");
        assert_eq!(counter.total(), spec.macs(9, 9) + 24);
        assert_eq!(
            trainable_params(&varmap),
            ConvBn::params(&spec) + Linear::params(8, 3)
        );
    }
}
