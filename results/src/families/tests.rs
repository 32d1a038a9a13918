use super::markdown::cost_verdict;
use super::*;

fn cell(ops: [&str; 6]) -> String {
    format!(
        "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|",
        ops[0], ops[1], ops[2], ops[3], ops[4], ops[5]
    )
}

fn run(
    label: &str,
    family: Family,
    ops: [&str; 6],
    test: f64,
    macs: u64,
    cost: Option<f64>,
) -> Outcome {
    Outcome {
        label: label.into(),
        preset: label.strip_prefix("gumbel/").unwrap_or("").into(),
        family,
        arch: cell(ops),
        test: Some(test),
        expected: Some(test),
        macs,
        cost_to_target: cost,
    }
}

const C3: &str = "nor_conv_3x3";
const C1: &str = "nor_conv_1x1";
const SKIP: &str = "skip_connect";
const NONE: &str = "none";

/// Five black-box runs on conv cells (one skip, one none in each), two
/// DARTS runs (one of them parameter-free) and two FBNet runs.
fn space() -> SpaceFamilies {
    use Family::*;
    SpaceFamilies {
        space: "cell".into(),
        best: 87.0,
        gap: 0.5,
        unit: "normalised search cost".into(),
        outcomes: vec![
            run(
                "random",
                Random,
                [C3, C3, SKIP, C1, NONE, C3],
                85.0,
                1_200_000,
                Some(100.0),
            ),
            run(
                "random",
                Random,
                [C1, C3, SKIP, C1, NONE, C3],
                85.2,
                1_000_000,
                Some(300.0),
            ),
            run(
                "evolution",
                Evolutionary,
                [C3, C1, SKIP, C1, NONE, C3],
                86.0,
                1_500_000,
                Some(40.0),
            ),
            run(
                "evolution",
                Evolutionary,
                [C3, C3, SKIP, C3, NONE, C3],
                86.4,
                1_500_000,
                Some(60.0),
            ),
            run(
                "reinforce",
                Reinforcement,
                [C3, C3, SKIP, C1, NONE, C1],
                85.5,
                1_300_000,
                None,
            ),
            run(
                "gumbel/darts",
                OneShot,
                [SKIP, SKIP, NONE, SKIP, NONE, SKIP],
                70.0,
                100_000,
                None,
            ),
            run(
                "gumbel/darts",
                OneShot,
                [SKIP, C3, NONE, SKIP, NONE, SKIP],
                72.0,
                100_000,
                None,
            ),
            run(
                "gumbel/fbnet",
                OneShot,
                [C3, C3, C3, C3, NONE, C3],
                86.1,
                750_000,
                Some(10.0),
            ),
            run(
                "gumbel/fbnet",
                OneShot,
                [C3, C3, C3, C3, NONE, C3],
                86.1,
                750_000,
                Some(20.0),
            ),
        ],
    }
}

#[test]
fn strategies_fall_into_their_families() {
    assert_eq!(Family::of("random", false), Family::Random);
    assert_eq!(Family::of("evolution", false), Family::Evolutionary);
    assert_eq!(Family::of("ga", false), Family::Evolutionary);
    assert_eq!(Family::of("reinforce", false), Family::Reinforcement);
    assert_eq!(Family::of("gumbel", true), Family::OneShot);
    assert_eq!(Family::of("bohb", false), Family::Other("bohb".into()));
}

#[test]
fn cell_genotypes_are_parsed_and_others_refused() {
    let arch = cell([SKIP, SKIP, NONE, "avg_pool_3x3", NONE, SKIP]);
    assert_eq!(
        cell_ops(&arch),
        Some(vec![SKIP, SKIP, NONE, "avg_pool_3x3", NONE, SKIP])
    );
    assert_eq!(cell_ops("k3_e6,k5_e1,skip"), None);
    assert_eq!(cell_ops("|nor_conv_3x3~x|"), None);
    assert_eq!(cell_ops(""), None);
    let conv = cell([C3; 6]);
    let shapes = CellShapes::of([arch.as_str(), conv.as_str()].into_iter()).expect("cells");
    assert_eq!(
        shapes,
        CellShapes {
            cells: 2,
            parameter_free: 1,
            edges: 12,
            skips: 3,
            nones: 2
        }
    );
    assert_eq!(CellShapes::of([arch.as_str(), "k3_e6"].into_iter()), None);
}

#[test]
fn pareto_front_keeps_the_non_dominated_points_fewest_macs_first() {
    let points = [
        (10, 80.0),
        (5, 70.0),
        (20, 79.0),
        (5, 75.0),
        (30, 90.0),
        (10, 80.0),
    ];
    assert_eq!(pareto_front(&points), vec![3, 0, 4]);
    assert!(pareto_front(&[]).is_empty());
}

#[test]
fn families_take_their_fastest_strategy_and_pool_their_seeds() {
    let families = space().families();
    let names: Vec<&str> = families.iter().map(|f| f.family.name()).collect();
    assert_eq!(
        names,
        [
            "random search",
            "evolutionary",
            "RL controller",
            "one-shot supernet"
        ]
    );
    let one_shot = &families[3];
    assert_eq!(one_shot.seeds, 4);
    assert_eq!(one_shot.strategies, ["gumbel/darts", "gumbel/fbnet"]);
    assert_eq!(one_shot.fastest.label, "gumbel/fbnet");
    assert_eq!(one_shot.fastest.cost.median, 15.0);
    assert_eq!(one_shot.best_test, Some(86.1));
    assert!((one_shot.mmacs - 0.425).abs() < 1e-12);
    assert!(families[2].fastest.cost.median.is_infinite());
}

#[test]
fn markdown_states_each_claim_next_to_the_measurement() {
    let md = markdown(&[space()]);
    let has = |needle: &str| assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    has("### Families: cell");
    has("| evolutionary | evolution | 2 | 86.20 ± 0.28 | 86.40 | 1.500 | evolution | 50.0 | 3.3 |");
    has("| one-shot supernet | gumbel/darts, gumbel/fbnet | 4 |");
    has("| gumbel/fbnet | 15.0 | 1.0 |");
    has("| RL controller | reinforce | 1 | 85.50 ± 0.00 | 85.50 | 1.300 | reinforce | never | – |");
    has("- random search: 1.000 → 85.20 (random ×1)\n");
    has("- one-shot supernet: 0.100 → 72.00 (gumbel/darts ×1); 0.750 → 86.10 (gumbel/fbnet ×2)\n");
    has("one-shot (gumbel/fbnet) 15.0;");
    has("random search (random) 200.0: 13.3x, one-shot at least 10x cheaper, as claimed;");
    has("evolutionary (evolution) 50.0: 3.3x, one-shot cheaper, by less than the claimed 10-100x;");
    has("RL controller (reinforce) never: at least half of its seeds never reach the target");
    has("gumbel/fbnet 86.10% against evolution 86.20%: -0.10 points, within 0.5 points, as good.");
    has("(evolution, 1.500 MMACs, 86.20%): gumbel/darts 0.100 (0.07x, -15.20 points); gumbel/fbnet 0.750 (0.50x, -0.10 points).");
    has("1 of 2 DARTS seeds recommended a parameter-free cell; skip_connect is 58.3% of their edges (black-box families' cells: 16.7%); their mean test accuracy is 71.00% against the table's best 87.00%: it collapses in 1 of 2 seeds.");
    has("| gumbel/darts | one-shot supernet | 2 | 1 | 58.3 | 33.3 |");
    has("| random | random search | 2 | 0 | 16.7 | 16.7 |");
}

#[test]
fn without_darts_or_one_shot_runs_the_claims_say_so() {
    let mut s = space();
    s.outcomes.retain(|o| o.family != Family::OneShot);
    let md = markdown(&[s]);
    assert!(
        md.contains("no one-shot runs here, nothing to compare."),
        "{md}"
    );
    assert!(
        md.contains("needs one-shot and black-box runs with test accuracies."),
        "{md}"
    );
    assert!(!md.contains("DARTS collapse"), "{md}");
    assert!(
        md.contains(
            "| random search | random | 2 | 85.10 ± 0.14 | 85.20 | 1.100 | random | 200.0 | – |"
        ),
        "no one-shot median to divide by: {md}"
    );
}

#[test]
fn cost_verdicts_cover_every_case() {
    assert_eq!(
        cost_verdict(1000.0, 10.0),
        "100.0x, one-shot at least 10x cheaper, as claimed"
    );
    assert_eq!(
        cost_verdict(20.0, 10.0),
        "2.0x, one-shot cheaper, by less than the claimed 10-100x"
    );
    assert_eq!(
        cost_verdict(5.0, 10.0),
        "0.5x, one-shot not cheaper: the claim does not hold here"
    );
    let inf = f64::INFINITY;
    assert!(cost_verdict(inf, 10.0).contains("more than this budget can show"));
    assert!(cost_verdict(10.0, inf)
        .contains("one-shot seeds never reach the target: the claim does not hold here"));
    assert!(cost_verdict(inf, inf).contains("not measurable at this budget"));
}

#[test]
fn fronts_use_the_tables_expected_accuracy_not_the_seed_a_run_drew() {
    let mut s = space();
    for o in s.outcomes.iter_mut().filter(|o| o.label == "gumbel/fbnet") {
        o.expected = Some(86.3);
    }
    s.outcomes[7].test = Some(85.9);
    let front = s.pareto_front(&Family::OneShot);
    assert_eq!(front.len(), 2);
    assert_eq!((front[1].macs, front[1].test), (750_000, 86.3));
    assert_eq!(front[1].found_by.get("gumbel/fbnet"), Some(&2));
}
