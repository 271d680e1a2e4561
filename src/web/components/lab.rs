//! The running simulations and everything drawn from them: the charts, the "why this server?" panel, the
//! status line, the servers' live state and the exports.
//!
//! None of this goes through the virtual DOM while it runs. The component owns a requestAnimationFrame loop
//! that reads the shared [`Engine`](crate::web::runner::Engine): each frame advances the simulations by
//! `speed × dt` (within an event budget and a wall-clock budget), redraws at most [`CHARTS_PER_FRAME`] charts
//! that have new rows, and every [`TEXT_EVERY_MS`] rewrites the text read-outs. Props only say which run
//! (`generation`) and how fast; the frame handle belongs to the component and is dropped on unmount, which ends
//! the loop.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo::render::{request_animation_frame, AnimationFrame};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlCanvasElement};
use yew::prelude::*;

use super::legend::Legend;
use crate::command::{Command, Operator};
use crate::scenario;
use crate::sim::ConnectMode;
use crate::time::as_secs_f64;
use crate::urlstate::UrlState;
use crate::web::frame_stats;
use crate::web::palette::{self, Pattern};
use crate::web::plot::{self, Marker, Series, X_SPAN_MIN_S};
use crate::web::runner::{Engine, EngineRef, Run, TIME_STEP};

/// Largest devicePixelRatio honoured; beyond it the backing store grows for no visible gain.
const DPR_MAX: f64 = 3.0;

/// Wall-clock time a frame may spend simulating, ms; the rest of the frame is for drawing.
const SIM_BUDGET_MS: f64 = 9.0;

/// Charts redrawn per frame at most (round robin over those with new rows), so a frame stays short.
const CHARTS_PER_FRAME: usize = 2;

/// How often the text read-outs (why panel, text alternatives, server states) are rewritten, wall-clock ms.
const TEXT_EVERY_MS: f64 = 400.0;

/// Rows the share chart sums over: the last 5 simulated seconds.
const SHARE_WINDOW_ROWS: usize = 10;

/// Controllers with error/P/I/D terms to chart.
const PID_CONTROLLERS: &[&str] = &["conn-p", "pid"];

/// The page's charts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chart {
    Conns(usize),
    Share,
    Weights(usize),
    Pid,
    Latency,
    Errors,
    Workers,
}

const CHARTS: [Chart; 9] = [
    Chart::Conns(0),
    Chart::Conns(1),
    Chart::Share,
    Chart::Weights(0),
    Chart::Weights(1),
    Chart::Pid,
    Chart::Latency,
    Chart::Errors,
    Chart::Workers,
];

/// Props of [`Lab`].
#[derive(Properties, PartialEq)]
pub struct LabProps {
    /// The shared engine.
    pub engine: EngineRef,
    /// What to run; read when `generation` changes.
    pub url: UrlState,
    /// Any change rebuilds the runs from time zero.
    pub generation: u32,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    /// False while paused.
    pub playing: bool,
    /// Server names of the scenario, in config order.
    pub names: Rc<Vec<String>>,
    /// Called when a run cannot start or a chart cannot be drawn; the page pauses and shows why.
    pub on_halt: Callback<String>,
    /// Shown after the charts (the server controls).
    #[prop_or_default]
    pub children: Html,
    /// The scenario's story, shown right under the live connections chart it explains.
    #[prop_or_default]
    pub story: Html,
}

/// Everything the frame loop reads and writes, shared between the component and its frame callbacks.
struct Loop {
    engine: EngineRef,
    speed: f64,
    playing: bool,
    canvases: Vec<NodeRef>,
    alts: Vec<NodeRef>,
    dirty: Vec<bool>,
    round_robin: usize,
    status: NodeRef,
    why: NodeRef,
    last_frame_ms: Option<f64>,
    last_text_ms: f64,
    status_text: String,
    on_halt: Callback<String>,
    frame: Option<AnimationFrame>,
}

fn now_ms() -> f64 {
    gloo::utils::window().performance().map_or(0.0, |p| p.now())
}

impl Loop {
    /// One animation frame: advance, then draw. Returns a reason to halt, if drawing failed.
    fn tick(&mut self, frame_ms: f64) -> Option<String> {
        let start = now_ms();
        let dt_s = self.last_frame_ms.map_or(0.0, |prev| (frame_ms - prev) / 1000.0);
        self.last_frame_ms = Some(frame_ms);
        let dpr = gloo::utils::window().device_pixel_ratio();
        let dpr = if dpr.is_finite() { dpr.clamp(1.0, DPR_MAX) } else { 1.0 };
        let engine_rc = self.engine.0.clone();
        let mut engine = engine_rc.borrow_mut();
        if engine.runs.is_empty() {
            return None;
        }
        if self.playing {
            let steps = engine.advance(dt_s, self.speed, || now_ms() - start > SIM_BUDGET_MS);
            if steps > 0 {
                self.dirty.iter_mut().for_each(|d| *d = true);
            }
        }
        let mut drawn = 0;
        for _ in 0..CHARTS.len() {
            if drawn == CHARTS_PER_FRAME {
                break;
            }
            let i = self.round_robin % CHARTS.len();
            self.round_robin = self.round_robin.wrapping_add(1);
            let Some(canvas) = self.canvases[i].cast::<HtmlCanvasElement>() else { continue };
            let resized = fit_canvas(&canvas, dpr);
            if !(self.dirty[i] || resized) || canvas.width() == 0 || canvas.height() == 0 {
                continue;
            }
            self.dirty[i] = false;
            drawn += 1;
            if let Err(e) = draw(CHARTS[i], &canvas, &engine, dpr) {
                return Some(format!("A chart could not be drawn: {e}"));
            }
            let _ = canvas.set_attribute("data-rows", &engine.runs[0].history.len().to_string());
            let _ = canvas.set_attribute("data-sim-time", &format!("{:.3}", engine.now_s()));
        }
        let status = status_line(&engine, self.playing);
        if status != self.status_text {
            if let Some(el) = self.status.cast::<Element>() {
                el.set_text_content(Some(&status));
            }
            self.status_text = status;
        }
        if start - self.last_text_ms >= TEXT_EVERY_MS || !self.playing {
            self.last_text_ms = start;
            self.write_texts(&engine);
        }
        drop(engine);
        frame_stats::record(now_ms() - start);
        None
    }

    /// Rewrites the text read-outs: each chart's text alternative, the why panel and the servers' states.
    fn write_texts(&self, engine: &Engine) {
        for (i, chart) in CHARTS.iter().enumerate() {
            if let Some(el) = self.alts[i].cast::<Element>() {
                let text = describe(*chart, engine);
                if el.text_content().as_deref() != Some(text.as_str()) {
                    el.set_text_content(Some(&text));
                }
            }
        }
        if let Some(el) = self.why.cast::<Element>() {
            let html = why_html(engine);
            if el.inner_html() != html {
                el.set_inner_html(&html);
            }
        }
        let document = gloo::utils::document();
        for (i, s) in engine.runs[0].sim.servers_now().iter().enumerate() {
            let Some(name) = engine.names.get(i) else { continue };
            if let Some(el) = document.get_element_by_id(&format!("state-{name}")) {
                let mut parts = vec![format!("{} conns", s.active_conns)];
                if s.crashed {
                    parts.push("crashed".into());
                } else {
                    match s.connect_mode {
                        ConnectMode::Accept => {}
                        ConnectMode::Blackhole => parts.push("connects hang".into()),
                        ConnectMode::Refuse => parts.push("refusing".into()),
                    }
                }
                if (s.latency_multiplier - 1.0).abs() > 1e-9 {
                    parts.push(format!("latency ×{:.1}", s.latency_multiplier));
                }
                let configured = engine.loads.get(i).copied().unwrap_or(0.0);
                if (s.effective_load - configured).abs() > 1e-9 {
                    parts.push(format!("load {:.0} of {configured:.0}", s.effective_load));
                }
                if let Some(w) = s.pinned {
                    parts.push(format!("pinned at {w:.0}"));
                }
                let text = parts.join(" · ");
                if el.text_content().as_deref() != Some(text.as_str()) {
                    el.set_text_content(Some(&text));
                }
            }
        }
    }
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

/// The x range of a run's charts: from the oldest kept point (or zero) to the newest, at least
/// [`X_SPAN_MIN_S`] wide.
fn x_range(run: &Run) -> (f64, f64) {
    let h = &run.history;
    let first = h.points().next().map_or(0.0, |p| p.time_s);
    let last = h.last().map_or(0.0, |p| p.time_s);
    let lo = if h.dropped() == 0 { 0.0 } else { first };
    (lo, last.max(lo + X_SPAN_MIN_S))
}

/// A short label for a command, for chart markers.
fn command_label(command: &Command, names: &[String]) -> String {
    let name = |i: usize| names.get(i).map_or("?", String::as_str).to_string();
    match command {
        Command::Fault { server, fault: crate::command::Fault::Slow { factor } } => {
            format!("slow ×{factor} {}", name(*server))
        }
        Command::Fault { server, fault } => format!("{} {}", fault.name(), name(*server)),
        Command::Surge { factor } => format!("surge ×{factor}"),
        Command::Operator(op) => match op {
            Operator::Pin { server, .. }
            | Operator::Unpin { server }
            | Operator::Depool { server }
            | Operator::Drain { server, .. }
            | Operator::Repool { server, .. } => format!("{} {}", op.name(), name(*server)),
            Operator::ControllerOff | Operator::ControllerOn => op.name().to_string(),
        },
    }
}

/// Controller actions shown as markers, at most this many (the newest), so an oscillating controller does not
/// bury the chart in lines.
const CONTROLLER_MARKERS_MAX: usize = 20;
/// A server counts as cut by its controller when its weight share falls below this fraction of its configured
/// share, and as back once it rises above [`CONTROLLER_BACK`] of it. The gap between the two keeps noise from
/// drawing a marker every step.
const CONTROLLER_CUT: f64 = 0.1;
/// See [`CONTROLLER_CUT`].
const CONTROLLER_BACK: f64 = 0.5;

/// Markers for every applied command (faults, operator actions, surges) and for the controller's own actions:
/// the steps where host 0's controller cut a server's weight to a tenth of its configured share or less, and
/// where it gave at least half of it back.
fn markers(run: &Run, names: &[String]) -> Vec<Marker> {
    let mut out: Vec<Marker> =
        run.sim.applied().map(|(t, c)| Marker { time_s: as_secs_f64(*t), label: command_label(c, names) }).collect();
    let loads: Vec<f64> = run.sim.config().servers.iter().map(|s| s.load).collect();
    let load_total: f64 = loads.iter().filter(|l| **l > 0.0).sum();
    let mut cut = vec![false; loads.len()];
    let mut actions = Vec::new();
    for p in run.history.points() {
        let total: f64 = p.weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
        if !(total > 0.0 && load_total > 0.0) {
            continue;
        }
        for (i, w) in p.weights.iter().enumerate() {
            if !(w.is_finite() && loads.get(i).is_some_and(|l| *l > 0.0)) {
                continue;
            }
            let relative = (w / total) / (loads[i] / load_total);
            if !cut[i] && relative < CONTROLLER_CUT {
                cut[i] = true;
                actions.push(Marker { time_s: p.time_s, label: format!("controller cut {}", names[i]) });
            } else if cut[i] && relative > CONTROLLER_BACK {
                cut[i] = false;
                actions.push(Marker { time_s: p.time_s, label: format!("controller back {}", names[i]) });
            }
        }
    }
    let skip = actions.len().saturating_sub(CONTROLLER_MARKERS_MAX);
    out.extend(actions.into_iter().skip(skip));
    out
}

/// Which run's controller has PID terms to chart, if any.
fn pid_run(engine: &Engine) -> Option<&Run> {
    engine.runs.iter().find(|r| PID_CONTROLLERS.contains(&r.controller))
}

/// The servers the share chart shows (configured load > 0) and each run's share of new connections over the
/// last [`SHARE_WINDOW_ROWS`] rows.
fn shares(engine: &Engine) -> (Vec<usize>, Vec<f64>, Vec<Vec<f64>>) {
    let servers: Vec<usize> = (0..engine.loads.len()).filter(|&i| engine.loads[i] > 0.0).collect();
    let total: f64 = servers.iter().map(|&i| engine.loads[i]).sum();
    let configured = servers.iter().map(|&i| if total > 0.0 { engine.loads[i] / total } else { 0.0 }).collect();
    let runs = engine
        .runs
        .iter()
        .map(|run| {
            let mut sums = vec![0u64; servers.len()];
            for p in run.history.points().rev().take(SHARE_WINDOW_ROWS) {
                for (slot, &i) in sums.iter_mut().zip(&servers) {
                    *slot += p.attempts.get(i).copied().unwrap_or(0);
                }
            }
            let all: u64 = sums.iter().sum();
            sums.iter().map(|&s| if all > 0 { s as f64 / all as f64 } else { 0.0 }).collect()
        })
        .collect();
    (servers, configured, runs)
}

fn series_per_server(run: &Run, value: impl Fn(&crate::web::history::Point, usize) -> f64, n: usize) -> Vec<Series> {
    (0..n)
        .map(|i| {
            let (colour, pattern) = palette::style(i);
            Series { colour, pattern, points: run.history.points().map(|p| (p.time_s, value(p, i))).collect() }
        })
        .collect()
}

/// One series per (run, figure): figure k gets colour k, run B the dashed pattern.
fn series_per_run(engine: &Engine, figures: &[fn(&crate::web::history::Point) -> f64]) -> Vec<Series> {
    let mut out = Vec::new();
    for (r, run) in engine.runs.iter().enumerate() {
        for (k, f) in figures.iter().enumerate() {
            out.push(Series {
                colour: palette::COLOURS[k % palette::COLOURS.len()],
                pattern: if r == 0 { Pattern::Solid } else { Pattern::Dashed },
                points: run.history.points().map(|p| (p.time_s, f(p))).collect(),
            });
        }
    }
    out
}

const STEP_S: f64 = TIME_STEP as f64 / 1e6;

/// Draws one chart from the engine's current state.
fn draw(chart: Chart, canvas: &HtmlCanvasElement, engine: &Engine, dpr: f64) -> Result<(), String> {
    let n = engine.names.len();
    let run0 = &engine.runs[0];
    match chart {
        Chart::Conns(r) | Chart::Weights(r) => {
            let Some(run) = engine.runs.get(r) else { return Ok(()) };
            let (series, y) = if matches!(chart, Chart::Conns(_)) {
                (series_per_server(run, |p, i| p.active_conns.get(i).copied().unwrap_or(0.0), n), "active connections")
            } else {
                (series_per_server(run, |p, i| p.weights.get(i).copied().unwrap_or(f64::NAN), n), "weight (host 0)")
            };
            // A and B share the connections scale, so the panels compare at a glance.
            let shared_max = if matches!(chart, Chart::Conns(_)) {
                engine
                    .runs
                    .iter()
                    .flat_map(|r| r.history.points())
                    .flat_map(|p| p.active_conns.iter().copied())
                    .fold(0.0, f64::max)
            } else {
                0.0
            };
            plot::draw_lines(canvas, dpr, y, x_range(run), &series, &markers(run, &engine.names), &[], shared_max)
        }
        Chart::Share => {
            let (servers, configured, runs) = shares(engine);
            let names: Vec<&str> = servers.iter().map(|&i| engine.names[i].as_str()).collect();
            plot::draw_shares(canvas, dpr, &names, &configured, &runs)
        }
        Chart::Pid => {
            let Some(run) = pid_run(engine) else { return Ok(()) };
            let term = |key: &'static str| {
                move |p: &crate::web::history::Point| {
                    p.diagnostics.iter().find(|(k, _)| *k == key).map_or(f64::NAN, |(_, v)| *v)
                }
            };
            let series: Vec<Series> = ["error", "P", "I", "D"]
                .iter()
                .enumerate()
                .map(|(k, key)| Series {
                    colour: palette::COLOURS[k],
                    pattern: Pattern::Solid,
                    points: run.history.points().map(|p| (p.time_s, term(key)(p))).collect(),
                })
                .collect();
            let ticks: Vec<(f64, f64)> = run
                .history
                .points()
                .filter(|p| term("clamped")(p) > 0.5)
                .map(|p| (p.time_s - STEP_S, p.time_s))
                .collect();
            plot::draw_lines(
                canvas,
                dpr,
                "controller terms",
                x_range(run),
                &series,
                &markers(run, &engine.names),
                &ticks,
                0.0,
            )
        }
        Chart::Latency => {
            let series = series_per_run(engine, &[|p| p.latency_p50_ms, |p| p.latency_p99_ms]);
            plot::draw_lines(
                canvas,
                dpr,
                "latency (ms)",
                x_range(run0),
                &series,
                &markers(run0, &engine.names),
                &[],
                0.0,
            )
        }
        Chart::Errors => {
            let series = series_per_run(
                engine,
                &[
                    |p| p.failed_conns as f64 / STEP_S,
                    |p| p.rejected as f64 / STEP_S,
                    |p| p.overloaded as f64 / STEP_S,
                    |p| p.failed as f64 / STEP_S,
                ],
            );
            plot::draw_lines(canvas, dpr, "per second", x_range(run0), &series, &markers(run0, &engine.names), &[], 0.0)
        }
        Chart::Workers => {
            let mut series = series_per_run(engine, &[|p| p.active_workers]);
            let cfg = run0.sim.config();
            if let Some(per_host) = cfg.workers_per_host {
                let limit = per_host as f64 * cfg.hosts as f64;
                let (lo, hi) = x_range(run0);
                series.push(Series {
                    colour: palette::COLOURS[6],
                    pattern: Pattern::Dotted,
                    points: vec![(lo, limit), (hi, limit)],
                });
            }
            plot::draw_lines(
                canvas,
                dpr,
                "busy app workers",
                x_range(run0),
                &series,
                &markers(run0, &engine.names),
                &[],
                0.0,
            )
        }
    }
}

fn fmt(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// A sentence of current values: the chart's text alternative.
fn describe(chart: Chart, engine: &Engine) -> String {
    let label = |r: usize| {
        if engine.runs.len() > 1 {
            format!("{} ({}): ", if r == 0 { "A" } else { "B" }, engine.runs[r].controller)
        } else {
            String::new()
        }
    };
    let per_run = |f: &dyn Fn(&crate::web::history::Point) -> String| {
        engine
            .runs
            .iter()
            .enumerate()
            .map(|(r, run)| match run.history.last() {
                Some(p) => format!("{}{}", label(r), f(p)),
                None => format!("{}no data yet", label(r)),
            })
            .collect::<Vec<_>>()
            .join(". ")
    };
    let t = format!("At t = {:.1} s: ", engine.now_s());
    match chart {
        Chart::Conns(r) | Chart::Weights(r) => {
            let Some(run) = engine.runs.get(r) else { return "Not shown: no A/B comparison.".into() };
            let Some(p) = run.history.last() else { return "No data yet.".into() };
            let values = if matches!(chart, Chart::Conns(_)) { &p.active_conns } else { &p.weights };
            let what = if matches!(chart, Chart::Conns(_)) { "active connections" } else { "host 0's weights" };
            let parts: Vec<String> = engine
                .names
                .iter()
                .zip(values)
                .filter(|(_, v)| v.is_finite())
                .map(|(n, v)| format!("{n} {}", fmt(*v)))
                .collect();
            format!("{t}{}{what}: {}.", label(r), parts.join(", "))
        }
        Chart::Share => {
            let (servers, configured, runs) = shares(engine);
            let parts: Vec<String> = servers
                .iter()
                .enumerate()
                .map(|(k, &i)| {
                    let now: Vec<String> = runs.iter().map(|s| format!("{:.1}%", s[k] * 100.0)).collect();
                    format!("{} {} (configured {:.1}%)", engine.names[i], now.join(" / "), configured[k] * 100.0)
                })
                .collect();
            format!("{t}share of new connections over the last 5 s: {}.", parts.join(", "))
        }
        Chart::Pid => match pid_run(engine) {
            None => "Not shown: the controller has no P or PID terms.".into(),
            Some(run) => {
                let name = engine.names.get(engine.watched).map_or("?", String::as_str);
                match run.history.last() {
                    Some(p) if !p.diagnostics.is_empty() => {
                        let parts: Vec<String> =
                            p.diagnostics.iter().map(|(k, v)| format!("{k} {}", fmt(*v))).collect();
                        format!("{t}{}'s terms for {name}: {}.", run.controller, parts.join(", "))
                    }
                    _ => format!("{t}no terms for {name} yet."),
                }
            }
        },
        Chart::Latency => format!(
            "{t}{}.",
            per_run(&|p| format!("p50 {} ms, p99 {} ms", fmt(p.latency_p50_ms), fmt(p.latency_p99_ms)))
        ),
        Chart::Errors => format!(
            "{t}{}.",
            per_run(&|p| format!(
                "{} failed connects/s, {} rejected/s, {} overloaded/s, {} failed requests/s",
                fmt(p.failed_conns as f64 / STEP_S),
                fmt(p.rejected as f64 / STEP_S),
                fmt(p.overloaded as f64 / STEP_S),
                fmt(p.failed as f64 / STEP_S)
            ))
        ),
        Chart::Workers => format!("{t}{}.", per_run(&|p| format!("{} busy workers", fmt(p.active_workers)))),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The why panel's content: run A's most recent traced pick.
fn why_html(engine: &Engine) -> String {
    let run = &engine.runs[0];
    let Some(pick) = run.sim.last_pick() else {
        return "<p>No pick traced yet: one request in a few hundred is traced once the run starts.</p>".into();
    };
    let name = |i: usize| escape(engine.names.get(i).map_or("?", String::as_str));
    let chosen = pick.chosen.map_or("none: the request failed fast".to_string(), name);
    let total: f64 = pick.weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
    let mut out = format!(
        "<p>At t = {:.3} s, app host {} asked <strong>{}</strong> for a replica. It chose <strong>{}</strong>; decided by: {}.</p>",
        as_secs_f64(pick.time),
        pick.host,
        escape(run.controller),
        chosen,
        escape(pick.decided_by)
    );
    out.push_str("<table><thead><tr><th scope=\"col\">server</th><th scope=\"col\">load</th><th scope=\"col\">in flight</th><th scope=\"col\">weight</th><th scope=\"col\">share</th></tr></thead><tbody>");
    for (k, c) in pick.candidates.iter().enumerate() {
        let w = pick.weights.get(k).copied().unwrap_or(f64::NAN);
        let chance =
            if total > 0.0 && w.is_finite() { format!("{:.1}%", w.max(0.0) / total * 100.0) } else { "–".into() };
        let class = if pick.chosen == Some(c.server) { " class=\"chosen\"" } else { "" };
        out.push_str(&format!(
            "<tr{class}><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{chance}</td></tr>",
            name(c.server),
            fmt(c.configured_load),
            c.in_flight,
            fmt(w)
        ));
    }
    out.push_str("</tbody></table>");
    out.push_str(
        "<p class=\"hint\">load: configured load with operator overrides; in flight: this host's open connections \
         to the server (all it knows); weight: what its controller made of them; share: weight ÷ total, the pick chance for controllers that pick at random by weight.</p>",
    );
    if !pick.diagnostics.is_empty() {
        let parts: Vec<String> = pick.diagnostics.iter().map(|(k, v)| format!("{} {}", escape(k), fmt(*v))).collect();
        out.push_str(&format!("<p>The controller's terms for the chosen server: {}.</p>", parts.join(", ")));
    }
    out
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

/// The status line: where the run is and what it has done so far.
fn status_line(engine: &Engine, playing: bool) -> String {
    let s = engine.runs[0].summary();
    let mut line = format!(
        "t = {:.1} s · {} requests · {} failed · {} rejected · {} overloaded · {} events",
        engine.now_s(),
        grouped(s.requests),
        grouped(s.failed),
        grouped(s.rejected),
        grouped(s.overloaded),
        grouped(s.events)
    );
    if !playing {
        line.push_str(" · paused");
    } else if engine.behind {
        line.push_str(" · running slower than asked (this device cannot keep up)");
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

/// Triggers a download of `href` as `file_name`.
fn download(href: &str, file_name: &str) {
    let document = gloo::utils::document();
    if let Ok(a) = document.create_element("a").map(|a| a.unchecked_into::<web_sys::HtmlAnchorElement>()) {
        a.set_href(href);
        a.set_download(file_name);
        a.click();
    }
}

/// Downloads run A's rows (and B's, when on) as CSV with the CLI's columns.
fn export_csv(engine: &Engine, url: &UrlState) -> Result<(), String> {
    for (r, run) in engine.runs.iter().enumerate() {
        let parts = js_sys::Array::of1(&run.csv().into());
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("text/csv");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(|_| "no Blob")?;
        let href = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| "no object URL")?;
        let suffix = if r == 0 { "" } else { "-b" };
        download(&href, &format!("loadlab-{}-{}-seed{}{suffix}.csv", url.scenario, run.controller, url.seed));
        // The download has its own reference to the blob by now.
        let _ = web_sys::Url::revoke_object_url(&href);
    }
    Ok(())
}

/// Downloads every visible chart, stacked, as one PNG.
fn export_png(canvases: &[NodeRef], file_name: &str) -> Result<(), String> {
    let visible: Vec<HtmlCanvasElement> = canvases
        .iter()
        .filter_map(|r| r.cast::<HtmlCanvasElement>())
        .filter(|c| c.width() > 0 && c.height() > 0)
        .collect();
    let width = visible.iter().map(|c| c.width()).max().unwrap_or(0);
    let height: u32 = visible.iter().map(|c| c.height()).sum();
    if width == 0 || height == 0 {
        return Err("no chart is drawn yet".into());
    }
    let document = gloo::utils::document();
    let sheet: HtmlCanvasElement =
        document.create_element("canvas").map_err(|_| "no canvas")?.dyn_into().map_err(|_| "no canvas")?;
    sheet.set_width(width);
    sheet.set_height(height);
    let ctx: web_sys::CanvasRenderingContext2d =
        sheet.get_context("2d").ok().flatten().and_then(|c| c.dyn_into().ok()).ok_or("the canvas has no 2D context")?;
    ctx.set_fill_style_str("#ffffff");
    ctx.fill_rect(0.0, 0.0, width as f64, height as f64);
    let mut y = 0.0;
    for c in &visible {
        ctx.draw_image_with_html_canvas_element(c, 0.0, y).map_err(|_| "a chart could not be copied")?;
        y += c.height() as f64;
    }
    let data = sheet.to_data_url_with_type("image/png").map_err(|_| "the charts could not be encoded")?;
    download(&data, file_name);
    Ok(())
}

/// The charts, the why panel, the status line and the exports.
#[component]
pub fn Lab(props: &LabProps) -> Html {
    let canvases: Vec<NodeRef> = (0..CHARTS.len()).map(|_| NodeRef::default()).collect();
    let canvases = use_memo((), move |_| canvases).clone();
    let alts = use_memo((), |_| (0..CHARTS.len()).map(|_| NodeRef::default()).collect::<Vec<_>>());
    let status = use_node_ref();
    let why = use_node_ref();
    // The server the PID chart watches: the reader's choice, else the scenario's faulty server.
    let choice = use_state(|| None::<usize>);
    let watched = choice
        .filter(|&i| i < props.names.len())
        .unwrap_or_else(|| props.names.iter().position(|n| n == scenario::FAULTY_SERVER).unwrap_or(0));
    let shared = {
        let (canvases, alts, status, why) = ((*canvases).clone(), (*alts).clone(), status.clone(), why.clone());
        let engine = props.engine.clone();
        use_mut_ref(move || Loop {
            engine,
            speed: 1.0,
            playing: false,
            canvases,
            alts,
            dirty: vec![true; CHARTS.len()],
            round_robin: 0,
            status,
            why,
            last_frame_ms: None,
            last_text_ms: f64::NEG_INFINITY,
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
            shared.last_text_ms = f64::NEG_INFINITY;
        });
    }
    {
        let shared = shared.clone();
        let on_halt = props.on_halt.clone();
        let url = props.url.clone();
        use_effect_with(props.generation, move |_| {
            let failure = {
                let mut shared = shared.borrow_mut();
                shared.dirty.iter_mut().for_each(|d| *d = true);
                shared.last_text_ms = f64::NEG_INFINITY;
                let built = shared.engine.0.borrow_mut().rebuild(&url);
                built.err().map(|reason| format!("The {} scenario could not start: {reason}", url.scenario))
            };
            if let Some(reason) = failure {
                on_halt.emit(reason);
            }
        });
    }
    {
        // After the rebuild above (effects run in order), so a fresh run watches the chosen server too.
        let shared = shared.clone();
        use_effect_with((props.generation, watched), move |&(_, watched)| {
            let mut shared = shared.borrow_mut();
            shared.engine.0.borrow_mut().watch(watched);
            shared.dirty.iter_mut().for_each(|d| *d = true);
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

    let ab = props.url.controller_b.is_some();
    let pid = std::iter::once(props.url.controller.as_str())
        .chain(props.url.controller_b.as_deref())
        .any(|c| PID_CONTROLLERS.contains(&c));
    let on_halt = props.on_halt.clone();
    let on_csv = {
        let (engine, url, on_halt) = (props.engine.clone(), props.url.clone(), on_halt.clone());
        Callback::from(move |_: MouseEvent| {
            let result = export_csv(&engine.0.borrow(), &url);
            if let Err(e) = result {
                on_halt.emit(format!("The CSV could not be exported: {e}"));
            }
        })
    };
    let on_png = {
        let (canvases, url, on_halt) = (canvases.clone(), props.url.clone(), on_halt.clone());
        Callback::from(move |_: MouseEvent| {
            let name = format!("loadlab-{}-{}-seed{}.png", url.scenario, url.controller, url.seed);
            if let Err(e) = export_png(&canvases, &name) {
                on_halt.emit(format!("The PNG could not be exported: {e}"));
            }
        })
    };
    let on_watch = {
        let choice = choice.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            if let Ok(i) = value.parse::<usize>() {
                choice.set(Some(i));
            }
        })
    };
    let a = props.url.controller.clone();
    let b = props.url.controller_b.clone().unwrap_or_default();
    let figure =
        |i: usize, id: &str, title: String, hint: &str, aria: String, extra: Html, class: &str, hidden: bool| {
            html! {
                <figure class={classes!("chart", class.to_string())} hidden={hidden}>
                    <figcaption>
                        <h2>{ title }</h2>
                        <p class="hint">{ hint.to_string() }</p>
                    </figcaption>
                    { extra }
                    <div class="canvas-box">
                        <canvas id={id.to_string()} ref={canvases[i].clone()} role="img" aria-label={aria} />
                    </div>
                    <details class="alt">
                        <summary>{ "Values now (text)" }</summary>
                        <p ref={alts[i].clone()}></p>
                    </details>
                </figure>
            }
        };
    let run_label = |r: usize| {
        if ab {
            format!(" — {} ({})", if r == 0 { "A" } else { "B" }, if r == 0 { &a } else { &b })
        } else {
            format!(" — {a}")
        }
    };
    let ab_hint = if ab { format!("Solid lines: A ({a}); dashed: B ({b}).") } else { String::new() };
    let pid_select = html! {
        <div class="field inline-field">
            <label for="pid-server">{ "Server whose terms are shown" }</label>
            <select id="pid-server" onchange={on_watch}>
                { for props.names.iter().enumerate().map(|(i, n)| html! {
                    <option value={i.to_string()} selected={i == watched}>{ n.clone() }</option>
                }) }
            </select>
        </div>
    };
    html! {
        <section class="lab" aria-label="live charts">
            <p class="status" id="status" ref={status} aria-live="off"></p>
            <div class="charts">
                { figure(0, "chart-conns", format!("Active connections per server{}", run_label(0)),
                    "Open and opening connections, averaged over each half second. Dashed lines mark faults, operator actions, and where the controller cut a server or gave it back.",
                    "Line chart of active connections per database server over simulated time".into(), html! {}, "wide", false) }
                { figure(1, "chart-conns-b", format!("Active connections per server{}", run_label(1)),
                    "The same seed, faults and commands, with controller B.",
                    "Line chart of active connections per server under controller B".into(), html! {}, "wide secondary", !ab) }
                <Legend names={props.names.clone()} />
                <div class="wide story-slot">{ props.story.clone() }</div>
                { figure(2, "chart-share", "Share of new connections now".into(),
                    &format!("Outlined: each server's configured share. Filled: its share of the last 5 s of connects{}.",
                        if ab { format!(" (blue A {a}, orange B {b})") } else { String::new() }),
                    "Bar chart of each replica's share of new connections against its configured share".into(), html! {}, "", false) }
                { figure(3, "chart-weights", format!("Controller weights{}", run_label(0)),
                    "The weights app host 0's controller would pick with, per server.",
                    "Line chart of the controller's weight for each server over simulated time".into(), html! {}, "secondary", false) }
                { figure(4, "chart-weights-b", format!("Controller weights{}", run_label(1)),
                    "The same for controller B.",
                    "Line chart of controller B's weights over simulated time".into(), html! {}, "secondary", !ab) }
                { figure(5, "chart-pid", "P and PID terms".into(),
                    "Error (blue), P (orange), I (green) and D (purple) of host 0's controller for one server; bars along the top mark steps where the output was clamped.",
                    "Line chart of the controller's error, P, I and D terms over simulated time".into(), pid_select, "secondary", !pid) }
                { figure(6, "chart-latency", "End-to-end latency".into(),
                    &format!("Median (blue) and 99th percentile (orange) of requests completed in each half second. {ab_hint}"),
                    "Line chart of end-to-end latency p50 and p99 over simulated time".into(), html! {}, "", false) }
                { figure(7, "chart-errors", "Errors".into(),
                    &format!("Per second: failed connects (blue), rejected (orange), \"overloaded\" (green) and failed requests (purple). {ab_hint}"),
                    "Line chart of failed connects, rejected and overloaded requests per second".into(), html! {}, "secondary", false) }
                { figure(8, "chart-workers", "App workers in use".into(),
                    &format!("Busy workers across all app hosts; the dotted line is the pool size when it is limited. {ab_hint}"),
                    "Line chart of busy app workers over simulated time".into(), html! {}, "secondary", false) }
                { props.children.clone() }
            </div>
            <section class="why" aria-labelledby="why-title">
                <h2 id="why-title">{ "Why this server?" }</h2>
                <div id="why" ref={why} aria-live="off"></div>
            </section>
            <div class="exports row">
                <button type="button" id="export-csv" onclick={on_csv}>{ "Export CSV" }</button>
                <button type="button" id="export-png" onclick={on_png}>{ "Export charts as PNG" }</button>
            </div>
        </section>
    }
}
