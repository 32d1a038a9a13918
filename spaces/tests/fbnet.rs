//! Whole-network checks of the fbnet spaces: the paper's published
//! networks, options, and built networks against the analytic counts.

mod common;

use candle_core::{DType, Device, Tensor};
use nasarena_core::{Arch, SearchSpace, Seed};
use nasarena_spaces::fbnet::presets::{self, PUBLISHED};
use nasarena_spaces::layers::{trainable_params, MacCounter};
use nasarena_spaces::{build_space, FbnetSpace, Network, Realize, SeededInit, SpaceOptions};

fn space(name: &str, opts: &[&str]) -> nasarena_spaces::Result<Box<dyn Realize>> {
    let items: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    build_space(name, SpaceOptions::parse(name, &items)?)
}

/// The paper's FBNet-A/B/C FLOPs (Wu et al. 2019, Table 2: 249M, 295M,
/// 375M) within 1%, with the paper's head width for each.
#[test]
fn published_networks_match_the_paper_within_one_percent() {
    for (name, genotype, head, paper_m) in PUBLISHED {
        let head_opt = format!("head={head}");
        let s = space("fbnet", &[&head_opt]).expect("space");
        let arch = s.parse(genotype).expect("genotype");
        let report = s.cost(&arch).expect("cost");
        let paper = paper_m as f64 * 1e6;
        let rel = (report.macs as f64 - paper).abs() / paper;
        println!(
            "{name}: {} MACs ({:+.2}% vs paper {paper_m}M), {} params",
            report.macs,
            100.0 * (report.macs as f64 / paper - 1.0),
            report.params
        );
        // FBNet-C: every public definition of it (mobile-vision fbnet_v2,
        // the earlier `block_op_type` definition, timm's fbnetc_100) has
        // this genotype, and under the paper's block it costs 384.96M, 2.7%
        // above the paper's 375M; see the report in `presets`.
        let tolerance = if name == "FBNet-C" { 0.03 } else { 0.01 };
        assert!(rel < tolerance, "{name}: {} vs {paper}", report.macs);
        assert_eq!(s.macs(&arch), Some(report.macs));
    }
}

#[test]
fn published_networks_exact_figures() {
    let exact = |genotype: &str, head: usize| {
        let opt = format!("head={head}");
        let s = space("fbnet", &[&opt]).expect("space");
        let report = s.cost(&s.parse(genotype).expect("genotype")).expect("cost");
        (report.macs, report.params)
    };
    assert_eq!(exact(presets::FBNET_A, 1504), (249_921_848, 4_321_464));
    assert_eq!(exact(presets::FBNET_B, 1984), (296_614_728, 4_813_048));
    assert_eq!(exact(presets::FBNET_C, 1984), (384_960_160, 5_572_200));
    let (mv_b, _) = exact(presets::FBNET_B_MOBILE_VISION, 1984);
    assert_eq!(mv_b, 306_210_888);
}

/// Exact figures, so that any change to the counting is noticed.
#[test]
fn published_networks_exact_counts() {
    let s = FbnetSpace::paper();
    let arch = s.parse(presets::FBNET_C).expect("genotype");
    let report = s.cost(&arch).expect("cost");
    assert_eq!(report.layers.len(), 22 + 3);
    assert_eq!(report.layers[0].name, "stem");
    assert_eq!(report.layers[0].macs, 112 * 112 * 16 * 27);
    assert_eq!(report.layers[23].macs, 7 * 7 * 352 * 1984);
    assert_eq!(report.layers[24].macs, 1984 * 1000);
    let sum: u64 = report.layers.iter().map(|l| l.macs).sum();
    assert_eq!(sum, report.macs);
    assert!(report.weight_params < report.params);
}

#[test]
fn candidate_table_matches_costs() {
    let s = FbnetSpace::with_defaults(presets::SMALL_28);
    let table = s.candidate_macs().expect("table");
    assert_eq!(table.len(), 22);
    assert!(table.iter().all(|row| row.len() == 9));
    let mut rng = Seed(4).rng();
    for _ in 0..20 {
        let arch = s.sample(&mut rng);
        let report = s.cost(&arch).expect("cost");
        for (i, &c) in arch.choices().iter().enumerate() {
            assert_eq!(report.layers[i + 1].macs, table[i][c as usize]);
        }
    }
}

#[test]
fn options_change_the_network_and_errors_name_the_key() {
    let s = space("fbnet", &["input=1x28x28", "classes=10"]).expect("space");
    assert_eq!(s.input_shape(), [1, 28, 28]);
    assert_eq!(s.classes(), 10);
    let small = space("fbnet-28", &[]).expect("fbnet-28");
    assert_eq!(small.input_shape(), [1, 28, 28]);
    let wide = space("fbnet-28", &["width=1.0", "head=1984"]).expect("wide");
    let arch = small.parse(presets::FBNET_C).expect("arch");
    assert!(wide.cost(&arch).expect("c").macs > small.cost(&arch).expect("c").macs);
    for (opt, key) in [
        ("width=0", "width"),
        ("width=9", "width"),
        ("head=-1", "head"),
        ("input=3x224", "input"),
        ("drop_strides=6", "drop_strides"),
        ("depth=3", "depth"),
    ] {
        let err = space("fbnet", &[opt]).unwrap_err().to_string();
        assert!(err.contains(&format!("`{key}`")), "{opt}: {err}");
    }
}

#[test]
fn parse_errors_name_the_layer_and_candidates() {
    let s = FbnetSpace::paper();
    let mut names: Vec<&str> = presets::FBNET_B.split(',').collect();
    names[7] = "k7_e6";
    let err = s.parse(&names.join(",")).unwrap_err().to_string();
    assert!(err.contains("layer 7") && err.contains("`k7_e6`"), "{err}");
    assert!(err.contains("k3_e1, k3_e1_g2, k3_e3"), "{err}");
    let err = s.parse("k3_e1,k3_e1").unwrap_err().to_string();
    assert!(
        err.contains("expected 22") && err.contains("got 2"),
        "{err}"
    );
    assert!(s.check(&Arch::new(vec![9; 22])).is_err());
    assert!(s.cost(&Arch::new(vec![0; 21])).is_err());
}

/// Builds a network, runs one batch, and compares the trainable
/// parameters and the MACs counted while running with the analytic counts.
fn check_built(space: &FbnetSpace, arch: &Arch, seed: u64) {
    let varmap = candle_nn::VarMap::new();
    let vb = SeededInit::var_builder(&varmap, Seed(seed), &Device::Cpu);
    let counter = MacCounter::new();
    let net = space
        .build_counted(arch, vb, Some(&counter))
        .expect("build");
    let report = space.cost(arch).expect("cost");
    assert_eq!(
        trainable_params(&varmap),
        report.params,
        "{}",
        space.format(arch)
    );
    let [c, h, w] = space.input_shape();
    let x = Tensor::ones((2, c, h, w), DType::F32, &Device::Cpu).expect("x");
    let y = net.forward_t(&x, true).expect("forward");
    assert_eq!(y.dims(), &[2, space.classes()]);
    assert_eq!(counter.total(), report.macs, "{}", space.format(arch));
    let values: Vec<f32> = y.flatten_all().and_then(|t| t.to_vec1()).expect("values");
    assert!(values.iter().all(|v| v.is_finite()));
}

#[test]
fn built_networks_match_analytic_counts() {
    let small = FbnetSpace::with_defaults(presets::SMALL_28);
    let mut rng = Seed(11).rng();
    for i in 0..3 {
        check_built(&small, &small.sample(&mut rng), i);
    }
    // Every candidate appears, including projection skips at stage starts
    // and grouped blocks with channel shuffle.
    let all_skip = small.parse(&vec!["skip"; 22].join(",")).expect("skips");
    check_built(&small, &all_skip, 7);
    let g2 = small.parse(&vec!["k5_e1_g2"; 22].join(",")).expect("g2");
    check_built(&small, &g2, 8);
    // Another input shape, width and head through the options.
    let items = ["input=3x20x24", "classes=7", "width=0.25", "head=64"].map(String::from);
    let opts = SpaceOptions::parse("fbnet", &items).expect("opts");
    let odd = FbnetSpace::new(presets::PAPER, opts).expect("space");
    check_built(&odd, &odd.sample(&mut rng), 9);
    // The paper's network (all five strides) on 28x28: maps shrink to 1x1.
    let items = ["input=1x28x28", "classes=10"].map(String::from);
    let opts = SpaceOptions::parse("fbnet", &items).expect("opts");
    let paper28 = FbnetSpace::new(presets::PAPER, opts).expect("space");
    assert_eq!(paper28.plan().head_hw, (1, 1));
    check_built(
        &paper28,
        &paper28.parse(presets::FBNET_C).expect("arch"),
        10,
    );
    // The trait's build gives the same network shape.
    let varmap = candle_nn::VarMap::new();
    let vb = SeededInit::var_builder(&varmap, Seed(1), &Device::Cpu);
    let arch = small.parse(presets::FBNET_A).expect("arch");
    small.build(&arch, vb).expect("build");
    assert_eq!(
        trainable_params(&varmap),
        small.cost(&arch).expect("cost").params
    );
}

#[test]
fn every_trainable_variable_gets_a_gradient() {
    // Shuffles, projections, residuals and the head all sit on the path
    // from the input to the loss: every weight, bias and BN affine
    // parameter receives a non-zero gradient.
    let small = FbnetSpace::with_defaults(presets::SMALL_28);
    let genotype = "k3_e1_g2,skip,k5_e1_g2,k3_e3,k5_e6,skip,k3_e1,k5_e3,k3_e6,\
        k5_e1_g2,skip,k3_e1_g2,k5_e1,skip,k3_e3,k5_e6,k3_e1_g2,k5_e1,skip,k3_e6,k5_e3,k5_e6";
    let arch = small.parse(genotype).expect("arch");
    let varmap = candle_nn::VarMap::new();
    let vb = SeededInit::var_builder(&varmap, Seed(5), &Device::Cpu);
    let net = small.build(&arch, vb).expect("build");
    let x = Tensor::arange(0f32, 4.0 * 784.0, &Device::Cpu)
        .and_then(|t| t.reshape((4, 1, 28, 28)))
        .and_then(|t| t.affine(1.0 / 3136.0, -0.5))
        .and_then(|t| t.sin())
        .expect("x");
    let y = net.forward_t(&x, true).expect("forward");
    let target = Tensor::new(&[1u32, 3, 5, 7], &Device::Cpu).expect("target");
    let loss = candle_nn::loss::cross_entropy(&y, &target).expect("loss");
    let grads = loss.backward().expect("backward");
    let checked = common::assert_every_variable_has_a_gradient(&varmap, &grads);
    assert!(checked > 100, "{checked} variables");
}

#[test]
fn same_seed_gives_identical_outputs() {
    let small = FbnetSpace::with_defaults(presets::SMALL_28);
    let arch = small.parse(presets::FBNET_B).expect("arch");
    let run = || {
        let varmap = candle_nn::VarMap::new();
        let vb = SeededInit::var_builder(&varmap, Seed(3), &Device::Cpu);
        let net = small.build(&arch, vb).expect("build");
        let x = Tensor::arange(0f32, 2.0 * 784.0, &Device::Cpu)
            .and_then(|t| t.reshape((2, 1, 28, 28)))
            .and_then(|t| t.affine(1.0 / 1568.0, -0.5))
            .expect("x");
        let y = net.forward_t(&x, false).expect("forward");
        y.flatten_all().and_then(|t| t.to_vec1::<f32>()).expect("y")
    };
    assert_eq!(run(), run());
}
