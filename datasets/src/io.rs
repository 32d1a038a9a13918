//! Reading files that may or may not be gzip-compressed.
//!
//! Datasets are distributed both ways (`train-images-idx3-ubyte.gz` from
//! Zalando and Debian, unpacked copies in many users' folders), so every
//! reader accepts both and decides by the gzip magic bytes `1f 8b`
//! (RFC 1952), never by the file name.

use crate::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

/// The most bytes a gzip file may decompress to: far above the largest
/// supported file (EMNIST ByClass images, about 0.55 GB), low enough that a
/// corrupt or malicious stream cannot exhaust memory unnoticed.
pub const MAX_DECOMPRESSED: u64 = 4 << 30;

/// Whether `bytes` starts with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The bytes themselves, or their decompression when they are gzip data.
pub fn decode_maybe_gzip<'a>(bytes: &'a [u8], origin: &str) -> Result<Cow<'a, [u8]>> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    // The gzip trailer stores the uncompressed size mod 2^32: a good capacity
    // hint, capped so that a corrupt trailer cannot make us reserve gigabytes.
    let hint = bytes
        .len()
        .checked_sub(4)
        .and_then(|at| bytes.get(at..))
        .and_then(|t| t.try_into().ok())
        .map_or(0, |t: [u8; 4]| u32::from_le_bytes(t) as usize)
        .min(1 << 28);
    let mut out = Vec::with_capacity(hint);
    MultiGzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|source| Error::Gzip {
            path: origin.to_string(),
            source,
        })?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(Error::Format {
            path: origin.to_string(),
            what: format!(
                "decompresses to more than {} GiB; no supported dataset file is that large",
                MAX_DECOMPRESSED >> 30
            ),
        });
    }
    Ok(Cow::Owned(out))
}

/// The whole content of a file, decompressed when it is gzip data.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    match decode_maybe_gzip(&raw, &path.display().to_string())? {
        Cow::Borrowed(_) => Ok(raw),
        Cow::Owned(v) => Ok(v),
    }
}

/// Up to `n` leading (decompressed) bytes of a file, read cheaply: only as
/// much of the file as those bytes need.
pub fn peek(path: &Path, n: usize) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = std::io::BufReader::new(file);
    let mut head = [0u8; 2];
    let got = read_up_to(&mut reader, &mut head).map_err(|e| Error::io(path, e))?;
    let prefix = head.get(..got).unwrap_or_default().to_vec();
    let chained = std::io::Cursor::new(prefix).chain(reader);
    let mut out = vec![0u8; n];
    let got = if is_gzip(&head[..got]) {
        read_up_to(&mut MultiGzDecoder::new(chained), &mut out).map_err(|source| Error::Gzip {
            path: path.display().to_string(),
            source,
        })?
    } else {
        read_up_to(&mut { chained }, &mut out).map_err(|e| Error::io(path, e))?
    };
    out.truncate(got);
    Ok(out)
}

/// Fills `buf` as far as the reader allows; returns how many bytes were read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn plain_and_gzip_decode_to_the_same_bytes() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(&*decode_maybe_gzip(&data, "x").unwrap(), &data[..]);
        assert_eq!(&*decode_maybe_gzip(&gz(&data), "x").unwrap(), &data[..]);
    }

    #[test]
    fn corrupt_gzip_is_an_error_naming_the_file() {
        let mut bad = gz(&[1u8; 1000]);
        let cut = bad.len() / 2;
        bad.truncate(cut);
        let err = decode_maybe_gzip(&bad, "some/file.gz").unwrap_err();
        assert!(matches!(err, Error::Gzip { .. }), "{err}");
        assert!(err.to_string().contains("some/file.gz"), "{err}");
    }

    #[test]
    fn peek_reads_the_decompressed_head() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..100u8).collect();
        let plain = dir.path().join("plain");
        let zipped = dir.path().join("zipped.gz");
        std::fs::write(&plain, &data).unwrap();
        std::fs::write(&zipped, gz(&data)).unwrap();
        assert_eq!(peek(&plain, 8).unwrap(), &data[..8]);
        assert_eq!(peek(&zipped, 8).unwrap(), &data[..8]);
        assert_eq!(peek(&plain, 500).unwrap(), data);
        let missing = peek(&dir.path().join("nope"), 4).unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
    }
}
