//! `Sim`: the section model on the generic engine, `Engine<Section>`, with the section's own read-outs for its
//! tests and its scorecard. Front ends never see it: they drive the same engine through [`crate::engine::run::Run`].
//!
//! The physics lives in [`crate::models::section`]; the clock, the queue, the commands and the trace hash in
//! [`crate::engine`]. The engine's own methods (`now`, `run_until`, `step_event`, `schedule`, `apply`,
//! `applied`, `events`, `trace_hash`) are used as they are; this adds what only the section has.

use crate::engine::Engine;
use crate::models::section::command::Command;
use crate::models::section::config::Config;
use crate::models::section::metrics::{StepRow, Summary};
use crate::models::section::model::Section;

pub use crate::models::section::{ConnectMode, PickTrace, ServerNow};

/// A running simulation of one database section.
pub type Sim = Engine<Section>;

impl Engine<Section> {
    /// Builds a simulation from a validated config and a seed. Panics only if `config.validate()` fails, which
    /// the scenario builders rule out; use [`Sim::try_new`] for unchecked configs.
    pub fn of(config: Config, seed: u64) -> Sim {
        match Sim::try_new(config, seed) {
            Ok(sim) => sim,
            Err(reason) => panic!("invalid config: {reason}"),
        }
    }

    /// Builds a simulation, or explains in one line why the config is invalid.
    pub fn try_new(config: Config, seed: u64) -> Result<Sim, String> {
        Section::build(config, seed)
    }

    /// The config this run was built from.
    pub fn config(&self) -> &Config {
        &self.model().cfg
    }

    /// Server names, in config order.
    pub fn server_names(&self) -> impl Iterator<Item = &str> {
        self.config().servers.iter().map(|s| s.name.as_str())
    }

    /// Runs the whole configured duration.
    pub fn run_to_end(&mut self) {
        let end = self.config().duration;
        self.run_until(end, u64::MAX);
    }

    /// Records one pick in every `every` (0 turns tracing off); read it with [`Sim::last_pick`]. An observation
    /// setting: it draws no random numbers and changes no simulation state.
    pub fn set_pick_tracing(&mut self, every: u32) {
        self.model_mut_for_output().set_pick_tracing(every);
    }

    /// The most recent traced pick.
    pub fn last_pick(&self) -> Option<&PickTrace> {
        self.model().last_pick()
    }

    /// True while an operator has switched the controllers off.
    pub fn controller_enabled(&self) -> bool {
        self.model().controller_enabled()
    }

    /// The weights `host`'s controller would pick with now, per replica (server index, weight), over the
    /// replicas with a positive configured load. Pinned servers report their pin.
    pub fn host_weights(&self, host: usize) -> Vec<(usize, f64)> {
        self.model().host_weights(host, self.now())
    }

    /// `host`'s controller's named internal terms for `server` now (empty when it keeps none).
    pub fn diagnostics(&self, host: usize, server: usize) -> Vec<(&'static str, f64)> {
        self.model().diagnostics(host, server)
    }

    /// Each server's (true, measured) replication lag now, s, in config order: true lag is now − the commit time
    /// of the oldest event not applied, measured is pt-heartbeat's now − newest applied heartbeat; (0, 0) for a
    /// server that does not replicate. A read-out: it changes nothing.
    pub fn lags_now(&self) -> Vec<(f64, f64)> {
        let m = self.model();
        (0..m.cfg.servers.len())
            .map(|i| {
                let (t, mm) = m.lag_at(i, self.now());
                (t / 1e6, mm / 1e6)
            })
            .collect()
    }

    /// The replication headline: per server the peak (true, measured) lag read so far, s; and over gauge reads
    /// at normal lag (true lag under 1 s) their count, the mean heartbeat age (measured − true), s, and the age's
    /// share of the measured lag.
    pub fn lag_headline(&self) -> (Vec<(f64, f64)>, u64, f64, f64) {
        self.model().lag_headline()
    }

    /// Takes the rows recorded since the last call, oldest first.
    pub fn drain_rows(&mut self) -> impl Iterator<Item = StepRow> + '_ {
        self.model_mut_for_output().drain_rows()
    }

    /// Totals so far.
    pub fn summary(&self) -> Summary {
        self.model().summary(self.events(), self.trace_hash())
    }

    /// Each server's state right now, in config order.
    pub fn servers_now(&self) -> Vec<ServerNow> {
        self.model().servers_now(self.now())
    }

    /// Checks every conservation law and bound of the engine and the model; returns the first violation found.
    /// O(requests); for tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        let (in_past, dropped) = self.engine_faults();
        if in_past > 0 {
            return Err(format!("{in_past} events were scheduled in the past"));
        }
        if dropped > 0 {
            return Err(format!("{dropped} events were dropped at the queue bound"));
        }
        self.model().check_invariants()
    }
}

/// Checks a command against a section of `servers` servers: every index in range, every number finite and in
/// the command table's range. The one check behind `Sim::apply`, `Sim::schedule` and the CLI's steps.
pub fn validate_command(command: &Command, servers: usize) -> Result<(), String> {
    crate::models::section::commands::validate(command, servers)
}
