//! The image-folder layout for users' own data: one sub-folder per class
//! (the folder name is the class name), PNG or JPEG files inside — the
//! layout of torchvision's `ImageFolder`.
//!
//! Classes are the sub-folders in byte order of their names, images the
//! files in byte order of their names, so the same folder always yields the
//! same dataset and checksum. Every image must have the same size (resize
//! beforehand; silently resizing would change the data). The dataset is
//! grey (1 channel) when every image is grey, RGB otherwise; alpha is
//! dropped.

use crate::dataset::{ImageDataset, Shape};
use crate::{Error, Result};
use image::DynamicImage;
use std::path::{Path, PathBuf};

/// Whether a file name has an image extension this reader decodes.
pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .is_some_and(|e| matches!(e.as_str(), "png" | "jpg" | "jpeg"))
}

/// Sorted entries of a directory that satisfy `keep`, hidden ones skipped.
pub(crate) fn sorted_entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if !hidden && keep(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The class folders of an image-folder dataset and their image files.
pub fn scan(root: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let classes = sorted_entries(root, Path::is_dir)?;
    if classes.is_empty() {
        return Err(Error::Empty {
            path: root.display().to_string(),
            what: "no class sub-folders; expected one folder per class holding PNG/JPEG images"
                .to_string(),
        });
    }
    let mut out = Vec::with_capacity(classes.len());
    for dir in classes {
        let files = sorted_entries(&dir, |p| p.is_file() && is_image_file(p))?;
        if files.is_empty() {
            return Err(Error::Empty {
                path: dir.display().to_string(),
                what: "class folder holds no .png/.jpg/.jpeg images".to_string(),
            });
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((name, files));
    }
    if out.len() > usize::from(u16::MAX) {
        return Err(Error::Format {
            path: root.display().to_string(),
            what: format!("{} classes; at most 65535 are supported", out.len()),
        });
    }
    Ok(out)
}

/// Decodes a PNG or JPEG file, naming it in the error.
pub(crate) fn decode(path: &Path) -> Result<DynamicImage> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    reader.decode().map_err(|source| Error::Image {
        path: path.display().to_string(),
        source,
    })
}

/// Loads an image-folder dataset.
pub fn load(root: &Path, name: &str) -> Result<ImageDataset> {
    let classes = scan(root)?;
    let mut images = Vec::new();
    let mut labels = Vec::new();
    let mut first: Option<(PathBuf, u32, u32)> = None;
    for (label, (_, files)) in classes.iter().enumerate() {
        for f in files {
            let img = decode(f)?;
            let (w, h) = (img.width(), img.height());
            match &first {
                None => first = Some((f.clone(), w, h)),
                Some((p, fw, fh)) if (*fw, *fh) != (w, h) => {
                    return Err(Error::Format {
                        path: f.display().to_string(),
                        what: format!(
                            "image is {w}x{h} but {} is {fw}x{fh}; resize all images to one size",
                            p.display()
                        ),
                    })
                }
                Some(_) => {}
            }
            images.push(img);
            labels.push(label as u16);
        }
    }
    let Some((_, w, h)) = first else {
        return Err(Error::Empty {
            path: root.display().to_string(),
            what: "no images".to_string(),
        });
    };
    let grey = images.iter().all(|i| !i.color().has_color());
    let shape = Shape::new(if grey { 1 } else { 3 }, h as usize, w as usize);
    let mut pixels = Vec::with_capacity(images.len() * shape.numel());
    for img in &images {
        append_planar(img, grey, shape, &mut pixels);
    }
    let names = classes.into_iter().map(|(n, _)| n).collect();
    ImageDataset::new(name, shape, pixels, labels, names)
}

/// Appends one image as planar C x H x W bytes.
fn append_planar(img: &DynamicImage, grey: bool, shape: Shape, out: &mut Vec<u8>) {
    if grey {
        out.extend_from_slice(img.to_luma8().as_raw());
        return;
    }
    let rgb = img.to_rgb8();
    let raw = rgb.as_raw();
    let plane = shape.height * shape.width;
    for c in 0..3 {
        out.extend((0..plane).map(|p| raw[p * 3 + c]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;
    use image::{GrayImage, RgbImage};

    #[test]
    fn grey_pngs_load_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        for (class, n) in [("b_cat", 2u8), ("a_dog", 1)] {
            std::fs::create_dir(dir.path().join(class)).unwrap();
            for k in 0..n {
                let img =
                    GrayImage::from_fn(3, 2, |x, y| image::Luma([(x + 3 * y) as u8 + 10 * k]));
                img.save(dir.path().join(class).join(format!("{k}.png")))
                    .unwrap();
            }
        }
        std::fs::write(dir.path().join("a_dog").join("notes.txt"), "ignored").unwrap();
        let d = load(dir.path(), "mine").unwrap();
        assert_eq!(d.classes(), &["a_dog".to_string(), "b_cat".to_string()]);
        assert_eq!(d.labels(), &[0, 1, 1]);
        assert_eq!(d.shape(), Shape::new(1, 2, 3));
        assert_eq!(d.image(2).unwrap(), &[10, 11, 12, 13, 14, 15]);
    }

    #[test]
    fn rgb_is_planar() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("only")).unwrap();
        let img = RgbImage::from_fn(2, 1, |x, _| image::Rgb([x as u8, 100 + x as u8, 200]));
        img.save(dir.path().join("only").join("a.png")).unwrap();
        let d = load(dir.path(), "rgb").unwrap();
        assert_eq!(d.shape(), Shape::new(3, 1, 2));
        assert_eq!(d.image(0).unwrap(), &[0, 1, 100, 101, 200, 200]);
    }
}
