//! Drives one simulation for the page: advances it by a slice of simulated time per animation frame, within an
//! event budget, and keeps the chart's history.
//!
//! This is the only code in the web app that touches a [`Sim`], and it does so only through `run_until`,
//! `drain_rows` and the read-only accessors; anything else would go through `Sim::apply(Command)`. It has no
//! browser dependency, so the wasm tests exercise it directly.

use crate::metrics::Summary;
use crate::scenario;
use crate::sim::Sim;
use crate::time::{as_secs_f64, from_secs_f64, SimDuration, MILLISECOND};

use super::history::RowHistory;

/// Simulated time per chart row: 0.5 s, so 600 rows span five simulated minutes.
pub const TIME_STEP: SimDuration = 500 * MILLISECOND;

/// Chart rows kept; older ones scroll off.
pub const HISTORY_POINTS: usize = 600;

/// Most events one frame may process. At 20× speed plain-s1 needs about 25 k events per frame, so the budget
/// only binds on a pathological config, where it keeps the page responsive (the simulation then falls behind
/// the requested speed instead of freezing the tab).
pub const EVENTS_PER_FRAME_MAX: u64 = 2_000_000;

/// Longest wall-clock gap one frame accounts for, seconds. A tab that was hidden for a minute resumes where it
/// was instead of trying to simulate the whole minute in one frame.
pub const FRAME_DT_MAX_S: f64 = 0.1;

/// The balancing controller the shell runs until the explainer offers a choice.
pub const CONTROLLER: &str = "static";

/// A running simulation and its chart history.
pub struct Runner {
    sim: Sim,
    names: Vec<String>,
    history: RowHistory,
    budget_hit: bool,
}

/// What one call to [`Runner::advance`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advance {
    /// Rows added to the history.
    pub new_rows: usize,
    /// True when the event budget ran out before the target time.
    pub budget_hit: bool,
}

impl Runner {
    /// Builds the named scenario with default keys, the shell's controller and the chart's time step.
    pub fn new(scenario_name: &str, seed: u64) -> Result<Runner, String> {
        let mut cfg = scenario::build(scenario_name, CONTROLLER, &[])?;
        cfg.time_step = TIME_STEP;
        let sim = Sim::try_new(cfg, seed)?;
        let names = sim.server_names().map(str::to_string).collect();
        Ok(Runner { sim, names, history: RowHistory::new(HISTORY_POINTS), budget_hit: false })
    }

    /// Advances simulated time by `speed × dt_s` (with `dt_s` clamped to [0, `FRAME_DT_MAX_S`]) using at most
    /// `max_events` events, then moves the finished rows into the history.
    pub fn advance(&mut self, dt_s: f64, speed: f64, max_events: u64) -> Advance {
        let dt_s = if dt_s.is_finite() { dt_s.clamp(0.0, FRAME_DT_MAX_S) } else { 0.0 };
        let speed = if speed.is_finite() { speed.max(0.0) } else { 0.0 };
        let until = self.sim.now().saturating_add(from_secs_f64(dt_s * speed));
        let reached = self.sim.run_until(until, max_events);
        let mut new_rows = 0;
        for row in self.sim.drain_rows() {
            self.history.push(&row);
            new_rows += 1;
        }
        self.budget_hit = !reached;
        Advance { new_rows, budget_hit: !reached }
    }

    /// Server names, in config order (the chart's series).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The chart's rows.
    pub fn history(&self) -> &RowHistory {
        &self.history
    }

    /// Simulated time now, seconds.
    pub fn now_s(&self) -> f64 {
        as_secs_f64(self.sim.now())
    }

    /// Totals since the run started.
    pub fn summary(&self) -> Summary {
        self.sim.summary()
    }

    /// True if the last frame ran out of event budget.
    pub fn budget_hit(&self) -> bool {
        self.budget_hit
    }
}
