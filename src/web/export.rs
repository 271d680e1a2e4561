//! Exports that stand alone: each run's rows as CSV with the CLI's columns, and the drawn charts as one PNG
//! that carries its own title, scenario, controllers and seed; each chart brings its own legend and A/B labels,
//! drawn into its canvas.

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use super::charts::Panel;
use super::runner::Engine;
use crate::urlstate::UrlState;

/// Triggers a download of `href` as `file_name`.
fn download(href: &str, file_name: &str) {
    let document = gloo::utils::document();
    if let Ok(a) = document.create_element("a").map(|a| a.unchecked_into::<web_sys::HtmlAnchorElement>()) {
        a.set_href(href);
        a.set_download(file_name);
        a.click();
    }
}

/// The file name stem of an export: scenario, controllers and seed.
pub fn stem(engine: &Engine, url: &UrlState) -> String {
    let controllers: Vec<&str> = engine.lanes.iter().map(|l| l.controller.as_str()).filter(|c| !c.is_empty()).collect();
    let mut out = format!("loadlab-{}", url.scenario);
    if !controllers.is_empty() {
        out.push('-');
        out.push_str(&controllers.join("-vs-"));
    }
    format!("{out}-seed{}", url.seed)
}

/// Triggers a download of `text` as a file of type `mime`.
fn download_text(text: &str, mime: &str, file_name: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(|_| "no Blob")?;
    let href = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| "no object URL")?;
    download(&href, file_name);
    // The download has its own reference to the blob by now.
    let _ = web_sys::Url::revoke_object_url(&href);
    Ok(())
}

/// Downloads run A's rows (and B's, when on) as CSV with the CLI's columns.
pub fn csv(engine: &Engine, url: &UrlState) -> Result<(), String> {
    for (r, lane) in engine.lanes.iter().enumerate() {
        let suffix = if r == 0 { String::new() } else { format!("-b-{}", lane.controller) };
        download_text(&lane.csv(), "text/csv", &format!("{}{suffix}.csv", stem(engine, url)))?;
    }
    Ok(())
}

/// Downloads the scenario file of what runs now (run A's controller), as `export-scenario` writes it.
pub fn scenario(engine: &Engine, url: &UrlState) -> Result<(), String> {
    let text = engine.scenario_file(url)?;
    download_text(&text, "application/toml", &format!("{}.toml", stem(engine, url)))
}

/// CSS pixels of the PNG's header (title and settings) and of each chart's title line.
const HEADER_CSS: f64 = 60.0;
const TITLE_CSS: f64 = 24.0;

/// Downloads every drawn chart, stacked under a header that names the run, each under its title and with the
/// legend drawn in its canvas, as one PNG. (The header once carried a legend of the servers too; since every
/// chart draws its own, that one only repeated them, without the patterns that tell lines apart.)
pub fn png(engine: &Engine, url: &UrlState, panels: &[Panel], title: &str) -> Result<(), String> {
    let document = gloo::utils::document();
    let drawn: Vec<(&Panel, HtmlCanvasElement)> = panels
        .iter()
        .filter_map(|p| {
            let c = document.get_element_by_id(&p.dom_id)?.dyn_into::<HtmlCanvasElement>().ok()?;
            (c.width() > 0 && c.height() > 0 && c.client_width() > 0).then_some((p, c))
        })
        .collect();
    let Some(width) = drawn.iter().map(|(_, c)| c.width()).max() else { return Err("no chart is drawn yet".into()) };
    let dpr = (drawn[0].1.width() as f64 / drawn[0].1.client_width().max(1) as f64).max(1.0);
    let header = HEADER_CSS * dpr;
    let height = header + drawn.iter().map(|(_, c)| c.height() as f64 + TITLE_CSS * dpr).sum::<f64>();
    let sheet: HtmlCanvasElement =
        document.create_element("canvas").map_err(|_| "no canvas")?.dyn_into().map_err(|_| "no canvas")?;
    sheet.set_width(width);
    sheet.set_height(height.ceil() as u32);
    let ctx: CanvasRenderingContext2d =
        sheet.get_context("2d").ok().flatten().and_then(|c| c.dyn_into().ok()).ok_or("the canvas has no 2D context")?;
    ctx.set_fill_style_str("#ffffff");
    ctx.fill_rect(0.0, 0.0, width as f64, height);
    ctx.set_fill_style_str("#1d1f21");
    ctx.set_font(&format!("600 {}px sans-serif", 18.0 * dpr));
    let _ = ctx.fill_text(title, 12.0 * dpr, 24.0 * dpr);
    ctx.set_font(&format!("{}px sans-serif", 13.0 * dpr));
    let runs: Vec<String> = engine
        .lanes
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.controller.is_empty())
        .map(|(r, l)| {
            if engine.lanes.len() > 1 {
                format!("{}: {}", if r == 0 { "A" } else { "B" }, l.controller)
            } else {
                format!("controller {}", l.controller)
            }
        })
        .collect();
    let line = format!(
        "scenario {} · {} · random seed {} · t = {:.1} s · loadlab",
        url.scenario,
        if runs.is_empty() { "no balancer".to_string() } else { runs.join(", ") },
        url.seed,
        engine.now_s()
    );
    let _ = ctx.fill_text(&line, 12.0 * dpr, 46.0 * dpr);
    let mut y = header;
    for (panel, c) in &drawn {
        ctx.set_fill_style_str("#1d1f21");
        ctx.set_font(&format!("600 {}px sans-serif", 14.0 * dpr));
        let _ = ctx.fill_text(&panel.title, 12.0 * dpr, y + 17.0 * dpr);
        y += TITLE_CSS * dpr;
        ctx.draw_image_with_html_canvas_element(c, 0.0, y).map_err(|_| "a chart could not be copied")?;
        y += c.height() as f64;
    }
    let data = sheet.to_data_url_with_type("image/png").map_err(|_| "the charts could not be encoded")?;
    download(&data, &format!("{}.png", stem(engine, url)));
    Ok(())
}
