//! The Galera group: the nodes, the writer on node1, flow control, storage and durability wired together, with
//! the model's closed event enum and its handlers. Parts never call each other; each returns an outcome and the
//! handlers here decide what follows (an FC message, a tick, a wake-up).

use super::commands::Command;
use super::config::{Config, Stalls};
use super::durability::{Durability, Recovery};
use super::flow_control::{GroupFc, NodeFc, PauseChange};
use super::node::{GcsState, Node};
use super::storage::{Spread, Storage};
use super::writer::Writer;
use crate::engine::Ctx;
use crate::histogram::Histogram;
use crate::rng::Rng;
use crate::time::{SimTime, SECOND};

/// The model's events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// The writer commits a batch.
    Tick { gen: u32 },
    /// A batch of writesets reaches every other node, in total order.
    Deliver { first: u64, count: u32, span_us: u32, epoch: u16 },
    /// A flow-control message reaches the group.
    Fc { node: u8, stop: bool, conf: u32 },
    /// A node's JOIN message reaches the group: gcs JOINED.
    Join { node: u8, conf: u32 },
    /// A node's SYNC message reaches the group: SYNCED.
    Sync { node: u8, conf: u32 },
    /// A node's applier starts or ends a stall.
    Phase { node: u8, gen: u32 },
    /// A draining queue reaches a level that matters.
    Wake { node: u8, gen: u32 },
    /// A node's once-per-interval log flush.
    Flush { node: u8 },
    /// A bulk push ends.
    BulkEnd { gen: u32 },
    /// A metrics step ends.
    Step,
}

/// What the catch-up figures are measured from.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mark {
    /// When.
    pub at: SimTime,
    /// Paused time by then, µs.
    pub paused: SimTime,
    /// STOPs sent by then.
    pub stops: u64,
    /// Commits by then.
    pub committed: u64,
}

/// Latency histograms, split by whether a bulk push was running.
#[derive(Clone, Debug, Default)]
pub struct Latencies {
    /// Storage writes outside bulk pushes.
    pub storage_base: Histogram,
    /// Storage writes during bulk pushes.
    pub storage_bulk: Histogram,
    /// Commits outside bulk pushes.
    pub commit_base: Histogram,
    /// Commits during bulk pushes.
    pub commit_bulk: Histogram,
    /// Storage writes of the current step.
    pub storage_step: Histogram,
    /// Commits of the current step.
    pub commit_step: Histogram,
}

/// The whole model's state.
pub struct Galera {
    /// Its configuration.
    pub cfg: Config,
    /// The nodes; node1 (index 0) is the writer's.
    pub nodes: Vec<Node>,
    /// Each node's flow-control side.
    pub fc: Vec<NodeFc>,
    /// The group's flow-control side.
    pub group: GroupFc,
    /// The writer.
    pub writer: Writer,
    /// Storage, in the hyperconverged scenario.
    pub storage: Option<Storage>,
    /// Flush clocks.
    pub durability: Durability,
    /// The last crash's outcome.
    pub recovery: Option<Recovery>,
    /// Latency histograms.
    pub lat: Latencies,
    /// Configuration id: FC, JOIN and SYNC messages of an older one are ignored (gcs.cpp's `conf_id`).
    pub conf: u32,
    /// Restart epoch: deliveries sent before a crash are dropped.
    pub epoch: u16,
    /// Deliveries refused because they were not the next seqnos (a lost or duplicated writeset).
    pub seq_errors: u64,
    /// Writesets lost from receive queues by crashes.
    pub dropped_in_crash: u64,
    /// When desync was first turned on, and when the backup node's catch-up began and ended.
    pub desync_on: Option<Mark>,
    /// Desync turned off on the backup node.
    pub catch_up_from: Option<Mark>,
    /// The backup node became SYNCED again.
    pub catch_up_to: Option<Mark>,
    /// The writer's rate outside bulk pushes.
    pub base_rate: f64,
    /// A bulk push is running.
    pub bulk_on: bool,
    bulk_gen: u32,
    rngs: Vec<Rng>,
    boot_rng: Rng,
}

fn stalls_for(cfg: &Config) -> bool {
    cfg.stalls != Stalls::None
}

impl Galera {
    /// A group as configured, every node SYNCED and empty.
    pub fn new(cfg: Config, seed: u64) -> Galera {
        let (stalls, always) = (stalls_for(&cfg), cfg.stalls == Stalls::Always);
        let nodes = (0..cfg.nodes).map(|_| Node::new(cfg.mu, stalls, always)).collect();
        let storage = cfg.storage.map(|(shape, nic, iops, bytes)| Storage::new(shape, nic, iops, bytes));
        let writer = Writer::new(cfg.writer, cfg.write_rate, cfg.threads, cfg.client_backlog, cfg.batch);
        Galera {
            fc: vec![NodeFc::default(); cfg.nodes],
            group: GroupFc::default(),
            durability: Durability::new(cfg.nodes, cfg.trx_commit, cfg.sync_binlog),
            rngs: (0..cfg.nodes).map(|i| Rng::from_parts(seed, 100 + i as u64)).collect(),
            boot_rng: Rng::from_parts(seed, 99),
            base_rate: cfg.write_rate,
            nodes,
            storage,
            writer,
            recovery: None,
            lat: Latencies::default(),
            conf: 0,
            epoch: 0,
            seq_errors: 0,
            dropped_in_crash: 0,
            desync_on: None,
            catch_up_from: None,
            catch_up_to: None,
            bulk_on: false,
            bulk_gen: 0,
            cfg,
        }
    }

    /// The first events: the writer, the appliers' phase clocks, the flush clocks, the bulk pushes, the rows.
    pub fn start(&mut self, ctx: &mut Ctx<Event>) {
        ctx.push(0, Event::Tick { gen: self.writer.gen });
        for i in 0..self.cfg.nodes {
            if stalls_for(&self.cfg) {
                let up = self.rngs[i].exponential(self.cfg.up_mean_s);
                ctx.push(secs(up), Event::Phase { node: i as u8, gen: 0 });
            }
            let phase = self.rngs[i].below(self.cfg.flush_interval);
            ctx.push(phase, Event::Flush { node: i as u8 });
        }
        ctx.push(self.cfg.time_step, Event::Step);
    }

    /// True when node `i`'s gcs state takes part in flow control (state ≤ max_fc_state).
    pub fn fc_state(&self, i: usize) -> bool {
        let max = if self.cfg.sync_donor { GcsState::Donor } else { GcsState::Joined };
        self.nodes[i].gcs <= max
    }

    /// STOPs sent by every node.
    pub fn stops_sent(&self) -> u64 {
        self.fc.iter().map(|f| f.stops_sent).sum()
    }

    /// A node's position: commits it has made (node1: committed; others: applied).
    pub fn position(&self, i: usize) -> u64 {
        if i == 0 {
            self.writer.committed
        } else {
            self.nodes[i].applied
        }
    }

    fn mark(&self, now: SimTime) -> Mark {
        Mark {
            at: now,
            paused: self.group.paused_until(now),
            stops: self.stops_sent(),
            committed: self.writer.committed,
        }
    }

    /// The most writesets the writer may commit now so that no node's queue crosses its STOP level inside the
    /// batch (each queue projected to now, and every writeset in flight counted as already there).
    fn batch_limit(&self, now: SimTime) -> u64 {
        let mut limit = u64::MAX;
        for i in 1..self.cfg.nodes {
            if self.nodes[i].gcs == GcsState::Down || !self.fc_state(i) {
                continue;
            }
            let level = self.cfg.limits.upper + self.fc[i].fc_offset + 1;
            let inflight = self.writer.committed - self.nodes[i].received;
            limit = limit.min(level.saturating_sub(self.nodes[i].projected(now) + inflight));
        }
        limit.max(1)
    }

    /// Brings node `i`'s applier up to now; a dequeue runs gcs's CONT and SYNC checks.
    fn touch(&mut self, ctx: &mut Ctx<Event>, i: usize) {
        if self.nodes[i].advance(ctx.now()) == 0 {
            return;
        }
        let queue = self.nodes[i].queue;
        let fc_state = self.fc_state(i);
        if self.fc[i].on_dequeue(queue, self.cfg.limits, fc_state) {
            self.send_fc(ctx, i, false);
        }
        self.maybe_sync(ctx, i);
    }

    fn maybe_sync(&mut self, ctx: &mut Ctx<Event>, i: usize) {
        let n = &mut self.nodes[i];
        if n.gcs == GcsState::Joined && !n.sync_sent && self.cfg.limits.lower >= n.queue {
            n.sync_sent = true;
            ctx.after(self.cfg.delivery, Event::Sync { node: i as u8, conf: self.conf });
        }
    }

    fn send_fc(&mut self, ctx: &mut Ctx<Event>, i: usize, stop: bool) {
        ctx.after(self.cfg.delivery, Event::Fc { node: i as u8, stop, conf: self.conf });
    }

    /// Schedules node `i`'s next wake-up: the first level a draining queue reaches among CONT, SYNC and the JOIN
    /// action. An earlier wake-up already pending is kept (arrivals only delay a crossing; it re-arms itself).
    fn arm_wake(&mut self, ctx: &mut Ctx<Event>, i: usize) {
        let n = &self.nodes[i];
        let cont = if self.fc_state(i) { self.fc[i].cont_level(self.cfg.limits) } else { None };
        let sync = (n.gcs == GcsState::Joined && !n.sync_sent).then_some(self.cfg.limits.lower);
        let level = [cont, sync, n.join_level()].into_iter().flatten().max();
        let Some(at) = level.and_then(|l| n.time_to_reach(l, ctx.now())) else { return };
        if n.wake_at.is_some_and(|w| w >= ctx.now() && w <= at) {
            return;
        }
        let n = &mut self.nodes[i];
        n.wake_gen = n.wake_gen.wrapping_add(1);
        n.wake_at = Some(at);
        ctx.push(at, Event::Wake { node: i as u8, gen: n.wake_gen });
    }

    fn on_tick(&mut self, ctx: &mut Ctx<Event>, gen: u32) {
        if gen != self.writer.gen {
            return;
        }
        let limit = self.batch_limit(ctx.now());
        let tick = self.writer.tick(ctx.now(), limit);
        if tick.count > 0 {
            self.commit(ctx, tick.first, tick.count, tick.span_us);
        }
        if let Some(next) = tick.next {
            ctx.push(next, Event::Tick { gen });
        }
    }

    fn commit(&mut self, ctx: &mut Ctx<Event>, first: u64, count: u64, span_us: u64) {
        let origin = &mut self.nodes[0];
        origin.received += count;
        origin.applied += count;
        if self.storage.is_some() {
            self.record_storage(ctx.now(), count);
        }
        if self.cfg.nodes > 1 {
            ctx.after(
                self.cfg.delivery,
                Event::Deliver {
                    first,
                    count: count as u32,
                    span_us: span_us.min(u32::MAX as u64) as u32,
                    epoch: self.epoch,
                },
            );
        }
    }

    fn record_storage(&mut self, now: SimTime, count: u64) {
        let Some(storage) = self.storage.as_mut() else { return };
        let at_ns = now * 1000;
        let spreads: Vec<Spread> = (0..self.cfg.nodes).map(|i| storage.commit(i, at_ns, count)).collect();
        let writes = self.durability.commit_writes();
        // A push's writes, and those still queued behind its backlog after it ends, count as "bulk".
        let behind = storage.hyps.iter().any(|h| h.egress.backlog_ns(at_ns) > 1_000_000);
        let (s_all, c_all) = if self.bulk_on || behind {
            (&mut self.lat.storage_bulk, &mut self.lat.commit_bulk)
        } else {
            (&mut self.lat.storage_base, &mut self.lat.commit_base)
        };
        for (i, s) in spreads.iter().enumerate() {
            for k in 0..s.writes {
                let ns = s.first_ns + (s.last_ns - s.first_ns) * k / s.writes.max(2).saturating_sub(1).max(1);
                s_all.record(ns / 1000);
                self.lat.storage_step.record(ns / 1000);
                if i == 0 && k % self.cfg.storage.map_or(1, |c| c.0.files_per_trx) == 0 {
                    let commit_us = self.cfg.cert + writes * ns / 1000;
                    c_all.record(commit_us);
                    self.lat.commit_step.record(commit_us);
                }
            }
        }
    }

    fn on_deliver(&mut self, ctx: &mut Ctx<Event>, first: u64, count: u64, span_us: u64, epoch: u16) {
        if epoch != self.epoch {
            return;
        }
        for i in 1..self.cfg.nodes {
            if self.nodes[i].gcs == GcsState::Down {
                continue;
            }
            self.touch(ctx, i);
            if !self.nodes[i].enqueue(first, count, span_us) {
                self.seq_errors += 1;
                continue;
            }
            let (queue, fc_state) = (self.nodes[i].queue, self.fc_state(i));
            if self.fc[i].on_enqueue(queue, self.cfg.limits, self.group.stop_count > 0, fc_state) {
                self.send_fc(ctx, i, true);
            }
            self.arm_wake(ctx, i);
        }
    }

    fn on_fc(&mut self, ctx: &mut Ctx<Event>, stop: bool, conf: u32) {
        if conf != self.conf {
            return;
        }
        match self.group.deliver(stop, ctx.now()) {
            PauseChange::Paused => {
                self.writer.pause(ctx.now());
            }
            PauseChange::Resumed => {
                let at = self.writer.resume(ctx.now());
                ctx.push(at, Event::Tick { gen: self.writer.gen });
            }
            PauseChange::Unchanged => {}
        }
    }

    fn on_join(&mut self, ctx: &mut Ctx<Event>, i: usize) {
        if self.nodes[i].gcs != GcsState::Donor || self.nodes[i].desync {
            return;
        }
        self.touch(ctx, i);
        let n = &mut self.nodes[i];
        n.gcs = GcsState::Joined;
        n.join_marker = Some(n.applied + n.queue);
        self.fc[i].fc_offset = n.queue;
        self.maybe_sync(ctx, i);
        self.arm_wake(ctx, i);
    }

    fn on_sync(&mut self, ctx: &mut Ctx<Event>, i: usize) {
        if self.nodes[i].gcs != GcsState::Joined {
            return;
        }
        self.touch(ctx, i);
        let n = &mut self.nodes[i];
        n.gcs = GcsState::Synced;
        n.shown = GcsState::Synced;
        n.sync_sent = false;
        n.join_marker = None;
        self.fc[i].fc_offset = 0;
        if i == self.cfg.backup_node && self.catch_up_from.is_some() && self.catch_up_to.is_none() {
            self.catch_up_to = Some(self.mark(ctx.now()));
        }
    }

    fn on_phase(&mut self, ctx: &mut Ctx<Event>, i: usize, gen: u32) {
        if gen != self.nodes[i].phase_gen {
            return;
        }
        self.touch(ctx, i);
        let n = &mut self.nodes[i];
        n.stalled = !n.stalled;
        let mean = if n.stalled { self.cfg.stall_mean_s } else { self.cfg.up_mean_s };
        ctx.after(secs(self.rngs[i].exponential(mean)), Event::Phase { node: i as u8, gen });
        self.arm_wake(ctx, i);
    }

    fn on_wake(&mut self, ctx: &mut Ctx<Event>, i: usize, gen: u32) {
        if gen != self.nodes[i].wake_gen {
            return;
        }
        self.nodes[i].wake_at = None;
        self.touch(ctx, i);
        self.arm_wake(ctx, i);
    }

    fn on_flush(&mut self, ctx: &mut Ctx<Event>, i: usize) {
        if self.nodes[i].gcs != GcsState::Down {
            self.touch(ctx, i);
            let position = self.position(i);
            self.durability.flush(i, position);
        }
        ctx.after(self.cfg.flush_interval, Event::Flush { node: i as u8 });
    }

    fn start_bulk(&mut self, ctx: &mut Ctx<Event>) {
        let Some((_, _, rows, rate)) = self.cfg.bulk else { return };
        self.bulk_on = true;
        self.bulk_gen = self.bulk_gen.wrapping_add(1);
        self.writer.set_rate(self.base_rate + rate, ctx.now());
        ctx.push(ctx.now(), Event::Tick { gen: self.writer.gen });
        ctx.after(secs(rows / rate), Event::BulkEnd { gen: self.bulk_gen });
    }

    fn stop_bulk(&mut self, ctx: &mut Ctx<Event>) {
        self.bulk_on = false;
        self.bulk_gen = self.bulk_gen.wrapping_add(1);
        self.writer.set_rate(self.base_rate, ctx.now());
        ctx.push(ctx.now(), Event::Tick { gen: self.writer.gen });
    }

    /// Dispatches one event.
    pub fn on_event(&mut self, ctx: &mut Ctx<Event>, e: Event) {
        match e {
            Event::Tick { gen } => self.on_tick(ctx, gen),
            Event::Deliver { first, count, span_us, epoch } => {
                self.on_deliver(ctx, first, count as u64, span_us as u64, epoch)
            }
            Event::Fc { stop, conf, .. } => self.on_fc(ctx, stop, conf),
            Event::Join { node, conf } if conf == self.conf => self.on_join(ctx, node as usize),
            Event::Sync { node, conf } if conf == self.conf => self.on_sync(ctx, node as usize),
            Event::Join { .. } | Event::Sync { .. } => {}
            Event::Phase { node, gen } => self.on_phase(ctx, node as usize, gen),
            Event::Wake { node, gen } => self.on_wake(ctx, node as usize, gen),
            Event::Flush { node } => self.on_flush(ctx, node as usize),
            Event::BulkEnd { gen } if gen == self.bulk_gen => self.stop_bulk(ctx),
            Event::BulkEnd { .. } => {}
            Event::Step => {} // rows are taken by the shell (mod.rs), which owns the row buffer
        }
    }

    /// Applies a validated command.
    pub fn on_command(&mut self, ctx: &mut Ctx<Event>, c: &Command) {
        match *c {
            Command::DesyncOn(i) => self.desync_on(ctx, i),
            Command::DesyncOff(i) => {
                self.nodes[i].desync = false;
                if i == self.cfg.backup_node && self.catch_up_from.is_none() {
                    self.catch_up_from = Some(self.mark(ctx.now()));
                }
                ctx.after(self.cfg.delivery, Event::Join { node: i as u8, conf: self.conf });
            }
            Command::Ftwrl(i) | Command::Unlock(i) => {
                self.touch(ctx, i);
                self.nodes[i].locked = matches!(c, Command::Ftwrl(_));
                self.arm_wake(ctx, i);
            }
            Command::CrashAll => self.crash_all(ctx),
            Command::RestartAll => self.restart_all(ctx),
            Command::Bootstrap(i) => {
                if let Some(r) = self.recovery.as_mut().filter(|_| self.writer.down) {
                    r.bootstrap_from(i);
                }
                self.restart_all(ctx);
            }
            Command::BulkStart => self.start_bulk(ctx),
            Command::BulkStop => self.stop_bulk(ctx),
            Command::WriteRate(r) => {
                self.base_rate = r;
                let bulk = if self.bulk_on { self.cfg.bulk.map_or(0.0, |b| b.3) } else { 0.0 };
                self.writer.set_rate(r + bulk, ctx.now());
                ctx.push(ctx.now(), Event::Tick { gen: self.writer.gen });
            }
        }
    }

    fn desync_on(&mut self, ctx: &mut Ctx<Event>, i: usize) {
        self.touch(ctx, i);
        if self.desync_on.is_none() {
            self.desync_on = Some(self.mark(ctx.now()));
        }
        let n = &mut self.nodes[i];
        n.desync = true;
        if n.gcs <= GcsState::Joined {
            n.gcs = GcsState::Donor;
            n.shown = GcsState::Donor;
            n.join_marker = None;
            n.sync_sent = false;
            // gcs_become_donor releases this node's STOP unless donors take part in flow control.
            if !self.cfg.sync_donor && self.fc[i].release() {
                self.send_fc(ctx, i, false);
            }
        }
    }

    fn crash_all(&mut self, ctx: &mut Ctx<Event>) {
        if self.writer.down {
            return;
        }
        for i in 0..self.cfg.nodes {
            self.touch(ctx, i);
        }
        let before: Vec<u64> = (0..self.cfg.nodes).map(|i| self.position(i)).collect();
        let pick = self.boot_rng.below(self.cfg.nodes as u64) as usize;
        let r = self.durability.crash(&before, self.writer.committed, self.cfg.crash_kind, self.cfg.bootstrap, pick);
        self.recovery = Some(r);
        for n in &mut self.nodes {
            self.dropped_in_crash += n.drop_queue();
            n.gcs = GcsState::Down;
            n.shown = GcsState::Down;
        }
        self.writer.down = true;
        self.writer.gen = self.writer.gen.wrapping_add(1);
        self.group.reset(ctx.now());
        self.conf += 1;
        self.epoch = self.epoch.wrapping_add(1);
    }

    fn restart_all(&mut self, ctx: &mut Ctx<Event>) {
        let Some(r) = self.recovery.as_ref().filter(|_| self.writer.down) else { return };
        let position = r.recovered[r.bootstrap];
        for n in &mut self.nodes {
            n.restart_at(position, ctx.now());
        }
        self.fc = vec![NodeFc::default(); self.cfg.nodes];
        self.durability.durable = vec![position; self.cfg.nodes];
        self.writer.restart_at(position);
        self.writer.set_rate(self.writer.rate, ctx.now());
        self.conf += 1;
        ctx.push(ctx.now(), Event::Tick { gen: self.writer.gen });
    }

    /// Why a command cannot apply now, if it cannot.
    pub fn validate(&self, c: &Command) -> Result<(), String> {
        if let Command::Bootstrap(i) = *c {
            if i >= self.cfg.nodes {
                return Err(format!("node{} does not exist; nodes is {}", i + 1, self.cfg.nodes));
            }
            // Before the crash it may be scheduled ahead (a link replays it); once the cluster runs again after
            // a restart there is nothing to bootstrap.
            if let Some(r) = self.recovery.as_ref().filter(|_| !self.writer.down) {
                return Err(format!(
                    "the cluster already restarted from node{}; go back a step to replay the run and choose again",
                    r.bootstrap + 1
                ));
            }
        }
        let node = match *c {
            Command::DesyncOn(i) | Command::DesyncOff(i) | Command::Ftwrl(i) | Command::Unlock(i) => Some(i),
            _ => None,
        };
        if let Some(i) = node {
            if i >= self.cfg.nodes {
                return Err(format!("node{} does not exist; nodes is {}", i + 1, self.cfg.nodes));
            }
            if self.nodes[i].gcs == GcsState::Down {
                return Err(format!("node{} is down; restart-all first", i + 1));
            }
        }
        // crash-all on a crashed cluster and restart-all on a running one change nothing (they may be
        // scheduled before the state they need exists, so they are not refused).
        match *c {
            Command::WriteRate(r) if !(0.0..=1e6).contains(&r) => {
                Err(format!("write-rate {r} is out of range; expected 0 to 1000000 trx/s"))
            }
            _ => Ok(()),
        }
    }

    /// Every conservation law and bound; the first violation.
    pub fn check(&self) -> Result<(), String> {
        if self.seq_errors > 0 {
            return Err(format!("{} delivery(ies) out of seqno order: a writeset lost or duplicated", self.seq_errors));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if n.applied + n.queue != n.received {
                return Err(format!(
                    "node{}: applied {} + queued {} != received {}",
                    i + 1,
                    n.applied,
                    n.queue,
                    n.received
                ));
            }
            if n.gcs != GcsState::Down && n.received > self.writer.committed {
                return Err(format!("node{} received {} of {} committed", i + 1, n.received, self.writer.committed));
            }
            if n.queue > super::node::MAX_RECV_QUEUE {
                return Err(format!("node{} queue {} over its bound", i + 1, n.queue));
            }
        }
        if self.nodes[0].queue != 0 {
            return Err("node1 queues its own writesets".into());
        }
        if self.group.stop_count < 0 || self.group.stop_count > self.cfg.nodes as i64 {
            return Err(format!("stop_count {} outside 0..={}", self.group.stop_count, self.cfg.nodes));
        }
        if self.writer.pending > self.cfg.client_backlog.max(self.cfg.threads) {
            return Err(format!("writer backlog {} over its bound", self.writer.pending));
        }
        self.writer.check()
    }
}

/// Seconds (a drawn duration) as µs, at least 1.
fn secs(s: f64) -> SimTime {
    crate::time::from_secs_f64(s).max(1)
}

/// One second, µs (for rates).
pub const ONE_SECOND: f64 = SECOND as f64;

#[cfg(test)]
mod tests {
    //! The checker itself: a healthy state passes, and each law, broken by hand, is reported by name.
    use super::super::keys::{CRASH, PERCONA};
    use super::super::{build_engine, GaleraRun};
    use super::Galera;
    use crate::engine::scenario::RunSpec;
    use crate::engine::Engine;

    fn engine(scenario: &str, pairs: &[(&str, &str)], duration_s: f64) -> Engine<GaleraRun> {
        let sets = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let def = super::super::SCENARIOS.iter().find(|d| d.name == scenario).unwrap();
        let spec = RunSpec { sets, seed: 2, duration_s: Some(duration_s), ..RunSpec::default() };
        build_engine(def, &spec).unwrap()
    }

    /// Steps until `ready`, checking every law after each event; the state must then still pass.
    fn step_until(mut e: Engine<GaleraRun>, ready: impl Fn(&Galera) -> bool) -> Engine<GaleraRun> {
        for _ in 0..5_000_000 {
            if ready(&e.model().g) {
                return e;
            }
            assert!(e.step_event(), "the run ended first");
            assert_eq!(e.model().g.check(), Ok(()), "at {} µs", e.now());
        }
        panic!("never reached the state");
    }

    /// percona-desync with an open writer and a backlog of 50: node3 desynced and locked from 1 s to 3 s, then
    /// catching up under flow control, so the group pauses, arrivals wait and overflow is rejected, while
    /// node2 and node3 hold writesets in their queues.
    fn paused_open_writer() -> Engine<GaleraRun> {
        let pairs = [
            ("writer", "open"),
            ("client_backlog", "50"),
            ("desync_at", "1"),
            ("ftwrl_at", "1"),
            ("unlock_at", "3"),
            ("desync_off_at", "4"),
        ];
        step_until(engine(PERCONA, &pairs, 600.0), |g| {
            g.writer.paused_since.is_some()
                && g.writer.pending > 0
                && g.writer.rejected > 0
                && g.group.stop_count > 0
                && g.nodes[1].queue > 0
                && g.nodes[2].queue > 0
        })
    }

    /// Each corruption with the words its report must contain.
    /// A change to a healthy state, named by the words its checker's report must hold (or, at a bound, by what it
    /// sets).
    type Change = (&'static str, fn(&mut Galera));

    const CORRUPTIONS: &[Change] = &[
        ("out of seqno order", |g| g.seq_errors = 1),
        ("node2: applied", |g| g.nodes[1].applied += 1),
        ("node3: applied", |g| g.nodes[2].queue -= 1),
        ("node2 received", |g| {
            g.nodes[1].received = g.writer.committed + 1;
            g.nodes[1].queue = g.nodes[1].received - g.nodes[1].applied;
        }),
        ("node3 queue", |g| {
            let over = super::super::node::MAX_RECV_QUEUE + 1;
            (g.nodes[2].queue, g.nodes[2].applied, g.nodes[2].received) = (over, 0, over);
            g.writer.committed = over;
            g.writer.offered += over;
        }),
        ("node1 queues its own", |g| {
            g.nodes[0].queue += 1;
            g.nodes[0].applied -= 1;
        }),
        // One STOP more than nodes: the bound is the node count (each node has at most one STOP out).
        ("stop_count 4 outside 0..=3", |g| g.group.stop_count = 4),
        ("stop_count -1 outside", |g| g.group.stop_count = -1),
        ("writer backlog 51 over its bound", |g| {
            g.writer.pending = 51;
            g.writer.offered = g.writer.committed + 51 + g.writer.rejected;
        }),
        ("writer's transactions not conserved", |g| g.writer.rejected -= 1),
        ("writer's transactions not conserved", |g| g.writer.offered += 1),
    ];

    #[test]
    fn every_corrupted_invariant_is_reported() {
        let healthy = paused_open_writer();
        assert_eq!(healthy.model().g.check(), Ok(()), "the healthy state fails");
        for (words, corrupt) in CORRUPTIONS {
            let mut e = paused_open_writer();
            corrupt(&mut e.model_mut_for_output().g);
            match e.model().g.check() {
                Ok(()) => panic!("corruption '{words}' passed the checker"),
                Err(err) => assert!(err.contains(words), "corruption '{words}' reported as: {err}"),
            }
        }
    }

    /// Each bound is inclusive: a state exactly at it is legal (every node with its STOP out, a queue at its
    /// bound, a full client backlog), so a checker that refused the bound itself would stop valid runs.
    #[test]
    fn states_exactly_at_each_bound_pass() {
        const AT_BOUNDS: &[Change] = &[
            ("every node has its STOP out", |g| g.group.stop_count = g.cfg.nodes as i64),
            ("node3's queue at its bound", |g| {
                let at = super::super::node::MAX_RECV_QUEUE;
                (g.nodes[2].queue, g.nodes[2].applied, g.nodes[2].received) = (at, 0, at);
                for n in [0, 1] {
                    (g.nodes[n].received, g.nodes[n].applied, g.nodes[n].queue) = (at, at, 0);
                }
                g.writer.offered += at - g.writer.committed;
                g.writer.committed = at;
            }),
        ];
        for (words, set) in AT_BOUNDS {
            let mut e = paused_open_writer();
            set(&mut e.model_mut_for_output().g);
            assert_eq!(e.model().g.check(), Ok(()), "{words}");
        }
    }

    /// Through a power loss and the restart: commits past the recovered position and the waiting ones are
    /// lost, and counted, so every law holds after every event.
    #[test]
    fn a_crash_and_restart_keep_every_law() {
        let e = engine(CRASH, &[("crash_at", "5"), ("writer", "open"), ("fault", "restart-all@8")], 20.0);
        let e = step_until(e, |g| g.writer.lost > 0 && g.writer.committed > 0 && !g.writer.down);
        assert_eq!(e.model().g.check(), Ok(()));
    }
}
