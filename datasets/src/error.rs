//! The error type of nasarena-datasets.
//!
//! Every variant names the file (or the dataset) at fault and what is wrong
//! with it, so the CLI can print it unchanged. Bad input never panics.

/// Errors raised by nasarena-datasets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read at all.
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A gzip stream is corrupt.
    #[error("{path}: corrupt gzip data: {source}; re-download the file")]
    Gzip {
        path: String,
        source: std::io::Error,
    },
    /// A file ends before the data its header announces.
    #[error("{path}: truncated: {what}; the file is incomplete, re-download it")]
    Truncated { path: String, what: String },
    /// A file starts with the wrong magic number.
    #[error("{path}: wrong magic number {found:#010x}, expected {expected} ({what})")]
    BadMagic {
        path: String,
        found: u32,
        expected: String,
        what: String,
    },
    /// A file is structurally wrong in some other way.
    #[error("{path}: {what}")]
    Format { path: String, what: String },
    /// An image file and its label file disagree on the sample count.
    #[error(
        "{images} holds {n_images} images but {labels} holds {n_labels} labels; use matching files"
    )]
    CountMismatch {
        images: String,
        labels: String,
        n_images: usize,
        n_labels: usize,
    },
    /// A label is not a valid class index.
    #[error("{path}: label {label} of sample {index} is out of range (the dataset has {num_classes} classes)")]
    LabelOutOfRange {
        path: String,
        index: usize,
        label: u32,
        num_classes: usize,
    },
    /// A folder holds nothing usable.
    #[error("{path}: {what}")]
    Empty { path: String, what: String },
    /// An image file could not be decoded.
    #[error("{path}: unreadable image: {source}")]
    Image {
        path: String,
        source: image::ImageError,
    },
    /// A dataset name or location could not be resolved.
    #[error("dataset `{name}` not found: {what}")]
    NotFound { name: String, what: String },
    /// A split, batching or generator parameter is invalid.
    #[error("invalid dataset configuration: {0}")]
    Config(String),
}

/// Result alias of nasarena-datasets.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on `path`.
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
