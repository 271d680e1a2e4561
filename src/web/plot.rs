//! Draws the page's charts on canvases with plotters: line charts over simulated time (active connections,
//! weights, PID terms, latency, errors, workers) and paired bars (shares now against configured shares).
//!
//! Canvas backing stores are in device pixels (CSS size × devicePixelRatio) so lines and text are sharp on HiDPI
//! screens; every length here is given in CSS pixels and multiplied by `dpr`. Series are decimated to at most
//! one point per device pixel of width before drawing.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::palette::{self, Pattern, Rgb};

/// Simulated seconds the x axis shows at least, so the first rows do not fill the whole width.
pub const X_SPAN_MIN_S: f64 = 60.0;

/// One line on a time chart.
pub struct Series {
    /// Colour.
    pub colour: Rgb,
    /// Stroke pattern (the second carrier of identity for colour-blind readers).
    pub pattern: Pattern,
    /// Line width, CSS pixels (the faulty server's line is thicker).
    pub width_css: f64,
    /// (simulated seconds, value), oldest first.
    pub points: Vec<(f64, f64)>,
}

/// A vertical line at a command's time (a fault, an operator action, a surge).
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// When, simulated seconds.
    pub time_s: f64,
    /// A few words.
    pub label: String,
}

/// Rounds a magnitude up to 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten, so axes do not jitter with
/// every row and a peak never leaves more than a third of the chart empty (2400 gets 2500, not 5000).
pub fn nice_ceiling(value: f64) -> f64 {
    if !(value.is_finite() && value > 1e-9) {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for m in [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if value <= m * magnitude * (1.0 + 1e-12) {
            return m * magnitude;
        }
    }
    10.0 * magnitude
}

/// Keeps at most about `max_points` of `points`, so a series never has more vertices than the canvas has pixels:
/// each run of points keeps its lowest and its highest (in time order), so a series that swings between two
/// values (flow control pausing every few seconds) still draws its whole band, and a spike survives; the newest
/// point is always kept. (Keeping every k-th point would pick one side of a swing and draw a flat line.)
pub fn decimate(points: Vec<(f64, f64)>, max_points: usize) -> Vec<(f64, f64)> {
    let max_points = max_points.max(4);
    if points.len() <= max_points {
        return points;
    }
    let stride = points.len().div_ceil(max_points / 2);
    let mut out = Vec::with_capacity(max_points + 1);
    for chunk in points.chunks(stride) {
        let lo = chunk.iter().enumerate().min_by(|a, b| a.1 .1.total_cmp(&b.1 .1)).map_or(0, |(i, _)| i);
        let hi = chunk.iter().enumerate().max_by(|a, b| a.1 .1.total_cmp(&b.1 .1)).map_or(0, |(i, _)| i);
        let (first, second) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(chunk[first]);
        if second != first {
            out.push(chunk[second]);
        }
    }
    if let (Some(last), Some(kept)) = (points.last(), out.last()) {
        if last != kept {
            out.push(*last);
        }
    }
    out
}

/// Draws a chart's mesh (grid, axes, labels) in the style every chart shares, once the chart has set its own
/// labels and descriptions.
fn draw_mesh(
    mesh: &mut plotters::chart::MeshStyle<
        '_,
        '_,
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
        CanvasBackend,
    >,
    dpr: f64,
) -> Result<(), String> {
    mesh.label_style(font(dpr, 11.0))
        .axis_desc_style(font(dpr, 12.0))
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd).stroke_width(px(dpr, 1.0)))
        .light_line_style(RGBColor(0xf2, 0xf2, 0xf2).stroke_width(px(dpr, 1.0)))
        .axis_style(RGBColor(0x66, 0x66, 0x66).stroke_width(px(dpr, 1.0)))
        .draw()
        .map_err(|e| e.to_string())
}

fn font(dpr: f64, css: f64) -> TextStyle<'static> {
    ("sans-serif", css * dpr).into_font().color(&RGBColor(0x33, 0x33, 0x33))
}

fn px(dpr: f64, css: f64) -> u32 {
    (css * dpr).round().max(1.0) as u32
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn area(canvas: &HtmlCanvasElement) -> Result<DrawingArea<CanvasBackend, Shift>, String> {
    let backend = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("the canvas has no 2D context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    Ok(root)
}

fn centre_text(root: &DrawingArea<CanvasBackend, Shift>, dpr: f64, text: &str) -> Result<(), String> {
    let (w, h) = root.dim_in_pixel();
    let style = font(dpr, 14.0).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw_text(text, &style, (w as i32 / 2, h as i32 / 2)).map_err(|e| e.to_string())
}

/// One entry of a chart's own legend (drawn inside the canvas, so exports carry it).
pub struct Key {
    /// What the line is.
    pub label: String,
    /// Its colour.
    pub colour: Rgb,
    /// Its pattern.
    pub pattern: Pattern,
}

/// What a time chart shows.
pub struct LineChart<'a> {
    /// The y axis's description.
    pub y_desc: &'a str,
    /// The x range, simulated seconds.
    pub x: (f64, f64),
    /// The lines.
    pub series: &'a [Series],
    /// Labelled vertical lines (commands, controller actions).
    pub markers: &'a [Marker],
    /// (from, to) spans marked along the top edge (the PID's clamp).
    pub ticks: &'a [(f64, f64)],
    /// The y axis always includes this (so A/B panels can share a scale).
    pub y_at_least: f64,
    /// A log10 y axis (latencies that span decades).
    pub log: bool,
    /// Legend entries, drawn in rows above the plot (never over its lines); empty for none.
    pub keys: &'a [Key],
    /// Markers whose label rows the space above the plot makes room for as well (the other run's, when A and B
    /// are side by side), so that both plots start at the same height and a value sits at the same height in
    /// each; they are not drawn.
    pub room_for: &'a [Marker],
}

/// Rows of marker labels at most.
const MARKER_ROWS: usize = 3;

/// Markers closer than this many characters' width share one label: they are one moment at this scale.
const MERGE_CHARS: f64 = 2.0;

/// Longest label of merged markers, characters; more are counted ("+2 more") instead of listed.
const MERGED_CHARS_MAX: usize = 44;

/// A marker's label as placed: its row (0 at the top), where it starts (pixels, the same axis as the markers'
/// x) and its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Placed {
    /// Row, 0 at the top.
    pub row: usize,
    /// Where the text starts, pixels.
    pub x: f64,
    /// The words.
    pub text: String,
}

/// Joins the labels of markers at one moment: labels about the same target keep it once ("node3 desynced,
/// tables locked"), others are listed with a dot; too many are counted.
fn merge_labels(labels: &[&str]) -> String {
    let mut out = String::new();
    let mut first_word = "";
    for (k, label) in labels.iter().enumerate() {
        let word = label.split(' ').next().unwrap_or("");
        let piece = if k == 0 {
            first_word = word;
            label.to_string()
        } else if word == first_word && label.len() > word.len() {
            format!(", {}", label[word.len()..].trim_start())
        } else {
            format!(" · {label}")
        };
        if out.chars().count() + piece.chars().count() > MERGED_CHARS_MAX && k > 0 {
            out.push_str(&format!(" +{} more", labels.len() - k));
            break;
        }
        out.push_str(&piece);
    }
    out
}

/// Where each marker's label goes, for markers in time order at `xs_px`: `Some` for the first marker of each
/// moment (markers closer than [`MERGE_CHARS`] characters share one label, [`merge_labels`]), `None` for the
/// rest of a moment and for a label that fits nowhere (the line stays, and the text alternative lists it).
/// A label goes in the first row where it does not overlap the one before it, and never runs past `right_px`:
/// near the right edge it ends there instead of starting at its line. (Shortening a label would not help: the
/// rows are full because of the labels before it.)
pub fn place_labels(xs_px: &[f64], labels: &[String], char_px: f64, right_px: f64) -> Vec<Option<Placed>> {
    let mut out: Vec<Option<Placed>> = vec![None; labels.len()];
    let mut ends = [f64::NEG_INFINITY; MARKER_ROWS];
    let mut i = 0;
    while i < labels.len().min(xs_px.len()) {
        let x = xs_px[i];
        let mut j = i + 1;
        while j < labels.len().min(xs_px.len()) && xs_px[j] - x < MERGE_CHARS * char_px {
            j += 1;
        }
        let mut moment: Vec<&str> = Vec::new();
        for l in &labels[i..j] {
            if !moment.contains(&l.as_str()) {
                moment.push(l);
            }
        }
        let text = merge_labels(&moment);
        let width = text.chars().count() as f64 * char_px + 6.0;
        let start = x.min(right_px - width).max(0.0);
        if let Some(row) = ends.iter().position(|&end| start > end) {
            ends[row] = start + width;
            out[i] = Some(Placed { row, x: start, text });
        }
        i = j;
    }
    out
}

fn log_value(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v.log10()
    } else {
        f64::NAN
    }
}

/// Formats a log10 axis value as the number it stands for: 10^2.5 → "316".
fn log_label(v: f64) -> String {
    let x = 10f64.powf(v);
    if x >= 10.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// The y range of a chart: linear from zero (spanning both signs when values are negative), or log10 from the
/// decade under the smallest value to the one over the largest.
fn y_range(c: &LineChart, values: &[f64]) -> (f64, f64) {
    if c.log {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !(lo.is_finite() && hi.is_finite()) {
            return (0.0, 3.0);
        }
        let (lo, hi) = (lo.floor(), hi.ceil());
        return (lo, if hi > lo { hi } else { lo + 1.0 });
    }
    let hi = values.iter().copied().fold(if c.y_at_least.is_finite() { c.y_at_least.max(0.0) } else { 0.0 }, f64::max);
    let lo = values.iter().copied().fold(0.0, f64::min);
    let y_hi = if hi > 0.0 {
        nice_ceiling(hi * 1.08)
    } else if lo < 0.0 {
        0.0
    } else {
        1.0
    };
    let y_lo = if lo < 0.0 { -nice_ceiling(-lo * 1.08) } else { 0.0 };
    (y_lo, y_hi)
}

/// Width of a marker label's character at its 10.5 px font, CSS pixels (an average over the words it prints).
const MARKER_CHAR_CSS: f64 = 5.6;

/// Width of a tick label's character at the 11 px font, CSS pixels: digits are about 6.2 px wide.
const TICK_CHAR_CSS: f64 = 6.2;

/// Room for a chart's y axis (its rotated description and its widest tick label, with gaps) and to the right of
/// the plot (half of the last time label, which plotters centres on the right edge), CSS pixels: so no tick
/// label is clipped and the description never touches the ticks.
fn label_room(y_labels: &[String], last_x_label: &str) -> (f64, f64) {
    let widest = y_labels.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f64;
    // The description (12 px, rotated), a gap, the labels, a gap and the tick mark.
    let y_area = 16.0 + 6.0 + widest * TICK_CHAR_CSS + 5.0 + 6.0;
    let right = (last_x_label.chars().count() as f64 * TICK_CHAR_CSS / 2.0 + 6.0).max(20.0);
    (y_area.max(44.0), right)
}

/// Draws a time chart: `series` over `x` (simulated seconds), with `markers` as labelled vertical lines.
pub fn draw_lines(canvas: &HtmlCanvasElement, dpr: f64, c: &LineChart) -> Result<(), String> {
    let root = area(canvas)?;
    let map = |v: f64| if c.log { log_value(v) } else { v };
    let values: Vec<f64> =
        c.series.iter().flat_map(|s| s.points.iter().map(|p| map(p.1))).filter(|v| v.is_finite()).collect();
    let (y_lo, y_hi) = y_range(c, &values);
    let small = (y_hi - y_lo) < 10.0;
    let narrow = canvas.width() as f64 / dpr < 480.0;
    let x = c.x;
    let log = c.log;
    let y_label = |v: f64| {
        if log {
            log_label(v)
        } else if small {
            format!("{v:.2}")
        } else {
            crate::engine::picture::compact(v)
        }
    };
    let x_label = |v: f64| format!("{v:.0}");
    let (y_area, right) = label_room(&[y_label(y_lo), y_label(y_hi), y_label((y_lo + y_hi) / 2.0)], &x_label(x.1));
    // Marker label rows are placed before the chart is built, on estimated x positions, so the space above
    // the plot is only as tall as the rows in use; each label is then drawn as far from its line as estimated.
    let width_px = canvas.width() as f64;
    let plot_left = px(dpr, 8.0 + y_area) as f64;
    let plot_right = width_px - px(dpr, right) as f64;
    let estimate = |t: f64| plot_left + (t - x.0) / (x.1 - x.0).max(1e-9) * (plot_right - plot_left);
    let in_view = |m: &&Marker| m.time_s >= x.0 && m.time_s <= x.1;
    let place = |shown: &[&Marker]| {
        let labels: Vec<String> = shown.iter().map(|m| m.label.clone()).collect();
        let xs: Vec<f64> = shown.iter().map(|m| estimate(m.time_s)).collect();
        let placed = place_labels(&xs, &labels, MARKER_CHAR_CSS * dpr, width_px - px(dpr, 2.0) as f64);
        let rows = placed.iter().flatten().map(|p| p.row + 1).max().unwrap_or(0);
        (xs, placed, rows)
    };
    let shown: Vec<&Marker> = c.markers.iter().filter(in_view).collect();
    let (xs, placed, own_rows) = place(&shown);
    let rows = own_rows.max(place(&c.room_for.iter().filter(in_view).collect::<Vec<_>>()).2);
    let key_rows = key_layout(c.keys, width_px / dpr - 16.0);
    let key_height = key_rows.last().map_or(0.0, |(row, _)| (row + 1) as f64 * KEY_ROW_CSS + 4.0);

    let mut chart = ChartBuilder::on(&root)
        .margin(px(dpr, 8.0))
        .margin_right(px(dpr, right))
        .margin_top(px(dpr, 14.0 + 13.0 * rows as f64 + key_height))
        .x_label_area_size(px(dpr, 34.0))
        .y_label_area_size(px(dpr, y_area))
        .build_cartesian_2d(x.0..x.1, y_lo..y_hi)
        .map_err(|e| e.to_string())?;
    draw_mesh(
        chart
            .configure_mesh()
            .x_desc("simulated time (s)")
            .y_desc(c.y_desc)
            .x_labels(if narrow { 4 } else { 7 })
            .y_labels(if log { ((y_hi - y_lo) as usize + 1).clamp(2, 8) } else { 5 })
            .x_label_formatter(&|v| x_label(*v))
            .y_label_formatter(&|v| y_label(*v)),
        dpr,
    )?;

    let grey = RGBColor(0x55, 0x55, 0x55);
    for ((m, place), est) in shown.iter().zip(placed).zip(&xs) {
        let line = vec![(m.time_s, y_lo), (m.time_s, y_hi)];
        chart
            .draw_series(DashedLineSeries::new(line, px(dpr, 4.0), px(dpr, 3.0), grey.stroke_width(px(dpr, 1.0))))
            .map_err(|e| e.to_string())?;
        if let Some(p) = place {
            let style = font(dpr, 10.5).pos(Pos::new(HPos::Left, VPos::Bottom));
            let (bx, by) = chart.backend_coord(&(m.time_s, y_hi));
            let y = by - px(dpr, 2.0 + 13.0 * (own_rows - 1 - p.row) as f64) as i32;
            // Where the label was placed, relative to its line, from the line's drawn position.
            let lx = (bx as f64 + (p.x - est) + px(dpr, 2.0) as f64).round() as i32;
            root.draw_text(&p.text, &style, (lx, y)).map_err(|e| e.to_string())?;
        }
    }

    let max_points = canvas.width().max(2) as usize;
    for s in c.series {
        let style = rgb(s.colour).stroke_width(px(dpr, s.width_css));
        let points =
            decimate(s.points.iter().map(|&(t, v)| (t, map(v))).filter(|p| p.1.is_finite()).collect(), max_points);
        let drawn = match s.pattern.dash_gap_px() {
            None => chart.draw_series(LineSeries::new(points, style)).map(|_| ()),
            Some((dash, gap)) => {
                chart.draw_series(DashedLineSeries::new(points, px(dpr, dash), px(dpr, gap), style)).map(|_| ())
            }
        };
        drawn.map_err(|e| e.to_string())?;
    }
    if !c.ticks.is_empty() {
        // Ticks along the top edge (the PID's clamp): one short bar per clamped step.
        let style = RGBColor(0x33, 0x33, 0x33).filled();
        let height = (y_hi - y_lo) * 0.05;
        chart
            .draw_series(c.ticks.iter().map(|&(t0, t1)| Rectangle::new([(t0, y_hi - height), (t1, y_hi)], style)))
            .map_err(|e| e.to_string())?;
    }
    draw_keys(&root, dpr, c.keys, &key_rows)?;
    if c.series.iter().all(|s| s.points.is_empty()) {
        centre_text(&root, dpr, "paused at t = 0: press Play, Step or Next")?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// Height of one row of legend entries, CSS pixels.
const KEY_ROW_CSS: f64 = 15.0;

/// Width of a legend entry, CSS pixels: its swatch, a gap, its words at the 11 px font and a gap to the next.
fn key_width_css(k: &Key) -> f64 {
    28.0 + k.label.chars().count() as f64 * TICK_CHAR_CSS + 14.0
}

/// Where each legend entry goes: its row and its left edge from the canvas's left margin, CSS pixels, filling a
/// row of `width_css` before starting the next (an entry wider than a row gets a row of its own).
fn key_layout(keys: &[Key], width_css: f64) -> Vec<(usize, f64)> {
    let mut out = Vec::with_capacity(keys.len());
    let (mut row, mut x) = (0, 0.0);
    for k in keys {
        let w = key_width_css(k);
        if x > 0.0 && x + w > width_css {
            row += 1;
            x = 0.0;
        }
        out.push((row, x));
        x += w;
    }
    out
}

/// Draws legend entries in rows along the top of the canvas, each a swatch stroked like its lines and its words.
fn draw_keys(
    root: &DrawingArea<CanvasBackend, Shift>,
    dpr: f64,
    keys: &[Key],
    layout: &[(usize, f64)],
) -> Result<(), String> {
    for (k, &(row, x_css)) in keys.iter().zip(layout) {
        let x0 = px(dpr, 8.0 + x_css) as i32;
        let y = px(dpr, 4.0 + KEY_ROW_CSS * row as f64 + KEY_ROW_CSS / 2.0) as i32;
        let style = rgb(k.colour).stroke_width(px(dpr, 2.5));
        let seg = vec![(x0, y), (x0 + px(dpr, 22.0) as i32, y)];
        match k.pattern.dash_gap_px() {
            None => root.draw(&PathElement::new(seg, style)).map_err(|e| e.to_string())?,
            Some((dash, gap)) => {
                let mut x = x0;
                while x < seg[1].0 {
                    let end = (x + px(dpr, dash) as i32).min(seg[1].0);
                    root.draw(&PathElement::new(vec![(x, y), (end, y)], style)).map_err(|e| e.to_string())?;
                    x = end + px(dpr, gap) as i32;
                }
            }
        }
        let text = font(dpr, 11.0).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw_text(&k.label, &text, (x0 + px(dpr, 28.0) as i32, y)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Space left and right of the overview's plot, CSS pixels: the brush over it uses the same.
pub const OVERVIEW_PAD_CSS: f64 = 8.0;

/// Height of the overview's time labels under its plot, CSS pixels.
const OVERVIEW_LABELS_CSS: f64 = 14.0;

/// Draws the overview strip: `series` over `x` (the whole run), thin, from the lowest value to the highest, with
/// the times at both ends under it. The brush is drawn over it by the page, so a drag needs no redraw.
pub fn draw_overview(
    canvas: &HtmlCanvasElement,
    dpr: f64,
    x: (f64, f64),
    series: &[Series],
    log: bool,
) -> Result<(), String> {
    let root = area(canvas)?;
    let map = |v: f64| if log { log_value(v) } else { v };
    let values: Vec<f64> =
        series.iter().flat_map(|s| s.points.iter().map(|p| map(p.1))).filter(|v| v.is_finite()).collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    };
    let pad = (hi - lo) * 0.06;
    let mut chart = ChartBuilder::on(&root)
        .margin_left(px(dpr, OVERVIEW_PAD_CSS))
        .margin_right(px(dpr, OVERVIEW_PAD_CSS))
        .margin_top(px(dpr, 3.0))
        .margin_bottom(px(dpr, OVERVIEW_LABELS_CSS))
        .build_cartesian_2d(x.0..x.1.max(x.0 + 1e-9), (lo - pad)..(hi + pad))
        .map_err(|e| e.to_string())?;
    let frame = RGBColor(0xcc, 0xcc, 0xcc).stroke_width(px(dpr, 1.0));
    chart
        .draw_series(std::iter::once(Rectangle::new([(x.0, lo - pad), (x.1, hi + pad)], frame)))
        .map_err(|e| e.to_string())?;
    let max_points = canvas.width().max(2) as usize;
    for s in series {
        let style = rgb(s.colour).stroke_width(px(dpr, 1.0));
        let points =
            decimate(s.points.iter().map(|&(t, v)| (t, map(v))).filter(|p| p.1.is_finite()).collect(), max_points);
        chart.draw_series(LineSeries::new(points, style)).map_err(|e| e.to_string())?;
    }
    let (w, h) = root.dim_in_pixel();
    let y = h as i32 - px(dpr, 1.0) as i32;
    let left = font(dpr, 10.5).pos(Pos::new(HPos::Left, VPos::Bottom));
    let right = font(dpr, 10.5).pos(Pos::new(HPos::Right, VPos::Bottom));
    let t = |v: f64| format!("{} s", crate::engine::picture::human(v, 1));
    root.draw_text(&t(x.0), &left, (px(dpr, OVERVIEW_PAD_CSS) as i32, y)).map_err(|e| e.to_string())?;
    root.draw_text(&t(x.1), &right, (w as i32 - px(dpr, OVERVIEW_PAD_CSS) as i32, y)).map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// Colours of a swimlane's states in code order: calm grey, working blue, waiting orange, broken vermillion
/// (Okabe–Ito), then the rest of the palette.
const STATE_COLOURS: [Rgb; 6] = [
    Rgb(0xd5, 0xd9, 0xdd),
    palette::COLOURS[0],
    palette::COLOURS[4],
    palette::COLOURS[1],
    palette::COLOURS[3],
    palette::COLOURS[6],
];

/// The colour of state `code`.
pub fn state_colour(code: usize) -> Rgb {
    STATE_COLOURS[code.min(STATE_COLOURS.len() - 1)]
}

/// Draws codes over time as a swimlane: one band per row (`(label, points)`), each stretch coloured by the
/// state it was in, with a legend of `states` along the top.
pub fn draw_states(
    canvas: &HtmlCanvasElement,
    dpr: f64,
    x: (f64, f64),
    rows: &[(String, Vec<(f64, f64)>)],
    states: &[&str],
) -> Result<(), String> {
    let root = area(canvas)?;
    let n = rows.len().max(1);
    let (_, right) = label_room(&[], &format!("{:.0}", x.1));
    let mut chart = ChartBuilder::on(&root)
        .margin(px(dpr, 8.0))
        .margin_right(px(dpr, right))
        // Room for the states' legend: two lines on a narrow canvas.
        .margin_top(px(dpr, if canvas.width() as f64 / dpr < 480.0 { 40.0 } else { 26.0 }))
        .x_label_area_size(px(dpr, 34.0))
        .y_label_area_size(px(dpr, 44.0))
        .build_cartesian_2d(x.0..x.1, 0.0..n as f64)
        .map_err(|e| e.to_string())?;
    draw_mesh(
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("simulated time (s)")
            .x_labels(7)
            .y_labels(0)
            .x_label_formatter(&|v| format!("{v:.0}")),
        dpr,
    )?;
    for (r, (label, points)) in rows.iter().enumerate() {
        // Row 0 at the top: band r spans [n − r − 1, n − r), a little inset.
        let (lo, hi) = ((n - r - 1) as f64 + 0.12, (n - r) as f64 - 0.12);
        let bands = points.windows(2).filter_map(|w| {
            let (t0, v) = w[0];
            let t1 = w[1].0;
            (v.is_finite() && t1 > t0).then(|| {
                let colour = rgb(state_colour(v.max(0.0).round() as usize)).filled();
                Rectangle::new([(t0.max(x.0), lo), (t1.min(x.1), hi)], colour)
            })
        });
        chart.draw_series(bands).map_err(|e| e.to_string())?;
        let (_, cy) = chart.backend_coord(&(x.0, (lo + hi) / 2.0));
        let (lx, _) = chart.backend_coord(&(x.0, 0.0));
        let style = font(dpr, 11.0).pos(Pos::new(HPos::Right, VPos::Center));
        root.draw_text(label, &style, (lx - px(dpr, 6.0) as i32, cy)).map_err(|e| e.to_string())?;
    }
    // The legend: a swatch and a word per state, left to right along the top, wrapping to a second line on a
    // narrow canvas.
    let swatch = px(dpr, 10.0) as i32;
    let width = canvas.width() as i32;
    let (mut at, mut top) = (px(dpr, 52.0) as i32, px(dpr, 4.0) as i32);
    for (code, word) in states.iter().enumerate() {
        let item = swatch + px(dpr, 14.0 + 6.2 * word.chars().count() as f64) as i32;
        if at + item > width && at > px(dpr, 52.0) as i32 {
            at = px(dpr, 52.0) as i32;
            top += px(dpr, 13.0) as i32;
        }
        root.draw(&Rectangle::new([(at, top), (at + swatch, top + swatch)], rgb(state_colour(code)).filled()))
            .map_err(|e| e.to_string())?;
        let style = font(dpr, 11.0).pos(Pos::new(HPos::Left, VPos::Top));
        root.draw_text(word, &style, (at + swatch + px(dpr, 4.0) as i32, top - px(dpr, 1.0) as i32))
            .map_err(|e| e.to_string())?;
        at += item;
    }
    if rows.is_empty() {
        centre_text(&root, dpr, "nothing to show")?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// Draws each server's share now against its configured share: a hollow bar for the configured share, then
/// one filled bar per run (A, B) in that run's colour.
pub fn draw_shares(
    canvas: &HtmlCanvasElement,
    dpr: f64,
    names: &[&str],
    faulty: &[bool],
    configured: &[f64],
    runs: &[Vec<f64>],
) -> Result<(), String> {
    let root = area(canvas)?;
    let n = names.len().max(1);
    let hi = configured.iter().chain(runs.iter().flatten()).copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
    let y_hi = (hi * 1.15).clamp(0.05, 1.0);
    let mut chart = ChartBuilder::on(&root)
        .margin(px(dpr, 8.0))
        .margin_top(px(dpr, 14.0))
        .x_label_area_size(px(dpr, 30.0))
        .y_label_area_size(px(dpr, 48.0))
        .build_cartesian_2d(0.0..n as f64, 0.0..y_hi)
        .map_err(|e| e.to_string())?;
    draw_mesh(
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(5)
            .y_desc("share of connections")
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0)),
        dpr,
    )?;

    let bars = 1 + runs.len();
    let width = 0.8 / bars as f64;
    let outline = RGBColor(0x33, 0x33, 0x33).stroke_width(px(dpr, 1.5));
    for (i, &share) in configured.iter().enumerate() {
        let x0 = i as f64 + 0.1;
        chart
            .draw_series(std::iter::once(Rectangle::new([(x0, 0.0), (x0 + width, share)], outline)))
            .map_err(|e| e.to_string())?;
        for (r, shares) in runs.iter().enumerate() {
            let v = shares.get(i).copied().filter(|v| v.is_finite()).unwrap_or(0.0);
            let xr = x0 + width * (r + 1) as f64;
            let fill = rgb(palette::RUNS[r % palette::RUNS.len()]).filled();
            chart
                .draw_series(std::iter::once(Rectangle::new([(xr, 0.0), (xr + width * 0.92, v)], fill)))
                .map_err(|e| e.to_string())?;
        }
    }
    // Server names under their bars, shortened when the bars are narrow.
    let (x_left, _) = chart.backend_coord(&(0.0, 0.0));
    let (x_right, y_base) = chart.backend_coord(&(n as f64, 0.0));
    let slot_css = (x_right - x_left) as f64 / n as f64 / dpr;
    let size = if slot_css < 44.0 { 9.0 } else { 11.0 };
    let style = font(dpr, size).pos(Pos::new(HPos::Center, VPos::Top));
    // A faulty server's name in its reserved colour, bold, as its lines are thick on the other charts.
    let broken = ("sans-serif", size * dpr)
        .into_font()
        .style(FontStyle::Bold)
        .color(&rgb(palette::FAULTY))
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (i, name) in names.iter().enumerate() {
        let label: String = if slot_css < 34.0 && name.chars().count() > 4 {
            let tail: Vec<char> = name.chars().rev().take(4).collect();
            tail.into_iter().rev().collect()
        } else {
            name.to_string()
        };
        let (cx, _) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        let style = if faulty.get(i).copied().unwrap_or(false) { &broken } else { &style };
        root.draw_text(&label, style, (cx, y_base + px(dpr, 4.0) as i32)).map_err(|e| e.to_string())?;
    }
    if configured.is_empty() {
        centre_text(&root, dpr, "no replicas to share connections")?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{nice_ceiling, place_labels};
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn decimation_keeps_both_sides_of_a_swing() {
        // 10,000 points swinging 0, 5500, 0, 5500 … must still reach both values after decimation to 500.
        let points: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, if i % 2 == 0 { 0.0 } else { 5500.0 })).collect();
        let kept = super::decimate(points, 500);
        assert!(kept.len() <= 501, "{}", kept.len());
        let highs = kept.iter().filter(|p| p.1 == 5500.0).count();
        let lows = kept.iter().filter(|p| p.1 == 0.0).count();
        assert!(highs > 200 && lows > 200, "{highs} highs, {lows} lows");
        assert!(kept.windows(2).all(|w| w[0].0 < w[1].0), "time order");
        assert_eq!(kept.last().map(|p| p.0), Some(9999.0));
    }

    #[wasm_bindgen_test]
    fn ceilings_are_tight_and_round() {
        // The steps 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10 never grow by more than 1.5×, so the largest value fills
        // at least two thirds of the axis.
        assert_eq!(nice_ceiling(2400.0), 2500.0);
        assert_eq!(nice_ceiling(690.0), 800.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        let mut v = 0.013;
        while v < 1e7 {
            let c = nice_ceiling(v);
            assert!(c >= v && c <= 1.5 * v * (1.0 + 1e-9), "{v} → {c}");
            v *= 1.07;
        }
    }

    #[wasm_bindgen_test]
    fn marker_labels_never_overlap_and_markers_at_one_moment_share_a_label() {
        // 5 px a character: a label of n characters is 5n + 6 px wide, and markers under 10 px apart are one
        // moment.
        let labels: Vec<String> = ["node3 desynced", "node3 tables locked", "db1119 crashed", "cluster restarted"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // The first two at one moment (4 px apart) share one label, keeping their target once; the third, 40 px
        // on, overlaps it and takes the next row; the fourth, far on, goes back to the first row.
        let placed = place_labels(&[100.0, 104.0, 140.0, 600.0], &labels, 5.0, 1000.0);
        let texts: Vec<Option<(usize, &str)>> =
            placed.iter().map(|p| p.as_ref().map(|p| (p.row, p.text.as_str()))).collect();
        assert_eq!(
            texts,
            vec![
                Some((0, "node3 desynced, tables locked")),
                None,
                Some((1, "db1119 crashed")),
                Some((0, "cluster restarted"))
            ]
        );
        // No two labels in a row overlap, and none runs past the right edge.
        let spans: Vec<(usize, f64, f64)> =
            placed.iter().flatten().map(|p| (p.row, p.x, p.x + p.text.chars().count() as f64 * 5.0 + 6.0)).collect();
        for (k, a) in spans.iter().enumerate() {
            assert!(a.2 <= 1000.0, "{a:?}");
            for b in &spans[k + 1..] {
                assert!(a.0 != b.0 || a.2 < b.1 || b.2 < a.1, "{a:?} overlaps {b:?}");
            }
        }
    }

    #[wasm_bindgen_test]
    fn a_label_at_the_right_edge_ends_there_and_one_with_no_room_is_left_out() {
        let labels: Vec<String> = (0..5).map(|i| format!("controller cuts db11{i}9")).collect();
        // 22 characters at 5 px and 6 px of padding: 116 px. At x = 950 of 1000 it starts at 1000 − 116 = 884.
        let placed = place_labels(&[950.0], &labels[..1], 5.0, 1000.0);
        assert_eq!(placed[0].as_ref().map(|p| (p.row, p.x)), Some((0, 884.0)));
        // Five labels 10 px apart (not one moment, which is under 10 px): three rows hold three whole ones; the
        // fourth and fifth fit no row, and are left out rather than printed over the others.
        let placed = place_labels(&[0.0, 10.0, 20.0, 30.0, 40.0], &labels, 5.0, 1000.0);
        let rows: Vec<Option<usize>> = placed.iter().map(|p| p.as_ref().map(|p| p.row)).collect();
        assert_eq!(rows, vec![Some(0), Some(1), Some(2), None, None]);
        // Once the first row's label ends (at 116 px), a later one goes back to it.
        let placed = place_labels(&[0.0, 10.0, 20.0, 117.0], &labels[..4], 5.0, 1000.0);
        assert_eq!(placed[3].as_ref().map(|p| p.row), Some(0));
    }

    #[wasm_bindgen_test]
    fn many_markers_at_one_moment_are_counted() {
        let labels: Vec<String> = (0..6).map(|i| format!("db11{i}9 crashed")).collect();
        let placed = place_labels(&[50.0; 6], &labels, 5.0, 1000.0);
        let text = placed[0].as_ref().map(|p| p.text.clone()).unwrap_or_default();
        assert!(text.starts_with("db1109 crashed · db1119 crashed") && text.ends_with("more"), "{text}");
        assert!(text.chars().count() <= 44 + " +9 more".len(), "{text}");
        assert!(placed[1..].iter().all(Option::is_none));
    }
}
