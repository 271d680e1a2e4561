//! The Galera model (seeds 003 and 004): a synchronously replicated group whose receive queues, flow control,
//! hyperconverged storage and crash durability reproduce three incidents: a node desynced for a backup that
//! throttles the whole group for hours while it catches up (`percona-desync`), every transaction turning into 27
//! synchronous writes on hyperconverged storage (`galera-hyperconverged`), and what a power loss of every node
//! loses with `innodb_flush_log_at_trx_commit=2` (`galera-full-crash`).
//!
//! Flow control follows codership/galera `gcs/src/gcs.cpp` (see [`flow_control`]); the physics and the numbers
//! to reproduce are SEED-MODELS.md §003 and §004 and REFERENCE.md §4. The applier's stalls are FITTED to the
//! Percona seed's figures, not taken from any source.

pub mod cluster;
pub mod commands;
pub mod config;
pub mod durability;
pub mod flow_control;
pub mod glossary;
pub mod keys;
pub mod lesson;
pub mod node;
pub mod picture;
pub mod report;
pub mod storage;
pub mod writer;

use crate::engine::picture::PictureSpec;
use serde_json::{Map, Value};

use crate::engine::commands::{parse_step, CommandCodec, CommandSpec, Parsed};
use crate::engine::keys::Params;
use crate::engine::run::{Run, RunInfo, Shell};
use crate::engine::scenario::{no_controller, KeyGroup, RunSpec, ScenarioDef};
use crate::engine::schema::{ChartSpec, Column};
use crate::engine::{Ctx, Engine, Model};
use crate::parts::row_log::RowLog;
use crate::time::{from_secs_f64, SimTime};
use cluster::{Event, Galera};
use commands::Command;
use config::Config;
use keys::{CRASH, HCI, KEYS, PERCONA};

/// Rows kept between two drains; older ones are dropped and counted.
pub const MAX_ROWS: usize = 100_000;

/// A Galera run: the model, its row buffer and its schema.
pub struct GaleraRun {
    /// The model (front ends read it; they change it only with commands).
    pub g: Galera,
    columns: Vec<Column>,
    rows: RowLog<Vec<f64>>,
    step: report::StepState,
}

impl GaleraRun {
    /// A run of `cfg` with `seed`.
    pub fn new(cfg: Config, seed: u64) -> GaleraRun {
        let hyps = cfg.storage.map_or(0, |s| s.0.hypervisors);
        let columns = report::columns(cfg.nodes, hyps);
        GaleraRun { g: Galera::new(cfg, seed), columns, rows: RowLog::new(MAX_ROWS), step: Default::default() }
    }
}

fn event_word(e: &Event) -> u64 {
    match *e {
        Event::Tick { gen } => 1 | (gen as u64) << 8,
        Event::Deliver { first, count, span_us, epoch } => {
            2 ^ first << 8 ^ (count as u64) << 40 ^ (epoch as u64) << 56 ^ (span_us as u64) << 20
        }
        Event::Fc { node, stop, conf } => 3 | (node as u64) << 8 | (stop as u64) << 16 | (conf as u64) << 24,
        Event::Join { node, .. } => 4 | (node as u64) << 8,
        Event::Sync { node, .. } => 5 | (node as u64) << 8,
        Event::Phase { node, gen } => 6 | (node as u64) << 8 | (gen as u64) << 16,
        Event::Wake { node, gen } => 7 | (node as u64) << 8 | (gen as u64) << 16,
        Event::Flush { node } => 8 | (node as u64) << 8,
        Event::BulkEnd { gen } => 9 | (gen as u64) << 8,
        Event::Step => 10,
    }
}

impl Model for GaleraRun {
    type Event = Event;
    type Command = Command;
    fn event_word(e: &Event) -> u64 {
        event_word(e)
    }
    fn command_words(c: &Command, hash: &mut dyn FnMut(u64)) {
        commands::words(c, hash)
    }
    fn on_event(&mut self, ctx: &mut Ctx<Event>, e: Event) {
        if e == Event::Step {
            let row = report::row(&mut self.g, &mut self.step, ctx.now());
            self.rows.push(row);
            if ctx.now() < self.g.cfg.duration {
                ctx.after(self.g.cfg.time_step, Event::Step);
            }
            return;
        }
        self.g.on_event(ctx, e)
    }
    fn validate(&self, c: &Command) -> Result<(), String> {
        self.g.validate(c)
    }
    fn on_command(&mut self, ctx: &mut Ctx<Event>, c: &Command) {
        self.g.on_command(ctx, c)
    }
}

impl CommandCodec for GaleraRun {
    type Command = Command;
    fn table(&self) -> &'static [CommandSpec] {
        commands::TABLE
    }
    fn target_names(&self, _kind: &str) -> Vec<String> {
        (1..=self.g.cfg.nodes).map(|i| format!("node{i}")).collect()
    }
    fn from_parsed(&self, parsed: &Parsed) -> Result<Command, String> {
        commands::from_parsed(parsed)
    }
    fn to_parsed(&self, c: &Command) -> Option<Parsed> {
        Some(commands::to_parsed(c))
    }
}

impl Shell for GaleraRun {
    fn info(&self) -> RunInfo<'_> {
        RunInfo::new(self.g.cfg.scenario, self.g.cfg.duration, self.g.cfg.time_step, &self.columns)
    }
    fn drain_rows(&mut self, out: &mut Vec<Vec<f64>>) {
        out.extend(self.rows.drain());
    }
    fn summary_fields(&self, now: SimTime) -> Map<String, Value> {
        report::summary(&self.g, now, self.rows.dropped())
    }
    fn check_invariants(&self, _now: SimTime) -> Result<(), String> {
        self.g.check()
    }
    fn charts(&self) -> &'static [ChartSpec] {
        lesson::charts(self.g.cfg.scenario)
    }
    fn picture(&self) -> Option<&'static PictureSpec> {
        Some(if self.g.cfg.scenario == PERCONA { &picture::PERCONA_PICTURE } else { &picture::PICTURE })
    }
}

/// Refuses a timeline whose ends come before their starts (as Koha and the section refuse theirs): the desync
/// must end after it begins and the lock must be released after it is taken.
fn check_order(p: &Params) -> Result<(), String> {
    for (start, end, default_start, default_end) in
        [("desync_at", "desync_off_at", 60.0, 3760.0), ("ftwrl_at", "unlock_at", 60.0, 2760.0)]
    {
        let (s, e) = (p.number(start, default_start), p.number(end, default_end));
        if e < s {
            return Err(format!("{end} ({e} s) must not come before {start} ({s} s); raise {end} or lower {start}"));
        }
    }
    Ok(())
}

/// A scenario's own timeline: the scheduled steps its story needs, as commands.
type Timeline = fn(&Config, &Params) -> Vec<(SimTime, Command)>;

/// Each scenario's timeline, in the order of [`SCENARIOS`] (as `lesson::STORIES` and `lesson::LESSONS` are), so
/// the build never asks for a scenario by name.
const TIMELINES: [Timeline; 3] = [percona_timeline, hci_timeline, crash_timeline];

fn at(p: &Params, key: &str, default: f64) -> SimTime {
    from_secs_f64(p.number(key, default))
}

/// percona-desync: node3 desynced and locked for a backup, then unlocked and resynced.
fn percona_timeline(cfg: &Config, p: &Params) -> Vec<(SimTime, Command)> {
    let b = cfg.backup_node;
    vec![
        (at(p, "desync_at", 60.0), Command::DesyncOn(b)),
        (at(p, "ftwrl_at", 60.0), Command::Ftwrl(b)),
        (at(p, "unlock_at", 2760.0), Command::Unlock(b)),
        (at(p, "desync_off_at", 3760.0), Command::DesyncOff(b)),
    ]
}

/// galera-hyperconverged: the bulk pushes, from the first at the push interval (at most 1000).
fn hci_timeline(cfg: &Config, _: &Params) -> Vec<(SimTime, Command)> {
    let Some((first, every, _, _)) = cfg.bulk else { return vec![] };
    let mut t = first;
    let mut out = Vec::new();
    while t < cfg.duration && out.len() < 1000 {
        out.push((t, Command::BulkStart));
        t += every.max(1);
    }
    out
}

/// galera-full-crash: every node loses power at `crash_at`.
fn crash_timeline(_: &Config, p: &Params) -> Vec<(SimTime, Command)> {
    vec![(at(p, "crash_at", 30.0), Command::CrashAll)]
}

/// Builds a run of one of the model's scenarios: the engine, the model's first events, its timeline and the
/// `fault=` steps.
pub fn build_engine(def: &'static ScenarioDef, spec: &RunSpec) -> Result<Engine<GaleraRun>, String> {
    no_controller(def, spec)?;
    let params = Params::parse(KEYS, def.name, &spec.sets)?;
    let cfg = Config::read(def.name, &params, spec.duration_s, spec.time_step_s)?;
    let index = SCENARIOS.iter().position(|d| d.name == def.name).ok_or("not a Galera scenario")?;
    let steps = TIMELINES[index](&cfg, &params);
    if def.name == PERCONA {
        check_order(&params)?;
    }
    let budget = cfg.clone();
    let mut engine = Engine::with_ctx(GaleraRun::new(cfg, spec.seed), spec.seed, |m, ctx| m.g.start(ctx));
    for (at, c) in steps {
        engine.schedule(at, c)?;
    }
    let mut rate_steps = Vec::new();
    for text in params.steps("fault") {
        let (at, c) = parse_step(engine.model(), text)?;
        if let Command::WriteRate(r) = c {
            rate_steps.push((at, r));
        }
        engine.schedule(at, c)?;
    }
    budget.check_writes(&rate_steps)?;
    Ok(engine)
}

fn build(def: &'static ScenarioDef, spec: &RunSpec) -> Result<Box<dyn Run>, String> {
    Ok(Box::new(build_engine(def, spec)?))
}

const fn def(name: &'static str, summary: &'static str, seed_file: &'static str, n: usize) -> ScenarioDef {
    ScenarioDef {
        name,
        model: "galera",
        summary,
        seed_file,
        keys: KEYS,
        takes_controller: false,
        story: &lesson::STORIES[n],
        lesson: lesson::LESSONS[n],
        lesson_controller: None,
        glossary: glossary::GLOSSARY,
        challenges: lesson::CHALLENGES[n],
        lesson_sets: &[],
        controller_notes: &[],
        figures: lesson::FIGURES[n],
        build,
        check: crate::engine::scenario::check_by_building,
        export: crate::engine::scenario_file::export_keyed,
        open: crate::engine::scenario_file::read_keyed,
        key_groups: KEY_GROUPS,
        key_warnings: &[],
        scorecard: None,
    }
}

/// The page's groups of the Galera model's settings.
pub const KEY_GROUPS: &[KeyGroup] = &[
    (
        "Writer",
        &[
            "writer",
            "write_rate",
            "threads",
            "client_backlog",
            "bulk_first_s",
            "bulk_every_s",
            "bulk_rows",
            "bulk_rate",
        ],
    ),
    (
        "Appliers",
        &[
            "nodes",
            "apply_rate",
            "apply_threads",
            "apply_parallel_fraction",
            "stalls",
            "stall_mean_s",
            "up_mean_s",
            "cert_ms",
        ],
    ),
    ("Flow control", &["fc_limit", "fc_factor", "fc_master_slave", "sync_donor", "delivery_ms", "batch"]),
    ("Backup", &["backup_node", "desync_at", "ftwrl_at", "unlock_at", "desync_off_at"]),
    (
        "Storage",
        &[
            "files_per_trx",
            "storage_replicas",
            "hypervisors",
            "nic_gbps",
            "nic_bonded",
            "write_kib",
            "disk_iops",
            "rtt_ms",
        ],
    ),
    ("Durability and crash", &["trx_commit", "sync_binlog", "flush_interval_s", "crash_kind", "crash_at", "bootstrap"]),
];

/// The Galera model's scenarios.
pub const SCENARIOS: &[ScenarioDef] = &[
    def(PERCONA, "a 3-node Percona XtraDB Cluster at 5.5k writesets/s: node3 desynced for a backup, then hours of catch-up under flow control (a seven-hour run)", "003_81aa20bb397ace21.txt", 0),
    def(HCI, "Galera on hyperconverged storage at 200 tps: 27 synchronous writes per transaction and half-hourly bulk pushes past 80 ms", "004_784507cc29d952ee.txt", 1),
    def(CRASH, "Galera at 200 tps, each node's log flushed once a second: every node loses power at 30 s; what each loses and which to bootstrap", "004_784507cc29d952ee.txt", 2),
];
