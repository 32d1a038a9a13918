//! Built SqueezeNAS segmentation networks (`head=segment`) against the
//! analytic counts of [`nasarena_spaces::squeezenas::head`]: for random
//! architectures of all three variants the trainable parameters equal the
//! analytic parameters, the MACs counted while the network runs equal the
//! analytic MACs, the logits have one score per class and input pixel, and
//! every trainable variable gets a gradient from a per-pixel loss.

use candle_core::{DType, Device, Tensor};
use nasarena_core::{Arch, SearchSpace, Seed};
use nasarena_spaces::layers::{trainable_params, trainable_vars, MacCounter};
use nasarena_spaces::squeezenas::variants::{self, Variant};
use nasarena_spaces::{Network, Realize, SeededInit, SpaceOptions, SqueezeNasSpace};

fn segment(variant: Variant, input: &str) -> SqueezeNasSpace {
    let items = vec![format!("input={input}"), "classes=11".to_string()];
    let options = SpaceOptions::parse(variant.name, &items).expect("options");
    SqueezeNasSpace::new(variant, options).expect("space")
}

fn input(space: &SqueezeNasSpace) -> Tensor {
    let [c, h, w] = space.input_shape();
    Tensor::arange(0f32, (2 * c * h * w) as f32, &Device::Cpu)
        .and_then(|t| t.reshape((2, c, h, w)))
        .and_then(|t| t.affine(0.013, -1.0))
        .and_then(|t| t.sin())
        .expect("x")
}

fn check_built(space: &SqueezeNasSpace, arch: &Arch, seed: u64) {
    let varmap = candle_nn::VarMap::new();
    let vb = SeededInit::var_builder(&varmap, Seed(seed), &Device::Cpu);
    let counter = MacCounter::new();
    let net = space
        .build_segmentation_counted(arch, vb, Some(&counter))
        .expect("build");
    let report = space.cost(arch).expect("cost");
    let genotype = space.format(arch);
    assert_eq!(trainable_params(&varmap), report.params, "{genotype}");
    let [_, h, w] = space.input_shape();
    let y = net.forward_t(&input(space), true).expect("forward");
    assert_eq!(y.dims(), &[2, 11, h, w], "{genotype}");
    // The counter counts MACs per image (batch 1), the paper convention.
    assert_eq!(counter.total(), report.macs, "{genotype}");

    // A per-pixel loss reaches every trainable variable.
    let loss = candle_nn::ops::log_softmax(&y, 1)
        .and_then(|l| l.narrow(1, 3, 1))
        .and_then(|l| l.mean_all())
        .expect("loss");
    let grads = loss.backward().expect("backward");
    for var in trainable_vars(&varmap) {
        let g = grads
            .get(var.as_tensor())
            .expect("every variable has a gradient");
        let norm = g
            .sqr()
            .and_then(|t| t.sum_all())
            .and_then(|t| t.to_dtype(DType::F64))
            .and_then(|t| t.to_scalar::<f64>())
            .expect("norm");
        assert!(norm.is_finite(), "{genotype}");
    }
}

#[test]
fn random_segmentation_networks_of_every_variant_match_analytic_counts() {
    let mut rng = Seed(25).rng();
    // Inputs that keep every variant's maps even down to OS16, and (64 x
    // 128) give the LR-ASPP gate a pooled map wider than one pixel.
    for (i, (variant, size)) in [
        (variants::SMALL, "3x64x128"),
        (variants::LARGE, "3x32x64"),
        (variants::XLARGE, "3x32x32"),
    ]
    .into_iter()
    .enumerate()
    {
        let space = segment(variant, size);
        for round in 0..2 {
            check_built(&space, &space.sample(&mut rng), (10 * i + round) as u64);
        }
    }
}
