//! Drives the page's simulations: one run, or two side by side for A/B (same scenario, seed, faults and
//! commands, different controllers). Each animation frame advances both in lockstep, one chart step at a time,
//! within an event budget and a wall-clock budget, and keeps the charts' history and the CSV rows.
//!
//! This is the only code in the web app that touches a [`Sim`], and it changes one only through `run_until` and
//! `apply(Command)`; everything else it calls is a read-only accessor. It has no browser dependency, so the
//! wasm tests can exercise it directly.

use std::collections::VecDeque;

use crate::command::Command;
use crate::config::Role;
use crate::controller::controller_info;
use crate::metrics::Summary;
use crate::output::{csv_header, csv_row};
use crate::scenario;
use crate::sim::Sim;
use crate::time::{as_secs_f64, from_secs_f64, SimDuration, SimTime, MILLISECOND};
use crate::urlstate::UrlState;

use super::history::{Point, RowHistory};

/// Simulated time per chart row: 0.5 s, so 600 rows span five simulated minutes.
pub const TIME_STEP: SimDuration = 500 * MILLISECOND;

/// Chart rows kept; older ones scroll off.
pub const HISTORY_POINTS: usize = 600;

/// CSV rows kept for the export (two simulated hours at 0.5 s); older ones are dropped and counted.
pub const CSV_ROWS_MAX: usize = 14_400;

/// Most events one run may process per chart step within a frame. plain-s1 needs about 25 k events per 0.5 s
/// step, so the budget only binds on a pathological config, where it keeps the page responsive.
pub const EVENTS_PER_STEP_MAX: u64 = 400_000;

/// Longest wall-clock gap one frame accounts for, seconds. A tab that was hidden for a minute resumes where it
/// was instead of trying to simulate the whole minute in one frame.
pub const FRAME_DT_MAX_S: f64 = 0.1;

/// One pick in this many is traced for the "why this server?" panel.
pub const PICK_TRACE_EVERY: u32 = 400;

/// One simulation and what the charts keep of it.
pub struct Run {
    /// The controller's name.
    pub controller: &'static str,
    /// The simulation.
    pub sim: Sim,
    /// The charts' rows.
    pub history: RowHistory,
    csv: VecDeque<String>,
    csv_dropped: u64,
}

impl Run {
    fn new(url: &UrlState, controller: &'static str) -> Result<Run, String> {
        let mut cfg = scenario::build(&url.scenario, controller, &sets_for(url, controller))?;
        cfg.time_step = TIME_STEP;
        let mut sim = Sim::try_new(cfg, url.seed)?;
        sim.set_pick_tracing(PICK_TRACE_EVERY);
        Ok(Run { controller, sim, history: RowHistory::new(HISTORY_POINTS), csv: VecDeque::new(), csv_dropped: 0 })
    }

    /// Moves finished rows into the history and the CSV log, sampling host 0's weights and the watched
    /// server's controller terms now (at the end of the step that produced them).
    fn collect(&mut self, watched: usize, servers: usize) {
        let mut weights = vec![f64::NAN; servers];
        for (server, w) in self.sim.host_weights(0) {
            if let Some(slot) = weights.get_mut(server) {
                *slot = w;
            }
        }
        let diagnostics = self.sim.diagnostics(0, watched);
        let rows: Vec<_> = self.sim.drain_rows().collect();
        for row in rows {
            if self.csv.len() == CSV_ROWS_MAX {
                self.csv.pop_front();
                self.csv_dropped += 1;
            }
            self.csv.push_back(csv_row(&row));
            self.history.push(Point::from_row(&row, weights.clone(), diagnostics.clone()));
        }
    }

    /// The run's rows as CSV with the CLI's columns (header first, one line per kept row).
    pub fn csv(&self) -> String {
        let mut out = csv_header(self.sim.server_names());
        out.push('\n');
        for line in &self.csv {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Rows dropped from the CSV log because the run outgrew [`CSV_ROWS_MAX`].
    pub fn csv_dropped(&self) -> u64 {
        self.csv_dropped
    }

    /// Totals since the run started.
    pub fn summary(&self) -> Summary {
        self.sim.summary()
    }
}

/// The `--set` pairs that apply to `controller`: all of them but the parameters of the other controller.
pub fn sets_for(url: &UrlState, controller: &str) -> Vec<(String, String)> {
    let others: Vec<&str> = std::iter::once(url.controller.as_str())
        .chain(url.controller_b.as_deref())
        .filter(|c| *c != controller)
        .collect();
    let has = |c: &str, key: &str| controller_info(c).is_some_and(|i| i.params.iter().any(|p| p.key == key));
    url.sets.iter().filter(|(k, _)| has(controller, k) || !others.iter().any(|o| has(o, k))).cloned().collect()
}

/// The page's simulations: A, and B when an A/B comparison is on.
#[derive(Default)]
pub struct Engine {
    /// One or two runs, in lockstep.
    pub runs: Vec<Run>,
    /// Server names, in config order.
    pub names: Vec<String>,
    /// Configured loads, in config order (0 for the primary).
    pub loads: Vec<f64>,
    /// The server whose controller terms the PID chart shows.
    pub watched: usize,
    /// True if the last frame could not reach the time the speed asked for.
    pub behind: bool,
}

impl Engine {
    /// Replaces the runs with fresh ones for `url` (both controllers when A/B is on), from time zero.
    pub fn rebuild(&mut self, url: &UrlState) -> Result<(), String> {
        let mut runs = Vec::new();
        for name in std::iter::once(url.controller.as_str()).chain(url.controller_b.as_deref()) {
            let info = controller_info(name).ok_or_else(|| format!("unknown controller '{name}'"))?;
            runs.push(Run::new(url, info.name)?);
        }
        let cfg = runs[0].sim.config();
        self.names = cfg.servers.iter().map(|s| s.name.clone()).collect();
        self.loads = cfg.servers.iter().map(|s| s.load).collect();
        self.watched = default_watched(cfg);
        self.runs = runs;
        self.behind = false;
        Ok(())
    }

    /// Simulated time now, seconds (0 before the first build).
    pub fn now_s(&self) -> f64 {
        self.runs.first().map_or(0.0, |r| as_secs_f64(r.sim.now()))
    }

    /// Advances every run by `speed × dt_s` simulated seconds (with `dt_s` clamped to [0, `FRAME_DT_MAX_S`]),
    /// one chart step at a time, and stops early once `out_of_time()` says the frame's wall-clock budget is
    /// spent. Returns the number of chart steps completed.
    pub fn advance(&mut self, dt_s: f64, speed: f64, mut out_of_time: impl FnMut() -> bool) -> usize {
        let dt_s = if dt_s.is_finite() { dt_s.clamp(0.0, FRAME_DT_MAX_S) } else { 0.0 };
        let speed = if speed.is_finite() { speed.max(0.0) } else { 0.0 };
        let Some(first) = self.runs.first() else { return 0 };
        let target = first.sim.now().saturating_add(from_secs_f64(dt_s * speed));
        let mut steps = 0;
        self.behind = false;
        while self.runs[0].sim.now() < target {
            if out_of_time() {
                self.behind = true;
                break;
            }
            let boundary = next_boundary(self.runs[0].sim.now()).min(target);
            if !self.run_to(boundary) {
                self.behind = true;
                break;
            }
            steps += 1;
        }
        steps
    }

    /// Advances every run to the end of the current chart step: the "step" button.
    pub fn step_once(&mut self) {
        if let Some(first) = self.runs.first() {
            let boundary = next_boundary(first.sim.now());
            self.run_to(boundary);
        }
    }

    /// Runs every run to `until` (each within its event budget) and collects their rows. False if a budget ran
    /// out first.
    fn run_to(&mut self, until: SimTime) -> bool {
        let (watched, servers) = (self.watched, self.names.len());
        let mut reached = true;
        for run in &mut self.runs {
            reached &= run.sim.run_until(until, EVENTS_PER_STEP_MAX);
            run.collect(watched, servers);
        }
        reached
    }

    /// Applies a live command to every run one microsecond from now, and advances them to that instant.
    /// Returns the simulated time it was applied at, seconds (exact to the microsecond), or the core's reason
    /// for rejecting it (then nothing changed).
    ///
    /// Why one microsecond ahead: `Sim::schedule` fires a command before every event of its microsecond, and
    /// the events of the current one have already run. A link that replays the command as a scheduled step at
    /// the returned time therefore lands at exactly the same point of the run, with the same trace.
    pub fn apply(&mut self, command: Command) -> Result<f64, String> {
        let Some(first) = self.runs.first_mut() else { return Err("the simulation is not running".into()) };
        let at = first.sim.now() + 1;
        first.sim.schedule(at, command.clone())?;
        for run in self.runs.iter_mut().skip(1) {
            // Same config and servers, so a command the first run accepted is valid here too.
            let _ = run.sim.schedule(at, command.clone());
        }
        for run in &mut self.runs {
            run.sim.run_until(at, u64::MAX);
        }
        Ok(as_secs_f64(at))
    }

    /// Chooses the server the PID chart watches.
    pub fn watch(&mut self, server: usize) {
        if server < self.names.len() {
            self.watched = server;
        }
    }
}

/// The end of the chart step that contains `now` (the next multiple of [`TIME_STEP`] after it).
fn next_boundary(now: SimTime) -> SimTime {
    (now / TIME_STEP).saturating_add(1).saturating_mul(TIME_STEP)
}

/// The server to watch first: the scenario's faulty one if it has it, else the first replica.
fn default_watched(cfg: &crate::config::Config) -> usize {
    cfg.server_index(scenario::FAULTY_SERVER)
        .or_else(|| cfg.servers.iter().position(|s| s.role == Role::Replica && s.load > 0.0))
        .unwrap_or(0)
}

/// The page's engine, shared by the component that runs the frame loop and the controls that send commands.
/// Equal when it is the same engine, so it can be a prop.
#[derive(Clone, Default)]
pub struct EngineRef(pub std::rc::Rc<std::cell::RefCell<Engine>>);

impl PartialEq for EngineRef {
    fn eq(&self, other: &EngineRef) -> bool {
        std::rc::Rc::ptr_eq(&self.0, &other.0)
    }
}

/// The command for a surge of `factor` × the configured arrival rate (1 ends it).
pub fn surge(factor: f64) -> Command {
    Command::Surge { factor }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Fault;
    use crate::urlstate::parse_query;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn ab_runs_share_arrivals_and_commands() {
        let url = parse_query("scenario=slow&controller=static&ab=p2c&seed=3").state;
        let mut engine = Engine::default();
        engine.rebuild(&url).unwrap();
        engine.advance(0.1, 20.0, || false);
        assert_eq!(engine.runs.len(), 2);
        let t = engine.apply(Command::Fault { server: 4, fault: Fault::Crash }).unwrap();
        // Applied one microsecond after the 2 s the runs had reached.
        assert!((t - 2.000001).abs() < 1e-9, "t = {t}");
        engine.advance(0.1, 20.0, || false);
        let (a, b) = (engine.runs[0].summary(), engine.runs[1].summary());
        // The arrival stream does not depend on the controller (its own random stream).
        assert_eq!(a.requests, b.requests);
        assert_eq!(engine.runs[0].history.len(), 8);
        assert_eq!(engine.runs[1].sim.applied().count(), engine.runs[0].sim.applied().count());
    }

    #[wasm_bindgen_test]
    fn the_wall_clock_budget_stops_a_frame_early() {
        let url = parse_query("scenario=plain-s1").state;
        let mut engine = Engine::default();
        engine.rebuild(&url).unwrap();
        let steps = engine.advance(0.1, 100.0, || true);
        assert_eq!(steps, 0);
        assert!(engine.behind);
        assert_eq!(engine.now_s(), 0.0);
    }

    #[wasm_bindgen_test]
    fn csv_has_the_cli_header_and_one_line_per_row() {
        let url = parse_query("scenario=quiet").state;
        let mut engine = Engine::default();
        engine.rebuild(&url).unwrap();
        engine.advance(0.1, 20.0, || false);
        let csv = engine.runs[0].csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("time_s,requests,rejected,active_workers"));
        assert_eq!(lines.len(), 1 + 4);
    }
}
