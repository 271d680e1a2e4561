//! The page's charts as data. Every model's charts come from its [`ChartSpec`] table over its row schema: the
//! same [`Panel`] list decides which canvases the page shows, what each draws and its text alternative. A model
//! that declares weighted targets ([`ReadOuts`](crate::engine::run::ReadOuts)) adds three more (share of new
//! connections, balancer weights, and, where its controller declares charted terms, the P and PID terms).
//!
//! A chart whose columns are per target (`.active_conns`: one line per server) gets one panel per run, A and
//! B, on a shared scale; a chart of a few global columns overlays A (solid) and B (dashed) in one panel.

use std::rc::Rc;

use web_sys::HtmlCanvasElement;

use super::history::Point;
use super::palette::{self, Pattern, Rgb};
use super::plot::{self, Key, LineChart, Marker, Series, X_SPAN_MIN_S};
use super::runner::{faulty, greyed, Engine, Lane, TIME_STEP_S};
// The terms the P and PID chart draws, as the controllers that chart them declare them.
use crate::controller::PID_TERMS;
use crate::engine::commands::happened;
use crate::engine::scenario::View;
use crate::engine::schema::{ChartSpec, Crowd, Scale, CROWD_MAX_SERIES};
use crate::time::{as_secs_f64, SimTime};

/// What a panel draws.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Chart `index` of the run's table; `lane` is `Some(r)` for per-target charts (one panel per run).
    Spec {
        /// Index into `Run::charts()`.
        index: usize,
        /// The run it shows, or `None` for every run overlaid.
        lane: Option<usize>,
    },
    /// Each target's share of new work against its configured share (models with weighted targets).
    Share,
    /// Host 0's balancer weights for run `r` (models with weighted targets).
    Weights(usize),
    /// The balancer's charted terms (a P/PID controller's error, P, I and D).
    Pid,
}

/// One chart on the page.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// What it draws.
    pub kind: Kind,
    /// The canvas's element id (`chart-conns`, `chart-conns-b`).
    pub dom_id: String,
    /// Its title.
    pub title: String,
    /// One sentence under it: what to look for.
    pub hint: String,
    /// The canvas's accessible name.
    pub aria: String,
    /// True for the run's first chart (drawn big on the first screen, beside the lesson).
    pub primary: bool,
}

/// Fewest connects a share window sums before it is shown: with n connects, a share p has a standard error of
/// √(p(1−p)/n), so 2000 connects put a 2.7% share within ±0.4 points.
const SHARE_CONNECTS_MIN: f64 = 2000.0;

fn per_target(spec: &ChartSpec) -> bool {
    spec.columns.iter().any(|c| c.starts_with('.'))
}

fn run_label(engine: &Engine, r: usize) -> String {
    let lane = &engine.lanes[r];
    match (engine.lanes.len() > 1, lane.controller.is_empty()) {
        (true, _) => format!(" — {} ({})", if r == 0 { "A" } else { "B" }, lane.controller),
        (false, false) => format!(" — {}", lane.controller),
        (false, true) => String::new(),
    }
}

/// The y unit as drawn: counts per step become per second.
fn unit(spec: &ChartSpec) -> &'static str {
    if spec.unit == "per step" {
        "per second"
    } else {
        spec.unit
    }
}

/// Every panel for the engine's current runs, in page order.
pub fn panels(engine: &Engine) -> Vec<Panel> {
    let Some(first) = engine.lanes.first() else { return Vec::new() };
    let mut out = Vec::new();
    for (index, spec) in first.run.charts().iter().enumerate() {
        let lanes: Vec<Option<usize>> =
            if per_target(spec) { (0..engine.lanes.len()).map(Some).collect() } else { vec![None] };
        for lane in lanes {
            let suffix = if lane == Some(1) { "-b" } else { "" };
            let title = match lane {
                Some(r) => format!("{}{}", spec.title, run_label(engine, r)),
                None => spec.title.to_string(),
            };
            let mut hint = spec.hint.to_string();
            if spec.unit == "per step" {
                hint.push_str(" Drawn per second.");
            }
            if lane.is_none() && engine.lanes.len() > 1 {
                hint.push_str(" Solid lines: A; dashed: B.");
            }
            out.push(Panel {
                kind: Kind::Spec { index, lane },
                dom_id: format!("chart-{}{suffix}", spec.id),
                aria: format!("Line chart: {} ({}) over simulated time", spec.title, unit(spec)),
                title,
                hint,
                primary: index == 0,
            });
        }
    }
    if !first.run.read_outs().configured_weights.is_empty() {
        weight_panels(engine, &mut out);
    }
    out
}

fn weight_panels(engine: &Engine, out: &mut Vec<Panel>) {
    let ab = engine.lanes.len() > 1;
    out.insert(
        out.iter().position(|p| !matches!(p.kind, Kind::Spec { index: 0, .. })).unwrap_or(out.len()),
        Panel {
            kind: Kind::Share,
            dom_id: "chart-share".into(),
            title: "Share of new connections".into(),
            hint: format!(
                "Outlined: each replica's configured share. Filled: its share of recent connects{}, summed back until there are 2,000 (then a 2.7% share is within ±0.4 points), or over all there are while fewer. A broken server is named in vermillion.",
                if ab { " (blue A, green B)" } else { "" }
            ),
            aria: "Bar chart of each replica's share of new connections against its configured share".into(),
            primary: false,
        },
    );
    for r in 0..engine.lanes.len() {
        out.push(Panel {
            kind: Kind::Weights(r),
            dom_id: if r == 0 { "chart-weights".into() } else { "chart-weights-b".into() },
            title: format!("Controller weights{}", run_label(engine, r)),
            hint: "The weight app host 0's controller gives each server: its pick chance is weight ÷ total.".into(),
            aria: "Line chart of the controller's weight for each server over simulated time".into(),
            primary: false,
        });
    }
    if pid_lane(engine).is_some() {
        out.push(Panel {
            kind: Kind::Pid,
            dom_id: "chart-pid".into(),
            title: "P and PID terms".into(),
            hint: "Host 0's controller for one server. Each term is scaled to its own largest size in view (the legend says it), so a term of 0.01 beside an error of 2 still shows its shape; bars along the top mark clamped steps.".into(),
            aria: "Line chart of the controller's error, P, I and D terms, each scaled to its own range".into(),
            primary: false,
        });
    }
}

/// The x range of a run's charts: its view ([`View::x_range`]) at the newest row, a view that follows the run at
/// least [`X_SPAN_MIN_S`] wide.
fn x_range(lane: &Lane, view: View) -> (f64, f64) {
    view.x_range(lane.history.last().map_or(0.0, Point::time_s), X_SPAN_MIN_S)
}

/// The time span run A's charts show now, simulated seconds.
pub fn x_span(engine: &Engine) -> (f64, f64) {
    engine.lanes.first().map_or((0.0, X_SPAN_MIN_S), |l| x_range(l, engine.view))
}

/// Controller actions shown as markers, at most this many (the newest).
const CONTROLLER_MARKERS_MAX: usize = 12;
/// A server counts as cut by its controller when its weight share falls below this fraction of its configured
/// share, and as back once it rises above [`CONTROLLER_BACK`] of it; the gap keeps noise from drawing a marker
/// every step.
const CONTROLLER_CUT: f64 = 0.1;
/// See [`CONTROLLER_CUT`].
const CONTROLLER_BACK: f64 = 0.5;

/// Markers for every applied command, in what-happened words from the run's command table, and (section) the steps where host 0's controller cut a server's weight
/// to a tenth of its configured share or less, and where it gave at least half of it back.
/// Computed once per row or command ([`Lane::markers`]), however many charts draw them.
pub fn markers(lane: &Lane, names: &[String]) -> Rc<[Marker]> {
    lane.markers(|applied| compute_markers(lane, applied, names))
}

/// [`markers`] computed afresh, to check the memo against.
#[cfg(test)]
pub fn markers_uncached(lane: &Lane, names: &[String]) -> Vec<Marker> {
    compute_markers(lane, lane.applied_text(), names)
}

/// [`markers`], computed from the run's history and `applied`, its commands so far.
fn compute_markers(lane: &Lane, applied: Vec<(SimTime, String)>, names: &[String]) -> Vec<Marker> {
    let mut out: Vec<Marker> = applied
        .into_iter()
        .map(|(t, text)| Marker { time_s: as_secs_f64(t), label: happened(lane.run.command_table(), &text) })
        .collect();
    let loads = lane.run.read_outs().configured_weights;
    if loads.is_empty() {
        return out;
    }
    let load_total: f64 = loads.iter().filter(|l| **l > 0.0).sum();
    let mut cut = vec![false; loads.len()];
    let mut actions = Vec::new();
    for p in lane.history.points() {
        let total: f64 = p.weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
        if !(total > 0.0 && load_total > 0.0) {
            continue;
        }
        for (i, w) in p.weights.iter().enumerate() {
            if !(w.is_finite() && loads.get(i).is_some_and(|l| *l > 0.0)) {
                continue;
            }
            let relative = (w / total) / (loads[i] / load_total);
            let name = names.get(i).map_or("?", String::as_str);
            if !cut[i] && relative < CONTROLLER_CUT {
                cut[i] = true;
                actions.push(Marker { time_s: p.time_s(), label: format!("controller cuts {name}") });
            } else if cut[i] && relative > CONTROLLER_BACK {
                cut[i] = false;
                actions.push(Marker { time_s: p.time_s(), label: format!("controller restores {name}") });
            }
        }
    }
    let skip = actions.len().saturating_sub(CONTROLLER_MARKERS_MAX);
    out.extend(actions.into_iter().skip(skip));
    out.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    out
}

/// The scale factor of a chart's values: counts per step are drawn per second.
fn factor(spec: &ChartSpec) -> f64 {
    if spec.unit == "per step" {
        1.0 / TIME_STEP_S
    } else {
        1.0
    }
}

/// The target a series belongs to: the label of a per-target column (`db1119` of `db1119.active_conns`), or
/// the part before the first dot of a named column when that part is a target (`koha1` of
/// `koha1.latency_p50_ms`).
fn target_of(label: &str, column: &str, names: &[String]) -> Option<usize> {
    names
        .iter()
        .position(|n| n == label)
        .or_else(|| column.split_once('.').and_then(|(head, _)| names.iter().position(|n| n == head)))
}

/// The grey of the legend's pattern keys ("dashed: pause (STOP) level"): a pattern, not a colour.
const KEY_GREY: Rgb = Rgb(0x55, 0x5b, 0x61);

/// The series of chart `spec` for one lane (per-target) or for every lane overlaid, and the chart's own legend,
/// in plain words from the chart's table, each entry drawn as its lines are.
///
/// A target's lines (a server, a node) take the target's colour everywhere, the faulty ones their reserved
/// colours; in a crowd ([`Crowd::FaultyOverGrey`]) every other target is one thin grey line and the legend says
/// "other servers". Where a target has several lines (a node's queue and its STOP level), the pattern tells
/// them apart and the legend names each pattern. Whole-run lines take their own colours (black and grey
/// dashes beside targets' lines); with A and B overlaid, B's are dashed.
fn spec_series(engine: &Engine, spec: &ChartSpec, lane: Option<usize>) -> (Vec<Series>, Vec<Key>) {
    let lanes: Vec<usize> = lane.map_or_else(|| (0..engine.lanes.len()).collect(), |r| vec![r]);
    let ab = engine.lanes.len() > 1 && lane.is_none();
    let k = factor(spec);
    let kind = engine.target_kind.unwrap_or("part");
    let (mut series, mut keys) = (Vec::new(), Vec::new());
    for r in lanes {
        let l = &engine.lanes[r];
        let faulty = faulty(l, &engine.names);
        let list = spec.series_labelled(&l.columns);
        let targets: Vec<Option<usize>> =
            list.iter().map(|(col, label, _)| target_of(label, &l.columns[*col].name, &engine.names)).collect();
        // The chart's table says what a crowd of targets does: grey all but the faulty ones.
        let shown_targets = {
            let mut t: Vec<usize> = targets.iter().flatten().copied().collect();
            t.sort_unstable();
            t.dedup();
            t
        };
        let greyed = spec.crowd == Crowd::FaultyOverGrey && shown_targets.len() > CROWD_MAX_SERIES;
        // What a target's lines are, in table order: one pattern each when there are several.
        let mut kinds: Vec<&'static str> = Vec::new();
        for ((_, _, plain), t) in list.iter().zip(&targets) {
            if t.is_some() && !kinds.contains(plain) {
                kinds.push(plain);
            }
        }
        let any_global = targets.iter().any(Option::is_none);
        // Counts per part that is not one of the run's targets (Koha's "mc1.timeouts", "mc1.skips", "mc2.…"):
        // a colour per part and a pattern per count, so six lines never reuse a colour.
        let grid = shown_targets
            .is_empty()
            .then(|| part_grid(list.iter().map(|(col, ..)| l.columns[*col].name.as_str())))
            .flatten();
        let mut global = 0;
        let patterns = spec.columns.len();
        for ((col, label, plain), target) in list.iter().zip(&targets) {
            let points = l.history.points().map(|p| (p.time_s(), p.get(*col) * k)).collect();
            let (colour, pattern, width) = match target {
                Some(i) => {
                    let (c, p, w) = palette::crowd_style(*i, &faulty, greyed);
                    let p = if kinds.len() > 1 {
                        [Pattern::Solid, Pattern::Dashed, Pattern::Dotted]
                            [kinds.iter().position(|x| x == plain).unwrap_or(0).min(2)]
                    } else {
                        p
                    };
                    (c, p, w)
                }
                None if !shown_targets.is_empty() => {
                    let styles = [(Rgb(0, 0, 0), Pattern::Dashed), (Rgb(0x77, 0x77, 0x77), Pattern::Dotted)];
                    let (c, p) = styles[global % styles.len()];
                    (c, p, 2.25)
                }
                None if grid.is_some() => {
                    let (parts, counts) = grid.as_ref().expect("checked");
                    let (part, count) = l.columns[*col].name.split_once('.').unwrap_or_default();
                    let c = palette::OTHERS[parts.iter().position(|p| *p == part).unwrap_or(0)];
                    let p = [Pattern::Solid, Pattern::Dashed, Pattern::Dotted]
                        [counts.iter().position(|n| *n == count).unwrap_or(0)];
                    (c, p, 2.0)
                }
                None => {
                    let c = palette::OTHERS[global % palette::OTHERS.len()];
                    let p = if r == 1 && ab {
                        Pattern::Dashed
                    } else if global >= palette::OTHERS.len() {
                        Pattern::Dotted
                    } else {
                        Pattern::Solid
                    };
                    (c, p, 2.0)
                }
            };
            if target.is_none() {
                let run = if ab { [" (A)", " (B)"][r.min(1)] } else { "" };
                keys.push(Key {
                    label: format!("{}{run}", line_name(label, &l.columns[*col].name, plain, patterns)),
                    colour,
                    pattern,
                });
                global += 1;
            }
            series.push(Series { colour, pattern, width_css: width, points });
        }
        // The targets' entries come first, once (B's panel of a per-target chart has its own legend).
        if r == lanes_first(lane) && !shown_targets.is_empty() {
            let mut head = target_keys(engine, &shown_targets, &faulty, greyed);
            if kinds.len() > 1 {
                for (n, what) in kinds.iter().enumerate().take(3) {
                    let pattern = [Pattern::Solid, Pattern::Dashed, Pattern::Dotted][n];
                    head.push(Key { label: (*what).to_string(), colour: KEY_GREY, pattern });
                }
            } else if let (Some(what), true) = (kinds.first(), any_global) {
                // Beside whole-run lines, say what the targets' lines are.
                let label = format!("{what}, one line per {kind}:");
                head.insert(0, Key { label, colour: KEY_GREY, pattern: Pattern::Solid });
            }
            keys.splice(0..0, head);
        }
    }
    (series, keys)
}

/// The legend's words for a line that is not a target's: a part's name where its chart has one line per part
/// that is not a target (a hypervisor's `hyp1` of `hyp1.nic_load`), with what it is when the chart plots several
/// things per part; else the chart table's plain label.
/// The parts and the counts of columns that are all `part.count` over two to five parts and two or three counts
/// (`mc1.hits`, `mc1.misses`, `mc2.hits`, …), in first-seen order; `None` for any other set of columns.
fn part_grid<'a>(columns: impl Iterator<Item = &'a str>) -> Option<(Vec<&'a str>, Vec<&'a str>)> {
    let (mut parts, mut counts) = (Vec::new(), Vec::new());
    for name in columns {
        let (part, count) = name.split_once('.')?;
        if !parts.contains(&part) {
            parts.push(part);
        }
        if !counts.contains(&count) {
            counts.push(count);
        }
    }
    let fits = (2..=palette::OTHERS.len()).contains(&parts.len()) && (2..=3).contains(&counts.len());
    fits.then_some((parts, counts))
}

fn line_name(label: &str, column: &str, plain: &str, patterns: usize) -> String {
    match (label != column, patterns > 1) {
        (true, true) => format!("{label} {plain}"),
        (true, false) => label.to_string(),
        (false, _) => plain.to_string(),
    }
}

/// The legend entries of targets `shown` (indices into the engine's names), each in its own colour, the faulty
/// ones said so; in a crowd only the faulty ones by name and one grey entry for the rest ("other servers").
fn target_keys(engine: &Engine, shown: &[usize], faulty: &[usize], greyed: bool) -> Vec<Key> {
    let kind = engine.target_kind.unwrap_or("part");
    let mut out: Vec<Key> = Vec::new();
    for &i in shown.iter().filter(|i| !greyed || faulty.contains(i)) {
        let (colour, _, _) = palette::crowd_style(i, faulty, greyed);
        let name = engine.names.get(i).cloned().unwrap_or_default();
        let label = if faulty.contains(&i) { format!("{name} (faulty)") } else { name };
        out.push(Key { label, colour, pattern: Pattern::Solid });
    }
    if greyed && shown.iter().any(|i| !faulty.contains(i)) {
        out.push(Key { label: format!("other {kind}s"), colour: palette::REST, pattern: Pattern::Solid });
    }
    out
}

/// The first lane a chart draws: its own for a per-target panel, A for an overlaid one.
fn lanes_first(lane: Option<usize>) -> usize {
    lane.unwrap_or(0)
}

/// The reader's metrics mapped to this chart's columns: black, dotted and thick beside the simulated lines, with
/// a legend entry naming them.
fn overlay_series(
    engine: &Engine,
    spec: &ChartSpec,
    l: &Lane,
    x: (f64, f64),
    series: &mut Vec<Series>,
    keys: &mut Vec<Key>,
) {
    let cols: Vec<usize> = spec.series(&l.columns).into_iter().map(|(c, _)| c).collect();
    let k = factor(spec);
    let mine: Vec<&crate::overlay::Overlay> = engine.overlay.iter().filter(|o| cols.contains(&o.column)).collect();
    for o in &mine {
        let points = o.points.iter().filter(|p| p.0 >= x.0 && p.0 <= x.1).map(|&(t, v)| (t, v * k)).collect();
        series.push(Series { colour: palette::YOURS, pattern: Pattern::Dotted, width_css: 3.0, points });
    }
    if let Some(first) = mine.first() {
        let more = if mine.len() > 1 { format!(" and {} more", mine.len() - 1) } else { String::new() };
        keys.push(Key {
            label: format!("your data: {}{more}", first.name),
            colour: palette::YOURS,
            pattern: Pattern::Dotted,
        });
    }
}

/// The largest value any lane shows in chart `spec` (so A and B panels share a scale).
fn shared_max(engine: &Engine, spec: &ChartSpec) -> f64 {
    let k = factor(spec);
    engine
        .lanes
        .iter()
        .flat_map(|l| {
            let cols: Vec<usize> = spec.series(&l.columns).into_iter().map(|(c, _)| c).collect();
            l.history.points().flat_map(move |p| cols.iter().map(|&c| p.get(c) * k).collect::<Vec<_>>())
        })
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
}

/// The markers of every run but run `lane`: a chart of one run beside the other's makes room for their labels
/// too, so the two plots line up.
fn other_lanes_markers(engine: &Engine, lane: usize) -> Vec<Marker> {
    let others = engine.lanes.iter().enumerate().filter(|(i, _)| *i != lane);
    others.flat_map(|(_, l)| markers(l, &engine.names).to_vec()).collect()
}

/// Draws one panel from the engine's current state.
pub fn draw(panel: &Panel, canvas: &HtmlCanvasElement, engine: &Engine, dpr: f64) -> Result<(), String> {
    let Some(first) = engine.lanes.first() else { return Ok(()) };
    match panel.kind {
        Kind::Spec { index, lane } => {
            let Some(spec) = first.run.charts().get(index) else { return Ok(()) };
            let l = &engine.lanes[lane.unwrap_or(0).min(engine.lanes.len() - 1)];
            if let Scale::States(states) = spec.scale {
                let rows: Vec<(String, Vec<(f64, f64)>)> = (spec.series(&l.columns).into_iter())
                    .map(|(col, label)| (label, l.history.points().map(|p| (p.time_s(), p.get(col))).collect()))
                    .collect();
                return plot::draw_states(canvas, dpr, x_range(l, engine.view), &rows, states);
            }
            let (mut series, mut keys) = spec_series(engine, spec, lane);
            let x = x_range(l, engine.view);
            overlay_series(engine, spec, l, x, &mut series, &mut keys);
            if let Some((label, value)) = spec.reference {
                keys.push(Key { label: label.to_string(), colour: Rgb(0x33, 0x33, 0x33), pattern: Pattern::Dotted });
                series.push(Series {
                    colour: Rgb(0x33, 0x33, 0x33),
                    pattern: Pattern::Dotted,
                    width_css: 1.5,
                    points: vec![(x.0, value), (x.1, value)],
                });
            }
            let limits: Vec<f64> =
                l.run.read_outs().limits.into_iter().filter(|(id, _)| *id == spec.id).map(|(_, v)| v).collect();
            if !limits.is_empty() {
                keys.push(Key {
                    label: "the most there can be".into(),
                    colour: Rgb(0x33, 0x33, 0x33),
                    pattern: Pattern::Dotted,
                });
            }
            for limit in limits {
                series.push(Series {
                    colour: Rgb(0x33, 0x33, 0x33),
                    pattern: Pattern::Dotted,
                    width_css: 1.5,
                    points: vec![(x.0, limit), (x.1, limit)],
                });
            }
            let y_at_least = if lane.is_some() { shared_max(engine, spec) } else { 0.0 };
            let room_for = lane.map(|r| other_lanes_markers(engine, r)).unwrap_or_default();
            let chart = LineChart {
                y_desc: unit(spec),
                x,
                series: &series,
                markers: &markers(l, &engine.names),
                ticks: &[],
                y_at_least,
                log: spec.scale == Scale::Log,
                keys: &keys,
                room_for: &room_for,
            };
            plot::draw_lines(canvas, dpr, &chart)
        }
        Kind::Share => {
            let (servers, configured, runs, _) = shares(engine);
            let names: Vec<&str> = servers.iter().map(|&i| engine.names[i].as_str()).collect();
            // The servers the scenario breaks are named in their reserved colour under their bars.
            let broken = engine.lanes.first().map(|l| faulty(l, &engine.names)).unwrap_or_default();
            let marked: Vec<bool> = servers.iter().map(|i| broken.contains(i)).collect();
            plot::draw_shares(canvas, dpr, &names, &marked, &configured, &runs)
        }
        Kind::Weights(r) => {
            let Some(l) = engine.lanes.get(r) else { return Ok(()) };
            let faulty = faulty(l, &engine.names);
            let grey = greyed(engine);
            let series: Vec<Series> = (0..engine.names.len())
                .map(|i| {
                    let (colour, pattern, width_css) = palette::crowd_style(i, &faulty, grey);
                    let points = l
                        .history
                        .points()
                        .map(|p| (p.time_s(), p.weights.get(i).copied().unwrap_or(f64::NAN)))
                        .collect();
                    Series { colour, pattern, width_css, points }
                })
                .collect();
            let shown: Vec<usize> = (0..engine.names.len()).collect();
            let keys = target_keys(engine, &shown, &faulty, grey);
            let chart = LineChart {
                y_desc: "weight (host 0)",
                x: x_range(l, engine.view),
                series: &series,
                markers: &markers(l, &engine.names),
                ticks: &[],
                y_at_least: 0.0,
                log: false,
                keys: &keys,
                room_for: &other_lanes_markers(engine, r),
            };
            plot::draw_lines(canvas, dpr, &chart)
        }
        Kind::Pid => draw_pid(canvas, engine, dpr),
    }
}

/// The end of the overview's time axis: the newest row (at least [`X_SPAN_MIN_S`]), or the end of the stretch
/// the charts show when it lies beyond.
pub fn overview_end(engine: &Engine) -> f64 {
    let last = engine.lanes.first().and_then(|l| l.history.last()).map_or(0.0, Point::time_s);
    last.max(X_SPAN_MIN_S).max(x_span(engine).1)
}

/// The chart the overview draws: chart `id` of the run's table when it draws lines, else the first that does
/// (a swimlane has no line to draw small).
fn overview_chart(engine: &Engine, id: &str) -> Option<(usize, &'static ChartSpec)> {
    let charts = engine.lanes.first()?.run.charts();
    let lines = |s: &ChartSpec| !matches!(s.scale, Scale::States(_));
    charts
        .iter()
        .enumerate()
        .find(|(_, s)| s.id == id && lines(s))
        .or_else(|| charts.iter().enumerate().find(|(_, s)| lines(s)))
}

/// Draws the overview strip: chart `id`'s lines for run A over the whole course so far ([`overview_end`]).
pub fn draw_overview(canvas: &HtmlCanvasElement, engine: &Engine, id: &str, dpr: f64) -> Result<(), String> {
    let Some((_, spec)) = overview_chart(engine, id) else { return Ok(()) };
    let lane = if per_target(spec) { Some(0) } else { None };
    let (mut series, _) = spec_series(engine, spec, lane);
    if lane.is_none() && engine.lanes.len() > 1 {
        series.truncate(series.len() / 2); // run A's half; B's lines are dashed copies
    }
    plot::draw_overview(canvas, dpr, (0.0, overview_end(engine)), &series, spec.scale == Scale::Log)
}

/// What the overview draws, in words, for its accessible name: the chart's title.
pub fn overview_title(engine: &Engine, id: &str) -> String {
    overview_chart(engine, id).map_or_else(String::new, |(_, s)| s.title.to_string())
}

/// The largest magnitude of each PID term over the kept points (1 where a term is all zero).
fn pid_scales(lane: &Lane) -> [f64; 4] {
    let mut out = [0.0f64; 4];
    for p in lane.history.points() {
        for (k, key) in PID_TERMS.iter().enumerate() {
            let v = p.term(key);
            if v.is_finite() {
                out[k] = out[k].max(v.abs());
            }
        }
    }
    out.map(|m| if m > 0.0 { m } else { 1.0 })
}

fn pid_lane(engine: &Engine) -> Option<&Lane> {
    engine.lanes.iter().find(|l| l.run.read_outs().charted_terms == PID_TERMS)
}

fn draw_pid(canvas: &HtmlCanvasElement, engine: &Engine, dpr: f64) -> Result<(), String> {
    let Some(l) = pid_lane(engine) else { return Ok(()) };
    let scales = pid_scales(l);
    let colours = [palette::COLOURS[0], palette::COLOURS[1], palette::COLOURS[2], palette::COLOURS[3]];
    let series: Vec<Series> = PID_TERMS
        .iter()
        .enumerate()
        .map(|(k, key)| Series {
            colour: colours[k],
            pattern: Pattern::Solid,
            width_css: 1.75,
            points: l.history.points().map(|p| (p.time_s(), p.term(key) / scales[k])).collect(),
        })
        .collect();
    let keys: Vec<Key> = PID_TERMS
        .iter()
        .enumerate()
        .map(|(k, key)| Key {
            label: format!("{key} (1 = {})", fmt(scales[k])),
            colour: colours[k],
            pattern: Pattern::Solid,
        })
        .collect();
    let ticks: Vec<(f64, f64)> = l
        .history
        .points()
        .filter(|p| p.term("clamped") > 0.5)
        .map(|p| (p.time_s() - TIME_STEP_S, p.time_s()))
        .collect();
    let chart = LineChart {
        y_desc: "term ÷ its largest size",
        x: x_range(l, engine.view),
        series: &series,
        markers: &markers(l, &engine.names),
        ticks: &ticks,
        y_at_least: 1.0,
        log: false,
        keys: &keys,
        room_for: &[],
    };
    plot::draw_lines(canvas, dpr, &chart)
}

/// The replicas the share chart shows (configured load > 0), their configured shares, each run's share of new
/// connects over the newest rows that hold at least [`SHARE_CONNECTS_MIN`] of them, and that window in seconds.
pub fn shares(engine: &Engine) -> (Vec<usize>, Vec<f64>, Vec<Vec<f64>>, f64) {
    let loads = engine.lanes.first().map(|l| l.run.read_outs().configured_weights).unwrap_or_default();
    if loads.is_empty() {
        return (Vec::new(), Vec::new(), Vec::new(), 0.0);
    }
    let servers: Vec<usize> = (0..loads.len()).filter(|&i| loads[i] > 0.0).collect();
    let total: f64 = servers.iter().map(|&i| loads[i]).sum();
    let configured = servers.iter().map(|&i| if total > 0.0 { loads[i] / total } else { 0.0 }).collect();
    let mut window_s: f64 = 0.0;
    let runs = engine
        .lanes
        .iter()
        .map(|l| {
            let cols: Vec<(Option<usize>, Option<usize>)> = servers
                .iter()
                .map(|&i| {
                    let n = &engine.names[i];
                    (l.column(&format!("{n}.total_conns")), l.column(&format!("{n}.probe_conns")))
                })
                .collect();
            let mut sums = vec![0.0; servers.len()];
            let mut rows = 0;
            for p in l.history.points().rev() {
                for (slot, (t, pr)) in sums.iter_mut().zip(&cols) {
                    let attempts = t.map_or(0.0, |c| p.get(c)) - pr.map_or(0.0, |c| p.get(c));
                    *slot += attempts.max(0.0);
                }
                rows += 1;
                if sums.iter().sum::<f64>() >= SHARE_CONNECTS_MIN {
                    break;
                }
            }
            window_s = window_s.max(rows as f64 * TIME_STEP_S);
            let all: f64 = sums.iter().sum();
            sums.iter().map(|&s| if all > 0.0 { s / all } else { 0.0 }).collect()
        })
        .collect();
    (servers, configured, runs, window_s)
}

/// Formats a value with a sensible number of digits.
pub fn fmt(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// Markers the text alternative lists at most (the rest are counted).
const MARKERS_SAID_MAX: usize = 8;

/// The markers in run A's view in words (" Marked: node3 desynced at 60 s; …"), so a label the chart had no
/// room for is still said; empty when there are none.
fn marked(engine: &Engine) -> String {
    let Some(first) = engine.lanes.first() else { return String::new() };
    let (from, to) = x_span(engine);
    let said: Vec<String> = markers(first, &engine.names)
        .iter()
        .filter(|m| m.time_s >= from && m.time_s <= to)
        .map(|m| format!("{} at {} s", m.label, crate::engine::picture::human(m.time_s, 1)))
        .collect();
    match said.len() {
        0 => String::new(),
        n if n > MARKERS_SAID_MAX => {
            format!(" Marked: {}; and {} more.", said[..MARKERS_SAID_MAX].join("; "), n - MARKERS_SAID_MAX)
        }
        _ => format!(" Marked: {}.", said.join("; ")),
    }
}

/// The text alternative of a panel: what it shows now.
pub fn describe(panel: &Panel, engine: &Engine) -> String {
    let Some(first) = engine.lanes.first() else { return "No run.".into() };
    let t = format!("At t = {:.1} s: ", engine.now_s());
    let ab =
        |r: usize| if engine.lanes.len() > 1 { format!("{}: ", if r == 0 { "A" } else { "B" }) } else { String::new() };
    match panel.kind {
        Kind::Spec { index, lane } => {
            let Some(spec) = first.run.charts().get(index) else { return String::new() };
            let lanes: Vec<usize> = lane.map_or_else(|| (0..engine.lanes.len()).collect(), |r| vec![r]);
            let parts: Vec<String> = lanes
                .iter()
                .map(|&r| {
                    let l = &engine.lanes[r];
                    let Some(p) = l.history.last() else { return format!("{}no data yet", ab(r)) };
                    // Each line by the legend's words: a target's name (and which of its lines, when it has
                    // several), or the whole-run line's plain label.
                    let list = spec.series_labelled(&l.columns);
                    let kinds = {
                        let mut k: Vec<&str> = list
                            .iter()
                            .filter(|(c, label, _)| target_of(label, &l.columns[*c].name, &engine.names).is_some())
                            .map(|(_, _, plain)| *plain)
                            .collect();
                        k.dedup();
                        k.len()
                    };
                    let values: Vec<String> = list
                        .into_iter()
                        .map(|(c, label, plain)| {
                            let name = match target_of(&label, &l.columns[c].name, &engine.names) {
                                Some(i) if kinds > 1 => format!("{} {plain}", engine.names[i]),
                                Some(i) if engine.names[i] == label => label,
                                Some(_) => plain.to_string(),
                                None => line_name(&label, &l.columns[c].name, plain, spec.columns.len()),
                            };
                            match spec.scale {
                                Scale::States(words) => {
                                    format!("{name} {}", crate::engine::picture::code_word(words, p.get(c)))
                                }
                                _ => format!("{name} {}", fmt(p.get(c) * factor(spec))),
                            }
                        })
                        .collect();
                    format!("{}{}", ab(r), values.join(", "))
                })
                .collect();
            format!("{t}{} ({}): {}.{}", spec.title, unit(spec), parts.join(". "), marked(engine))
        }
        Kind::Share => {
            let (servers, configured, runs, window) = shares(engine);
            let parts: Vec<String> = servers
                .iter()
                .enumerate()
                .map(|(k, &i)| {
                    let now: Vec<String> = runs.iter().map(|s| format!("{:.1}%", s[k] * 100.0)).collect();
                    format!("{} {} (configured {:.1}%)", engine.names[i], now.join(" / "), configured[k] * 100.0)
                })
                .collect();
            format!("{t}share of new connections over the last {window:.1} s: {}.", parts.join(", "))
        }
        Kind::Weights(r) => {
            let Some(p) = engine.lanes.get(r).and_then(|l| l.history.last()) else { return "No data yet.".into() };
            let parts: Vec<String> = engine
                .names
                .iter()
                .zip(&p.weights)
                .filter(|(_, v)| v.is_finite())
                .map(|(n, v)| format!("{n} {}", fmt(*v)))
                .collect();
            format!("{t}{}host 0's weights: {}.", ab(r), parts.join(", "))
        }
        Kind::Pid => match pid_lane(engine).and_then(|l| l.history.last().map(|p| (l, p))) {
            Some((l, p)) if !p.diagnostics.is_empty() => {
                let name = engine.names.get(engine.watched).map_or("?", String::as_str);
                let parts: Vec<String> = p.diagnostics.iter().map(|(k, v)| format!("{k} {}", fmt(*v))).collect();
                format!("{t}{}'s terms for {name}: {}.", l.controller, parts.join(", "))
            }
            _ => format!("{t}no terms yet."),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::part_grid;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn counts_per_part_get_a_colour_per_part_and_a_pattern_per_count() {
        let koha = ["mc1.timeouts", "mc1.skips", "mc2.timeouts", "mc2.skips", "mc3.timeouts", "mc3.skips"];
        let (parts, counts) = part_grid(koha.into_iter()).expect("three parts, two counts");
        assert_eq!(parts, ["mc1", "mc2", "mc3"]);
        assert_eq!(counts, ["timeouts", "skips"]);
        // Plain columns, one part, or four counts are not a grid: each line keeps its own colour.
        assert!(part_grid(["p99_ms", "p50_ms"].into_iter()).is_none());
        assert!(part_grid(["mc1.hits", "mc1.misses"].into_iter()).is_none());
        assert!(part_grid(["a.w", "a.x", "a.y", "a.z", "b.w"].into_iter()).is_none());
    }
}
