//! Figures of a report, written as SVG (always) and PNG (when a system font
//! is found): per space, anytime curves, accuracy vs MACs with Pareto
//! fronts, and for one-shot strategies the entropy of each decision over
//! epochs. Drawn with `plotters`.

mod backend;
mod charts;
mod figures;
mod font;
mod scatter;

use crate::load::{Loaded, RunData};
use crate::{Error, Result};
use charts::Figure;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use figures::{pareto_front, BAND_STEPS};
pub use font::ensure_font;
pub use scatter::DOTS_MAX;

/// Plot settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlotOptions {
    /// Logarithmic cost axis for the anytime curves.
    pub log_x: bool,
    /// Skip PNGs even when a font is available.
    pub svg_only: bool,
}

/// What was written.
#[derive(Clone, Debug, Default)]
pub struct Plotted {
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Every SVG written, with the space it shows (as the tables name it).
    pub svgs: Vec<(String, PathBuf)>,
    /// Why some files were not written (e.g. no font for PNGs).
    pub warnings: Vec<String>,
}

fn save(fig: &impl Figure, space: &str, base: &Path, png: bool, done: &mut Plotted) -> Result<()> {
    let svg = base.with_extension("svg");
    {
        let root = backend::Svg(SVGBackend::new(&svg, fig.size())).into_drawing_area();
        fig.draw(&root).map_err(|reason| Error::Plot {
            path: svg.clone(),
            reason,
        })?;
    }
    done.svgs.push((space.to_string(), svg.clone()));
    done.files.push(svg);
    if png {
        let png = base.with_extension("png");
        {
            let root = BitMapBackend::new(&png, fig.size()).into_drawing_area();
            fig.draw(&root).map_err(|reason| Error::Plot {
                path: png.clone(),
                reason,
            })?;
        }
        done.files.push(png);
    }
    Ok(())
}

/// `cell (C=4, N=1)` -> `cell-c-4-n-1`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Writes every figure of the finished runs into `out`.
pub fn write_plots(loaded: &Loaded, out: &Path, opts: PlotOptions) -> Result<Plotted> {
    std::fs::create_dir_all(out).map_err(|e| Error::Io {
        path: out.to_path_buf(),
        source: e,
    })?;
    let mut done = Plotted::default();
    let png = if opts.svg_only {
        false
    } else {
        match ensure_font() {
            Ok(_) => true,
            Err(why) => {
                done.warnings
                    .push(format!("PNG plots skipped, SVG written: {why}"));
                false
            }
        }
    };
    type Rows<'a> = BTreeMap<String, Vec<&'a RunData>>;
    let mut spaces: BTreeMap<String, (String, Rows)> = BTreeMap::new();
    for r in &loaded.runs {
        spaces
            .entry(r.space_key())
            .or_insert_with(|| (r.header.space.clone(), BTreeMap::new()))
            .1
            .entry(r.header.label.clone())
            .or_default()
            .push(r);
    }
    for (key, (short, rows)) in &spaces {
        let stem = |suffix: &str| out.join(format!("{}-{suffix}", slug(key)));
        if let Some(f) = figures::anytime(short, rows, opts.log_x) {
            save(&f, key, &stem("anytime"), png, &mut done)?;
        }
        if let Some(f) = scatter::scatter(short, rows) {
            save(&f, key, &stem("acc-macs"), png, &mut done)?;
        }
        if let Some(f) = scatter::final_scatter(short, rows) {
            save(&f, key, &stem("final-macs"), png, &mut done)?;
        }
        for (label, runs) in rows.iter().filter(|(_, r)| r.iter().any(|r| r.one_shot)) {
            if let Some(f) = figures::entropy(short, label, runs) {
                let name = format!("{}-entropy", slug(label));
                save(&f, key, &stem(&name), png, &mut done)?;
            }
        }
    }
    Ok(done)
}
