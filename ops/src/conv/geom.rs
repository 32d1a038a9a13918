//! Geometry of a grouped 2-D convolution: shapes, validation and output
//! sizes, checked once so the kernels can index without further tests.

use crate::error::{Error, Result};

/// Shapes and hyper-parameters of one NCHW convolution with an OIHW weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c_in: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height.
    pub k_h: usize,
    /// Kernel width.
    pub k_w: usize,
    /// Stride (both axes).
    pub stride: usize,
    /// Zero padding (both axes, both sides).
    pub padding: usize,
    /// Dilation (both axes).
    pub dilation: usize,
    /// Number of channel groups.
    pub groups: usize,
    /// Output height.
    pub h_out: usize,
    /// Output width.
    pub w_out: usize,
}

fn bad(op: &'static str, reason: String) -> Error {
    Error::BadConv { op, reason }
}

/// Output length of one axis, or `None` when the kernel does not fit.
fn out_len(len: usize, k: usize, stride: usize, padding: usize, dilation: usize) -> Option<usize> {
    let span = dilation * (k - 1) + 1;
    let padded = len + 2 * padding;
    (padded >= span).then(|| (padded - span) / stride + 1)
}

impl ConvGeom {
    /// Validates `x` (`[n, c_in, h, w]`) against `w` (`[c_out, c_in / groups, k_h, k_w]`).
    pub fn new(
        op: &'static str,
        x: &[usize],
        w: &[usize],
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
    ) -> Result<Self> {
        let (&[n, c_in, h, wd], &[c_out, c_in_g, k_h, k_w]) = (x, w) else {
            return Err(bad(
                op,
                format!("input {x:?} and weight {w:?} must both be 4-D (NCHW and OIHW)"),
            ));
        };
        if stride == 0 || dilation == 0 || groups == 0 {
            return Err(bad(
                op,
                format!(
                    "stride ({stride}), dilation ({dilation}) and groups ({groups}) must be >= 1"
                ),
            ));
        }
        if k_h == 0 || k_w == 0 {
            return Err(bad(op, format!("kernel {k_h}x{k_w} is empty")));
        }
        if c_in % groups != 0 || c_out % groups != 0 || c_in_g * groups != c_in {
            return Err(bad(
                op,
                format!(
                    "channels do not split into {groups} groups: input has {c_in}, \
                     weight has {c_out} outputs x {c_in_g} inputs per group (need {c_in} = {groups} x {c_in_g})"
                ),
            ));
        }
        let (Some(h_out), Some(w_out)) = (
            out_len(h, k_h, stride, padding, dilation),
            out_len(wd, k_w, stride, padding, dilation),
        ) else {
            return Err(bad(
                op,
                format!("a {k_h}x{k_w} kernel (dilation {dilation}) does not fit a {h}x{wd} input with padding {padding}"),
            ));
        };
        Ok(ConvGeom {
            n,
            c_in,
            h,
            w: wd,
            c_out,
            k_h,
            k_w,
            stride,
            padding,
            dilation,
            groups,
            h_out,
            w_out,
        })
    }

    /// Input channels per group.
    pub fn cin_g(&self) -> usize {
        self.c_in / self.groups
    }

    /// Output channels per group.
    pub fn cout_g(&self) -> usize {
        self.c_out / self.groups
    }

    /// Elements of one input plane.
    pub fn in_plane(&self) -> usize {
        self.h * self.w
    }

    /// Elements of one output plane.
    pub fn out_plane(&self) -> usize {
        self.h_out * self.w_out
    }

    /// Shape of the input.
    pub fn x_dims(&self) -> [usize; 4] {
        [self.n, self.c_in, self.h, self.w]
    }

    /// Shape of the weight.
    pub fn w_dims(&self) -> [usize; 4] {
        [self.c_out, self.cin_g(), self.k_h, self.k_w]
    }

    /// Shape of the output.
    pub fn y_dims(&self) -> [usize; 4] {
        [self.n, self.c_out, self.h_out, self.w_out]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_match_the_usual_formula() {
        let g = ConvGeom::new("t", &[2, 8, 28, 28], &[8, 1, 3, 3], 2, 1, 1, 8).unwrap();
        assert_eq!((g.h_out, g.w_out), (14, 14));
        let g = ConvGeom::new("t", &[1, 4, 9, 9], &[4, 2, 5, 5], 1, 4, 2, 2).unwrap();
        assert_eq!((g.h_out, g.w_out), (9, 9));
    }

    #[test]
    fn bad_shapes_are_errors_not_panics() {
        assert!(ConvGeom::new("t", &[1, 6, 8, 8], &[6, 4, 3, 3], 1, 1, 1, 2).is_err());
        assert!(ConvGeom::new("t", &[1, 6, 2, 2], &[6, 1, 5, 5], 1, 0, 1, 6).is_err());
        assert!(ConvGeom::new("t", &[1, 6, 8], &[6, 1, 3, 3], 1, 0, 1, 6).is_err());
        assert!(ConvGeom::new("t", &[1, 6, 8, 8], &[6, 1, 3, 3], 0, 0, 1, 6).is_err());
    }
}
