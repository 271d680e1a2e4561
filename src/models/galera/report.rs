//! What a Galera run reports: the row schema and one row per metrics step, and the summary with its
//! `headline` object per scenario (the figures the issue names, beside which the lesson sets the seed's).

use serde_json::{json, Map, Value};

use super::cluster::{Galera, Mark};
use super::durability::Rejoin;
use super::keys::{CRASH, HCI, PERCONA};
use crate::engine::schema::Column;
use crate::time::{as_secs_f64, SimTime};

/// Counters at the previous row, to turn totals into per-step figures.
#[derive(Clone, Debug, Default)]
pub struct StepState {
    at: SimTime,
    committed: u64,
    offered: u64,
    paused: SimTime,
    stops: u64,
    applied: Vec<u64>,
}

/// The row schema for `nodes` nodes and `hypervisors` hypervisors (0 without storage).
pub fn columns(nodes: usize, hypervisors: usize) -> Vec<Column> {
    let mut out: Vec<Column> =
        ["time_s", "committed_per_s", "offered_per_s", "paused_s_per_min", "fc_stops", "eta_synced_s"]
            .iter()
            .map(|n| Column::new(*n, if *n == "fc_stops" { 0 } else { 3 }))
            .collect();
    for i in 1..=nodes {
        for (name, d) in [
            ("recv_queue", 0),
            ("fc_stop_level", 0),
            ("state", 0),
            ("applied_per_s", 1),
            ("unflushed_trx", 0),
            ("lost_trx", 0),
        ] {
            out.push(Column::new(format!("node{i}.{name}"), d));
        }
    }
    for h in 1..=hypervisors {
        out.push(Column::new(format!("hyp{h}.nic_load"), 3));
        out.push(Column::new(format!("hyp{h}.disk_load"), 3));
    }
    out.push(Column::new("storage_p99_ms", 3));
    out.push(Column::new("commit_p99_ms", 3));
    out
}

/// Seconds until the backup node is SYNCED at the drain rate of the last step, or 0.
fn eta(g: &Galera, drained_per_s: f64) -> f64 {
    let n = &g.nodes[g.cfg.backup_node.min(g.cfg.nodes - 1)];
    if g.catch_up_from.is_none() || g.catch_up_to.is_some() || drained_per_s <= 0.0 {
        return 0.0;
    }
    n.queue.saturating_sub(g.cfg.limits.lower) as f64 / drained_per_s
}

/// The row for the step ending `now`.
pub fn row(g: &mut Galera, s: &mut StepState, now: SimTime) -> Vec<f64> {
    let dt = as_secs_f64(now - s.at).max(1e-9);
    let paused = g.group.paused_until(now);
    let stops = g.stops_sent();
    let backup = g.cfg.backup_node.min(g.cfg.nodes - 1);
    s.applied.resize(g.cfg.nodes, 0);
    let incoming = (g.writer.committed.saturating_sub(s.committed)) as f64 / dt;
    let drained = (g.nodes[backup].applied.saturating_sub(s.applied[backup])) as f64 / dt - incoming;
    let mut out = vec![
        as_secs_f64(now),
        incoming,
        if g.cfg.writer == super::writer::Mode::Closed {
            g.writer.rate
        } else {
            g.writer.offered.saturating_sub(s.offered) as f64 / dt
        },
        // Saturating: a restart of the cluster starts its flow-control counters again from zero.
        as_secs_f64(paused.saturating_sub(s.paused)) / dt * 60.0,
        stops.saturating_sub(s.stops) as f64,
        eta(g, drained),
    ];
    for i in 0..g.cfg.nodes {
        let n = &g.nodes[i];
        let lost = g.recovery.as_ref().map_or(0, |r| r.lost_per_node()[i]);
        let unflushed = g.position(i).saturating_sub(g.durability.durable[i]);
        out.extend([
            n.queue as f64,
            (g.cfg.limits.upper + g.fc[i].fc_offset) as f64,
            n.shown.code(),
            n.applied.saturating_sub(s.applied[i]) as f64 / dt,
            unflushed as f64,
            lost as f64,
        ]);
        s.applied[i] = n.applied;
    }
    if let Some(storage) = g.storage.as_mut() {
        for (nic, disk) in storage.take_loads((now - s.at) * 1000) {
            out.extend([nic, disk]);
        }
    }
    out.push(g.lat.storage_step.quantile_us(0.99) / 1e3);
    out.push(g.lat.commit_step.quantile_us(0.99) / 1e3);
    g.lat.storage_step.clear();
    g.lat.commit_step.clear();
    *s = StepState {
        at: now,
        committed: g.writer.committed,
        offered: g.writer.offered,
        paused,
        stops,
        applied: std::mem::take(&mut s.applied),
    };
    out
}

fn p99_ms(h: &crate::histogram::Histogram) -> Value {
    if h.count() == 0 {
        Value::Null
    } else {
        json!(h.quantile_us(0.99) / 1e3)
    }
}

fn rate(from: &Mark, to: &Mark) -> f64 {
    (to.committed - from.committed) as f64 / as_secs_f64(to.at - from.at).max(1e-9)
}

/// The Percona headline.
fn percona(g: &Galera, now: SimTime) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("fc_upper_limit".into(), json!(g.cfg.limits.upper));
    m.insert("fc_lower_limit".into(), json!(g.cfg.limits.lower));
    m.insert("recv_queue_peak".into(), json!(g.nodes.iter().map(|n| n.queue_peak).max().unwrap_or(0)));
    let zero = Mark::default();
    let before = g.desync_on.unwrap_or(Mark {
        at: now,
        paused: g.group.paused_until(now),
        stops: g.stops_sent(),
        committed: g.writer.committed,
    });
    let before_rate = rate(&zero, &before);
    let (mut paused, mut stops, mut drop, mut catch) = (Value::Null, Value::Null, Value::Null, Value::Null);
    if let Some(from) = g.catch_up_from {
        let to = g.catch_up_to.unwrap_or(Mark {
            at: now,
            paused: g.group.paused_until(now),
            stops: g.stops_sent(),
            committed: g.writer.committed,
        });
        let span = as_secs_f64(to.at - from.at).max(1e-9);
        paused = json!(as_secs_f64(to.paused - from.paused) / span);
        stops = json!((to.stops - from.stops) as f64 / (span / 60.0));
        drop = json!(1.0 - rate(&from, &to) / before_rate.max(1e-9));
        catch = g.catch_up_to.map_or(Value::Null, |t| json!(as_secs_f64(t.at - from.at)));
    }
    m.insert("fc_paused_fraction".into(), paused);
    m.insert("fc_stops_per_min".into(), stops);
    m.insert("throughput_drop".into(), drop);
    m.insert("catch_up_s".into(), catch);
    m.insert("committed_per_s_before".into(), json!(before_rate));
    m
}

/// The hyperconverged headline.
fn hci(g: &Galera) -> Map<String, Value> {
    let mut m = Map::new();
    let trx = g.writer.committed.max(1) as f64;
    let (disk, net) = g.storage.as_ref().map_or((0, 0), |s| (s.disk_writes, s.network_writes));
    m.insert("writes_per_trx".into(), json!(disk as f64 / trx));
    m.insert("network_writes_per_trx".into(), json!(net as f64 / trx));
    m.insert("storage_p99_ms_baseline".into(), p99_ms(&g.lat.storage_base));
    m.insert("storage_p99_ms_bulk".into(), p99_ms(&g.lat.storage_bulk));
    m.insert("commit_p99_ms_baseline".into(), p99_ms(&g.lat.commit_base));
    m.insert("commit_p99_ms_bulk".into(), p99_ms(&g.lat.commit_bulk));
    m
}

/// The full-crash headline.
fn crash(g: &Galera) -> Map<String, Value> {
    let mut m = Map::new();
    let name = |i: usize| format!("node{}", i + 1);
    match &g.recovery {
        Some(r) => {
            m.insert("lost_trx_per_node".into(), json!(r.lost_per_node()));
            m.insert("bootstrap_node".into(), json!(name(r.bootstrap)));
            m.insert("lost_after_bootstrap".into(), json!(r.lost_after_bootstrap));
            let with =
                |k: Rejoin| -> Vec<String> { (0..r.rejoin.len()).filter(|&i| r.rejoin[i] == k).map(name).collect() };
            m.insert("sst_nodes".into(), json!(with(Rejoin::Sst)));
            m.insert("ist_nodes".into(), json!(with(Rejoin::Ist)));
            m.insert("recovered_positions".into(), json!(r.recovered));
            m.insert("grastate_seqno".into(), json!(vec![-1; r.recovered.len()]));
        }
        None => {
            for k in ["lost_trx_per_node", "bootstrap_node", "lost_after_bootstrap", "sst_nodes"] {
                m.insert(k.into(), Value::Null);
            }
        }
    }
    m
}

/// The summary: `headline` for the scenario, then the counters every scenario has.
pub fn summary(g: &Galera, now: SimTime, rows_dropped: u64) -> Map<String, Value> {
    let headline = match g.cfg.scenario {
        PERCONA => percona(g, now),
        HCI => hci(g),
        CRASH => crash(g),
        _ => Map::new(),
    };
    let mut m = Map::new();
    m.insert("headline".into(), Value::Object(headline));
    m.insert("committed".into(), json!(g.writer.committed));
    m.insert("rejected".into(), json!(g.writer.rejected));
    m.insert("fc_stops_sent".into(), json!(g.fc.iter().map(|f| f.stops_sent).collect::<Vec<_>>()));
    m.insert("fc_paused_s".into(), json!(as_secs_f64(g.group.paused_until(now))));
    m.insert("states".into(), json!(g.nodes.iter().map(|n| n.shown.name()).collect::<Vec<_>>()));
    m.insert("recv_queues".into(), json!(g.nodes.iter().map(|n| n.queue).collect::<Vec<_>>()));
    m.insert("rows_dropped".into(), json!(rows_dropped));
    m
}
