//! The discrete-event engine: requests arrive, take an app worker, connect to a database server, run one query and
//! close the connection.
//!
//! `Section` owns all mutable state but the clock, the queue and the commands (turmoil's `World`). The engine's
//! one event queue ordered by (time, sequence) drives it, and a single `match` in [`Model::on_event`] dispatches
//! each event to an `on_*` handler. Timers that can be overtaken
//! (a connect or query whose connection is lost in a crash, an arrival after a rate change) carry a generation
//! number and are ignored when stale. Nothing here reads a clock, touches IO or iterates a hash map.
//!
//! The request path follows EventSimulator (REFERENCE §1): pick a host uniformly; go to the primary with
//! probability `primary_fraction`, else ask the host's controller for a replica; open a new connection (active
//! from the attempt, so waiting connects count); on a failed connect re-pick among the servers not yet tried; run
//! the query; close.

use std::collections::VecDeque;

use super::replication::{Replica, Stream as ReplStream};
use super::{host::*, overrides::*, pick_trace::*, request::*, server::*};

use crate::controller::{Candidate, Controller};
use crate::engine::{Ctx, Engine, Model};
use crate::histogram::Histogram;
use crate::models::section::command::Command;
use crate::models::section::config::{limits, Config, Role};
use crate::models::section::metrics::StepRow;
use crate::parts::row_log::RowLog;
use crate::rng::{Rng, Stream};
use crate::time::{SimDuration, SimTime};

/// Longest single query or connect wait the engine schedules, µs (about 11.6 days); longer ones are clamped.
pub(super) const MAX_WAIT: SimDuration = 1_000_000_000_000;

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
    pub(super) fn trace_word(&self) -> u64 {
        match *self {
            Event::Arrival { gen } => 1 | (gen as u64) << 8,
            Event::ConnectDone { req, gen, ok } => 2 | (ok as u64) << 4 | (req as u64) << 8 | (gen as u64) << 40,
            Event::QueryDone { req, gen } => 3 | (req as u64) << 8 | (gen as u64) << 40,
            Event::StepEnd => 4,
            Event::RampTick => 6,
        }
    }
}

/// How a request ended, for the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Completed,
    /// No server left to try, or the query was lost in a crash.
    Failed,
    /// Failed fast by the section breaker or the controller.
    Overloaded,
}

/// The section model's state: everything but the clock, the queue and the commands, which the engine owns.
pub struct Section {
    /// The config this run was built from.
    pub(crate) cfg: Config,
    /// The scenario's name as the run reports it (a scenario file's own name for a file).
    pub(super) scenario: &'static str,
    /// Server names in config order: the command targets and the per-server columns.
    pub(super) names: Vec<String>,
    /// The row schema for these servers ([`super::columns`]).
    pub(super) columns: Vec<crate::engine::schema::Column>,
    /// The scenario's headline in the summary, where its table declares one ([`super::HEADLINES`]).
    pub(super) headline: Option<super::Headline>,
    pub(super) rng_arrivals: Rng,
    pub(super) rng_service: Rng,
    pub(super) rng_balancing: Rng,
    pub(super) servers: Vec<ServerState>,
    /// Every server's query latencies in the current step (connect attempt to close), for the rows' p99.
    pub(super) server_latencies: super::latencies::ServerLatencies,
    pub(super) hosts: Vec<HostState>,
    pub(super) controllers: Vec<Box<dyn Controller>>,
    /// Whether any host's controller reads the per-request notifications ([`Controller::listens`]).
    pub(super) listening: bool,
    /// Whether every host's controller picks by load alone ([`Controller::picks_by_load`]).
    pub(super) by_load: bool,
    pub(super) primary: Option<usize>,
    /// Position of each server in `HostState::replicas`, or `None` for the primary.
    pub(super) replica_pos: Vec<Option<u16>>,
    pub(super) requests: Requests,
    pub(super) arrival_gen: u32,
    /// The exact time of the latest scheduled arrival, µs with its fraction. Gaps accumulate here and each arrival
    /// fires at this time rounded to the microsecond, so the arrival rate is exact however short the gaps (rounding
    /// each gap instead inflated rates: ×1.023 at 757 k req/s, ×5.8 at 7.6 M req/s, and froze the clock above
    /// about 3×10⁷ req/s).
    pub(super) arrival_exact_us: f64,
    /// True while a freed worker is taking its next backlogged request; finishes inside that (a request that
    /// fails at once) leave their host here instead of recursing, so the depth never depends on the backlog.
    pub(super) starting_backlog: bool,
    pub(super) deferred_hosts: Vec<usize>,
    /// Live requests allowed at once: the config's bound, lowered to fit [`limits::MEMORY_BUDGET_BYTES`].
    pub(super) max_live_requests: u32,
    pub(super) rate_multiplier: f64,
    pub(super) busy_workers: u64,
    /// The busy workers integrated over the current step, worker·µs.
    pub(super) workers_area: super::meter::StepArea,
    pub(super) step_start: SimTime,
    pub(super) step_requests: u64,
    pub(super) step_rejected: u64,
    pub(super) step_failed: u64,
    pub(super) step_latency: Histogram,
    /// Every completed request's latency up to the last step end (the current step's are in `step_latency`).
    pub(super) run_latency: Histogram,
    pub(super) arrived: u64,
    pub(super) completed: u64,
    pub(super) rejected: u64,
    pub(super) failed: u64,
    pub(super) overloaded: u64,
    pub(super) step_overloaded: u64,
    pub(super) probes: u64,
    pub(super) step_probes: u64,
    pub(super) probe_buf: Vec<usize>,
    /// Configured load per server after operator overrides (what `Candidate::configured_load` carries).
    pub(super) effective_load: Vec<f64>,
    /// Active operator ramps per server.
    pub(super) ramps: Vec<Option<LoadRamp>>,
    pub(super) ramp_tick_pending: bool,
    /// Operator pins per server.
    pub(super) pinned: Vec<Option<f64>>,
    pub(super) controller_enabled: bool,
    /// Record one pick in this many (0: off).
    pub(super) trace_every: u32,
    pub(super) trace_countdown: u32,
    pub(super) last_pick: Option<PickTrace>,
    pub(super) rows: RowLog<StepRow>,
    pub(super) scratch: Vec<Candidate>,
    pub(super) pinned_scratch: Vec<Candidate>,
    /// Cached [`Section::all_replicas_plainly_eligible`], refreshed whenever loads or pins change.
    pub(super) fast_pick: bool,
    /// The replicas' configured loads (with overrides) by replica position, for O(log n) picks by load.
    pub(super) load_index: crate::controller::load_index::LoadIndex,
    /// The primary's write stream as the replicas apply it.
    pub(super) stream: ReplStream,
    /// Each replica's SQL thread and apply queue, by server (`None` for the primary and in a section without
    /// one, where nothing replicates and lag is 0).
    pub(super) replication: Vec<Option<Replica>>,
    /// Per server, the largest (true, measured) lag read so far (at step ends and gauges), µs.
    pub(super) lag_peaks: Vec<(f64, f64)>,
    /// Gauge lag reads at normal lag (true lag under 1 s): count, Σ measured, Σ (measured − true), µs.
    pub(super) normal_reads: (u64, f64, f64),
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
        super::commands::validate(command, self.servers.len())?;
        if let Command::Fault { server, fault: crate::models::section::command::Fault::LargeWrite { .. } } = command {
            if self.replication[*server].is_none() {
                return Err(format!(
                    "large-write: {} does not replicate (a large write lags a replica; this is the primary or a section without one)",
                    self.cfg.servers[*server].name
                ));
            }
        }
        if let Command::Surge { factor } = command {
            if self.cfg.arrival_rate * factor > limits::MAX_ARRIVAL_RATE {
                return Err(format!(
                    "surge {factor} would take the arrival rate to {:.4e} req/s, above the engine's {:e} req/s",
                    self.cfg.arrival_rate * factor,
                    limits::MAX_ARRIVAL_RATE
                ));
            }
        }
        Ok(())
    }

    fn on_command(&mut self, ctx: &mut Ctx<Event>, command: &Command) {
        self.apply_inner(ctx, command.clone());
    }
}

impl Section {
    /// Applies a command the engine has validated.
    pub(super) fn apply_inner(&mut self, ctx: &mut Ctx<Event>, command: Command) {
        match command {
            Command::Fault { server, fault } => self.apply_fault(ctx, server, fault),
            Command::Surge { factor } => {
                self.rate_multiplier = factor;
                // Poisson arrivals are memoryless, so drawing a fresh gap at the new rate is exact.
                self.arrival_gen = self.arrival_gen.wrapping_add(1);
                self.arrival_exact_us = ctx.now() as f64;
                self.schedule_next_arrival(ctx);
            }
            Command::Operator(op) => self.apply_operator(ctx, op),
        }
    }

    // Inline: once a request, from the arrival handler; the call and its saved registers were an eighth of its cost.
    #[inline(always)]
    pub(super) fn schedule_next_arrival(&mut self, ctx: &mut Ctx<Event>) {
        let rate = self.cfg.arrival_rate * self.rate_multiplier;
        if rate > 0.0 {
            let gap_us = self.rng_arrivals.exponential(1e6 / rate).min(MAX_WAIT as f64);
            self.arrival_exact_us += gap_us;
            let at = (self.arrival_exact_us + 0.5) as SimTime; // nearest µs; `as` saturates
            ctx.push(at.max(ctx.now()), Event::Arrival { gen: self.arrival_gen });
        }
    }

    pub(super) fn on_arrival(&mut self, ctx: &mut Ctx<Event>, gen: u32) {
        if gen != self.arrival_gen {
            return;
        }
        self.schedule_next_arrival(ctx);
        self.arrived += 1;
        let host = self.rng_arrivals.below(self.cfg.hosts as u64) as usize;
        let to_primary = self.primary.is_some() && self.rng_arrivals.chance(self.cfg.primary_fraction);
        if self.requests.live_requests >= self.max_live_requests {
            self.reject();
            return;
        }
        let has_worker = self.cfg.workers_per_host.is_none_or(|w| self.hosts[host].busy_workers < w);
        if !has_worker && self.hosts[host].backlog.len() >= self.cfg.backlog_per_host as usize {
            self.reject();
            return;
        }
        let req = self.requests.alloc(ctx.now(), host, to_primary, false);
        if has_worker {
            self.start_request(ctx, req);
        } else {
            self.requests[req].phase = Phase::Backlog;
            self.hosts[host].backlog.push_back(req);
        }
    }

    /// The request takes a worker and makes its first connect.
    pub(super) fn start_request(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        let host = self.requests[req].host as usize;
        self.hosts[host].busy_workers += 1;
        self.worker_taken(ctx.now());
        self.step_requests += 1;
        self.requests[req].phase = Phase::Starting;
        match (self.requests[req].to_primary, self.primary) {
            (true, Some(p)) => self.connect(ctx, req, p),
            _ => self.route_replica(ctx, req),
        }
    }

    /// Ends a request that holds a worker: records it, frees the worker, and starts the next backlogged request.
    pub(super) fn finish(&mut self, ctx: &mut Ctx<Event>, req: u32, outcome: Outcome) {
        let r = self.requests[req];
        debug_assert!(
            !r.probe && matches!(r.phase, Phase::Starting | Phase::Connecting | Phase::Queued | Phase::Querying)
        );
        match outcome {
            Outcome::Completed => {
                self.completed += 1;
                let latency = ctx.now() - r.arrived_at;
                // The run's histogram takes the step's at each step end (`meter.rs`): one record per request
                // instead of two (each a bucket in a 15 KB array).
                self.step_latency.record(latency);
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
        self.worker_freed(ctx.now());
        self.requests.release(req);
        if self.starting_backlog {
            self.deferred_hosts.push(host);
            return;
        }
        if self.hosts[host].backlog.is_empty() {
            // Nothing waits for the freed worker, and no host is deferred (`deferred_hosts` fills only while
            // `starting_backlog` is set, and the loop below empties it): the loop would start nothing.
            return;
        }
        self.starting_backlog = true;
        let mut freed = Some(host);
        while let Some(host) = freed.take().or_else(|| self.deferred_hosts.pop()) {
            if let Some(next) = self.hosts[host].backlog.pop_front() {
                self.start_request(ctx, next);
            }
        }
        self.starting_backlog = false;
    }

    /// Builds the section and its engine: validates the config, seeds the first arrival and step end, and
    /// schedules the config's commands.
    pub(crate) fn build(config: Config, seed: u64) -> Result<Engine<Section>, String> {
        config.validate()?;
        let n = config.servers.len();
        let (replicas, replica_pos) = replica_list(&config);
        let hosts = (0..config.hosts)
            .map(|_| HostState {
                busy_workers: 0,
                backlog: VecDeque::new(),
                in_flight: vec![0; n],
                replicas: replicas.clone(),
            })
            .collect();
        let controllers = controllers(&config)?;
        let primary = config.servers.iter().position(|s| s.role == Role::Primary);
        let names: Vec<String> = config.servers.iter().map(|s| s.name.clone()).collect();
        // pt-heartbeat's phase against t = 0: unknown, so drawn from the seed (its own sub-stream).
        let stream = ReplStream::new(&config.replication, Rng::from_parts(seed, 0x6862).next_f64());
        let replication = (config.servers.iter())
            .map(|s| (primary.is_some() && s.role == Role::Replica).then(|| Replica::new(&stream)))
            .collect();
        let mut sim = Section {
            rng_arrivals: Rng::new(seed, Stream::Arrivals),
            rng_service: Rng::new(seed, Stream::Service),
            rng_balancing: Rng::new(seed, Stream::Balancing),
            servers: (0..n).map(|_| ServerState::new()).collect(),
            server_latencies: super::latencies::ServerLatencies::new(n),
            hosts,
            listening: controllers.iter().any(|c| c.listens()),
            by_load: controllers.iter().all(|c| c.picks_by_load()),
            controllers,
            primary,
            replica_pos,
            requests: Requests::new(n),
            arrival_gen: 0,
            arrival_exact_us: 0.0,
            starting_backlog: false,
            deferred_hosts: Vec::new(),
            max_live_requests: limits::max_live_requests(&config),
            rate_multiplier: 1.0,
            busy_workers: 0,
            workers_area: Default::default(),
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
            probe_buf: Vec::new(),
            effective_load: config.servers.iter().map(|s| s.load).collect(),
            ramps: vec![None; n],
            ramp_tick_pending: false,
            pinned: vec![None; n],
            controller_enabled: true,
            trace_every: 0,
            trace_countdown: 0,
            last_pick: None,
            rows: RowLog::new(limits::max_buffered_rows(config.servers.len())),
            scratch: Vec::with_capacity(n),
            pinned_scratch: Vec::new(),
            fast_pick: true,
            load_index: crate::controller::load_index::LoadIndex::new(
                &replicas.iter().map(|c| c.configured_load).collect::<Vec<_>>(),
            ),
            stream,
            replication,
            lag_peaks: vec![(0.0, 0.0); n],
            normal_reads: (0, 0.0, 0.0),
            scenario: super::label(&config.scenario),
            headline: super::headline_of(&config.scenario),
            columns: super::columns(&names),
            names,
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
}

/// The section's replicas as a host's candidate list, in config order, and each server's position in it (`None`
/// for the primary).
fn replica_list(config: &Config) -> (Vec<Candidate>, Vec<Option<u16>>) {
    let replicas: Vec<Candidate> = (config.servers.iter().enumerate())
        .filter(|(_, s)| s.role == Role::Replica)
        .map(|(i, s)| Candidate { server: i, configured_load: s.load, in_flight: 0 })
        .collect();
    let mut replica_pos = vec![None; config.servers.len()];
    for (pos, c) in replicas.iter().enumerate() {
        replica_pos[c.server] = Some(pos as u16);
    }
    (replicas, replica_pos)
}

/// One controller instance per app host, given the servers' roles.
fn controllers(config: &Config) -> Result<Vec<Box<dyn Controller>>, String> {
    let roles: Vec<Role> = config.servers.iter().map(|s| s.role).collect();
    let controllers = config.controller.instantiate_all(&roles, config.hosts as usize);
    if controllers.len() != config.hosts as usize {
        return Err(format!(
            "controller {} built {} instances for {} hosts",
            config.controller.name(),
            controllers.len(),
            config.hosts
        ));
    }
    Ok(controllers)
}
