//! Strategy overhead: microseconds of ask + tell per trial (evaluation
//! excluded; the synthetic objective costs well under a microsecond).

use criterion::{criterion_main, Criterion};
use nasarena_core::Seed;
use nasarena_strategies::{build_black_box, BLACK_BOX};

#[path = "../tests/common/mod.rs"]
mod common;

fn overhead(c: &mut Criterion) {
    let space = common::TestSpace::new();
    let mut group = c.benchmark_group("ask_tell");
    for (name, presets) in BLACK_BOX {
        for preset in *presets {
            let mut strategy = build_black_box(
                name,
                Some(preset),
                &serde_json::Value::Null,
                Seed(1),
                &space,
            )
            .expect("build");
            // Warm past any initial random phase so steady state is measured.
            common::run(strategy.as_mut(), &space, 0, 150, |_| false);
            let mut t = 150;
            group.bench_function(format!("{name}/{preset}"), |b| {
                b.iter(|| {
                    common::run(strategy.as_mut(), &space, t, t + 1, |_| false);
                    t += 1;
                })
            });
        }
    }
    group.finish();
}

/// The benchmark group; in a private module, so the function the macro
/// generates is not a public item of the bench crate.
mod group {
    use super::overhead;
    use criterion::criterion_group;

    criterion_group!(benches, overhead);
}

criterion_main!(group::benches);
