//! The Sahana model's state and event handlers: the request's path through workers, locks, the router and
//! each connection's TCP timers. Parts return outcomes; only this file decides what follows.

use super::commands::{self, Command};
use super::config::{Config, CouplingMode, OnExpiry};
use super::coupling::Coupling;
use super::ledger::Ledger;
use super::router::{Expiry, FlowTable, Forward};
use super::rows;
use super::tcp::{Closed, Conn, KeepaliveStep, RtoStep};
use super::traffic::Profile;
use super::worker::{Lane, Req, Workers};
use crate::engine::schema::Column;
use crate::engine::{Ctx, Model};
use crate::parts::pool::Admit;
use crate::parts::row_log::RowLog;
use crate::rng::{Rng, Stream};
use crate::time::{from_millis_f64, from_secs_f64, SimTime};

/// Rows buffered between two drains; older rows are dropped (and counted) beyond it.
pub const MAX_ROWS_BUFFERED: usize = 100_000;

/// The model's events. Timers carry a generation number; a stale one is ignored when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A candidate arrival of the thinned Poisson stream.
    Arrival {
        /// Arrival-stream generation (a live rate change restarts the stream).
        gen: u32,
    },
    /// The database answered worker `worker`'s query.
    QueryDone {
        /// Worker, from 0.
        worker: u32,
        /// The worker's request generation.
        gen: u32,
    },
    /// Worker `worker`'s connection's retransmission timer.
    Rto {
        /// Worker, from 0.
        worker: u32,
        /// Timer generation.
        gen: u32,
    },
    /// Worker `worker`'s connection's keepalive timer.
    Keepalive {
        /// Worker, from 0.
        worker: u32,
        /// Timer generation.
        gen: u32,
    },
    /// The router's expiry timer for worker `worker`'s flow.
    FlowExpiry {
        /// Worker, from 0.
        worker: u32,
        /// Timer generation.
        gen: u32,
    },
    /// The end of a metrics step.
    Sample,
}

/// The whole Sahana model: app server, router, connections, locks and the ledger.
pub struct Sahana {
    pub(super) scenario: &'static str,
    pub(super) cfg: Config,
    pub(super) profile: Profile,
    pub(super) workers: Workers,
    pub(super) conns: Vec<Conn>,
    pub(super) router: FlowTable,
    pub(super) coupling: Coupling,
    pub(super) ledger: Ledger,
    pub(super) names: Vec<String>,
    pub(super) columns: Vec<Column>,
    pub(super) rows: RowLog<Vec<f64>>,
    pub(super) step_counts: (u64, u64, u64),
    arrivals_rng: Rng,
    service_rng: Rng,
    dispatch_rng: Rng,
    session_rng: Rng,
    arrival_gen: u32,
    scratch: Vec<(f64, u64)>,
}

impl Sahana {
    /// A model of `scenario` with `cfg`, its random streams drawn from `seed`. Its first events come from
    /// [`Sahana::start`].
    pub fn new(scenario: &'static str, cfg: Config, seed: u64) -> Sahana {
        let names = rows::worker_names(cfg.workers);
        let profile =
            Profile { rate: cfg.rate, quiet_rate: cfg.quiet_rate, quiet_until: cfg.quiet_until, day: cfg.day };
        Sahana {
            scenario,
            profile,
            workers: Workers::new(cfg.workers, cfg.listen_queue, cfg.dispatch),
            conns: vec![Conn::default(); cfg.workers as usize],
            router: FlowTable::new(cfg.workers, cfg.router_idle_timeout, cfg.on_expiry),
            coupling: Coupling::new(cfg.coupling, cfg.sessions),
            ledger: Ledger::default(),
            columns: rows::columns(&names),
            names,
            rows: RowLog::new(MAX_ROWS_BUFFERED),
            step_counts: (0, 0, 0),
            arrivals_rng: Rng::new(seed, Stream::Arrivals),
            service_rng: Rng::new(seed, Stream::Service),
            dispatch_rng: Rng::new(seed, Stream::Balancing),
            session_rng: Rng::new(seed, Stream::Control),
            arrival_gen: 0,
            scratch: Vec::new(),
            cfg,
        }
    }

    /// The first events: every worker connects at 0 (its flow and keepalive timers start), the arrival stream
    /// starts and so do the metric steps.
    pub fn start(&mut self, ctx: &mut Ctx<Event>) {
        for w in 0..self.cfg.workers {
            self.reconnect(ctx, w);
        }
        self.next_arrival(ctx);
        ctx.after(self.cfg.time_step, Event::Sample);
    }

    /// The configuration in force (live commands change some of it).
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The ledger so far.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Worker `w`'s lane.
    pub fn lane(&self, w: u32) -> Lane {
        self.workers.slot(w).lane
    }

    /// Requests in the system: held by workers or waiting in the listen queue.
    pub fn in_system(&self) -> u64 {
        self.workers.holding() + self.workers.pool().backlog_len() as u64
    }

    /// Requests each worker completed over the run.
    pub fn completed_by(&self, w: u32) -> u64 {
        self.workers.completed(w)
    }

    fn next_arrival(&mut self, ctx: &mut Ctx<Event>) {
        if let Some(at) = self.profile.next_candidate(ctx.now(), &mut self.arrivals_rng) {
            ctx.push(at, Event::Arrival { gen: self.arrival_gen });
        }
    }

    fn on_arrival(&mut self, ctx: &mut Ctx<Event>, gen: u32) {
        if gen != self.arrival_gen {
            return;
        }
        self.next_arrival(ctx);
        let now = ctx.now();
        if !self.profile.keep(now, &mut self.arrivals_rng) {
            return;
        }
        self.ledger.arrivals += 1;
        let session = if self.cfg.coupling == CouplingMode::SessionLock {
            self.session_rng.below(self.cfg.sessions as u64) as u32
        } else {
            0
        };
        let before = self.in_system();
        match self.workers.offer(Req { arrived: now, session, stalled: false }, now, &mut self.dispatch_rng) {
            Admit::Started(w, _) => {
                self.ledger.admitted(now, before);
                self.begin(ctx, w);
            }
            Admit::Queued => self.ledger.admitted(now, before),
            Admit::Rejected(_) => self.ledger.rejected += 1,
        }
    }

    /// Worker `w` has just taken its request: its session lock first (session_lock), then its query.
    fn begin(&mut self, ctx: &mut Ctx<Event>, w: u32) {
        let Some(req) = self.workers.slot(w).req else { return };
        if !self.coupling.enter_session(req.session, w) {
            self.block(w);
            return;
        }
        self.query(ctx, w);
    }

    fn block(&mut self, w: u32) {
        if self.lane(w) != Lane::Blocked {
            self.ledger.lock_waits += 1;
            self.workers.set_lane(w, Lane::Blocked);
        }
    }

    /// Worker `w` holds its session (if any) and sends its query, unless a stuck call holds every call.
    fn query(&mut self, ctx: &mut Ctx<Event>, w: u32) {
        if !self.coupling.before_query(w) {
            self.block(w);
            return;
        }
        self.workers.set_lane(w, Lane::Busy);
        self.send(ctx, w);
    }

    /// The query leaves on worker `w`'s connection (reopened first if closed) and meets the router.
    fn send(&mut self, ctx: &mut Ctx<Event>, w: u32) {
        let now = ctx.now();
        if let Some(why) = self.conns[w as usize].closed {
            if why == Closed::Keepalive {
                self.ledger.fast_reconnects += 1;
            }
            self.reconnect(ctx, w);
        }
        // At most two passes: a reset closes the connection, the reopened one has a live flow.
        for _ in 0..2 {
            match self.router.forward(w, now) {
                Forward::Pass => {
                    self.conns[w as usize].send();
                    let service = from_millis_f64(self.service_rng.exponential(self.cfg.service as f64 / 1e3));
                    ctx.after(service.max(1), Event::QueryDone { worker: w, gen: self.workers.slot(w).gen });
                    return;
                }
                Forward::Drop => {
                    self.conns[w as usize].send();
                    let (at, gen) = self.conns[w as usize].start_retransmit(now, &self.cfg.tcp);
                    ctx.push(at, Event::Rto { worker: w, gen });
                    self.workers.set_lane(w, Lane::Stuck);
                    self.workers.mark_stalled(w);
                    self.coupling.stuck(w);
                    self.ledger.stall_started(now, w);
                    return;
                }
                Forward::Reset => {
                    self.ledger.resets += 1;
                    self.conns[w as usize].close(Closed::Reset);
                    self.reconnect(ctx, w);
                }
            }
        }
    }

    /// Opens a fresh connection for worker `w`: a new flow at the router, fresh keepalive timers.
    fn reconnect(&mut self, ctx: &mut Ctx<Event>, w: u32) {
        let now = ctx.now();
        if let Some((at, gen)) = self.conns[w as usize].connect(now, &self.cfg.tcp) {
            ctx.push(at, Event::Keepalive { worker: w, gen });
        }
        if let Some((at, gen)) = self.router.open(w, now) {
            ctx.push(at, Event::FlowExpiry { worker: w, gen });
        }
    }

    fn on_query_done(&mut self, ctx: &mut Ctx<Event>, w: u32, gen: u32) {
        if gen != self.workers.slot(w).gen || self.lane(w) != Lane::Busy || !self.conns[w as usize].in_flight {
            return;
        }
        let now = ctx.now();
        // The answer passes the router too (and refreshes the flow); the flow cannot have expired during a
        // query shorter than the router's timeout.
        self.router.forward(w, now);
        self.conns[w as usize].answered(now);
        self.complete(ctx, w);
    }

    /// Worker `w`'s request is answered: its session lock passes on, and the worker takes the next request.
    fn complete(&mut self, ctx: &mut Ctx<Event>, w: u32) {
        let now = ctx.now();
        let (done, next) = self.workers.finish(w, now);
        if let Some(req) = done {
            self.ledger.completed(now, req.arrived, req.stalled);
            if let Some(heir) = self.coupling.leave_session(req.session, w) {
                self.query(ctx, heir);
            }
        }
        if next.is_some() {
            self.begin(ctx, w);
        }
    }

    fn on_rto(&mut self, ctx: &mut Ctx<Event>, w: u32, gen: u32) {
        let now = ctx.now();
        match self.conns[w as usize].on_rto(gen, now, &self.cfg.tcp) {
            RtoStep::Stale => {}
            RtoStep::Retransmit { at } => match self.router.forward(w, now) {
                Forward::Drop | Forward::Pass => ctx.push(at, Event::Rto { worker: w, gen }),
                Forward::Reset => {
                    let started = self.conns[w as usize].retrans.map_or(now, |r| r.started);
                    self.ledger.resets += 1;
                    self.conns[w as usize].close(Closed::Reset);
                    self.stall_over(ctx, w, now - started);
                }
            },
            RtoStep::TimedOut { stalled } => self.stall_over(ctx, w, stalled),
        }
    }

    /// Worker `w`'s stall ended after `stalled` µs with its connection closed: it reconnects and its query goes
    /// through at once; the workers waiting behind it send theirs.
    fn stall_over(&mut self, ctx: &mut Ctx<Event>, w: u32, stalled: u64) {
        self.ledger.stall_ended(w, stalled, false);
        self.router.forget(w);
        let waiting = self.coupling.unstuck(w);
        self.workers.set_lane(w, Lane::Busy);
        self.send(ctx, w);
        for x in waiting {
            self.query(ctx, x);
        }
    }

    fn on_keepalive(&mut self, ctx: &mut Ctx<Event>, w: u32, gen: u32) {
        let now = ctx.now();
        let tcp = self.cfg.tcp;
        match self.conns[w as usize].on_keepalive(gen, now, &tcp) {
            KeepaliveStep::Stale => {}
            KeepaliveStep::Wait(at) => ctx.push(at, Event::Keepalive { worker: w, gen }),
            KeepaliveStep::Probe => match self.router.forward(w, now) {
                Forward::Reset => {
                    self.ledger.resets += 1;
                    self.conns[w as usize].close(Closed::Reset);
                }
                answer => {
                    let at = self.conns[w as usize].probe_sent(now, answer == Forward::Pass, &tcp);
                    ctx.push(at, Event::Keepalive { worker: w, gen });
                }
            },
            KeepaliveStep::Close => {
                self.ledger.keepalive_closes += 1;
                self.router.forget(w);
            }
        }
    }

    fn on_flow_expiry(&mut self, ctx: &mut Ctx<Event>, w: u32, gen: u32) {
        if let Expiry::Later(at) = self.router.on_timer(w, gen, ctx.now()) {
            ctx.push(at, Event::FlowExpiry { worker: w, gen });
        }
    }

    /// Kills worker `w` and respawns it: its request is lost, its locks pass on, it reconnects at once.
    fn kill(&mut self, ctx: &mut Ctx<Event>, w: u32) {
        let now = ctx.now();
        let slot = *self.workers.slot(w);
        if slot.lane == Lane::Stuck {
            let started = self.conns[w as usize].retrans.map_or(now, |r| r.started);
            self.ledger.stall_ended(w, now - started, true);
        }
        let (lost, next) = self.workers.kill(w, now);
        if lost.is_some() {
            self.ledger.killed += 1;
        }
        let session = lost.filter(|_| self.cfg.coupling == CouplingMode::SessionLock).map(|r| r.session);
        let wake = self.coupling.abandon(w, session);
        self.conns[w as usize].close(Closed::Gone);
        self.router.forget(w);
        self.reconnect(ctx, w);
        for x in wake {
            self.query(ctx, x);
        }
        if next.is_some() {
            self.begin(ctx, w);
        }
    }

    fn set_keepalive_idle(&mut self, ctx: &mut Ctx<Event>, idle_s: f64) {
        self.cfg.tcp.keepalive_idle = from_secs_f64(idle_s);
        for w in 0..self.cfg.workers {
            if let Some((at, gen)) = self.conns[w as usize].keepalive_timer(ctx.now(), &self.cfg.tcp) {
                ctx.push(at, Event::Keepalive { worker: w, gen });
            }
        }
    }

    fn set_router_timeout(&mut self, ctx: &mut Ctx<Event>, timeout_s: f64) {
        self.cfg.router_idle_timeout = from_secs_f64(timeout_s);
        for (w, at, gen) in self.router.set_idle_timeout(self.cfg.router_idle_timeout, ctx.now()) {
            ctx.push(at, Event::FlowExpiry { worker: w, gen });
        }
    }

    fn set_rate(&mut self, ctx: &mut Ctx<Event>, rate: f64) {
        self.cfg.rate = rate;
        self.profile.rate = rate;
        self.arrival_gen = self.arrival_gen.wrapping_add(1);
        self.next_arrival(ctx);
    }

    /// Worker `w`'s flow state code (see [`rows`]).
    pub fn flow_state(&self, w: u32) -> u8 {
        let c = &self.conns[w as usize];
        if !c.is_open() {
            3
        } else if c.retrans.is_some() {
            2
        } else if !self.router.flow(w).alive {
            1
        } else {
            0
        }
    }

    fn on_sample(&mut self, ctx: &mut Ctx<Event>) {
        let now = ctx.now();
        ctx.after(self.cfg.time_step, Event::Sample);
        let mut per = std::mem::take(&mut self.scratch);
        self.workers.close_step(now, self.cfg.time_step, &mut per);
        let l = &self.ledger;
        let (a, c, r) = self.step_counts;
        let lanes: Vec<Lane> = (0..self.cfg.workers).map(|w| self.lane(w)).collect();
        let count = |lane: Lane| lanes.iter().filter(|l| **l == lane).count() as f64;
        let mut row = vec![
            now as f64 / 1e6,
            (l.arrivals - a) as f64,
            (l.completed - c) as f64,
            (l.rejected - r) as f64,
            self.workers.pool().backlog_len() as f64,
            count(Lane::Stuck),
            count(Lane::Blocked),
        ];
        self.step_counts = (l.arrivals, l.completed, l.rejected);
        for (w, (busy, served)) in per.iter().enumerate() {
            let idle_age = now.saturating_sub(self.router.flow(w as u32).last_seen) as f64 / 1e6;
            row.extend([*busy, *served as f64, idle_age, self.flow_state(w as u32) as f64, lanes[w] as u8 as f64]);
        }
        let hunting = rows::hunting_shares(self.cfg.workers, self.profile.rate_at(now) * self.cfg.service as f64 / 1e6);
        let total = self.ledger.completed.max(1) as f64;
        for w in 0..self.cfg.workers {
            let share = self.workers.completed(w) as f64 / total;
            row.extend([self.conns[w as usize].retransmits as f64, share, hunting[w as usize]]);
        }
        self.scratch = per;
        self.rows.push(row);
    }
}

impl Sahana {
    /// Every conservation law and bound of the model; the first violation, in one line.
    pub fn check(&self, now: SimTime) -> Result<(), String> {
        self.workers.check()?;
        self.coupling.check(self.cfg.workers)?;
        let l = &self.ledger;
        let accounted = l.completed + l.rejected + l.killed + self.in_system();
        if l.arrivals != accounted {
            return Err(format!(
                "{} arrivals but {} completed + {} rejected + {} killed + {} in the system",
                l.arrivals,
                l.completed,
                l.rejected,
                l.killed,
                self.in_system()
            ));
        }
        let mut stuck = 0;
        for w in 0..self.cfg.workers {
            self.check_worker(w, now)?;
            stuck += (self.lane(w) == Lane::Stuck) as u32;
        }
        if self.cfg.coupling == CouplingMode::GlobalLock && stuck > 1 {
            return Err(format!("{stuck} workers stuck at once under global_lock"));
        }
        if let Some(h) = self.coupling.stuck_holder().filter(|h| self.lane(*h) != Lane::Stuck) {
            return Err(format!("{} holds the stuck-call lock but is not stuck", self.names[h as usize]));
        }
        if self.rows.len() > MAX_ROWS_BUFFERED {
            return Err(format!("{} rows buffered, over {MAX_ROWS_BUFFERED}", self.rows.len()));
        }
        Ok(())
    }

    fn check_worker(&self, w: u32, now: SimTime) -> Result<(), String> {
        let name = &self.names[w as usize];
        let lane = self.lane(w);
        let c = &self.conns[w as usize];
        if (lane == Lane::Stuck) != c.retrans.is_some() {
            return Err(format!("{name}: lane {lane:?} but retransmitting {}", c.retrans.is_some()));
        }
        if c.retrans.is_some() && self.router.flow(w).alive {
            return Err(format!("{name}: retransmitting through a flow the router still knows"));
        }
        if (lane == Lane::Blocked) != self.coupling.is_waiting(w) {
            return Err(format!("{name}: lane {lane:?} but waiting for a lock {}", self.coupling.is_waiting(w)));
        }
        if matches!(lane, Lane::Busy | Lane::Stuck) != c.in_flight {
            return Err(format!("{name}: lane {lane:?} but query in flight {}", c.in_flight));
        }
        if self.router.flow(w).last_seen > now || c.last_rx > now {
            return Err(format!("{name}: flow or connection seen in the future"));
        }
        Ok(())
    }
}

impl Model for Sahana {
    type Event = Event;
    type Command = Command;

    fn event_word(e: &Event) -> u64 {
        let (kind, w, gen) = match *e {
            Event::Arrival { gen } => (1, 0, gen),
            Event::QueryDone { worker, gen } => (2, worker, gen),
            Event::Rto { worker, gen } => (3, worker, gen),
            Event::Keepalive { worker, gen } => (4, worker, gen),
            Event::FlowExpiry { worker, gen } => (5, worker, gen),
            Event::Sample => (6, 0, 0),
        };
        kind | (w as u64) << 8 | (gen as u64) << 32
    }

    fn command_words(c: &Command, hash: &mut dyn FnMut(u64)) {
        commands::words(c, hash)
    }

    fn on_event(&mut self, ctx: &mut Ctx<Event>, e: Event) {
        match e {
            Event::Arrival { gen } => self.on_arrival(ctx, gen),
            Event::QueryDone { worker, gen } => self.on_query_done(ctx, worker, gen),
            Event::Rto { worker, gen } => self.on_rto(ctx, worker, gen),
            Event::Keepalive { worker, gen } => self.on_keepalive(ctx, worker, gen),
            Event::FlowExpiry { worker, gen } => self.on_flow_expiry(ctx, worker, gen),
            Event::Sample => self.on_sample(ctx),
        }
    }

    fn validate(&self, c: &Command) -> Result<(), String> {
        commands::validate(c, self.cfg.workers)
    }

    fn on_command(&mut self, ctx: &mut Ctx<Event>, c: &Command) {
        match *c {
            Command::KillWorker(w) => self.kill(ctx, w),
            Command::ExpireFlow(w) => self.router.forget(w),
            Command::SetKeepaliveIdle(s) => self.set_keepalive_idle(ctx, s),
            Command::SetRouterTimeout(s) => self.set_router_timeout(ctx, s),
            Command::RouterRst => self.router.set_on_expiry(OnExpiry::Rst),
            Command::RouterDrop => self.router.set_on_expiry(OnExpiry::Drop),
            Command::SetRate(r) => self.set_rate(ctx, r),
            Command::SetUserTimeout(ms) => self.cfg.tcp.user_timeout = from_millis_f64(ms),
            Command::SetRetries2(n) => self.cfg.tcp.retries2 = n,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The checker itself: a healthy state passes, and each law, broken by hand, is reported by name.
    use super::super::build_engine;
    use super::{Lane, Sahana};
    use crate::engine::scenario::RunSpec;
    use crate::engine::Engine;

    /// Four workers under global_lock at 2 req/s from t = 0, the router forgetting flows idle 10 s: ordered
    /// dispatch leaves worker 4 idle past 10 s, its next query goes into a dead flow and retransmits for
    /// minutes, and every other worker's query waits behind it while the listen queue fills. Stepped until one
    /// worker is stuck, another blocked and requests queue, checking every law after each event.
    fn stuck_and_blocked() -> Engine<Sahana> {
        stuck_and_blocked_with(&[])
    }

    /// [`stuck_and_blocked`] with more keys.
    fn stuck_and_blocked_with(more: &[(&str, &str)]) -> Engine<Sahana> {
        let base = [("quiet_until_s", "0"), ("router_idle_timeout_s", "10"), ("rate", "2")];
        let sets = base.iter().chain(more).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let def = &crate::models::sahana::SCENARIOS[0];
        let spec = RunSpec { sets, seed: 4, duration_s: Some(3600.0), ..RunSpec::default() };
        let mut e = build_engine(def, &spec).unwrap();
        for _ in 0..1_000_000 {
            let m = e.model();
            let lanes: Vec<Lane> = (0..m.cfg.workers).map(|w| m.lane(w)).collect();
            if lanes.contains(&Lane::Stuck) && lanes.contains(&Lane::Blocked) && m.workers.pool().backlog_len() > 0 {
                assert_eq!(m.check(e.now()), Ok(()), "the healthy state fails");
                return e;
            }
            assert!(e.step_event(), "the run ended first");
            assert_eq!(e.model().check(e.now()), Ok(()));
        }
        panic!("never reached a stuck worker with blocked ones behind it");
    }

    fn find(m: &Sahana, lane: Lane) -> u32 {
        (0..m.cfg.workers).find(|w| m.lane(*w) == lane).unwrap()
    }

    /// Makes blocked worker `b` a second stuck one, consistently: out of the wait list, retransmitting into a
    /// forgotten flow with its query in flight.
    fn second_stuck(m: &mut Sahana) {
        let (s, b) = (find(m, Lane::Stuck), find(m, Lane::Blocked));
        m.coupling.abandon(b, None);
        m.workers.set_lane(b, Lane::Stuck);
        m.conns[b as usize].retrans = m.conns[s as usize].retrans;
        m.conns[b as usize].in_flight = true;
        m.router.forget(b);
    }

    /// Each corruption with the words its report must contain.
    #[allow(clippy::type_complexity)]
    const CORRUPTIONS: &[(&str, fn(&mut Sahana, u64))] = &[
        ("arrivals but", |m, _| m.ledger.arrivals += 1),
        ("pool busy", |m, _| {
            let b = find(m, Lane::Blocked);
            m.workers.set_lane(b, Lane::Idle);
        }),
        ("waits twice", |m, _| {
            let b = find(m, Lane::Blocked);
            m.coupling.before_query(b);
        }),
        ("but retransmitting", |m, _| {
            let s = find(m, Lane::Stuck);
            m.conns[s as usize].retrans = None;
        }),
        ("a flow the router still knows", |m, now| {
            let s = find(m, Lane::Stuck);
            m.router.open(s, now);
        }),
        ("waiting for a lock", |m, _| {
            let b = find(m, Lane::Blocked);
            m.workers.set_lane(b, Lane::Busy);
            m.conns[b as usize].in_flight = true;
        }),
        ("query in flight", |m, _| {
            let s = find(m, Lane::Stuck);
            m.conns[s as usize].in_flight = false;
        }),
        ("seen in the future", |m, now| m.conns[0].last_rx = now + 1),
        ("seen in the future", |m, now| {
            let s = find(m, Lane::Blocked);
            m.router.open(s, now + 1);
        }),
        ("2 workers stuck at once under global_lock", |m, _| second_stuck(m)),
        ("holds the stuck-call lock but is not stuck", |m, _| {
            let s = find(m, Lane::Stuck);
            m.workers.set_lane(s, Lane::Busy);
            m.conns[s as usize].retrans = None;
        }),
    ];

    #[test]
    fn every_corrupted_invariant_is_reported() {
        for (words, corrupt) in CORRUPTIONS {
            let mut e = stuck_and_blocked();
            let now = e.now();
            corrupt(e.model_mut_for_output(), now);
            match e.model().check(now) {
                Ok(()) => panic!("corruption '{words}' passed the checker"),
                Err(err) => assert!(err.contains(words), "corruption '{words}' reported as: {err}"),
            }
        }
    }

    /// With a listen queue of one, stepped until a request is rejected (the stuck call holds every worker), then
    /// the stuck worker killed, which loses its request; every law checked after each event and at the end.
    fn rejected_then_killed() -> Engine<Sahana> {
        let mut e = stuck_and_blocked_with(&[("listen_queue", "1")]);
        while e.model().ledger.rejected == 0 {
            assert!(e.step_event(), "the run ended first");
            assert_eq!(e.model().check(e.now()), Ok(()));
        }
        let stuck = find(e.model(), Lane::Stuck);
        e.apply(super::Command::KillWorker(stuck)).unwrap();
        assert_eq!(e.model().check(e.now()), Ok(()));
        e
    }

    /// Every request is counted once: completed, rejected, killed or still in the system. The ledger balances
    /// with rejections and a kill, and one rejection or one kill more than happened is reported.
    #[test]
    fn rejected_and_killed_requests_each_count_once() {
        let e = rejected_then_killed();
        let l = &e.model().ledger;
        assert_eq!(l.killed, 1, "the stuck worker's request is lost");
        assert!(l.rejected > 0 && l.completed > 0);
        #[allow(clippy::type_complexity)]
        let extra: [fn(&mut Sahana); 2] = [|m| m.ledger.rejected += 1, |m| m.ledger.killed += 1];
        for corrupt in extra {
            let mut e = rejected_then_killed();
            corrupt(e.model_mut_for_output());
            let err = e.model().check(e.now()).unwrap_err();
            assert!(err.contains("arrivals but"), "{err}");
        }
    }

    /// A reader that never drains the rows leaves the log exactly full (the oldest dropped and counted), and a
    /// full log is legal.
    #[test]
    fn a_full_row_log_is_legal() {
        let mut e = stuck_and_blocked();
        let now = e.now();
        let m = e.model_mut_for_output();
        let width = m.columns.len();
        for _ in 0..super::MAX_ROWS_BUFFERED + 5 {
            m.rows.push(vec![0.0; width]);
        }
        assert_eq!(m.rows.len(), super::MAX_ROWS_BUFFERED);
        assert!(m.rows.dropped() >= 5);
        assert_eq!(m.check(now), Ok(()));
    }

    /// The same second stuck worker is legal without the global lock (session_lock and none let stuck calls
    /// pile up), so the bound is global_lock's own.
    #[test]
    fn two_stuck_workers_are_legal_without_the_global_lock() {
        let mut e = stuck_and_blocked();
        let now = e.now();
        let m = e.model_mut_for_output();
        second_stuck(m);
        let blocked: Vec<u32> = (0..m.cfg.workers).filter(|w| m.lane(*w) == Lane::Blocked).collect();
        for b in blocked {
            m.coupling.abandon(b, None);
            m.workers.set_lane(b, Lane::Busy);
            m.conns[b as usize].in_flight = true;
        }
        let s = find(m, Lane::Stuck);
        m.coupling.unstuck(s);
        m.cfg.coupling = super::CouplingMode::None;
        assert_eq!(m.check(now), Ok(()));
    }
}
