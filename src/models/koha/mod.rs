//! The Koha model (seed 000, Koha bug 27078): three nodes behind a sticky HAProxy, each with Starman workers
//! whose Cache::Memcached::Fast clients spread a page's keys over all three nodes' memcached. Stopping every
//! service on a node changes nothing (its host refuses at once); pulling its cable makes every page on the
//! other two pay the connect timeout for each get and set of the keys that hash to it, because the client
//! never moves a dead server's keys and Koha leaves `max_failures` off. A blank host on the same IP refuses
//! again, and the slowness ends.
//!
//! Nouns: [`haproxy`] (front and health checks), [`node`] (Starman workers), [`memcached_client`] (one per
//! worker), [`memcached`] (the servers), [`placement`] (CRC-32 and ketama), [`page`] (a page's operations),
//! [`stats`] (phases and rows), [`commands`] (the verbs), [`config`] (the keys), [`lesson`] (story and page).
//! Physics and sources: SEED-MODELS.md §000 and REFERENCE.md §3–4.

pub mod commands;
pub mod config;
pub mod glossary;
pub mod haproxy;
pub mod lesson;
pub mod memcached;
pub mod memcached_client;
pub mod node;
pub mod page;
pub mod picture;
pub mod placement;
pub mod stats;
mod summary;

use crate::engine::picture::PictureSpec;
use serde_json::{Map, Value};

use crate::engine::commands::{parse_step, CommandCodec, CommandSpec, Parsed};
use crate::engine::keys::Params;
use crate::engine::run::{Run, RunInfo, Shell};
use crate::engine::scenario::{no_controller, KeyGroup, RunSpec, ScenarioDef};
use crate::engine::schema::{ChartSpec, Column};
use crate::engine::{Ctx, Engine, Model};
use crate::rng::{Rng, Stream};
use crate::time::{SimDuration, SimTime};

use commands::{verb, Command, TABLE};
use config::{Config, DB_QUERY, KEYS, MEMCACHED_HOSTS, NODES, NODE_NAMES};
use haproxy::{CheckAnswer, CheckConfig, Haproxy, SESSIONS};
use memcached::{Memcached, Tally};
use memcached_client::Outcome;
use node::{Node, Power, Worker};
use page::{Page, Stage};
use stats::{RowState, Stats};

/// The scenario's name.
pub const SCENARIO: &str = "koha-memcached-blackhole";
/// Run length when the front end gives none, s.
pub const DEFAULT_DURATION_S: f64 = 300.0;

/// The model's events.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// The next page reaches HAProxy.
    Arrival,
    /// A worker's current operation ended.
    Step {
        /// Node index.
        node: u8,
        /// Worker index.
        worker: u16,
        /// The worker's generation when the operation started.
        gen: u32,
    },
    /// HAProxy starts a health check of a node.
    Check {
        /// Node index.
        node: u8,
    },
    /// A health check's result arrives.
    CheckResult {
        /// Node index.
        node: u8,
        /// True when the web port answered.
        passed: bool,
    },
    /// A row step ends.
    Row,
}

/// The default incident as it happened, for the headline.
#[derive(Clone, Copy, Debug)]
struct Incident {
    phase: usize,
    node: usize,
    at: SimTime,
    keys_on_node: usize,
}

/// The whole cluster.
pub struct Koha {
    cfg: Config,
    checks: CheckConfig,
    keys: Vec<String>,
    nodes: Vec<Node>,
    servers: Vec<Memcached>,
    dropped: [bool; NODES],
    haproxy: Haproxy,
    arrivals: Rng,
    service: Rng,
    dispatch: Rng,
    stats: Stats,
    columns: Vec<Column>,
    incident: Option<Incident>,
    recovered_at: Option<SimTime>,
}

impl Koha {
    /// A warm, healthy cluster for `cfg`.
    pub fn new(cfg: Config, seed: u64) -> Koha {
        let keys = placement::key_names(cfg.cache_ops);
        let mut k = Koha {
            checks: CheckConfig::defaults(config::RTT),
            keys,
            nodes: Vec::new(),
            servers: Vec::new(),
            dropped: [false; NODES],
            haproxy: Haproxy::new(NODES),
            arrivals: Rng::new(seed, Stream::Arrivals),
            service: Rng::new(seed, Stream::Service),
            dispatch: Rng::new(seed, Stream::Balancing),
            stats: Stats::default(),
            columns: stats::columns(),
            incident: None,
            recovered_at: None,
            cfg,
        };
        for n in 0..NODES {
            let list = k.server_list(n);
            let placed = k.place(&list);
            k.nodes.push(Node::new(k.cfg.workers, list, placed));
        }
        for s in 0..NODES {
            let owned: Vec<bool> = (0..k.keys.len()).map(|i| k.nodes.iter().any(|n| n.placement[i] == s)).collect();
            k.servers.push(Memcached::warm(&owned));
        }
        k
    }

    /// The first events: arrivals, the health checks spread over one `inter`, and the rows.
    pub fn start(&mut self, ctx: &mut Ctx<Event>) {
        let first = self.interarrival();
        ctx.push(first, Event::Arrival);
        for n in 0..NODES {
            ctx.push(self.checks.first_check(n, NODES), Event::Check { node: n as u8 });
        }
        ctx.push(self.cfg.time_step, Event::Row);
    }

    /// The memcached servers node `n`'s koha-conf.xml lists.
    fn server_list(&self, n: usize) -> Vec<usize> {
        let all = if self.cfg.local_only { vec![n] } else { (0..NODES).collect() };
        all.into_iter().filter(|s| !self.dropped[*s]).collect()
    }

    fn place(&self, list: &[usize]) -> Vec<usize> {
        let hosts: Vec<(&str, &str)> = list.iter().map(|s| MEMCACHED_HOSTS[*s]).collect();
        placement::place(&self.keys, &hosts, list, self.cfg.hash)
    }

    fn interarrival(&mut self) -> SimDuration {
        (self.arrivals.exponential(1e6 / self.cfg.rate_per_s) as SimDuration).max(1)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The page's cache keys.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The server of each key for node `n`'s newly forked workers.
    pub fn placement(&self, n: usize) -> &[usize] {
        &self.nodes[n].placement
    }

    /// The figures so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// HAProxy's state.
    pub fn haproxy(&self) -> &Haproxy {
        &self.haproxy
    }

    /// The worker processes of node `n`.
    pub fn workers(&self, n: usize) -> &[Worker] {
        &self.nodes[n].workers
    }

    /// The memcached servers.
    pub fn servers(&self) -> &[Memcached] {
        &self.servers
    }

    fn on_arrival(&mut self, ctx: &mut Ctx<Event>) {
        self.stats.arrival();
        let session = self.arrivals.below(SESSIONS as u64) as usize;
        let next = self.interarrival();
        ctx.after(next, Event::Arrival);
        let Some(n) = self.haproxy.route(session) else { return self.stats.lost(1) };
        if self.nodes[n].power != Power::Up {
            // HAProxy still sends here until its checks fail; the page fails (refused, or timed out).
            return self.stats.lost(1);
        }
        match self.nodes[n].pool.offer(Page::new(ctx.now()), &mut self.dispatch) {
            crate::parts::pool::Admit::Started(w, page) => {
                self.nodes[n].ledger.admitted += 1;
                self.start_page(ctx, n, w as usize, page)
            }
            crate::parts::pool::Admit::Queued => self.nodes[n].ledger.admitted += 1,
            crate::parts::pool::Admit::Rejected(_) => self.stats.lost(1),
        }
    }

    fn start_page(&mut self, ctx: &mut Ctx<Event>, n: usize, w: usize, mut page: Page) {
        page.started = ctx.now();
        page.phase = self.stats.current_phase();
        self.nodes[n].workers[w].page = Some(page);
        self.advance(ctx, n, w);
    }

    /// Runs worker `w`'s page from its current stage until an operation takes time, or the page ends.
    fn advance(&mut self, ctx: &mut Ctx<Event>, n: usize, w: usize) {
        let now = ctx.now();
        let answers: [_; NODES] = std::array::from_fn(|s| self.nodes[s].power.memcached(self.servers[s].incarnation()));
        let keys = self.keys.len();
        // Bounded: each pass moves the page one stage on, and a page has at most 3 stages per key plus one.
        for _ in 0..=3 * keys + 1 {
            let worker = &mut self.nodes[n].workers[w];
            let Some(mut page) = worker.page else { return };
            if page.stage == Stage::Done {
                return self.finish(ctx, n, w);
            }
            let (cost, hit) = match page.stage {
                Stage::Work => {
                    let cost = (self.service.exponential(self.cfg.base as f64) as SimDuration).max(1);
                    page.split.work += cost;
                    (cost, false)
                }
                Stage::Db(_) => {
                    page.split.db += DB_QUERY;
                    (DB_QUERY, false)
                }
                Stage::Get(k) | Stage::Set(k) => {
                    let s = worker.placement[k as usize];
                    let (cost, outcome) = worker.client.command(&self.cfg.client, s, answers[s], now);
                    let get = matches!(page.stage, Stage::Get(_));
                    let hit = cache_result(&mut self.servers[s], &mut page, k as usize, get, cost, outcome);
                    (cost, hit)
                }
                Stage::Done => (0, false),
            };
            page.stage = page.next_stage(hit, keys);
            worker.page = Some(page);
            if cost > 0 {
                let gen = worker.gen;
                ctx.after(cost, Event::Step { node: n as u8, worker: w as u16, gen });
                return;
            }
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<Event>, n: usize, w: usize) {
        let now = ctx.now();
        let node = &mut self.nodes[n];
        let Some(page) = node.workers[w].page.take() else { return };
        self.stats.finished(n, &page, now);
        node.ledger.finished += 1;
        node.workers[w].served += 1;
        if node.workers[w].served >= self.cfg.max_requests || node.workers[w].restart_pending {
            node.fork(w);
        }
        if let Some(next) = node.pool.release(w as u32, now) {
            self.start_page(ctx, n, w, next);
        }
    }

    fn on_check(&mut self, ctx: &mut Ctx<Event>, n: usize) {
        let answer = self.nodes[n].power.web();
        let delay = self.checks.result_delay(answer);
        ctx.after(delay, Event::CheckResult { node: n as u8, passed: answer == CheckAnswer::Ok });
        ctx.after(self.checks.inter, Event::Check { node: n as u8 });
    }

    fn on_check_result(&mut self, now: SimTime, n: usize, passed: bool) {
        if let Some(up) = self.haproxy.on_check(&self.checks, n, passed, now) {
            self.stats.transition(now, n, up);
        }
    }

    fn on_row(&mut self, ctx: &mut Ctx<Event>) {
        let state = RowState {
            busy: std::array::from_fn(|n| self.nodes[n].pool.busy_count()),
            backlog: std::array::from_fn(|n| self.nodes[n].pool.backlog_len()),
            haproxy_up: std::array::from_fn(|n| self.haproxy.is_up(n)),
            servers: std::array::from_fn(|s| &self.servers[s].step),
        };
        self.stats.row(ctx.now(), &state);
        self.servers.iter_mut().for_each(|s| s.step = Default::default());
        if ctx.now() + self.cfg.time_step <= self.cfg.duration {
            ctx.after(self.cfg.time_step, Event::Row);
        }
    }

    /// A fault on node `n`: what runs on its IP changes; pages in its workers and backlog die.
    fn fault(&mut self, now: SimTime, n: usize, power: Power) {
        if self.nodes[n].power == Power::Up {
            let killed = self.nodes[n].kill_all(now);
            self.stats.lost(killed);
        }
        self.nodes[n].power = power;
    }

    fn recover(&mut self, n: usize) {
        if self.nodes[n].power != Power::Up {
            self.nodes[n].power = Power::Up;
            self.servers[n].restart();
            for w in 0..self.nodes[n].workers.len() {
                self.nodes[n].fork(w);
            }
        }
    }

    /// A changed koha-conf.xml: new server lists and placements; idle workers restart now, busy ones after
    /// their page (Plack's graceful restart).
    fn relist(&mut self) {
        for n in 0..NODES {
            let list = self.server_list(n);
            let placed = self.place(&list);
            let node = &mut self.nodes[n];
            node.servers = list;
            node.placement = placed;
            for w in 0..node.workers.len() {
                if node.workers[w].page.is_some() {
                    node.workers[w].restart_pending = true;
                } else {
                    node.fork(w);
                }
            }
        }
    }

    fn record_incident(&mut self, now: SimTime, c: &Command) {
        if self.incident.is_none() && c.is_fault() {
            let survivors: Vec<usize> = (0..NODES).filter(|s| *s != c.node).collect();
            let keys_on_node =
                survivors.first().map_or(0, |s| self.nodes[*s].placement.iter().filter(|p| **p == c.node).count());
            let phase = self.stats.phases.len() - 1;
            self.incident = Some(Incident { phase, node: c.node, at: now, keys_on_node });
        } else if c.verb == verb::RECOVER
            && self.incident.is_some_and(|i| i.node == c.node)
            && self.recovered_at.is_none()
        {
            self.recovered_at = Some(now);
        }
    }
}

/// Counts one get or set on its server and on the page; returns true for a get that hit.
fn cache_result(
    server: &mut Memcached,
    page: &mut Page,
    k: usize,
    get: bool,
    cost: SimDuration,
    outcome: Outcome,
) -> bool {
    match outcome {
        Outcome::ConnectTimeout | Outcome::IoTimeout => {
            page.split.timeouts += cost;
            if outcome == Outcome::ConnectTimeout {
                page.split.connect_timeouts += 1;
            } else {
                page.split.io_timeouts += 1;
            }
            server.tally(Tally::Timeout);
            false
        }
        Outcome::Skipped => {
            page.split.skips += 1;
            server.tally(Tally::Skip);
            false
        }
        Outcome::Refused | Outcome::Done => {
            page.split.cache += cost;
            let live = outcome == Outcome::Done;
            if !get {
                if live {
                    server.store(k);
                }
                server.tally(Tally::Set);
                return false;
            }
            let hit = live && server.holds(k);
            server.tally(if hit { Tally::Hit } else { Tally::Miss });
            hit
        }
    }
}

impl Model for Koha {
    type Event = Event;
    type Command = Command;

    fn event_word(e: &Event) -> u64 {
        match *e {
            Event::Arrival => 1,
            Event::Step { node, worker, gen } => 2 | (node as u64) << 8 | (worker as u64) << 16 | (gen as u64) << 32,
            Event::Check { node } => 3 | (node as u64) << 8,
            Event::CheckResult { node, passed } => 4 | (node as u64) << 8 | (passed as u64) << 16,
            Event::Row => 5,
        }
    }

    fn command_words(c: &Command, hash: &mut dyn FnMut(u64)) {
        hash(c.verb as u64);
        hash(c.node as u64);
    }

    fn on_event(&mut self, ctx: &mut Ctx<Event>, e: Event) {
        match e {
            Event::Arrival => self.on_arrival(ctx),
            Event::Step { node, worker, gen } => {
                let (n, w) = (node as usize, worker as usize);
                if self.nodes[n].workers.get(w).is_some_and(|x| x.gen == gen && x.page.is_some()) {
                    self.advance(ctx, n, w);
                }
            }
            Event::Check { node } => self.on_check(ctx, node as usize),
            Event::CheckResult { node, passed } => self.on_check_result(ctx.now(), node as usize, passed),
            Event::Row => self.on_row(ctx),
        }
    }

    fn validate(&self, c: &Command) -> Result<(), String> {
        if c.node >= NODES || c.verb >= TABLE.len() {
            return Err(format!("no such command or node; nodes: {}", NODE_NAMES.join(", ")));
        }
        if c.verb == verb::DROP_SERVER {
            let mut dropped = self.dropped;
            dropped[c.node] = true;
            let empty = (0..NODES).find(|n| {
                let listed = if self.cfg.local_only { vec![*n] } else { (0..NODES).collect() };
                listed.iter().all(|s| dropped[*s])
            });
            if let Some(n) = empty {
                return Err(format!(
                    "drop-server:{}: {} would have no memcached server left",
                    NODE_NAMES[c.node], NODE_NAMES[n]
                ));
            }
        }
        Ok(())
    }

    fn on_command(&mut self, ctx: &mut Ctx<Event>, c: &Command) {
        let now = ctx.now();
        let label = format!("{}:{}", c.verb_text(), NODE_NAMES[c.node]);
        self.stats.begin_phase(now, label, c.verb_text(), Some(c.node));
        self.record_incident(now, c);
        match c.verb {
            verb::POWER_OFF => self.fault(now, c.node, Power::PoweredOff),
            verb::SERVICES_STOPPED => self.fault(now, c.node, Power::ServicesStopped),
            verb::VIRGIN_NODE => self.fault(now, c.node, Power::Virgin),
            verb::RECOVER => self.recover(c.node),
            verb::DROP_SERVER => {
                self.dropped[c.node] = true;
                self.relist();
            }
            _ => {
                self.dropped[c.node] = false;
                self.relist();
            }
        }
    }
}

impl CommandCodec for Koha {
    type Command = Command;
    fn table(&self) -> &'static [CommandSpec] {
        TABLE
    }
    fn target_names(&self, _kind: &str) -> Vec<String> {
        NODE_NAMES.iter().map(|s| s.to_string()).collect()
    }
    fn from_parsed(&self, p: &Parsed) -> Result<Command, String> {
        commands::from_parsed(p)
    }
    fn to_parsed(&self, c: &Command) -> Option<Parsed> {
        commands::to_parsed(c)
    }
}

impl Shell for Koha {
    fn info(&self) -> RunInfo<'_> {
        RunInfo::new(SCENARIO, self.cfg.duration, self.cfg.time_step, &self.columns)
    }
    fn drain_rows(&mut self, out: &mut Vec<Vec<f64>>) {
        self.stats.drain_rows(out);
    }
    fn summary_fields(&self, now: SimTime) -> Map<String, Value> {
        summary::fields(self, now)
    }
    fn check_invariants(&self, now: SimTime) -> Result<(), String> {
        summary::check(self, now)
    }
    fn charts(&self) -> &'static [ChartSpec] {
        lesson::CHARTS
    }
    fn picture(&self) -> Option<&'static PictureSpec> {
        Some(&picture::PICTURE)
    }
    fn setting(&self, name: &str) -> Option<f64> {
        (name == "workers").then_some(self.cfg.workers as f64)
    }
}

/// Builds a run of the scenario: keys checked against [`KEYS`], the default incident and every `fault` step
/// scheduled.
pub fn build(def: &'static ScenarioDef, spec: &RunSpec) -> Result<Box<dyn Run>, String> {
    Ok(Box::new(build_engine(def, spec)?))
}

/// [`build`], keeping the concrete engine (tests read the model through it).
pub fn build_engine(def: &ScenarioDef, spec: &RunSpec) -> Result<Engine<Koha>, String> {
    no_controller(def, spec)?;
    let params = Params::parse(KEYS, def.name, &spec.sets)?;
    let cfg =
        Config::from_params(&params, spec.duration_s.unwrap_or(DEFAULT_DURATION_S), spec.time_step_s.unwrap_or(1.0))?;
    let (kind, node, at, recover_at) = (cfg.fault_kind, cfg.fault_node, cfg.fault_at, cfg.recover_at);
    let mut engine = Engine::with_ctx(Koha::new(cfg, spec.seed), spec.seed, |m, ctx| m.start(ctx));
    if kind <= verb::VIRGIN_NODE {
        engine.schedule(at, Command { verb: kind, node })?;
        if let Some(r) = recover_at {
            engine.schedule(r, Command { verb: verb::RECOVER, node })?;
        }
    }
    let steps: Vec<String> = params.steps("fault").map(str::to_string).collect();
    for text in steps {
        let (at, command) = parse_step(engine.model(), &text).map_err(|e| format!("fault: {e}"))?;
        engine.schedule(at, command)?;
    }
    Ok(engine)
}

/// The page's groups of the Koha model's settings.
pub const KEY_GROUPS: &[KeyGroup] = &[
    ("Traffic", &["rate", "cache_ops", "base_ms"]),
    ("Starman workers", &["workers", "max_requests"]),
    (
        "Memcached client",
        &["connect_timeout_ms", "io_timeout_ms", "max_failures", "failure_timeout_s", "hash", "memcached_servers"],
    ),
    ("Faults", &["fault_kind", "fault_node", "fault_at", "recover_at"]),
];

/// The Koha model's scenarios.
pub const SCENARIOS: &[ScenarioDef] = &[ScenarioDef {
    name: SCENARIO,
    model: "koha",
    summary: "three Koha nodes behind HAProxy; pulling koha1's cable makes every page on koha2 and koha3 pay memcached's connect timeout for each key on koha1",
    seed_file: "000_3386efa81d69e709.txt",
    keys: KEYS,
    takes_controller: false,
    story: &lesson::STORY,
    lesson: lesson::LESSON,
    lesson_controller: None,
        glossary: glossary::GLOSSARY,
        challenges: &[],
    lesson_sets: lesson::LESSON_SETS,
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
