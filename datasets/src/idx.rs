//! The IDX format of MNIST (LeCun et al. 1998), as also used by
//! Fashion-MNIST (Xiao et al. 2017), KMNIST (Clanuwat et al. 2018) and EMNIST
//! (Cohen et al. 2017).
//!
//! A file is a 4-byte magic number `00 00 TT DD` (TT the element type, 0x08
//! for unsigned bytes; DD the number of dimensions), DD big-endian u32
//! dimension sizes, then the elements in row-major order. Label files are
//! `0x00000801` (N), image files `0x00000803` (N x rows x cols). Only
//! unsigned-byte files exist for these datasets, so only those are read.
//! EMNIST images are stored transposed (column-major) by its authors; they
//! are returned as stored.

use crate::{Error, Result};

/// The magic number of an IDX label file.
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// The magic number of an IDX image file.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;

/// The images of an IDX image file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count x rows x cols` pixels.
    pub pixels: Vec<u8>,
}

/// Parses the decompressed bytes of an IDX image file; `origin` names the
/// file in errors.
pub fn parse_images(bytes: &[u8], origin: &str) -> Result<IdxImages> {
    let (dims, body) = parse_header(bytes, origin, IMAGES_MAGIC, "an IDX image file")?;
    let [count, rows, cols] = dims[..] else {
        return Err(wrong_image_dims(origin, dims.len()));
    };
    if rows == 0 || cols == 0 {
        return Err(Error::Format {
            path: origin.to_string(),
            what: format!("images of {rows}x{cols} pixels are empty"),
        });
    }
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: body.to_vec(),
    })
}

/// Parses the decompressed bytes of an IDX label file.
pub fn parse_labels(bytes: &[u8], origin: &str) -> Result<Vec<u8>> {
    let (_, body) = parse_header(bytes, origin, LABELS_MAGIC, "an IDX label file")?;
    Ok(body.to_vec())
}

/// The magic number at the start of `bytes`, if there are four bytes.
pub fn magic(bytes: &[u8]) -> Option<u32> {
    bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
}

/// Checks the magic number and sizes; returns the dimensions and the data,
/// which is exactly as long as the dimensions say.
fn parse_header<'a>(
    bytes: &'a [u8],
    origin: &str,
    expected: u32,
    what: &str,
) -> Result<(Vec<usize>, &'a [u8])> {
    let path = || origin.to_string();
    let Some(found) = magic(bytes) else {
        return Err(Error::Truncated {
            path: path(),
            what: format!("{} bytes, too short for an IDX header", bytes.len()),
        });
    };
    if found != expected {
        let hint = match found {
            LABELS_MAGIC => "this is an IDX label file",
            IMAGES_MAGIC => "this is an IDX image file",
            m if m >> 16 == 0 && (m >> 8) & 0xff != 0x08 => "IDX of a non-byte element type",
            _ => "not an IDX file of this kind",
        };
        return Err(Error::BadMagic {
            path: path(),
            found,
            expected: format!("{expected:#010x} for {what}"),
            what: hint.to_string(),
        });
    }
    let ndims = (expected & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    let Some(header) = bytes.get(4..header_len) else {
        return Err(Error::Truncated {
            path: path(),
            what: format!(
                "{} bytes, the header needs {header_len} for {ndims} dimension(s)",
                bytes.len()
            ),
        });
    };
    let dims: Vec<usize> = header
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let body = &bytes[header_len..];
    let want = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match want {
        Some(w) if w == body.len() => Ok((dims, body)),
        Some(w) if w > body.len() => Err(Error::Truncated {
            path: path(),
            what: format!(
                "the header announces {dims:?} = {w} bytes of data but only {} follow",
                body.len()
            ),
        }),
        Some(w) => Err(Error::Format {
            path: path(),
            what: format!(
                "{} bytes of data follow the header but {dims:?} needs exactly {w}; \
                 the file has trailing garbage",
                body.len()
            ),
        }),
        None => Err(Error::Format {
            path: path(),
            what: format!("the dimensions {dims:?} overflow"),
        }),
    }
}

/// An image header whose dimension count is not the three (count, rows,
/// cols) of an IDX image file. The magic number fixes the count, so only a
/// header that passed the magic check with another count lands here; it is
/// still the file's fault, and the message says so.
fn wrong_image_dims(origin: &str, ndims: usize) -> Error {
    Error::Format {
        path: origin.to_string(),
        what: format!(
            "the image header has {ndims} dimension(s); an IDX image file has three \
             (count, rows, cols)"
        ),
    }
}

/// Serialises an image file (for tests, scripts and round trips).
pub fn encode_images(count: usize, rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + pixels.len());
    out.extend_from_slice(&IMAGES_MAGIC.to_be_bytes());
    for d in [count, rows, cols] {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Serialises a label file.
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let px: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        let img = parse_images(&encode_images(2, 3, 4, &px), "f").unwrap();
        assert_eq!((img.count, img.rows, img.cols), (2, 3, 4));
        assert_eq!(img.pixels, px);
        assert_eq!(
            parse_labels(&encode_labels(&[3, 1]), "l").unwrap(),
            vec![3, 1]
        );
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let good = encode_images(2, 3, 4, &[0; 24]);
        let e = parse_images(&good[..good.len() - 1], "a.idx").unwrap_err();
        assert!(
            matches!(e, Error::Truncated { .. }) && e.to_string().contains("a.idx"),
            "{e}"
        );
        let e = parse_images(&good[..10], "a.idx").unwrap_err();
        assert!(matches!(e, Error::Truncated { .. }), "{e}");
        let e = parse_labels(&good, "b.idx").unwrap_err();
        assert!(e.to_string().contains("this is an IDX image file"), "{e}");
        let mut trailing = encode_labels(&[1, 2]);
        trailing.push(0);
        let e = parse_labels(&trailing, "c").unwrap_err();
        assert!(e.to_string().contains("trailing"), "{e}");
        let mut huge = encode_images(2, 3, 4, &[0; 24]);
        huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_images(&huge, "d").is_err());
        let empty = encode_images(0, 0, 4, &[]);
        assert!(parse_images(&empty, "e").is_err());
    }
}
