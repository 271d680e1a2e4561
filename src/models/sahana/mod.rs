//! Sahana Eden's 15-minute blackout (seed 001): persistent database connections through a router that
//! silently forgets idle flows, TCP retransmission and keepalive timers, uneven worker use from ordered
//! dispatch, and one stuck worker holding up all the others.
//!
//! The nouns, one per file: [`traffic`] (the quiet-then-busy arrival profile), [`worker`] (uWSGI workers on the
//! shared [`crate::parts::pool::WorkerPool`]), [`router`] (the flow table with idle expiry, drop or reset),
//! [`tcp`] (each connection's retransmission and keepalive timers, as events), [`coupling`] (global_lock,
//! session_lock or none), [`ledger`] (counts and the headline). This file wires them: the event enum, the
//! request's path through them, commands, rows, the summary and the invariants. The physics and its sources are
//! in SEED-MODELS.md §001 and REFERENCE.md §4; each part cites its own.
//!
//! A request's path: arrival → a worker (or the listen queue, or rejected) → its session lock (session_lock) →
//! the global wait behind a stuck call (global_lock) → its query on the worker's connection. Through a live flow
//! the database answers after an exponential service time; into a forgotten flow the segments vanish and the
//! kernel retransmits until `tcp_retries2` (or `TCP_USER_TIMEOUT`) gives up, then the worker reconnects and the
//! query succeeds at once. A connection that keepalive already closed reconnects at once (a fast reconnect).

pub mod commands;
pub mod config;
pub mod coupling;
pub mod glossary;
pub mod ledger;
pub mod lesson;
pub mod picture;
pub mod router;
pub mod rows;
pub mod tcp;
pub mod traffic;
pub mod worker;

mod model;

pub use model::{Event, Sahana};

use crate::engine::picture::PictureSpec;
use serde_json::{Map, Value};

use crate::engine::commands::{parse_step, CommandCodec, CommandSpec, Parsed};
use crate::engine::keys::Params;
use crate::engine::run::{Run, RunInfo, Shell};
use crate::engine::scenario::{no_controller, KeyGroup, RunSpec, ScenarioDef};
use crate::engine::schema::ChartSpec;
use crate::engine::Engine;
use crate::time::{as_secs_f64, SimTime};

/// The scenario's name.
pub const SCENARIO: &str = "sahana-idle-drop";

/// Builds a run of `def` from `spec`: keys checked against [`config::KEYS`], scheduled `operator` steps parsed
/// against the command table, the first events seeded by the model.
pub fn build_engine(def: &'static ScenarioDef, spec: &RunSpec) -> Result<Engine<Sahana>, String> {
    no_controller(def, spec)?;
    let params = Params::parse(def.keys, def.name, &spec.sets)?;
    let duration = spec.duration_s.unwrap_or(config::DEFAULT_DURATION_S);
    let step = spec.time_step_s.unwrap_or(config::DEFAULT_TIME_STEP_S);
    let cfg = config::Config::from_params(&params, duration, step)?;
    let model = Sahana::new(def.name, cfg, spec.seed);
    let steps: Vec<_> = params.steps("operator").map(|s| parse_step(&model, s)).collect::<Result<_, _>>()?;
    let mut engine = Engine::with_ctx(model, spec.seed, Sahana::start);
    for (at, command) in steps {
        engine.schedule(at, command)?;
    }
    Ok(engine)
}

fn build(def: &'static ScenarioDef, spec: &RunSpec) -> Result<Box<dyn Run>, String> {
    Ok(Box::new(build_engine(def, spec)?))
}

/// The page's groups of the Sahana model's settings.
pub const KEY_GROUPS: &[KeyGroup] = &[
    ("Traffic", &["rate", "quiet_rate", "quiet_until_s", "day_s", "sessions"]),
    ("Workers", &["workers", "listen_queue", "service_ms", "dispatch", "coupling"]),
    ("Router", &["router_idle_timeout_s", "router_on_expiry"]),
    (
        "TCP timers",
        &[
            "keepalive_idle_s",
            "keepalive_interval_s",
            "keepalive_probes",
            "tcp_retries2",
            "rto_min_ms",
            "rto_max_s",
            "tcp_user_timeout_ms",
        ],
    ),
];

/// The Sahana model's scenarios.
pub const SCENARIOS: &[ScenarioDef] = &[ScenarioDef {
    name: SCENARIO,
    model: "sahana",
    summary: "4 uWSGI workers, persistent PostgreSQL connections through a router that forgets flows idle 3600 s; after a quiet period the first query on a long-idle worker hangs 924.6 s and blocks every worker",
    seed_file: "001_586881e100e0af6c.txt",
    keys: config::KEYS,
    takes_controller: false,
    story: &lesson::STORY,
    lesson: lesson::LESSON,
    lesson_controller: None,
        glossary: glossary::GLOSSARY,
        challenges: lesson::CHALLENGES,
    lesson_sets: &[],
    controller_notes: &[],
    figures: lesson::FIGURES,
    build,
    check: crate::engine::scenario::check_by_building,
    export: crate::engine::scenario_file::export_keyed,
    open: crate::engine::scenario_file::read_keyed,
    key_groups: KEY_GROUPS,
    key_warnings: &[],
    scorecard: None,
}];

impl CommandCodec for Sahana {
    type Command = commands::Command;
    fn table(&self) -> &'static [CommandSpec] {
        commands::TABLE
    }
    fn target_names(&self, _kind: &str) -> Vec<String> {
        self.names.clone()
    }
    fn from_parsed(&self, parsed: &Parsed) -> Result<commands::Command, String> {
        commands::from_parsed(parsed)
    }
    fn to_parsed(&self, command: &commands::Command) -> Option<Parsed> {
        Some(commands::to_parsed(command))
    }
}

fn secs(t: SimTime) -> f64 {
    as_secs_f64(t)
}

impl Sahana {
    /// The headline: the figures the issue and the lesson compare with the seed.
    fn headline(&self, now: SimTime) -> Map<String, Value> {
        let l = &self.ledger;
        let (blackout, blackout_start) = l.blackout_at(now, self.in_system());
        let total = l.completed.max(1) as f64;
        let shares: Vec<Value> = (0..self.cfg.workers).map(|w| (self.completed_by(w) as f64 / total).into()).collect();
        let first = l.stall_log.front();
        let mut h = Map::new();
        h.insert("longest_stall_s".into(), secs(l.longest_stall).into());
        h.insert("stalls".into(), l.stalls.into());
        h.insert("fast_reconnects".into(), l.fast_reconnects.into());
        h.insert("blackout_s".into(), secs(blackout).into());
        h.insert("blackout_start_s".into(), secs(blackout_start).into());
        h.insert("worker_share".into(), Value::Array(shares));
        h.insert("first_stall_s".into(), first.map_or(Value::Null, |s| secs(s.start).into()));
        h.insert(
            "first_stall_worker".into(),
            first.map_or(Value::Null, |s| self.names[s.worker as usize].clone().into()),
        );
        h.insert("resets".into(), l.resets.into());
        h.insert("keepalive_closes".into(), l.keepalive_closes.into());
        h.insert("lock_waits".into(), l.lock_waits.into());
        h
    }

    /// The state at `now` the lesson reads: each worker's flow idle age, lane, flow state.
    fn snapshot(&self, now: SimTime) -> Map<String, Value> {
        let per = |f: &dyn Fn(u32) -> Value| Value::Array((0..self.cfg.workers).map(f).collect());
        let mut m = Map::new();
        m.insert("idle_age_s".into(), per(&|w| secs(now.saturating_sub(self.router.flow(w).last_seen)).into()));
        m.insert("lane".into(), per(&|w| (self.lane(w) as u8).into()));
        m.insert("flow_state".into(), per(&|w| self.flow_state(w).into()));
        m.insert("retransmits".into(), per(&|w| self.conns[w as usize].retransmits.into()));
        m.insert("listen_queue".into(), self.workers.pool().backlog_len().into());
        m
    }
}

impl Shell for Sahana {
    fn info(&self) -> RunInfo<'_> {
        RunInfo::new(self.scenario, self.cfg.duration, self.cfg.time_step, &self.columns)
    }
    fn drain_rows(&mut self, out: &mut Vec<Vec<f64>>) {
        out.extend(self.rows.drain());
    }
    fn summary_fields(&self, now: SimTime) -> Map<String, Value> {
        let l = &self.ledger;
        let mut m = Map::new();
        m.insert("headline".into(), Value::Object(self.headline(now)));
        m.insert("now".into(), Value::Object(self.snapshot(now)));
        m.insert("requests".into(), l.arrivals.into());
        m.insert("completed".into(), l.completed.into());
        m.insert("rejected".into(), l.rejected.into());
        m.insert("killed".into(), l.killed.into());
        m.insert("in_system".into(), self.in_system().into());
        m.insert("flows_expired".into(), self.router.expired().into());
        m.insert("max_latency_s".into(), secs(l.max_latency).into());
        m.insert("max_latency_unstalled_s".into(), secs(l.max_latency_unstalled).into());
        let mean = if l.completed > 0 { l.latency_sum as f64 / l.completed as f64 / 1e6 } else { 0.0 };
        m.insert("latency_mean_s".into(), mean.into());
        let log: Vec<Value> = l
            .stall_log
            .iter()
            .map(|s| {
                let mut e = Map::new();
                e.insert("start_s".into(), secs(s.start).into());
                e.insert("worker".into(), self.names[s.worker as usize].clone().into());
                e.insert("stall_s".into(), s.length.map_or(Value::Null, |x| secs(x).into()));
                e.insert("cut_short".into(), s.cut_short.into());
                Value::Object(e)
            })
            .collect();
        m.insert("stall_log".into(), Value::Array(log));
        m.insert("rows_dropped".into(), self.rows.dropped().into());
        m
    }
    fn check_invariants(&self, now: SimTime) -> Result<(), String> {
        self.check(now)
    }
    fn charts(&self) -> &'static [ChartSpec] {
        rows::CHARTS
    }
    fn picture(&self) -> Option<&'static PictureSpec> {
        Some(&picture::PICTURE)
    }
    fn setting(&self, name: &str) -> Option<f64> {
        match name {
            "listen_queue" => Some(self.cfg.listen_queue as f64),
            "router_idle_timeout_s" => Some(crate::time::as_secs_f64(self.cfg.router_idle_timeout)),
            _ => None,
        }
    }
}
