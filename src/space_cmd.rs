//! `nasarena macs` and `nasarena spaces`: counting an architecture's cost
//! and listing the registered search spaces.

use anyhow::{Context, Result};
use nasarena_core::Seed;
use nasarena_spaces::{build_space, registry, CostReport, Realize, SpaceOptions};
use serde_json::json;

fn space(name: &str, opts: &[String]) -> Result<Box<dyn Realize>> {
    let options = SpaceOptions::parse(name, opts)?;
    Ok(build_space(name, options)?)
}

/// `nasarena macs --space NAME --arch GENOTYPE [--opt k=v]... [--json]`.
pub fn macs(name: &str, genotype: &str, opts: &[String], as_json: bool) -> Result<()> {
    let space = space(name, opts)?;
    let arch = space
        .parse(genotype)
        .with_context(|| format!("`--arch` is not a valid `{name}` genotype"))?;
    let cost = space.cost(&arch)?;
    let text = space.format(&arch);
    let canonical = space.format(&space.canonical(&arch));
    if as_json {
        println!("{}", cost_json(name, &text, &canonical, &cost));
    } else {
        print_cost(name, &text, &canonical, &cost);
    }
    Ok(())
}

fn cost_json(name: &str, arch: &str, canonical: &str, cost: &CostReport) -> serde_json::Value {
    let layers: Vec<_> = cost
        .layers
        .iter()
        .map(|l| json!({"name": l.name, "candidate": l.candidate, "macs": l.macs, "params": l.params}))
        .collect();
    json!({
        "space": name,
        "arch": arch,
        "canonical": canonical,
        "macs": cost.macs,
        "params": cost.params,
        "weight_params": cost.weight_params,
        "layers": layers,
    })
}

fn print_cost(name: &str, arch: &str, canonical: &str, cost: &CostReport) {
    println!("space      {name}");
    println!("arch       {arch}");
    if canonical != arch {
        println!("canonical  {canonical}");
    }
    println!(
        "macs       {} ({:.2} M)",
        grouped(cost.macs),
        cost.macs as f64 / 1e6
    );
    println!(
        "params     {} ({:.3} M)",
        grouped(cost.params),
        cost.params as f64 / 1e6
    );
    println!("weights    {} (conv + linear)", grouped(cost.weight_params));
    println!();
    println!(
        "{:<14} {:<24} {:>16} {:>12}",
        "layer", "candidate", "macs", "params"
    );
    for l in &cost.layers {
        println!(
            "{:<14} {:<24} {:>16} {:>12}",
            l.name,
            l.candidate,
            grouped(l.macs),
            grouped(l.params)
        );
    }
}

/// `1234567` -> `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Exact below 10^15, otherwise as a power of ten.
fn count(cardinality: f64) -> String {
    if cardinality < 1e15 {
        grouped(cardinality.round() as u64)
    } else {
        format!("{cardinality:.3e} (~10^{:.0})", cardinality.log10())
    }
}

/// `nasarena spaces`: every space with its options, size and an example.
pub fn list() -> Result<()> {
    for entry in registry() {
        let space = space(entry.name, &[])
            .with_context(|| format!("space `{}` with default options", entry.name))?;
        let example = space.sample(&mut Seed(0).derive("spaces-example", 0).rng());
        println!("{}", entry.name);
        println!("    {}", entry.summary);
        println!("    options:       {}", entry.options.join(", "));
        println!("    architectures: {}", count(space.cardinality()));
        println!("    example:       {}", space.format(&example));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(15_625), "15,625");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(count(15_625.0), "15,625");
        assert_eq!(count(9f64.powi(22)), "9.848e20 (~10^21)");
    }
}
