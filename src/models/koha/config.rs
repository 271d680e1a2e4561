//! The Koha scenario's keys (one table: unit, default, help, range or choices) and the typed configuration built
//! from them, with every bound of the model stated here once.
//!
//! Defaults and their sources (SEED-MODELS §000 "Model"): koha-plack's 2 Starman workers recycled after 50
//! requests (Koha debian scripts); 70 cache operations a page (≥ 66 sysprefs read by `get_template_and_user`);
//! Cache::Memcached::Fast's connect_timeout 0.25 s, io_timeout 1 s, max_failures 0, failure_timeout 10 s
//! (`src/client.c`); a page's own work 250 ms, memcached RTT 0.3 ms and a database query 1 ms [assume].

use crate::engine::keys::{choice_key as choice, number_key as num, opt, word, KeyInfo, KeyKind, Opt, Params};
use crate::time::{from_millis_f64, from_secs_f64, SimDuration, SimTime, MILLISECOND};

use super::memcached_client::ClientConfig;
use super::placement::Hash;

/// Nodes in the cluster (`koha1`, `koha2`, `koha3`, at 10.10.100.51–53 as in the seed).
pub const NODES: usize = 3;
/// Node names, in index order.
pub const NODE_NAMES: [&str; NODES] = ["koha1", "koha2", "koha3"];
/// memcached addresses, as koha-conf.xml lists them.
pub const MEMCACHED_HOSTS: [(&str, &str); NODES] =
    [("10.10.100.51", "11211"), ("10.10.100.52", "11211"), ("10.10.100.53", "11211")];
/// Starman's listen backlog (`--backlog`, default 1024): pages beyond it are refused and counted.
pub const BACKLOG_MAX: usize = 1024;
/// A LAN round trip, µs [assume].
pub const RTT: SimDuration = 300;
/// One database query on the node's local MariaDB, µs [assume]; Galera is healthy and adds nothing here.
pub const DB_QUERY: SimDuration = MILLISECOND;
/// Sets per miss: Koha sets every key it had to read from the database (0 for undefined prefs, not modelled).
pub const SETS_PER_MISS: u32 = 1;
/// Phases (stretches between commands) kept for the summary; later commands extend the last one.
pub const MAX_PHASES: usize = 64;
/// Rows buffered between drains; older rows beyond it are dropped and counted.
pub const MAX_BUFFERED_ROWS: usize = 1 << 16;
/// Rows a run may produce at all (the memory and time budget): duration / time_step.
pub const MAX_ROWS: f64 = 1e7;

/// Fault kinds of the default incident, in `fault_kind`'s order.
pub const FAULT_KINDS: &[Opt] = &[
    opt("power-off", "the cable pulled"),
    opt("services-stopped", "every service stopped"),
    opt("virgin-node", "a blank host on the same address"),
    opt("none", "nothing fails"),
];
/// `memcached_servers` choices.
pub const SERVER_LISTS: &[Opt] = &[opt("all", "every node's cache"), opt("local", "only its own")];

/// Every key of the Koha model.
pub const KEYS: &[KeyInfo] = &[
    num("rate", "Page request rate", "pages/s", "0.25", "page requests per second reaching HAProxy (Poisson)", 0.001, 100.0),
    num("workers", "Workers per node", "workers", "2", "Starman workers per node (koha-plack's default 2); a whole number", 1.0, 64.0),
    num("max_requests", "Pages before a worker restarts", "pages", "50", "pages a worker serves before Starman recycles it (new process, new cache client)", 1.0, 1e6),
    num("cache_ops", "Cache keys read per page", "keys", "70", "distinct memcached keys a page reads (Koha flushes its L1 cache per request)", 1.0, 200.0),
    num("base_ms", "Page's own work time", "ms", "250", "mean of a page's own work (exponential), besides cache and database", 1.0, 10_000.0),
    num("connect_timeout_ms", "Cache connect timeout", "ms", "250", "how long a connect to a silent cache server waits (Cache::Memcached::Fast connect_timeout)", 1.0, 10_000.0),
    num("io_timeout_ms", "Cache request timeout", "ms", "1000", "how long a request on an open cache connection waits (Cache::Memcached::Fast io_timeout)", 1.0, 60_000.0),
    num("max_failures", "Failures before a cache server is skipped", "failures", "0", "skip a cache server after this many failures within the failure window; 0 is off, as Koha sets it (max_failures, failure_timeout)", 0.0, 100.0),
    num("failure_timeout_s", "Failure window and skip time", "s", "10", "how long failures count, and how long a skipped cache server stays skipped; whole seconds (failure_timeout)", 1.0, 3600.0),
    choice("hash", "How keys are placed on cache servers", "crc32", "key placement: crc32 buckets modulo the server count, or a ketama continuum", Hash::OPTIONS),
    choice("memcached_servers", "Cache servers each node uses", "all", "each node's client lists every node's memcached, or only its own", SERVER_LISTS),
    choice("fault_kind", "What goes wrong", "power-off", "what happens to the failing node: pull the cable, stop every service, or a blank host on the same IP", FAULT_KINDS),
    choice("fault_node", "Node that fails", "koha1", "the node the default incident hits", &[word("koha1"), word("koha2"), word("koha3")]),
    num("fault_at", "Failure starts at", "s", "30", "when the default incident starts", 0.0, 1e6),
    num("recover_at", "Node recovers at", "s", "0", "when the failed node recovers, after the failure starts; 0 is never", 0.0, 1e6),
    KeyInfo {
        key: "fault",
        label: "Extra scheduled faults",
        unit: "",
        default: "none",
        help: "an extra scheduled command VERB:NODE@SECONDS (power-off, services-stopped, virgin-node, recover, drop-server, restore-server)",
        scenarios: &[],
        kind: KeyKind::FaultSpec,
    },
];

/// The typed configuration of one run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Page arrival rate, pages/µs·1e6 (pages per second).
    pub rate_per_s: f64,
    /// Starman workers per node.
    pub workers: u32,
    /// Pages per worker before recycling.
    pub max_requests: u32,
    /// Cache keys per page.
    pub cache_ops: usize,
    /// Mean own work of a page, µs.
    pub base: SimDuration,
    /// The cache client's settings.
    pub client: ClientConfig,
    /// Key placement.
    pub hash: Hash,
    /// True for `memcached_servers=local`.
    pub local_only: bool,
    /// The default incident: index into [`FAULT_KINDS`] and its node.
    pub fault_kind: usize,
    /// The node of the default incident.
    pub fault_node: usize,
    /// When it starts, µs.
    pub fault_at: SimTime,
    /// When the node recovers, µs (`None`: never).
    pub recover_at: Option<SimTime>,
    /// Run length, µs.
    pub duration: SimTime,
    /// Row step, µs.
    pub time_step: SimDuration,
}

impl Config {
    /// Builds the configuration from validated keys, a run length and a row step (both s), or a one-line
    /// error naming the key to change.
    pub fn from_params(p: &Params, duration_s: f64, time_step_s: f64) -> Result<Config, String> {
        let fault_at = from_secs_f64(p.number("fault_at", 30.0));
        let recover_s = p.number("recover_at", 0.0);
        let recover_at = (recover_s > 0.0).then(|| from_secs_f64(recover_s));
        if recover_at.is_some_and(|r| r <= fault_at) {
            return Err("recover_at must be after fault_at (or 0 for never)".into());
        }
        if time_step_s <= 0.0 || time_step_s.is_nan() || duration_s / time_step_s > MAX_ROWS {
            return Err(format!("duration / time step is over {MAX_ROWS} rows; lower --duration or raise --time-step"));
        }
        Ok(Config {
            rate_per_s: p.number("rate", 0.25),
            workers: p.whole("workers", 2.0)? as u32,
            max_requests: p.whole("max_requests", 50.0)? as u32,
            cache_ops: p.whole("cache_ops", 70.0)? as usize,
            base: from_millis_f64(p.number("base_ms", 250.0)),
            client: ClientConfig {
                connect_timeout: from_millis_f64(p.number("connect_timeout_ms", 250.0)),
                io_timeout: from_millis_f64(p.number("io_timeout_ms", 1000.0)),
                max_failures: p.whole("max_failures", 0.0)? as u32,
                failure_timeout_s: p.whole("failure_timeout_s", 10.0)?,
                rtt: RTT,
            },
            hash: if p.choice("hash", 0) == 1 { Hash::Ketama } else { Hash::Crc32 },
            local_only: p.choice("memcached_servers", 0) == 1,
            fault_kind: p.choice("fault_kind", 0),
            fault_node: p.choice("fault_node", 0),
            fault_at,
            recover_at,
            duration: from_secs_f64(duration_s),
            time_step: from_secs_f64(time_step_s).max(1),
        })
    }
}
