//! The shell's view of any run: [`Run`] is the one object-safe interface the CLI, the page, the scorecard and
//! the fuzzer drive, whatever model is inside. Dynamic dispatch stops here; below it the event loop is
//! monomorphised per model.
//!
//! A model gets [`Run`] for free by implementing [`Shell`] (its schema, rows, headline and invariants) on top of
//! [`Model`] and [`CommandCodec`].

use serde_json::{Map, Value};

use super::commands::{self, CommandCodec, CommandSpec};
use super::keys::clip_error;
use super::picture::PictureSpec;
use super::schema::{self, ChartSpec, Column};
use super::{Engine, Model};
use crate::time::{SimDuration, SimTime};

/// What a model adds to [`Model`] and [`CommandCodec`] so that every front end can run it.
pub trait Shell: Model + CommandCodec<Command = <Self as Model>::Command> + 'static {
    /// What the run reports about itself (scenario, length, step, row schema), read from wherever the model
    /// keeps it; the four accessors below default to it, so no model writes them out.
    fn info(&self) -> RunInfo<'_>;
    /// The scenario this run was built from.
    fn scenario(&self) -> &'static str {
        self.info().scenario
    }
    /// The configured run length, µs.
    fn duration(&self) -> SimTime {
        self.info().duration
    }
    /// The metrics step, µs.
    fn time_step(&self) -> SimDuration {
        self.info().time_step
    }
    /// The row schema.
    fn columns(&self) -> &[Column] {
        self.info().columns
    }
    /// Moves the rows recorded since the last call into `out`, oldest first.
    fn drain_rows(&mut self, out: &mut Vec<Vec<f64>>);
    /// The model's own summary figures (`summary.headline` and anything else it reports), computed from the
    /// run so far.
    fn summary_fields(&self, now: SimTime) -> Map<String, Value>;
    /// Checks every conservation law and bound of the model; the first violation, in one line.
    fn check_invariants(&self, now: SimTime) -> Result<(), String>;
    /// The model's charts.
    fn charts(&self) -> &'static [ChartSpec];
    /// The model's picture of its system, if it draws one.
    fn picture(&self) -> Option<&'static PictureSpec> {
        None
    }
    /// A configured size the picture measures against (`workers`, `listen_queue`), by name; `None` if unknown.
    fn setting(&self, _name: &str) -> Option<f64> {
        None
    }
    /// One JSON row; by default the schema's columns.
    fn json_row(&self, row: &[f64]) -> String {
        schema::json_row(self.columns(), row)
    }
    /// One CSV row; by default the schema's columns.
    fn csv_row(&self, row: &[f64]) -> String {
        schema::csv_row(self.columns(), row)
    }
    /// See [`Run::read_outs`]; by default the model declares none.
    fn read_outs(&self) -> ReadOuts {
        ReadOuts::default()
    }
    /// See [`Run::balancer_weights`]; by default none.
    fn balancer_weights(&self, _now: SimTime) -> Vec<f64> {
        Vec::new()
    }
    /// See [`Run::target_states`]; by default none.
    fn target_states(&self, _now: SimTime) -> Vec<String> {
        Vec::new()
    }
    /// See [`Run::balancer_terms`]; by default none.
    fn balancer_terms(&self, _target: usize) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
    /// See [`Run::trace_decisions`]; by default there is nothing to trace.
    fn trace_decisions(&mut self, _every: u32) {}
    /// See [`Run::last_decision`]; by default none.
    fn last_decision(&self) -> Option<Decision> {
        None
    }
}

/// What a model declares about its targets (servers, workers, nodes) for one run, beside its rows, for the
/// page's panels: data, so the page draws a model it has never heard of. Every field may be empty: a model
/// without a weighted balancer leaves the weights empty and the page then shows no share or weight chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadOuts {
    /// Each target's configured weight (the operators' load, before any override), in target order; empty when
    /// the model's targets are not weighted. The share chart compares each target's share of new work with its
    /// share of these.
    pub configured_weights: Vec<f64>,
    /// The named terms of the balancer that the page charts together (a P/PID controller's error, P, I and D),
    /// from the controller's declaration; empty when it declares none.
    pub charted_terms: &'static [&'static str],
    /// The target the scenario's story is about (the one its schedule breaks first), for the page to watch first.
    pub focus: Option<usize>,
    /// Every target the scenario's own schedule breaks (not counting repairs), in schedule order.
    pub faulted: Vec<usize>,
    /// Run-dependent reference lines, by chart id: (chart id, value), such as the worker pool's size on the
    /// busy-workers chart.
    pub limits: Vec<(&'static str, f64)>,
}

/// One choice of the model's balancer, as data for the page's "why this target?" panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// When, µs.
    pub time: SimTime,
    /// Who chose (an app host's index).
    pub chooser: usize,
    /// The target chosen, or `None` when the work failed fast.
    pub chosen: Option<usize>,
    /// Who decided, in plain words (the controller's rule, an operator pin, a breaker).
    pub decided_by: String,
    /// The targets it could choose from, with what it saw of each.
    pub candidates: Vec<DecisionCandidate>,
    /// The balancer's named terms for the chosen target at that moment.
    pub terms: Vec<(&'static str, f64)>,
}

/// One target a [`Decision`] could choose, as the chooser saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecisionCandidate {
    /// The target's index.
    pub target: usize,
    /// Its configured weight, with operator overrides.
    pub configured: f64,
    /// Work the chooser had in flight to it.
    pub in_flight: u32,
    /// The balancer's weight for it (NaN when it gave none).
    pub weight: f64,
}

/// Adds a run's newest row to its summary under `now`, by column name, without replacing what the model put
/// there itself (Sahana reports per-worker lists under `now`): the summary a lesson step's numbers read, as the
/// page shows it.
pub fn with_row(summary: &mut Map<String, Value>, columns: &[Column], row: &[f64]) {
    let mut now = match summary.remove("now") {
        Some(Value::Object(own)) => own,
        _ => Map::new(),
    };
    for (c, v) in columns.iter().zip(row) {
        now.entry(c.name.clone()).or_insert(Value::from(*v));
    }
    summary.insert("now".into(), Value::Object(now));
}

/// What every run reports about itself, as [`Shell::info`] returns it.
#[derive(Clone, Copy, Debug)]
pub struct RunInfo<'a> {
    /// The scenario's name.
    pub scenario: &'static str,
    /// The configured run length, µs.
    pub duration: SimTime,
    /// The metrics step, µs.
    pub time_step: SimDuration,
    /// The row schema.
    pub columns: &'a [Column],
}

impl<'a> RunInfo<'a> {
    /// The four in the order the fields list them.
    pub fn new(scenario: &'static str, duration: SimTime, time_step: SimDuration, columns: &'a [Column]) -> Self {
        RunInfo { scenario, duration, time_step, columns }
    }
}

/// Any run, as the front ends drive it.
pub trait Run {
    /// The scenario's name.
    fn scenario(&self) -> &'static str;
    /// Current simulated time, µs.
    fn now(&self) -> SimTime;
    /// The configured run length, µs.
    fn duration(&self) -> SimTime;
    /// The metrics step, µs.
    fn time_step(&self) -> SimDuration;
    /// Runs up to `until` with at most `max_events` events; true when it got there.
    fn run_until(&mut self, until: SimTime, max_events: u64) -> bool;
    /// The model's command table.
    fn command_table(&self) -> &'static [CommandSpec];
    /// Names of the model's targets of one kind (servers, workers, nodes).
    fn target_names(&self, kind: &str) -> Vec<String>;
    /// Parses and applies a text command now. Changes nothing on error.
    fn apply_text(&mut self, text: &str) -> Result<(), String>;
    /// Parses and schedules a text command at `at` (now or later). Changes nothing on error.
    fn schedule_text(&mut self, at: SimTime, text: &str) -> Result<(), String>;
    /// Parses a text command against the model's command table as [`Run::schedule_text`] does, and schedules
    /// nothing. The model's own checks, which may depend on the run's state (a node that is down), are not made:
    /// the page parses a command on its un-run copy of a run whose events run in a Web Worker, and the worker
    /// makes them.
    fn check_text(&self, text: &str) -> Result<(), String>;
    /// The commands applied so far, as text, with their times.
    fn applied_text(&self) -> Vec<(SimTime, String)>;
    /// The row schema.
    fn columns(&self) -> Vec<Column>;
    /// The rows since the last call.
    fn drain_rows(&mut self) -> Vec<Vec<f64>>;
    /// CSV header line.
    fn csv_header(&self) -> String;
    /// One CSV line.
    fn csv_row(&self, row: &[f64]) -> String;
    /// One JSON row.
    fn json_row(&self, row: &[f64]) -> String;
    /// The summary: the model's figures plus `events`, `trace_hash` and the engine's fault counters.
    fn summary(&self) -> Map<String, Value>;
    /// Events processed.
    fn events(&self) -> u64;
    /// The trace hash so far.
    fn trace_hash(&self) -> u64;
    /// Every invariant of the engine and the model; the first violation.
    fn check_invariants(&self) -> Result<(), String>;
    /// The model's charts.
    fn charts(&self) -> &'static [ChartSpec];
    /// The model's picture of its system, if it draws one.
    fn picture(&self) -> Option<&'static PictureSpec>;
    /// A configured size the picture measures against, by name.
    fn setting(&self, name: &str) -> Option<f64>;
    /// What the model declares about its targets for this run, beside its rows: configured weights, charted
    /// balancer terms, the target its story is about, the targets its schedule breaks, reference lines
    /// ([`ReadOuts`]). A read-out: it changes nothing.
    fn read_outs(&self) -> ReadOuts;
    /// The weight the model's balancer would choose each target with now, in target order, as its first
    /// chooser (app host 0) sees it; NaN for a target it would not choose; empty when the model has no balancer.
    fn balancer_weights(&self) -> Vec<f64>;
    /// Each target's state now in a few plain words ("69 conns · refusing"), in target order; empty when the
    /// model declares none.
    fn target_states(&self) -> Vec<String>;
    /// The balancer's named internal terms for one target now, as its first chooser keeps them (error, P, I,
    /// D, EWMA, ejection…); empty when it keeps none.
    fn balancer_terms(&self, target: usize) -> Vec<(&'static str, f64)>;
    /// Records one balancer decision in every `every` (0: off) for [`Run::last_decision`]. An observation
    /// setting: it draws no random numbers and changes no simulation state, so the trace is the same.
    fn trace_decisions(&mut self, every: u32);
    /// The most recent traced decision, as data.
    fn last_decision(&self) -> Option<Decision>;
}

impl<M: Shell> Run for Engine<M> {
    fn scenario(&self) -> &'static str {
        self.model().scenario()
    }
    fn now(&self) -> SimTime {
        Engine::now(self)
    }
    fn duration(&self) -> SimTime {
        self.model().duration()
    }
    fn time_step(&self) -> SimDuration {
        self.model().time_step()
    }
    fn run_until(&mut self, until: SimTime, max_events: u64) -> bool {
        Engine::run_until(self, until, max_events)
    }
    fn command_table(&self) -> &'static [CommandSpec] {
        self.model().table()
    }
    fn target_names(&self, kind: &str) -> Vec<String> {
        self.model().target_names(kind)
    }
    fn apply_text(&mut self, text: &str) -> Result<(), String> {
        let command = commands::parse_command(self.model(), text).map_err(clip_error)?;
        self.apply(command).map_err(clip_error)
    }
    fn schedule_text(&mut self, at: SimTime, text: &str) -> Result<(), String> {
        let command = commands::parse_command(self.model(), text).map_err(clip_error)?;
        self.schedule(at, command).map_err(clip_error)
    }
    fn check_text(&self, text: &str) -> Result<(), String> {
        commands::parse_command(self.model(), text).map(|_| ()).map_err(clip_error)
    }
    fn applied_text(&self) -> Vec<(SimTime, String)> {
        let m = self.model();
        self.applied().filter_map(|(t, c)| m.to_parsed(c).map(|p| (*t, commands::format(m, &p)))).collect()
    }
    fn columns(&self) -> Vec<Column> {
        self.model().columns().to_vec()
    }
    fn drain_rows(&mut self) -> Vec<Vec<f64>> {
        let mut out = Vec::new();
        self.model_mut_for_output().drain_rows(&mut out);
        out
    }
    fn csv_header(&self) -> String {
        schema::csv_header(self.model().columns())
    }
    fn csv_row(&self, row: &[f64]) -> String {
        self.model().csv_row(row)
    }
    fn json_row(&self, row: &[f64]) -> String {
        self.model().json_row(row)
    }
    fn summary(&self) -> Map<String, Value> {
        let mut out = self.model().summary_fields(Engine::now(self));
        out.insert("events".into(), Value::from(self.events()));
        out.insert("trace_hash".into(), Value::from(format!("{:016x}", self.trace_hash())));
        out
    }
    fn events(&self) -> u64 {
        Engine::events(self)
    }
    fn trace_hash(&self) -> u64 {
        Engine::trace_hash(self)
    }
    fn check_invariants(&self) -> Result<(), String> {
        let (in_past, dropped) = self.engine_faults();
        if in_past > 0 {
            return Err(format!("{in_past} event(s) scheduled in the past"));
        }
        if dropped > 0 {
            return Err(format!("{dropped} event(s) dropped at the queue bound"));
        }
        self.model().check_invariants(Engine::now(self))
    }
    fn charts(&self) -> &'static [ChartSpec] {
        self.model().charts()
    }
    fn picture(&self) -> Option<&'static PictureSpec> {
        self.model().picture()
    }
    fn setting(&self, name: &str) -> Option<f64> {
        self.model().setting(name)
    }
    fn read_outs(&self) -> ReadOuts {
        self.model().read_outs()
    }
    fn balancer_weights(&self) -> Vec<f64> {
        self.model().balancer_weights(Engine::now(self))
    }
    fn target_states(&self) -> Vec<String> {
        self.model().target_states(Engine::now(self))
    }
    fn balancer_terms(&self, target: usize) -> Vec<(&'static str, f64)> {
        self.model().balancer_terms(target)
    }
    fn trace_decisions(&mut self, every: u32) {
        self.model_mut_for_output().trace_decisions(every);
    }
    fn last_decision(&self) -> Option<Decision> {
        self.model().last_decision()
    }
}
