//! The error type of nasarena-ops.

/// Errors raised by nasarena-ops.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A convolution was called with shapes or hyper-parameters that do not fit.
    #[error("nasarena-ops {op}: {reason}")]
    BadConv {
        /// The op that rejected its arguments.
        op: &'static str,
        /// What was wrong and what to do.
        reason: String,
    },

    /// A batch norm was called with shapes that do not fit.
    #[error("nasarena-ops {op}: {reason}")]
    BadBatchNorm {
        /// The op that rejected its arguments.
        op: &'static str,
        /// What was wrong.
        reason: String,
    },

    /// An element-wise op was given operands that do not fit.
    #[error("nasarena-ops {op}: {reason}")]
    BadOperands {
        /// The op that rejected its arguments.
        op: &'static str,
        /// What was wrong.
        reason: String,
    },

    /// `NASARENA_ISA` names no path, or one this CPU cannot run.
    #[error("nasarena-ops: {reason}")]
    BadIsa {
        /// What was wrong and which paths this CPU has.
        reason: String,
    },

    /// A custom op was given a dtype it has no kernel for.
    #[error(
        "nasarena-ops {op}: dtype {dtype} is not supported, only f32 is; \
         convert with `.to_dtype(DType::F32)` or call candle's stock op"
    )]
    UnsupportedDtype {
        /// The op that rejected its arguments.
        op: &'static str,
        /// The dtype it was given.
        dtype: String,
    },
}

/// Result alias of nasarena-ops.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for candle_core::Error {
    fn from(e: Error) -> Self {
        candle_core::Error::wrap(e)
    }
}
