//! Semantic segmentation data: images with a class label per pixel, the
//! task SqueezeNAS (Shaw et al. 2019) searches encoders for.
//!
//! * [`cityscapes`]: the Cityscapes folder layout (`leftImg8bit/` images,
//!   `gtFine/` label masks), with the official labelId -> trainId mapping
//!   (19 classes, everything else ignored), or masks that already hold
//!   train ids (`*_gtFine_labelTrainIds.png`, as Cityscapes' own scripts
//!   write them and as [`scenes`] does).
//! * [`joint`]: augmentation applied to an image and its mask together
//!   (random scale, crop, horizontal flip), seeded.
//! * [`scenes`]: Fashion-MNIST scenes, a real-image segmentation dataset
//!   made offline from Fashion-MNIST by a deterministic generator and
//!   written in the Cityscapes layout.

pub mod cityscapes;
pub mod joint;
pub mod scenes;

/// The mask value of pixels that carry no label (Cityscapes' convention):
/// the loss and the metric skip them.
pub const IGNORE_LABEL: u8 = 255;

/// One image and its label mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegSample {
    /// Channels of the image (1 grey, 3 RGB).
    pub channels: usize,
    /// Height in pixels (image and mask).
    pub height: usize,
    /// Width in pixels (image and mask).
    pub width: usize,
    /// Pixels, channel-major (C x H x W).
    pub pixels: Vec<u8>,
    /// One class id per pixel (H x W), [`IGNORE_LABEL`] where unlabelled.
    pub mask: Vec<u8>,
}

impl SegSample {
    /// A sample, checking that the buffers match the size.
    pub fn new(
        channels: usize,
        height: usize,
        width: usize,
        pixels: Vec<u8>,
        mask: Vec<u8>,
    ) -> Option<Self> {
        (pixels.len() == channels * height * width && mask.len() == height * width).then_some(
            SegSample {
                channels,
                height,
                width,
                pixels,
                mask,
            },
        )
    }
}
