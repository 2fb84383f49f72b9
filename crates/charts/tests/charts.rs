#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too
//! Exact SVG geometry for small inputs: every chart kind, escaping, empty data, determinism.

use evident_charts::{BarChart, Frame, HBarChart, LineChart, Series, Sparkline};

/// A small frame whose title and description need escaping.
fn frame(id: &str) -> Frame {
    Frame::new(id, "T <1>", "D & d").with_size(200, 100)
}

/// One element per line, so a mismatch shows which element moved.
fn lines(svg: &str) -> String {
    svg.replace("><", ">\n<")
}

fn stacked() -> BarChart {
    BarChart {
        frame: frame("b"),
        x_label: "Week".into(),
        y_label: "Alerts".into(),
        categories: vec!["W1".into(), "W2".into()],
        series: vec![
            Series::new("High", vec![1.0, 2.0]),
            Series::new("Low", vec![2.0, 0.0]),
        ],
    }
}

#[test]
fn stacked_bar_chart() {
    let svg = stacked().to_svg();
    assert_eq!(
        lines(&svg),
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100" role="img" aria-labelledby="b-title b-desc" font-family="sans-serif" font-size="11">
<title id="b-title">T &lt;1&gt;</title>
<desc id="b-desc">D &amp; d</desc>
<line x1="56" y1="56" x2="184" y2="56" stroke="#ddd"/>
<text x="50" y="60" text-anchor="end">0</text>
<line x1="56" y1="46.7" x2="184" y2="46.7" stroke="#ddd"/>
<text x="50" y="50.7" text-anchor="end">1</text>
<line x1="56" y1="37.3" x2="184" y2="37.3" stroke="#ddd"/>
<text x="50" y="41.3" text-anchor="end">2</text>
<line x1="56" y1="28" x2="184" y2="28" stroke="#ddd"/>
<text x="50" y="32" text-anchor="end">3</text>
<g class="bars">
<rect x="65.6" y="46.7" width="44.8" height="9.3" fill="#1f77b4">
<title>W1: High 1</title>
</rect>
<rect x="65.6" y="28" width="44.8" height="18.7" fill="#d62728">
<title>W1: Low 2</title>
</rect>
<rect x="129.6" y="37.3" width="44.8" height="18.7" fill="#1f77b4">
<title>W2: High 2</title>
</rect>
</g>
<text x="88" y="70" text-anchor="middle">W1</text>
<text x="152" y="70" text-anchor="middle">W2</text>
<path d="M56,28V56H184" fill="none" stroke="#333"/>
<text x="120" y="92" text-anchor="middle">Week</text>
<text x="14" y="42" text-anchor="middle" transform="rotate(-90 14 42)">Alerts</text>
<g class="legend">
<rect x="56" y="8" width="10" height="10" fill="#1f77b4"/>
<text x="70" y="17">High</text>
<rect x="114" y="8" width="10" height="10" fill="#d62728"/>
<text x="128" y="17">Low</text>
</g>
</svg>"##
    );
}

#[test]
fn line_chart() {
    let svg = LineChart {
        frame: frame("l"),
        x_label: "Day".into(),
        y_label: "Open".into(),
        labels: vec!["d1".into(), "d2".into(), "d3".into()],
        values: vec![1.0, 3.0, 2.0],
    }
    .to_svg();
    assert_eq!(
        lines(&svg),
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100" role="img" aria-labelledby="l-title l-desc" font-family="sans-serif" font-size="11">
<title id="l-title">T &lt;1&gt;</title>
<desc id="l-desc">D &amp; d</desc>
<line x1="56" y1="56" x2="184" y2="56" stroke="#ddd"/>
<text x="50" y="60" text-anchor="end">0</text>
<line x1="56" y1="46.7" x2="184" y2="46.7" stroke="#ddd"/>
<text x="50" y="50.7" text-anchor="end">1</text>
<line x1="56" y1="37.3" x2="184" y2="37.3" stroke="#ddd"/>
<text x="50" y="41.3" text-anchor="end">2</text>
<line x1="56" y1="28" x2="184" y2="28" stroke="#ddd"/>
<text x="50" y="32" text-anchor="end">3</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="56,46.7 120,28 184,37.3"/>
<g class="points">
<circle cx="56" cy="46.7" r="2.5" fill="#1f77b4">
<title>d1: 1</title>
</circle>
<circle cx="120" cy="28" r="2.5" fill="#1f77b4">
<title>d2: 3</title>
</circle>
<circle cx="184" cy="37.3" r="2.5" fill="#1f77b4">
<title>d3: 2</title>
</circle>
</g>
<text x="56" y="70" text-anchor="middle">d1</text>
<text x="184" y="70" text-anchor="middle">d3</text>
<path d="M56,28V56H184" fill="none" stroke="#333"/>
<text x="120" y="92" text-anchor="middle">Day</text>
<text x="14" y="42" text-anchor="middle" transform="rotate(-90 14 42)">Open</text>
</svg>"##
    );
}

#[test]
fn horizontal_bar_chart() {
    let svg = HBarChart {
        frame: frame("h"),
        x_label: "Hours".into(),
        bars: vec![("High".into(), 4.0), ("Low".into(), 10.0)],
    }
    .to_svg();
    assert_eq!(
        lines(&svg),
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100" role="img" aria-labelledby="h-title h-desc" font-family="sans-serif" font-size="11">
<title id="h-title">T &lt;1&gt;</title>
<desc id="h-desc">D &amp; d</desc>
<line x1="96" y1="12" x2="96" y2="56" stroke="#ddd"/>
<text x="96" y="70" text-anchor="middle">0</text>
<line x1="124" y1="12" x2="124" y2="56" stroke="#ddd"/>
<text x="124" y="70" text-anchor="middle">5</text>
<line x1="152" y1="12" x2="152" y2="56" stroke="#ddd"/>
<text x="152" y="70" text-anchor="middle">10</text>
<text x="90" y="27" text-anchor="end">High</text>
<rect x="96" y="16.4" width="22.4" height="13.2" fill="#1f77b4">
<title>High: 4</title>
</rect>
<text x="122.4" y="27">4</text>
<text x="90" y="49" text-anchor="end">Low</text>
<rect x="96" y="38.4" width="56" height="13.2" fill="#d62728">
<title>Low: 10</title>
</rect>
<text x="156" y="49">10</text>
<line x1="96" y1="12" x2="96" y2="56" stroke="#333"/>
<text x="124" y="92" text-anchor="middle">Hours</text>
</svg>"##
    );
}

#[test]
fn horizontal_bars_take_their_own_colours_and_fall_back_to_the_palette() {
    let chart = HBarChart {
        frame: frame("h"),
        x_label: "Hours".into(),
        bars: vec![("High".into(), 4.0), ("Low".into(), 10.0)],
    };
    let fills = |svg: &str| -> Vec<String> {
        svg.split("fill=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        fills(&chart.to_svg_with_colors(&["#8b0000"])),
        ["#8b0000", "#d62728"]
    );
    assert_eq!(
        fills(&chart.to_svg_with_colors(&["#8b0000", "red\"/>"])),
        ["#8b0000", "red&quot;/&gt;"]
    );
    assert_eq!(chart.to_svg_with_colors(&[]), chart.to_svg());
}

#[test]
fn sparkline() {
    let svg = Sparkline {
        frame: frame("s").with_size(40, 12),
        values: vec![0.0, 4.0, 2.0],
    }
    .to_svg();
    assert_eq!(
        lines(&svg),
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="12" viewBox="0 0 40 12" role="img" aria-labelledby="s-title s-desc" font-family="sans-serif" font-size="11">
<title id="s-title">T &lt;1&gt;</title>
<desc id="s-desc">D &amp; d</desc>
<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="2,10 20,2 38,6"/>
<circle cx="38" cy="6" r="1.5" fill="#d62728"/>
</svg>"##
    );
}

#[test]
fn same_input_same_bytes() {
    assert_eq!(stacked().to_svg(), stacked().to_svg());
}

#[test]
fn own_colour_and_escaped_series_names() {
    let mut chart = stacked();
    chart.series[1] = Series::new("\"Low\" & <b>", vec![2.0, 0.0]).with_color("#123456");
    let svg = chart.to_svg();
    assert!(svg.contains(
        "<rect x=\"65.6\" y=\"28\" width=\"44.8\" height=\"18.7\" fill=\"#123456\"><title>W1: &quot;Low&quot; &amp; &lt;b&gt; 2</title></rect>"
    ));
    assert!(svg.contains("<text x=\"128\" y=\"17\">&quot;Low&quot; &amp; &lt;b&gt;</text>"));
}

#[test]
fn empty_charts_say_no_data() {
    let mut chart = stacked();
    chart.categories.clear();
    assert_eq!(
        chart.to_svg(),
        concat!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"100\" viewBox=\"0 0 200 100\" role=\"img\" aria-labelledby=\"b-title b-desc\" font-family=\"sans-serif\" font-size=\"11\">",
            "<title id=\"b-title\">T &lt;1&gt;</title><desc id=\"b-desc\">D &amp; d</desc>",
            "<text x=\"100\" y=\"50\" text-anchor=\"middle\">No data in this period</text></svg>"
        )
    );
}

#[test]
fn crowded_category_labels_are_thinned() {
    let chart = BarChart {
        frame: Frame::new("w", "Weeks", "Thirty weeks"),
        x_label: "Week".into(),
        y_label: "Alerts".into(),
        categories: (1..=30).map(|i| format!("W{i:02}")).collect(),
        series: vec![Series::new("All", vec![1.0; 30])],
    };
    let svg = chart.to_svg();
    let shown: Vec<&str> = svg
        .split("text-anchor=\"middle\">")
        .skip(1)
        .filter_map(|t| t.split('<').next())
        .filter(|t| t.starts_with('W') && t.len() == 3)
        .collect();
    assert_eq!(
        shown,
        [
            "W01", "W04", "W07", "W10", "W13", "W16", "W19", "W22", "W25", "W28"
        ]
    );
    assert_eq!(svg.matches("<rect ").count(), 30);
}
