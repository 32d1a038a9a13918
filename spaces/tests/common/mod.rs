//! Helpers shared by the spaces' integration tests.

use candle_core::backprop::GradStore;
use candle_nn::VarMap;

/// Asserts that every trainable variable (BN buffers excluded) received a
/// finite, non-zero gradient; returns how many were checked.
pub fn assert_every_variable_has_a_gradient(varmap: &VarMap, grads: &GradStore) -> usize {
    let data = varmap.data().lock().expect("lock");
    let mut checked = 0;
    for (name, var) in data.iter() {
        if nasarena_spaces::layers::is_buffer(name) {
            continue;
        }
        let g = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        let norm: f32 = g
            .sqr()
            .and_then(|t| t.sum_all())
            .and_then(|t| t.to_scalar())
            .expect("norm");
        assert!(norm > 0.0 && norm.is_finite(), "{name}: {norm}");
        checked += 1;
    }
    checked
}
