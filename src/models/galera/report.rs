//! What a Galera run reports: the row schema and one row per metrics step, and the summary with its
//! `headline` object per scenario (the figures the issue names, beside which the lesson sets the seed's).

use std::collections::VecDeque;

use serde_json::{json, Map, Value};

use super::cluster::{Galera, Mark};
use super::durability::Rejoin;
use super::keys::{CRASH, HCI, PERCONA};
use crate::engine::schema::Column;
use crate::time::{as_secs_f64, SimTime};

/// How far back the per-minute figures look: `paused_s_per_min` is the pause over the last minute, as
/// `wsrep_flow_control_paused` sampled once a minute reads (Percona's blog post's "about 23 s of every minute"),
/// and `eta_synced_s` divides by the drain rate over the same minute. A one-step figure would be 0 or 60 from
/// one step to the next (a 1 s step is either paused or not), a barcode instead of a rate.
pub const TRAILING: SimTime = 60 * crate::time::SECOND;

/// Counters at the previous row, to turn totals into per-step figures.
#[derive(Clone, Debug, Default)]
pub struct StepState {
    at: SimTime,
    committed: u64,
    offered: u64,
    stops: u64,
    applied: Vec<u64>,
    /// The counters at each row of the last [`TRAILING`] (and the one just before it), oldest first: at most
    /// `TRAILING / time step + 2` entries.
    minute: VecDeque<Minute>,
}

/// The counters the trailing-minute figures (`paused_s_per_min`, `eta_synced_s`, `committed_per_s_1m`,
/// `fc_stops_per_min`)
/// difference, at one row.
#[derive(Clone, Copy, Debug, Default)]
struct Minute {
    at: SimTime,
    paused: SimTime,
    committed: u64,
    backup_applied: u64,
    stops: u64,
}

impl StepState {
    /// Records this row's counters and returns the oldest kept, at or just before `now - TRAILING` (the run's
    /// start early on). A restart of the cluster starts its counters again from zero: the window starts over.
    fn trailing(&mut self, now: Minute) -> Minute {
        if self.minute.back().is_some_and(|b| {
            now.paused < b.paused
                || now.committed < b.committed
                || now.backup_applied < b.backup_applied
                || now.stops < b.stops
        }) {
            self.minute.clear();
        }
        if self.minute.is_empty() {
            self.minute.push_back(Minute { at: self.at, ..Minute::default() });
        }
        self.minute.push_back(now);
        while self.minute.len() > 2 && self.minute[1].at + TRAILING <= now.at {
            self.minute.pop_front();
        }
        self.minute[0]
    }
}

/// The row schema for `nodes` nodes and `hypervisors` hypervisors (0 without storage).
pub fn columns(nodes: usize, hypervisors: usize) -> Vec<Column> {
    let mut out: Vec<Column> = [
        "time_s",
        "committed_per_s",
        "offered_per_s",
        "paused_s_per_min",
        "fc_stops",
        "eta_synced_s",
        "committed_per_s_1m",
    ]
    .iter()
    .map(|n| Column::new(*n, if *n == "fc_stops" { 0 } else { 3 }))
    .collect();
    // Pause requests over the same trailing minute as the pause and the committed rate, for the picture (the
    // blog's "about 30 STOPs a minute"); JSON and charts only, so the CSV's columns stay as they were.
    out.push(Column::hidden("fc_stops_per_min", 3));
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

/// Seconds until the backup node is SYNCED at the drain rate of the last minute (`since` is where that minute
/// starts), or 0: before a whole minute of catch-up has passed there is no rate to go by (the minute before
/// desync went off drained nothing, and its tiny rate would promise millions of seconds).
fn eta(g: &Galera, drained_per_s: f64, since: SimTime) -> f64 {
    let n = &g.nodes[g.cfg.backup_node.min(g.cfg.nodes - 1)];
    let Some(from) = g.catch_up_from else { return 0.0 };
    if g.catch_up_to.is_some() || drained_per_s <= 0.0 || since < from.at {
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
    let here =
        Minute { at: now, paused, committed: g.writer.committed, backup_applied: g.nodes[backup].applied, stops };
    let from = s.trailing(here);
    let span = as_secs_f64(now - from.at).max(1e-9);
    let drained = (here.backup_applied.saturating_sub(from.backup_applied) as f64
        - here.committed.saturating_sub(from.committed) as f64)
        / span;
    let mut out = vec![
        as_secs_f64(now),
        incoming,
        if g.cfg.writer == super::writer::Mode::Closed {
            g.writer.rate
        } else {
            g.writer.offered.saturating_sub(s.offered) as f64 / dt
        },
        as_secs_f64(paused.saturating_sub(from.paused)) / span * 60.0,
        stops.saturating_sub(s.stops) as f64,
        eta(g, drained, from.at),
        here.committed.saturating_sub(from.committed) as f64 / span,
        here.stops.saturating_sub(from.stops) as f64 / span * 60.0,
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
        stops,
        applied: std::mem::take(&mut s.applied),
        minute: std::mem::take(&mut s.minute),
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
            m.insert("lost_by_choice".into(), json!(r.lost_by_choice()));
            m.insert("restarted".into(), json!(!g.writer.down));
            let with =
                |k: Rejoin| -> Vec<String> { (0..r.rejoin.len()).filter(|&i| r.rejoin[i] == k).map(name).collect() };
            m.insert("sst_nodes".into(), json!(with(Rejoin::Sst)));
            m.insert("ist_nodes".into(), json!(with(Rejoin::Ist)));
            m.insert("recovered_positions".into(), json!(r.recovered));
            m.insert("grastate_seqno".into(), json!(vec![-1; r.recovered.len()]));
        }
        None => {
            for k in ["lost_trx_per_node", "bootstrap_node", "lost_after_bootstrap", "lost_by_choice", "sst_nodes"] {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECOND;

    /// Feeds one row a second in which the cluster is paused one second in three, and returns the figure each
    /// row reports with the kept window's length.
    fn minute_figures(rows: u64) -> Vec<(f64, usize)> {
        let mut s = StepState::default();
        let mut paused = 0;
        (1..=rows)
            .map(|t| {
                if t % 3 == 0 {
                    paused += SECOND;
                }
                let here = Minute { at: t * SECOND, paused, committed: t * 100, backup_applied: t * 100, stops: t };
                let from = s.trailing(here);
                s.at = here.at;
                (as_secs_f64(paused - from.paused) / as_secs_f64(here.at - from.at) * 60.0, s.minute.len())
            })
            .collect()
    }

    #[test]
    fn paused_one_second_in_three_reads_twenty_seconds_a_minute_once_a_minute_has_passed() {
        let figures = minute_figures(600);
        // Any 60 consecutive one-second steps hold exactly 20 paused ones.
        for (i, (f, _)) in figures.iter().enumerate().skip(59) {
            assert!((f - 20.0).abs() < 1e-9, "row {}: {f} s a minute", i + 1);
        }
        // The window keeps one row per second of the minute and the one just before it, never more.
        assert!(figures.iter().all(|(_, kept)| *kept <= 62), "{:?}", figures.iter().map(|f| f.1).max());
    }

    #[test]
    fn a_restart_of_the_counters_starts_the_window_again() {
        let mut s = StepState::default();
        for t in 1..=100 {
            s.trailing(Minute { at: t * SECOND, paused: t * SECOND / 2, committed: t, backup_applied: t, stops: t });
            s.at = t * SECOND;
        }
        // The cluster restarted at 100 s: its counters read from zero again.
        let from = s.trailing(Minute { at: 101 * SECOND, paused: 0, committed: 1, backup_applied: 1, stops: 1 });
        assert_eq!((from.at, from.paused, from.committed), (100 * SECOND, 0, 0));
    }
}
