//! Built SqueezeNAS encoders (classification form) against the analytic
//! counts: trainable parameters equal the analytic parameters, and the
//! MACs counted while the network runs equal the analytic MACs, for random
//! architectures of every variant and for the candidates that change shape
//! (FactorizedReduce, the 1x1 projection, grouped and dilated blocks).

mod common;

use candle_core::{DType, Device, Tensor};
use nasarena_core::{Arch, SearchSpace, Seed};
use nasarena_spaces::layers::{trainable_params, MacCounter};
use nasarena_spaces::squeezenas::variants::{self, Variant};
use nasarena_spaces::{Network, Realize, SeededInit, SpaceOptions, SqueezeNasSpace};

fn classify(variant: Variant, opts: &[&str]) -> SqueezeNasSpace {
    let mut items: Vec<String> = vec!["head=classify".into(), "classes=5".into()];
    items.extend(opts.iter().map(|s| s.to_string()));
    let options = SpaceOptions::parse(variant.name, &items).expect("options");
    SqueezeNasSpace::new(variant, options).expect("space")
}

/// Builds, runs a batch of two, and compares with the analytic counts.
fn check_built(space: &SqueezeNasSpace, arch: &Arch, seed: u64) {
    let varmap = candle_nn::VarMap::new();
    let vb = SeededInit::var_builder(&varmap, Seed(seed), &Device::Cpu);
    let counter = MacCounter::new();
    let net = space
        .build_counted(arch, vb, Some(&counter))
        .expect("build");
    let report = space.cost(arch).expect("cost");
    let genotype = space.format(arch);
    assert_eq!(trainable_params(&varmap), report.params, "{genotype}");
    let [c, h, w] = space.input_shape();
    let x = Tensor::arange(0f32, (2 * c * h * w) as f32, &Device::Cpu)
        .and_then(|t| t.reshape((2, c, h, w)))
        .and_then(|t| t.affine(0.01, -1.0))
        .and_then(|t| t.sin())
        .expect("x");
    let y = net.forward_t(&x, true).expect("forward");
    assert_eq!(y.dims(), &[2, space.classes()]);
    assert_eq!(counter.total(), report.macs, "{genotype}");
    let values: Vec<f32> = y.flatten_all().and_then(|t| t.to_vec1()).expect("values");
    assert!(values.iter().all(|v| v.is_finite()), "{genotype}");
}

#[test]
fn random_architectures_of_every_variant_match_analytic_counts() {
    let mut rng = Seed(21).rng();
    for (i, variant) in [variants::SMALL, variants::LARGE, variants::XLARGE]
        .into_iter()
        .enumerate()
    {
        let space = classify(variant, &["input=1x32x32"]);
        for round in 0..2 {
            check_built(&space, &space.sample(&mut rng), (10 * i + round) as u64);
        }
    }
}

#[test]
fn shape_changing_candidates_match_analytic_counts() {
    // All skips: FactorizedReduce at every stride-2 layer, projections
    // where only channels change (small: 40 -> 48 -> 96), identities.
    let small = classify(variants::SMALL, &["input=3x32x48"]);
    let all = |name: &str| small.parse(&vec![name; 20].join(",")).expect("arch");
    check_built(&small, &all("skip"), 1);
    check_built(&small, &all("k3_e1_g2_d2"), 2);
    check_built(&small, &all("k5_e1_g2"), 3);
    // The Fashion-MNIST layout with the published MAC-small genotype.
    let fashion = classify(variants::SMALL, &["input=1x28x28", "drop_strides=2"]);
    let mac_small = fashion.parse(variants::MAC_SMALL).expect("arch");
    check_built(&fashion, &mac_small, 4);
    let report = fashion.cost(&mac_small).expect("cost");
    println!(
        "MAC-small, 1x28x28, drop_strides=2: {} MACs, {} params",
        report.macs, report.params
    );
    // Large's first layer (16 -> 16, stride 1) skips by identity.
    let large = classify(variants::LARGE, &["input=1x16x16"]);
    let skips = large.parse(&vec!["skip"; 22].join(",")).expect("arch");
    check_built(&large, &skips, 5);
}

#[test]
fn every_trainable_variable_gets_a_gradient() {
    let space = classify(variants::SMALL, &["input=1x32x32"]);
    // Every candidate kind on the path: blocks (grouped, dilated,
    // expanded), FactorizedReduce (layers 4, 8), projection (layer 12).
    let genotype = "k3_e1_g2,k5_e6_g1,k3_e1_g1_d2,skip,\
        skip,k3_e3_g1,k5_e1_g2,k3_e6_g1_d2,\
        skip,k5_e3_g1,k3_e1_g2_d2,k3_e3_g1_d2,\
        skip,k5_e1_g1,k3_e6_g1,k5_e6_g1,\
        k3_e1_g1,skip,k3_e1_g2,k5_e3_g1";
    let arch = space.parse(genotype).expect("arch");
    let varmap = candle_nn::VarMap::new();
    let vb = SeededInit::var_builder(&varmap, Seed(5), &Device::Cpu);
    let net = space.build(&arch, vb).expect("build");
    let x = Tensor::arange(0f32, 4.0 * 1024.0, &Device::Cpu)
        .and_then(|t| t.reshape((4, 1, 32, 32)))
        .and_then(|t| t.affine(1.0 / 512.0, -1.0))
        .and_then(|t| t.sin())
        .expect("x");
    let y = net.forward_t(&x, true).expect("forward");
    let target = Tensor::new(&[1u32, 3, 0, 4], &Device::Cpu).expect("target");
    let loss = candle_nn::loss::cross_entropy(&y, &target).expect("loss");
    let grads = loss.backward().expect("backward");
    let checked = common::assert_every_variable_has_a_gradient(&varmap, &grads);
    assert!(checked > 100, "{checked} variables");
    let zeros = Tensor::zeros((1, 1, 32, 32), DType::F32, &Device::Cpu).expect("zeros");
    assert!(net.forward_t(&zeros, false).is_ok(), "eval mode runs");
}
