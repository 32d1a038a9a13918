//! Whole-network checks of the squeezenas spaces against the MAC counts
//! the official code prints for its published networks (ashaw596/
//! squeezenas `README.md`, `eval.py` at 1x3x1024x2048).

use nasarena_core::{Arch, SearchSpace, Seed};
use nasarena_spaces::squeezenas::variants::{self, PUBLISHED};
use nasarena_spaces::{build_space, Realize, SpaceOptions, SqueezeNasSpace};

fn space(name: &str, opts: &[&str]) -> nasarena_spaces::Result<Box<dyn Realize>> {
    let items: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    build_space(name, SpaceOptions::parse(name, &items)?)
}

#[test]
fn published_networks_match_the_official_counts() {
    for (name, variant, genotype, official) in PUBLISHED {
        let s = SqueezeNasSpace::with_defaults(variant);
        let arch = s.parse(genotype).expect("genotype");
        let report = s.cost(&arch).expect("cost");
        println!("{name}: {} MACs, {} params", report.macs, report.params);
        if let Some(official) = official {
            assert_eq!(report.macs, official, "{name}");
        }
    }
    // The README's rounded table: 4.46 GigaMACs for lat-small (ours 4.4651,
    // the README truncates). Its 10.86 for lat-large cannot come from the
    // network `nets.py` builds: with the mac-large hyperparameters (which
    // reproduce mac-large exactly) the five k3_e6 layers of the 160-channel
    // OS16 stages alone cost 12.6G. We pin our exact figure instead.
    let lat = |v, g| {
        let s = SqueezeNasSpace::with_defaults(v);
        s.cost(&s.parse(g).expect("genotype")).expect("cost").macs
    };
    let small = lat(variants::SMALL, variants::LAT_SMALL);
    assert_eq!(small, 4_465_098_752);
    assert!((small as f64 / 1e9 - 4.46).abs() < 0.01);
    assert_eq!(lat(variants::LARGE, variants::LAT_LARGE), 19_574_636_544);
}

#[test]
fn layouts_follow_the_stage_tables() {
    let small = SqueezeNasSpace::with_defaults(variants::SMALL);
    assert_eq!(small.decisions().len(), 20);
    let large = SqueezeNasSpace::with_defaults(variants::LARGE);
    let xlarge = SqueezeNasSpace::with_defaults(variants::XLARGE);
    assert_eq!(large.decisions().len(), 22);
    assert_eq!(xlarge.decisions().len(), 22);
    // Output stride 16: the last layer runs on 64x128 for 1024x2048.
    for s in [&small, &large, &xlarge] {
        let last = s.slots().last().expect("slots");
        assert_eq!((last.h, last.w), (64, 128), "{}", s.name());
        assert_eq!(s.decisions()[0].arity(), 13);
    }
    assert_eq!(xlarge.slots()[0].c_in, 48, "xlarge stem");
    assert_eq!(large.slots()[21].c_out, 160, "320 x 0.5");
    let report = small
        .cost(&small.parse(variants::MAC_SMALL).expect("arch"))
        .expect("cost");
    let names: Vec<&str> = report.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names[0], "stem");
    assert_eq!(names[21..], ["last_conv", "head"]);
    let sum: u64 = report.layers.iter().map(|l| l.macs).sum();
    assert_eq!(sum, report.macs);
}

#[test]
fn candidate_tables_and_costs_agree() {
    for name in ["squeezenas-small", "squeezenas-large", "squeezenas-xlarge"] {
        let s = space(name, &[]).expect("space");
        let table = s.candidate_macs().expect("table");
        let mut rng = Seed(2).rng();
        for _ in 0..10 {
            let arch = s.sample(&mut rng);
            let report = s.cost(&arch).expect("cost");
            for (i, &c) in arch.choices().iter().enumerate() {
                assert_eq!(report.layers[i + 1].macs, table[i][c as usize]);
            }
            assert_eq!(s.macs(&arch), Some(report.macs));
        }
    }
}

#[test]
fn options_and_errors() {
    let s = space("squeezenas-large", &["input=3x512x1024", "classes=5"]).expect("space");
    assert_eq!(s.input_shape(), [3, 512, 1024]);
    assert_eq!(s.classes(), 5);
    let small_input = space("squeezenas-small", &["input=3x64x64"]).expect("tiny");
    let arch = small_input.sample(&mut Seed(1).rng());
    assert!(small_input.cost(&arch).expect("cost").macs > 0);
    let err = space("squeezenas-small", &["input=3x100x200"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`input`") && err.contains("multiples of 16"),
        "{err}"
    );
    let err = space("squeezenas-xlarge", &["width=2"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`width`") && err.contains("accepted: input, classes"),
        "{err}"
    );
    let s = SqueezeNasSpace::with_defaults(variants::SMALL);
    let err = s
        .parse(&vec!["k3_e1"; 20].join(","))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("layer 0") && err.contains("k3_e1_g1, k3_e1_g2"),
        "{err}"
    );
    assert!(s.cost(&Arch::new(vec![13; 20])).is_err());
    let varmap = candle_nn::VarMap::new();
    let vb = nasarena_spaces::SeededInit::var_builder(&varmap, Seed(0), &candle_core::Device::Cpu);
    // head=segment (the default) builds segmentation networks; an
    // architecture outside the space is refused.
    assert_eq!(s.task(), nasarena_spaces::Task::Segmentation);
    assert!(s.build(&Arch::new(vec![13; 20]), vb).is_err());
    for (opts, key, says) in [
        (&["head=dense"][..], "head", "`segment` or `classify`"),
        (&["drop_strides=1"][..], "drop_strides", "output stride 16"),
        (
            &["head=classify", "drop_strides=5"][..],
            "drop_strides",
            "0..=4",
        ),
        (
            &["head=classify", "input=1x28x28"][..],
            "input",
            "layer 4 (stride 2) a 7x7",
        ),
        (
            &["head=classify", "input=1x28x28", "drop_strides=1"][..],
            "input",
            "layer 8",
        ),
    ] {
        let err = space("squeezenas-small", opts).unwrap_err().to_string();
        assert!(
            err.contains(&format!("`{key}`")) && err.contains(says),
            "{opts:?}: {err}"
        );
    }
    let fashion = [
        "head=classify",
        "input=1x28x28",
        "classes=10",
        "drop_strides=2",
    ];
    assert!(space("squeezenas-small", &fashion).is_ok());
}

/// The classification form costs the encoder plus a linear classifier on
/// the pooled features instead of the decoder.
#[test]
fn classify_head_replaces_the_decoder_in_the_cost() {
    let segment = space("squeezenas-small", &["input=3x64x64", "classes=10"]).expect("seg");
    let classify = space(
        "squeezenas-small",
        &["input=3x64x64", "classes=10", "head=classify"],
    )
    .expect("cls");
    let arch = classify.parse(variants::MAC_SMALL).expect("arch");
    let a = segment.cost(&arch).expect("cost");
    let b = classify.cost(&arch).expect("cost");
    assert_eq!(a.layers[..22], b.layers[..22], "stem, layers, last_conv");
    let fc = &b.layers[22];
    assert_eq!((fc.name.as_str(), fc.macs, fc.params), ("fc", 2560, 2570));
    assert_eq!(b.layers.len(), 23);
}
