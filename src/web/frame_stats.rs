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
    static PARTS_MS: RefCell<VecDeque<[f64; 3]>> = RefCell::new(VecDeque::with_capacity(FRAMES_KEPT));
}

/// Records where one frame's time went, ms: simulating, drawing charts, and taking a snapshot.
pub fn record_parts(sim_ms: f64, draw_ms: f64, snapshot_ms: f64) {
    PARTS_MS.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() == FRAMES_KEPT {
            p.pop_front();
        }
        p.push_back([sim_ms, draw_ms, snapshot_ms]);
    });
}

/// The mean of each part over the kept frames, ms.
pub fn parts_mean() -> [f64; 3] {
    PARTS_MS.with(|p| {
        let p = p.borrow();
        let n = p.len().max(1) as f64;
        let mut sum = [0.0; 3];
        for f in p.iter() {
            for k in 0..3 {
                sum[k] += f[k];
            }
        }
        sum.map(|v| v / n)
    })
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

/// `{count, median_ms, p95_ms, sim_mean_ms, draw_mean_ms, snapshot_mean_ms}` of the recent animation-frame callbacks (boot.js exposes it as
/// `window.loadlab_frame_stats`).
#[wasm_bindgen]
pub fn frame_stats() -> JsValue {
    let (count, median, p95) = summary();
    let out = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&out, &"count".into(), &(count as f64).into());
    let _ = js_sys::Reflect::set(&out, &"median_ms".into(), &median.into());
    let _ = js_sys::Reflect::set(&out, &"p95_ms".into(), &p95.into());
    let [sim, draw, snapshot] = parts_mean();
    let _ = js_sys::Reflect::set(&out, &"sim_mean_ms".into(), &sim.into());
    let _ = js_sys::Reflect::set(&out, &"draw_mean_ms".into(), &draw.into());
    let _ = js_sys::Reflect::set(&out, &"snapshot_mean_ms".into(), &snapshot.into());
    out.into()
}
