//! `Sim`: a run of the database section model (seed 002) on the generic engine, with the read-outs the CLI,
//! the scorecard, the tests and the page use.
//!
//! The physics lives in [`crate::models::section`]; the clock, the queue, the commands and the trace hash in
//! [`crate::engine`]. This type only pairs them and keeps the section's public API in one place.

use crate::engine::Engine;
use crate::models::section::command::Command;
use crate::models::section::config::Config;
use crate::models::section::metrics::{StepRow, Summary};
use crate::models::section::model::Section;
use crate::time::SimTime;

pub use crate::models::section::{ConnectMode, PickTrace, ServerNow};

/// A running simulation of one database section.
pub struct Sim {
    engine: Engine<Section>,
}

impl Sim {
    /// Builds a simulation from a validated config and a seed. Panics only if `config.validate()` fails, which
    /// the scenario builders rule out; use [`Sim::try_new`] for unchecked configs.
    pub fn new(config: Config, seed: u64) -> Sim {
        match Sim::try_new(config, seed) {
            Ok(sim) => sim,
            Err(reason) => panic!("invalid config: {reason}"),
        }
    }

    /// Builds a simulation, or explains in one line why the config is invalid.
    pub fn try_new(config: Config, seed: u64) -> Result<Sim, String> {
        Ok(Sim { engine: Section::build(config, seed)? })
    }

    /// The config this run was built from.
    pub fn config(&self) -> &Config {
        &self.engine.model().cfg
    }

    /// Current simulated time, µs.
    pub fn now(&self) -> SimTime {
        self.engine.now()
    }

    /// Server names, in config order.
    pub fn server_names(&self) -> impl Iterator<Item = &str> {
        self.config().servers.iter().map(|s| s.name.as_str())
    }

    /// Processes events up to and including time `until`, at most `max_events` of them. Returns true when it
    /// reached `until` (the clock then reads `until`), false when the event budget ran out first.
    pub fn run_until(&mut self, until: SimTime, max_events: u64) -> bool {
        self.engine.run_until(until, max_events)
    }

    /// Runs the whole configured duration.
    pub fn run_to_end(&mut self) {
        let end = self.config().duration;
        self.engine.run_until(end, u64::MAX);
    }

    /// Processes the single earliest event or command. Returns false when nothing is pending.
    pub fn step_event(&mut self) -> bool {
        self.engine.step_event()
    }

    /// Schedules a command for time `at` (now or later); it fires before any event at that microsecond, after
    /// commands scheduled earlier for the same time. Scheduling a live action at `now + 1 µs` and writing that
    /// time into a shared link makes the link replay the run exactly. Changes nothing on error.
    pub fn schedule(&mut self, at: SimTime, command: Command) -> Result<(), String> {
        self.engine.schedule(at, command)
    }

    /// Applies a command now. Returns a one-line reason, and changes nothing, if the command is invalid.
    pub fn apply(&mut self, command: Command) -> Result<(), String> {
        self.engine.apply(command)
    }

    /// The commands applied so far (scheduled and live), with their times, oldest first; at most the last 1000.
    pub fn applied(&self) -> impl Iterator<Item = &(SimTime, Command)> {
        self.engine.applied()
    }

    /// Records one pick in every `every` (0 turns tracing off); read it with [`Sim::last_pick`]. An observation
    /// setting: it draws no random numbers and changes no simulation state.
    pub fn set_pick_tracing(&mut self, every: u32) {
        self.engine.model_mut_for_output().set_pick_tracing(every);
    }

    /// The most recent traced pick.
    pub fn last_pick(&self) -> Option<&PickTrace> {
        self.engine.model().last_pick()
    }

    /// True while an operator has switched the controllers off.
    pub fn controller_enabled(&self) -> bool {
        self.engine.model().controller_enabled()
    }

    /// The weights `host`'s controller would pick with now, per replica (server index, weight), over the
    /// replicas with a positive configured load. Pinned servers report their pin.
    pub fn host_weights(&self, host: usize) -> Vec<(usize, f64)> {
        self.engine.model().host_weights(host, self.engine.now())
    }

    /// `host`'s controller's named internal terms for `server` now (empty when it keeps none).
    pub fn diagnostics(&self, host: usize, server: usize) -> Vec<(&'static str, f64)> {
        self.engine.model().diagnostics(host, server)
    }

    /// Each server's (true, measured) replication lag now, s, in config order: true lag is now − the commit time
    /// of the oldest event not applied, measured is pt-heartbeat's now − newest applied heartbeat; (0, 0) for a
    /// server that does not replicate. A read-out: it changes nothing.
    pub fn lags_now(&self) -> Vec<(f64, f64)> {
        let m = self.engine.model();
        (0..m.cfg.servers.len())
            .map(|i| {
                let (t, mm) = m.lag_at(i, self.engine.now());
                (t / 1e6, mm / 1e6)
            })
            .collect()
    }

    /// The replication headline: per server the peak (true, measured) lag read so far, s; and over gauge reads
    /// at normal lag (true lag under 1 s) their count, the mean heartbeat age (measured − true), s, and the age's
    /// share of the measured lag.
    pub fn lag_headline(&self) -> (Vec<(f64, f64)>, u64, f64, f64) {
        self.engine.model().lag_headline()
    }

    /// Takes the rows recorded since the last call, oldest first.
    pub fn drain_rows(&mut self) -> impl Iterator<Item = StepRow> + '_ {
        self.engine.model_mut_for_output().drain_rows()
    }

    /// Totals so far.
    pub fn summary(&self) -> Summary {
        self.engine.model().summary(self.engine.events(), self.engine.trace_hash())
    }

    /// Each server's state right now, in config order.
    pub fn servers_now(&self) -> Vec<ServerNow> {
        self.engine.model().servers_now(self.engine.now())
    }

    /// Checks every conservation law and bound of the engine and the model; returns the first violation found.
    /// O(requests); for tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        let (in_past, dropped) = self.engine.engine_faults();
        if in_past > 0 {
            return Err(format!("{in_past} events were scheduled in the past"));
        }
        if dropped > 0 {
            return Err(format!("{dropped} events were dropped at the queue bound"));
        }
        self.engine.model().check_invariants()
    }
}

/// Checks a command against a section of `servers` servers: every index in range, every number finite and in
/// the command table's range. The one check behind `Sim::apply`, `Sim::schedule` and the CLI's steps.
pub fn validate_command(command: &Command, servers: usize) -> Result<(), String> {
    crate::models::section::commands::validate(command, servers)
}
