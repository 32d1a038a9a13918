//! The `macro` (Zoph & Le) space: exact MACs and parameters against the
//! built network, genotype syntax and errors.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use nasarena_core::{Arch, SearchSpace, Seed};
use nasarena_spaces::layers::{trainable_params, MacCounter};
use nasarena_spaces::{MacroSpace, Network, Realize, SeededInit, SpaceOptions};

fn space(opts: &[&str]) -> MacroSpace {
    let items: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    MacroSpace::from_options(SpaceOptions::parse("macro", &items).expect("options")).expect("space")
}

#[test]
fn decisions_and_cardinality() {
    let s = space(&[]);
    // 6 layers: 3 choices each plus 0+1+..+5 = 15 skip bits.
    assert_eq!(s.decisions().len(), 18 + 15);
    assert!((s.cardinality() - 64f64.powi(6) * 2f64.powi(15)).abs() < 1.0);
    assert_eq!(space(&["strides=2"]).decisions().len(), 24 + 15);
}

#[test]
fn hand_counted_example() {
    let s = space(&["layers=3", "input=3x8x8", "classes=10"]);
    let arch = s.parse("3x5:36:-|1x1:24:0|7x7:64:0,1").expect("parse");
    let c = s.cost(&arch).expect("cost");
    // layer0: 8*8*36*3*15 = 103,680; layer1: 8*8*24*36 = 55,296;
    // layer2 reads 36+24 = 60 channels: 8*8*64*60*49 = 12,042,240;
    // only layer 2 is unused: linear 64*10 = 640.
    assert_eq!(c.macs, 103_680 + 55_296 + 12_042_240 + 640);
    let params = (36 * 3 * 15 + 72) + (24 * 36 + 48) + (64 * 60 * 49 + 128) + 650;
    assert_eq!(c.params, params as u64);
    assert_eq!(c.layers[2].candidate, "7x7:64:0,1");
    assert_eq!(s.format(&arch), "3x5:36:-|1x1:24:0|7x7:64:0,1");
}

#[test]
fn built_network_matches_analytic_params_and_macs() {
    for opts in [
        &["layers=5", "input=2x9x7", "classes=4"][..],
        &["layers=4", "input=3x11x10", "strides=3"],
    ] {
        let s = space(opts);
        for i in 0..5u64 {
            let arch = s.sample(&mut Seed(21).derive("macro-test", i).rng());
            let varmap = VarMap::new();
            let vb = SeededInit::var_builder(&varmap, Seed(2), &Device::Cpu);
            let counter = MacCounter::new();
            let net = s.build_counted(&arch, vb, Some(&counter)).expect("build");
            let cost = s.cost(&arch).expect("cost");
            let text = s.format(&arch);
            assert_eq!(trainable_params(&varmap), cost.params, "{text}");
            let [c, h, w] = s.input_shape();
            let x = Tensor::ones((2, c, h, w), DType::F32, &Device::Cpu).expect("x");
            let y = net.forward_t(&x, true).expect("forward");
            assert_eq!(y.dims(), &[2, s.classes()], "{text}");
            assert_eq!(counter.total(), cost.macs, "{text}");
        }
    }
}

#[test]
fn default_size_network_has_analytic_params() {
    let s = space(&[]);
    let arch = s.sample(&mut Seed(5).rng());
    let varmap = VarMap::new();
    let vb = SeededInit::var_builder(&varmap, Seed(5), &Device::Cpu);
    let _net = s.build(&arch, vb).expect("build");
    assert_eq!(
        trainable_params(&varmap),
        s.cost(&arch).expect("cost").params
    );
}

#[test]
fn errors_name_layer_field_and_choices() {
    let s = space(&["layers=3"]);
    let err = |t: &str| s.parse(t).unwrap_err().to_string();
    let e = err("3x5:36:-|1x2:24:0|7x7:64:0,1");
    assert!(
        e.contains("layer 1 filter width (character 9)") && e.contains("1, 3, 5, 7"),
        "{e}"
    );
    let e = err("3x5:36:-|1x1:25:0|7x7:64:0,1");
    assert!(
        e.contains("filter count") && e.contains("24, 36, 48, 64"),
        "{e}"
    );
    let e = err("3x5:36:0|1x1:24:0|7x7:64:0,1");
    assert!(
        e.contains("layer 0 skips") && e.contains("write `-`"),
        "{e}"
    );
    let e = err("3x5:36:-|1x1:24:0|7x7:64:0,2");
    assert!(e.contains("layer 2 skips") && e.contains("0..1"), "{e}");
    let e = err("3x5:36:-|1x1:24:0");
    assert!(e.contains("expected 3 layers"), "{e}");
    assert!(err("3x5:36:-|1x1:24:0|7x7:64:1,1").contains("twice"));
    assert!(s.check(&Arch::new(vec![0; 3])).is_err());
    let bad =
        MacroSpace::from_options(SpaceOptions::parse("macro", &["strides=4".into()]).expect("p"));
    assert!(bad.unwrap_err().to_string().contains("`strides`"));
    let deep =
        MacroSpace::from_options(SpaceOptions::parse("macro", &["layers=33".into()]).expect("p"));
    assert!(deep.unwrap_err().to_string().contains("at most 32"));
}

#[test]
fn candidate_table_is_refused_with_a_reason() {
    let e = space(&[]).candidate_macs().unwrap_err().to_string();
    assert!(e.contains("macro") && e.contains("decompose"), "{e}");
}

#[test]
fn every_parameter_gets_a_gradient() {
    let s = space(&["layers=4", "input=2x7x6", "strides=2"]);
    let arch = s
        .parse("3x1:24:s2:-|1x5:36:s1:0|3x3:24:s1:-|7x3:48:s2:1,2")
        .expect("parse");
    let varmap = VarMap::new();
    let vb = SeededInit::var_builder(&varmap, Seed(9), &Device::Cpu);
    let net = s.build(&arch, vb).expect("build");
    let x = Tensor::arange(0f32, 2.0 * 2.0 * 42.0, &Device::Cpu)
        .and_then(|t| t.reshape((2, 2, 7, 6)))
        .and_then(|t| t.affine(0.01, -0.5))
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
