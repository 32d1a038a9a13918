//! The semantic segmentation task (SqueezeNAS, Shaw et al. 2019, searches
//! Cityscapes encoders by mean IoU): per-pixel cross-entropy that skips
//! unlabelled pixels ([`loss`]) and mean intersection-over-union from a
//! confusion matrix ([`metric`]), the Cityscapes benchmark's definition;
//! splits held in memory ([`data`]), the training loop ([`train`]), the
//! scenes as a one-shot search's data ([`scene_set`]) and the black-box
//! evaluator ([`evaluator`]).

pub mod data;
pub mod evaluator;
pub mod loss;
pub mod metric;
pub mod scene_set;
pub mod score;
pub mod train;

pub use loss::pixel_cross_entropy;
pub use metric::ConfusionMatrix;
