//! Supernets against the stand-alone networks: hard one-hot mixing runs
//! exactly the chosen architecture (same MACs, same logits once the shared
//! weights are copied into the stand-alone network), soft mixing runs every
//! candidate, and mixed layers pass a finite-difference gradient check.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use nasarena_core::{Arch, SearchSpace, Seed};
use nasarena_spaces::fbnet::block::Slot;
use nasarena_spaces::fbnet::presets;
use nasarena_spaces::layers::MacCounter;
use nasarena_spaces::layerwise::SearchedLayer;
use nasarena_spaces::squeezenas::block::Candidate;
use nasarena_spaces::squeezenas::layer::SqueezeLayer;
use nasarena_spaces::squeezenas::variants;
use nasarena_spaces::supernet::{mix, one_hot_mixing, Supernet};
use nasarena_spaces::{CellSpace, FbnetSpace, Realize, SeededInit, SpaceOptions, SqueezeNasSpace};

fn cell_space() -> CellSpace {
    let opts: Vec<String> = ["C=4", "N=1", "input=1x12x12", "classes=5"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    CellSpace::from_options(SpaceOptions::parse("cell", &opts).expect("opts")).expect("space")
}

fn fbnet_space() -> FbnetSpace {
    let opts: Vec<String> = ["width=0.25", "input=1x16x16", "classes=5"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    FbnetSpace::new(
        presets::SMALL_28,
        SpaceOptions::parse("fbnet-28", &opts).expect("opts"),
    )
    .expect("space")
}

/// squeezenas-small's classification form on 1x32x32: stride-2 layers
/// (FactorizedReduce skips) at 16, 8 and 4 pixels.
fn squeezenas_space() -> SqueezeNasSpace {
    let opts: Vec<String> = ["head=classify", "input=1x32x32", "classes=5"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    SqueezeNasSpace::new(
        variants::SMALL,
        SpaceOptions::parse("squeezenas-small", &opts).expect("opts"),
    )
    .expect("space")
}

fn input(space: &dyn Realize, batch: usize) -> Tensor {
    let [c, h, w] = space.input_shape();
    let n = batch * c * h * w;
    let values: Vec<f32> = (0..n)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    Tensor::from_vec(values, (batch, c, h, w), &Device::Cpu).expect("input")
}

fn arities(space: &dyn SearchSpace) -> Vec<usize> {
    space.decisions().iter().map(|d| d.arity()).collect()
}

/// Copies every stand-alone variable's value into the supernet variable
/// that `rename` maps its name to.
fn copy_shared_weights(standalone: &VarMap, supernet: &VarMap, rename: impl Fn(&str) -> String) {
    let src = standalone.data().lock().expect("lock");
    let dst = supernet.data().lock().expect("lock");
    for (name, var) in src.iter() {
        let target = rename(name);
        let Some(dst_var) = dst.get(&target) else {
            panic!("supernet has no variable {target} for {name}");
        };
        dst_var.set(var.as_tensor()).expect("set");
    }
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("diff")
}

/// Inserts the candidate name after the `prefix{i}` path element that
/// `position` finds, e.g. `layers.3.pw.conv.weight` ->
/// `layers.3.k3_e6.pw.conv.weight`.
fn insert_after(name: &str, depth: usize, candidate: &str) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    let mut out: Vec<&str> = parts[..depth].to_vec();
    out.push(candidate);
    out.extend_from_slice(&parts[depth..]);
    out.join(".")
}

/// For random architectures of a layer-wise space (fbnet, squeezenas):
/// the supernet under one-hot hard mixing runs exactly the architecture's
/// MACs and, with the stand-alone network's weights copied into the chosen
/// candidates (`layers.{i}.*` -> `layers.{i}.{candidate}.*`), gives its
/// logits.
fn check_layerwise_one_hot(
    space: &dyn Realize,
    names: &[&str],
    build_supernet: impl Fn(&VarMap, u64, &MacCounter) -> Box<dyn Supernet>,
    seed: u64,
) {
    let mut rng = Seed(seed).rng();
    for round in 0..3 {
        let arch = space.sample(&mut rng);
        let sup_map = VarMap::new();
        let counter = MacCounter::new();
        let sup = build_supernet(&sup_map, round, &counter);
        let net_map = VarMap::new();
        let net = space
            .build(
                &arch,
                SeededInit::var_builder(&net_map, Seed(100 + round), &Device::Cpu),
            )
            .expect("net");
        copy_shared_weights(&net_map, &sup_map, |name| {
            if let Some(rest) = name.strip_prefix("layers.") {
                let layer: usize = rest
                    .split('.')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("layer");
                insert_after(name, 2, names[arch.choices()[layer] as usize])
            } else {
                name.to_string()
            }
        });
        let x = input(space, 4);
        let mixing = one_hot_mixing(arch.choices(), &arities(space), &Device::Cpu).expect("mix");
        let a = sup
            .forward_mixed(&x, &mixing, true)
            .expect("supernet forward");
        assert_eq!(
            counter.total(),
            space.cost(&arch).expect("cost").macs,
            "{}",
            space.format(&arch)
        );
        let b = net.forward_t(&x, true).expect("net forward");
        assert!(max_abs_diff(&a, &b) < 1e-4, "{}", space.format(&arch));
    }
}

#[test]
fn fbnet_one_hot_supernet_is_the_standalone_network() {
    let space = fbnet_space();
    let build = |map: &VarMap, round: u64, counter: &MacCounter| -> Box<dyn Supernet> {
        let vb = SeededInit::var_builder(map, Seed(round), &Device::Cpu);
        Box::new(
            space
                .build_supernet_counted(vb, Some(counter))
                .expect("supernet"),
        )
    };
    let names = nasarena_spaces::fbnet::block::CANDIDATES;
    check_layerwise_one_hot(&space, &names, build, 3);
}

#[test]
fn squeezenas_one_hot_supernet_is_the_standalone_network() {
    let space = squeezenas_space();
    let build = |map: &VarMap, round: u64, counter: &MacCounter| -> Box<dyn Supernet> {
        let vb = SeededInit::var_builder(map, Seed(round), &Device::Cpu);
        Box::new(
            space
                .build_supernet_counted(vb, Some(counter))
                .expect("supernet"),
        )
    };
    let names = nasarena_spaces::squeezenas::block::CANDIDATES;
    check_layerwise_one_hot(&space, &names, build, 4);
}

/// The segmentation supernet (head=segment, the decoder fixed) under
/// one-hot hard mixing is the built segmentation network: same MACs, same
/// per-pixel logits.
#[test]
fn squeezenas_segmentation_one_hot_supernet_is_the_standalone_network() {
    let opts: Vec<String> = ["input=1x32x32", "classes=4"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let space = SqueezeNasSpace::new(
        variants::SMALL,
        SpaceOptions::parse("squeezenas-small", &opts).expect("opts"),
    )
    .expect("space");
    assert_eq!(space.task(), nasarena_spaces::Task::Segmentation);
    let build = |map: &VarMap, round: u64, counter: &MacCounter| -> Box<dyn Supernet> {
        let vb = SeededInit::var_builder(map, Seed(round), &Device::Cpu);
        Box::new(
            space
                .build_segmentation_supernet_counted(vb, Some(counter))
                .expect("supernet"),
        )
    };
    let names = nasarena_spaces::squeezenas::block::CANDIDATES;
    check_layerwise_one_hot(&space, &names, build, 6);
    let sup = space
        .build_supernet(SeededInit::var_builder(
            &VarMap::new(),
            Seed(0),
            &Device::Cpu,
        ))
        .expect("Realize::build_supernet builds it for head=segment");
    let mixing = one_hot_mixing(
        space.sample(&mut Seed(1).rng()).choices(),
        &arities(&space),
        &Device::Cpu,
    )
    .expect("mix");
    let y = sup
        .forward_mixed(&input(&space, 2), &mixing, true)
        .expect("forward");
    assert_eq!(y.dims(), &[2, 4, 32, 32]);
}

#[test]
fn cell_one_hot_supernet_is_the_standalone_network() {
    let space = cell_space();
    let ops = nasarena_spaces::cell::genotype::OPS;
    let mut rng = Seed(5).rng();
    for round in 0..4 {
        let arch = space.sample(&mut rng);
        let sup_map = VarMap::new();
        let counter = MacCounter::new();
        let sup = space
            .build_supernet_counted(
                SeededInit::var_builder(&sup_map, Seed(round), &Device::Cpu),
                Some(&counter),
            )
            .expect("supernet");
        let net_map = VarMap::new();
        let net = space
            .build(
                &arch,
                SeededInit::var_builder(&net_map, Seed(50 + round), &Device::Cpu),
            )
            .expect("net");
        let edges = nasarena_spaces::cell::genotype::EDGES;
        copy_shared_weights(&net_map, &sup_map, |name| {
            let parts: Vec<&str> = name.split('.').collect();
            match parts.get(2).and_then(|p| p.strip_prefix("edge")) {
                Some(edge) => {
                    let (to, from) = edge.split_once('_').expect("edge name");
                    let key = (to.parse().expect("to"), from.parse().expect("from"));
                    let e = edges.iter().position(|&x| x == key).expect("edge");
                    insert_after(name, 3, ops[arch.choices()[e] as usize])
                }
                None => name.to_string(),
            }
        });
        let x = input(&space, 3);
        let mixing = one_hot_mixing(arch.choices(), &arities(&space), &Device::Cpu).expect("mix");
        let a = sup
            .forward_mixed(&x, &mixing, true)
            .expect("supernet forward");
        assert_eq!(
            counter.total(),
            space.cost(&arch).expect("cost").macs,
            "{}",
            space.format(&arch)
        );
        let b = net.forward_t(&x, true).expect("net forward");
        assert!(max_abs_diff(&a, &b) < 1e-4, "{}", space.format(&arch));
    }
}

/// Soft mixing runs every candidate: the counted MACs are the fixed part
/// plus every entry of the candidate table.
fn check_soft_mixing_runs_everything(
    space: &dyn Realize,
    sup: &dyn Supernet,
    counter: &MacCounter,
) {
    let table = space.candidate_macs().expect("table");
    let arch = Arch::new(vec![0; table.len()]);
    let fixed = space.cost(&arch).expect("cost").macs - table.iter().map(|row| row[0]).sum::<u64>();
    let uniform: Vec<Tensor> = arities(space)
        .iter()
        .map(|&a| Tensor::full(1.0 / a as f32, (1, a), &Device::Cpu).expect("w"))
        .collect();
    sup.forward_mixed(&input(space, 2), &uniform, false)
        .expect("forward");
    let all: u64 = table.iter().flatten().sum();
    assert_eq!(counter.total(), fixed + all);
}

#[test]
fn soft_mixing_runs_every_candidate() {
    let counter = MacCounter::new();
    let varmap = VarMap::new();
    let vb = SeededInit::var_builder(&varmap, Seed(1), &Device::Cpu);
    let fbnet = fbnet_space();
    let sup = fbnet
        .build_supernet_counted(vb, Some(&counter))
        .expect("supernet");
    check_soft_mixing_runs_everything(&fbnet, &sup, &counter);
    let counter = MacCounter::new();
    let vb = SeededInit::var_builder(&varmap, Seed(1), &Device::Cpu);
    let squeezenas = squeezenas_space();
    let sup = squeezenas
        .build_supernet_counted(vb.pp("squeezenas"), Some(&counter))
        .expect("supernet");
    check_soft_mixing_runs_everything(&squeezenas, &sup, &counter);
}

/// Central finite differences of the supernet's loss (sum of squared
/// logits) with respect to the mixing weights (soft, two per-image rows) of
/// the decisions in `checked`, against the autograd gradient.
fn check_mixing_gradient(space: &dyn Realize, sup: &dyn Supernet, checked: &[usize]) {
    let x = input(space, 2);
    let shapes: Vec<(usize, usize)> = arities(space).iter().map(|&a| (2, a)).collect();
    let base: Vec<Vec<f32>> = shapes
        .iter()
        .enumerate()
        .map(|(e, &(rows, a))| {
            (0..rows * a)
                .map(|i| 0.1 + ((e * 10 + i) * 7 % 13) as f32 / 20.0)
                .collect()
        })
        .collect();
    let tensors = |values: &[Vec<f32>]| -> Vec<Tensor> {
        values
            .iter()
            .zip(&shapes)
            .map(|(v, &shape)| Tensor::from_vec(v.clone(), shape, &Device::Cpu).expect("w"))
            .collect()
    };
    let loss = |values: &[Vec<f32>]| -> f64 {
        let y = sup
            .forward_mixed(&x, &tensors(values), false)
            .expect("forward");
        f64::from(
            y.sqr()
                .and_then(|t| t.sum_all())
                .and_then(|t| t.to_scalar::<f32>())
                .expect("loss"),
        )
    };
    let vars: Vec<Var> = tensors(&base)
        .iter()
        .map(|t| Var::from_tensor(t).expect("var"))
        .collect();
    let mixing: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = sup.forward_mixed(&x, &mixing, false).expect("forward");
    let grads = y
        .sqr()
        .and_then(|t| t.sum_all())
        .and_then(|t| t.backward())
        .expect("backward");
    // Small steps: BN over two images and ReLU kinks make the loss strongly
    // curved in some directions (1e-2 already leaves the linear regime).
    let eps = 1e-3f32;
    for &e in checked {
        let g: Vec<f32> = grads
            .get(vars[e].as_tensor())
            .expect("grad")
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .expect("g");
        for i in 0..base[e].len() {
            let mut plus = base.clone();
            plus[e][i] += eps;
            let mut minus = base.clone();
            minus[e][i] -= eps;
            let fd = (loss(&plus) - loss(&minus)) / (2.0 * f64::from(eps));
            // f32 arithmetic: a 5% band still catches a missing or wrong path.
            let tol = 5e-2 * fd.abs().max(1.0);
            assert!(
                (fd - f64::from(g[i])).abs() < tol,
                "decision {e} entry {i}: autograd {} vs finite difference {fd}",
                g[i]
            );
        }
    }
}

#[test]
fn mixing_gradient_matches_finite_differences() {
    let space = cell_space();
    let varmap = VarMap::new();
    let sup = space
        .build_supernet(SeededInit::var_builder(&varmap, Seed(9), &Device::Cpu))
        .expect("supernet");
    check_mixing_gradient(&space, sup.as_ref(), &[0, 1, 2, 3, 4, 5]);
}

/// One mixed squeezenas layer (all 13 candidates, two per-image rows):
/// the gradient of `sum(y^2)` with respect to the mixing weights against
/// central finite differences. Whole-supernet finite
/// differences are too curved here to test at f32 (20 layers of BN over
/// 2 images on 2x2 maps), so the layer is checked where its candidates
/// differ: at stride 2 (FactorizedReduce skip, 16 -> 24) and at stride 1
/// with the residual (identity skip, 24 -> 24).
#[test]
fn squeezenas_mixed_layer_gradient_matches_finite_differences() {
    let names = nasarena_spaces::squeezenas::block::CANDIDATES;
    for (round, slot) in [(16, 24, 2), (24, 24, 1)].into_iter().enumerate() {
        let (c_in, c_out, stride) = slot;
        let slot = Slot {
            c_in,
            c_out,
            stride,
            h: 6,
            w: 8,
        };
        let varmap = VarMap::new();
        let vb = SeededInit::var_builder(&varmap, Seed(round as u64), &Device::Cpu);
        let layer: Vec<SqueezeLayer> = (0..names.len())
            .map(|o| {
                let cand = Candidate::from_index(o).expect("candidate");
                SqueezeLayer::new(cand, &slot, vb.pp(names[o]), None).expect("layer")
            })
            .collect();
        let n = 2 * c_in * 6 * 8;
        let x0: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
            .collect();
        let w0: Vec<f32> = (0..26).map(|i| 0.1 + (i * 7 % 13) as f32 / 20.0).collect();
        let x = Tensor::from_vec(x0, (2, c_in, 6, 8), &Device::Cpu).expect("x");
        // Summed in f64, so rounding of the sum stays out of the differences.
        let run = |w: &Tensor| -> Tensor {
            mix(w, false, |o| layer[o].forward_t(&x, true).map(Some))
                .expect("mix")
                .expect("some")
                .to_dtype(DType::F64)
                .and_then(|t| t.sqr())
                .and_then(|t| t.sum_all())
                .expect("loss")
        };
        let loss = |w: &[f32]| -> f64 {
            let w = Tensor::from_vec(w.to_vec(), (2, 13), &Device::Cpu).expect("w");
            run(&w).to_scalar::<f64>().expect("scalar")
        };
        let w = Var::from_vec(w0.clone(), (2, 13), &Device::Cpu).expect("w");
        let grads = run(w.as_tensor()).backward().expect("backward");
        let gw: Vec<f32> = grads
            .get(w.as_tensor())
            .and_then(|g| g.flatten_all().ok())
            .and_then(|g| g.to_vec1().ok())
            .expect("gradient");
        for i in 0..26 {
            let (mut p, mut m) = (w0.clone(), w0.clone());
            p[i] += 1e-3;
            m[i] -= 1e-3;
            let fd = (loss(&p) - loss(&m)) / 2e-3;
            assert!(
                (fd - f64::from(gw[i])).abs() < 2e-2 * fd.abs().max(1.0),
                "{slot:?} mixing {i}: autograd {} vs finite difference {fd}",
                gw[i]
            );
        }
    }
}

#[test]
fn wrong_mixing_shape_is_an_error() {
    let space = cell_space();
    let varmap = VarMap::new();
    let sup = space
        .build_supernet(SeededInit::var_builder(&varmap, Seed(2), &Device::Cpu))
        .expect("supernet");
    let bad: Vec<Tensor> = (0..6)
        .map(|_| Tensor::ones((1, 4), DType::F32, &Device::Cpu).expect("w"))
        .collect();
    let err = sup
        .forward_mixed(&input(&space, 2), &bad, false)
        .expect_err("shape");
    assert!(err.to_string().contains("expected 1x5 or 2x5"), "{err}");
}
