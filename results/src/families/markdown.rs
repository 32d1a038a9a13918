//! The family comparison as Markdown: per space, a table of families, each
//! family's accuracy-vs-MACs Pareto front, the papers' claims (REFERENCES.md:
//! published search costs, NAS-Bench-201's reference results) next to what
//! the runs measured, and what the recommended cells are made of.

use super::{CellShapes, Family, FamilyStat, SpaceFamilies, StrategyStat};
use crate::cost_target::cost;
use crate::stats::Describe;
use std::fmt::Write;

/// The family comparison of every space.
pub fn markdown(spaces: &[SpaceFamilies]) -> String {
    let mut o = String::new();
    for s in spaces {
        let families = s.families();
        let strategies = s.strategies();
        family_table(&mut o, s, &families);
        fronts(&mut o, s, &families);
        let _ = writeln!(
            o,
            "Claims from the papers next to what was measured here:\n"
        );
        cost_claim(&mut o, &families);
        accuracy_claim(&mut o, s.gap, &strategies);
        macs_claim(&mut o, &strategies);
        darts_claim(&mut o, s);
        o.push('\n');
        cell_table(&mut o, &strategies);
    }
    o
}

fn mmacs(macs: u64) -> f64 {
    macs as f64 / 1e6
}

fn share(part: usize, whole: usize) -> f64 {
    100.0 * part as f64 / whole as f64
}

fn family_table(o: &mut String, s: &SpaceFamilies, families: &[FamilyStat]) {
    let _ = writeln!(o, "### Families: {}\n", s.space);
    let _ = writeln!(o, "| family | strategies | seeds | test acc % (mean ± std) | best test % | MMACs (mean) | fastest to target | its median cost | × one-shot |");
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---|---:|---:|");
    let one_shot = families
        .iter()
        .find(|f| f.family == Family::OneShot)
        .map(|f| f.fastest.cost.median);
    for f in families {
        let median = f.fastest.cost.median;
        let ratio = match one_shot {
            Some(os) if median.is_finite() && os.is_finite() && os > 0.0 => {
                format!("{:.1}", median / os)
            }
            _ => "–".into(),
        };
        let test = f.test.map_or_else(
            || "–".to_string(),
            |t| format!("{:.2} ± {:.2}", t.mean, t.std),
        );
        let best = f
            .best_test
            .map_or_else(|| "–".to_string(), |b| format!("{b:.2}"));
        let _ = writeln!(
            o,
            "| {} | {} | {} | {test} | {best} | {:.3} | {} | {} | {ratio} |",
            f.family.name(),
            f.strategies.join(", "),
            f.seeds,
            f.mmacs,
            f.fastest.label,
            cost(median),
        );
    }
    let _ = writeln!(
        o,
        "\nTest accuracy (the table's) and MACs of the architectures each family recommended, over all seeds of its strategies. Fastest to target: the family's strategy with the smallest median {} until its incumbent's table test accuracy is within {} points of the table's best ({:.2}%); × one-shot: that median over the fastest one-shot strategy's.\n",
        s.unit, s.gap, s.best
    );
}

fn fronts(o: &mut String, s: &SpaceFamilies, families: &[FamilyStat]) {
    let _ = writeln!(o, "Accuracy-vs-MACs Pareto front of each family's recommended architectures (MMACs → test %, the table's mean over its seeds; the strategies that recommended it, with their number of seeds):\n");
    for f in families {
        let points: Vec<String> = s
            .pareto_front(&f.family)
            .iter()
            .map(|p| {
                let by: Vec<String> = p
                    .found_by
                    .iter()
                    .map(|(label, n)| format!("{label} ×{n}"))
                    .collect();
                format!("{:.3} → {:.2} ({})", mmacs(p.macs), p.test, by.join(", "))
            })
            .collect();
        let points = if points.is_empty() {
            "no architecture with a test accuracy".to_string()
        } else {
            points.join("; ")
        };
        let _ = writeln!(o, "- {}: {points}", f.family.name());
    }
    o.push('\n');
}

/// What a ratio of medians says about "one to two orders of magnitude".
pub(super) fn cost_verdict(black_box: f64, one_shot: f64) -> String {
    match (black_box.is_finite(), one_shot.is_finite()) {
        (true, true) if one_shot > 0.0 => {
            let r = black_box / one_shot;
            let what = if r >= 10.0 {
                "one-shot at least 10x cheaper, as claimed"
            } else if r > 1.0 {
                "one-shot cheaper, by less than the claimed 10-100x"
            } else {
                "one-shot not cheaper: the claim does not hold here"
            };
            format!("{r:.1}x, {what}")
        }
        (true, true) => "the one-shot median is 0: no ratio".into(),
        (false, true) => "at least half of its seeds never reach the target: one-shot cheaper by more than this budget can show".into(),
        (true, false) => "at least half of the one-shot seeds never reach the target: the claim does not hold here".into(),
        (false, false) => "neither reaches the target in half its seeds: not measurable at this budget".into(),
    }
}

fn cost_claim(o: &mut String, families: &[FamilyStat]) {
    let _ = write!(o, "- Search cost. Claim: RL and evolutionary search need one to two orders of magnitude more compute than Gumbel-Softmax supernet search for a network of equal accuracy (NAS-RL ~537,600 GPU-hours, NASNet ~48,000 and AmoebaNet ~75,600 against FBNet's 216 and GDAS's ~4-5). Measured, the median cost-to-target of each family's fastest strategy:");
    let Some(os) = families.iter().find(|f| f.family == Family::OneShot) else {
        let _ = writeln!(o, " no one-shot runs here, nothing to compare.");
        return;
    };
    let _ = write!(
        o,
        " one-shot ({}) {};",
        os.fastest.label,
        cost(os.fastest.cost.median)
    );
    let black_box: Vec<String> = families
        .iter()
        .filter(|f| f.family != Family::OneShot)
        .map(|f| {
            format!(
                "{} ({}) {}: {}",
                f.family.name(),
                f.fastest.label,
                cost(f.fastest.cost.median),
                cost_verdict(f.fastest.cost.median, os.fastest.cost.median)
            )
        })
        .collect();
    if black_box.is_empty() {
        let _ = writeln!(o, " no black-box runs here, nothing to compare.");
    } else {
        let _ = writeln!(o, " {}.", black_box.join("; "));
    }
}

/// The strategy of `xs` with the highest mean test accuracy.
fn most_accurate<'a>(
    xs: impl Iterator<Item = &'a StrategyStat>,
) -> Option<(&'a StrategyStat, f64)> {
    xs.filter_map(|s| Some((s, s.test?.mean)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn most_accurate_black_box(strategies: &[StrategyStat]) -> Option<(&StrategyStat, f64)> {
    most_accurate(strategies.iter().filter(|s| s.family != Family::OneShot))
}

fn accuracy_claim(o: &mut String, gap: f64, strategies: &[StrategyStat]) {
    let _ = write!(o, "- Accuracy. Claim: the one-shot search finds as good a network (NAS-Bench-201 CIFAR-10: GDAS 93.51% against REA 93.92% and REINFORCE 93.85%; FBNet and SqueezeNAS match networks found by RL and evolution). Measured, each kind's strategy with the best mean test accuracy: ");
    let one_shot = most_accurate(strategies.iter().filter(|s| s.family == Family::OneShot));
    let (Some((os, a)), Some((bb, b))) = (one_shot, most_accurate_black_box(strategies)) else {
        let _ = writeln!(o, "needs one-shot and black-box runs with test accuracies.");
        return;
    };
    let d = a - b;
    let verdict = if d.abs() <= gap {
        format!("within {gap} points, as good")
    } else if d > 0.0 {
        "one-shot better".to_string()
    } else {
        "one-shot worse".to_string()
    };
    let _ = writeln!(
        o,
        "{} {a:.2}% against {} {b:.2}%: {d:+.2} points, {verdict}.",
        os.label, bb.label
    );
}

fn macs_claim(o: &mut String, strategies: &[StrategyStat]) {
    let _ = write!(o, "- MACs. Claim: MAC-aware search (FBNet's cost loss, SqueezeNAS) finds networks with about half the MACs at similar accuracy. Measured, each one-shot strategy's mean MMACs and test accuracy against the most accurate black-box strategy's");
    let Some((bb, b)) = most_accurate_black_box(strategies) else {
        let _ = writeln!(o, ": no black-box runs here, nothing to compare.");
        return;
    };
    let _ = write!(o, " ({}, {:.3} MMACs, {b:.2}%):", bb.label, bb.mmacs);
    let parts: Vec<String> = strategies
        .iter()
        .filter(|s| s.family == Family::OneShot)
        .map(|s| {
            let acc = s.test.map_or_else(
                || "no test accuracy".to_string(),
                |t| format!("{:+.2} points", t.mean - b),
            );
            format!(
                "{} {:.3} ({:.2}x, {acc})",
                s.label,
                s.mmacs,
                s.mmacs / bb.mmacs
            )
        })
        .collect();
    if parts.is_empty() {
        let _ = writeln!(o, " no one-shot runs here.");
    } else {
        let _ = writeln!(
            o,
            " {}. A ratio of 0.5 or less at a small accuracy loss matches the claim.",
            parts.join("; ")
        );
    }
}

fn darts_claim(o: &mut String, s: &SpaceFamilies) {
    let darts: Vec<&super::Outcome> = s
        .outcomes
        .iter()
        .filter(|x| x.family == Family::OneShot && x.preset == "darts")
        .collect();
    if darts.is_empty() {
        return;
    }
    let _ = write!(o, "- DARTS collapse. Claim: on NAS-Bench-201, DARTS collapses to parameter-free cells of skip connections (54.30% CIFAR-10 test against an optimum of 94.37%; Dong & Yang 2020). Measured: ");
    let Some(cells) = CellShapes::of(darts.iter().map(|x| x.arch.as_str())) else {
        let _ = writeln!(
            o,
            "its genotypes are not NAS-Bench-201 cells, so not measurable here."
        );
        return;
    };
    let black_box = CellShapes::of(
        s.outcomes
            .iter()
            .filter(|x| x.family != Family::OneShot)
            .map(|x| x.arch.as_str()),
    );
    let tests: Vec<f64> = darts.iter().filter_map(|x| x.test).collect();
    let verdict = match cells.parameter_free {
        0 => "no collapse to parameter-free cells here".to_string(),
        k if k == cells.cells => "it collapses in every seed".to_string(),
        k => format!("it collapses in {k} of {} seeds", cells.cells),
    };
    let _ = write!(
        o,
        "{} of {} DARTS seeds recommended a parameter-free cell; skip_connect is {:.1}% of their edges",
        cells.parameter_free,
        cells.cells,
        share(cells.skips, cells.edges)
    );
    if let Some(bb) = black_box {
        let _ = write!(
            o,
            " (black-box families' cells: {:.1}%)",
            share(bb.skips, bb.edges)
        );
    }
    if let Some(t) = Describe::of(&tests) {
        let mean = t.mean;
        let _ = write!(
            o,
            "; their mean test accuracy is {mean:.2}% against the table's best {:.2}%",
            s.best
        );
    }
    let _ = writeln!(o, ": {verdict}.");
}

fn cell_table(o: &mut String, strategies: &[StrategyStat]) {
    if strategies.iter().all(|s| s.cells.is_none()) {
        return;
    }
    let _ = writeln!(o, "Cells the strategies recommended: how many are parameter-free (only none, skip_connect or pooling), and the share of skip_connect and none among their edges.\n");
    let _ = writeln!(
        o,
        "| strategy | family | cells | parameter-free | skip_connect edges % | none edges % |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|");
    for s in strategies {
        if let Some(c) = s.cells {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {:.1} | {:.1} |",
                s.label,
                s.family.name(),
                c.cells,
                c.parameter_free,
                share(c.skips, c.edges),
                share(c.nones, c.edges)
            );
        }
    }
    o.push('\n');
}
