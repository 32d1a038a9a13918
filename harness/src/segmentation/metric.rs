//! Mean intersection-over-union, as the Cityscapes benchmark (Cordts et
//! al. 2016) scores semantic segmentation: a confusion matrix over the
//! labelled pixels of the whole evaluation set (pixels labelled
//! [`IGNORE_LABEL`] are skipped), per class IoU = TP / (TP + FP + FN), and
//! the mean over classes. A class that appears neither in the labels nor in
//! the predictions has no IoU (0 / 0) and is left out of the mean.

use nasarena_datasets::segmentation::IGNORE_LABEL;

/// Counts of (label, prediction) pairs over labelled pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    /// `counts[label * classes + predicted]`.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix for `classes` classes.
    pub fn new(classes: usize) -> Self {
        ConfusionMatrix {
            classes,
            counts: vec![0; classes * classes],
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Adds one image's (or batch's) pixels: `labels[i]` is the true class
    /// or [`IGNORE_LABEL`], `predicted[i]` the predicted class. Returns how
    /// many pixels were counted; a label or prediction outside the classes
    /// (other than the ignore label) is an error naming it.
    pub fn add(&mut self, labels: &[u8], predicted: &[u32]) -> Result<usize, String> {
        if labels.len() != predicted.len() {
            return Err(format!(
                "{} labels but {} predictions",
                labels.len(),
                predicted.len()
            ));
        }
        let mut counted = 0;
        for (&l, &p) in labels.iter().zip(predicted) {
            if l == IGNORE_LABEL {
                continue;
            }
            let (l, p) = (usize::from(l), p as usize);
            if l >= self.classes || p >= self.classes {
                return Err(format!(
                    "label {l} or prediction {p} is not one of the {} classes",
                    self.classes
                ));
            }
            self.counts[l * self.classes + p] += 1;
            counted += 1;
        }
        Ok(counted)
    }

    /// Adds another matrix's counts (e.g. from another worker).
    pub fn merge(&mut self, other: &ConfusionMatrix) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// IoU of every class; `None` where the class is absent from both the
    /// labels and the predictions.
    pub fn iou(&self) -> Vec<Option<f64>> {
        let k = self.classes;
        (0..k)
            .map(|c| {
                let tp = self.counts[c * k + c];
                let labelled: u64 = self.counts[c * k..(c + 1) * k].iter().sum();
                let predicted: u64 = (0..k).map(|l| self.counts[l * k + c]).sum();
                let union = labelled + predicted - tp;
                (union > 0).then(|| tp as f64 / union as f64)
            })
            .collect()
    }

    /// Mean IoU over the classes that have one (NaN when none has).
    pub fn mean_iou(&self) -> f64 {
        let present: Vec<f64> = self.iou().into_iter().flatten().collect();
        if present.is_empty() {
            f64::NAN
        } else {
            present.iter().sum::<f64>() / present.len() as f64
        }
    }

    /// Fraction of labelled pixels predicted right (NaN when none).
    pub fn pixel_accuracy(&self) -> f64 {
        let k = self.classes;
        let total: u64 = self.counts.iter().sum();
        let right: u64 = (0..k).map(|c| self.counts[c * k + c]).sum();
        if total == 0 {
            f64::NAN
        } else {
            right as f64 / total as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four classes; class 3 never appears; two pixels ignored.
    ///
    /// labels     0 0 0 1 1 2 255 255
    /// predicted  0 0 1 1 2 2  3   0
    ///
    /// class 0: TP 2, FN 1 (a 0 predicted 1), FP 0 -> 2/3
    /// class 1: TP 1, FN 1, FP 1 -> 1/3
    /// class 2: TP 1, FN 0, FP 1 -> 1/2
    /// class 3: absent from labels; predicted only on an ignored pixel, so
    /// absent from the counts too: no IoU.
    /// mean = (2/3 + 1/3 + 1/2) / 3 = 0.5; pixel accuracy 4/6.
    #[test]
    fn mean_iou_of_a_hand_computed_example() {
        let mut m = ConfusionMatrix::new(4);
        let counted = m
            .add(&[0, 0, 0, 1, 1, 2, 255, 255], &[0, 0, 1, 1, 2, 2, 3, 0])
            .expect("valid");
        assert_eq!(counted, 6);
        let iou = m.iou();
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-12);
        assert!(close(iou[0], 2.0 / 3.0) && close(iou[1], 1.0 / 3.0) && close(iou[2], 0.5));
        assert_eq!(iou[3], None);
        assert!((m.mean_iou() - 0.5).abs() < 1e-12);
        assert!((m.pixel_accuracy() - 4.0 / 6.0).abs() < 1e-12);

        // A class predicted where it is not labelled has IoU 0 and counts.
        let mut n = ConfusionMatrix::new(4);
        n.add(&[0], &[3]).expect("valid");
        assert_eq!(n.iou(), vec![Some(0.0), None, None, Some(0.0)]);
        m.merge(&n);
        assert!(
            (m.mean_iou() - (2.0 / 3.0 * 3.0 / 4.0 + 1.0 / 3.0 + 0.5 + 0.0) / 4.0).abs() < 1e-12
        );

        assert!(ConfusionMatrix::new(4).mean_iou().is_nan());
        let e = m.add(&[4], &[0]).expect_err("label 4 of 4 classes");
        assert!(e.contains("label 4"), "{e}");
        assert!(m.add(&[0, 1], &[0]).is_err());
    }
}
