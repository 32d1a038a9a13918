//! Parsing the NAS-Bench-201 CSV rows: every problem is collected with its
//! line so one report lists them all.

use nasarena_core::{Arch, SearchSpace};
use nasarena_spaces::cell::canonical::CELLS;
use nasarena_spaces::cell::CellSpace;
use std::collections::HashMap;

/// One parsed row: its line, cell and accuracies in percent.
pub(super) struct Row {
    pub(super) line: usize,
    pub(super) arch: Arch,
    pub(super) val: f64,
    pub(super) test: f64,
}

fn column_index(header: &[&str], name: &str, problems: &mut Vec<String>) -> usize {
    match header.iter().position(|h| *h == name) {
        Some(i) => i,
        None => {
            problems.push(format!(
                "line 1: no column `{name}` (columns: {})",
                header.join(", ")
            ));
            0
        }
    }
}

fn percent(field: &str, line: usize, column: &str, problems: &mut Vec<String>) -> f64 {
    match field.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => v,
        _ => {
            problems.push(format!(
                "line {line}: `{column}` = `{field}` is not a percentage in [0, 100]"
            ));
            f64::NAN
        }
    }
}

/// Every row of the CSV `text`, with accuracies from columns `val_col` and
/// `test_col`, or every problem found (with its line).
pub(super) fn parse_rows(
    text: &str,
    val_col: &str,
    test_col: &str,
    space: &CellSpace,
) -> std::result::Result<Vec<Row>, Vec<String>> {
    let mut problems = Vec::new();
    let mut lines = text.lines().enumerate();
    let Some((_, head)) = lines.next() else {
        return Err(vec!["the file is empty".into()]);
    };
    let header: Vec<&str> = head
        .trim_end_matches('\r')
        .split(',')
        .map(str::trim)
        .collect();
    let ci = column_index(&header, "index", &mut problems);
    let ca = column_index(&header, "arch", &mut problems);
    let cv = column_index(&header, val_col, &mut problems);
    let ct = column_index(&header, test_col, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut rows = Vec::new();
    let mut by_index: HashMap<usize, usize> = HashMap::new();
    let mut by_arch: HashMap<Arch, usize> = HashMap::new();
    for (k, raw) in lines {
        let line = k + 1;
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.split(',').collect();
        if fields.len() != header.len() {
            problems.push(format!(
                "line {line}: {} fields, the header has {}",
                fields.len(),
                header.len()
            ));
            continue;
        }
        let index = match fields[ci].trim().parse::<usize>() {
            Ok(i) if i < CELLS => i,
            _ => {
                problems.push(format!(
                    "line {line}: index `{}` is not a number below {CELLS}",
                    fields[ci]
                ));
                continue;
            }
        };
        if let Some(first) = by_index.insert(index, line) {
            problems.push(format!(
                "line {line}: index {index} was already given on line {first}"
            ));
        }
        let arch = match space.parse(fields[ca]) {
            Ok(a) => a,
            Err(e) => {
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        if let Some(first) = by_arch.insert(arch.clone(), line) {
            problems.push(format!(
                "line {line}: architecture {} was already given on line {first}",
                fields[ca]
            ));
        }
        let val = percent(fields[cv], line, val_col, &mut problems);
        let test = percent(fields[ct], line, test_col, &mut problems);
        rows.push(Row {
            line,
            arch,
            val,
            test,
        });
    }
    if problems.is_empty() && rows.len() != CELLS {
        problems.push(format!(
            "{} rows, but NAS-Bench-201 has {CELLS} cells: the table would be incomplete",
            rows.len()
        ));
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}
