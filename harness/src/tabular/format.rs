//! The table file format, version 1 (all integers little endian):
//!
//! ```text
//! offset        size  content
//! 0             8     magic `NASTABLE`
//! 8             4     format version (u32) = 1
//! 12            4     header length H (u32)
//! 16            H     header: UTF-8 JSON (`TableHeader`)
//! 16+H          8     body length B (u64)
//! 24+H          B     body, zlib-compressed (see below)
//! 24+H+B        32    sha256 of every byte before it
//! ```
//!
//! The uncompressed body holds one record per entry, entries sorted by
//! architecture: `decisions` choices (u16), the index of the entry's
//! canonical representative (u32), MACs (u64), parameters (u64), then for
//! each seed and each fidelity five f32 values: validation accuracy,
//! validation loss, test accuracy, training loss, device seconds (NaN when
//! not recorded). Encoding is deterministic (no timestamps, fixed
//! compression level), so the same content always has the same checksum.

use super::table::{Table, TableHeader, VALUES};
use super::validate::{bad, validate_body, validate_header};
use crate::{Error, Result};
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// The first 8 bytes of every table file.
pub const MAGIC: [u8; 8] = *b"NASTABLE";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

fn record_len(h: &TableHeader) -> usize {
    2 * h.decisions + 4 + 8 + 8 + 4 * VALUES * h.seeds * h.fidelities.len()
}

/// Serialises a table to its file bytes.
pub fn encode(t: &Table) -> Result<Vec<u8>> {
    let header = serde_json::to_vec(&t.header).map_err(|e| Error::Internal(e.to_string()))?;
    let mut body = Vec::with_capacity(t.len() * record_len(&t.header));
    let per = t.header.seeds * t.header.fidelities.len() * VALUES;
    for i in 0..t.len() {
        for c in t.choices_of(i) {
            body.extend_from_slice(&c.to_le_bytes());
        }
        body.extend_from_slice(&t.canonical[i].to_le_bytes());
        body.extend_from_slice(&t.macs[i].to_le_bytes());
        body.extend_from_slice(&t.params[i].to_le_bytes());
        for v in &t.values[i * per..(i + 1) * per] {
            body.extend_from_slice(&v.to_le_bytes());
        }
    }
    let mut z = ZlibEncoder::new(Vec::new(), Compression::new(6));
    z.write_all(&body)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let body = z.finish().map_err(|e| Error::Internal(e.to_string()))?;
    let header_len = u32::try_from(header.len())
        .map_err(|_| Error::Internal("table header over 4 GiB".into()))?;
    let mut out = Vec::with_capacity(24 + header.len() + body.len() + 32);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    Ok(out)
}

fn take<'a>(
    bytes: &'a [u8],
    at: &mut usize,
    n: usize,
    path: &Path,
    what: &str,
) -> Result<&'a [u8]> {
    let end = at.checked_add(n).filter(|&e| e <= bytes.len()).ok_or_else(|| {
        bad(
            path,
            format!(
                "truncated: the file ends at byte {} inside the {what} (which needs bytes {}..{}); copy or rebuild the table again",
                bytes.len(),
                at,
                at.saturating_add(n)
            ),
        )
    })?;
    let s = &bytes[*at..end];
    *at = end;
    Ok(s)
}

fn le_u32(s: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&s[..4]);
    u32::from_le_bytes(a)
}

fn le_u64(s: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&s[..8]);
    u64::from_le_bytes(a)
}

/// Parses and validates table file bytes read from `path`: magic, version,
/// lengths, checksum, header, then the body's structure (see
/// `reader::validate`).
pub fn decode(bytes: &[u8], path: &Path) -> Result<Table> {
    let mut at = 0usize;
    let magic = take(bytes, &mut at, 8, path, "magic number")?;
    if magic != MAGIC {
        return Err(bad(path, "not a nasarena table (the file does not start with `NASTABLE`); create one with `nasarena tabulate import` or `nasarena tabulate`"));
    }
    let version = le_u32(take(bytes, &mut at, 4, path, "format version")?);
    if version != VERSION {
        return Err(bad(
            path,
            format!("table format version {version}, but this build of nasarena reads version {VERSION}; re-create the table with this build (`nasarena tabulate import ...`) or use a matching nasarena"),
        ));
    }
    let header_len = le_u32(take(bytes, &mut at, 4, path, "header length")?) as usize;
    let header_bytes = take(bytes, &mut at, header_len, path, "header")?;
    let body_len = usize::try_from(le_u64(take(bytes, &mut at, 8, path, "body length")?))
        .map_err(|_| bad(path, "body length does not fit in memory"))?;
    let body = take(bytes, &mut at, body_len, path, "body")?;
    let signed = at;
    let stored = take(bytes, &mut at, 32, path, "checksum")?;
    if at != bytes.len() {
        return Err(bad(
            path,
            format!(
                "{} unexpected bytes after the checksum: the file is corrupted",
                bytes.len() - at
            ),
        ));
    }
    let digest = Sha256::digest(&bytes[..signed]);
    if digest.as_slice() != stored {
        return Err(bad(path, "checksum mismatch: the file is corrupted (its contents do not match the sha256 stored at its end); copy or rebuild the table again"));
    }
    let header: TableHeader = serde_json::from_slice(header_bytes)
        .map_err(|e| bad(path, format!("invalid header: {e}")))?;
    validate_header(&header, path)?;
    let expected = header
        .entries
        .checked_mul(record_len(&header))
        .ok_or_else(|| bad(path, "entry count overflows"))?;
    let mut raw = Vec::with_capacity(expected);
    ZlibDecoder::new(body)
        .take(expected as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| bad(path, format!("the body does not decompress: {e}")))?;
    if raw.len() != expected {
        return Err(bad(
            path,
            format!(
                "the body holds {} bytes, {} entries need {expected}",
                raw.len(),
                header.entries
            ),
        ));
    }
    let d = header.decisions;
    let per = header.seeds * header.fidelities.len() * VALUES;
    let n = header.entries;
    let mut t = Table {
        choices: Vec::with_capacity(n * d),
        canonical: Vec::with_capacity(n),
        macs: Vec::with_capacity(n),
        params: Vec::with_capacity(n),
        values: Vec::with_capacity(n * per),
        checksum: hex(stored),
        header,
    };
    for rec in raw.chunks_exact(record_len(&t.header)) {
        let (ch, rest) = rec.split_at(2 * d);
        t.choices
            .extend(ch.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])));
        t.canonical.push(le_u32(rest));
        t.macs.push(le_u64(&rest[4..]));
        t.params.push(le_u64(&rest[12..]));
        t.values.extend(
            rest[20..]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
    }
    validate_body(&t, path)?;
    Ok(t)
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
