//! The framework-neutral description of a built network (what
//! `bench/torch_peer.py` rebuilds in PyTorch) has exactly the network's
//! parameters, for random architectures of every space that describes
//! its networks.

use candle_core::Device;
use candle_nn::VarMap;
use nasarena_core::Seed;
use nasarena_spaces::layers::trainable_params;
use nasarena_spaces::{build_space, Node, SeededInit, SpaceOptions};

fn check(space: &str, opts: &[&str]) {
    let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    let s = build_space(space, SpaceOptions::parse(space, &opts).expect("opts")).expect("space");
    for i in 0..6 {
        let arch = s.sample(&mut Seed(21).derive(space, i).rng());
        let varmap = VarMap::new();
        let vb = SeededInit::var_builder(&varmap, Seed(1), &Device::Cpu);
        let net = s.build(&arch, vb).expect("build");
        let graph = net.describe().expect("description");
        assert_eq!(
            graph.params(),
            trainable_params(&varmap),
            "{space} {}",
            s.format(&arch)
        );
        assert_eq!(graph.params(), s.cost(&arch).expect("cost").params);
        assert!(matches!(graph.nodes[0], Node::Input { .. }));
        assert!(matches!(graph.nodes.last(), Some(Node::Linear { .. })));
        assert!(graph.nodes.iter().any(|n| matches!(n, Node::Conv { .. })));
    }
}

#[test]
fn descriptions_have_the_networks_parameters() {
    check("fbnet-28", &["width=0.25", "head=32"]);
    check("cell", &["C=4", "N=1"]);
    check("macro", &["layers=4", "input=3x16x16"]);
    check("chain", &["layers=3", "channels=4"]);
}
