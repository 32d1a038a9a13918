//! Segmentation data for an experiment: a Cityscapes-layout folder
//! (Cityscapes itself, or Fashion-MNIST scenes from `nasarena data
//! scenes`) read once, its fixed train/val/test splits used as they are.
//! Checked against the spaces (segmentation heads, input, classes) and the
//! schedules before any compute is spent.

use crate::experiment::ExperimentFile;
use crate::segmentation::data::{is_segmentation, SceneSplits, SegSet, SEGMENTATION_DATASETS};
use nasarena_spaces::{Realize, Task};

/// Problems with spaces whose task is not the dataset's, and with a
/// `random_scale` on classification data.
pub(super) fn task_problems(
    exp: &ExperimentFile,
    spaces: &[Box<dyn Realize>],
    problems: &mut Vec<(String, String)>,
) {
    let segmentation = is_segmentation(&exp.dataset.name);
    for (i, space) in spaces.iter().enumerate() {
        match (segmentation, space.task()) {
            (true, Task::Classification) => problems.push((
                format!("space[{i}].name"),
                format!(
                    "dataset `{}` is segmentation data; `{}` here classifies images (a squeezenas space with head=segment segments)",
                    exp.dataset.name, exp.space[i].name
                ),
            )),
            (false, Task::Segmentation) => problems.push((
                format!("space[{i}].options.head"),
                format!(
                    "`{}` with head=segment predicts a class per pixel; dataset `{}` labels whole images (set head=classify, or use {})",
                    exp.space[i].name,
                    exp.dataset.name,
                    SEGMENTATION_DATASETS.join(" or ")
                ),
            )),
            _ => {}
        }
    }
    if !segmentation {
        let scaled = [
            ("evaluator.random_scale", &exp.evaluator),
            ("final.schedule.random_scale", &exp.final_protocol.schedule),
        ];
        for (key, schedule) in scaled {
            if schedule.random_scale.is_some() {
                problems.push((
                    key.into(),
                    "random_scale augments segmentation scenes; classification schedules use crop_padding and horizontal_flip".into(),
                ));
            }
        }
    }
}

/// Reads the three splits from `dataset.data_dir` (the first
/// `dataset.train_limit` training scenes when set) and checks them against
/// the spaces; `None` (and problems) when that fails.
pub(super) fn load_scenes(
    exp: &ExperimentFile,
    spaces: &[Box<dyn Realize>],
    problems: &mut Vec<(String, String)>,
) -> Option<SceneSplits> {
    let d = &exp.dataset;
    if d.val_fraction != 0.0 {
        problems.push((
            "dataset.val_fraction".into(),
            format!(
                "segmentation data has its own `val` split; set val_fraction = 0 (got {})",
                d.val_fraction
            ),
        ));
    }
    let Some(dir) = &d.data_dir else {
        problems.push((
            "dataset.data_dir".into(),
            format!(
                "`{}` is read from a Cityscapes-layout folder; set data_dir (e.g. datasets/data/fashion-mnist-scenes-64, or `nasarena data scenes --out DIR`)",
                d.name
            ),
        ));
        return None;
    };
    let mut read = |split: &str| match SegSet::load(dir, split) {
        Ok(set) => Some(set),
        Err(e) => {
            problems.push(("dataset.data_dir".into(), format!("split `{split}`: {e}")));
            None
        }
    };
    let (train, val, test) = (read("train")?, read("val")?, read("test")?);
    let train = match d.train_limit {
        Some(n) => train.subset(&(0..n.min(train.len())).collect::<Vec<_>>()),
        None => train,
    };
    for (i, space) in spaces.iter().enumerate() {
        if space.input_shape() != train.shape {
            let [c, h, w] = train.shape;
            problems.push((
                format!("space[{i}].options.input"),
                format!(
                    "the space expects input {:?}, the scenes are {c}x{h}x{w}",
                    space.input_shape()
                ),
            ));
        }
        if space.classes() != train.classes.len() {
            problems.push((
                format!("space[{i}].options.classes"),
                format!(
                    "the space has {} classes, the scenes {} ({})",
                    space.classes(),
                    train.classes.len(),
                    train.classes.join(", ")
                ),
            ));
        }
    }
    match SceneSplits::new(train, val, test) {
        Ok(splits) => Some(splits),
        Err(e) => {
            problems.push(("dataset.data_dir".into(), e.to_string()));
            None
        }
    }
}
