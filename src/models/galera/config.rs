//! A Galera run's configuration, read once from the validated keys ([`super::keys::KEYS`]), with the memory and
//! event budgets checked at build time.

use super::durability::{Bootstrap, CrashKind, TrxCommit};
use super::flow_control::{limits, Limits};
use super::keys::{HCI, KEYS, PERCONA};
use super::storage::Shape;
use super::writer::Mode;
use crate::engine::keys::{KeyKind, Params};
use crate::time::{from_secs_f64, SimDuration, SimTime, SECOND};

/// Most events a run may need (writer batches and deliveries); more is refused, naming `batch`.
pub const MAX_EVENTS: f64 = 2e9;

/// Which applier stalls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stalls {
    /// Only while a node is not SYNCED (the fitted default for the Percona seed).
    CatchingUp,
    /// On every node, always.
    Always,
    /// Never.
    None,
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The scenario.
    pub scenario: &'static str,
    /// Nodes.
    pub nodes: usize,
    /// Writer mode.
    pub writer: Mode,
    /// Writer rate, trx/s.
    pub write_rate: f64,
    /// Closed writer's threads.
    pub threads: u64,
    /// Open writer's backlog bound.
    pub client_backlog: u64,
    /// Apply rate while up, writesets/s (after the thread speed-up).
    pub mu: f64,
    /// Which appliers stall.
    pub stalls: Stalls,
    /// Mean stall, s.
    pub stall_mean_s: f64,
    /// Mean run between stalls, s.
    pub up_mean_s: f64,
    /// Flow-control limits.
    pub limits: Limits,
    /// gcs.sync_donor.
    pub sync_donor: bool,
    /// Delivery delay, µs.
    pub delivery: SimDuration,
    /// Writer batch bound.
    pub batch: u64,
    /// The backup node's index (Percona).
    pub backup_node: usize,
    /// Storage, if this scenario models it.
    pub storage: Option<(Shape, f64, f64, f64)>,
    /// Bulk pushes: (first, every, rows, rate).
    pub bulk: Option<(SimTime, SimDuration, f64, f64)>,
    /// Durability.
    pub trx_commit: TrxCommit,
    /// sync_binlog=1.
    pub sync_binlog: bool,
    /// Certification time, µs.
    pub cert: SimDuration,
    /// Flush interval, µs.
    pub flush_interval: SimDuration,
    /// Crash kind.
    pub crash_kind: CrashKind,
    /// Bootstrap choice.
    pub bootstrap: Bootstrap,
    /// Run length, µs.
    pub duration: SimTime,
    /// Metrics step, µs.
    pub time_step: SimDuration,
}

/// The default of `key` for `scenario`, as the key table states it.
fn default_of(key: &str, scenario: &str) -> f64 {
    // A key another scenario owns still has its stated default here (the flush clock runs in every scenario).
    let info =
        KEYS.iter().find(|k| k.key == key && k.applies_to(scenario)).or_else(|| KEYS.iter().find(|k| k.key == key));
    match info.map(|k| (k.kind, k.default)) {
        Some((KeyKind::Choice(options), d)) => options.iter().position(|o| o.word == d).unwrap_or(0) as f64,
        Some((_, d)) => d.parse().unwrap_or(0.0),
        None => 0.0,
    }
}

struct Reader<'a> {
    p: &'a Params,
    scenario: &'static str,
}

impl Reader<'_> {
    fn num(&self, key: &str) -> f64 {
        self.p.number(key, default_of(key, self.scenario))
    }
    fn choice(&self, key: &str) -> usize {
        self.p.choice(key, default_of(key, self.scenario) as usize)
    }
    fn secs(&self, key: &str) -> SimDuration {
        from_secs_f64(self.num(key))
    }
}

/// The scenario's own run length, s.
pub fn default_duration_s(scenario: &str) -> f64 {
    match scenario {
        PERCONA => 25_200.0,
        HCI => 2_400.0,
        _ => 60.0,
    }
}

impl Config {
    /// Reads the keys of `scenario`; `duration_s` and `time_step_s` override the scenario's own.
    pub fn read(
        scenario: &'static str,
        p: &Params,
        duration_s: Option<f64>,
        step_s: Option<f64>,
    ) -> Result<Config, String> {
        let r = Reader { p, scenario };
        let nodes = r.num("nodes").round() as usize;
        let threads = r.num("apply_threads").round().max(1.0);
        let phi = r.num("apply_parallel_fraction");
        let mu = r.num("apply_rate") / ((1.0 - phi) + phi / threads);
        let nic = r.num("nic_gbps") * 1e9 * if r.choice("nic_bonded") == 1 { 2.0 } else { 1.0 };
        let shape = Shape {
            files_per_trx: r.num("files_per_trx").round() as u64,
            replicas: r.num("storage_replicas").round() as u64,
            hypervisors: r.num("hypervisors").round() as usize,
            rtt_ns: (r.num("rtt_ms") * 1e6).round() as u64,
        };
        let cfg = Config {
            scenario,
            nodes,
            writer: if r.choice("writer") == 0 { Mode::Closed } else { Mode::Open },
            write_rate: r.num("write_rate"),
            threads: r.num("threads") as u64,
            client_backlog: r.num("client_backlog") as u64,
            mu,
            stalls: [Stalls::CatchingUp, Stalls::Always, Stalls::None][r.choice("stalls").min(2)],
            stall_mean_s: r.num("stall_mean_s"),
            up_mean_s: r.num("up_mean_s"),
            limits: limits(nodes as u32, r.num("fc_limit"), r.num("fc_factor"), r.choice("fc_master_slave") == 1),
            sync_donor: r.choice("sync_donor") == 1,
            delivery: from_secs_f64(r.num("delivery_ms") / 1e3).max(1),
            batch: r.num("batch").round() as u64,
            backup_node: (r.num("backup_node").round() as usize).saturating_sub(1),
            storage: (scenario == HCI).then(|| (shape, nic, r.num("disk_iops"), r.num("write_kib") * 1024.0)),
            bulk: (scenario == HCI)
                .then(|| (r.secs("bulk_first_s"), r.secs("bulk_every_s"), r.num("bulk_rows"), r.num("bulk_rate"))),
            trx_commit: if r.choice("trx_commit") == 0 { TrxCommit::One } else { TrxCommit::Two },
            sync_binlog: r.choice("sync_binlog") == 1,
            cert: from_secs_f64(r.num("cert_ms") / 1e3),
            flush_interval: r.secs("flush_interval_s").max(1),
            crash_kind: if r.choice("crash_kind") == 0 { CrashKind::Power } else { CrashKind::Kill9 },
            bootstrap: [Bootstrap::Highest, Bootstrap::Random, Bootstrap::Node1][r.choice("bootstrap").min(2)],
            duration: from_secs_f64(duration_s.unwrap_or_else(|| default_duration_s(scenario))),
            time_step: from_secs_f64(step_s.unwrap_or(if scenario == PERCONA { 10.0 } else { 1.0 })).max(1),
        };
        cfg.check()?;
        Ok(cfg)
    }

    /// Checks the writesets a run may offer against the event budget and the receive queues' bound: the
    /// writer at `write_rate`, changed at each of `rate_steps` (a scheduled `write-rate:R@T`, time and rate), plus
    /// the bulk pushes, over the whole run. So a scheduled step is held to the budget a key is.
    pub fn check_writes(&self, rate_steps: &[(SimTime, f64)]) -> Result<(), String> {
        let secs = self.duration as f64 / SECOND as f64;
        let mut steps: Vec<(SimTime, f64)> = rate_steps.iter().copied().filter(|(t, _)| *t < self.duration).collect();
        steps.sort_by_key(|(t, _)| *t);
        let (mut writesets, mut from, mut rate) = (0.0, 0, self.write_rate);
        for (t, r) in steps.into_iter().chain(std::iter::once((self.duration, 0.0))) {
            writesets += rate * (t - from) as f64 / SECOND as f64;
            (from, rate) = (t, r);
        }
        writesets += self.bulk.map_or(0.0, |b| b.3) * secs;
        let stepped = if rate_steps.is_empty() { "" } else { " (scheduled write-rate steps included)" };
        if writesets / self.batch as f64 * 2.0 > MAX_EVENTS {
            return Err(format!("about {writesets:.3e} writesets in {secs} s{stepped} need too many events; raise batch or lower write_rate or the duration"));
        }
        if writesets > super::node::MAX_RECV_QUEUE as f64 {
            return Err(format!(
                "the writer could overflow a receive queue's bound{stepped}; lower write_rate or the duration"
            ));
        }
        Ok(())
    }

    fn check(&self) -> Result<(), String> {
        if self.backup_node >= self.nodes && self.scenario == PERCONA {
            return Err(format!("backup_node {} is not a node; nodes is {}", self.backup_node + 1, self.nodes));
        }
        if let Some((shape, ..)) = &self.storage {
            check_layout(self.nodes, shape.hypervisors, shape.replicas)?;
        }
        self.check_writes(&[])?;
        let secs = self.duration as f64 / SECOND as f64;
        if secs / (self.time_step as f64 / SECOND as f64) > 1e7 {
            return Err("more than 10^7 rows; raise --time-step".into());
        }
        Ok(())
    }
}

/// The hyperconverged layout (SEED-MODELS §004, the seed's article): node i runs on hypervisor i, and every
/// write is copied to `storage_replicas` *other* hypervisors. So there must be a hypervisor per node and one
/// more than the copies; anything less names hosts that do not exist.
fn check_layout(nodes: usize, hypervisors: usize, replicas: u64) -> Result<(), String> {
    if hypervisors < nodes {
        return Err(format!(
            "hypervisors={hypervisors} is fewer than nodes={nodes}: node i runs on hypervisor i; raise hypervisors or lower nodes"
        ));
    }
    if replicas as usize >= hypervisors {
        return Err(format!(
            "storage_replicas={replicas} copies need that many other hypervisors, but there are {} besides a node's own; raise hypervisors or lower storage_replicas",
            hypervisors - 1
        ));
    }
    Ok(())
}
