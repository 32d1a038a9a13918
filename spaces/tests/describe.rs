//! The framework-neutral description of a built network (what
//! `bench/torch_peer.py` rebuilds in PyTorch) has exactly the network's
//! parameters, for random architectures of every space that describes
//! its networks, and names every tensor of the network exactly once under
//! a node of the description in PyTorch's layout (what `nasarena export`
//! saves).

use candle_core::Device;
use candle_nn::VarMap;
use nasarena_core::Seed;
use nasarena_spaces::layers::trainable_params;
use nasarena_spaces::{build_space, Node, SeededInit, SpaceOptions};
use std::collections::{BTreeSet, HashSet};

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
        tensors_cover_the_varmap(&graph, &varmap);
    }
}

/// Every variable of the built network (parameters and BN buffers) is one
/// named tensor of the description, with the shape PyTorch's module for
/// that node has.
fn tensors_cover_the_varmap(graph: &nasarena_spaces::Graph, varmap: &VarMap) {
    let vars: HashSet<_> = varmap
        .all_vars()
        .iter()
        .map(|v| v.as_tensor().id())
        .collect();
    let named: HashSet<_> = graph.tensors.0.iter().map(|t| t.tensor.id()).collect();
    assert_eq!(named.len(), graph.tensors.0.len(), "a tensor named twice");
    assert_eq!(named, vars, "description tensors != network variables");
    let keys: BTreeSet<String> = graph.tensors.0.iter().map(|t| t.key()).collect();
    assert_eq!(keys.len(), graph.tensors.0.len(), "a name used twice");
    for t in &graph.tensors.0 {
        let want: Vec<usize> = match (&graph.nodes[t.node], t.name) {
            (
                Node::Conv {
                    c_in,
                    c_out,
                    kh,
                    kw,
                    groups,
                    ..
                },
                "weight",
            ) => vec![*c_out, c_in / groups, *kh, *kw],
            (
                Node::Conv {
                    c_out, bias: true, ..
                },
                "bias",
            ) => vec![*c_out],
            (Node::Bn { channels, .. }, _) => vec![*channels],
            (Node::Linear { c_in, c_out, .. }, "weight") => vec![*c_out, *c_in],
            (Node::Linear { c_out, .. }, "bias") => vec![*c_out],
            (n, name) => panic!("tensor {name} on node {n:?}"),
        };
        assert_eq!(t.tensor.dims(), want.as_slice(), "{}", t.key());
    }
}

#[test]
fn descriptions_have_the_networks_parameters() {
    check("fbnet-28", &["width=0.25", "head=32"]);
    check("cell", &["C=4", "N=1"]);
    check("macro", &["layers=4", "input=3x16x16"]);
    check("chain", &["layers=3", "channels=4"]);
}
