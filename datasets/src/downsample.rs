//! Downsampled variants of a dataset: `NAME@S` is `NAME` with every image
//! reduced to `S x S`. The integer factor `f` nearest to `H / S` is used:
//! the image is first centre-cropped or zero-padded to `f*S x f*S`, then
//! non-overlapping `f x f` pixel blocks are averaged. So `fashion-mnist@16`
//! pads 28 to 32 and halves (NAS-Bench-201's cell networks need sides
//! divisible by 4), `fashion-mnist@12` crops 2 pixels of border each side
//! and halves, `fashion-mnist@14` only halves. NAS-Bench-201 (Dong & Yang
//! 2020) built its ImageNet16-120 by downsampling to make an exhaustive
//! table affordable; nasarena's Fashion-MNIST table does the same.
//!
//! Box averaging is exact integer arithmetic (round half up), so the
//! variant is deterministic and its checksum is stable across machines.

use crate::{Dataset, Error, ImageDataset, Result, Shape, TrainTest};

/// Splits `fashion-mnist@14` into (`fashion-mnist`, 14); `None` when the
/// name has no `@`.
pub fn parse(name: &str) -> Option<Result<(&str, usize)>> {
    let (base, size) = name.rsplit_once('@')?;
    Some(match size.parse::<usize>() {
        Ok(s) if s > 0 && !base.is_empty() => Ok((base, s)),
        _ => Err(Error::Config(format!(
            "dataset `{name}`: expected NAME@SIZE with SIZE a positive whole number of pixels (e.g. fashion-mnist@14)"
        ))),
    })
}

/// Both parts of `tt` reduced to `size x size`, renamed `<name>@<size>`.
pub fn downsample_pair(tt: TrainTest, size: usize) -> Result<TrainTest> {
    Ok(TrainTest {
        train: downsample(&tt.train, size)?,
        test: downsample(&tt.test, size)?,
    })
}

/// `data` with each image reduced to `size x size` (see the module docs).
pub fn downsample(data: &ImageDataset, size: usize) -> Result<ImageDataset> {
    let shape = data.shape();
    if shape.height != shape.width || size == 0 || size > shape.height {
        return Err(Error::Config(format!(
            "{}: cannot downsample {shape} images to {size}x{size}; only square images, to a size between 1 and {}",
            data.name(),
            shape.height
        )));
    }
    let factor = (shape.height + size / 2) / size;
    let out_shape = Shape::new(shape.channels, size, size);
    let mut pixels = Vec::with_capacity(data.len() * out_shape.numel());
    for plane in data.pixels().chunks_exact(shape.height * shape.width) {
        push_averaged(plane, shape.height, factor, size, &mut pixels);
    }
    let name = match data.name().split_once('/') {
        Some((base, part)) => format!("{base}@{size}/{part}"),
        None => format!("{}@{size}", data.name()),
    };
    ImageDataset::new(
        name,
        out_shape,
        pixels,
        data.labels().to_vec(),
        data.classes().to_vec(),
    )
}

/// Appends the `size x size` block averages of one `side x side` plane,
/// centred in (cropped to or zero-padded to) `factor * size` pixels.
fn push_averaged(plane: &[u8], side: usize, factor: usize, size: usize, out: &mut Vec<u8>) {
    // Offset of the plane inside the (conceptual) factor*size canvas:
    // positive pads, negative crops.
    let offset = (factor * size) as isize / 2 - side as isize / 2;
    let pixel = |y: isize, x: isize| -> u32 {
        let (py, px) = (y - offset, x - offset);
        if (0..side as isize).contains(&py) && (0..side as isize).contains(&px) {
            u32::from(plane[py as usize * side + px as usize])
        } else {
            0
        }
    };
    let area = (factor * factor) as u32;
    for by in 0..size {
        for bx in 0..size {
            let mut sum = 0u32;
            for y in by * factor..(by + 1) * factor {
                for x in bx * factor..(bx + 1) * factor {
                    sum += pixel(y as isize, x as isize);
                }
            }
            out.push(((sum + area / 2) / area) as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_images() -> ImageDataset {
        // Two 1x4x4 images: a ramp and a constant.
        let ramp: Vec<u8> = (0..16).map(|i| i as u8 * 10).collect();
        let mut pixels = ramp;
        pixels.extend([7u8; 16]);
        ImageDataset::new(
            "toy/train",
            Shape::new(1, 4, 4),
            pixels,
            vec![0, 1],
            vec!["a".into(), "b".into()],
        )
        .unwrap()
    }

    #[test]
    fn block_averages_round_half_up() {
        let small = downsample(&two_images(), 2).unwrap();
        assert_eq!(small.shape(), Shape::new(1, 2, 2));
        // Top-left block of the ramp: 0, 10, 40, 50 -> 25.
        // Top-right: 20, 30, 60, 70 -> 45; bottom-left: 80, 90, 120, 130 -> 105.
        assert_eq!(small.image(0).unwrap(), &[25, 45, 105, 125]);
        assert_eq!(small.image(1).unwrap(), &[7, 7, 7, 7]);
        assert_eq!(small.labels(), &[0, 1]);
        assert_eq!(small.name(), "toy@2/train");
    }

    #[test]
    fn sizes_between_factors_pad_or_crop_around_the_centre() {
        // 4 -> 3: factor 1, a 3x3 crop that drops the first row and column
        // (the canvas sits at offset 3/2 - 4/2 = -1).
        let cropped = downsample(&two_images(), 3).unwrap();
        assert_eq!(
            cropped.image(0).unwrap(),
            &[50, 60, 70, 90, 100, 110, 130, 140, 150]
        );
        // 4 -> 1: factor 4, the mean of the whole ramp.
        let one = downsample(&two_images(), 1).unwrap();
        assert_eq!(one.image(0).unwrap(), &[75]);
        // 28 -> 16: factor 2 on a 32x32 canvas, a 2-pixel zero border.
        let ones = ImageDataset::new(
            "w",
            Shape::new(1, 28, 28),
            vec![200; 784],
            vec![0],
            vec!["a".into()],
        )
        .unwrap();
        let padded = downsample(&ones, 16).unwrap();
        let img = padded.image(0).unwrap();
        assert_eq!(img[0], 0, "corner block lies wholly in the padding");
        assert_eq!(img[16 + 1], 200, "inner blocks are unchanged");
        assert_eq!(img.iter().filter(|&&p| p == 0).count(), 60);
    }

    #[test]
    fn impossible_sizes_are_refused() {
        let err = downsample(&two_images(), 5).unwrap_err().to_string();
        assert!(
            err.contains("cannot downsample 1x4x4 images to 5x5"),
            "{err}"
        );
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            parse("fashion-mnist@14").unwrap().unwrap(),
            ("fashion-mnist", 14)
        );
        assert!(parse("fashion-mnist").is_none());
        for bad in [
            "fashion-mnist@",
            "fashion-mnist@0",
            "fashion-mnist@x",
            "@14",
        ] {
            let err = parse(bad).unwrap().unwrap_err().to_string();
            assert!(err.contains("NAME@SIZE"), "{bad}: {err}");
        }
    }
}
