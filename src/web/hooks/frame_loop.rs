//! The frame loop as a hook: a requestAnimationFrame loop owned by the component that calls
//! [`use_frame_loop`], which advances the shared [`Engine`] by `speed × dt` (or towards a lesson's seek target),
//! redraws the canvases whose data changed, and hands a throttled [`Snapshot`] to the page. The handle is
//! dropped on unmount, which ends the loop. While the page is off screen (a hidden tab, an embed scrolled out of
//! view: [`use_on_screen`]) the loop holds the runs where they are and goes on from there when it is back.
//!
//! When the runs live in Web Workers (`runner`'s module docs), a frame takes what the workers reported since the
//! last one ([`Engine::poll`](crate::web::runner::Engine::poll)) and asks them for the target it computes now; it
//! simulates nothing itself. Otherwise, work per frame is bounded: simulation stops once [`SIM_BUDGET_MS`] of wall-clock time is spent (the runner
//! checks between chunks of at most `EVENTS_PER_CHUNK` events), and at most [`CHARTS_PER_FRAME`] charts are
//! redrawn while playing; while idle, every chart in view and [`OUT_OF_VIEW_PER_FRAME`] out of it. Measured here
//! (scripts/bench-page.mjs): a chart costs about 2.7 ms to draw, so one per frame plus 7 ms of simulation leaves
//! room for the browser's own work in a 16.7 ms frame.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo::render::{request_animation_frame, AnimationFrame};
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::time::{from_secs_f64, SimTime};
use crate::urlstate::UrlState;
use crate::web::charts::{self, Panel};
use crate::web::frame_stats;
use crate::web::hooks::on_screen::use_on_screen;
use crate::web::runner::{EngineRef, FRAME_DT_MAX_S};
use crate::web::snapshot::{self, Snapshot, SNAPSHOT_EVERY_MS};

/// Largest devicePixelRatio honoured; beyond it the backing store grows for no visible gain.
const DPR_MAX: f64 = 3.0;

/// Wall-clock time a frame may spend simulating, ms; the rest of the frame is for drawing.
pub const SIM_BUDGET_MS: f64 = 7.0;

/// Charts redrawn per frame at most while playing (round robin over those with new rows).
pub const CHARTS_PER_FRAME: usize = 1;

/// Charts out of the viewport redrawn per frame at most while idle (those in view are all redrawn at once): the
/// page's first frame, or one after a change, then does not draw every chart in one long task.
pub const OUT_OF_VIEW_PER_FRAME: usize = 1;

/// Simulated seconds per wall-clock second while a lesson runs to its next step: fast, but slow enough to see
/// the lines grow (30 s of a lesson in about half a second).
pub const SEEK_SPEED: f64 = 60.0;

/// Wall-clock seconds a seek aims to take, whatever the distance.
pub const SEEK_WALL_S: f64 = 0.75;

/// What the page asks of the loop.
#[derive(Clone, Debug, PartialEq)]
pub struct LoopInputs {
    /// What to run; read when `generation` changes.
    pub url: UrlState,
    /// Any change rebuilds the runs from time zero.
    pub generation: u32,
    /// False while paused.
    pub playing: bool,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    /// Run to this simulated time, s, then hold (a lesson step), whether playing or not.
    pub seek_to: Option<f64>,
    /// Bumped by each press of Step.
    pub steps: u32,
    /// The lesson step shown, for the status object.
    pub lesson_step: Option<usize>,
    /// The server the PID chart watches.
    pub watched: Option<usize>,
    /// The stretch of the run the charts show.
    pub view: crate::engine::scenario::View,
    /// The chart the overview strip draws (the lesson step's; `None`: the run's first).
    pub overview_chart: Option<&'static str>,
}

/// The overview strip's canvas id.
pub const OVERVIEW_ID: &str = "overview";

struct Loop {
    engine: EngineRef,
    inputs: LoopInputs,
    steps_seen: u32,
    panels: Rc<Vec<Panel>>,
    dirty: Vec<bool>,
    round_robin: usize,
    last_frame_ms: Option<f64>,
    last_snapshot_ms: f64,
    snapshot_due: bool,
    build: u32,
    /// True when the overview strip needs drawing again.
    overview_dirty: bool,
    /// When the overview was last drawn, wall-clock ms: while playing it is redrawn with each snapshot only.
    last_overview_ms: f64,
    /// The engine's overlay version last drawn: the reader's metrics changed when it differs.
    overlay_seen: u32,
    on_snapshot: Callback<Snapshot>,
    /// Hears what became of each command sent to the workers: its time, seconds, or why run A refused it.
    on_command: Callback<crate::web::runner::Outcome>,
    frame: Option<AnimationFrame>,
    /// False while the page is off screen: nothing advances or redraws.
    on_screen: Rc<Cell<bool>>,
    /// The engine's simulated time at the end of the last frame, µs: what moved since is this frame's progress
    /// (in workers it arrives between frames).
    last_now: SimTime,
}

fn now_ms() -> f64 {
    gloo::utils::window().performance().map_or(0.0, |p| p.now())
}

fn dpr() -> f64 {
    let dpr = gloo::utils::window().device_pixel_ratio();
    if dpr.is_finite() {
        dpr.clamp(1.0, DPR_MAX)
    } else {
        1.0
    }
}

/// True if any of the canvas is inside the viewport.
fn in_view(canvas: &HtmlCanvasElement) -> bool {
    let r = canvas.get_bounding_client_rect();
    let height = gloo::utils::window().inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(f64::INFINITY);
    r.bottom() > 0.0 && r.top() < height
}

/// Sizes a canvas's backing store to its CSS box in device pixels, so the chart stays sharp. True if it changed.
fn fit_canvas(canvas: &HtmlCanvasElement, dpr: f64) -> bool {
    let width = (canvas.client_width().max(0) as f64 * dpr).round() as u32;
    let height = (canvas.client_height().max(0) as f64 * dpr).round() as u32;
    if width != canvas.width() || height != canvas.height() {
        canvas.set_width(width);
        canvas.set_height(height);
        true
    } else {
        false
    }
}

impl Loop {
    /// Where this frame runs to: the seek target first (a lesson step), else `speed × dt` while playing.
    ///
    /// `asked` is the target the workers were last asked for (0 on the main thread). Workers report a slice
    /// late, so while they are short of it the next target goes on from it rather than from the time they
    /// reported, up to [`FRAME_DT_MAX_S`] of simulated time ahead of them: a worker that is behind always has
    /// work, and one that keeps up gets `speed × dt` a frame as on the main thread.
    ///
    /// `resume` is where a run the main thread took over from a failed worker had got to: the loop runs there
    /// as it runs to a lesson's step, then goes on.
    fn target(&self, now: SimTime, asked: SimTime, resume: Option<SimTime>, dt_s: f64) -> Option<SimTime> {
        let dt = dt_s.clamp(0.0, FRAME_DT_MAX_S);
        let ahead = |rate: f64| {
            let cap = now.saturating_add(from_secs_f64(rate * FRAME_DT_MAX_S));
            asked.clamp(now, cap).saturating_add(from_secs_f64(rate * dt)).min(cap)
        };
        let seek = self.inputs.seek_to.map(from_secs_f64).max(resume);
        if let Some(seek) = seek.filter(|&s| s > now) {
            // At least SEEK_SPEED, and fast enough to cover the rest in about SEEK_WALL_S: a model whose lesson
            // steps are an hour apart (Sahana's idle timeout) gets there in a second or two, budget permitting.
            let remaining_s = crate::time::as_secs_f64(seek - now);
            let rate = SEEK_SPEED.max(self.inputs.speed).max(remaining_s / SEEK_WALL_S);
            return Some(seek.min(ahead(rate)));
        }
        self.inputs.playing.then(|| ahead(self.inputs.speed))
    }

    /// One animation frame: advance, draw, maybe snapshot. Returns a snapshot to hand out, or a halt reason.
    fn tick(&mut self, frame_ms: f64) -> Result<Option<Snapshot>, String> {
        if !self.on_screen.get() {
            // Held: the first frame back measures its time from itself, so the run goes on from where it was.
            self.last_frame_ms = None;
            return Ok(None);
        }
        let start = now_ms();
        let dt_s = self.last_frame_ms.map_or(0.0, |prev| (frame_ms - prev) / 1000.0).max(0.0);
        self.last_frame_ms = Some(frame_ms);
        let engine_rc = self.engine.0.clone();
        let mut engine = engine_rc.borrow_mut();
        let reported = engine.poll();
        if engine.lanes.is_empty() {
            return Ok(None);
        }
        let before = engine.now();
        // A rebuild (here, or a worker's failure) starts the clock again.
        let last_now = if self.last_now > before { before } else { self.last_now };
        let out_of_time = || now_ms() - start > SIM_BUDGET_MS;
        if self.inputs.steps != self.steps_seen {
            self.steps_seen = self.inputs.steps;
            engine.step_once(out_of_time);
        } else if let Some(target) = self.target(before, engine.asked(), engine.resume_to(), dt_s) {
            let resuming = engine.resume_to().is_some();
            engine.advance_to(target, out_of_time);
            if self.inputs.playing && !resuming && self.inputs.seek_to.is_none_or(|s| from_secs_f64(s) <= before) {
                let simulated = crate::time::as_secs_f64(engine.now() - last_now);
                engine.note_speed(simulated, dt_s.min(FRAME_DT_MAX_S), self.inputs.speed);
            }
        } else {
            engine.even_up();
        }
        // Paused with the workers still on their way (the frame before the pause, a step): the page shows the
        // moment it holds once they are there, not the one before.
        let seeking = self.inputs.seek_to.is_some_and(|s| from_secs_f64(s) > engine.now());
        let settling = !self.inputs.playing && !seeking && engine.settling();
        let sim_done = now_ms();
        let moved = engine.now() != last_now || reported;
        self.last_now = engine.now();
        if engine.overlay_version != self.overlay_seen {
            self.overlay_seen = engine.overlay_version;
            self.dirty.iter_mut().for_each(|d| *d = true);
            self.overview_dirty = true;
            self.snapshot_due = true;
        }
        if moved {
            self.dirty.iter_mut().for_each(|d| *d = true);
            self.snapshot_due = true;
            self.overview_dirty = true;
        }
        let busy = self.inputs.playing || moved;
        let dpr = dpr();
        let document = gloo::utils::document();
        let mut drawn = 0;
        let mut drawn_out_of_view = 0;
        for _ in 0..self.panels.len() {
            if busy && drawn == CHARTS_PER_FRAME {
                break;
            }
            let i = self.round_robin % self.panels.len();
            self.round_robin = self.round_robin.wrapping_add(1);
            let panel = &self.panels[i];
            let Some(canvas) =
                document.get_element_by_id(&panel.dom_id).and_then(|e| e.dyn_into::<HtmlCanvasElement>().ok())
            else {
                continue;
            };
            let resized = fit_canvas(&canvas, dpr);
            if !(self.dirty[i] || resized) || canvas.width() == 0 || canvas.height() == 0 {
                continue;
            }
            if !busy && !in_view(&canvas) {
                if drawn_out_of_view == OUT_OF_VIEW_PER_FRAME {
                    // A later frame draws it (a resize is remembered as dirt).
                    self.dirty[i] = true;
                    continue;
                }
                drawn_out_of_view += 1;
            }
            self.dirty[i] = false;
            drawn += 1;
            charts::draw(panel, &canvas, &engine, dpr).map_err(|e| format!("A chart could not be drawn: {e}"))?;
            let _ = canvas.set_attribute("data-rows", &engine.lanes[0].history.len().to_string());
            let _ = canvas.set_attribute("data-sim-time", &format!("{:.3}", engine.now_s()));
            // The time span the chart shows, for tests and for people reading the page's source.
            let (from, to) = charts::x_span(&engine);
            let _ = canvas.set_attribute("data-x-from", &format!("{from:.3}"));
            let _ = canvas.set_attribute("data-x-to", &format!("{to:.3}"));
        }
        if let Some(canvas) =
            document.get_element_by_id(OVERVIEW_ID).and_then(|e| e.dyn_into::<HtmlCanvasElement>().ok())
        {
            let resized = fit_canvas(&canvas, dpr);
            let due = !busy || start - self.last_overview_ms >= SNAPSHOT_EVERY_MS;
            if (resized || (self.overview_dirty && due)) && canvas.width() > 0 && canvas.height() > 0 {
                self.overview_dirty = false;
                self.last_overview_ms = start;
                let id = self.inputs.overview_chart.unwrap_or("");
                charts::draw_overview(&canvas, &engine, id, dpr)
                    .map_err(|e| format!("The overview could not be drawn: {e}"))?;
                let _ = canvas.set_attribute("data-x-to", &format!("{:.3}", charts::overview_end(&engine)));
            }
        }
        let draw_done = now_ms();
        let snapshot = if settling {
            None
        } else if (self.inputs.playing && start - self.last_snapshot_ms >= SNAPSHOT_EVERY_MS)
            || (self.snapshot_due && !busy)
            || (self.snapshot_due && start - self.last_snapshot_ms >= SNAPSHOT_EVERY_MS)
        {
            self.last_snapshot_ms = start;
            self.snapshot_due = false;
            Some(self.take(&engine))
        } else {
            None
        };
        drop(engine);
        let end = now_ms();
        frame_stats::record(end - start);
        frame_stats::record_parts(sim_done - start, draw_done - sim_done, end - draw_done);
        Ok(snapshot)
    }

    fn take(&self, engine: &crate::web::runner::Engine) -> Snapshot {
        let mut s = snapshot::take(engine, &self.panels, self.inputs.playing, self.inputs.speed, self.build);
        s.lesson_step = self.inputs.lesson_step;
        s.overview_title = charts::overview_title(engine, self.inputs.overview_chart.unwrap_or(""));
        snapshot::publish(&s);
        s
    }
}

/// Schedules the next frame; the callback holds only a weak reference, so an unmounted loop just stops.
fn schedule(shared: Weak<RefCell<Loop>>, on_halt: Callback<String>) -> AnimationFrame {
    request_animation_frame(move |frame_ms| {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let result = shared.borrow_mut().tick(frame_ms);
        let (on_snapshot, on_command) = {
            let l = shared.borrow();
            (l.on_snapshot.clone(), l.on_command.clone())
        };
        let settled = shared.borrow().engine.0.borrow_mut().take_settled();
        // Replacing the handle drops the one whose callback is running; wasm-bindgen defers freeing a closure
        // until its call returns, and the handle does not cancel a frame that has already fired.
        let next = schedule(Rc::downgrade(&shared), on_halt.clone());
        shared.borrow_mut().frame = Some(next);
        // Emitting may re-render the page synchronously, so no borrow of the loop is held here.
        for outcome in settled {
            on_command.emit(outcome);
        }
        match result {
            Ok(Some(snapshot)) => on_snapshot.emit(snapshot),
            Ok(None) => {}
            Err(reason) => on_halt.emit(reason),
        }
    })
}

/// Runs the page's frame loop over `engine` for as long as the calling component is mounted: rebuilds the runs
/// when `inputs.generation` changes, follows the other inputs at once, and emits snapshots to `on_snapshot`.
#[hook]
pub fn use_frame_loop(
    engine: EngineRef,
    inputs: LoopInputs,
    on_snapshot: Callback<Snapshot>,
    on_command: Callback<crate::web::runner::Outcome>,
    on_halt: Callback<String>,
) {
    let on_screen = use_on_screen();
    let shared = {
        let (engine, inputs, on_snapshot, on_command) =
            (engine.clone(), inputs.clone(), on_snapshot.clone(), on_command.clone());
        use_mut_ref(move || {
            // The charts show the view the page starts with (later ones arrive as changed inputs).
            engine.0.borrow_mut().view = inputs.view;
            Loop {
                on_screen,
                engine,
                steps_seen: inputs.steps,
                inputs,
                panels: Rc::new(Vec::new()),
                dirty: Vec::new(),
                round_robin: 0,
                last_frame_ms: None,
                last_snapshot_ms: f64::NEG_INFINITY,
                snapshot_due: true,
                build: 0,
                overview_dirty: true,
                last_overview_ms: f64::NEG_INFINITY,
                overlay_seen: 0,
                on_snapshot,
                on_command,
                frame: None,
                last_now: 0,
            }
        })
    };
    {
        let shared = shared.clone();
        let on_halt = on_halt.clone();
        use_effect_with(inputs.generation, move |_| {
            let result = {
                let mut l = shared.borrow_mut();
                let url = l.inputs.url.clone();
                let built = l.engine.0.borrow_mut().rebuild(&url);
                match built {
                    Ok(()) => {
                        let engine = l.engine.0.clone();
                        let engine = engine.borrow();
                        l.panels = Rc::new(charts::panels(&engine));
                        l.dirty = vec![true; l.panels.len()];
                        l.overview_dirty = true;
                        l.build = l.build.wrapping_add(1);
                        l.last_now = 0;
                        l.snapshot_due = false;
                        l.last_snapshot_ms = now_ms();
                        Ok((l.take(&engine), l.on_snapshot.clone()))
                    }
                    Err(reason) => Err(format!("The {} scenario could not start: {reason}", url.scenario)),
                }
            };
            match result {
                Ok((snapshot, emit)) => emit.emit(snapshot),
                Err(reason) => on_halt.emit(reason),
            }
        });
    }
    {
        // Runs before the rebuild effect above on the first render (effects run in order of declaration within
        // one render, and this one must see the new URL first), so it is declared after and only copies inputs.
        let shared = shared.clone();
        let inputs = inputs.clone();
        let on_snapshot = on_snapshot.clone();
        let mut l = shared.borrow_mut();
        if l.inputs != inputs {
            // The link as it stands (a command recorded since the last rebuild is in it): what the main thread
            // replays if a worker fails.
            l.engine.0.borrow_mut().follow(&inputs.url);
            if l.inputs.view != inputs.view || l.inputs.overview_chart != inputs.overview_chart {
                l.engine.0.borrow_mut().view = inputs.view;
                l.dirty.iter_mut().for_each(|d| *d = true);
                l.overview_dirty = true;
            }
            if l.inputs.watched != inputs.watched {
                if let Some(w) = inputs.watched {
                    l.engine.0.borrow_mut().watch(w);
                }
                l.dirty.iter_mut().for_each(|d| *d = true);
            }
            if l.inputs.playing && !inputs.playing {
                l.engine.0.borrow_mut().hold();
            }
            l.snapshot_due = true;
            l.inputs = inputs;
        }
        l.on_snapshot = on_snapshot;
        l.on_command = on_command;
    }
    {
        let shared = shared.clone();
        use_effect_with((), move |_| {
            let first = schedule(Rc::downgrade(&shared), on_halt);
            shared.borrow_mut().frame = Some(first);
            move || {
                // Dropping the handle cancels the pending frame; the loop ends with the component.
                shared.borrow_mut().frame = None;
            }
        });
    }
}
