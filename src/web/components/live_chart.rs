//! The running simulation and its live chart of active connections per server.
//!
//! The simulation and the drawing live outside the virtual DOM: this component owns a [`Runner`] and a
//! requestAnimationFrame loop. Each frame advances simulated time by `speed × wall-clock dt` within an event
//! budget, then redraws the canvas if rows arrived or its size changed. Props only decide *which* run (scenario,
//! seed, restarts) and *how fast*; the frame handle belongs to the component and is dropped on unmount, which
//! cancels the loop.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo::render::{request_animation_frame, AnimationFrame};
use web_sys::{Element, HtmlCanvasElement};
use yew::prelude::*;

use super::legend::Legend;
use crate::scenario;
use crate::web::plot;
use crate::web::runner::{Runner, CONTROLLER, EVENTS_PER_FRAME_MAX};

/// Largest devicePixelRatio honoured; beyond it the backing store grows for no visible gain.
const DPR_MAX: f64 = 4.0;

/// Props of [`LiveChart`].
#[derive(Properties, PartialEq)]
pub struct LiveChartProps {
    /// Scenario name (already validated).
    pub scenario: &'static str,
    /// Seed of the run.
    pub seed: u64,
    /// Restart counter: any change rebuilds the run from time zero.
    pub restarts: u32,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    /// False while paused.
    pub playing: bool,
    /// Called when the run cannot start or the chart cannot be drawn; the page pauses and shows why.
    pub on_halt: Callback<String>,
}

/// Everything the frame loop reads and writes, shared between the component and its frame callbacks.
struct Loop {
    runner: Option<Runner>,
    speed: f64,
    playing: bool,
    canvas: NodeRef,
    status: NodeRef,
    /// Timestamp of the previous frame, ms (requestAnimationFrame's clock).
    last_frame_ms: Option<f64>,
    /// Set when the canvas must be redrawn even without new rows (new run, resize).
    dirty: bool,
    status_text: String,
    on_halt: Callback<String>,
    frame: Option<AnimationFrame>,
}

impl Loop {
    /// One animation frame: advance, then draw. Returns a reason to halt, if drawing failed.
    fn tick(&mut self, frame_ms: f64) -> Option<String> {
        let dt_s = self.last_frame_ms.map_or(0.0, |prev| (frame_ms - prev) / 1000.0);
        self.last_frame_ms = Some(frame_ms);
        let canvas = self.canvas.cast::<HtmlCanvasElement>()?;
        let dpr = gloo::utils::window().device_pixel_ratio();
        let dpr = if dpr.is_finite() { dpr.clamp(1.0, DPR_MAX) } else { 1.0 };
        self.fit_canvas(&canvas, dpr);
        let runner = self.runner.as_mut()?;
        if self.playing {
            let advance = runner.advance(dt_s, self.speed, EVENTS_PER_FRAME_MAX);
            self.dirty |= advance.new_rows > 0;
        }
        let status = status_line(runner, self.playing);
        if status != self.status_text {
            if let Some(el) = self.status.cast::<Element>() {
                el.set_text_content(Some(&status));
            }
            self.status_text = status;
        }
        if self.dirty && canvas.width() > 0 && canvas.height() > 0 {
            self.dirty = false;
            if let Err(e) = plot::draw(&canvas, runner.names(), runner.history(), dpr) {
                return Some(format!("The chart could not be drawn: {e}"));
            }
            let _ = canvas.set_attribute("data-rows", &runner.history().len().to_string());
            let _ = canvas.set_attribute("data-sim-time", &format!("{:.3}", runner.now_s()));
        }
        None
    }

    /// Sizes the canvas's backing store to its CSS box in device pixels, so the chart stays sharp.
    fn fit_canvas(&mut self, canvas: &HtmlCanvasElement, dpr: f64) {
        let width = (canvas.client_width().max(0) as f64 * dpr).round() as u32;
        let height = (canvas.client_height().max(0) as f64 * dpr).round() as u32;
        if width != canvas.width() || height != canvas.height() {
            canvas.set_width(width);
            canvas.set_height(height);
            self.dirty = true;
        }
    }
}

/// Groups digits in threes with thin spaces, as in "1 234 567".
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// The line under the chart: where the run is and what it has done so far.
fn status_line(runner: &Runner, playing: bool) -> String {
    let s = runner.summary();
    let mut line = format!(
        "t = {:.1} s · {} requests · {} failed · {} rejected · {} events",
        runner.now_s(),
        grouped(s.requests),
        grouped(s.failed),
        grouped(s.rejected),
        grouped(s.events)
    );
    if !playing {
        line.push_str(" · paused");
    } else if runner.budget_hit() {
        line.push_str(" · slower than asked: event budget per frame reached");
    }
    line
}

/// Schedules the next frame; the callback holds only a weak reference, so an unmounted loop just stops.
fn schedule(shared: Weak<RefCell<Loop>>) -> AnimationFrame {
    request_animation_frame(move |frame_ms| {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let halt = {
            let mut state = shared.borrow_mut();
            state.tick(frame_ms).map(|reason| {
                state.playing = false;
                (reason, state.on_halt.clone())
            })
        };
        // Replacing the handle drops the one whose callback is running; wasm-bindgen defers freeing a closure
        // until its call returns, and the handle does not cancel a frame that has already fired.
        let next = schedule(Rc::downgrade(&shared));
        shared.borrow_mut().frame = Some(next);
        // Emitting may re-render the page synchronously, so no borrow of the loop is held here.
        if let Some((reason, on_halt)) = halt {
            on_halt.emit(reason);
        }
    })
}

/// The live chart: canvas, legend and status line.
#[component]
pub fn LiveChart(props: &LiveChartProps) -> Html {
    let canvas = use_node_ref();
    let status = use_node_ref();
    let shared = {
        let (canvas, status) = (canvas.clone(), status.clone());
        use_mut_ref(move || Loop {
            runner: None,
            speed: 1.0,
            playing: false,
            canvas,
            status,
            last_frame_ms: None,
            dirty: true,
            status_text: String::new(),
            on_halt: Callback::noop(),
            frame: None,
        })
    };

    {
        let shared = shared.clone();
        use_effect_with((props.speed, props.playing, props.on_halt.clone()), move |(speed, playing, on_halt)| {
            let mut shared = shared.borrow_mut();
            shared.speed = *speed;
            shared.playing = *playing;
            shared.on_halt = on_halt.clone();
        });
    }
    {
        let shared = shared.clone();
        let on_halt = props.on_halt.clone();
        use_effect_with((props.scenario, props.seed, props.restarts), move |&(scenario, seed, _)| {
            let built = Runner::new(scenario, seed);
            let failure = {
                let mut shared = shared.borrow_mut();
                shared.dirty = true;
                match built {
                    Ok(runner) => {
                        shared.runner = Some(runner);
                        None
                    }
                    Err(reason) => {
                        shared.runner = None;
                        Some(format!("The {scenario} scenario could not start: {reason}"))
                    }
                }
            };
            if let Some(reason) = failure {
                on_halt.emit(reason);
            }
        });
    }
    {
        let shared = shared.clone();
        use_effect_with((), move |_| {
            let first = schedule(Rc::downgrade(&shared));
            shared.borrow_mut().frame = Some(first);
            move || {
                // Dropping the handle cancels the pending frame; the loop ends with the component.
                shared.borrow_mut().frame = None;
            }
        });
    }

    let names = use_memo(props.scenario, |&name| {
        scenario::build(name, CONTROLLER, &[])
            .map(|cfg| cfg.servers.iter().map(|s| s.name.clone()).collect())
            .unwrap_or_default()
    });
    html! {
        <figure class="chart">
            <figcaption>
                <h2>{ "Active connections per server" }</h2>
                <p class="hint">{ "Time-averaged over each half second of simulated time; open and opening connections count." }</p>
            </figcaption>
            <div class="canvas-box">
                <canvas id="chart" ref={canvas} role="img"
                    aria-label="Line chart of active connections per database server over simulated time" />
            </div>
            <Legend names={names} />
            <p class="status" id="status" ref={status}></p>
        </figure>
    }
}
