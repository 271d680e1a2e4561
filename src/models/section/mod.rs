//! The database section model (seed 002, Wikimedia): app hosts with worker pools, a new connection per request,
//! a primary and replicas, the balancing controllers, the section breaker, operator overrides and probes.
//!
//! [`model::Section`] is its state on the generic engine; this module registers its scenarios, declares its
//! command table, row schema, charts and headlines, and implements [`Shell`], so every front end drives it
//! through [`Run`] like any other model.

pub mod command;
pub mod commands;
pub mod config;
mod connect;
pub mod glossary;
mod host;
mod invariants;
mod lag_lesson;
mod latencies;
mod meter;
pub mod model;
mod operators;
mod overrides;
mod pick;
mod pick_trace;
pub mod picture;
mod read_outs;
mod replication;
mod request;
mod server;
mod serving;

pub use pick_trace::PickTrace;
pub use server::{ConnectMode, ServerNow};

pub mod lessons;
pub mod metrics;
pub mod output;
pub mod scenario;
pub mod scenario_file;
pub mod scorecard;
pub mod sim;
mod stories;

use serde_json::{Map, Value};

use crate::engine::commands::{CommandCodec, CommandSpec, Parsed};
use crate::engine::keys::KeyInfo;
use crate::engine::picture::PictureSpec;
use crate::engine::run::{Decision, ReadOuts, Run, RunInfo, Shell};
use crate::engine::scenario::{KeyGroup, KeyWarning, RunSpec, ScenarioDef, Scorecard};
use crate::engine::schema::{ChartSpec, Column, Crowd, Scale};
use crate::models::section::command::{Command, Fault};
use crate::models::section::metrics::{ServerStep, StepRow};
use crate::models::section::stories::STORIES;
use crate::time::{from_secs_f64, SimTime};
use model::Section;

/// The config a spec describes, checked: the scenario's built from its keys, or a scenario file's with the
/// spec's controller, controller parameters, length and step over it.
pub fn config_of(def: &'static ScenarioDef, spec: &RunSpec) -> Result<config::Config, String> {
    let controller = if spec.controller.is_empty() { "static" } else { spec.controller.as_str() };
    let mut cfg = match &spec.file {
        Some(text) => scenario_file::from_file(text, controller, &spec.sets)?,
        None => crate::models::section::scenario::build(def.name, controller, &spec.sets)?,
    };
    if let Some(d) = spec.duration_s {
        cfg.duration = from_secs_f64(d);
    }
    if let Some(t) = spec.time_step_s {
        cfg.time_step = from_secs_f64(t);
    }
    cfg.validate()?;
    Ok(cfg)
}

fn build(def: &'static ScenarioDef, spec: &RunSpec) -> Result<Box<dyn Run>, String> {
    Ok(Box::new(Section::build(config_of(def, spec)?, spec.seed)?))
}

/// The scenario file of a spec: the whole config as [`scenario_file`] writes it.
fn export(def: &'static ScenarioDef, spec: &RunSpec) -> Result<String, String> {
    scenario_file::to_toml(&config_of(def, spec)?)
}

/// Reads a section scenario file into a spec that carries it.
fn open(_def: &'static ScenarioDef, path: &str, text: &str) -> Result<RunSpec, String> {
    let cfg = scenario_file::from_toml(path, text)?;
    let secs = crate::time::as_secs_f64;
    Ok(RunSpec {
        controller: cfg.controller.name().to_string(),
        duration_s: Some(secs(cfg.duration)),
        time_step_s: Some(secs(cfg.time_step)),
        file: Some(text.into()),
        ..RunSpec::default()
    })
}

/// Checks a spec's config (every bound `Section::build` checks is the config's) without building the run.
fn check(def: &'static ScenarioDef, spec: &RunSpec) -> Result<(), String> {
    config_of(def, spec).map(|_| ())
}

const KEYS: &[KeyInfo] = crate::models::section::scenario::KEYS;

/// The section's scenarios are scored for `compare` and `tune`; every one with a fault, and plain-s1 and quiet
/// for their steady shares, by default.
const SCORED: Scorecard = Scorecard { score: scorecard::score_spec, by_default: true };
/// mmc and large-write score on request only: M/M/c has no fault, large-write is about lag, not a scorecard.
const SCORED_ON_REQUEST: Scorecard = Scorecard { by_default: false, ..SCORED };

/// The page's groups of the section's settings.
pub const KEY_GROUPS: &[KeyGroup] = &[
    ("Traffic", &["utilization", "rate_scale"]),
    (
        "App hosts",
        &["hosts", "workers", "backlog", "connect_timeout_ms", "max_attempts", "breaker_conns", "probe_timeout_ms"],
    ),
    (
        "Servers",
        &["servers", "slots", "service_ms", "capacity", "max_connections", "latency_dist", "lognormal_sigma", "rtt_ms"],
    ),
    ("Replication", &["write_rate", "apply_rate", "replication_delay_ms", "heartbeat_interval_s"]),
    (
        "Faults",
        &[
            "fault_at",
            "recover_at",
            "slow_factor",
            "large_write_s",
            "overload_at",
            "overload_factor",
            "overload_slots",
            "cold_ramp",
        ],
    ),
];

/// ρ ≥ 1 in M/M/c: the queue grows without end.
pub const KEY_WARNINGS: &[KeyWarning] = &[KeyWarning {
    key: "utilization",
    at_or_above: 1.0,
    words: "ρ ≥ 1: arrivals outpace the servers and the queue grows without end.",
}];

const fn def(name: &'static str, summary: &'static str, story: usize) -> ScenarioDef {
    ScenarioDef {
        name,
        model: "section",
        summary,
        seed_file: "002_6ca782fd1051890a.txt",
        keys: KEYS,
        takes_controller: true,
        story: &STORIES[story],
        lesson: &[],
        lesson_controller: None,
        glossary: glossary::GLOSSARY,
        challenges: &[],
        lesson_sets: &[],
        controller_notes: &[],
        figures: &[],
        build,
        check,
        export,
        open,
        key_groups: KEY_GROUPS,
        key_warnings: KEY_WARNINGS,
        scorecard: Some(SCORED),
    }
}

/// The section model's scenarios.
pub const SCENARIOS: &[ScenarioDef] = &[
    ScenarioDef { lesson: lessons::PLAIN, lesson_sets: &[], controller_notes: &[], ..def("plain-s1", "Wikimedia's s1 database section at production rates (7572.8 req/s, 139 app hosts, 12 servers), no fault", 0) },
    ScenarioDef { lesson: lessons::SLOW, lesson_sets: &[("workers", lessons::SLOW_WORKERS)], controller_notes: lessons::SLOW_NOTES, challenges: lessons::SLOW_CHALLENGES, ..def("slow", "plain-s1, then db1119's queries take 10 times longer from 30 s", 1) },
    ScenarioDef { lesson: lessons::CONNECT_TIMEOUT, lesson_sets: &[], controller_notes: lessons::TIMEOUT_NOTES, challenges: lessons::TIMEOUT_CHALLENGES, ..def("connect-timeout", "plain-s1, then every connect to db1119 hangs for the connect timeout and fails, from 30 s", 2) },
    ScenarioDef { lesson: lessons::REFUSE, lesson_controller: Some("least-conn"), lesson_sets: &[], controller_notes: &[], ..def("refuse", "plain-s1, then every connect to db1119 is refused within one round trip, from 30 s: a server that fails fast holds almost no connections", 3) },
    ScenarioDef { lesson: lessons::QUIET, lesson_sets: &[], controller_notes: &[], ..def("quiet", "plain-s1 with every rate divided by 1000 (7.57 req/s): controllers must leave a quiet section alone", 4) },
    ScenarioDef { lesson: lessons::MMC, lesson_sets: &[], controller_notes: &[], scorecard: Some(SCORED_ON_REQUEST), ..def("mmc", "n identical servers with c slots, exponential service, Poisson arrivals, uniform random routing (M/M/c)", 5) },
    ScenarioDef { lesson: lag_lesson::LESSON, lesson_controller: Some("mw-legacy"), lesson_sets: &[], scorecard: Some(SCORED_ON_REQUEST), controller_notes: lag_lesson::NOTES, figures: lag_lesson::FIGURES, ..def("large-write", "plain-s1; db1163 drowns in reads from 20 s, db1119 applies a 15 s transaction from 30 s: lag is the wrong load signal", 6) },
];

/// Global columns of a step row, in CSV order (EventSimulator's).
const GLOBAL: &[(&str, u8)] = &[
    ("time_s", 3),
    ("requests", 0),
    ("rejected", 0),
    ("active_workers", 3),
    ("latency_mean_ms", 3),
    ("latency_p50_ms", 3),
    ("latency_p99_ms", 3),
];
/// Per-server columns, in CSV order.
const PER_SERVER: &[(&str, u8)] =
    &[("active_conns", 3), ("total_conns", 0), ("failed_conns", 0), ("work_count", 0), ("latency_p99_ms", 3)];
/// Columns kept for JSON and charts, not in the CSV.
const HIDDEN_GLOBAL: &[&str] = &["failed", "overloaded", "probes"];

/// The row schema for these servers.
pub fn columns(servers: &[String]) -> Vec<Column> {
    let mut out: Vec<Column> = GLOBAL.iter().map(|(n, d)| Column::new(*n, *d)).collect();
    for s in servers {
        out.extend(PER_SERVER.iter().map(|(n, d)| Column::new(format!("{s}.{n}"), *d)));
    }
    out.extend(HIDDEN_GLOBAL.iter().map(|n| Column::hidden(*n, 0)));
    out.extend(servers.iter().map(|s| Column::hidden(format!("{s}.probe_conns"), 0)));
    for lag in LAG_COLUMNS {
        out.extend(servers.iter().map(|s| Column::hidden(format!("{s}.{lag}"), 3)));
    }
    out
}

/// Per-server replication lag columns, JSON and charts only (the CSV keeps EventSimulator's columns).
const LAG_COLUMNS: [&str; 2] = ["true_lag_s", "measured_lag_s"];

/// A step row as one number per column of [`columns`].
pub fn flatten(row: &StepRow) -> Vec<f64> {
    let mut out = vec![
        row.time_s,
        row.requests as f64,
        row.rejected as f64,
        row.active_workers,
        row.latency_mean_ms,
        row.latency_p50_ms,
        row.latency_p99_ms,
    ];
    for s in &row.servers {
        out.extend([
            s.active_conns,
            s.total_conns as f64,
            s.failed_conns as f64,
            s.work_count as f64,
            s.latency_p99_ms,
        ]);
    }
    out.extend([row.failed as f64, row.overloaded as f64, row.probes as f64]);
    out.extend(row.servers.iter().map(|s| s.probe_conns as f64));
    out.extend(row.servers.iter().map(|s| s.true_lag_s));
    out.extend(row.servers.iter().map(|s| s.measured_lag_s));
    out
}

/// The inverse of [`flatten`] for `servers` servers.
pub fn unflatten(servers: usize, row: &[f64]) -> StepRow {
    let get = |i: usize| row.get(i).copied().unwrap_or(0.0);
    let hidden = GLOBAL.len() + servers * PER_SERVER.len();
    StepRow {
        time_s: get(0),
        requests: get(1) as u64,
        rejected: get(2) as u64,
        active_workers: get(3),
        latency_mean_ms: get(4),
        latency_p50_ms: get(5),
        latency_p99_ms: get(6),
        failed: get(hidden) as u64,
        overloaded: get(hidden + 1) as u64,
        probes: get(hidden + 2) as u64,
        servers: (0..servers)
            .map(|i| {
                let b = GLOBAL.len() + i * PER_SERVER.len();
                ServerStep {
                    active_conns: get(b),
                    total_conns: get(b + 1) as u64,
                    failed_conns: get(b + 2) as u64,
                    work_count: get(b + 3) as u64,
                    latency_p99_ms: get(b + 4),
                    probe_conns: get(hidden + 3 + i) as u64,
                    true_lag_s: get(hidden + 3 + servers + i),
                    measured_lag_s: get(hidden + 3 + 2 * servers + i),
                }
            })
            .collect(),
    }
}

/// The section's charts.
const CHART_CONNS: ChartSpec = ChartSpec {
    id: "conns",
    title: "Active connections per server",
    hint: "Little's law: each server holds its share × rate × latency.",
    columns: &[".active_conns"],
    labels: &["open connections"],
    unit: "conns",
    scale: Scale::Linear,
    reference: None,
    crowd: Crowd::FaultyOverGrey,
};
const CHART_LATENCY: ChartSpec = ChartSpec {
    id: "latency",
    title: "Request latency",
    hint: "p50 and p99 of requests completed in each step.",
    columns: &["latency_p50_ms", "latency_p99_ms"],
    labels: &["median (p50)", "slowest 1% (p99)"],
    unit: "ms",
    scale: Scale::Log,
    reference: None,
    crowd: Crowd::Each,
};
const CHART_ERRORS: ChartSpec = ChartSpec {
    id: "errors",
    title: "Failed connects, rejected and overloaded requests",
    hint: "Failed connects are attempts; rejected and overloaded are whole requests.",
    columns: &[".failed_conns", "rejected", "overloaded"],
    labels: &["failed connects", "rejected requests", "overloaded requests"],
    unit: "per step",
    scale: Scale::Linear,
    reference: None,
    crowd: Crowd::FaultyOverGrey,
};
const CHART_LAG: ChartSpec = ChartSpec {
    id: "lag",
    title: "Replication lag",
    hint:
        "Measured (pt-heartbeat) is true lag plus the heartbeat's age, 0 to 1 s; mw-legacy stops choosing a replica above 6 s.",
    columns: &[".measured_lag_s"],
    labels: &["measured lag"],
    unit: "s",
    scale: Scale::Linear,
    reference: Some(("max lag", 6.0)),
    crowd: Crowd::FaultyOverGrey,
};
const CHART_TRUE_LAG: ChartSpec = ChartSpec {
    id: "true_lag",
    title: "True replication lag",
    hint: "Now minus the commit time of the oldest event a replica has not applied: 75 ms when it keeps up.",
    columns: &[".true_lag_s"],
    labels: &["true lag"],
    unit: "s",
    scale: Scale::Linear,
    reference: Some(("max lag", 6.0)),
    crowd: Crowd::FaultyOverGrey,
};
const CHART_WORKERS: ChartSpec = ChartSpec {
    id: "workers",
    title: "Busy app workers",
    hint: "Every request holds a worker until its query ends.",
    columns: &["active_workers"],
    labels: &["busy app workers"],
    unit: "workers",
    scale: Scale::Linear,
    reference: None,
    crowd: Crowd::Each,
};

/// The section's charts.
pub const CHARTS: &[ChartSpec] = &[CHART_CONNS, CHART_LATENCY, CHART_ERRORS, CHART_LAG, CHART_TRUE_LAG, CHART_WORKERS];

/// The charts of a run where replication lag tells nothing (no large write scheduled, a controller that does
/// not read lag): every replica sits at its 75 ms, so the lag charts are left out.
const CHARTS_WITHOUT_LAG: &[ChartSpec] = &[CHART_CONNS, CHART_LATENCY, CHART_ERRORS, CHART_WORKERS];

/// A scenario's headline: figures of the run set beside what its incident reported, under `summary.headline`.
pub(crate) type Headline = fn(&Section, &[String]) -> Map<String, Value>;

/// The scenarios that report a headline, and how. A table, so the run's summary never asks for a scenario by
/// name; a scenario file of one of them reports it too.
const HEADLINES: &[(&str, Headline)] = &[("large-write", lag_lesson::headline), ("mmc", lessons::mmc_headline)];

fn headline_of(scenario: &str) -> Option<Headline> {
    HEADLINES.iter().find(|(name, _)| *name == scenario).map(|(_, h)| *h)
}

/// A `&'static` label for a config's scenario: the table's own name when it is a built-in one, else (a
/// scenario file's own name) one small leaked string per run built, for the run's lifetime.
fn label(name: &str) -> &'static str {
    match SCENARIOS.iter().find(|s| s.name == name) {
        Some(def) => def.name,
        None => Box::leak(name.to_string().into_boxed_str()),
    }
}

/// A run of a config as every front end drives it (a scenario file's, which has no registry entry).
pub fn run_from_config(cfg: config::Config, seed: u64) -> Result<Box<dyn Run>, String> {
    let (duration, time_step) = (cfg.duration, cfg.time_step);
    let run = Box::new(Section::build(cfg, seed).map_err(crate::engine::keys::clip_error)?);
    crate::engine::limits::check_output(duration, time_step, &run.columns())?;
    Ok(run)
}

impl CommandCodec for Section {
    type Command = command::Command;
    fn table(&self) -> &'static [CommandSpec] {
        commands::TABLE
    }
    fn target_names(&self, _kind: &str) -> Vec<String> {
        self.names.clone()
    }
    fn from_parsed(&self, parsed: &Parsed) -> Result<command::Command, String> {
        commands::Codec { servers: &self.names }.from_parsed(parsed)
    }
    fn to_parsed(&self, command: &command::Command) -> Option<Parsed> {
        Some(commands::to_parsed(command))
    }
}

impl Shell for Section {
    fn info(&self) -> RunInfo<'_> {
        RunInfo::new(self.scenario, self.cfg.duration, self.cfg.time_step, &self.columns)
    }
    fn drain_rows(&mut self, out: &mut Vec<Vec<f64>>) {
        out.extend(self.rows.drain().map(|r| flatten(&r)));
    }
    fn summary_fields(&self, _now: SimTime) -> Map<String, Value> {
        // EventSimulator's order, with `events` and `trace_hash` in it: the engine fills in those two, and a map
        // insert keeps an existing key where it is.
        let s = self.summary(0, 0);
        let mut m = Map::new();
        m.insert("requests".into(), s.requests.into());
        m.insert("completed".into(), s.completed.into());
        m.insert("rejected".into(), s.rejected.into());
        m.insert("failed".into(), s.failed.into());
        m.insert("overloaded".into(), s.overloaded.into());
        m.insert("probes".into(), s.probes.into());
        m.insert("in_flight".into(), s.in_flight.into());
        m.insert("latency_mean_ms".into(), s.latency_mean_ms.into());
        m.insert("latency_p50_ms".into(), s.latency_p50_ms.into());
        m.insert("latency_p99_ms".into(), s.latency_p99_ms.into());
        m.insert("events".into(), Value::Null);
        m.insert("rows_dropped".into(), s.rows_dropped.into());
        m.insert("trace_hash".into(), Value::Null);
        if let Some(headline) = self.headline {
            m.insert("headline".into(), headline(self, &self.names).into());
        }
        m
    }
    fn check_invariants(&self, _now: SimTime) -> Result<(), String> {
        Section::check_invariants(self)
    }
    fn charts(&self) -> &'static [ChartSpec] {
        let large_write = self
            .cfg
            .schedule
            .iter()
            .any(|c| matches!(c.command, Command::Fault { fault: Fault::LargeWrite { .. }, .. }));
        // mw-legacy is the one controller that depools by lag, so its runs chart it.
        if large_write || self.cfg.controller.name() == "mw-legacy" {
            CHARTS
        } else {
            CHARTS_WITHOUT_LAG
        }
    }
    fn picture(&self) -> Option<&'static PictureSpec> {
        Some(&picture::PICTURE)
    }
    fn setting(&self, name: &str) -> Option<f64> {
        let cfg = &self.cfg;
        match name {
            "workers" => cfg.workers_per_host.map(|w| w as f64 * cfg.hosts as f64),
            "hosts" => Some(cfg.hosts as f64),
            _ => None,
        }
    }
    fn json_row(&self, row: &[f64]) -> String {
        output::json_row(&unflatten(self.names.len(), row), self.names.iter().map(String::as_str))
    }
    fn read_outs(&self) -> ReadOuts {
        self.declared_read_outs()
    }
    fn balancer_weights(&self, now: SimTime) -> Vec<f64> {
        self.host0_weights(now)
    }
    fn target_states(&self, now: SimTime) -> Vec<String> {
        self.server_states(now)
    }
    fn balancer_terms(&self, target: usize) -> Vec<(&'static str, f64)> {
        self.diagnostics(0, target)
    }
    fn trace_decisions(&mut self, every: u32) {
        self.set_pick_tracing(every);
    }
    fn last_decision(&self) -> Option<Decision> {
        self.decision()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::schema;
    use crate::models::section::metrics::StepRow;

    #[test]
    fn rows_flatten_and_unflatten_exactly() {
        let row = StepRow {
            time_s: 1.5,
            requests: 7,
            rejected: 1,
            failed: 2,
            overloaded: 3,
            probes: 4,
            active_workers: 2.25,
            latency_mean_ms: 9.0,
            latency_p50_ms: 8.0,
            latency_p99_ms: 20.0,
            servers: vec![ServerStep {
                active_conns: 1.5,
                total_conns: 5,
                probe_conns: 1,
                failed_conns: 2,
                work_count: 3,
                latency_p99_ms: 4.5,
                true_lag_s: 0.075,
                measured_lag_s: 0.5,
            }],
        };
        let flat = flatten(&row);
        assert_eq!(flat.len(), columns(&["a".to_string()]).len());
        assert_eq!(unflatten(1, &flat), row);
        let names = ["a".to_string()];
        // EventSimulator's CSV, as its columns and fixed decimals give it.
        assert_eq!(schema::csv_row(&columns(&names), &flat), "1.500,7,1,2.250,9.000,8.000,20.000,1.500,5,2,3,4.500");
        assert_eq!(
            schema::csv_header(&columns(&names)),
            "time_s,requests,rejected,active_workers,latency_mean_ms,latency_p50_ms,latency_p99_ms,\
             a.active_conns,a.total_conns,a.failed_conns,a.work_count,a.latency_p99_ms"
        );
    }
}
