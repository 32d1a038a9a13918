//! The `cell` (NAS-Bench-201) space: counts, canonical classes, exact MACs
//! and parameters against the built network.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use nasarena_core::{Arch, SearchSpace, Seed};
use nasarena_spaces::cell::canonical::{all_cells, unique_cells};
use nasarena_spaces::layers::{trainable_params, MacCounter};
use nasarena_spaces::{CellSpace, Network, Realize, SeededInit, SpaceOptions};
use std::collections::BTreeSet;

fn space(opts: &[&str]) -> CellSpace {
    let items: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    CellSpace::from_options(SpaceOptions::parse("cell", &items).expect("options")).expect("space")
}

#[test]
fn fifteen_thousand_cells_six_thousand_unique() {
    let s = space(&[]);
    assert_eq!(s.cardinality() as u64, 15_625);
    let classes: BTreeSet<Arch> = all_cells().map(|a| s.canonical(&a)).collect();
    assert_eq!(all_cells().count(), 15_625);
    assert_eq!(classes.len(), 6_466);
    assert_eq!(unique_cells(), 6_466);
}

#[test]
fn paper_network_figures() {
    // All edges nor_conv_3x3, C=16, N=5, CIFAR-10: NAS-Bench-201's largest
    // network (about 220 M MACs and 1.53 M parameters in the benchmark).
    // By hand: every 3x3 cell conv costs 2,359,296 MACs at every stage
    // (32*32*16*16*9 = 16*16*32*32*9 = 8*8*64*64*9), 6 per cell x 15 cells
    // = 212,336,640; each reduction 1,179,648 + 2,359,296 + 131,072 =
    // 3,670,016; stem 32*32*16*27 = 442,368; linear 64*10 = 640.
    let s = space(&[]);
    let arch = s
        .parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
        .expect("parse");
    let cost = s.cost(&arch).expect("cost");
    assert_eq!(
        cost.macs,
        212_336_640 + 2 * 3_670_016 + 442_368 + 640,
        "{cost:?}"
    );
    assert_eq!(cost.params, 1_531_546, "{cost:?}");
    assert_eq!(cost.layers.iter().map(|l| l.macs).sum::<u64>(), cost.macs);
    // The candidate table agrees with the per-edge breakdown.
    let table = s.candidate_macs().expect("table");
    for (d, &c) in arch.choices().iter().enumerate() {
        assert_eq!(table[d][c as usize], cost.layers[1 + d].macs);
    }
}

#[test]
fn matches_nas_bench_201_published_costs() {
    // NATS-Bench `get_cost_info` on CIFAR-10 lists both of these cells at
    // 113.95137 MFLOPs and 0.802426 M parameters. Their FLOPs count the
    // classifier's 10 bias additions as well; our MACs (conv + linear
    // multiply-accumulates) are 10 fewer.
    let s = space(&[]);
    for text in [
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
        "|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    ] {
        let cost = s.cost(&s.parse(text).expect("parse")).expect("cost");
        assert_eq!(cost.params, 802_426, "{text}");
        assert_eq!(cost.macs + 10, 113_951_370, "{text}");
    }
}

fn random_archs(s: &CellSpace, n: u64) -> Vec<Arch> {
    (0..n)
        .map(|i| s.sample(&mut Seed(11).derive("cell-test", i).rng()))
        .collect()
}

#[test]
fn built_network_matches_analytic_params_and_macs() {
    for reduction in ["reduction=resnet", "reduction=shortcut"] {
        check_counted_costs(&space(&[
            "C=4",
            "N=2",
            "input=3x8x12",
            "classes=5",
            reduction,
        ]));
    }
}

#[test]
fn shortcut_reduction_drops_the_residual_convs() {
    let resnet = space(&["C=4", "N=1", "input=1x16x16"]);
    let shortcut = space(&["C=4", "N=1", "input=1x16x16", "reduction=shortcut"]);
    let arch = resnet
        .parse("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")
        .expect("parse");
    let (r, s) = (
        resnet.cost(&arch).expect("cost"),
        shortcut.cost(&arch).expect("cost"),
    );
    // Two ResNet blocks (4->8 at 16x16 -> 8x8, 8->16 at 8x8 -> 4x4): the
    // residual 3x3 convs and their BNs are what the shortcut form drops.
    let residual_params =
        (4 * 8 * 9 + 8 * 8 * 9 + 2 * 2 * 8) + (8 * 16 * 9 + 16 * 16 * 9 + 2 * 2 * 16);
    assert_eq!(r.params - s.params, residual_params);
    let residual_macs = (4 * 8 * 9 + 8 * 8 * 9) * 64 + (8 * 16 * 9 + 16 * 16 * 9) * 16;
    assert_eq!(r.macs - s.macs, residual_macs);
}

fn check_counted_costs(s: &CellSpace) {
    for arch in random_archs(s, 6) {
        let varmap = VarMap::new();
        let vb = SeededInit::var_builder(&varmap, Seed(3), &Device::Cpu);
        let counter = MacCounter::new();
        let net = s.build_counted(&arch, vb, Some(&counter)).expect("build");
        let cost = s.cost(&arch).expect("cost");
        assert_eq!(
            trainable_params(&varmap),
            cost.params,
            "{}",
            s.format(&arch)
        );
        let x = Tensor::ones((2, 3, 8, 12), DType::F32, &Device::Cpu).expect("x");
        let y = net.forward_t(&x, true).expect("forward");
        assert_eq!(y.dims(), &[2, 5]);
        assert_eq!(counter.total(), cost.macs, "{}", s.format(&arch));
    }
}

#[test]
fn paper_size_network_has_analytic_params() {
    let s = space(&[]);
    for arch in random_archs(&s, 3) {
        let varmap = VarMap::new();
        let vb = SeededInit::var_builder(&varmap, Seed(4), &Device::Cpu);
        let _net = s.build(&arch, vb).expect("build");
        assert_eq!(
            trainable_params(&varmap),
            s.cost(&arch).expect("cost").params
        );
    }
}

#[test]
fn options_are_checked() {
    let bad = |opts: &[&str]| {
        let items: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        CellSpace::from_options(SpaceOptions::parse("cell", &items).expect("parse"))
            .unwrap_err()
            .to_string()
    };
    assert!(bad(&["input=3x30x30"]).contains("divisible by 4"));
    assert!(bad(&["C=0"]).contains("`C`"));
    assert!(bad(&["depth=3"]).contains("accepted: C, N, input, classes, ops, reduction"));
    assert!(bad(&["reduction=pool"]).contains("expected `resnet` or `shortcut`, got `pool`"));
}

#[test]
fn every_parameter_gets_a_gradient() {
    let s = space(&["C=4", "N=1", "input=3x8x12"]);
    // Every op appears: pool, both convs, skip, none.
    let arch = s
        .parse("|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|")
        .expect("parse");
    let varmap = VarMap::new();
    let vb = SeededInit::var_builder(&varmap, Seed(8), &Device::Cpu);
    let net = s.build(&arch, vb).expect("build");
    let x = Tensor::arange(0f32, 2.0 * 3.0 * 96.0, &Device::Cpu)
        .and_then(|t| t.reshape((2, 3, 8, 12)))
        .and_then(|t| t.affine(0.01, -1.0))
        .expect("x");
    let loss = net
        .forward_t(&x, true)
        .and_then(|y| y.sqr())
        .and_then(|y| y.sum_all())
        .expect("loss");
    let grads = loss.backward().expect("backward");
    let data = varmap.data().lock().expect("varmap");
    for (name, var) in data.iter() {
        if nasarena_spaces::layers::is_buffer(name) {
            continue; // BN buffers, not trainable
        }
        let g = grads.get(var.as_tensor());
        assert!(g.is_some(), "no gradient for `{name}`");
    }
}
