//! Plain-data description of a simulated database section: servers, app hosts, traffic, limits and schedule.
//!
//! A `Config` is what a scenario builds and what `Sim::new` consumes. It holds no behaviour; every field carries its
//! unit in its name or its doc comment, with the default a scenario gives it.

use serde::{Deserialize, Serialize};

use crate::models::section::command::Command;
// A server's role is what the controllers read of it, so it lives with them; the config names it here too.
use crate::controller::ControllerSpec;
pub use crate::controller::Role;
use crate::time::{SimDuration, SimTime, MILLISECOND, SECOND};

/// Hard bounds that keep every run's memory finite, and the memory budget they add up to. Inputs beyond them are
/// rejected at configuration time with a one-line error naming the key to lower; this module is the one place
/// they are stated.
pub mod limits {
    use super::Config;

    /// Servers in a section. Nothing in a type caps it: the per-request "already tried" set has one bit per
    /// server, and per-host state grows with hosts × servers under [`MEMORY_BUDGET_BYTES`].
    pub const MAX_SERVERS: usize = 4096;
    /// App hosts, each with its own balancer state.
    pub const MAX_HOSTS: u32 = 10_000;
    /// Workers in one host's pool.
    pub const MAX_WORKERS: u32 = 1_000_000;
    /// Requests alive in the simulation at once, across all hosts. Arrivals beyond it are rejected and counted.
    pub const MAX_REQUESTS_IN_FLIGHT: u32 = 4_000_000;
    /// The shortest metrics step, µs: the CLI's `--time-step 0.001` floor, for files and keys alike.
    pub const MIN_TIME_STEP: u64 = super::MILLISECOND;
    /// Per-step rows kept for the reader before the oldest are dropped (and counted).
    pub const MAX_BUFFERED_ROWS: usize = 1 << 20;
    /// Bytes of per-step rows kept for the reader (64 MiB): the buffer holds at most this much whatever the
    /// number of servers, so a reader that drains late loses the oldest rows, not memory.
    pub const MAX_BUFFERED_ROW_BYTES: usize = 64 << 20;
    /// Per-step rows kept for a section of `servers` servers: [`MAX_BUFFERED_ROWS`], fewer when their bytes
    /// would pass [`MAX_BUFFERED_ROW_BYTES`].
    pub fn max_buffered_rows(servers: usize) -> usize {
        use crate::models::section::metrics::{ServerStep, StepRow};
        let row = std::mem::size_of::<StepRow>() + servers * std::mem::size_of::<ServerStep>();
        (MAX_BUFFERED_ROW_BYTES / row).clamp(1, MAX_BUFFERED_ROWS)
    }
    /// Scheduled commands in one config.
    pub const MAX_SCHEDULE: usize = 10_000;
    /// Large writes waiting or being applied on one replica's apply queue
    /// ([`crate::models::section::model`]'s replication). A config that schedules more on one server is refused;
    /// a live one beyond it is merged into the newest queued write (its apply time added to that write's).
    pub const MAX_PENDING_LARGE_WRITES: usize = 64;
    /// Total arrival rate, requests/s, surges included: ten a microsecond. The clock is an integer microsecond,
    /// and a run at this rate already costs about 3×10⁷ events per simulated second.
    pub const MAX_ARRIVAL_RATE: f64 = 1e7;
    /// Memory one run may use for its state, bytes (1 GiB). An A/B pair in the page stays under wasm32's 4 GiB.
    pub const MEMORY_BUDGET_BYTES: u64 = 1 << 30;
    /// The section's own state per (app host, server) pair: in-flight count and pick candidate (28 bytes). The
    /// balancer's per-server state is its controller's [`crate::controller::ControllerInfo::bytes_per_server`].
    pub const BYTES_PER_HOST_SERVER: u64 = 28;
    /// State per live request: its slab slot (64 bytes) plus its tried-servers bits.
    pub fn bytes_per_request(servers: usize) -> u64 {
        64 + 8 * servers.div_ceil(64) as u64
    }

    /// The fixed state a config allocates up front, bytes.
    pub fn fixed_bytes(cfg: &Config) -> u64 {
        let per_pair = BYTES_PER_HOST_SERVER + cfg.controller.info().bytes_per_server;
        cfg.hosts as u64 * cfg.servers.len() as u64 * per_pair
    }

    /// Checks that the config's fixed state fits the budget.
    pub fn check_memory(cfg: &Config) -> Result<(), String> {
        let fixed = fixed_bytes(cfg);
        if fixed > MEMORY_BUDGET_BYTES / 2 {
            return Err(format!(
                "{} hosts × {} servers need about {} MiB of balancer state with {}, over half the {} MiB memory budget; lower hosts or servers",
                cfg.hosts,
                cfg.servers.len(),
                fixed >> 20,
                cfg.controller.name(),
                MEMORY_BUDGET_BYTES >> 20
            ));
        }
        Ok(())
    }

    /// Live requests a run may hold: the config's bound, lowered so that the request slab fits in what the
    /// budget leaves after the fixed state. Arrivals beyond it are rejected and counted, never allocated.
    pub fn max_live_requests(cfg: &Config) -> u32 {
        let room = MEMORY_BUDGET_BYTES.saturating_sub(fixed_bytes(cfg)) / bytes_per_request(cfg.servers.len());
        cfg.max_requests_in_flight.min(room.min(u32::MAX as u64) as u32)
    }
}

/// How a query's service time is distributed around the server's base latency L. In a scenario file:
/// `"uniform"`, `"exponential"` or `{ lognormal = { sigma = 0.5 } }`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum LatencyDist {
    /// Uniform on [0.9 L, 1.1 L]: EventSimulator's `work` query (REFERENCE §1).
    Uniform,
    /// Exponential with mean L: the M/M/c service of queueing theory.
    Exponential,
    /// Lognormal with mean L and shape `sigma` (the standard deviation of the log).
    Lognormal {
        /// Shape parameter σ of ln(service time); default 0.5.
        sigma: f64,
    },
}

/// How many queries a server can run at once. In a scenario file: `"unlimited"` or `{ slots = 8 }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Capacity {
    /// No limit: latency does not depend on load (EventSimulator parity).
    Unlimited,
    /// This many queries run at once (cores); later ones wait in a first-in first-out queue.
    ///
    /// With exponential service this has the same mean response time as processor sharing over the same number
    /// of cores, since the number in system follows the same birth–death chain; it is the M/M/c model.
    Slots(u32),
}

/// One database server. Scenario files give every field, with times in whole microseconds (`latency_us`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Host name, as in the EventSimulator table (`db1119`).
    pub name: String,
    /// Primary or replica.
    pub role: Role,
    /// Configured load (weight) for balancing; MediaWiki's `load` in `$wgLBFactoryConf`. Zero means never picked.
    pub load: f64,
    /// Base query latency L, in microseconds.
    #[serde(rename = "latency_us")]
    pub latency: SimDuration,
    /// Concurrency model; default unlimited.
    pub capacity: Capacity,
    /// MySQL's `max_connections`: connects beyond it are refused ("Too many connections"). `None` is unlimited.
    #[serde(with = "unlimited")]
    pub max_connections: Option<u32>,
}

/// The primary's write stream and how each replica applies it (pt-heartbeat included). In a scenario file the
/// `[section.replication]` table; absent, the defaults below.
///
/// Normal true lag is `delay` (the stream is a steady fluid at `write_rate` and each replica keeps up), so the
/// default 75 ms sits in the 50–100 ms the seed's DBA calls usual; measured lag adds the heartbeat's age.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    /// Binlog events the primary commits per second, a steady stream. Default 500.
    pub write_rate: f64,
    /// Events each replica's SQL thread applies per second when it has a backlog; must exceed `write_rate`.
    /// Default 1000 (utilisation 0.5, so a backlog drains at 500 events/s).
    pub apply_rate: f64,
    /// Commit on the primary to apply on a replica that keeps up (binlog shipping, relay log, SQL thread), µs.
    /// Default 75 ms.
    #[serde(rename = "delay_us")]
    pub delay: SimDuration,
    /// pt-heartbeat's update interval on the primary, µs (`--interval`; Wikimedia runs 1 s). Default 1 s.
    #[serde(rename = "heartbeat_interval_us")]
    pub heartbeat_interval: SimDuration,
}

impl Default for Replication {
    fn default() -> Self {
        Replication { write_rate: 500.0, apply_rate: 1000.0, delay: 75 * MILLISECOND, heartbeat_interval: SECOND }
    }
}

impl Replication {
    /// Checks the stream: rates finite, the SQL thread faster than the primary, a positive heartbeat interval.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.write_rate.is_finite() && self.write_rate > 0.0) {
            return Err(format!("write_rate must be a finite number > 0, got {}", self.write_rate));
        }
        if !(self.apply_rate.is_finite() && self.apply_rate > self.write_rate) {
            return Err(format!(
                "apply_rate ({}) must exceed write_rate ({}), or replicas fall behind without bound; raise apply_rate or lower write_rate",
                self.apply_rate, self.write_rate
            ));
        }
        if self.heartbeat_interval == 0 {
            return Err("heartbeat_interval_s must be positive".into());
        }
        Ok(())
    }
}

/// A command to apply at a given simulated time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledCommand {
    /// When to apply it, in microseconds since the start.
    pub at: SimTime,
    /// What to apply.
    pub command: Command,
}

/// A whole simulated section and its traffic.
///
/// Serialized (the `[section]` table of a scenario file, [`crate::models::section::scenario_file`]) with every field, times in
/// whole microseconds (`_us`), `"unlimited"` for an absent limit, and the schedule left out: a scenario file
/// carries it as text steps, which need the server names to read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The scenario name this config was built from (for labels only).
    pub scenario: String,
    /// The servers, primary first by convention. At most [`limits::MAX_SERVERS`].
    pub servers: Vec<ServerConfig>,
    /// Number of app hosts; each request picks one uniformly. Default 139 (EventSimulator).
    pub hosts: u32,
    /// Workers per host pool; `None` is unlimited (EventSimulator parity).
    #[serde(with = "unlimited")]
    pub workers_per_host: Option<u32>,
    /// Listen backlog per host: requests waiting for a worker. Default 511 (PHP-FPM's `listen.backlog`).
    pub backlog_per_host: u32,
    /// Total request arrival rate, requests per second (Poisson). Default 7572.8 (EventSimulator Σ connRate).
    pub arrival_rate: f64,
    /// Probability that a request goes to the primary. Default 85.81/7572.8 = 0.01133.
    pub primary_fraction: f64,
    /// Service time distribution around each server's base latency.
    pub latency_dist: LatencyDist,
    /// How long a connect to a blackholed server waits before failing, µs. Default 3 s (EventSimulator).
    #[serde(rename = "connect_timeout_us")]
    pub connect_timeout: SimDuration,
    /// How long a probe ("gauge") connect to a blackholed server waits, µs. Default 1 s (LoadMonitor, REFERENCE §1).
    #[serde(rename = "probe_connect_timeout_us")]
    pub probe_connect_timeout: SimDuration,
    /// The section circuit breaker: when every eligible replica's connection estimate (the controller's, or the
    /// host's own in-flight count) is at or over this cap, requests fail fast as "overloaded". `None`: off
    /// (LoadMonitor's maxConnCount default ∞).
    #[serde(with = "unlimited")]
    pub breaker_conns: Option<f64>,
    /// When true, a `cold` fault also ramps the server's configured load along its warm-up.
    pub cold_ramp: bool,
    /// Network round trip, µs: a successful connect takes one, and so does a refusal. Default 0.5 ms.
    #[serde(rename = "rtt_us")]
    pub rtt: SimDuration,
    /// Connect attempts per request (the first plus re-picks after failures). Default 16.
    pub max_connect_attempts: u32,
    /// Requests alive at once; arrivals beyond are rejected. Default [`limits::MAX_REQUESTS_IN_FLIGHT`].
    pub max_requests_in_flight: u32,
    /// Metrics time step, µs. Default 1 s.
    #[serde(rename = "time_step_us")]
    pub time_step: SimDuration,
    /// How long a headless run lasts, µs. Default 100 s.
    #[serde(rename = "duration_us")]
    pub duration: SimDuration,
    /// Commands applied at fixed times (faults, surges).
    #[serde(skip)]
    pub schedule: Vec<ScheduledCommand>,
    /// The balancing controller every app host runs.
    pub controller: ControllerSpec,
    /// The primary's write stream and the replicas' apply of it.
    #[serde(default)]
    pub replication: Replication,
}

/// Serde helpers for optional limits: a number, or the word `unlimited` for `None`.
mod unlimited {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A number, or the word `unlimited` for `None`.
    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Limit<T> {
        Value(T),
        Word(String),
    }

    pub fn serialize<T: Serialize + Copy, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(x) => Limit::Value(*x).serialize(s),
            None => Limit::<T>::Word("unlimited".into()).serialize(s),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
        match Limit::<T>::deserialize(d) {
            Ok(Limit::Value(x)) => Ok(Some(x)),
            Ok(Limit::Word(w)) if w == "unlimited" => Ok(None),
            _ => Err(serde::de::Error::custom("expected a number or \"unlimited\"")),
        }
    }
}

impl Config {
    /// The defaults shared by every scenario: EventSimulator's section-wide constants with an empty server list.
    pub fn base(scenario: &str) -> Config {
        Config {
            scenario: scenario.to_string(),
            servers: Vec::new(),
            hosts: 139,
            workers_per_host: None,
            backlog_per_host: 511,
            arrival_rate: 7572.8,
            primary_fraction: 85.8101 / 7572.8,
            latency_dist: LatencyDist::Uniform,
            connect_timeout: 3 * SECOND,
            probe_connect_timeout: SECOND,
            breaker_conns: None,
            cold_ramp: false,
            rtt: 500,
            max_connect_attempts: 16,
            max_requests_in_flight: limits::MAX_REQUESTS_IN_FLIGHT,
            time_step: SECOND,
            duration: 100 * SECOND,
            schedule: Vec::new(),
            controller: ControllerSpec::default(),
            replication: Replication::default(),
        }
    }

    /// Checks every field a `--set` key also sets against that key's range in
    /// [`KEYS`], so a scenario file cannot hold what a key refuses.
    fn check_key_ranges(&self) -> Result<(), String> {
        let ms = |d: SimDuration| d as f64 / MILLISECOND as f64;
        let count = |n: Option<u32>| n.map(f64::from);
        let mut checks: Vec<(String, &str, Option<f64>)> = vec![
            ("hosts".into(), "hosts", Some(f64::from(self.hosts))),
            ("workers_per_host".into(), "workers", count(self.workers_per_host)),
            ("backlog_per_host".into(), "backlog", Some(f64::from(self.backlog_per_host))),
            ("rtt_us".into(), "rtt_ms", Some(ms(self.rtt))),
            ("connect_timeout_us".into(), "connect_timeout_ms", Some(ms(self.connect_timeout))),
            ("probe_connect_timeout_us".into(), "probe_timeout_ms", Some(ms(self.probe_connect_timeout))),
            ("max_connect_attempts".into(), "max_attempts", Some(f64::from(self.max_connect_attempts))),
            ("breaker_conns".into(), "breaker_conns", self.breaker_conns),
            ("replication.write_rate".into(), "write_rate", Some(self.replication.write_rate)),
            ("replication.apply_rate".into(), "apply_rate", Some(self.replication.apply_rate)),
            ("replication.delay_us".into(), "replication_delay_ms", Some(ms(self.replication.delay))),
            (
                "replication.heartbeat_interval_us".into(),
                "heartbeat_interval_s",
                Some(self.replication.heartbeat_interval as f64 / SECOND as f64),
            ),
        ];
        if let LatencyDist::Lognormal { sigma } = self.latency_dist {
            checks.push(("latency_dist.lognormal.sigma".into(), "lognormal_sigma", Some(sigma)));
        }
        for s in &self.servers {
            let slots = match s.capacity {
                Capacity::Slots(n) => Some(f64::from(n)),
                Capacity::Unlimited => None,
            };
            checks.push((format!("{}: load", s.name), "<server>.load", Some(s.load)));
            checks.push((format!("{}: latency_us", s.name), "<server>.latency_ms", Some(ms(s.latency))));
            checks.push((format!("{}: capacity", s.name), "capacity", slots));
            checks.push((format!("{}: max_connections", s.name), "max_connections", count(s.max_connections)));
        }
        for (field, key, value) in checks {
            let Some(v) = value else { continue };
            let info = KEYS.iter().find(|k| k.key == key);
            let (min, max) = match info.map(|k| k.kind) {
                Some(crate::engine::keys::KeyKind::Number { min, max }) => (min, max),
                Some(crate::engine::keys::KeyKind::CountOrUnlimited { min, max }) => (f64::from(min), f64::from(max)),
                _ => continue,
            };
            if !(v.is_finite() && v >= min && v <= max) {
                let v = crate::engine::keys::quote(&v.to_string());
                return Err(format!("{field} is {v}, outside {min} to {max}, the range of the key {key}"));
            }
        }
        let in_flight = self.max_requests_in_flight;
        if in_flight == 0 || in_flight > limits::MAX_REQUESTS_IN_FLIGHT {
            return Err(format!(
                "max_requests_in_flight must be 1 to {}, got {in_flight}",
                limits::MAX_REQUESTS_IN_FLIGHT
            ));
        }
        Ok(())
    }

    /// Index of the server with this name.
    pub fn server_index(&self, name: &str) -> Option<usize> {
        self.servers.iter().position(|s| s.name == name)
    }

    /// Checks the structural bounds a scenario builder must respect; returns a one-line reason otherwise.
    pub fn validate(&self) -> Result<(), String> {
        if self.servers.is_empty() || self.servers.len() > limits::MAX_SERVERS {
            return Err(format!("a section needs 1 to {} servers, got {}", limits::MAX_SERVERS, self.servers.len()));
        }
        if self.hosts == 0 || self.hosts > limits::MAX_HOSTS {
            return Err(format!("hosts must be 1 to {}, got {}", limits::MAX_HOSTS, self.hosts));
        }
        if !(self.arrival_rate.is_finite() && self.arrival_rate >= 0.0) {
            return Err(format!("arrival rate must be a finite number ≥ 0, got {}", self.arrival_rate));
        }
        if self.arrival_rate > limits::MAX_ARRIVAL_RATE {
            return Err(format!(
                "arrival rate {:.4e} req/s is above the engine's {:e} req/s; lower rate_scale (mmc: utilization, servers or slots, or raise service_ms)",
                self.arrival_rate,
                limits::MAX_ARRIVAL_RATE
            ));
        }
        limits::check_memory(self)?;
        if !(0.0..=1.0).contains(&self.primary_fraction) {
            return Err(format!("primary_fraction must be in [0, 1], got {}", self.primary_fraction));
        }
        if self.time_step < limits::MIN_TIME_STEP {
            return Err(format!(
                "time step {} µs is below the {} µs floor (the CLI's --time-step 0.001); raise time_step_us",
                self.time_step,
                limits::MIN_TIME_STEP
            ));
        }
        self.check_key_ranges()?;
        if self.schedule.len() > limits::MAX_SCHEDULE {
            return Err(format!("at most {} scheduled commands", limits::MAX_SCHEDULE));
        }
        for s in &self.servers {
            if !(s.load.is_finite() && s.load >= 0.0) {
                return Err(format!("{}: load must be a finite number ≥ 0", s.name));
            }
            if let Capacity::Slots(0) = s.capacity {
                return Err(format!("{}: capacity needs at least one slot", s.name));
            }
        }
        self.replication.validate()?;
        for (i, s) in self.servers.iter().enumerate() {
            let writes = (self.schedule.iter())
                .filter(|c| matches!(c.command, Command::Fault { server, fault: crate::models::section::command::Fault::LargeWrite { .. } } if server == i))
                .count();
            if writes > limits::MAX_PENDING_LARGE_WRITES {
                return Err(format!(
                    "{}: {writes} large writes scheduled, above the apply queue's bound of {}; schedule fewer large-write steps",
                    s.name,
                    limits::MAX_PENDING_LARGE_WRITES
                ));
            }
        }
        let primaries = self.servers.iter().filter(|s| s.role == Role::Primary).count();
        if primaries > 1 {
            return Err(format!("a section has at most one primary, got {primaries}; make the others replicas"));
        }
        if self.primary_fraction > 0.0 && primaries == 0 {
            return Err("primary_fraction > 0 but the section has no primary".into());
        }
        Ok(())
    }
}

// The section's keys: the one table `--set`, URLs, the page and scenario files are checked against.
use crate::engine::keys::{opt, word, KeyInfo, KeyKind};

const MW: &[&str] = &["plain-s1", "slow", "connect-timeout", "refuse", "quiet", "large-write"];
const FAULTED: &[&str] = &["slow", "connect-timeout", "refuse"];
const FAULT_AT: &[&str] = &["slow", "connect-timeout", "refuse", "large-write"];
const LARGE: &[&str] = &["large-write"];
const fn num_key(min: f64, max: f64) -> KeyKind {
    KeyKind::Number { min, max }
}

/// Every settable scenario key, in the order `loadlab list` prints them.
pub const KEYS: &[KeyInfo] = &[
    KeyInfo { key: "fault_at", label: "Fault starts at", unit: "s", default: "30", help: "when the scenario's fault starts (Wikimedia's simulation code uses 5, its published runs 30); large-write: when db1119's large write commits", scenarios: FAULT_AT, kind: num_key(0.0, 1e6) },
    KeyInfo { key: "recover_at", label: "Faulty server recovers at", unit: "s", default: "never", help: "when the faulty server recovers, all its faults cleared; after the fault starts (recover_at > fault_at)", scenarios: FAULTED, kind: num_key(0.0, 1e6) },
    KeyInfo { key: "slow_factor", label: "Slowdown of the slow server", unit: "×", default: "10", help: "latency multiplier of the slow server", scenarios: &["slow"], kind: num_key(0.01, 10_000.0) },
    KeyInfo { key: "large_write_s", label: "Time to apply the large write", unit: "s", default: "15", help: "how long db1119's SQL thread takes to apply the large write; its lag ramps to this, then drains", scenarios: LARGE, kind: num_key(0.001, 3600.0) },
    KeyInfo { key: "overload_at", label: "Read overload starts at", unit: "s", default: "20", help: "when db1163 starts drowning in reads (its queries slow by overload_factor, with overload_slots slots)", scenarios: LARGE, kind: num_key(0.0, 1e6) },
    KeyInfo { key: "overload_factor", label: "Slowdown under read overload", unit: "×", default: "2", help: "how much db1163's queries slow down once the read overload starts (read pressure: a cold buffer pool, a heavy query mix; from overload_at)", scenarios: LARGE, kind: num_key(0.01, 10_000.0) },
    KeyInfo { key: "overload_slots", label: "Queries the overloaded server runs at once", unit: "slots", default: "200", help: "queries db1163 runs at once; with its share of 1,298 req/s at 0.25 s it needs 325, so its queue grows without bound", scenarios: LARGE, kind: num_key(1.0, 100_000.0) },
    KeyInfo { key: "servers", label: "Database servers", unit: "servers", default: "20", help: "identical servers in the M/M/c section", scenarios: &["mmc"], kind: num_key(1.0, limits::MAX_SERVERS as f64) },
    KeyInfo { key: "slots", label: "Slots per server", unit: "slots", default: "8", help: "queries each server runs at once (c); later ones queue first-in first-out", scenarios: &["mmc"], kind: num_key(1.0, 100_000.0) },
    KeyInfo { key: "service_ms", label: "Mean query time", unit: "ms", default: "10", help: "mean service time 1/μ (exponential)", scenarios: &["mmc"], kind: num_key(0.001, 1e6) },
    KeyInfo { key: "utilization", label: "Offered load per slot", unit: "ρ", default: "0.8", help: "offered load per slot, λ/(n·c·μ); must be below 1 for a steady state", scenarios: &["mmc"], kind: num_key(0.0, 0.999) },
    KeyInfo { key: "hosts", label: "App hosts", unit: "hosts", default: "139 (mmc: 1)", help: "app hosts; each runs its own balancer", scenarios: &[], kind: num_key(1.0, limits::MAX_HOSTS as f64) },
    KeyInfo { key: "workers", label: "App workers per host", unit: "workers/host", default: "unlimited", help: "requests each app host serves at once; more wait in its backlog (PHP-FPM pm.max_children ships as 5)", scenarios: &[], kind: KeyKind::CountOrUnlimited { min: 1, max: limits::MAX_WORKERS } },
    KeyInfo { key: "backlog", label: "Requests that may wait per host", unit: "requests/host", default: "511", help: "listen backlog per host; arrivals beyond it are rejected (PHP-FPM listen.backlog)", scenarios: &[], kind: num_key(0.0, 1e6) },
    KeyInfo { key: "rate_scale", label: "Traffic multiplier", unit: "×", default: "1 (quiet: 0.001)", help: "multiplies the scenario's production arrival rate (quiet is this section at 0.001)", scenarios: &[], kind: num_key(0.0, 1000.0) },
    KeyInfo { key: "rtt_ms", label: "Network round trip", unit: "ms", default: "0.5 (mmc: 0)", help: "network round trip: a connect takes one, and so does a refusal", scenarios: &[], kind: num_key(0.0, 10_000.0) },
    KeyInfo { key: "connect_timeout_ms", label: "Connect timeout", unit: "ms", default: "3000", help: "how long a blackholed connect hangs before it fails (Wikimedia's simulation: 3 s)", scenarios: &[], kind: num_key(1.0, 1e7) },
    KeyInfo { key: "max_attempts", label: "Connect attempts per request", unit: "connects/request", default: "16", help: "connect attempts per request, first try plus re-picks", scenarios: &[], kind: num_key(1.0, 64.0) },
    KeyInfo { key: "latency_dist", label: "Shape of query times", unit: "", default: "uniform (mmc: exponential)", help: "service time around L: uniform on [0.9L, 1.1L], exponential, or lognormal", scenarios: &[], kind: KeyKind::Choice(&[opt("uniform", "within 10% of the mean"), word("exponential"), opt("lognormal", "a long tail")]) },
    KeyInfo { key: "lognormal_sigma", label: "Spread of lognormal query times", unit: "", default: "0.5", help: "shape σ of the lognormal service time", scenarios: &[], kind: num_key(0.01, 5.0) },
    KeyInfo { key: "capacity", label: "Cores per server", unit: "cores/server", default: "unlimited", help: "queries a server runs at once; beyond it they queue, so latency grows with load", scenarios: MW, kind: KeyKind::CountOrUnlimited { min: 1, max: 100_000 } },
    KeyInfo { key: "max_connections", label: "Connection limit per server", unit: "conns/server", default: "unlimited", help: "connects beyond this many open connections are refused (MySQL max_connections)", scenarios: &[], kind: KeyKind::CountOrUnlimited { min: 1, max: 10_000_000 } },
    KeyInfo { key: "write_rate", label: "Primary's write rate", unit: "events/s", default: "500", help: "binlog events the primary commits per second, a steady stream every replica applies", scenarios: MW, kind: num_key(0.001, 1e7) },
    KeyInfo { key: "apply_rate", label: "Replica's apply rate", unit: "events/s", default: "1000", help: "events a replica's single SQL thread applies per second while it has a backlog; it must exceed the primary's write rate, and a backlog drains at the difference (apply_rate > write_rate)", scenarios: MW, kind: num_key(0.001, 1e7) },
    KeyInfo { key: "replication_delay_ms", label: "Normal replication delay", unit: "ms", default: "75", help: "commit on the primary to apply on a replica that keeps up: its normal true lag (a Wikimedia DBA: usually 50–100 ms)", scenarios: MW, kind: num_key(0.0, 60_000.0) },
    KeyInfo { key: "heartbeat_interval_s", label: "Lag heartbeat interval", unit: "s", default: "1", help: "pt-heartbeat's update interval; measured lag adds the newest applied heartbeat's age, uniform on [0, this)", scenarios: MW, kind: num_key(0.001, 60.0) },
    KeyInfo { key: "<server>.load", label: "A server's configured load", unit: "weight", default: "from the table", help: "configured load of one server", scenarios: &[], kind: num_key(0.0, 1e6) },
    KeyInfo { key: "<server>.latency_ms", label: "A server's base query time", unit: "ms", default: "from the table", help: "base latency L of one server", scenarios: &[], kind: num_key(0.0, 1e7) },
    KeyInfo { key: "fault", label: "Scheduled faults", unit: "KIND:SERVER[:ARGS]@s", default: "none", help: "schedule a fault, repeatable: slow:db1119:10@30, connect-timeout:db1119@30, refuse:…, crash:…, recover:…, cold:db1119:0.2:60@30 (from fraction, warm-up s), large-write:db1119:15@30 (apply s)", scenarios: &[], kind: KeyKind::FaultSpec },
    KeyInfo { key: "operator", label: "Scheduled operator actions", unit: "KIND[:SERVER[:ARG]]@s", default: "none", help: "schedule an operator override, repeatable: depool:db1119@40, drain:db1119:30@40 (over s), repool:db1119:60@90 (ramp s), pin:db1119:50@40 (weight), unpin:db1119@60, controller-off@40, controller-on@60", scenarios: &[], kind: KeyKind::FaultSpec },
    KeyInfo { key: "breaker_conns", label: "Circuit breaker's connection limit", unit: "conns/server", default: "unlimited", help: "section circuit breaker: when every eligible server's connection estimate is at or over this, requests fail fast as overloaded (LoadMonitor maxConnCount)", scenarios: &[], kind: KeyKind::CountOrUnlimited { min: 1, max: 10_000_000 } },
    KeyInfo { key: "probe_timeout_ms", label: "Probe connect timeout", unit: "ms", default: "1000", help: "connect timeout of probe (gauge) connections (LoadMonitor: 1 s; mw-legacy's default 3 s, an ordinary connection)", scenarios: &[], kind: num_key(1.0, 1e7) },
    KeyInfo { key: "cold_ramp", label: "Ramp the load while warming up", unit: "", default: "off", help: "when on, a cold fault also ramps the server's configured load along its warm-up", scenarios: &[], kind: KeyKind::Choice(&[word("on"), word("off")]) },
    KeyInfo { key: "surge", label: "Traffic surges", unit: "×@s", default: "none", help: "multiply the arrival rate at a time, repeatable: 2@40 (1@60 ends it)", scenarios: &[], kind: KeyKind::FaultSpec },
];
