//! A plain-data picture of the runs, taken by the frame loop a few times a second (and at once whenever the
//! run moves while paused), that the status line, the lesson, the why panel and the server list render from.
//! Components never read the engine; the view never changes a run.
//!
//! The same picture answers `window.loadlab_status()`, for tests and for people debugging.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use super::charts::{self, Panel};
use super::runner::{faulty, Engine, Lane};
use crate::engine::picture::{self, Scene};
use crate::time::as_secs_f64;

/// How often a playing page takes a snapshot, wall-clock ms.
pub const SNAPSHOT_EVERY_MS: f64 = 400.0;

/// One run's totals and summary.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneStatus {
    /// Its controller ("" for models without one).
    pub controller: String,
    /// Requests that arrived.
    pub requests: u64,
    /// Requests completed.
    pub completed: u64,
    /// Requests rejected (backlog full).
    pub rejected: u64,
    /// Requests that ended in an error (not failed connect attempts: a request may retry).
    pub failed: u64,
    /// Requests failed fast as overloaded.
    pub overloaded: u64,
    /// Events processed.
    pub events: u64,
    /// True when the model counts requests (the Galera model counts transactions instead).
    pub has_requests: bool,
    /// The run's summary, plus `now`: the newest row by column name (lesson numbers read both).
    pub summary: Map<String, Value>,
}

/// One row of the why panel: a candidate as the picking host saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The server.
    pub name: String,
    /// Configured load with operator overrides.
    pub load: f64,
    /// This host's open connections to it.
    pub in_flight: u32,
    /// The controller's weight.
    pub weight: f64,
    /// Weight ÷ total, as a percentage.
    pub chance: Option<f64>,
    /// True for the chosen one.
    pub chosen: bool,
}

/// One traced pick, for the why panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Why {
    /// When, simulated seconds.
    pub time_s: f64,
    /// Which app host picked.
    pub host: usize,
    /// The chosen server, or `None` when the request failed fast.
    pub chosen: Option<String>,
    /// Who decided, in plain words.
    pub decided_by: String,
    /// The candidates.
    pub candidates: Vec<Candidate>,
    /// The controller's terms for the chosen server.
    pub terms: Vec<(String, f64)>,
}

/// Everything the page's text shows about the runs.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Snapshot {
    /// Simulated time, seconds.
    pub time_s: f64,
    /// The reader's metrics series drawn beside the run.
    pub overlay: usize,
    /// True while playing.
    pub playing: bool,
    /// The speed asked for.
    pub speed: f64,
    /// The speed achieved recently.
    pub achieved_speed: f64,
    /// True while the runs cannot keep up with the speed asked (most recent frames fell short of their target;
    /// smoothed, see `Engine::lagging`).
    pub behind: bool,
    /// True when the runs run in Web Workers, false when on the page's main thread.
    pub workers: bool,
    /// Per run.
    pub lanes: Vec<LaneStatus>,
    /// The newest traced pick per run (section model).
    pub why: Vec<Option<Why>>,
    /// A few words per target of run A: its state now (section model).
    pub states: Vec<String>,
    /// The panels on the page.
    pub panels: Rc<Vec<Panel>>,
    /// Each panel's text alternative, in panel order.
    pub alts: Vec<String>,
    /// Target names.
    pub names: Rc<Vec<String>>,
    /// Indices of the targets the scenario breaks.
    pub faulty: Vec<usize>,
    /// The lesson step shown (for `loadlab_status`).
    pub lesson_step: Option<usize>,
    /// Which engine build this is from (bumped by every rebuild).
    pub build: u32,
    /// Run A's picture of its system at the newest row.
    pub scene: Option<Rc<Scene>>,
    /// The run's length, simulated seconds.
    pub end_s: f64,
    /// True once the run reached its length.
    pub ended: bool,
    /// The stretch of simulated time the charts show now, seconds (from, to).
    pub x_span: (f64, f64),
    /// The end of the overview strip's time axis, seconds (it starts at zero).
    pub overview_end: f64,
    /// The view the charts show, as a link writes it (`all`, `300`, `6900..8100`).
    pub view: String,
    /// The title of the chart the overview strip draws.
    pub overview_title: String,
}

fn count(summary: &Map<String, Value>, key: &str) -> u64 {
    summary.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn lane_status(lane: &Lane) -> LaneStatus {
    let mut summary = lane.summary();
    if let Some(p) = lane.history.last() {
        crate::engine::run::with_row(&mut summary, &lane.columns, &p.row);
    }
    LaneStatus {
        controller: lane.controller.clone(),
        requests: count(&summary, "requests"),
        completed: count(&summary, "completed"),
        rejected: count(&summary, "rejected"),
        failed: count(&summary, "failed"),
        overloaded: count(&summary, "overloaded"),
        events: count(&summary, "events"),
        has_requests: summary.contains_key("requests"),
        summary,
    }
}

fn why(lane: &Lane, names: &[String]) -> Option<Why> {
    let pick = lane.last_decision()?;
    let name = |i: usize| names.get(i).cloned().unwrap_or_else(|| "?".into());
    let total: f64 = pick.candidates.iter().map(|c| c.3 .0).filter(|w| w.is_finite() && *w > 0.0).sum();
    let candidates = pick
        .candidates
        .iter()
        .map(|&(target, configured, in_flight, weight)| {
            let w = weight.0;
            Candidate {
                name: name(target),
                load: configured.0,
                in_flight,
                weight: w,
                chance: (total > 0.0 && w.is_finite()).then(|| w.max(0.0) / total * 100.0),
                chosen: pick.chosen == Some(target),
            }
        })
        .collect();
    Some(Why {
        time_s: as_secs_f64(pick.time),
        host: pick.chooser,
        chosen: pick.chosen.map(name),
        decided_by: pick.decided_by,
        candidates,
        terms: pick.terms.iter().map(|(k, v)| (k.clone(), v.0)).collect(),
    })
}

/// Run A's picture at its newest row, if its model draws one; before the first row, every count is 0.
fn scene(lane: &Lane) -> Option<Rc<Scene>> {
    let spec = lane.run.picture()?;
    let zeros = vec![0.0; lane.columns.len()];
    let row = lane.history.last().map_or(&zeros, |p| &p.row);
    let step_s = as_secs_f64(lane.run.time_step());
    Some(Rc::new(picture::scene(spec, &lane.columns, row, step_s, &|k| lane.run.setting(k))))
}

/// Takes a snapshot of `engine` (`panels` are the page's current ones).
pub fn take(engine: &Engine, panels: &Rc<Vec<Panel>>, playing: bool, speed: f64, build: u32) -> Snapshot {
    let names = Rc::new(engine.names.clone());
    Snapshot {
        time_s: engine.now_s(),
        overlay: engine.overlay.len(),
        playing,
        speed,
        achieved_speed: engine.achieved_speed,
        behind: engine.lagging,
        workers: engine.in_workers(),
        lanes: engine.lanes.iter().map(lane_status).collect(),
        why: engine.lanes.iter().map(|l| why(l, &engine.names)).collect(),
        states: engine.lanes.first().map(|l| l.target_states()).unwrap_or_default(),
        alts: panels.iter().map(|p| charts::describe(p, engine)).collect(),
        panels: panels.clone(),
        faulty: engine.lanes.first().map(|l| faulty(l, &engine.names)).unwrap_or_default(),
        names,
        lesson_step: None,
        build,
        scene: engine.lanes.first().and_then(scene),
        end_s: as_secs_f64(engine.end()),
        ended: engine.ended(),
        x_span: charts::x_span(engine),
        view: engine.view.to_text(),
        overview_title: String::new(),
        overview_end: charts::overview_end(engine),
    }
}

thread_local! {
    static LAST: RefCell<Option<Snapshot>> = const { RefCell::new(None) };
}

/// Keeps `snapshot` for [`loadlab_status`].
pub fn publish(snapshot: &Snapshot) {
    LAST.with(|l| *l.borrow_mut() = Some(snapshot.clone()));
}

fn lane_object(lane: &LaneStatus) -> js_sys::Object {
    let out = js_sys::Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(&out, &k.into(), &v);
    };
    set("controller", lane.controller.as_str().into());
    // The newest row by column name: what the charts' last point and the picture show.
    if let Some(Value::Object(now)) = lane.summary.get("now") {
        let row = js_sys::Object::new();
        for (k, v) in now {
            let _ = js_sys::Reflect::set(&row, &k.as_str().into(), &v.as_f64().unwrap_or(f64::NAN).into());
        }
        set("now", row.into());
    }
    for (k, v) in [
        ("requests", lane.requests),
        ("completed", lane.completed),
        ("rejected", lane.rejected),
        ("failed", lane.failed),
        ("overloaded", lane.overloaded),
        ("events", lane.events),
    ] {
        set(k, (v as f64).into());
    }
    // The run's trace hash so far, as `loadlab run --format json` prints it: the e2e tests compare the two.
    if let Some(Value::String(hash)) = lane.summary.get("trace_hash") {
        set("trace_hash", hash.as_str().into());
    }
    out
}

/// The run as the page shows it: `time_s` (simulated), `speed` (asked), `achieved_speed`, `behind` (true while
/// the runs cannot keep up with the speed asked), `playing`,
/// `lesson_step` (null in free play), what the charts show (`x_from`, `x_to`, seconds, and `view` as a link
/// writes it), `overview_end`, and run A's `requests`, `completed`, `rejected`, `failed`, `overloaded`
/// `now` (the newest row, by column name) and `trace_hash`; run B's under `b` when A/B is on; `workers`: true when
/// the runs run in Web Workers. boot.js exposes it as `window.loadlab_status`.
#[wasm_bindgen]
pub fn loadlab_status() -> JsValue {
    LAST.with(|l| {
        let l = l.borrow();
        let Some(s) = l.as_ref() else { return JsValue::NULL };
        let out = s.lanes.first().map(lane_object).unwrap_or_default();
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&out, &k.into(), &v);
        };
        set("time_s", s.time_s.into());
        set("speed", s.speed.into());
        set("achieved_speed", s.achieved_speed.into());
        set("behind", s.behind.into());
        set("playing", s.playing.into());
        set("lesson_step", s.lesson_step.map_or(JsValue::NULL, |n| (n as f64).into()));
        set("build", (s.build as f64).into());
        set("workers", s.workers.into());
        set("ended", s.ended.into());
        set("end_s", s.end_s.into());
        set("overlay", (s.overlay as f64).into());
        // What the charts show: the stretch of simulated time, and the view as a link writes it.
        set("x_from", s.x_span.0.into());
        set("x_to", s.x_span.1.into());
        set("view", s.view.as_str().into());
        set("overview_end", s.overview_end.into());
        if let Some(b) = s.lanes.get(1) {
            set("b", lane_object(b).into());
        }
        out.into()
    })
}
