//! The discrete-event engine: requests arrive, take an app worker, connect to a database server, run one query and
//! close the connection.
//!
//! `Sim` owns all mutable state (turmoil's `World`). One event queue ordered by (time, sequence) drives it, and a
//! single `match` in [`Sim::step_event`] dispatches each event to an `on_*` handler. Timers that can be overtaken
//! (a connect or query whose connection is lost in a crash, an arrival after a rate change) carry a generation
//! number and are ignored when stale. Nothing here reads a clock, touches IO or iterates a hash map.
//!
//! The request path follows EventSimulator (REFERENCE §1): pick a host uniformly; go to the primary with
//! probability `primary_fraction`, else ask the host's controller for a replica; open a new connection (active
//! from the attempt, so waiting connects count); on a failed connect re-pick among the servers not yet tried; run
//! the query; close.

use std::collections::VecDeque;

use crate::command::{Command, Fault, Operator};
use crate::config::{limits, Capacity, Config, LatencyDist, Role};
use crate::controller::{Candidate, Controller, HostView, ProbeResult, StaticWeights};
use crate::engine::{Ctx, Engine, Model};
use crate::histogram::Histogram;
use crate::metrics::{ServerStep, StepRow, Summary};
use crate::rng::{self, Rng, Stream};
use crate::time::{as_secs_f64, SimDuration, SimTime};

/// Longest single query or connect wait the engine schedules, µs (about 11.6 days); longer ones are clamped.
const MAX_WAIT: SimDuration = 1_000_000_000_000;

#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// The next Poisson arrival; stale if the arrival generation moved on (rate change).
    Arrival { gen: u32 },
    /// A connect attempt resolves: `ok` after one round trip; not ok after a refusal or the connect timeout.
    ConnectDone { req: u32, gen: u32, ok: bool },
    /// A query finishes and its connection closes.
    QueryDone { req: u32, gen: u32 },
    /// The end of a metrics time step.
    StepEnd,
    /// Recomputes configured loads while an operator ramp (drain, repool, cold ramp) is under way.
    RampTick,
}

impl Event {
    /// A word identifying the event for the trace hash.
    fn trace_word(&self) -> u64 {
        match *self {
            Event::Arrival { gen } => 1 | (gen as u64) << 8,
            Event::ConnectDone { req, gen, ok } => 2 | (ok as u64) << 4 | (req as u64) << 8 | (gen as u64) << 40,
            Event::QueryDone { req, gen } => 3 | (req as u64) << 8 | (gen as u64) << 40,
            Event::StepEnd => 4,
            Event::RampTick => 6,
        }
    }
}

/// Where a request is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The slab slot is unused.
    Free,
    /// Waiting in its host's listen backlog for a worker.
    Backlog,
    /// Holding a worker, choosing a server (only within one event: it connects or ends before the next).
    Starting,
    /// Holding a worker; a connect attempt to `server` is under way.
    Connecting,
    /// Connected; waiting for a free slot on the server.
    Queued,
    /// Connected; its query is running.
    Querying,
}

#[derive(Clone, Copy, Debug)]
struct Request {
    gen: u32,
    phase: Phase,
    /// A gauge connection asked for by the host's controller, not a user request: it holds no worker and is
    /// not counted in the request totals.
    probe: bool,
    /// What the probe's PROCESSLIST count found.
    probe_count: u32,
    host: u32,
    server: u16,
    attempts: u16,
    to_primary: bool,
    /// Position in the server's `conns` list while connecting or connected.
    conn_index: u32,
    /// Servers already tried by this request (bit i = server i).
    tried: u64,
    arrived_at: SimTime,
    conn_started: SimTime,
    /// Next free slot, while this one is free.
    next_free: u32,
}

const NO_SLOT: u32 = u32::MAX;

/// How a server answers a connect right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectMode {
    /// Accepts within one round trip (unless at `max_connections`).
    Accept,
    /// No answer: the attempt hangs for the connect timeout, then fails.
    Blackhole,
    /// Refused within one round trip.
    Refuse,
}

#[derive(Clone, Copy, Debug)]
struct ColdRamp {
    start: SimTime,
    from_fraction: f64,
    warmup: SimDuration,
}

struct ServerState {
    connect_mode: ConnectMode,
    crashed: bool,
    slow_factor: f64,
    cold: Option<ColdRamp>,
    /// Requests with a connection open or opening here; its length is the active connection count.
    conns: Vec<u32>,
    busy_slots: u32,
    queue: VecDeque<u32>,
    /// Integral of `conns.len()` over the current step, connection·µs.
    conn_area: u128,
    last_change: SimTime,
    total_conns: u64,
    probe_conns: u64,
    failed_conns: u64,
    work_count: u64,
    latency: Histogram,
}

impl ServerState {
    fn new() -> ServerState {
        ServerState {
            connect_mode: ConnectMode::Accept,
            crashed: false,
            slow_factor: 1.0,
            cold: None,
            conns: Vec::new(),
            busy_slots: 0,
            queue: VecDeque::new(),
            conn_area: 0,
            last_change: 0,
            total_conns: 0,
            probe_conns: 0,
            failed_conns: 0,
            work_count: 0,
            latency: Histogram::new(),
        }
    }

    /// Accumulates the connection-time area up to `now`; call before every change of `conns`.
    fn touch(&mut self, now: SimTime) {
        self.conn_area += self.conns.len() as u128 * (now - self.last_change) as u128;
        self.last_change = now;
    }
}

struct HostState {
    busy_workers: u32,
    backlog: VecDeque<u32>,
    /// This host's connections open or opening, per server.
    in_flight: Vec<u32>,
    /// Every replica as a pick candidate, with this host's in-flight count kept current in place, so the first
    /// pick of a request (the common case) hands the controller this slice without building anything.
    replicas: Vec<Candidate>,
}

impl HostState {
    fn add_in_flight(&mut self, server: usize, replica_pos: Option<u16>, delta: i32) {
        self.in_flight[server] = self.in_flight[server].wrapping_add_signed(delta);
        if let Some(pos) = replica_pos {
            self.replicas[pos as usize].in_flight = self.in_flight[server];
        }
    }
}

/// How a request ended, for the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Completed,
    /// No server left to try, or the query was lost in a crash.
    Failed,
    /// Failed fast by the section breaker or the controller.
    Overloaded,
}

/// Interval between configured-load updates while a ramp is under way, µs.
const RAMP_TICK: SimDuration = 100_000;
/// Probes alive at once, section-wide; asks beyond it are dropped (and counted as not made).
const MAX_LIVE_PROBES: u32 = 100_000;

/// An operator's ramp of a server's configured load.
#[derive(Clone, Copy, Debug, PartialEq)]
struct LoadRamp {
    from: f64,
    to: f64,
    start: SimTime,
    length: SimDuration,
}

impl LoadRamp {
    fn at(&self, now: SimTime) -> f64 {
        if self.done(now) {
            self.to
        } else {
            let progress = (now - self.start) as f64 / self.length as f64;
            self.from + (self.to - self.from) * progress
        }
    }

    fn done(&self, now: SimTime) -> bool {
        self.length == 0 || now >= self.start.saturating_add(self.length)
    }
}

/// What one server is doing right now, for live displays.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerNow {
    /// Connections open or opening.
    pub active_conns: u32,
    /// Queries running (only meaningful with slot capacity).
    pub busy_slots: u32,
    /// Queries waiting for a slot.
    pub queued: u32,
    /// How it answers connects.
    pub connect_mode: ConnectMode,
    /// True after a crash until it recovers.
    pub crashed: bool,
    /// Current service-time multiplier from `slow` and `cold` faults.
    pub latency_multiplier: f64,
    /// The configured load now, with operator overrides applied.
    pub effective_load: f64,
    /// The pinned weight, if an operator pinned it.
    pub pinned: Option<f64>,
}

/// One pick as the host saw it, for the "why this server?" panel.
#[derive(Clone, Debug, PartialEq)]
pub struct PickTrace {
    /// When, µs.
    pub time: SimTime,
    /// Which app host picked.
    pub host: usize,
    /// The candidates it could pick from, as its controller saw them (configured load with overrides, this
    /// host's in-flight count).
    pub candidates: Vec<Candidate>,
    /// The controller's weight for each candidate at that moment.
    pub weights: Vec<f64>,
    /// The server chosen, or `None` when the request failed fast.
    pub chosen: Option<usize>,
    /// Who decided: "controller", "pinned", "controller off", "breaker" or "controller declined".
    pub decided_by: &'static str,
    /// The controller's named terms for the chosen server (see `Controller::diagnostics`).
    pub diagnostics: Vec<(&'static str, f64)>,
}

/// The section model's state: everything but the clock, the queue and the commands, which the engine owns.
pub struct Section {
    /// The config this run was built from.
    pub(crate) cfg: Config,
    rng_arrivals: Rng,
    rng_service: Rng,
    rng_balancing: Rng,
    servers: Vec<ServerState>,
    hosts: Vec<HostState>,
    controllers: Vec<Box<dyn Controller>>,
    primary: Option<usize>,
    /// Position of each server in `HostState::replicas`, or `None` for the primary.
    replica_pos: Vec<Option<u16>>,
    requests: Vec<Request>,
    free_head: u32,
    live_requests: u32,
    arrival_gen: u32,
    rate_multiplier: f64,
    busy_workers: u64,
    workers_area: u128,
    workers_last_change: SimTime,
    step_start: SimTime,
    step_requests: u64,
    step_rejected: u64,
    step_failed: u64,
    step_latency: Histogram,
    run_latency: Histogram,
    arrived: u64,
    completed: u64,
    rejected: u64,
    failed: u64,
    overloaded: u64,
    step_overloaded: u64,
    probes: u64,
    step_probes: u64,
    live_probes: u32,
    probe_buf: Vec<usize>,
    /// Configured load per server after operator overrides (what `Candidate::configured_load` carries).
    effective_load: Vec<f64>,
    /// Active operator ramps per server.
    ramps: Vec<Option<LoadRamp>>,
    ramp_tick_pending: bool,
    /// Operator pins per server.
    pinned: Vec<Option<f64>>,
    controller_enabled: bool,
    /// Record one pick in this many (0: off).
    trace_every: u32,
    trace_countdown: u32,
    last_pick: Option<PickTrace>,
    rows: VecDeque<StepRow>,
    rows_dropped: u64,
    scratch: Vec<Candidate>,
    pinned_scratch: Vec<Candidate>,
    /// Cached [`Sim::all_replicas_plainly_eligible`], refreshed whenever loads or pins change.
    fast_pick: bool,
}

impl Section {
    /// Applies a command the engine has validated.
    fn apply_inner(&mut self, ctx: &mut Ctx<Event>, command: Command) {
        match command {
            Command::Fault { server, fault } => self.apply_fault(ctx, server, fault),
            Command::Surge { factor } => {
                self.rate_multiplier = factor;
                // Poisson arrivals are memoryless, so drawing a fresh gap at the new rate is exact.
                self.arrival_gen = self.arrival_gen.wrapping_add(1);
                self.schedule_next_arrival(ctx);
            }
            Command::Operator(op) => self.apply_operator(ctx, op),
        }
    }

    /// Applies a validated operator override.
    fn apply_operator(&mut self, ctx: &mut Ctx<Event>, op: Operator) {
        let now = ctx.now();
        match op {
            Operator::Pin { server, weight } => self.pinned[server] = Some(weight),
            Operator::Unpin { server } => self.pinned[server] = None,
            Operator::Depool { server } => {
                self.set_ramp(ctx, server, LoadRamp { from: 0.0, to: 0.0, start: now, length: 0 })
            }
            Operator::Drain { server, over } => {
                let from = self.effective_load[server];
                self.set_ramp(ctx, server, LoadRamp { from, to: 0.0, start: now, length: over });
            }
            Operator::Repool { server, ramp } => {
                let from = self.effective_load[server];
                let to = self.cfg.servers[server].load;
                self.set_ramp(ctx, server, LoadRamp { from, to, start: now, length: ramp });
            }
            Operator::ControllerOff => self.controller_enabled = false,
            Operator::ControllerOn => self.controller_enabled = true,
        }
        self.fast_pick = self.all_replicas_plainly_eligible();
    }

    /// Starts a ramp of a server's configured load and applies its value now.
    fn set_ramp(&mut self, ctx: &mut Ctx<Event>, server: usize, ramp: LoadRamp) {
        self.ramps[server] = Some(ramp);
        self.on_ramp_tick(ctx);
    }

    /// Applies every active ramp's current value to the hosts' candidate lists, and ticks again while any ramp
    /// is still moving. Finished ramps stay as the server's override (a depool stays depooled).
    fn on_ramp_tick(&mut self, ctx: &mut Ctx<Event>) {
        let now = ctx.now();
        let mut moving = false;
        for server in 0..self.servers.len() {
            let Some(ramp) = self.ramps[server] else { continue };
            self.set_effective_load(server, ramp.at(now));
            moving |= !ramp.done(now);
        }
        if moving && !self.ramp_tick_pending {
            self.ramp_tick_pending = true;
            ctx.push(now + RAMP_TICK, Event::RampTick);
        }
    }

    fn set_effective_load(&mut self, server: usize, load: f64) {
        self.effective_load[server] = load;
        self.fast_pick = self.all_replicas_plainly_eligible();
        if let Some(pos) = self.replica_pos[server] {
            for host in &mut self.hosts {
                host.replicas[pos as usize].configured_load = load;
            }
        }
    }

    fn apply_fault(&mut self, ctx: &mut Ctx<Event>, server: usize, fault: Fault) {
        let now = ctx.now();
        let s = &mut self.servers[server];
        match fault {
            Fault::Slow { factor } => s.slow_factor = factor,
            Fault::ConnectTimeout => s.connect_mode = ConnectMode::Blackhole,
            Fault::Refuse => s.connect_mode = ConnectMode::Refuse,
            Fault::Cold { from_fraction, warmup } => {
                s.cold = Some(ColdRamp { start: now, from_fraction, warmup });
                if self.cfg.cold_ramp {
                    let to = self.cfg.servers[server].load;
                    self.set_ramp(ctx, server, LoadRamp { from: to * from_fraction, to, start: now, length: warmup });
                }
            }
            Fault::Recover => {
                s.connect_mode = ConnectMode::Accept;
                s.crashed = false;
                s.slow_factor = 1.0;
                s.cold = None;
            }
            Fault::Crash => {
                s.connect_mode = ConnectMode::Blackhole;
                s.crashed = true;
                self.lose_all_connections(ctx, server);
            }
        }
    }

    /// Drops every connection to a crashed server now: pending connects fail and re-pick, running and queued
    /// queries fail their requests.
    fn lose_all_connections(&mut self, ctx: &mut Ctx<Event>, server: usize) {
        let now = ctx.now();
        let s = &mut self.servers[server];
        s.touch(now);
        let lost = std::mem::take(&mut s.conns);
        s.queue.clear();
        s.busy_slots = 0;
        s.failed_conns += lost.len() as u64;
        for req in lost {
            let r = &mut self.requests[req as usize];
            r.gen = r.gen.wrapping_add(1); // its pending ConnectDone or QueryDone is now stale
            let (host, phase, started, probe) = (r.host as usize, r.phase, r.conn_started, r.probe);
            if probe {
                self.end_probe(ctx, req, false);
                continue;
            }
            self.hosts[host].add_in_flight(server, self.replica_pos[server], -1);
            if phase == Phase::Connecting {
                self.controllers[host].on_connect(now, server, false, now - started);
                self.retry_or_fail(ctx, req);
            } else {
                self.controllers[host].on_lost(now, server, now - started);
                self.finish(ctx, req, Outcome::Failed);
            }
        }
    }

    fn schedule_next_arrival(&mut self, ctx: &mut Ctx<Event>) {
        let rate = self.cfg.arrival_rate * self.rate_multiplier;
        if rate > 0.0 {
            let gap = crate::time::from_secs_f64(self.rng_arrivals.exponential(1.0 / rate)).min(MAX_WAIT);
            ctx.push(ctx.now() + gap, Event::Arrival { gen: self.arrival_gen });
        }
    }

    fn on_arrival(&mut self, ctx: &mut Ctx<Event>, gen: u32) {
        if gen != self.arrival_gen {
            return;
        }
        self.schedule_next_arrival(ctx);
        self.arrived += 1;
        let host = self.rng_arrivals.below(self.cfg.hosts as u64) as usize;
        let to_primary = self.primary.is_some() && self.rng_arrivals.chance(self.cfg.primary_fraction);
        if self.live_requests >= self.cfg.max_requests_in_flight {
            self.reject();
            return;
        }
        let has_worker = self.cfg.workers_per_host.is_none_or(|w| self.hosts[host].busy_workers < w);
        if !has_worker && self.hosts[host].backlog.len() >= self.cfg.backlog_per_host as usize {
            self.reject();
            return;
        }
        let req = self.alloc(ctx, host, to_primary, false);
        if has_worker {
            self.start_request(ctx, req);
        } else {
            self.requests[req as usize].phase = Phase::Backlog;
            self.hosts[host].backlog.push_back(req);
        }
    }

    fn reject(&mut self) {
        self.rejected += 1;
        self.step_rejected += 1;
    }

    fn alloc(&mut self, ctx: &mut Ctx<Event>, host: usize, to_primary: bool, probe: bool) -> u32 {
        let fresh = Request {
            gen: 0,
            phase: Phase::Backlog,
            probe,
            probe_count: 0,
            host: host as u32,
            server: 0,
            attempts: 0,
            to_primary,
            conn_index: 0,
            tried: 0,
            arrived_at: ctx.now(),
            conn_started: 0,
            next_free: NO_SLOT,
        };
        if probe {
            self.live_probes += 1;
        } else {
            self.live_requests += 1;
        }
        if self.free_head != NO_SLOT {
            let id = self.free_head;
            let slot = &mut self.requests[id as usize];
            self.free_head = slot.next_free;
            *slot = Request { gen: slot.gen.wrapping_add(1), ..fresh };
            id
        } else {
            self.requests.push(fresh);
            (self.requests.len() - 1) as u32
        }
    }

    /// Returns a slab slot to the free list.
    fn release(&mut self, req: u32) {
        let slot = &mut self.requests[req as usize];
        if slot.probe {
            self.live_probes -= 1;
        } else {
            self.live_requests -= 1;
        }
        slot.phase = Phase::Free;
        slot.next_free = self.free_head;
        self.free_head = req;
    }

    fn set_busy_workers(&mut self, ctx: &mut Ctx<Event>, delta: i64) {
        self.workers_area += self.busy_workers as u128 * (ctx.now() - self.workers_last_change) as u128;
        self.workers_last_change = ctx.now();
        self.busy_workers = (self.busy_workers as i64 + delta) as u64;
    }

    /// The request takes a worker and makes its first connect.
    fn start_request(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        let host = self.requests[req as usize].host as usize;
        self.hosts[host].busy_workers += 1;
        self.set_busy_workers(ctx, 1);
        self.step_requests += 1;
        self.requests[req as usize].phase = Phase::Starting;
        match (self.requests[req as usize].to_primary, self.primary) {
            (true, Some(p)) => self.connect(ctx, req, p),
            _ => self.route_replica(ctx, req),
        }
    }

    /// True when every replica has a positive configured load and none is pinned: then a request's first pick
    /// can hand the controller the host's whole replica list as it stands.
    fn all_replicas_plainly_eligible(&self) -> bool {
        self.replica_pos
            .iter()
            .enumerate()
            .all(|(i, pos)| pos.is_none() || (self.effective_load[i] > 0.0 && self.pinned[i].is_none()))
    }

    /// Chooses a replica not yet tried and connects; fails the request when none is left, the attempt bound is
    /// reached, the section breaker is open, or the controller declines ("overloaded").
    ///
    /// Order of decisions: pinned servers take their pinned share first (operator overrides beat the
    /// controller); the breaker then checks every eligible server against its cap; the controller (or, when an
    /// operator switched it off, the configured loads) picks among the unpinned servers with a positive load.
    fn route_replica(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        let r = self.requests[req as usize];
        if r.attempts as u32 >= self.cfg.max_connect_attempts {
            self.finish(ctx, req, Outcome::Failed);
            return;
        }
        let host = r.host as usize;
        let plain = r.tried == 0 && self.fast_pick;
        if !plain {
            self.scratch.clear();
            self.pinned_scratch.clear();
            for c in &self.hosts[host].replicas {
                if r.tried & (1u64 << c.server) != 0 {
                    continue;
                }
                match self.pinned[c.server] {
                    Some(weight) => self.pinned_scratch.push(Candidate { configured_load: weight, ..*c }),
                    None if c.configured_load > 0.0 => self.scratch.push(*c),
                    None => {}
                }
            }
        }
        let candidates: &[Candidate] = if plain { &self.hosts[host].replicas } else { &self.scratch };
        let pinned: &[Candidate] = if plain { &[] } else { &self.pinned_scratch };
        if candidates.is_empty() && pinned.is_empty() {
            self.finish(ctx, req, Outcome::Failed);
            return;
        }
        if let Some(cap) = self.cfg.breaker_conns {
            let controller = &self.controllers[host];
            let estimate = |c: &Candidate| controller.conn_estimate(c.server).unwrap_or(c.in_flight as f64);
            let open = candidates.iter().chain(pinned).any(|c| estimate(c) < cap);
            if !open {
                self.finish(ctx, req, Outcome::Overloaded);
                return;
            }
        }
        let pinned_total: f64 = pinned.iter().map(|c| c.configured_load).sum();
        let mut chosen = None;
        if pinned_total > 0.0 {
            let unpinned_total: f64 = candidates.iter().map(|c| c.configured_load).sum();
            let u = self.rng_balancing.next_f64() * (pinned_total + unpinned_total);
            if u < pinned_total {
                chosen = crate::controller::pick_weighted(pinned, &mut self.rng_balancing, |_, c| c.configured_load)
                    .map(|k| pinned[k].server);
            }
        }
        let view = HostView { now: ctx.now(), host, hosts: self.hosts.len(), candidates };
        let tracing = self.trace_every > 0 && {
            self.trace_countdown = self.trace_countdown.saturating_sub(1);
            self.trace_countdown == 0
        };
        let mut trace = None;
        if tracing {
            self.trace_countdown = self.trace_every;
            let mut weights = Vec::new();
            self.controllers[host].weights(&view, &mut weights);
            let mut all = candidates.to_vec();
            all.extend_from_slice(pinned);
            weights.extend(pinned.iter().map(|c| c.configured_load));
            trace = Some(PickTrace {
                time: ctx.now(),
                host,
                candidates: all,
                weights,
                chosen: None,
                decided_by: if chosen.is_some() {
                    "pinned"
                } else if self.controller_enabled {
                    "controller"
                } else {
                    "controller off"
                },
                diagnostics: Vec::new(),
            });
        }
        if chosen.is_none() && !candidates.is_empty() {
            let picked = if self.controller_enabled {
                self.controllers[host].pick(&view, &mut self.rng_balancing)
            } else {
                StaticWeights.pick(&view, &mut self.rng_balancing)
            };
            chosen = picked.and_then(|k| candidates.get(k)).map(|c| c.server);
        }
        if let Some(mut t) = trace {
            t.chosen = chosen;
            if let Some(server) = chosen {
                self.controllers[host].diagnostics(server, &mut t.diagnostics);
            } else {
                t.decided_by = "controller declined";
            }
            self.last_pick = Some(t);
        }
        if chosen.is_none() && !candidates.is_empty() {
            self.take_probes(ctx, host);
            self.finish(ctx, req, Outcome::Overloaded);
            return;
        }
        self.take_probes(ctx, host);
        match chosen {
            Some(server) => self.connect(ctx, req, server),
            None => self.finish(ctx, req, Outcome::Failed),
        }
    }

    /// Starts the gauge connections the host's controller asked for.
    fn take_probes(&mut self, ctx: &mut Ctx<Event>, host: usize) {
        let mut wanted = std::mem::take(&mut self.probe_buf);
        wanted.clear();
        self.controllers[host].take_probes(ctx.now(), &mut wanted);
        for &server in &wanted {
            if server < self.servers.len() && self.live_probes < MAX_LIVE_PROBES {
                let probe = self.alloc(ctx, host, false, true);
                self.probes += 1;
                self.step_probes += 1;
                self.connect(ctx, probe, server);
            }
        }
        self.probe_buf = wanted;
    }

    /// Opens a connection (a request's or a probe's): it is active on the server from this moment.
    fn connect(&mut self, ctx: &mut Ctx<Event>, req: u32, server: usize) {
        let now = ctx.now();
        let s = &mut self.servers[server];
        s.touch(now);
        let already_open = s.conns.len() as u32;
        let r = &mut self.requests[req as usize];
        r.attempts += 1;
        r.tried |= 1u64 << server;
        r.server = server as u16;
        r.phase = Phase::Connecting;
        r.conn_started = now;
        r.conn_index = already_open;
        let (gen, host, probe) = (r.gen, r.host as usize, r.probe);
        s.conns.push(req);
        s.total_conns += 1;
        s.probe_conns += probe as u64;
        if !probe {
            self.hosts[host].add_in_flight(server, self.replica_pos[server], 1);
        }
        let full = self.cfg.servers[server].max_connections.is_some_and(|max| already_open >= max);
        let rtt = self.cfg.rtt;
        let timeout = if probe { self.cfg.probe_connect_timeout } else { self.cfg.connect_timeout };
        let fail = |at| (at, Event::ConnectDone { req, gen, ok: false });
        let (at, event) = match s.connect_mode {
            ConnectMode::Blackhole => fail(now + timeout),
            ConnectMode::Refuse => fail(now + rtt),
            ConnectMode::Accept if full => fail(now + rtt),
            ConnectMode::Accept if rtt == 0 => return self.on_connected(ctx, req),
            ConnectMode::Accept => (now + rtt, Event::ConnectDone { req, gen, ok: true }),
        };
        ctx.push(at, event);
    }

    /// Removes the connection from its server's list (the list order is not meaningful).
    fn remove_conn(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        let r = self.requests[req as usize];
        let server = r.server as usize;
        let s = &mut self.servers[server];
        s.touch(ctx.now());
        let idx = r.conn_index as usize;
        s.conns.swap_remove(idx);
        if let Some(&moved) = s.conns.get(idx) {
            self.requests[moved as usize].conn_index = idx as u32;
        }
        if !r.probe {
            self.hosts[r.host as usize].add_in_flight(server, self.replica_pos[server], -1);
        }
    }

    fn on_connect_done(&mut self, ctx: &mut Ctx<Event>, req: u32, gen: u32, ok: bool) {
        let r = self.requests[req as usize];
        if r.gen != gen || r.phase != Phase::Connecting {
            return;
        }
        let (server, host) = (r.server as usize, r.host as usize);
        if !r.probe {
            let elapsed = ctx.now() - r.conn_started;
            self.controllers[host].on_connect(ctx.now(), server, ok, elapsed);
        }
        if ok {
            self.on_connected(ctx, req);
        } else {
            self.servers[server].failed_conns += 1;
            self.remove_conn(ctx, req);
            if r.probe {
                self.end_probe(ctx, req, false);
            } else {
                self.retry_or_fail(ctx, req);
            }
        }
    }

    /// After a failed connect: replica requests re-pick among the servers left; primary requests fail.
    fn retry_or_fail(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        if self.requests[req as usize].to_primary {
            self.finish(ctx, req, Outcome::Failed);
        } else {
            self.route_replica(ctx, req);
        }
    }

    fn on_connected(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        let server = self.requests[req as usize].server as usize;
        if self.requests[req as usize].probe {
            // The gauge counts PROCESSLIST, itself and waiting connects included, in one round trip; it needs no
            // query slot.
            let count = self.servers[server].conns.len() as u32;
            let r = &mut self.requests[req as usize];
            r.probe_count = count;
            r.phase = Phase::Querying;
            let gen = r.gen;
            ctx.push(ctx.now() + self.cfg.rtt, Event::QueryDone { req, gen });
            return;
        }
        match self.cfg.servers[server].capacity {
            Capacity::Unlimited => self.start_query(ctx, req),
            Capacity::Slots(slots) => {
                let s = &mut self.servers[server];
                if s.busy_slots < slots {
                    s.busy_slots += 1;
                    self.start_query(ctx, req);
                } else {
                    s.queue.push_back(req);
                    self.requests[req as usize].phase = Phase::Queued;
                }
            }
        }
    }

    fn start_query(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        let server = self.requests[req as usize].server as usize;
        let service = self.service_time(ctx, server);
        let r = &mut self.requests[req as usize];
        r.phase = Phase::Querying;
        let gen = r.gen;
        ctx.push(ctx.now() + service, Event::QueryDone { req, gen });
    }

    /// Service multiplier from `slow` and `cold` faults at the current time.
    fn latency_multiplier(&self, server: usize, now: SimTime) -> f64 {
        let s = &self.servers[server];
        let cold = match s.cold {
            Some(c) if c.warmup > 0 && now < c.start + c.warmup => {
                let progress = (now - c.start) as f64 / c.warmup as f64;
                1.0 / (c.from_fraction + (1.0 - c.from_fraction) * progress)
            }
            _ => 1.0,
        };
        s.slow_factor * cold
    }

    fn service_time(&mut self, ctx: &mut Ctx<Event>, server: usize) -> SimDuration {
        let base = self.cfg.servers[server].latency as f64;
        let sample = match self.cfg.latency_dist {
            LatencyDist::Uniform => base * (0.9 + 0.2 * self.rng_service.next_f64()),
            LatencyDist::Exponential => self.rng_service.exponential(base),
            LatencyDist::Lognormal { sigma } => {
                let mu = rng::ln(base) - sigma * sigma / 2.0;
                rng::exp(mu + sigma * self.rng_service.standard_normal())
            }
        };
        let micros = sample * self.latency_multiplier(server, ctx.now());
        if micros.is_nan() || micros <= 0.0 {
            0
        } else {
            (micros.min(MAX_WAIT as f64) + 0.5) as SimDuration // nearest, halves up
        }
    }

    fn on_query_done(&mut self, ctx: &mut Ctx<Event>, req: u32, gen: u32) {
        let r = self.requests[req as usize];
        if r.gen != gen || r.phase != Phase::Querying {
            return;
        }
        if r.probe {
            self.remove_conn(ctx, req);
            self.end_probe(ctx, req, true);
            return;
        }
        let (server, host) = (r.server as usize, r.host as usize);
        let held = ctx.now() - r.conn_started;
        let s = &mut self.servers[server];
        s.work_count += 1;
        s.latency.record(held);
        self.remove_conn(ctx, req);
        if let Capacity::Slots(_) = self.cfg.servers[server].capacity {
            let s = &mut self.servers[server];
            s.busy_slots -= 1;
            if let Some(next) = s.queue.pop_front() {
                s.busy_slots += 1;
                self.start_query(ctx, next);
            }
        }
        self.controllers[host].on_close(ctx.now(), server, held);
        self.finish(ctx, req, Outcome::Completed);
    }

    /// Ends a probe whose connection is already removed, and tells its host's controller what it found.
    fn end_probe(&mut self, ctx: &mut Ctx<Event>, req: u32, connected: bool) {
        let r = self.requests[req as usize];
        let result = ProbeResult {
            connected,
            conn_count: if connected { r.probe_count } else { 0 },
            elapsed: ctx.now() - r.conn_started,
        };
        self.release(req);
        self.controllers[r.host as usize].on_probe(ctx.now(), r.server as usize, result);
    }

    /// Ends a request that holds a worker: records it, frees the worker, and starts the next backlogged request.
    fn finish(&mut self, ctx: &mut Ctx<Event>, req: u32, outcome: Outcome) {
        let r = self.requests[req as usize];
        debug_assert!(
            !r.probe && matches!(r.phase, Phase::Starting | Phase::Connecting | Phase::Queued | Phase::Querying)
        );
        match outcome {
            Outcome::Completed => {
                self.completed += 1;
                let latency = ctx.now() - r.arrived_at;
                self.step_latency.record(latency);
                self.run_latency.record(latency);
            }
            Outcome::Failed => {
                self.failed += 1;
                self.step_failed += 1;
            }
            Outcome::Overloaded => {
                self.overloaded += 1;
                self.step_overloaded += 1;
            }
        }
        let host = r.host as usize;
        self.hosts[host].busy_workers -= 1;
        self.set_busy_workers(ctx, -1);
        self.release(req);
        if let Some(next) = self.hosts[host].backlog.pop_front() {
            self.start_request(ctx, next);
        }
    }

    fn on_step_end(&mut self, ctx: &mut Ctx<Event>) {
        let now = ctx.now();
        let span = (now - self.step_start).max(1) as f64;
        self.set_busy_workers(ctx, 0);
        let active_workers = self.workers_area as f64 / span;
        self.workers_area = 0;
        let servers = self
            .servers
            .iter_mut()
            .map(|s| {
                s.touch(now);
                let row = ServerStep {
                    active_conns: s.conn_area as f64 / span,
                    total_conns: s.total_conns,
                    probe_conns: s.probe_conns,
                    failed_conns: s.failed_conns,
                    work_count: s.work_count,
                    latency_p99_ms: s.latency.quantile_us(0.99) / 1e3,
                };
                s.conn_area = 0;
                s.total_conns = 0;
                s.probe_conns = 0;
                s.failed_conns = 0;
                s.work_count = 0;
                s.latency.clear();
                row
            })
            .collect();
        let row = StepRow {
            time_s: as_secs_f64(now),
            requests: self.step_requests,
            rejected: self.step_rejected,
            failed: self.step_failed,
            overloaded: self.step_overloaded,
            probes: self.step_probes,
            active_workers,
            latency_mean_ms: self.step_latency.mean_us() / 1e3,
            latency_p50_ms: self.step_latency.quantile_us(0.5) / 1e3,
            latency_p99_ms: self.step_latency.quantile_us(0.99) / 1e3,
            servers,
        };
        self.step_latency.clear();
        self.step_requests = 0;
        self.step_rejected = 0;
        self.step_failed = 0;
        self.step_overloaded = 0;
        self.step_probes = 0;
        self.step_start = now;
        if self.rows.len() >= limits::MAX_BUFFERED_ROWS {
            self.rows.pop_front();
            self.rows_dropped += 1;
        }
        self.rows.push_back(row);
        ctx.push(now + self.cfg.time_step, Event::StepEnd);
    }
}

impl Section {
    pub(crate) fn build(config: Config, seed: u64) -> Result<Engine<Section>, String> {
        config.validate()?;
        let n = config.servers.len();
        let replicas: Vec<Candidate> = (config.servers.iter().enumerate())
            .filter(|(_, s)| s.role == Role::Replica)
            .map(|(i, s)| Candidate { server: i, configured_load: s.load, in_flight: 0 })
            .collect();
        let mut replica_pos = vec![None; n];
        for (pos, c) in replicas.iter().enumerate() {
            replica_pos[c.server] = Some(pos as u16);
        }
        let hosts = (0..config.hosts)
            .map(|_| HostState {
                busy_workers: 0,
                backlog: VecDeque::new(),
                in_flight: vec![0; n],
                replicas: replicas.clone(),
            })
            .collect();
        let controllers = config.controller.instantiate_all(&config.servers, config.hosts as usize);
        if controllers.len() != config.hosts as usize {
            return Err(format!(
                "controller {} built {} instances for {} hosts",
                config.controller.name(),
                controllers.len(),
                config.hosts
            ));
        }
        let primary = config.servers.iter().position(|s| s.role == Role::Primary);
        let mut sim = Section {
            rng_arrivals: Rng::new(seed, Stream::Arrivals),
            rng_service: Rng::new(seed, Stream::Service),
            rng_balancing: Rng::new(seed, Stream::Balancing),
            servers: (0..n).map(|_| ServerState::new()).collect(),
            hosts,
            controllers,
            primary,
            replica_pos,
            requests: Vec::new(),
            free_head: NO_SLOT,
            live_requests: 0,
            arrival_gen: 0,
            rate_multiplier: 1.0,
            busy_workers: 0,
            workers_area: 0,
            workers_last_change: 0,
            step_start: 0,
            step_requests: 0,
            step_rejected: 0,
            step_failed: 0,
            step_latency: Histogram::new(),
            run_latency: Histogram::new(),
            arrived: 0,
            completed: 0,
            rejected: 0,
            failed: 0,
            overloaded: 0,
            step_overloaded: 0,
            probes: 0,
            step_probes: 0,
            live_probes: 0,
            probe_buf: Vec::new(),
            effective_load: config.servers.iter().map(|s| s.load).collect(),
            ramps: vec![None; n],
            ramp_tick_pending: false,
            pinned: vec![None; n],
            controller_enabled: true,
            trace_every: 0,
            trace_countdown: 0,
            last_pick: None,
            rows: VecDeque::new(),
            rows_dropped: 0,
            scratch: Vec::with_capacity(n),
            pinned_scratch: Vec::new(),
            fast_pick: true,
            cfg: config,
        };
        sim.fast_pick = sim.all_replicas_plainly_eligible();
        let schedule = sim.cfg.schedule.clone();
        let mut engine = Engine::with_ctx(sim, seed, |sim, ctx| {
            sim.schedule_next_arrival(ctx);
            ctx.push(sim.cfg.time_step, Event::StepEnd);
        });
        for sc in schedule {
            engine.schedule(sc.at, sc.command)?;
        }
        Ok(engine)
    }

    /// Records one pick in every `every` (0 turns tracing off); read it with [`Sim::last_pick`]. Costs nothing
    /// when off, and one controller `weights` call per traced pick when on.
    pub(crate) fn set_pick_tracing(&mut self, every: u32) {
        self.trace_every = every;
        self.trace_countdown = every;
    }

    /// The most recent traced pick.
    pub(crate) fn last_pick(&self) -> Option<&PickTrace> {
        self.last_pick.as_ref()
    }

    /// True while an operator has switched the controllers off.
    pub(crate) fn controller_enabled(&self) -> bool {
        self.controller_enabled
    }

    /// The weights `host`'s controller would pick with now, per replica (server index, weight), over the
    /// replicas with a positive configured load. Pinned servers report their pin.
    pub(crate) fn host_weights(&self, host: usize, now: SimTime) -> Vec<(usize, f64)> {
        let Some(h) = self.hosts.get(host) else { return Vec::new() };
        let candidates: Vec<Candidate> =
            h.replicas.iter().filter(|c| c.configured_load > 0.0 && self.pinned[c.server].is_none()).copied().collect();
        let mut weights = Vec::with_capacity(candidates.len());
        if !candidates.is_empty() {
            let view = HostView { now, host, hosts: self.hosts.len(), candidates: &candidates };
            if self.controller_enabled {
                self.controllers[host].weights(&view, &mut weights);
            } else {
                weights.extend(candidates.iter().map(|c| c.configured_load));
            }
        }
        let mut out: Vec<(usize, f64)> = candidates.iter().map(|c| c.server).zip(weights).collect();
        out.extend(self.pinned.iter().enumerate().filter_map(|(i, p)| p.map(|w| (i, w))));
        out.sort_by_key(|(server, _)| *server);
        out
    }

    /// `host`'s controller's named internal terms for `server` now (empty when it keeps none).
    pub(crate) fn diagnostics(&self, host: usize, server: usize) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        if let Some(c) = self.controllers.get(host) {
            c.diagnostics(server, &mut out);
        }
        out
    }

    /// Takes the rows recorded since the last call, oldest first.
    pub(crate) fn drain_rows(&mut self) -> impl Iterator<Item = StepRow> + '_ {
        self.rows.drain(..)
    }

    /// Totals so far.
    pub(crate) fn summary(&self, events: u64, trace_hash: u64) -> Summary {
        Summary {
            requests: self.arrived,
            completed: self.completed,
            rejected: self.rejected,
            failed: self.failed,
            overloaded: self.overloaded,
            probes: self.probes,
            in_flight: self.live_requests as u64,
            latency_mean_ms: self.run_latency.mean_us() / 1e3,
            latency_p50_ms: self.run_latency.quantile_us(0.5) / 1e3,
            latency_p99_ms: self.run_latency.quantile_us(0.99) / 1e3,
            events,
            rows_dropped: self.rows_dropped,
            trace_hash,
        }
    }

    /// Each server's state right now, in config order.
    pub(crate) fn servers_now(&self, now: SimTime) -> Vec<ServerNow> {
        (0..self.servers.len())
            .map(|i| {
                let s = &self.servers[i];
                ServerNow {
                    active_conns: s.conns.len() as u32,
                    busy_slots: s.busy_slots,
                    queued: s.queue.len() as u32,
                    connect_mode: s.connect_mode,
                    crashed: s.crashed,
                    latency_multiplier: self.latency_multiplier(i, now),
                    effective_load: self.effective_load[i],
                    pinned: self.pinned[i],
                }
            })
            .collect()
    }

    /// Checks every conservation law and bound; returns the first violation found. O(requests); for tests.
    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        let accounted = self.rejected + self.completed + self.failed + self.overloaded + self.live_requests as u64;
        if self.arrived != accounted {
            return Err(format!(
                "requests not conserved: arrived {} ≠ rejected {} + completed {} + failed {} + overloaded {} + live {}",
                self.arrived, self.rejected, self.completed, self.failed, self.overloaded, self.live_requests
            ));
        }
        let n = self.servers.len();
        let mut per_server = vec![[0u32; 4]; n]; // connecting, queued, querying, probes
        let mut per_host = vec![(0u32, 0u32); self.hosts.len()]; // holding a worker, in backlog
        let mut host_server = vec![0u32; self.hosts.len() * n];
        let mut live = 0;
        let mut probes = 0;
        for r in &self.requests {
            if r.probe && r.phase != Phase::Free {
                if !matches!(r.phase, Phase::Connecting | Phase::Querying) {
                    return Err(format!("a probe is in phase {:?}", r.phase));
                }
                probes += 1;
                per_server[r.server as usize][3] += 1;
                continue;
            }
            let slot = match r.phase {
                Phase::Free => continue,
                Phase::Backlog => {
                    per_host[r.host as usize].1 += 1;
                    live += 1;
                    continue;
                }
                Phase::Starting => return Err("a request is still choosing a server between events".into()),
                Phase::Connecting => 0,
                Phase::Queued => 1,
                Phase::Querying => 2,
            };
            live += 1;
            per_host[r.host as usize].0 += 1;
            per_server[r.server as usize][slot] += 1;
            host_server[r.host as usize * n + r.server as usize] += 1;
        }
        if probes != self.live_probes {
            return Err(format!("live probe count {} ≠ {probes} probes in the slab", self.live_probes));
        }
        if live != self.live_requests {
            return Err(format!("live request count {} ≠ {live} requests in the slab", self.live_requests));
        }
        let mut workers = 0u64;
        for (h, host) in self.hosts.iter().enumerate() {
            if let Some(max) = self.cfg.workers_per_host {
                if host.busy_workers > max {
                    return Err(format!("host {h}: {} busy workers > pool of {max}", host.busy_workers));
                }
            }
            if host.backlog.len() > self.cfg.backlog_per_host as usize {
                return Err(format!("host {h}: backlog {} > bound {}", host.backlog.len(), self.cfg.backlog_per_host));
            }
            if (host.busy_workers, host.backlog.len() as u32) != per_host[h] {
                return Err(format!(
                    "host {h}: workers/backlog {:?} ≠ requests {:?}",
                    (host.busy_workers, host.backlog.len()),
                    per_host[h]
                ));
            }
            for s in 0..n {
                if host.in_flight[s] != host_server[h * n + s] {
                    return Err(format!(
                        "host {h} server {s}: in_flight {} ≠ {}",
                        host.in_flight[s],
                        host_server[h * n + s]
                    ));
                }
            }
            workers += host.busy_workers as u64;
        }
        if workers != self.busy_workers {
            return Err(format!("busy workers {} ≠ sum over hosts {workers}", self.busy_workers));
        }
        for (i, s) in self.servers.iter().enumerate() {
            let [connecting, queued, querying, probes] = per_server[i];
            if s.conns.len() as u32 != connecting + queued + querying + probes {
                return Err(format!(
                    "server {i}: {} conns ≠ {connecting}+{queued}+{querying} requests + {probes} probes",
                    s.conns.len()
                ));
            }
            for (k, &req) in s.conns.iter().enumerate() {
                let r = &self.requests[req as usize];
                if r.server as usize != i || r.conn_index as usize != k {
                    return Err(format!("server {i}: conns[{k}] = request {req} points elsewhere"));
                }
            }
            if s.queue.len() as u32 != queued {
                return Err(format!("server {i}: queue {} ≠ {queued} queued requests", s.queue.len()));
            }
            if let Capacity::Slots(slots) = self.cfg.servers[i].capacity {
                if s.busy_slots > slots || s.busy_slots != querying {
                    return Err(format!("server {i}: busy slots {} (of {slots}) ≠ {querying} running", s.busy_slots));
                }
                if s.busy_slots < slots && !s.queue.is_empty() {
                    return Err(format!("server {i}: idle slot while {} queries wait", s.queue.len()));
                }
            }
        }
        Ok(())
    }
}

impl Model for Section {
    type Event = Event;
    type Command = Command;

    fn event_word(event: &Event) -> u64 {
        event.trace_word()
    }

    fn command_words(command: &Command, hash: &mut dyn FnMut(u64)) {
        let parsed = super::commands::to_parsed(command);
        for b in parsed.verb.bytes() {
            hash(b as u64);
        }
        hash(parsed.target.map_or(u64::MAX, |t| t as u64));
        for a in parsed.args {
            hash(a.to_bits());
        }
    }

    fn on_event(&mut self, ctx: &mut Ctx<Event>, event: Event) {
        match event {
            Event::Arrival { gen } => self.on_arrival(ctx, gen),
            Event::ConnectDone { req, gen, ok } => self.on_connect_done(ctx, req, gen, ok),
            Event::QueryDone { req, gen } => self.on_query_done(ctx, req, gen),
            Event::StepEnd => self.on_step_end(ctx),
            Event::RampTick => {
                self.ramp_tick_pending = false;
                self.on_ramp_tick(ctx);
            }
        }
    }

    fn validate(&self, command: &Command) -> Result<(), String> {
        super::commands::validate(command, self.servers.len())
    }

    fn on_command(&mut self, ctx: &mut Ctx<Event>, command: &Command) {
        self.apply_inner(ctx, command.clone());
    }
}
