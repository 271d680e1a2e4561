//! The overview strip under the first chart: the whole run so far, drawn small (the frame loop draws its
//! canvas), with a brush over it marking the stretch the charts show. Drag across it (mouse, pen or touch:
//! pointer events) to show a stretch; double-click it, press Escape or "Follow the run" to show the whole run
//! again; with the keyboard, the arrow keys move the stretch and zoom it. Every choice goes out as the text a
//! link writes (`6900..8100`, `all`), which the reducer validates.

use wasm_bindgen::JsCast;
use web_sys::HtmlElement;
use yew::prelude::*;

use crate::engine::picture::human;
use crate::engine::scenario::View;
use crate::web::hooks::frame_loop::OVERVIEW_ID;
use crate::web::plot::OVERVIEW_PAD_CSS;

/// A drag shorter than this, CSS pixels, is a click: it centres the stretch shown where it lands.
const CLICK_PX: f64 = 4.0;

/// One arrow key moves the stretch by this fraction of its width.
const KEY_STEP: f64 = 0.1;

/// Props of [`Overview`].
#[derive(Properties, PartialEq)]
pub struct OverviewProps {
    /// What the charts show now, seconds (from, to).
    pub span: (f64, f64),
    /// The end of the strip's time axis, seconds (it starts at zero).
    pub end: f64,
    /// True when the charts show a fixed stretch (the brush's, a step's or a link's), not the run as it goes.
    pub fixed: bool,
    /// The title of the chart the strip draws, for its accessible name.
    pub chart: String,
    /// A new view, as a link writes it.
    pub on_view: Callback<String>,
}

/// Rounds a time for the link: a tenth of a second is finer than a pixel of any strip.
fn tidy(t: f64) -> f64 {
    (t * 10.0).round() / 10.0
}

/// The view of a stretch from `a` to `b` (either order) within `0..=end`, at least [`View::SPAN_MIN_S`] wide.
pub fn span_text(a: f64, b: f64, end: f64) -> String {
    let (lo, hi) = (a.min(b).max(0.0), a.max(b).min(end.max(View::SPAN_MIN_S)));
    let hi = hi.max(lo + View::SPAN_MIN_S);
    View::Span(tidy(lo), tidy(hi).max(tidy(lo) + View::SPAN_MIN_S)).to_text()
}

/// The stretch a key moves or zooms the current one to, as a link writes it; `None` for keys it ignores.
pub fn key_view(key: &str, span: (f64, f64), end: f64) -> Option<String> {
    let (from, to) = span;
    let width = (to - from).max(View::SPAN_MIN_S);
    let shift = |d: f64| {
        let lo = (from + d).clamp(0.0, (end - width).max(0.0));
        span_text(lo, lo + width, end.max(lo + width))
    };
    let zoom = |factor: f64| {
        let centre = (from + to) / 2.0;
        let half = (width * factor / 2.0).min(end / 2.0);
        let lo = (centre - half).clamp(0.0, (end - 2.0 * half).max(0.0));
        span_text(lo, lo + 2.0 * half, end.max(lo + 2.0 * half))
    };
    match key {
        "ArrowLeft" => Some(shift(-width * KEY_STEP)),
        "ArrowRight" => Some(shift(width * KEY_STEP)),
        "ArrowUp" | "+" | "=" => Some(zoom(0.5)),
        "ArrowDown" | "-" => Some(zoom(2.0)),
        "Escape" | "Home" => Some("all".into()),
        _ => None,
    }
}

/// The overview strip and its brush.
#[component]
pub fn Overview(props: &OverviewProps) -> Html {
    let strip = use_node_ref();
    // The drag in progress: where it started and where the pointer is, seconds.
    let drag = use_state(|| None::<(f64, f64)>);
    let end = props.end.max(View::SPAN_MIN_S);
    // Pointer x → seconds, through the strip's box and the plot's padding.
    let time_at = {
        let strip = strip.clone();
        move |client_x: i32| -> f64 {
            let Some(el) = strip.cast::<HtmlElement>() else { return 0.0 };
            let r = el.get_bounding_client_rect();
            let width = (r.width() - 2.0 * OVERVIEW_PAD_CSS).max(1.0);
            ((client_x as f64 - r.left() - OVERVIEW_PAD_CSS) / width).clamp(0.0, 1.0) * end
        }
    };
    let px_per_s = strip
        .cast::<HtmlElement>()
        .map_or(1.0, |el| (el.get_bounding_client_rect().width() - 2.0 * OVERVIEW_PAD_CSS).max(1.0) / end);
    let on_down = {
        let (drag, time_at) = (drag.clone(), time_at.clone());
        Callback::from(move |e: PointerEvent| {
            if e.button() != 0 {
                return;
            }
            e.prevent_default();
            if let Some(el) = e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                let _ = el.set_pointer_capture(e.pointer_id());
            }
            let t = time_at(e.client_x());
            drag.set(Some((t, t)));
        })
    };
    let on_move = {
        let (drag, time_at) = (drag.clone(), time_at.clone());
        Callback::from(move |e: PointerEvent| {
            if let Some((start, _)) = *drag {
                drag.set(Some((start, time_at(e.client_x()))));
            }
        })
    };
    let on_up = {
        let (drag, time_at, on_view, span) = (drag.clone(), time_at.clone(), props.on_view.clone(), props.span);
        Callback::from(move |e: PointerEvent| {
            let Some((start, _)) = *drag else { return };
            drag.set(None);
            let t = time_at(e.client_x());
            if (t - start).abs() * px_per_s < CLICK_PX {
                // A click: the stretch shown, as wide as it is, centred where it landed.
                let half = (span.1 - span.0).max(View::SPAN_MIN_S) / 2.0;
                let lo = (t - half).clamp(0.0, (end - 2.0 * half).max(0.0));
                on_view.emit(span_text(lo, lo + 2.0 * half, end.max(lo + 2.0 * half)));
            } else {
                on_view.emit(span_text(start, t, end));
            }
        })
    };
    let on_cancel = {
        let drag = drag.clone();
        Callback::from(move |_: PointerEvent| drag.set(None))
    };
    let follow = {
        let on_view = props.on_view.clone();
        Callback::from(move |_: MouseEvent| on_view.emit("all".into()))
    };
    let on_key = {
        let (on_view, span) = (props.on_view.clone(), props.span);
        Callback::from(move |e: KeyboardEvent| {
            if let Some(text) = key_view(&e.key(), span, end) {
                e.prevent_default();
                on_view.emit(text);
            }
        })
    };
    // The brushes, drawn in an SVG laid over the plot (attributes, not inline styles, which the page's
    // Content-Security-Policy refuses): its x axis is the run's time in thousandths of `end`.
    let rect = |a: f64, b: f64, class: &'static str| {
        let x = |t: f64| (t / end).clamp(0.0, 1.0) * 1000.0;
        let (lo, hi) = (x(a.min(b)), x(a.max(b)));
        html! { <rect class={class} x={format!("{lo:.2}")} y="0" width={format!("{:.2}", (hi - lo).max(2.0))} height="100"
        vector-effect="non-scaling-stroke" /> }
    };
    let (from, to) = props.span;
    let words = View::Span(from, to).words();
    let label = format!(
        "Overview of the whole run, {} s long{}: the charts show {words}. Drag across it to show a stretch; left and right arrows move the stretch, up and down zoom, Escape or a double-click shows the whole run.",
        human(end, 1),
        if props.chart.is_empty() { String::new() } else { format!(" ({})", props.chart) }
    );
    html! {
        <div class="overview">
            <div class="overview-strip" ref={strip} tabindex="0" role="slider" aria-label={label}
                aria-valuemin="0" aria-valuemax={format!("{end:.1}")} aria-valuenow={format!("{from:.1}")}
                aria-valuetext={format!("the charts show {words}")}
                onpointerdown={on_down} onpointermove={on_move} onpointerup={on_up} onpointercancel={on_cancel}
                ondblclick={follow.clone()} onkeydown={on_key}>
                <canvas id={OVERVIEW_ID} aria-hidden="true" />
                <svg class="brushes" viewBox="0 0 1000 100" preserveAspectRatio="none" aria-hidden="true">
                    { rect(from, to, "brush") }
                    if let Some((a, b)) = *drag {
                        { rect(a, b, "brush dragging") }
                    }
                </svg>
            </div>
            <p class="hint overview-hint">
                { "The whole run: drag across it to show a stretch, double-click for the whole run; with the keys, ←/→ move and ↑/↓ zoom. " }
                if props.fixed {
                    <button type="button" id="follow-run" class="link" onclick={follow}>{ "Follow the run" }</button>
                }
            </p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::{key_view, span_text};
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn a_drag_in_either_direction_is_one_stretch_within_the_run() {
        assert_eq!(span_text(8100.0, 6900.0, 9000.0), "6900..8100");
        assert_eq!(span_text(-5.0, 30.04, 60.0), "0..30");
        // Narrower than a second grows to a second; past the end stops at it.
        assert_eq!(span_text(10.0, 10.2, 60.0), "10..11");
        assert_eq!(span_text(50.0, 70.0, 60.0), "50..60");
    }

    #[wasm_bindgen_test]
    fn keys_move_and_zoom_the_stretch_and_escape_follows_the_run() {
        // 100 s wide at 1000..1100 of 25,200: a step is 10 s.
        let span = (1000.0, 1100.0);
        assert_eq!(key_view("ArrowRight", span, 25_200.0).as_deref(), Some("1010..1110"));
        assert_eq!(key_view("ArrowLeft", span, 25_200.0).as_deref(), Some("990..1090"));
        assert_eq!(key_view("ArrowUp", span, 25_200.0).as_deref(), Some("1025..1075"));
        assert_eq!(key_view("ArrowDown", span, 25_200.0).as_deref(), Some("950..1150"));
        // At the start it stays inside the run.
        assert_eq!(key_view("ArrowLeft", (0.0, 100.0), 25_200.0).as_deref(), Some("0..100"));
        assert_eq!(key_view("Escape", span, 25_200.0).as_deref(), Some("all"));
        assert_eq!(key_view("a", span, 25_200.0), None);
    }
}
