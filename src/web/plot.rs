//! Draws the active-connections chart on a canvas with plotters.
//!
//! The canvas's backing store is in device pixels (CSS size × devicePixelRatio) so lines and text are sharp on
//! HiDPI screens; every length here is therefore given in CSS pixels and multiplied by `dpr`.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::history::RowHistory;
use super::palette;

/// Simulated seconds the x axis shows at least, so the first rows do not fill the whole width.
const X_SPAN_MIN_S: f64 = 60.0;

/// Rounds up to 1, 2 or 5 times a power of ten, so the y axis does not jitter with every row.
fn nice_ceiling(value: f64) -> f64 {
    if !(value.is_finite() && value > 1.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if value <= m * magnitude {
            return m * magnitude;
        }
    }
    10.0 * magnitude
}

/// The x range: from the oldest kept point (or zero) to the newest, at least [`X_SPAN_MIN_S`] wide.
pub fn x_range(history: &RowHistory) -> (f64, f64) {
    let first = history.points().next().map_or(0.0, |p| p.time_s);
    let last = history.last().map_or(0.0, |p| p.time_s);
    // The first row ends one step in; start the axis at zero until the history has scrolled.
    let lo = if history.dropped() == 0 { 0.0 } else { first };
    (lo, last.max(lo + X_SPAN_MIN_S))
}

/// Draws the whole chart. Returns a one-line reason if the canvas cannot be drawn on.
pub fn draw(canvas: &HtmlCanvasElement, names: &[String], history: &RowHistory, dpr: f64) -> Result<(), String> {
    let backend = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("the canvas has no 2D context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;

    let px = |css: f64| (css * dpr).round().max(1.0) as u32;
    let font = |css: f64| ("sans-serif", css * dpr).into_font().color(&RGBColor(0x33, 0x33, 0x33));
    let (x_lo, x_hi) = x_range(history);
    let y_hi = nice_ceiling(history.max_active_conns() * 1.08);

    let mut chart = ChartBuilder::on(&root)
        .margin(px(10.0))
        .x_label_area_size(px(38.0))
        .y_label_area_size(px(54.0))
        .build_cartesian_2d(x_lo..x_hi, 0.0..y_hi)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("simulated time (s)")
        .y_desc("active connections")
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(font(12.0))
        .axis_desc_style(font(13.0))
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd).stroke_width(px(1.0)))
        .light_line_style(RGBColor(0xf2, 0xf2, 0xf2).stroke_width(px(1.0)))
        .axis_style(RGBColor(0x66, 0x66, 0x66).stroke_width(px(1.0)))
        .draw()
        .map_err(|e| e.to_string())?;

    for (i, _) in names.iter().enumerate() {
        let (rgb, pattern) = palette::style(i);
        let style = RGBColor(rgb.0, rgb.1, rgb.2).stroke_width(px(1.75));
        let points = history.points().filter_map(move |p| p.active_conns.get(i).map(|&y| (p.time_s, y)));
        let drawn = match pattern.dash_gap_px() {
            None => chart.draw_series(LineSeries::new(points, style)).map(|_| ()),
            Some((dash, gap)) => chart.draw_series(DashedLineSeries::new(points, px(dash), px(gap), style)).map(|_| ()),
        };
        drawn.map_err(|e| e.to_string())?;
    }
    if history.is_empty() {
        let (w, h) = root.dim_in_pixel();
        let centre = (w as i32 / 2, h as i32 / 2);
        let style = font(14.0).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ));
        root.draw_text("waiting for the first time step…", &style, centre).map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
