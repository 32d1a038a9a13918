//! The semantic segmentation task (SqueezeNAS, Shaw et al. 2019, searches
//! Cityscapes encoders by mean IoU): per-pixel cross-entropy that skips
//! unlabelled pixels ([`loss`]) and mean intersection-over-union from a
//! confusion matrix ([`metric`]), the Cityscapes benchmark's definition;
//! splits held in memory ([`data`]) and the training loop ([`train`]).

pub mod data;
pub mod loss;
pub mod metric;
pub mod train;

pub use loss::pixel_cross_entropy;
pub use metric::ConfusionMatrix;
