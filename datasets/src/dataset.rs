//! The in-memory dataset type, the `Dataset` trait and the provenance
//! checksum.
//!
//! Images are kept as raw `u8` pixels in N x C x H x W order, exactly as the
//! files store them (after the CIFAR/IDX layouts, which are already planar),
//! so that a dataset costs one byte per pixel in memory and the checksum can
//! be taken over the bytes a run actually uses.

use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::fmt;

/// Channels, height and width of one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Shape {
    /// Colour channels (1 for grey, 3 for RGB).
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl Shape {
    /// A shape; no checks.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Shape {
            channels,
            height,
            width,
        }
    }

    /// Values per image, `C * H * W`.
    pub fn numel(&self) -> usize {
        self.channels * self.height * self.width
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.channels, self.height, self.width)
    }
}

/// A sha256 digest identifying the exact samples and labels of a dataset.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checksum(pub [u8; 32]);

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({self})")
    }
}

/// What the harness needs to know about any dataset, whatever its storage:
/// real image classification data, synthetic data, or future segmentation
/// data with per-pixel targets.
pub trait Dataset {
    /// A short name, e.g. `fashion-mnist/train`.
    fn name(&self) -> &str;
    /// The shape of one input image.
    fn shape(&self) -> Shape;
    /// Number of samples.
    fn len(&self) -> usize;
    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Class names, indexed by label.
    fn classes(&self) -> &[String];
    /// Number of classes.
    fn num_classes(&self) -> usize {
        self.classes().len()
    }
    /// The provenance checksum of the samples and labels, in order.
    fn checksum(&self) -> Checksum;
}

/// Images with one class label each, held in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageDataset {
    name: String,
    shape: Shape,
    pixels: Vec<u8>,
    labels: Vec<u16>,
    classes: Vec<String>,
}

impl ImageDataset {
    /// A dataset from planar `N x C x H x W` pixels and one label per image.
    /// Fails when the sizes disagree or a label is not below `classes.len()`.
    pub fn new(
        name: impl Into<String>,
        shape: Shape,
        pixels: Vec<u8>,
        labels: Vec<u16>,
        classes: Vec<String>,
    ) -> Result<Self> {
        let name = name.into();
        if shape.numel() == 0 {
            return Err(Error::Config(format!(
                "{name}: image shape {shape} is empty"
            )));
        }
        if pixels.len() != labels.len() * shape.numel() {
            return Err(Error::Format {
                path: name,
                what: format!(
                    "{} pixel values do not make {} images of {shape}",
                    pixels.len(),
                    labels.len()
                ),
            });
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| usize::from(l) >= classes.len())
        {
            return Err(Error::LabelOutOfRange {
                path: name,
                index,
                label: u32::from(label),
                num_classes: classes.len(),
            });
        }
        Ok(ImageDataset {
            name,
            shape,
            pixels,
            labels,
            classes,
        })
    }

    /// Renames the dataset (e.g. `cifar10` to `cifar10/train`).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The pixels of image `i` (`C * H * W` values, planar), if it exists.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let n = self.shape.numel();
        self.pixels.get(i * n..(i + 1) * n)
    }

    /// The label of image `i`, if it exists.
    pub fn label(&self, i: usize) -> Option<u16> {
        self.labels.get(i).copied()
    }

    /// All pixels, `N x C x H x W`.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// All labels, in sample order.
    pub fn labels(&self) -> &[u16] {
        &self.labels
    }

    /// How many samples each class has, indexed by label.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for &l in &self.labels {
            counts[usize::from(l)] += 1;
        }
        counts
    }

    /// A new dataset holding the given samples, in the given order.
    /// Fails on an index past the end.
    pub fn subset(&self, indices: &[usize], name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let n = self.shape.numel();
        let mut pixels = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            let (Some(img), Some(label)) = (self.image(i), self.label(i)) else {
                return Err(Error::Config(format!(
                    "{name}: sample {i} is past the end of {} ({} samples)",
                    self.name,
                    self.len()
                )));
            };
            pixels.extend_from_slice(img);
            labels.push(label);
        }
        Ok(ImageDataset {
            name,
            shape: self.shape,
            pixels,
            labels,
            classes: self.classes.clone(),
        })
    }
}

/// The checksum is sha256 over, in order: the ASCII tag
/// `nasarena-dataset-v1`, then C, H, W and N as little-endian u64, then all
/// pixels (sample by sample, N x C x H x W bytes), then all labels as
/// little-endian u16. Names are not hashed: renaming data does not change it.
impl Dataset for ImageDataset {
    fn name(&self) -> &str {
        &self.name
    }
    fn shape(&self) -> Shape {
        self.shape
    }
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn classes(&self) -> &[String] {
        &self.classes
    }
    fn checksum(&self) -> Checksum {
        let mut h = Sha256::new();
        h.update(b"nasarena-dataset-v1");
        for v in [
            self.shape.channels,
            self.shape.height,
            self.shape.width,
            self.labels.len(),
        ] {
            h.update((v as u64).to_le_bytes());
        }
        h.update(&self.pixels);
        let labels: Vec<u8> = self.labels.iter().flat_map(|l| l.to_le_bytes()).collect();
        h.update(&labels);
        Checksum(h.finalize().into())
    }
}

/// Class names `0`, `1`, ... for datasets that ship none.
pub fn numbered_classes(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ImageDataset {
        let shape = Shape::new(1, 2, 2);
        let pixels = (0..12).collect();
        ImageDataset::new("tiny", shape, pixels, vec![0, 1, 1], numbered_classes(2)).unwrap()
    }

    #[test]
    fn accessors_and_subset() {
        let d = tiny();
        assert_eq!(d.len(), 3);
        assert_eq!(d.image(1).unwrap(), &[4, 5, 6, 7]);
        assert_eq!(d.image(3), None);
        assert_eq!(d.class_counts(), vec![1, 2]);
        let s = d.subset(&[2, 0], "s").unwrap();
        assert_eq!(s.pixels(), &[8, 9, 10, 11, 0, 1, 2, 3]);
        assert_eq!(s.labels(), &[1, 0]);
        assert!(d.subset(&[3], "bad").is_err());
    }

    #[test]
    fn checksum_depends_on_pixels_labels_and_order_not_name() {
        let d = tiny();
        let c = d.checksum();
        assert_eq!(c, d.clone().with_name("other").checksum());
        assert_ne!(c, d.subset(&[1, 0, 2], "x").unwrap().checksum());
        let mut labels = d.labels().to_vec();
        labels[0] = 1;
        let relabelled = ImageDataset::new(
            "t",
            d.shape(),
            d.pixels().to_vec(),
            labels,
            numbered_classes(2),
        );
        assert_ne!(c, relabelled.unwrap().checksum());
        assert_eq!(c.to_string().len(), 64);
    }

    #[test]
    fn inconsistent_sizes_and_labels_are_rejected() {
        let shape = Shape::new(1, 2, 2);
        let short = ImageDataset::new("a", shape, vec![0; 7], vec![0, 0], numbered_classes(1));
        assert!(matches!(short, Err(Error::Format { .. })));
        let bad = ImageDataset::new("b", shape, vec![0; 8], vec![0, 5], numbered_classes(2));
        assert!(matches!(
            bad,
            Err(Error::LabelOutOfRange {
                index: 1,
                label: 5,
                ..
            })
        ));
    }
}
