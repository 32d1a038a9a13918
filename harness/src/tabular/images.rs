//! The images a table was built on, rebuilt for searches that train on
//! them. NAS-Bench-201 (Dong & Yang 2020) scores every family on one
//! yardstick: black-box strategies replay the table, one-shot strategies
//! train a real supernet on the same data and splits, and what they
//! recommend is looked up in the table. A table built by `nasarena
//! tabulate build` records everything that decides its split (dataset,
//! validation fraction, training limit, build seed) and the checksum of
//! the images it used, so the split is rebuilt here and checked against
//! that checksum: a supernet never trains on images the table's entries
//! did not see, nor validates on others.

use super::source::TableSource;
use crate::data::prepare_splits;
use crate::{Error, Result};
use nasarena_core::Seed;
use nasarena_datasets::{load_named, Dataset, Splits};

/// The seed `tabulate build` split the data and seeded training with, as
/// its provenance records it (`None` for an imported table).
pub(super) fn build_seed(h: &super::TableHeader) -> Option<u64> {
    h.provenance.get("seed").and_then(|s| s.parse::<u64>().ok())
}

/// Rebuilds the training, validation and test images of the table in
/// `source`, exactly as `tabulate build` split them. Fails, naming what
/// differs, when the table does not record how it was split (an imported
/// benchmark) or the rebuilt images are not the ones it was built on.
pub fn table_images(source: &TableSource) -> Result<Splits> {
    let h = source.table.header();
    let bad = |reason: String| Error::Table {
        path: source.path.clone(),
        reason,
    };
    let seed = build_seed(h);
    let (Some(seed), Some(val_fraction)) = (seed, h.settings.val_fraction) else {
        return Err(bad(
            "it does not record how its images were split (no build seed or validation fraction: it was imported, not built by `nasarena tabulate build`), so a supernet cannot be trained on its data".into(),
        ));
    };
    let data = load_named(&h.dataset, None).map_err(|e| {
        bad(format!(
            "its dataset `{}` cannot be loaded to train a supernet on: {e}",
            h.dataset
        ))
    })?;
    let splits = prepare_splits(&data, val_fraction, h.settings.train_limit, Seed(seed))?;
    let sizes = [splits.train.len(), splits.val.len(), splits.test.len()];
    if sizes != h.settings.splits {
        return Err(bad(format!(
            "dataset `{}` now splits into train/val/test {sizes:?}, the table was built on {:?}",
            h.dataset, h.settings.splits
        )));
    }
    let have = splits.checksum().to_string();
    match h.provenance.get("data_checksum") {
        Some(want) if !want.eq_ignore_ascii_case(&have) => Err(bad(format!(
            "the images of dataset `{}` differ from those the table was built on (data checksum {have}, the table records {want})",
            h.dataset
        ))),
        Some(_) => Ok(splits),
        None => Err(bad(
            "it records no data checksum, so the images a supernet would train on cannot be checked against the table's".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::JournalSync;
    use std::path::PathBuf;

    fn shipped() -> TableSource {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../data/tables/fmnist-cell3-1ep.nastable");
        TableSource {
            table: super::super::reader::open(&path).expect("shipped table"),
            written: path.clone(),
            path,
            sync: JournalSync::PerRecord,
        }
    }

    #[test]
    fn rebuilds_the_shipped_tables_split_and_refuses_what_differs() {
        let source = shipped();
        let images = table_images(&source).expect("the shipped table's images");
        assert_eq!(
            [images.train.len(), images.val.len(), images.test.len()],
            source.table.header().settings.splits
        );

        let mut imported = shipped();
        imported.table.header.provenance.remove("seed");
        let e = table_images(&imported)
            .expect_err("no build seed")
            .to_string();
        assert!(e.contains("no build seed"), "{e}");

        let mut other = shipped();
        other
            .table
            .header
            .provenance
            .insert("data_checksum".into(), "00ff".into());
        let e = table_images(&other).expect_err("checksum").to_string();
        assert!(e.contains("differ") && e.contains("00ff"), "{e}");

        let mut resplit = shipped();
        resplit.table.header.settings.train_limit = Some(400);
        let e = table_images(&resplit).expect_err("sizes").to_string();
        assert!(e.contains("[400, 300, 1000]"), "{e}");
    }
}
