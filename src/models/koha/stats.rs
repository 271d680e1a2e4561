//! What the Koha model measures: totals, per-phase page figures (a phase is the stretch between two commands,
//! so "before" and "after" a fault are two phases), HAProxy's transitions, and the step rows with their schema.
//! All bounded: [`MAX_PHASES`] phases, [`MAX_TRANSITIONS`] transitions, [`MAX_BUFFERED_ROWS`] rows.

use serde_json::{json, Value};

use crate::engine::schema::Column;
use crate::histogram::Histogram;
use crate::parts::row_log::RowLog;
use crate::time::{as_secs_f64, SimTime};

use super::config::{MAX_BUFFERED_ROWS, MAX_PHASES, NODES, NODE_NAMES};
use super::memcached::Counts;
use super::page::{Page, Split};

/// HAProxy transitions kept (node up/down changes).
pub const MAX_TRANSITIONS: usize = 1024;

/// Pages that started in one phase, and what they cost.
#[derive(Clone, Debug, Default)]
pub struct Phase {
    /// When it began, µs.
    pub from: SimTime,
    /// The command that began it (`healthy` for the first).
    pub label: String,
    /// The verb of that command.
    pub verb: &'static str,
    /// The node it targeted.
    pub node: Option<usize>,
    /// Pages started in this phase that finished.
    pub pages: u64,
    /// Sum of their work (worker) time, µs.
    pub work_sum: u128,
    /// Sum of their end-to-end latency, µs.
    pub latency_sum: u128,
    /// Sum of their time splits.
    pub split: [u128; 4],
    /// Their connect timeouts, io timeouts and skips.
    pub connect_timeouts: u64,
    /// io timeouts.
    pub io_timeouts: u64,
    /// Skipped commands.
    pub skips: u64,
}

impl Phase {
    fn mean_ms(&self, sum: u128) -> f64 {
        if self.pages == 0 {
            0.0
        } else {
            sum as f64 / self.pages as f64 / 1e3
        }
    }

    /// Mean work per page, ms.
    pub fn work_ms(&self) -> f64 {
        self.mean_ms(self.work_sum)
    }

    /// Mean time per page in the database and the cache (round trips and timeouts), ms: the part of a page's
    /// work a cache fault can change (its own work is an independent draw of mean `base_ms`).
    pub fn cache_db_ms(&self) -> f64 {
        self.mean_ms(self.split[1] + self.split[2] + self.split[3])
    }

    /// Mean end-to-end latency, ms.
    pub fn latency_ms(&self) -> f64 {
        self.mean_ms(self.latency_sum)
    }

    /// Connect timeouts per page.
    pub fn connect_timeouts_per_page(&self) -> f64 {
        if self.pages == 0 {
            0.0
        } else {
            self.connect_timeouts as f64 / self.pages as f64
        }
    }

    /// The phase as JSON for the summary.
    pub fn to_json(&self) -> Value {
        json!({
            "from_s": as_secs_f64(self.from),
            "command": self.label,
            "pages": self.pages,
            "page_work_ms": self.work_ms(),
            "page_latency_ms": self.latency_ms(),
            "work_ms": self.mean_ms(self.split[0]),
            "db_ms": self.mean_ms(self.split[1]),
            "cache_ms": self.mean_ms(self.split[2]),
            "timeouts_ms": self.mean_ms(self.split[3]),
            "cache_db_ms": self.cache_db_ms(),
            "connect_timeouts_per_page": self.connect_timeouts_per_page(),
            "io_timeouts": self.io_timeouts,
            "skips": self.skips,
        })
    }
}

/// Every figure of a run.
pub struct Stats {
    /// Phases, oldest first; never empty.
    pub phases: Vec<Phase>,
    /// Commands folded into the last phase because [`MAX_PHASES`] were in use.
    pub phases_merged: u64,
    /// Pages that reached HAProxy.
    pub arrivals: u64,
    /// Pages finished.
    pub completed: u64,
    /// Pages lost: HAProxy had no node (503), the node did not answer, the backlog was full, or the node died
    /// under them.
    pub failed: u64,
    /// HAProxy transitions: (time, node, now up).
    pub transitions: Vec<(SimTime, usize, bool)>,
    step_arrivals: u64,
    step_completed: u64,
    step_failed: u64,
    step_split: [u128; 4],
    latency: Vec<Histogram>,
    /// Each node's most recently finished page, end to end, µs (0 before its first): at the bug report's few
    /// pages a minute most steps finish none, so a step's quantiles read 0 while pages take seconds.
    last_page: [SimTime; NODES],
    rows: RowLog<Vec<f64>>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            phases: vec![Phase { label: "healthy".into(), verb: "healthy", ..Phase::default() }],
            phases_merged: 0,
            arrivals: 0,
            completed: 0,
            failed: 0,
            transitions: Vec::new(),
            step_arrivals: 0,
            step_completed: 0,
            step_failed: 0,
            step_split: [0; 4],
            latency: (0..NODES).map(|_| Histogram::new()).collect(),
            last_page: [0; NODES],
            rows: RowLog::new(MAX_BUFFERED_ROWS),
        }
    }
}

/// The state of the cluster a row reports besides the counters.
pub struct RowState<'a> {
    /// Busy workers per node.
    pub busy: [u32; NODES],
    /// Backlog per node.
    pub backlog: [usize; NODES],
    /// HAProxy's view per node.
    pub haproxy_up: [bool; NODES],
    /// Per-server counters since the last row.
    pub servers: [&'a Counts; NODES],
}

/// Global columns, in CSV order.
const GLOBAL: &[(&str, u8)] = &[
    ("time_s", 3),
    ("pages", 0),
    ("completed", 0),
    ("failed", 0),
    ("work_ms", 1),
    ("db_ms", 1),
    ("cache_ms", 1),
    ("timeouts_ms", 1),
];
/// Per-node columns.
const PER_NODE: &[(&str, u8)] = &[
    ("latency_p50_ms", 1),
    ("latency_p95_ms", 1),
    ("busy_workers", 0),
    ("backlog", 0),
    ("haproxy_up", 0),
    ("last_page_ms", 1),
];
/// Per-server columns (`mc1` is the memcached on koha1).
const PER_SERVER: &[(&str, u8)] = &[("hits", 0), ("misses", 0), ("timeouts", 0), ("skips", 0)];

/// The memcached server names, in index order.
pub const SERVER_NAMES: [&str; NODES] = ["mc1", "mc2", "mc3"];

/// The row schema.
pub fn columns() -> Vec<Column> {
    let mut out: Vec<Column> = GLOBAL.iter().map(|(n, d)| Column::new(*n, *d)).collect();
    for node in NODE_NAMES {
        out.extend(PER_NODE.iter().map(|(n, d)| Column::new(format!("{node}.{n}"), *d)));
    }
    for s in SERVER_NAMES {
        out.extend(PER_SERVER.iter().map(|(n, d)| Column::new(format!("{s}.{n}"), *d)));
    }
    out
}

impl Stats {
    /// Starts a phase at `now` for a command.
    pub fn begin_phase(&mut self, now: SimTime, label: String, verb: &'static str, node: Option<usize>) {
        if self.phases.len() >= MAX_PHASES {
            self.phases_merged += 1;
            return;
        }
        self.phases.push(Phase { from: now, label, verb, node, ..Phase::default() });
    }

    /// The phase a page starting now belongs to.
    pub fn current_phase(&self) -> u16 {
        (self.phases.len() - 1) as u16
    }

    /// Counts an arrival.
    pub fn arrival(&mut self) {
        self.arrivals += 1;
        self.step_arrivals += 1;
    }

    /// Counts lost pages.
    pub fn lost(&mut self, pages: u64) {
        self.failed += pages;
        self.step_failed += pages;
    }

    /// Records a page finished on `node` at `now`.
    pub fn finished(&mut self, node: usize, page: &Page, now: SimTime) {
        self.completed += 1;
        self.step_completed += 1;
        let latency = now - page.arrived;
        self.latency[node].record(latency);
        self.last_page[node] = latency;
        let Split { work, db, cache, timeouts, connect_timeouts, io_timeouts, skips } = page.split;
        let parts = [work as u128, db as u128, cache as u128, timeouts as u128];
        for (acc, v) in self.step_split.iter_mut().zip(parts) {
            *acc += v;
        }
        let phase = &mut self.phases[page.phase as usize];
        phase.pages += 1;
        phase.work_sum += (now - page.started) as u128;
        phase.latency_sum += latency as u128;
        for (acc, v) in phase.split.iter_mut().zip(parts) {
            *acc += v;
        }
        phase.connect_timeouts += connect_timeouts as u64;
        phase.io_timeouts += io_timeouts as u64;
        phase.skips += skips as u64;
    }

    /// Records an HAProxy transition.
    pub fn transition(&mut self, now: SimTime, node: usize, up: bool) {
        if self.transitions.len() < MAX_TRANSITIONS {
            self.transitions.push((now, node, up));
        }
    }

    /// Closes a step at `now`: one row, counters and histograms reset.
    pub fn row(&mut self, now: SimTime, state: &RowState) {
        let per_page =
            |sum: u128| if self.step_completed == 0 { 0.0 } else { sum as f64 / self.step_completed as f64 / 1e3 };
        let mut row =
            vec![as_secs_f64(now), self.step_arrivals as f64, self.step_completed as f64, self.step_failed as f64];
        row.extend(self.step_split.iter().map(|s| per_page(*s)));
        for n in 0..NODES {
            let h = &self.latency[n];
            let q = |p: f64| h.quantile_us(p) / 1e3;
            row.extend([
                q(0.5),
                q(0.95),
                state.busy[n] as f64,
                state.backlog[n] as f64,
                state.haproxy_up[n] as u8 as f64,
                as_secs_f64(self.last_page[n]) * 1e3,
            ]);
        }
        for c in state.servers {
            row.extend([c.hits as f64, c.misses as f64, c.timeouts as f64, c.skips as f64]);
        }
        self.rows.push(row);
        self.step_arrivals = 0;
        self.step_completed = 0;
        self.step_failed = 0;
        self.step_split = [0; 4];
        self.latency.iter_mut().for_each(Histogram::clear);
    }

    /// Rows dropped because nobody drained them.
    pub fn rows_dropped(&self) -> u64 {
        self.rows.dropped()
    }

    /// Moves the rows recorded since the last call into `out`, oldest first.
    pub fn drain_rows(&mut self, out: &mut Vec<Vec<f64>>) {
        out.extend(self.rows.drain());
    }
}
