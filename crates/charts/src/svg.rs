//! The SVG writer the charts share: the opening element with its accessible title and
//! description, grid, ticks, axes, legend, and text escaping.

use std::fmt::Write as _;

use crate::axis::{Axis, format_coord, format_number};
use crate::{Frame, Plot, Series};

/// Escape text for XML content and attribute values (`& < > " '`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Shorthand for [`format_coord`] in the chart code.
pub(crate) fn c(v: f64) -> String {
    format_coord(v)
}

/// An SVG document being written.
pub(crate) struct Svg {
    pub(crate) body: String,
}

impl Svg {
    pub(crate) fn open(f: &Frame) -> Self {
        let id = escape(&f.id);
        let body = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" font-family=\"sans-serif\" font-size=\"11\"><title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
            escape(&f.title),
            escape(&f.desc),
            w = f.width,
            h = f.height,
        );
        Svg { body }
    }

    pub(crate) fn close(mut self) -> String {
        self.body.push_str("</svg>");
        self.body
    }

    pub(crate) fn no_data(&mut self, f: &Frame) {
        let _ = write!(
            self.body,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">No data in this period</text>",
            c(f64::from(f.width) / 2.0),
            c(f64::from(f.height) / 2.0)
        );
    }

    /// Horizontal grid lines with value labels at each tick of the value axis.
    pub(crate) fn y_grid(&mut self, plot: &Plot, axis: &Axis) {
        for t in axis.ticks() {
            let y = plot.y1 - plot.h() * t / axis.max;
            let _ = write!(
                self.body,
                "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                c(plot.x0),
                c(plot.x1),
                c(plot.x0 - 6.0),
                c(y + 4.0),
                format_number(t),
                y = c(y)
            );
        }
    }

    pub(crate) fn x_tick(&mut self, x: f64, baseline: f64, label: &str) {
        let _ = write!(
            self.body,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            c(x),
            c(baseline + 14.0),
            escape(label)
        );
    }

    /// The two axis lines and both axis titles.
    pub(crate) fn axes(&mut self, plot: &Plot, f: &Frame, x_label: &str, y_label: &str) {
        let _ = write!(
            self.body,
            "<path d=\"M{},{}V{}H{}\" fill=\"none\" stroke=\"#333\"/>",
            c(plot.x0),
            c(plot.y0),
            c(plot.y1),
            c(plot.x1)
        );
        self.x_title(plot, f, x_label);
        let mid = c((plot.y0 + plot.y1) / 2.0);
        let _ = write!(
            self.body,
            "<text x=\"14\" y=\"{mid}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {mid})\">{}</text>",
            escape(y_label)
        );
    }

    pub(crate) fn x_title(&mut self, plot: &Plot, f: &Frame, x_label: &str) {
        let _ = write!(
            self.body,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            c((plot.x0 + plot.x1) / 2.0),
            c(f64::from(f.height) - 8.0),
            escape(x_label)
        );
    }

    /// A one-row legend above the plot: a swatch and the name per series.
    pub(crate) fn legend(&mut self, series: &[Series]) {
        let mut x = crate::LEFT;
        self.body.push_str("<g class=\"legend\">");
        for (k, se) in series.iter().enumerate() {
            let colour = crate::color(se, k);
            let _ = write!(
                self.body,
                "<rect x=\"{}\" y=\"8\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"17\">{}</text>",
                c(x),
                escape(colour),
                c(x + 14.0),
                escape(&se.name)
            );
            x += 14.0 + 7.0 * se.name.chars().count() as f64 + 16.0;
        }
        self.body.push_str("</g>");
    }
}
