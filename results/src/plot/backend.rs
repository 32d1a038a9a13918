//! An SVG backend that measures text without a font file.
//!
//! With plotters' `ab_glyph` feature every text measurement needs a
//! registered font, but an SVG only names its font family: the viewer
//! renders the text. This wrapper forwards drawing to plotters'
//! `SVGBackend` and answers text-size queries with a fixed estimate
//! (0.6 em per character, DejaVu Sans' average advance), so SVG plots work
//! on machines without fonts and are byte-identical on every machine.

use plotters::prelude::SVGBackend;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// Text width estimate in pixels for a plotters font size.
pub fn text_width(text: &str, size: f64) -> f64 {
    0.6 * size / 1.24 * text.chars().count() as f64
}

/// `SVGBackend` with font-free text measurement.
pub struct Svg<'a>(pub SVGBackend<'a>);

impl std::fmt::Debug for Svg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Svg")
    }
}

type Res<'a> = Result<(), DrawingErrorKind<<SVGBackend<'a> as DrawingBackend>::ErrorType>>;

impl<'a> DrawingBackend for Svg<'a> {
    type ErrorType = <SVGBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }
    fn ensure_prepared(&mut self) -> Res<'a> {
        self.0.ensure_prepared()
    }
    fn present(&mut self) -> Res<'a> {
        self.0.present()
    }
    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Res<'a> {
        self.0.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(&mut self, a: BackendCoord, b: BackendCoord, s: &S) -> Res<'a> {
        self.0.draw_line(a, b, s)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        a: BackendCoord,
        b: BackendCoord,
        s: &S,
        fill: bool,
    ) -> Res<'a> {
        self.0.draw_rect(a, b, s, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        s: &S,
    ) -> Res<'a> {
        self.0.draw_path(path, s)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        c: BackendCoord,
        r: u32,
        s: &S,
        fill: bool,
    ) -> Res<'a> {
        self.0.draw_circle(c, r, s, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        s: &S,
    ) -> Res<'a> {
        self.0.fill_polygon(vert, s)
    }
    fn draw_text<T: BackendTextStyle>(&mut self, text: &str, s: &T, pos: BackendCoord) -> Res<'a> {
        self.0.draw_text(text, s, pos)
    }
    fn estimate_text_size<T: BackendTextStyle>(
        &self,
        text: &str,
        s: &T,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        Ok((text_width(text, s.size()) as u32, (s.size() / 1.24) as u32))
    }
    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Res<'a> {
        self.0.blit_bitmap(pos, size, src)
    }
}
