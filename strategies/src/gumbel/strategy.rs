//! The `gumbel` one-shot strategy: architecture logits, their relaxation
//! into mixing weights, the (cost-aware) search loss and Adam on theta.

use super::relax::{gumbel_noise, probabilities, relax};
use super::schedule::{same_schedule, warmup_epochs};
use super::{CostLoss, GumbelConfig, Relaxation, NAME};
use crate::{Error, Result};
use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var};
use nasarena_core::{
    Alternation, Arch, CoreError, CostTable, EffectiveSchedule, MixingWeights, OneShotStrategy,
    RunShape, SearchSpace, Seed, SeedRng, StepContext,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Adam moments of theta, with a step count per logit (a logit without a
/// gradient in a step does not advance its bias correction).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Moments {
    /// Absent in states saved before per-logit counts: counting restarts.
    #[serde(default)]
    steps: Vec<Vec<u64>>,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

/// Everything that changes during a search, for save/restore.
#[derive(Serialize, Deserialize)]
struct SavedState {
    theta: Vec<Vec<f32>>,
    moments: Moments,
    rng: SeedRng,
    /// The run shape given to `plan_run`, if any: the schedule is computed
    /// again from it on restore (exactly, unlike floats read from JSON).
    #[serde(default)]
    shape: Option<RunShape>,
    /// The schedule as planned, to check that the configuration still
    /// gives the same one.
    #[serde(default)]
    schedule: Option<EffectiveSchedule>,
}

/// The `gumbel` strategy.
#[derive(Debug)]
pub struct Gumbel {
    cfg: GumbelConfig,
    theta: Vec<Var>,
    /// The fixed cost and `(arity, 1)` cost columns in COST units, one per
    /// decision.
    cost_columns: Option<(f64, Vec<Tensor>)>,
    moments: Moments,
    rng: SeedRng,
    planned: Option<(RunShape, EffectiveSchedule)>,
}

fn tensor_err(e: candle_core::Error) -> Error {
    Error::Tensor {
        strategy: NAME.into(),
        source: e,
    }
}

fn core_err(e: Error) -> CoreError {
    e.into()
}

impl Gumbel {
    /// A search over `space` with logits at `cfg.theta_init`, created on
    /// `device` (the device of the supernet the mixing weights feed);
    /// `costs` is needed by a cost-aware loss.
    pub fn new(
        cfg: GumbelConfig,
        seed: Seed,
        space: &dyn SearchSpace,
        costs: Option<&CostTable>,
        device: &Device,
    ) -> Result<Self> {
        cfg.validate()?;
        let arities: Vec<usize> = space.decisions().iter().map(|d| d.arity()).collect();
        let theta = arities
            .iter()
            .map(|&a| Var::from_vec(vec![cfg.theta_init; a], (1, a), device))
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(tensor_err)?;
        let cost_columns = match (cfg.cost_loss, costs) {
            (CostLoss::None, _) => None,
            (_, None) => {
                return Err(Error::config(
                    NAME,
                    "cost_loss",
                    format!("needs a per-candidate MAC table, which space `{}` does not provide; use cost_loss = {{ kind = \"none\" }}", space.name()),
                ))
            }
            (_, Some(table)) => Some(cost_columns(&cfg, table, &arities, device)?),
        };
        Ok(Gumbel {
            cfg,
            theta,
            cost_columns,
            moments: Moments::default(),
            rng: seed.derive("gumbel", 0).rng(),
            planned: None,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &GumbelConfig {
        &self.cfg
    }

    /// The schedule fixed by `plan_run` (or restored), if any.
    pub fn schedule(&self) -> Option<&EffectiveSchedule> {
        self.planned.as_ref().map(|(_, s)| s)
    }

    /// The learning rate of theta: the planned one, or the configured one
    /// before `plan_run`.
    pub fn arch_lr(&self) -> f64 {
        self.schedule()
            .and_then(|s| s.arch_lr)
            .unwrap_or(self.cfg.theta_optimizer.lr)
    }

    /// Expected cost per mixing row, `(rows, 1)`, in COST units.
    fn expected_cost(&self, mixing: &MixingWeights) -> candle_core::Result<Option<Tensor>> {
        let Some((fixed, columns)) = &self.cost_columns else {
            return Ok(None);
        };
        let mut total: Option<Tensor> = None;
        for (m, col) in mixing.per_decision.iter().zip(columns) {
            let c = m.matmul(col)?;
            total = Some(match total {
                Some(t) => (t + c)?,
                None => c,
            });
        }
        total.map(|t| t + *fixed).transpose()
    }

    fn tau(&self, ctx: &StepContext) -> f64 {
        self.cfg.tau.at(ctx.epoch, ctx.total_epochs)
    }

    /// One Adam step on decision `i` from its gradient `g`; logits whose
    /// gradient is exactly zero are left alone.
    fn adam_step(&mut self, i: usize, g: &Tensor, lr: f64) -> candle_core::Result<()> {
        let o = self.cfg.theta_optimizer;
        let theta = &self.theta[i];
        let g: Vec<f32> = g.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?;
        let mut w: Vec<f32> = theta.as_tensor().flatten_all()?.to_vec1()?;
        let (m, v, steps) = (
            &mut self.moments.m[i],
            &mut self.moments.v[i],
            &mut self.moments.steps[i],
        );
        let mut moved = false;
        for k in 0..w.len() {
            if g[k] == 0.0 {
                continue;
            }
            steps[k] += 1;
            let t = steps[k].min(i32::MAX as u64) as i32;
            let (c1, c2) = (1.0 - o.beta1.powi(t), 1.0 - o.beta2.powi(t));
            let grad = f64::from(g[k]) + o.weight_decay * f64::from(w[k]);
            m[k] = (o.beta1 * f64::from(m[k]) + (1.0 - o.beta1) * grad) as f32;
            v[k] = (o.beta2 * f64::from(v[k]) + (1.0 - o.beta2) * grad * grad) as f32;
            let update = lr * (f64::from(m[k]) / c1) / ((f64::from(v[k]) / c2).sqrt() + o.eps);
            w[k] -= update as f32;
            moved = true;
        }
        if moved {
            theta.set(&Tensor::from_vec(w, theta.shape(), theta.device())?)?;
        }
        Ok(())
    }
}

/// The cost table as `(arity, 1)` columns in COST units (relative to the
/// uniform mixture, or absolute with `cost_unit_macs`), after checking
/// that the logarithm of the multiplicative loss stays positive.
fn cost_columns(
    cfg: &GumbelConfig,
    table: &CostTable,
    arities: &[usize],
    device: &Device,
) -> Result<(f64, Vec<Tensor>)> {
    let fits = table.per_decision.len() == arities.len()
        && table
            .per_decision
            .iter()
            .zip(arities)
            .all(|(row, &a)| row.len() == a);
    if !fits {
        return Err(Error::SpaceMismatch {
            strategy: NAME.into(),
            reason: "the MAC table does not match the space's decisions".into(),
        });
    }
    let uniform = table.uniform();
    let scale = match cfg.cost_unit_macs {
        Some(unit) => unit,
        None if uniform > 0.0 => uniform / cfg.cost_reference,
        None => {
            return Err(Error::config(
                NAME,
                "cost_loss",
                "has nothing to weigh: every candidate and the fixed part of this cost table cost nothing; use cost_loss = { kind = \"none\" }",
            ))
        }
    };
    let smallest = table.cheapest();
    let multiplicative = matches!(cfg.cost_loss, CostLoss::Multiplicative { .. });
    if multiplicative && smallest <= 0.0 {
        return Err(Error::config(
            NAME,
            "cost_loss",
            "the cheapest architecture costs nothing in this cost table, so ln(COST) is undefined; use the additive loss (`kind = \"additive\"`)".to_string(),
        ));
    }
    if multiplicative && smallest / scale <= 1.0 {
        return Err(match cfg.cost_unit_macs {
            Some(_) => Error::config(
                NAME,
                "cost_unit_macs",
                format!("makes the cheapest architecture cost {} units; ln(COST) must stay positive, so use a unit below {smallest} (MACs, or nanoseconds with a latency table)", smallest / scale),
            ),
            None => Error::config(
                NAME,
                "cost_reference",
                format!("= {} makes the cheapest architecture cost {} (it costs {:.4} of the uniform mixture); ln(COST) must stay positive, so raise it above {}", cfg.cost_reference, smallest / scale, smallest / uniform, uniform / smallest),
            ),
        });
    }
    let columns = table
        .per_decision
        .iter()
        .map(|row| {
            let v: Vec<f32> = row.iter().map(|&m| (m as f64 / scale) as f32).collect();
            Tensor::from_vec(v, (row.len(), 1), device)
        })
        .collect::<candle_core::Result<Vec<_>>>()
        .map_err(tensor_err)?;
    Ok((table.fixed as f64 / scale, columns))
}

impl OneShotStrategy for Gumbel {
    fn name(&self) -> &str {
        NAME
    }

    fn arch_vars(&self) -> Vec<Var> {
        self.theta.clone()
    }

    fn trains_architecture(&self, ctx: &StepContext) -> bool {
        ctx.epoch >= warmup_epochs(self.cfg.warmup_fraction, ctx.total_epochs)
    }

    fn alternation(&self) -> Alternation {
        self.cfg.alternate
    }

    fn plan_run(&mut self, shape: &RunShape) -> nasarena_core::Result<EffectiveSchedule> {
        let schedule = self.cfg.plan(shape);
        if let Some((planned, existing)) = &self.planned {
            if planned != shape || !same_schedule(existing, &schedule) {
                return Err(core_err(Error::state(
                    NAME,
                    format!("the run was planned for {planned:?} but is now planned for {shape:?}; a resumed run must keep its shape"),
                )));
            }
            return Ok(existing.clone());
        }
        self.planned = Some((*shape, schedule.clone()));
        Ok(schedule)
    }

    fn mixing_weights(
        &mut self,
        ctx: &StepContext,
        batch: usize,
    ) -> nasarena_core::Result<MixingWeights> {
        let tau = self.tau(ctx);
        let rows = if self.cfg.per_image { batch.max(1) } else { 1 };
        let hard = self.cfg.relaxation == Relaxation::Hard;
        let mut per_decision = Vec::with_capacity(self.theta.len());
        for theta in &self.theta {
            let w = match self.cfg.relaxation {
                Relaxation::Softmax => relax(theta.as_tensor(), None, 1.0, false),
                _ => {
                    let arity = theta.dim(1).map_err(tensor_err).map_err(core_err)?;
                    let g = gumbel_noise(rows, arity, &mut self.rng);
                    Tensor::from_vec(g, (rows, arity), theta.device())
                        .and_then(|g| relax(theta.as_tensor(), Some(&g), tau, hard))
                }
            };
            per_decision.push(w.map_err(tensor_err).map_err(core_err)?);
        }
        Ok(MixingWeights { per_decision, hard })
    }

    fn search_loss(
        &self,
        task_loss: &Tensor,
        mixing: &MixingWeights,
    ) -> nasarena_core::Result<Tensor> {
        let loss = || -> candle_core::Result<Tensor> {
            let Some(cost) = self.expected_cost(mixing)? else {
                return Ok(task_loss.clone());
            };
            let cost = cost.mean_all()?;
            match self.cfg.cost_loss {
                CostLoss::None => Ok(task_loss.clone()),
                CostLoss::Multiplicative { alpha, beta } => {
                    let factor = (cost.log()?.powf(beta)? * alpha)?;
                    task_loss * factor
                }
                CostLoss::Additive { lambda } => task_loss + (cost * lambda)?,
            }
        };
        loss().map_err(tensor_err).map_err(core_err)
    }

    fn update_architecture(&mut self, grads: &GradStore) -> nasarena_core::Result<()> {
        if self.moments.m.len() != self.theta.len() {
            self.moments.m = self
                .theta
                .iter()
                .map(|t| vec![0.0; t.elem_count()])
                .collect();
            self.moments.v = self.moments.m.clone();
        }
        if self.moments.steps.len() != self.theta.len() {
            self.moments.steps = self.theta.iter().map(|t| vec![0; t.elem_count()]).collect();
        }
        let lr = self.arch_lr();
        for i in 0..self.theta.len() {
            let Some(g) = grads.get(self.theta[i].as_tensor()).cloned() else {
                continue;
            };
            self.adam_step(i, &g, lr)
                .map_err(tensor_err)
                .map_err(core_err)?;
        }
        Ok(())
    }

    fn derive(&self, space: &dyn SearchSpace) -> nasarena_core::Result<Arch> {
        let choices = self
            .theta
            .iter()
            .map(|t| {
                t.as_tensor()
                    .flatten_all()
                    .and_then(|v| v.argmax(0))
                    .and_then(|i| i.to_scalar::<u32>())
            })
            .collect::<candle_core::Result<Vec<u32>>>()
            .map_err(tensor_err)
            .map_err(core_err)?;
        let arch = Arch::new(choices);
        space.check(&arch)?;
        Ok(arch)
    }

    fn temperature(&self, ctx: &StepContext) -> Option<f64> {
        (self.cfg.relaxation != Relaxation::Softmax).then(|| self.tau(ctx))
    }

    fn distribution(&self) -> nasarena_core::Result<Vec<Vec<f64>>> {
        self.theta
            .iter()
            .map(|t| probabilities(t.as_tensor()))
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(tensor_err)
            .map_err(core_err)
    }

    fn derivation_samples(&self) -> usize {
        self.cfg.derive_samples
    }

    fn affine_batch_norm(&self) -> bool {
        self.cfg.affine_batch_norm
    }

    fn sample_architectures(
        &mut self,
        k: usize,
        space: &dyn SearchSpace,
    ) -> nasarena_core::Result<Vec<Arch>> {
        let dist = self.distribution()?;
        let mut archs = Vec::with_capacity(k);
        for _ in 0..k {
            let choices: Vec<u32> = dist
                .iter()
                .map(|p| {
                    let u: f64 = self.rng.random();
                    let mut acc = 0.0;
                    let last = p.len().saturating_sub(1);
                    p.iter()
                        .position(|&q| {
                            acc += q;
                            u < acc
                        })
                        .unwrap_or(last) as u32
                })
                .collect();
            let arch = Arch::new(choices);
            space.check(&arch)?;
            archs.push(arch);
        }
        Ok(archs)
    }

    fn save_state(&self) -> nasarena_core::Result<serde_json::Value> {
        let theta = self
            .theta
            .iter()
            .map(|t| t.as_tensor().flatten_all().and_then(|v| v.to_vec1::<f32>()))
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(tensor_err)
            .map_err(core_err)?;
        let state = SavedState {
            theta,
            moments: self.moments.clone(),
            rng: self.rng.clone(),
            shape: self.planned.as_ref().map(|(shape, _)| *shape),
            schedule: self.schedule().cloned(),
        };
        serde_json::to_value(&state).map_err(|e| core_err(Error::state(NAME, e)))
    }

    fn restore_state(&mut self, state: &serde_json::Value) -> nasarena_core::Result<()> {
        let saved: SavedState =
            serde_json::from_value(state.clone()).map_err(|e| core_err(Error::state(NAME, e)))?;
        if saved.theta.len() != self.theta.len()
            || saved
                .theta
                .iter()
                .zip(&self.theta)
                .any(|(s, t)| s.len() != t.elem_count())
        {
            return Err(core_err(Error::state(
                NAME,
                "saved logits do not fit this space",
            )));
        }
        let sizes: Vec<usize> = self.theta.iter().map(|t| t.elem_count()).collect();
        let fits = |rows: usize, len: &dyn Fn(usize) -> usize| {
            rows == 0 || (rows == sizes.len() && (0..rows).all(|i| len(i) == sizes[i]))
        };
        let mo = &saved.moments;
        if !fits(mo.m.len(), &|i| mo.m[i].len())
            || !fits(mo.v.len(), &|i| mo.v[i].len())
            || !fits(mo.steps.len(), &|i| mo.steps[i].len())
        {
            return Err(core_err(Error::state(
                NAME,
                "saved optimiser moments do not fit this space",
            )));
        }
        for (values, theta) in saved.theta.into_iter().zip(&self.theta) {
            Tensor::from_vec(values, theta.shape(), theta.device())
                .and_then(|t| t.to_dtype(DType::F32))
                .and_then(|t| theta.set(&t))
                .map_err(tensor_err)
                .map_err(core_err)?;
        }
        let planned = match saved.shape {
            Some(shape) => {
                let schedule = self.cfg.plan(&shape);
                if saved
                    .schedule
                    .as_ref()
                    .is_some_and(|s| !same_schedule(s, &schedule))
                {
                    return Err(core_err(Error::state(
                        NAME,
                        "the saved run's schedule differs from the one this configuration gives; was the configuration changed?",
                    )));
                }
                if self.planned.as_ref().is_some_and(|(p, _)| *p != shape) {
                    return Err(core_err(Error::state(
                        NAME,
                        "the saved run was planned for another run shape",
                    )));
                }
                Some((shape, schedule))
            }
            None => self.planned.take(),
        };
        self.moments = saved.moments;
        self.rng = saved.rng;
        self.planned = planned;
        Ok(())
    }
}
