//! How long the page's animation-frame callbacks take, for the frame-time benchmark.
//!
//! Each callback's duration (performance.now() before and after) goes into a bounded ring; the
//! `loadlab_frame_stats()` function that boot.js puts on `window` returns the count, median and 95th percentile
//! of the durations kept.

use std::cell::RefCell;
use std::collections::VecDeque;

use wasm_bindgen::prelude::*;

/// Frame durations kept: about ten seconds at 60 frames a second.
pub const FRAMES_KEPT: usize = 600;

thread_local! {
    static FRAMES_MS: RefCell<VecDeque<f64>> = RefCell::new(VecDeque::with_capacity(FRAMES_KEPT));
}

/// Records one frame callback's duration, ms (non-finite or negative values are ignored).
pub fn record(duration_ms: f64) {
    if !(duration_ms.is_finite() && duration_ms >= 0.0) {
        return;
    }
    FRAMES_MS.with(|f| {
        let mut f = f.borrow_mut();
        if f.len() == FRAMES_KEPT {
            f.pop_front();
        }
        f.push_back(duration_ms);
    });
}

/// Count, median and 95th percentile (nearest rank) of the kept durations, ms; zeros when there are none.
pub fn summary() -> (usize, f64, f64) {
    FRAMES_MS.with(|f| {
        let mut sorted: Vec<f64> = f.borrow().iter().copied().collect();
        if sorted.is_empty() {
            return (0, 0.0, 0.0);
        }
        sorted.sort_by(f64::total_cmp);
        let rank = |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        (sorted.len(), rank(0.5), rank(0.95))
    })
}

/// `{count, median_ms, p95_ms}` of the recent animation-frame callbacks (boot.js exposes it as
/// `window.loadlab_frame_stats`).
#[wasm_bindgen]
pub fn frame_stats() -> JsValue {
    let (count, median, p95) = summary();
    let out = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&out, &"count".into(), &(count as f64).into());
    let _ = js_sys::Reflect::set(&out, &"median_ms".into(), &median.into());
    let _ = js_sys::Reflect::set(&out, &"p95_ms".into(), &p95.into());
    out.into()
}
