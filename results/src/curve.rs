//! Anytime performance of a search from its best-so-far curve.
//!
//! The curve is a step function: after a trial (or epoch) that cost the run
//! `c` so far, the best validation accuracy seen is `y`; before the first
//! evaluation it is 0. The normalised area under it over the budget
//! (anytime AUC; an anytime-performance summary in the spirit of the area
//! under the runtime ECDF in COCO, Hansen et al. 2021) rewards finding good
//! architectures early; cost-to-target is the cost of first reaching a
//! given accuracy (the fixed-target view of the same curve).

use crate::load::CurvePoint;

/// Normalised area under the best-so-far curve over `[0, limit]` in the
/// budget's unit, in percent points (100 = perfect accuracy from the start).
/// Points past the limit (budget overshoot) are cut at the limit.
pub fn anytime_auc(curve: &[CurvePoint], limit: f64) -> f64 {
    if limit.is_nan() || limit <= 0.0 {
        return 0.0;
    }
    let mut area = 0.0;
    for (i, p) in curve.iter().enumerate() {
        let start = p.budget.clamp(0.0, limit);
        let end = curve
            .get(i + 1)
            .map_or(limit, |q| q.budget.clamp(0.0, limit));
        area += p.best_val * (end - start).max(0.0);
    }
    area / limit
}

/// Device-hours at which the curve first reaches `target` percent; `None`
/// when it never does.
pub fn cost_to_target(curve: &[CurvePoint], target: f64) -> Option<f64> {
    curve
        .iter()
        .find(|p| p.best_val >= target)
        .map(|p| p.device_hours)
}

/// Best-so-far value at `hours` device-hours (`None` before the first
/// evaluation).
pub fn value_at_hours(curve: &[CurvePoint], hours: f64) -> Option<f64> {
    curve
        .iter()
        .take_while(|p| p.device_hours <= hours)
        .last()
        .map(|p| p.best_val)
}

/// Most points a summary keeps of one run's curve (`summary.json`).
pub const SUMMARY_POINTS: usize = 256;

/// The curve as `summary.json` keeps it: the first point, every point
/// where the best-so-far value rises, and the last (where the run's
/// search ended). The step function, its anytime AUC and cost-to-target
/// are unchanged. A run that improved more than [`SUMMARY_POINTS`] times
/// keeps evenly spaced improvements (and the last point); cost-to-target
/// read back from such a summary is then at most one kept step late.
pub fn summary_curve(curve: &[CurvePoint]) -> Vec<CurvePoint> {
    let Some(last) = curve.last() else {
        return Vec::new();
    };
    let mut kept: Vec<CurvePoint> = Vec::new();
    for p in curve {
        if kept.last().is_none_or(|k| p.best_val > k.best_val) {
            kept.push(*p);
        }
    }
    if kept.len() > SUMMARY_POINTS - 1 {
        let n = kept.len();
        let m = SUMMARY_POINTS - 1;
        kept = (0..m).map(|k| kept[k * (n - 1) / (m - 1)]).collect();
    }
    if kept.last() != Some(last) {
        kept.push(*last);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(budget: f64, best_val: f64) -> CurvePoint {
        CurvePoint {
            budget,
            device_hours: budget / 100.0,
            best_val,
        }
    }

    #[test]
    fn auc_by_hand() {
        // 0 on [0,2), 50 on [2,6), 80 on [6,10]: (0*2 + 50*4 + 80*4)/10 = 52.
        let c = [pt(2.0, 50.0), pt(6.0, 80.0)];
        assert!((anytime_auc(&c, 10.0) - 52.0).abs() < 1e-12);
        // Overshoot past the limit is cut: 50 on [2,8) then 90 from 12 (cut).
        let c = [pt(2.0, 50.0), pt(12.0, 90.0)];
        assert!((anytime_auc(&c, 8.0) - 50.0 * 6.0 / 8.0).abs() < 1e-12);
        assert_eq!(anytime_auc(&[], 10.0), 0.0);
    }

    #[test]
    fn summary_curve_keeps_the_steps_and_is_bounded() {
        // Plateaus are dropped; AUC and cost-to-target are unchanged.
        let c = [
            pt(1.0, 50.0),
            pt(2.0, 50.0),
            pt(3.0, 70.0),
            pt(4.0, 70.0),
            pt(5.0, 70.0),
        ];
        let s = summary_curve(&c);
        assert_eq!(s, vec![c[0], c[2], c[4]]);
        assert_eq!(anytime_auc(&s, 8.0), anytime_auc(&c, 8.0));
        assert_eq!(cost_to_target(&s, 60.0), cost_to_target(&c, 60.0));
        // A run improving at every one of 10,000 steps is cut to the bound,
        // keeping its first and last points.
        let long: Vec<CurvePoint> = (0..10_000)
            .map(|i| pt(i as f64, i as f64 / 100.0))
            .collect();
        let s = summary_curve(&long);
        assert!((SUMMARY_POINTS - 1..=SUMMARY_POINTS).contains(&s.len()));
        assert_eq!((s[0], s[s.len() - 1]), (long[0], long[9_999]));
        assert!(s.windows(2).all(|w| w[0].budget < w[1].budget));
        assert!(summary_curve(&[]).is_empty());
    }

    #[test]
    fn target_and_lookup() {
        let c = [pt(2.0, 50.0), pt(6.0, 80.0)];
        assert_eq!(cost_to_target(&c, 60.0), Some(0.06));
        assert_eq!(cost_to_target(&c, 90.0), None);
        assert_eq!(value_at_hours(&c, 0.01), None);
        assert_eq!(value_at_hours(&c, 0.03), Some(50.0));
        assert_eq!(value_at_hours(&c, 1.0), Some(80.0));
    }
}
