//! The Sahana model's keys (the one table `--set`, URLs, the page and `loadlab list` read) and the typed
//! configuration built from them.
//!
//! Defaults follow SEED-MODELS.md §001 and REFERENCE.md §4: 4 uWSGI workers and 2 req/s (the seed), a 100-deep
//! listen queue (`uwsgi.listen_queue`), 333 ms of database time per request (the fit to the seed's shares), a
//! router that forgets flows idle for 3600 s (an assumption; AWS NAT 350 s, GCP Cloud NAT 1200 s, Linux conntrack
//! 432000 s), Linux keepalive 7200/75/9 and retransmission 200 ms to 120 s with `tcp_retries2` 15.

use crate::engine::keys::{choice_key as choice, number_key as num, opt, KeyInfo, KeyKind, Opt, Params};
use crate::parts::pool::Dispatch;
use crate::time::{from_millis_f64, from_secs_f64, SimDuration, SECOND};

/// Largest worker count: every per-worker table is this long at most.
pub const MAX_WORKERS: u32 = 64;
/// Largest listen queue (requests waiting for a worker).
pub const MAX_LISTEN_QUEUE: u32 = 10_000;
/// Largest number of session cookies tracked by the session lock.
pub const MAX_SESSIONS: u32 = 10_000;
/// Largest number of metric steps in one run (rows are streamed, but each is an event).
pub const MAX_STEPS: u64 = 100_000_000;

/// How one worker's stall spreads to the others (SEED-MODELS §001 "Coupling").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CouplingMode {
    /// The seed's explanation: while one worker's call waits on a dead connection, every other worker's
    /// database call waits too ("one global libpq").
    GlobalLock,
    /// web2py file sessions: a request holds its session's exclusive flock from `Session.connect` to its end,
    /// so later requests with the same cookie wait inside their workers.
    SessionLock,
    /// Nothing couples the workers: only the request on the dead connection hangs.
    None,
}

impl CouplingMode {
    /// The key's choices, in this enum's order.
    pub const OPTIONS: &'static [Opt] = &[
        opt("global_lock", "every call waits"),
        opt("session_lock", "only the same session waits"),
        opt("none", "nothing waits"),
    ];

    fn from_index(i: usize) -> CouplingMode {
        [CouplingMode::GlobalLock, CouplingMode::SessionLock, CouplingMode::None][i.min(2)]
    }
}

/// What the router does with a packet of a flow it has forgotten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnExpiry {
    /// Silently drops it (the seed's router, most cloud NATs): the sender retransmits until it gives up.
    Drop,
    /// Answers with a TCP reset: the sender learns at once that the connection is gone.
    Rst,
}

impl OnExpiry {
    /// The key's choices, in this enum's order.
    pub const OPTIONS: &'static [Opt] = &[opt("drop", "dropped silently"), opt("rst", "answered with a reset")];
}

/// Every key of the Sahana model, with unit, default and range.
pub const KEYS: &[KeyInfo] = &[
    num("workers", "Workers", "workers", "4", "uWSGI worker processes, each with one persistent database connection", 1.0, MAX_WORKERS as f64),
    num("listen_queue", "Requests that may wait", "requests", "100", "requests that may wait for a free worker; more are rejected (uWSGI's listen backlog, uwsgi.listen_queue)", 0.0, MAX_LISTEN_QUEUE as f64),
    num("rate", "Busy-hours request rate", "req/s", "2", "Poisson arrival rate outside the quiet period (Sahana's wiki page: 2 req/s)", 0.0, 1000.0),
    num("quiet_rate", "Quiet-hours request rate", "req/s", "0.1", "arrival rate during each day's quiet period", 0.0, 1000.0),
    num("quiet_until_s", "Quiet period ends at", "s", "7000", "each day's quiet period runs from the day's start to here; then traffic rises to rate", 0.0, 1e7),
    num("day_s", "Length of a day", "s", "86400", "the traffic profile repeats after this long; 0 gives one quiet period at the start only", 0.0, 1e7),
    num("service_ms", "Mean database time per request", "ms", "333", "mean database time per request (exponential; fitted to the shares on Sahana's wiki page)", 0.001, 1e6),
    choice("dispatch", "Which idle worker goes next", "ordered", "which idle worker takes the next request: lowest-numbered, most recently idle (epoll), longest idle (accept), random", Dispatch::OPTIONS),
    choice("coupling", "How one stuck call blocks others", "global_lock", "how one stuck call blocks others: every call, only requests of the same session, or nothing (global_lock: the claim about libpq on Sahana's wiki page; session_lock: web2py's flock)", CouplingMode::OPTIONS),
    num("sessions", "Distinct sessions", "sessions", "20", "distinct session cookies, uniformly mixed (session_lock only)", 1.0, MAX_SESSIONS as f64),
    num("router_idle_timeout_s", "Router forgets idle flows after", "s", "3600", "the router forgets a flow idle this long; 0 is never", 0.0, 1e7),
    choice("router_on_expiry", "Router's answer to a forgotten flow", "drop", "a packet of a forgotten flow is dropped silently, or answered with a reset", OnExpiry::OPTIONS),
    num("keepalive_idle_s", "Keepalive starts after idle", "s", "7200", "TCP keepalive: first probe after this much idle (tcp_keepalive_time; 0: keepalive off)", 0.0, 1e6),
    num("keepalive_interval_s", "Time between keepalive probes", "s", "75", "TCP keepalive: seconds between unanswered probes (tcp_keepalive_intvl)", 1.0, 1e5),
    num("keepalive_probes", "Keepalive probes before giving up", "probes", "9", "TCP keepalive: unanswered probes before the socket is closed (tcp_keepalive_probes)", 1.0, 127.0),
    num("tcp_retries2", "Retransmissions before giving up", "retries", "15", "retransmissions of unacknowledged data before ETIMEDOUT (net.ipv4.tcp_retries2)", 0.0, 100.0),
    num("rto_min_ms", "First retransmission wait", "ms", "200", "the first wait before unacknowledged data is sent again; it doubles after each retransmission (TCP_RTO_MIN)", 1.0, 120_000.0),
    num("rto_max_s", "Longest retransmission wait", "s", "120", "cap of the doubling retransmission timeout (TCP_RTO_MAX)", 0.001, 600.0),
    num("tcp_user_timeout_ms", "Unacknowledged data timeout", "ms", "0", "data left unacknowledged this long kills the connection; 0 is off (TCP_USER_TIMEOUT)", 0.0, 1e9),
    KeyInfo {
        key: "operator",
        label: "Scheduled operator actions",
        unit: "step",
        default: "none",
        help: "a scheduled command VERB[:TARGET][:ARG]@SECONDS, e.g. kill-worker:w3@7300 (repeatable)",
        scenarios: &[],
        kind: KeyKind::FaultSpec,
    },
];

/// The Sahana model's configuration, every time in µs.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Worker processes (default 4).
    pub workers: u32,
    /// Listen backlog, requests (default 100).
    pub listen_queue: u32,
    /// Busy-hours arrival rate, req/s (default 2).
    pub rate: f64,
    /// Quiet-period arrival rate, req/s (default 0.1).
    pub quiet_rate: f64,
    /// Length of each day's quiet period from the day's start, µs (default 7000 s).
    pub quiet_until: SimDuration,
    /// Length of a day of the profile, µs; 0 for a single quiet period (default 86400 s).
    pub day: SimDuration,
    /// Mean database time per request, µs (default 333 ms).
    pub service: SimDuration,
    /// Dispatch policy (default ordered).
    pub dispatch: Dispatch,
    /// Coupling between workers (default global_lock).
    pub coupling: CouplingMode,
    /// Session cookies in the traffic (default 20).
    pub sessions: u32,
    /// Router idle timeout, µs; 0 for never (default 3600 s).
    pub router_idle_timeout: SimDuration,
    /// What the router does with packets of forgotten flows (default drop).
    pub on_expiry: OnExpiry,
    /// The TCP timers.
    pub tcp: TcpConfig,
    /// Run length, µs (default 9000 s).
    pub duration: SimDuration,
    /// Metrics step, µs (default 10 s).
    pub time_step: SimDuration,
}

/// The kernel's TCP timer settings for every connection (Linux defaults; REFERENCE.md §4).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TcpConfig {
    /// Idle time before the first keepalive probe, µs; 0 for keepalive off (default 7200 s).
    pub keepalive_idle: SimDuration,
    /// Time between unanswered probes, µs (default 75 s).
    pub keepalive_interval: SimDuration,
    /// Unanswered probes before the socket closes (default 9).
    pub keepalive_probes: u32,
    /// Retransmissions before ETIMEDOUT (default 15).
    pub retries2: u32,
    /// First retransmission timeout, µs (default 200 ms).
    pub rto_min: SimDuration,
    /// Cap of the retransmission timeout, µs (default 120 s).
    pub rto_max: SimDuration,
    /// TCP_USER_TIMEOUT, µs; 0 for off (default 0).
    pub user_timeout: SimDuration,
}

/// The scenario's own run length when the front end gives none: the incident starts near 7000 s and the
/// blackout ends near 7925 s.
pub const DEFAULT_DURATION_S: f64 = 9000.0;
/// The scenario's own metrics step.
pub const DEFAULT_TIME_STEP_S: f64 = 10.0;

impl Config {
    /// The configuration from validated keys, the run length and the metrics step, s. Refuses, in one line
    /// naming the key to change, what the ranges alone cannot catch.
    pub fn from_params(p: &Params, duration_s: f64, time_step_s: f64) -> Result<Config, String> {
        let tcp = TcpConfig {
            keepalive_idle: from_secs_f64(p.number("keepalive_idle_s", 7200.0)),
            keepalive_interval: from_secs_f64(p.number("keepalive_interval_s", 75.0)),
            keepalive_probes: p.whole_u32("keepalive_probes", 9.0)?,
            retries2: p.whole_u32("tcp_retries2", 15.0)?,
            rto_min: from_millis_f64(p.number("rto_min_ms", 200.0)),
            rto_max: from_secs_f64(p.number("rto_max_s", 120.0)),
            user_timeout: from_millis_f64(p.number("tcp_user_timeout_ms", 0.0)),
        };
        if tcp.rto_min > tcp.rto_max {
            return Err("rto_min_ms is above rto_max_s; lower rto_min_ms or raise rto_max_s".into());
        }
        let cfg = Config {
            workers: p.whole_u32("workers", 4.0)?,
            listen_queue: p.whole_u32("listen_queue", 100.0)?,
            rate: p.number("rate", 2.0),
            quiet_rate: p.number("quiet_rate", 0.1),
            quiet_until: from_secs_f64(p.number("quiet_until_s", 7000.0)),
            day: from_secs_f64(p.number("day_s", 86400.0)),
            service: from_millis_f64(p.number("service_ms", 333.0)).max(1),
            dispatch: Dispatch::from_index(p.choice("dispatch", 0)),
            coupling: CouplingMode::from_index(p.choice("coupling", 0)),
            sessions: p.whole_u32("sessions", 20.0)?,
            router_idle_timeout: from_secs_f64(p.number("router_idle_timeout_s", 3600.0)),
            on_expiry: if p.choice("router_on_expiry", 0) == 1 { OnExpiry::Rst } else { OnExpiry::Drop },
            tcp,
            duration: from_secs_f64(duration_s),
            time_step: from_secs_f64(time_step_s).max(1),
        };
        if cfg.day > 0 && cfg.quiet_until > cfg.day {
            return Err("quiet_until_s is longer than day_s; lower quiet_until_s or raise day_s".into());
        }
        if cfg.duration / cfg.time_step > MAX_STEPS {
            return Err(format!("more than {MAX_STEPS} metric steps; raise --time-step or lower --duration"));
        }
        if cfg.duration > 10_000_000 * SECOND {
            return Err("--duration is over 10⁷ s; lower it".into());
        }
        Ok(cfg)
    }
}
