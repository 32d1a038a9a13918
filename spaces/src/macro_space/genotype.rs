//! The `macro` genotype string: one token per layer, separated by `|`.
//!
//! ```text
//! 3x5:36:-|1x1:24:0|7x7:64:0,1
//! ```
//!
//! A token is `HxW:F:SKIPS`: filter height and width (1, 3, 5 or 7),
//! filter count (24, 36, 48 or 64), and the earlier layers whose outputs
//! this layer reads (`-` for none: the layer reads the image). With the
//! stride decision on (`strides=2` or `3`), a stride field sits before the
//! skips: `HxW:F:sS:SKIPS`, e.g. `3x3:48:s2:0`. [`format`] writes skips in
//! increasing order; [`parse`] accepts any order (each layer once).

use super::space::{Layer, MacroSpace, FILTERS, KERNELS};
use nasarena_core::{Arch, CoreError};

fn list(values: &[usize]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes one layer's token.
pub fn format_layer(layer: &Layer, with_stride: bool) -> String {
    let skips = if layer.inputs.is_empty() {
        "-".to_string()
    } else {
        layer
            .inputs
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let stride = if with_stride {
        format!("s{}:", layer.stride)
    } else {
        String::new()
    };
    format!(
        "{}x{}:{}:{stride}{skips}",
        layer.kh, layer.kw, layer.filters
    )
}

/// The genotype string of a valid architecture.
pub fn format(space: &MacroSpace, arch: &Arch) -> String {
    space
        .decode(arch)
        .iter()
        .map(|l| format_layer(l, space.max_stride() > 1))
        .collect::<Vec<_>>()
        .join("|")
}

struct Ctx<'a> {
    space: &'a MacroSpace,
    layer: usize,
    offset: usize,
}

impl Ctx<'_> {
    fn err(&self, field: &str, reason: String) -> CoreError {
        CoreError::Parse {
            space: "macro".into(),
            position: format!("layer {} {field} (character {})", self.layer, self.offset),
            reason,
        }
    }
}

/// Parses a genotype string.
pub fn parse(space: &MacroSpace, text: &str) -> Result<Arch, CoreError> {
    let mut layers = Vec::new();
    let mut offset = 0;
    let tokens: Vec<&str> = text.split('|').collect();
    if tokens.len() != space.layers() {
        return Err(CoreError::Parse {
            space: "macro".into(),
            position: "character 0".into(),
            reason: format!(
                "expected {} layers separated by `|`, found {}; example: {}",
                space.layers(),
                tokens.len(),
                example(space)
            ),
        });
    }
    for (layer, token) in tokens.iter().enumerate() {
        let ctx = Ctx {
            space,
            layer,
            offset,
        };
        layers.push(parse_layer(&ctx, token)?);
        offset += token.len() + 1;
    }
    Ok(space.encode(&layers))
}

fn parse_layer(ctx: &Ctx, token: &str) -> Result<Layer, CoreError> {
    let fields: Vec<&str> = token.trim().split(':').collect();
    let with_stride = ctx.space.max_stride() > 1;
    let expected = if with_stride { 4 } else { 3 };
    let shape = if with_stride {
        "HxW:F:sS:SKIPS"
    } else {
        "HxW:F:SKIPS"
    };
    if fields.len() != expected {
        return Err(ctx.err(
            "",
            format!(
                "expected `{shape}` like `3x5:36:{}0`, got `{token}`",
                if with_stride { "s1:" } else { "" }
            ),
        ));
    }
    let (h, w) = fields[0].split_once('x').ok_or_else(|| {
        ctx.err(
            "kernel",
            format!("expected `HxW` like `3x5`, got `{}`", fields[0]),
        )
    })?;
    let kernel = |name: &str, v: &str| -> Result<usize, CoreError> {
        number(v)
            .filter(|k| KERNELS.contains(k))
            .ok_or_else(|| ctx.err(name, format!("`{v}` is not one of {}", list(&KERNELS))))
    };
    let kh = kernel("filter height", h)?;
    let kw = kernel("filter width", w)?;
    let filters = number(fields[1])
        .filter(|f| FILTERS.contains(f))
        .ok_or_else(|| {
            ctx.err(
                "filter count",
                format!("`{}` is not one of {}", fields[1], list(&FILTERS)),
            )
        })?;
    let stride = if with_stride {
        let max = ctx.space.max_stride();
        fields[2]
            .strip_prefix('s')
            .and_then(number)
            .filter(|s| (1..=max).contains(s))
            .ok_or_else(|| {
                ctx.err(
                    "stride",
                    format!("`{}` is not one of s1..s{max}", fields[2]),
                )
            })?
    } else {
        1
    };
    let inputs = parse_skips(ctx, fields[expected - 1])?;
    Ok(Layer {
        kh,
        kw,
        filters,
        stride,
        inputs,
    })
}

fn number(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_skips(ctx: &Ctx, text: &str) -> Result<Vec<usize>, CoreError> {
    if text == "-" {
        return Ok(Vec::new());
    }
    let valid = if ctx.layer == 0 {
        "layer 0 has no earlier layers: write `-`".to_string()
    } else {
        format!(
            "write `-` or earlier layers from 0..{} separated by commas",
            ctx.layer - 1
        )
    };
    let mut inputs = Vec::new();
    for item in text.split(',') {
        match number(item) {
            Some(j) if j < ctx.layer && !inputs.contains(&j) => inputs.push(j),
            Some(j) if inputs.contains(&j) => {
                return Err(ctx.err("skips", format!("layer {j} is listed twice")))
            }
            _ => {
                return Err(ctx.err(
                    "skips",
                    format!("`{item}` is not an earlier layer; {valid}"),
                ))
            }
        }
    }
    inputs.sort_unstable();
    Ok(inputs)
}

/// A fixed example genotype of `space`: 3x3 convolutions, each reading the
/// layer before it, widths cycling through the filter counts (shown in
/// parse errors).
pub fn example(space: &MacroSpace) -> String {
    let layers: Vec<Layer> = (0..space.layers())
        .map(|i| Layer {
            kh: 3,
            kw: if i % 2 == 0 { 3 } else { 5 },
            filters: FILTERS[i % 4],
            stride: 1,
            inputs: if i == 0 { vec![] } else { vec![i - 1] },
        })
        .collect();
    format(space, &space.encode(&layers))
}
