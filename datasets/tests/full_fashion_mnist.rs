//! The full Fashion-MNIST from Debian's `dataset-fashion-mnist` package,
//! when installed (the test says so and passes vacuously otherwise).

// Test helpers outside #[test] fns may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use nasarena_datasets::{load_named, Dataset};

#[test]
fn debian_fashion_mnist_loads_completely() {
    if nasarena_datasets::locate::locate("fashion-mnist", None).is_none() {
        eprintln!("dataset-fashion-mnist not installed; skipped");
        return;
    }
    let tt = load_named("fashion-mnist", None).unwrap();
    assert_eq!(tt.train.len(), 60_000);
    assert_eq!(tt.test.len(), 10_000);
    assert_eq!(tt.train.class_counts(), vec![6000; 10]);
    assert_eq!(tt.test.class_counts(), vec![1000; 10]);
    assert_eq!(tt.train.name(), "fashion-mnist/train");
}
