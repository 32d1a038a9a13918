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
        /// The file or folder.
        path: String,
        /// What the operating system reported.
        source: std::io::Error,
    },
    /// A gzip stream is corrupt.
    #[error("{path}: corrupt gzip data: {source}; re-download the file")]
    Gzip {
        /// The `.gz` file.
        path: String,
        /// What the decompressor reported.
        source: std::io::Error,
    },
    /// A file ends before the data its header announces.
    #[error("{path}: truncated: {what}; the file is incomplete, re-download it")]
    Truncated {
        /// The file.
        path: String,
        /// How many bytes there are and how many the header needs.
        what: String,
    },
    /// A file starts with the wrong magic number.
    #[error("{path}: wrong magic number {found:#010x}, expected {expected} ({what})")]
    BadMagic {
        /// The file.
        path: String,
        /// The magic number the file starts with.
        found: u32,
        /// The magic number expected and the kind of file it marks.
        expected: String,
        /// What the found number suggests the file is instead.
        what: String,
    },
    /// A file is structurally wrong in some other way.
    #[error("{path}: {what}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong with it.
        what: String,
    },
    /// An image file and its label file disagree on the sample count.
    #[error(
        "{images} holds {n_images} images but {labels} holds {n_labels} labels; use matching files"
    )]
    CountMismatch {
        /// The image file.
        images: String,
        /// The label file.
        labels: String,
        /// Images in the image file.
        n_images: usize,
        /// Labels in the label file.
        n_labels: usize,
    },
    /// A label is not a valid class index.
    #[error("{path}: label {label} of sample {index} is out of range (the dataset has {num_classes} classes)")]
    LabelOutOfRange {
        /// The file holding the label.
        path: String,
        /// The sample's index in the file, from 0.
        index: usize,
        /// The label found.
        label: u32,
        /// The dataset's number of classes (labels are `0..num_classes`).
        num_classes: usize,
    },
    /// A folder holds nothing usable.
    #[error("{path}: {what}")]
    Empty {
        /// The folder.
        path: String,
        /// What was looked for and not found.
        what: String,
    },
    /// An image file could not be decoded.
    #[error("{path}: unreadable image: {source}")]
    Image {
        /// The image file.
        path: String,
        /// What the decoder reported.
        source: image::ImageError,
    },
    /// A dataset name or location could not be resolved.
    #[error("dataset `{name}` not found: {what}")]
    NotFound {
        /// The dataset name or path as given.
        name: String,
        /// Where it was looked for.
        what: String,
    },
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
