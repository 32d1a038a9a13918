//! Reading a custom op's operand: its f32 data as one contiguous slice, or
//! an error that names the op and what is wrong. Shared by every op of the
//! crate; each passes the constructor of its own error variant.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Layout};

use crate::error::Error;

/// The f32 data of a contiguous operand; a wrong dtype is
/// [`Error::UnsupportedDtype`], a strided or out-of-storage layout the
/// error `bad(op, reason)` builds.
pub(crate) fn contiguous_f32<'a>(
    op: &'static str,
    s: &'a CpuStorage,
    l: &Layout,
    bad: fn(&'static str, String) -> Error,
) -> Result<&'a [f32], Error> {
    let CpuStorage::F32(v) = s else {
        return Err(Error::UnsupportedDtype {
            op,
            dtype: format!("{:?}", s.dtype()),
        });
    };
    let Some((start, end)) = l.contiguous_offsets() else {
        return Err(bad(
            op,
            "operand is not contiguous; call `.contiguous()` first".to_string(),
        ));
    };
    v.get(start..end).ok_or_else(|| {
        bad(
            op,
            format!(
                "layout {start}..{end} lies outside its storage of {} elements",
                v.len()
            ),
        )
    })
}

/// [`contiguous_f32`] for the element-wise ops (ReLU, sums, pooling),
/// whose layout errors are [`Error::BadOperands`].
pub(crate) fn operand_f32<'a>(
    op: &'static str,
    s: &'a CpuStorage,
    l: &Layout,
) -> Result<&'a [f32], Error> {
    contiguous_f32(op, s, l, |op, reason| Error::BadOperands { op, reason })
}

/// The f32 data of a gradient and of the input it belongs to, for the
/// element-wise backward ops: both contiguous and of the same dimensions,
/// else [`Error::BadOperands`] naming both shapes.
pub(crate) fn gradient_and_input<'a>(
    op: &'static str,
    (s1, l1): (&'a CpuStorage, &Layout),
    (s2, l2): (&'a CpuStorage, &Layout),
) -> Result<(&'a [f32], &'a [f32]), Error> {
    let (grad, input) = (operand_f32(op, s1, l1)?, operand_f32(op, s2, l2)?);
    if l1.dims() != l2.dims() {
        return Err(Error::BadOperands {
            op,
            reason: format!("gradient {:?} and input {:?} differ", l1.dims(), l2.dims()),
        });
    }
    Ok((grad, input))
}
