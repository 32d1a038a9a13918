//! A test search space and a synthetic objective shared by the
//! conformance and learning tests and the overhead benchmark.
#![allow(dead_code)]

pub mod one_shot;

use nasarena_core::{
    check_ranges, Arch, BlackBoxStrategy, Budget, BudgetUnit, CoreError, Cost, Decision, Metrics,
    Observation, Outcome, Progress, SearchSpace,
};

/// Arities of the test space's decisions: deliberately uneven.
pub const ARITIES: &[usize] = &[2, 5, 3, 7, 4, 6, 2, 5, 8, 3, 4, 6];

/// A space with variable arity, a validity rule and analytic MACs.
///
/// * invalid: decisions 2 and 4 both choose option 0;
/// * canonical: when decision 0 is 0, decision 1 is irrelevant (set to 0);
/// * MACs: sum over decisions of (choice + 1) * 1000 * (position + 1).
#[derive(Debug)]
pub struct TestSpace {
    decisions: Vec<Decision>,
    counts_macs: bool,
}

impl TestSpace {
    pub fn new() -> Self {
        Self::with_macs(true)
    }

    /// `counts_macs: false` makes `macs` return None, like a space that
    /// cannot count analytically.
    pub fn with_macs(counts_macs: bool) -> Self {
        let decisions = ARITIES
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                let names: Vec<String> = (0..a).map(|j| format!("o{j}")).collect();
                let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
                Decision::new(format!("d{i}"), &refs)
            })
            .collect();
        TestSpace {
            decisions,
            counts_macs,
        }
    }
}

impl SearchSpace for TestSpace {
    fn name(&self) -> &str {
        "test"
    }
    fn decisions(&self) -> &[Decision] {
        &self.decisions
    }
    fn check(&self, arch: &Arch) -> nasarena_core::Result<()> {
        check_ranges("test", &self.decisions, arch)?;
        if arch.0[2] == 0 && arch.0[4] == 0 {
            return Err(CoreError::InvalidArch {
                space: "test".into(),
                reason: "d2 and d4 cannot both be o0".into(),
            });
        }
        Ok(())
    }
    fn canonical(&self, arch: &Arch) -> Arch {
        let mut c = arch.clone();
        if c.0.first() == Some(&0) && c.0.len() > 1 {
            c.0[1] = 0;
        }
        c
    }
    fn format(&self, arch: &Arch) -> String {
        arch.0
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
    fn parse(&self, text: &str) -> nasarena_core::Result<Arch> {
        let choices = text
            .split(',')
            .map(|t| t.trim().parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CoreError::Parse {
                space: "test".into(),
                position: "?".into(),
                reason: e.to_string(),
            })?;
        let arch = Arch::new(choices);
        self.check(&arch)?;
        Ok(arch)
    }
    fn macs(&self, arch: &Arch) -> Option<u64> {
        self.counts_macs.then(|| {
            arch.0
                .iter()
                .enumerate()
                .map(|(i, &c)| (u64::from(c) + 1) * 1000 * (i as u64 + 1))
                .sum()
        })
    }
}

/// A deterministic per-option score in [0, 1): a hash of (decision, option).
pub fn table(i: usize, j: u32) -> f64 {
    let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ u64::from(j).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 31)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The best option of each decision under `table`.
pub fn optimum() -> Arch {
    Arch::new(
        ARITIES
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                (0..a as u32)
                    .max_by(|&x, &y| table(i, x).total_cmp(&table(i, y)))
                    .unwrap_or(0)
            })
            .collect(),
    )
}

/// Synthetic validation accuracy: the mean of per-decision scores plus a
/// bonus for adjacent pairs that both hit the optimum (an interaction a
/// purely separable learner must still find). Maximal (1.0) at `optimum()`.
pub fn accuracy(arch: &Arch) -> f64 {
    let best = optimum();
    let n = ARITIES.len() as f64;
    let separable: f64 = arch
        .0
        .iter()
        .enumerate()
        .map(|(i, &c)| table(i, c) / table(i, best.0[i]))
        .sum::<f64>()
        / n;
    let hits: Vec<bool> = arch.0.iter().zip(&best.0).map(|(a, b)| a == b).collect();
    let pairs = hits.windows(2).filter(|w| w[0] && w[1]).count() as f64 / (n - 1.0);
    0.7 * separable + 0.3 * pairs
}

/// The observation the harness would produce; `failed` marks a failure.
pub fn observe(space: &TestSpace, trial: u64, arch: &Arch, failed: bool) -> Observation {
    let outcome = if failed {
        Outcome::Failed {
            reason: "synthetic failure".into(),
        }
    } else {
        let acc = accuracy(arch);
        Outcome::Evaluated(Metrics {
            val_accuracy: acc,
            val_loss: 1.0 - acc,
            val_accuracy_per_epoch: vec![acc],
            macs: space.macs(arch).unwrap_or(0),
            params: 0,
        })
    };
    Observation {
        trial,
        arch: arch.clone(),
        outcome,
        cost: Cost {
            evaluations: 1,
            ..Cost::default()
        },
    }
}

/// A progress snapshot for trial `t` of `total` evaluations.
pub fn progress(t: u64, total: u64) -> Progress {
    Progress {
        budget: Budget {
            unit: BudgetUnit::Evaluations,
            limit: total as f64,
        },
        spent: Cost {
            evaluations: t,
            ..Cost::default()
        },
    }
}

/// Trials per black-box run in the conformance and golden tests: enough
/// to leave every initial random phase (evolution `real2019` fills P = 100
/// first; the GA breeds from trial 50). The controller updates after every
/// tell, so 60 trials exercise it fully while keeping the LSTM presets (a
/// candle backward pass per tell) cheap.
pub fn trials(name: &str) -> u64 {
    match name {
        "evolution" | "ga" => 130,
        _ => 60,
    }
}

/// Runs trials `from..to` of ask/evaluate/tell; `fail(t)` marks failures.
/// Returns the proposals.
pub fn run(
    strategy: &mut dyn BlackBoxStrategy,
    space: &TestSpace,
    from: u64,
    to: u64,
    fail: impl Fn(u64) -> bool,
) -> Vec<Arch> {
    let mut proposals = Vec::new();
    for t in from..to {
        let proposal = strategy.ask(t, space, &progress(t, to)).expect("ask");
        let obs = observe(space, t, &proposal.arch, fail(t));
        strategy.tell(&obs).expect("tell");
        proposals.push(proposal.arch);
    }
    proposals
}
