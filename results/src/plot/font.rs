//! A system TrueType font for PNG text, found at run time (no font files
//! ship with nasarena): `NASARENA_FONT` if set, else common locations of
//! DejaVu Sans, Liberation Sans, Noto Sans, Arial. Registered once with
//! plotters' `ab_glyph` renderer as `sans-serif`.

use std::path::PathBuf;
use std::sync::OnceLock;

const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

static FONT: OnceLock<Result<PathBuf, String>> = OnceLock::new();

fn load() -> Result<PathBuf, String> {
    let env = std::env::var_os("NASARENA_FONT").map(PathBuf::from);
    let mut tried = Vec::new();
    for path in env
        .iter()
        .cloned()
        .chain(CANDIDATES.iter().map(PathBuf::from))
    {
        let Ok(bytes) = std::fs::read(&path) else {
            tried.push(path.display().to_string());
            continue;
        };
        // plotters keeps registered fonts for the whole process.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        if plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes)
            .is_ok()
        {
            return Ok(path);
        }
        tried.push(format!("{} (not a TrueType font)", path.display()));
    }
    Err(format!(
        "no TrueType font for PNG text (tried {}); install one (Debian: apt-get install fonts-dejavu-core) or set NASARENA_FONT=/path/to/font.ttf",
        tried.join(", ")
    ))
}

/// The registered font's path, or why none could be registered.
pub fn ensure_font() -> Result<PathBuf, String> {
    FONT.get_or_init(load).clone()
}
