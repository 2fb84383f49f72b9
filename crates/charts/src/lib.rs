//! SVG charts rendered in Rust, so the web UI and the evidence package show the same
//! picture without JavaScript (DESIGN.md §10, §11). Four kinds: [`BarChart`] (optionally
//! stacked, e.g. alert volume per week by severity), [`LineChart`] (open cases over time),
//! [`HBarChart`] (MTTR per severity) and [`Sparkline`] (a source's volume).
//!
//! Every chart is a plain value with public fields; `to_svg()` returns a standalone `<svg>`
//! element with `role="img"`, a `<title>` and `<desc>` (linked by `aria-labelledby`, so the
//! [`Frame::id`] must be unique within a page), axis labels, and a `<title>` on every bar or
//! point so screen readers and hover show the exact value. All text is XML-escaped. Output is
//! deterministic: the same input gives the same bytes (coordinates are rounded to 0.1).
//!
//! ```
//! use evident_charts::{BarChart, Frame, Series};
//! let chart = BarChart {
//!     frame: Frame::new("alerts-week", "Alerts per week", "Alerts opened per ISO week"),
//!     x_label: "Week".into(),
//!     y_label: "Alerts".into(),
//!     categories: vec!["W01".into(), "W02".into()],
//!     series: vec![Series::new("All", vec![3.0, 5.0])],
//! };
//! let svg = chart.to_svg();
//! assert!(svg.starts_with("<svg "));
//! assert!(svg.contains("<title id=\"alerts-week-title\">Alerts per week</title>"));
//! ```

mod axis;
mod svg;

pub use axis::{Axis, format_number};
pub use svg::escape;

use std::fmt::Write as _;

use svg::{Svg, c};

/// Colours used for series in order when a [`Series`] has none of its own; chosen to stay
/// distinguishable in greyscale print (the evidence package is printed).
pub const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#7f7f7f",
];

/// Margins of the plot area inside a chart, in pixels: room for tick labels (left), the legend
/// (top) and category labels plus the axis title (bottom).
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 44.0;

/// What every chart has: an id (prefix of element ids, unique in the page), the accessible
/// title and description, and the size in pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Prefix for the ids of `<title>`/`<desc>`; must be unique within one HTML page.
    pub id: String,
    /// Short accessible name (read first by screen readers, shown on hover).
    pub title: String,
    /// One or two sentences saying what the chart shows, for readers who cannot see it.
    pub desc: String,
    /// Width of the `viewBox` and `width` attribute.
    pub width: u32,
    /// Height of the `viewBox` and `height` attribute.
    pub height: u32,
}

impl Frame {
    /// A 640×240 frame, the size the UI dashboard and the evidence package both use.
    pub fn new(id: &str, title: &str, desc: &str) -> Self {
        Frame {
            id: id.to_string(),
            title: title.to_string(),
            desc: desc.to_string(),
            width: 640,
            height: 240,
        }
    }

    /// The same frame with another size.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }
}

/// One named row of values, one value per category (or per point).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend and in each bar's tooltip.
    pub name: String,
    /// One value per category; missing trailing values count as 0, negatives as 0.
    pub values: Vec<f64>,
    /// CSS colour; `None` takes the next colour of [`PALETTE`].
    pub color: Option<String>,
}

impl Series {
    /// A series coloured from the palette.
    pub fn new(name: &str, values: Vec<f64>) -> Self {
        Series {
            name: name.to_string(),
            values,
            color: None,
        }
    }

    /// The same series with its own colour (e.g. a severity's colour in the UI).
    pub fn with_color(mut self, color: &str) -> Self {
        self.color = Some(color.to_string());
        self
    }
}

/// Vertical bars per category; several series are stacked (first series at the bottom).
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Title, description, size.
    pub frame: Frame,
    /// Label under the category axis.
    pub x_label: String,
    /// Label beside the value axis.
    pub y_label: String,
    /// One label per bar, left to right.
    pub categories: Vec<String>,
    /// Stacked series; a legend is drawn when there is more than one.
    pub series: Vec<Series>,
}

impl BarChart {
    /// The chart as a standalone `<svg>` element.
    pub fn to_svg(&self) -> String {
        let f = &self.frame;
        let mut s = Svg::open(f);
        if self.categories.is_empty() {
            s.no_data(f);
            return s.close();
        }
        let totals: Vec<f64> = (0..self.categories.len())
            .map(|i| self.series.iter().map(|se| value(se, i)).sum())
            .collect();
        let axis = Axis::for_max(totals.iter().copied().fold(0.0, f64::max));
        let plot = Plot::of(f);
        s.y_grid(&plot, &axis);
        let band = plot.w() / self.categories.len() as f64;
        let bar_w = band * 0.7;
        let _ = write!(s.body, "<g class=\"bars\">");
        for (i, cat) in self.categories.iter().enumerate() {
            let x = plot.x0 + band * i as f64 + band * 0.15;
            let mut base = plot.y1;
            for (k, se) in self.series.iter().enumerate() {
                let v = value(se, i);
                if v <= 0.0 {
                    continue;
                }
                let h = plot.h() * v / axis.max;
                base -= h;
                let _ = write!(
                    s.body,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {} {}</title></rect>",
                    c(x),
                    c(base),
                    c(bar_w),
                    c(h),
                    escape(color(se, k)),
                    escape(cat),
                    escape(&se.name),
                    format_number(v)
                );
            }
        }
        s.body.push_str("</g>");
        let step = label_step(self.categories.len(), plot.w());
        for (i, cat) in self.categories.iter().enumerate() {
            if i % step == 0 {
                s.x_tick(plot.x0 + band * (i as f64 + 0.5), plot.y1, cat);
            }
        }
        s.axes(&plot, f, &self.x_label, &self.y_label);
        if self.series.len() > 1 {
            s.legend(&self.series);
        }
        s.close()
    }
}

/// One line over evenly spaced labelled points (e.g. open cases per day).
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title, description, size.
    pub frame: Frame,
    /// Label under the horizontal axis.
    pub x_label: String,
    /// Label beside the value axis.
    pub y_label: String,
    /// One label per point, left to right.
    pub labels: Vec<String>,
    /// One value per label; negatives count as 0.
    pub values: Vec<f64>,
}

impl LineChart {
    /// The chart as a standalone `<svg>` element.
    pub fn to_svg(&self) -> String {
        let f = &self.frame;
        let mut s = Svg::open(f);
        let n = self.labels.len().min(self.values.len());
        if n == 0 {
            s.no_data(f);
            return s.close();
        }
        let values: Vec<f64> = self.values[..n].iter().map(|v| v.max(0.0)).collect();
        let axis = Axis::for_max(values.iter().copied().fold(0.0, f64::max));
        let plot = Plot::of(f);
        s.y_grid(&plot, &axis);
        let xs: Vec<f64> = (0..n)
            .map(|i| {
                if n == 1 {
                    plot.x0 + plot.w() / 2.0
                } else {
                    plot.x0 + plot.w() * i as f64 / (n - 1) as f64
                }
            })
            .collect();
        let ys: Vec<f64> = values
            .iter()
            .map(|v| plot.y1 - plot.h() * v / axis.max)
            .collect();
        let points: Vec<String> = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| format!("{},{}", c(*x), c(*y)))
            .collect();
        let _ = write!(
            s.body,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            PALETTE[0],
            points.join(" ")
        );
        s.body.push_str("<g class=\"points\">");
        for i in 0..n {
            let _ = write!(
                s.body,
                "<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{}\"><title>{}: {}</title></circle>",
                c(xs[i]),
                c(ys[i]),
                PALETTE[0],
                escape(&self.labels[i]),
                format_number(values[i])
            );
        }
        s.body.push_str("</g>");
        let step = label_step(n, plot.w());
        for (i, label) in self.labels[..n].iter().enumerate() {
            if i % step == 0 {
                s.x_tick(xs[i], plot.y1, label);
            }
        }
        s.axes(&plot, f, &self.x_label, &self.y_label);
        s.close()
    }
}

/// Horizontal bars, one labelled row each (e.g. mean time to resolve per severity).
#[derive(Debug, Clone, PartialEq)]
pub struct HBarChart {
    /// Title, description, size.
    pub frame: Frame,
    /// Label under the value axis (say the unit, e.g. "Hours").
    pub x_label: String,
    /// Rows top to bottom: label and value (negatives count as 0).
    pub bars: Vec<(String, f64)>,
}

/// Width of the row-label column of an [`HBarChart`].
const HBAR_LABEL_W: f64 = 96.0;

impl HBarChart {
    /// The chart as a standalone `<svg>` element, bars coloured from [`PALETTE`] in order.
    pub fn to_svg(&self) -> String {
        self.to_svg_with_colors(&[])
    }

    /// The chart with bar `i` filled with `colors[i]` (any SVG colour), so a bar can keep the
    /// colour its category has in other charts (a severity's colour); bars beyond `colors`
    /// take [`PALETTE`] colours as in [`HBarChart::to_svg`].
    pub fn to_svg_with_colors(&self, colors: &[&str]) -> String {
        let f = &self.frame;
        let mut s = Svg::open(f);
        if self.bars.is_empty() {
            s.no_data(f);
            return s.close();
        }
        let axis = Axis::for_max(self.bars.iter().map(|b| b.1.max(0.0)).fold(0.0, f64::max));
        let plot = Plot {
            x0: HBAR_LABEL_W,
            x1: f64::from(f.width) - RIGHT - 32.0,
            y0: 12.0,
            y1: f64::from(f.height) - BOTTOM,
        };
        for t in axis.ticks() {
            let x = plot.x0 + plot.w() * t / axis.max;
            let _ = write!(
                s.body,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#ddd\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                c(plot.y0),
                c(plot.y1),
                c(plot.y1 + 14.0),
                format_number(t),
                x = c(x)
            );
        }
        let row = plot.h() / self.bars.len() as f64;
        for (i, (label, v)) in self.bars.iter().enumerate() {
            let v = v.max(0.0);
            let y = plot.y0 + row * i as f64 + row * 0.2;
            let w = plot.w() * v / axis.max;
            let _ = write!(
                s.body,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect><text x=\"{}\" y=\"{}\">{}</text>",
                c(plot.x0 - 6.0),
                c(y + row * 0.3 + 4.0),
                escape(label),
                c(plot.x0),
                c(y),
                c(w),
                c(row * 0.6),
                escape(colors.get(i).copied().unwrap_or(PALETTE[k_color(i)])),
                escape(label),
                format_number(v),
                c(plot.x0 + w + 4.0),
                c(y + row * 0.3 + 4.0),
                format_number(v)
            );
        }
        let _ = write!(
            s.body,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#333\"/>",
            c(plot.y0),
            c(plot.y1),
            x = c(plot.x0)
        );
        s.x_title(&plot, f, &self.x_label);
        s.close()
    }
}

/// A tiny line without axes for tables (a source's daily volume); its `<title>` states the
/// range so the numbers are not lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Sparkline {
    /// Title (state what and over which period), description, size (e.g. 120×24).
    pub frame: Frame,
    /// Values left to right; negatives count as 0.
    pub values: Vec<f64>,
}

impl Sparkline {
    /// The sparkline as a standalone `<svg>` element; the last value is marked with a dot.
    pub fn to_svg(&self) -> String {
        let f = &self.frame;
        let mut s = Svg::open(f);
        if self.values.is_empty() {
            return s.close();
        }
        let values: Vec<f64> = self.values.iter().map(|v| v.max(0.0)).collect();
        let max = values.iter().copied().fold(0.0, f64::max);
        let (w, h) = (f64::from(f.width) - 4.0, f64::from(f.height) - 4.0);
        let n = values.len();
        let pts: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let x = if n == 1 {
                    2.0 + w / 2.0
                } else {
                    2.0 + w * i as f64 / (n - 1) as f64
                };
                let y = if max > 0.0 {
                    2.0 + h - h * v / max
                } else {
                    2.0 + h
                };
                (x, y)
            })
            .collect();
        let points: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{},{}", c(*x), c(*y)))
            .collect();
        let _ = write!(
            s.body,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>",
            PALETTE[0],
            points.join(" ")
        );
        if let Some((x, y)) = pts.last() {
            let _ = write!(
                s.body,
                "<circle cx=\"{}\" cy=\"{}\" r=\"1.5\" fill=\"{}\"/>",
                c(*x),
                c(*y),
                PALETTE[1]
            );
        }
        s.close()
    }
}

/// Corners of the plot area (y grows downwards, `y1` is the baseline).
struct Plot {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Plot {
    fn of(f: &Frame) -> Self {
        Plot {
            x0: LEFT,
            x1: f64::from(f.width) - RIGHT,
            y0: TOP,
            y1: f64::from(f.height) - BOTTOM,
        }
    }
    fn w(&self) -> f64 {
        (self.x1 - self.x0).max(1.0)
    }
    fn h(&self) -> f64 {
        (self.y1 - self.y0).max(1.0)
    }
}

fn value(series: &Series, i: usize) -> f64 {
    series.values.get(i).copied().unwrap_or(0.0).max(0.0)
}

fn color(series: &Series, k: usize) -> &str {
    series.color.as_deref().unwrap_or(PALETTE[k_color(k)])
}

fn k_color(k: usize) -> usize {
    k % PALETTE.len()
}

/// Show every `step`-th category label so labels (≈ 56 px each) do not overlap.
fn label_step(n: usize, plot_w: f64) -> usize {
    let fit = ((plot_w / 56.0).floor() as usize).max(1);
    n.div_ceil(fit).max(1)
}
