//! The section model's lessons, as data: for each scenario three to six steps that run the simulation to a
//! moment, say what to look at, and set this run's numbers beside what the incident reported; and a
//! plain-words paragraph per controller on how it reacts there.
//!
//! Figures come from seed 002 (Wikimedia's "LoadMonitor connection weighting reimagined" and its EventSimulator
//! runs) and REFERENCE.md §1, §4 and §5; the page calls those "the incident report" and "Wikimedia's own
//! simulation". The numbers functions read the run's summary (`requests`, `rejected`, `failed`, latencies,
//! `headline`) and `now`, the newest step row by column name, which the page adds to it.

use crate::engine::picture::{count, human};
use crate::engine::scenario::{Act, LessonAction};
use crate::engine::scenario::{Challenge, Verdict};
use crate::models::section::config::{Capacity, Role};
use crate::models::section::model::Section;
use crate::models::section::scenario::EVENTSIM_S1;
use crate::time::as_secs_f64;
use serde_json::{Map, Value};

use crate::engine::scenario::{LessonStep, View};

/// A summary field as a number (0 when absent).
fn num(s: &Map<String, Value>, key: &str) -> f64 {
    s.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A column of the newest row (0 when absent).
fn now(s: &Map<String, Value>, column: &str) -> f64 {
    s.get("now").and_then(|n| n.get(column)).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A headline field (0 when absent).
fn field(s: &Map<String, Value>, key: &str) -> f64 {
    s.get("headline").and_then(|h| h.get(key)).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A count per second of the newest 0.5 s row.
fn per_s(s: &Map<String, Value>, column: &str) -> f64 {
    now(s, column) / 0.5
}

/// `server`'s share of the replicas' own connects (probes left out) in the newest row, 0 to 1.
pub(super) fn share(s: &Map<String, Value>, server: &str) -> f64 {
    let conns = |name: &str| now(s, &format!("{name}.total_conns")) - now(s, &format!("{name}.probe_conns"));
    let total: f64 = EVENTSIM_S1.iter().filter(|r| r.1 == Role::Replica).map(|r| conns(r.0)).sum();
    if total > 0.0 {
        conns(server) / total
    } else {
        0.0
    }
}

/// db1119's share of replica requests under static weights: load 200 of 1875 (REFERENCE §1).
const DB1119_SHARE: f64 = 200.0 / 1875.0;
/// Replica request rate: 7572.8 req/s less the primary's 85.81 (REFERENCE §1).
const REPLICA_RATE: f64 = 7572.8 - 85.81;
/// The replicas' share of all requests.
const REPLICA_FRACTION: f64 = REPLICA_RATE / 7572.8;
/// App hosts in s1.
const HOSTS: f64 = 139.0;
/// Mean time a request holds its app worker with db1119 ten times slower, s (see [`SLOW_WORKERS`]).
const SLOW_HOLD_S: f64 = 0.187;

/// "db1119 holds N connections", then Little's law for a connection held `hold` seconds (shown as `shown`).
fn db1119_littles(s: &Map<String, Value>, shown: &str, hold: f64) -> String {
    format!(
        "db1119 holds {} now; Little's law: {} connects a second × {shown} s = {}",
        count(now(s, "db1119.active_conns"), "connection", "connections"),
        human(REPLICA_RATE * DB1119_SHARE, 0),
        human(REPLICA_RATE * DB1119_SHARE * hold, 0)
    )
}

fn healthy(s: &Map<String, Value>) -> String {
    format!(
        "{}, and Wikimedia's own simulation saw 74.9. Median latency so far {} ms, p99 {} ms.",
        db1119_littles(s, "0.086", 0.08619),
        human(num(s, "latency_p50_ms"), 0),
        human(num(s, "latency_p99_ms"), 0)
    )
}

fn slow_pileup(s: &Map<String, Value>) -> String {
    // Little's law on the workers: busy workers ÷ the mean hold = the requests a second they start.
    let busy = now(s, "active_workers");
    let started = busy / SLOW_HOLD_S;
    let db1119_rate = started * REPLICA_FRACTION * DB1119_SHARE;
    format!(
        "db1119 holds {}. With a worker for every request it would get {} connects a second × 0.862 s = {} (Little's law; Wikimedia's own simulation, with unlimited workers, saw about 700). Here {} app workers are busy, and they start {} ÷ 0.187 s = {} requests a second, so at its static 10.7% db1119 gets {} a second × 0.862 s = {}.",
        count(now(s, "db1119.active_conns"), "connection", "connections"),
        human(REPLICA_RATE * DB1119_SHARE, 0),
        human(REPLICA_RATE * DB1119_SHARE * 0.8619, 0),
        human(busy, 0),
        human(busy, 0),
        human(started, 0),
        human(db1119_rate, 0),
        human(db1119_rate * 0.8619, 0)
    )
}

fn meltdown(s: &Map<String, Value>) -> String {
    let full = HOSTS * (7572.8 / HOSTS - 8.0 / SLOW_HOLD_S);
    format!(
        "So far {} rejected, {} a second now (with every host's backlog full under static weights, {} a second); {} failed. Median latency so far {} ms, p99 {} ms. The task: \"if the number of workers is not sufficient, the site will go down.\"",
        count(num(s, "rejected"), "request", "requests"),
        human(per_s(s, "rejected"), 0),
        human(full, 0),
        human(num(s, "failed"), 0),
        human(num(s, "latency_p50_ms"), 0),
        human(num(s, "latency_p99_ms"), 0)
    )
}

fn workers_full(s: &Map<String, Value>) -> String {
    format!(
        "{} app workers busy of 139 × 8 = 1,112; median latency so far {} ms, p99 {} ms; {} rejected yet.",
        human(now(s, "active_workers"), 0),
        human(num(s, "latency_p50_ms"), 0),
        human(num(s, "latency_p99_ms"), 0),
        human(num(s, "rejected"), 0)
    )
}

fn totals(s: &Map<String, Value>) -> String {
    let requests = num(s, "requests").max(1.0);
    format!(
        "{}: {}% rejected, {}% failed; db1119 holds {} now, {} app workers busy.",
        count(num(s, "requests"), "request", "requests"),
        human(100.0 * num(s, "rejected") / requests, 2),
        human(100.0 * num(s, "failed") / requests, 2),
        count(now(s, "db1119.active_conns"), "connection", "connections"),
        human(now(s, "active_workers"), 0)
    )
}

/// Workers per app host the `slow` lesson runs with. Each host gets 7572.8 / 139 = 54.5 req/s. Healthy, a
/// request holds its worker about 0.104 s (98.9% to replicas at about 0.095 s, 1.1% to the primary at 0.877 s),
/// so 54.5 × 0.104 = 5.7 workers are busy on average (Little's law). With db1119 ten times slower, 10.7% of
/// requests take 0.862 s instead of 0.086 s, the mean hold grows to about 0.187 s and 10.2 workers are needed:
/// more than 8, so a pool of 8 (40% headroom over the healthy need) runs out under static weights.
pub const SLOW_WORKERS: &str = "8";

/// The `slow` lesson.
pub const SLOW: &[LessonStep] = &[
    LessonStep {
        title: "A healthy section, with a finite worker pool",
        at_s: 0.0,
        text: "139 app hosts send 7,573 requests a second to eleven replicas (1.1% go to the primary, db1118, which takes writes and so shows load 0). Here each host has 8 PHP-FPM workers (the processes that run MediaWiki's code, one request at a time), sized from production: a host gets 54.5 requests a second and a healthy request holds a worker 0.104 s, so 5.7 are busy (Little's law), 40% headroom. (Wikimedia's own simulation assumed unlimited workers; set workers to unlimited to see that.) Next runs 25 s.",
        chart: "conns",
        view: View::Whole,
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Each replica holds its share × rate × latency",
        at_s: 25.0,
        text: "Every replica's connections sit where Little's law puts them: the average number in a system is the rate in × the time each one stays. db1119 (the thick vermillion line) has load 200 of 1875, so it gets 10.7% of replica requests and holds about 69 connections.",
        chart: "conns",
        view: View::Whole,
        numbers: healthy,
        actions: &[],
    },
    LessonStep {
        title: "db1119 gets ten times slower",
        at_s: 32.0,
        text: "At 30 s db1119's queries take 10× longer. Static weights keep sending it 10.7% of requests, so its connections climb towards ten times the healthy count, and every one of them is an app worker waiting on it. They stop short, near 540: within a second every worker is busy, new requests wait in the hosts' backlogs, and db1119 gets its share only of the requests the workers can start.",
        chart: "conns",
        view: View::Span(15.0, 32.0),
        numbers: slow_pileup,
        actions: &[],
    },
    LessonStep {
        title: "Every worker is taken",
        at_s: 55.0,
        text: "With db1119 slow, a request holds its worker 0.187 s on average instead of 0.104 s, so each host needs 10.2 workers and has 8: all of them are busy (the dotted line on the workers chart is the pool). New requests wait in the listen backlog, so latency climbs by seconds.",
        chart: "workers",
        view: View::Span(20.0, 55.0),
        numbers: workers_full,
        actions: &[],
    },
    LessonStep {
        title: "The backlog overflows and the site goes down",
        at_s: 90.0,
        text: "Each host serves 8 ÷ 0.187 = 43 requests a second of the 54.5 that arrive; the other 11.7 a second queue until its 511-request backlog is full, on average 511 ÷ 11.7 = 44 s after the fault. Arrivals are random, so the 139 backlogs fill at different times, spread by about 5.6 s: the first host overflows about 30 s after the fault, and about half of them by 44 s. From then on new requests are rejected: users get errors. Under static weights this does not recover.",
        chart: "errors",
        view: View::Span(20.0, 90.0),
        numbers: meltdown,
        actions: &[],
    },
    LessonStep {
        title: "Now let a controller react",
        at_s: 120.0,
        text: "Run mw-loadmonitor (or pid, conn-p, p2c) instead, or compare one with static side by side on the same random seed: the lesson replays from t = 0. A controller that sees db1119's connections pile up moves its traffic to the other replicas, the workers come back and the rejections stop. Then play freely: change the workers per app host, how much slower db1119 gets, or when it recovers, in the settings below.",
        chart: "errors",
        view: View::Whole,
        numbers: totals,
        actions: &[LessonAction { label: "Run mw-loadmonitor", act: Act::Controller("mw-loadmonitor") }, LessonAction { label: "Compare static with mw-loadmonitor", act: Act::CompareWith("mw-loadmonitor") }, LessonAction { label: "Compare with conn-p", act: Act::CompareWith("conn-p") }, LessonAction { label: "Compare with p2c", act: Act::CompareWith("p2c") }],
    },
];

fn timeout_pileup(s: &Map<String, Value>) -> String {
    format!(
        "{}; Wikimedia's own simulation saw about 2,500 pile up before its balancer took db1119 out. {} failed connects a second on db1119 now: each of the 799 connects a second sent to it fails 3 s later, counted over the last half second, so it swings around 799 from one step to the next, by up to about a hundred (random arrivals); the request then picks another replica, never db1119 again. {} failed requests so far.",
        db1119_littles(s, "3", 3.0),
        human(per_s(s, "db1119.failed_conns"), 0),
        human(num(s, "failed"), 0)
    )
}

fn timeout_latency(s: &Map<String, Value>) -> String {
    let waiting = share(s, "db1119");
    let now_says = if waiting > 0.01 {
        format!(
            "{}% of new connects go to db1119 now and each waits the full 3 s (under static weights its 10.7%, about one in nine): more than one request in a hundred waits 3 s, so the p99 includes that wait",
            human(100.0 * waiting, 1)
        )
    } else {
        format!(
            "{}% of new connects go to db1119 now, fewer than one in a hundred, so new requests rarely wait; the p99 counts the whole run, the pile-up included",
            human(100.0 * waiting, 1)
        )
    };
    format!(
        "Median latency {} ms, p99 {} ms over the run so far. {now_says}. {} failed requests: a failed connect is retried, so it is rarely a failed request.",
        human(num(s, "latency_p50_ms"), 0),
        human(num(s, "latency_p99_ms"), 0),
        human(num(s, "failed"), 0)
    )
}

/// The `connect-timeout` lesson.
pub const CONNECT_TIMEOUT: &[LessonStep] = &[
    LessonStep {
        title: "A healthy section",
        at_s: 0.0,
        text: "The same section as in the slow lesson. At 30 s db1119 stops answering connects: each one hangs for the 3 s connect timeout, then fails, and the request tries another replica. Press Next.",
        chart: "conns",
        view: View::Whole,
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Before the fault",
        at_s: 25.0,
        text: "db1119 (thick vermillion) holds about 69 connections, its share × rate × latency.",
        chart: "conns",
        view: View::Whole,
        numbers: healthy,
        actions: &[],
    },
    LessonStep {
        title: "Connects pile up for 3 s each",
        at_s: 36.0,
        text: "Every connect to db1119 now stays open for 3 s instead of 0.09 s. Static weights keep sending it 799 connects a second, so about 2,400 wait at once: each one a user request stalled.",
        chart: "conns",
        view: View::Span(20.0, 36.0),
        numbers: timeout_pileup,
        actions: &[],
    },
    LessonStep {
        title: "Slow requests, few errors",
        at_s: 50.0,
        text: "After the timeout the request picks again and usually succeeds elsewhere, so failed connects are many and failed requests few, but the latency tail grows by 3 s. Compare with mw-loadmonitor: its 1 s probes of db1119 fail, it marks db1119 down and the pile-up drains. Then play freely.",
        chart: "latency",
        view: View::Span(20.0, 50.0),
        numbers: timeout_latency,
        actions: &[LessonAction { label: "Compare with mw-loadmonitor", act: Act::CompareWith("mw-loadmonitor") }, LessonAction { label: "Compare with Envoy's least request", act: Act::CompareWith("envoy-least-request") }],
    },
];

fn plain(s: &Map<String, Value>) -> String {
    healthy(s)
}

/// The `plain-s1` lesson.
pub const PLAIN: &[LessonStep] = &[
    LessonStep {
        title: "Wikimedia's s1 section at production rates",
        at_s: 0.0,
        text: "One primary and eleven replicas, 139 app hosts, 7,573 requests a second, a new connection per request. Nothing breaks here: this is the baseline. Press Next.",
        chart: "conns",
        view: View::Whole,
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Little's law on every replica",
        at_s: 20.0,
        text: "Each replica holds its share of the rate × its latency. The 325-load db1163 is slower (0.126 s), so it holds the most. On the latency chart the p99 jumps between about 130 ms and 800 ms: 1.1% of requests are writes to the primary, db1118, whose queries take 0.877 s. In a half-second step where more than 1% of the requests are writes, the p99 is one of them; otherwise it is a slow replica's query (db1163's, up to 139 ms). A good controller leaves all this alone: try one, then raise the traffic with the rate setting, or double it with the button.",
        chart: "conns",
        view: View::Whole,
        numbers: plain,
        actions: &[LessonAction { label: "Compare with conn-p", act: Act::CompareWith("conn-p") }, LessonAction { label: "Double the traffic now", act: Act::Command("surge:2") }],
    },
];

fn refused(s: &Map<String, Value>) -> String {
    format!(
        "db1119 holds {} (a refusal takes one 0.5 ms round trip) and gets {}% of new connects (configured 10.7%), with {} failed connects a second now; {} failed requests so far.",
        count(now(s, "db1119.active_conns"), "connection", "connections"),
        human(100.0 * share(s, "db1119"), 1),
        human(per_s(s, "db1119.failed_conns"), 0),
        human(num(s, "failed"), 0)
    )
}

/// The `refuse` lesson, run under least-conn.
pub const REFUSE: &[LessonStep] = &[
    LessonStep {
        title: "A server that fails fast",
        at_s: 0.0,
        text: "From 30 s db1119 refuses every connect within one round trip. This lesson runs least-conn, a balancer that sends each request to the replica with the fewest open connections. Press Next.",
        chart: "conns",
        view: View::Whole,
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Almost no connections: the best server?",
        at_s: 40.0,
        text: "db1119 now holds almost no connections, so least-conn sees it as the best replica and sends it far more than its configured 10.7%: watch the share chart. Every one of those connects fails and is retried elsewhere. Compare with conn-p, which counts recent failures as connections and stays away.",
        chart: "share",
        view: View::Span(20.0, 40.0),
        numbers: refused,
        actions: &[LessonAction { label: "Compare with conn-p", act: Act::CompareWith("conn-p") }, LessonAction { label: "Compare with Envoy's least request", act: Act::CompareWith("envoy-least-request") }],
    },
];

/// Connects the share chart sums before it stops looking further back (its `SHARE_CONNECTS_MIN`).
const SHARE_WINDOW_CONNECTS: f64 = 2000.0;

fn quiet(s: &Map<String, Value>) -> String {
    let requests = num(s, "requests");
    let connects = requests * REPLICA_FRACTION;
    let n = connects.clamp(1.0, SHARE_WINDOW_CONNECTS);
    let se = (DB1119_SHARE * (1.0 - DB1119_SHARE) / n).sqrt();
    format!(
        "{} so far, {} a second, about {} replica connects; the share chart sums {}, so db1119's bar is its configured 10.7% give or take {} (one standard error). db1119 held {} connections on average over the last half second; in the long run Little's law gives {} connects a second × 0.086 s = {}.",
        count(requests, "request", "requests"),
        human(requests / now(s, "time_s").max(0.5), 1),
        human(connects, 0),
        if connects < SHARE_WINDOW_CONNECTS { "them all (it would stop at the newest 2,000)" } else { "the newest 2,000" },
        count(100.0 * se, "percentage point", "percentage points"),
        human(now(s, "db1119.active_conns"), 2),
        human(REPLICA_RATE * DB1119_SHARE / 1000.0, 2),
        human(REPLICA_RATE * DB1119_SHARE / 1000.0 * 0.08619, 3)
    )
}

/// The `quiet` lesson.
pub const QUIET: &[LessonStep] = &[
    LessonStep {
        title: "A thousandth of the traffic",
        at_s: 0.0,
        text: "7.6 requests a second: most half-second steps see none or one on a server. Press Next.",
        chart: "conns",
        view: View::Whole,
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Shares need many samples",
        at_s: 120.0,
        text: "The share chart adds up the newest connects, going back until it has 2,000 (then a 2.7% share is within ±0.4 points), or all it has when there are fewer. At 7.5 connects a second 2,000 take about 4½ minutes, so here at 2 minutes the bars rest on fewer than a thousand and wobble by about a point. A controller that reacts to one open connection swings wildly at this rate; compare conn-p with pid.",
        chart: "share",
        view: View::Whole,
        numbers: quiet,
        actions: &[LessonAction { label: "Run conn-p", act: Act::Controller("conn-p") }, LessonAction { label: "Compare with pid", act: Act::CompareWith("pid") }],
    },
];

/// Erlang C: the mean response time of an M/M/c queue, s, with `c` servers, arrival rate `lambda` and service
/// rate `mu` per server (per second): T = C(c, a) / (cμ − λ) + 1/μ with a = λ/μ and
/// C(c, a) = (aᶜ/c! · c/(c − a)) / (Σₖ₌₀^{c−1} aᵏ/k! + aᶜ/c! · c/(c − a)), the chance an arrival waits.
/// Infinite when a ≥ c (no steady state).
pub fn erlang_c_mean_s(c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    if a >= c as f64 {
        return f64::INFINITY;
    }
    let mut term = 1.0; // aᵏ/k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    let tail = term * c as f64 / (c as f64 - a);
    let wait = tail / (sum + tail);
    wait / (c as f64 * mu - lambda) + 1.0 / mu
}

/// The `mmc` headline: the run's settings and Erlang C's mean response for them. Requests are routed uniformly
/// at random, so each of the n servers is its own M/M/c queue with λ/n arriving.
pub(super) fn mmc_headline(section: &Section, _servers: &[String]) -> Map<String, Value> {
    let cfg = &section.cfg;
    let mut h = Map::new();
    let n = cfg.servers.len().max(1) as f64;
    let Some(first) = cfg.servers.first() else { return h };
    let slots = match first.capacity {
        Capacity::Slots(c) => c,
        Capacity::Unlimited => return h,
    };
    let service_s = as_secs_f64(first.latency);
    let mu = 1.0 / service_s;
    let lambda = cfg.arrival_rate / n;
    h.insert("servers".into(), n.into());
    h.insert("slots".into(), slots.into());
    h.insert("service_ms".into(), (service_s * 1e3).into());
    h.insert("utilization".into(), (lambda / (slots as f64 * mu)).into());
    let t = erlang_c_mean_s(slots, lambda, mu);
    if t.is_finite() {
        h.insert("erlang_c_mean_ms".into(), (t * 1e3).into());
    }
    h
}

fn mmc(s: &Map<String, Value>) -> String {
    let theory = field(s, "erlang_c_mean_ms");
    let theory = if theory > 0.0 {
        format!(
            "Erlang C, for requests routed at random as static weights do, with {} servers of {} slots, {} ms service at ρ = {}: {} ms",
            human(field(s, "servers"), 0),
            human(field(s, "slots"), 0),
            human(field(s, "service_ms"), 3),
            human(field(s, "utilization"), 3),
            human(theory, 2)
        )
    } else {
        "Erlang C has no steady state at ρ ≥ 1".to_string()
    };
    format!(
        "Mean latency {} ms so far over {}; {theory}. Routed at random, a run of finite length lands within a few percent of the formula, closer the longer it runs; a controller that picks the less busy server beats it. p99 {} ms.",
        human(num(s, "latency_mean_ms"), 2),
        count(num(s, "requests"), "request", "requests"),
        human(num(s, "latency_p99_ms"), 1)
    )
}

/// The `mmc` lesson.
pub const MMC: &[LessonStep] = &[
    LessonStep {
        title: "A textbook queue",
        at_s: 0.0,
        text: "Identical servers with c slots each, random service times (exponential), random arrivals (Poisson), random routing: the M/M/c queue of the textbooks, whose mean response time Erlang C's formula gives exactly. Press Next.",
        chart: "conns",
        view: View::Whole,
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Queues form before the servers are full",
        at_s: 30.0,
        text: "Raise utilization (ρ) towards 1 in the settings below and latency grows as 1/(1 − ρ). Then switch to p2c or least-conn: choosing the less busy of two servers cuts the wait sharply.",
        chart: "latency",
        view: View::Whole,
        numbers: mmc,
        actions: &[LessonAction { label: "Load the servers to 95%", act: Act::Set("utilization", "0.95") }, LessonAction { label: "Compare with p2c", act: Act::CompareWith("p2c") }, LessonAction { label: "Compare with least-conn", act: Act::CompareWith("least-conn") }],
    },
];

/// How each controller reacts when one replica gets slow.
pub const SLOW_NOTES: &[(&str, &str)] = &[
    ("static", "Static weights never look at the servers: db1119 keeps its 10.7% of requests however slow it gets, so its connections and the busy workers climb until the pool runs out."),
    ("mw-legacy", "MediaWiki's old balancer scales weights down by each host's own connection counts; a slow server's count rises, so it gets less, but each host sees only its own few connections."),
    ("mw-loadmonitor", "LoadMonitor probes every server's connection count and shares it across hosts through memcached; every request reads the shared copy while it is under 10 s old, and a lottery on each read refreshes it at about 5.6 s. db1119's count jumps, so it is taken out of rotation, then let back in when its count falls: it swings, two refreshes a swing, about 11 s (the incident report: about 12 s)."),
    ("conn-p", "A proportional controller: each server's weight moves against its excess connections, so db1119 settles at a lower share instead of swinging."),
    ("pid", "Adds integral and derivative terms to conn-p: it settles db1119's connections near the target and damps the swings; see the PID chart below."),
    ("p2c", "Power of two choices: each pick compares two random replicas and takes the one with fewer connections in flight, so db1119, always the busier, is rarely chosen."),
    ("least-conn", "Always picks the replica with the fewest connections in flight on this host: db1119's pile-up keeps it out."),
    ("envoy-least-request", "Envoy's least request: weights divided by active requests, picking the better of two; a slow server with many active requests loses."),
    ("peak-ewma", "Tracks each server's latency as a moving average times its load; db1119's latency is ten times the others', so it gets almost nothing."),
];

/// How each controller reacts when one replica's connects hang.
pub const TIMEOUT_NOTES: &[(&str, &str)] = &[
    ("static", "Static weights keep sending db1119 its share: 2,400 connects wait 3 s at a time."),
    ("mw-loadmonitor", "LoadMonitor's 1 s gauge connections to db1119 time out, it marks the server down, and the pile-up drains; the peak depends on where the fault falls in the 5.6 s refresh cycle. Afterwards about one probe every three seconds reaches it (the incident report: about one a second)."),
    ("conn-p", "Hanging connects count as connections, so db1119's weight falls as they pile up."),
    ("pid", "Like conn-p with integral action: the hanging connects drive db1119's weight down and keep it down."),
    ("p2c", "A hanging connect stays in flight for 3 s, so db1119 looks busy and loses most comparisons."),
    ("least-conn", "db1119's hanging connects make it the busiest replica, so it is avoided."),
    ("envoy-least-request", "Outlier detection ejects db1119 after 5 consecutive connect failures."),
    ("peak-ewma", "Each failed connect takes 3 s, which its latency average sees: db1119 is avoided."),
];

fn whole(s: &Map<String, Value>, key: &str) -> f64 {
    s.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// Under 1% of requests turned away over the whole run.
fn site_up_challenge(s: &Map<String, Value>, now_s: f64, end_s: f64) -> Verdict {
    let (requests, rejected) = (whole(s, "requests"), whole(s, "rejected") + whole(s, "failed"));
    let share = if requests > 0.0 { rejected / requests * 100.0 } else { 0.0 };
    let words = format!("{}% of {} requests turned away or failed so far", human(share, 2), human(requests, 0));
    match (now_s + 1e-6 >= end_s, share < 1.0) {
        (true, true) => Verdict::Met(words),
        (true, false) => Verdict::Missed(words),
        (false, _) => Verdict::Open(words),
    }
}

/// p99 latency under a second over the whole run.
fn tail_challenge(s: &Map<String, Value>, now_s: f64, end_s: f64) -> Verdict {
    let p99 = whole(s, "latency_p99_ms");
    let words = format!("p99 {} ms so far", human(p99, 0));
    match (now_s + 1e-6 >= end_s, p99 < 1000.0) {
        (true, true) => Verdict::Met(words),
        (true, false) => Verdict::Missed(words),
        (false, _) => Verdict::Open(words),
    }
}

/// The slow lesson's challenge.
pub const SLOW_CHALLENGES: &[Challenge] = &[Challenge {
    goal: "Keep the site up through the slow replica: fewer than 1 request in 100 turned away or failed, all the way to the end of the run.",
    hint: "Pick a controller and tune it; the lesson's buttons are a start.",
    check: site_up_challenge,
}];

/// The connect-timeout lesson's challenge.
pub const TIMEOUT_CHALLENGES: &[Challenge] = &[Challenge {
    goal: "Keep the slowest requests fast: p99 latency under one second over the whole run, with a replica that never answers.",
    hint: "A controller that notices failed connects, or a shorter connect timeout.",
    check: tail_challenge,
}];

#[cfg(test)]
mod tests {
    use super::super::SCENARIOS;
    use super::*;
    use crate::engine::scenario::RunSpec;
    use crate::time::from_secs_f64;

    fn run_to(scenario: &str, sets: &[(&str, &str)], until_s: f64) -> Map<String, Value> {
        let sets = sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let spec = RunSpec {
            controller: "static".into(),
            sets,
            seed: 1,
            duration_s: None,
            time_step_s: Some(0.5),
            file: None,
        };
        // The section's own table, not the registry: a model never imports the registry that lists it.
        let def = SCENARIOS.iter().find(|d| d.name == scenario).unwrap();
        let mut run = (def.build)(def, &spec).unwrap();
        run.run_until(from_secs_f64(until_s), u64::MAX);
        run.summary()
    }

    #[test]
    fn every_section_lesson_has_three_to_six_ordered_steps() {
        for def in SCENARIOS {
            let n = def.lesson.len();
            assert!((2..=6).contains(&n), "{}: {n} steps", def.name);
            assert!(def.lesson.windows(2).all(|w| w[0].at_s < w[1].at_s), "{}: steps out of order", def.name);
            for step in def.lesson {
                // Numbers never panic, even on a summary with nothing in it yet.
                let _ = (step.numbers)(&Map::new());
            }
        }
    }

    #[test]
    fn the_slow_lessons_worker_pool_holds_when_healthy_and_runs_out_when_db1119_is_slow() {
        // Little's law: a pool of W workers saturates once λ·T ≥ W (REFERENCE §4). Healthy, a host needs
        // 54.5 × 0.104 = 5.7 of 8 workers: nothing is rejected. With db1119 ten times slower it needs
        // 54.5 × 0.187 = 10.2: the backlog of 511 fills at about 11.7 requests/s and overflows about 44 s
        // after the fault, before the lesson's 90 s step.
        let workers = [("workers", SLOW_WORKERS)];
        let healthy = run_to("plain-s1", &workers, 90.0);
        assert_eq!(healthy["rejected"], 0, "{healthy:?}");
        let step = SLOW.iter().find(|s| s.title.contains("site goes down")).unwrap();
        let slow = run_to("slow", &workers, step.at_s);
        assert!(slow["rejected"].as_u64().unwrap() > 0, "{slow:?}");
        // And at the step before, the pool is full but nothing is rejected yet.
        let full = SLOW.iter().find(|s| s.title.contains("worker is taken")).unwrap();
        assert_eq!(run_to("slow", &workers, full.at_s)["rejected"], 0);
    }

    #[test]
    fn the_slow_lessons_backlogs_overflow_when_the_random_walk_says() {
        // A host's backlog grows by 54.5 − 8/0.187 = 11.7 requests/s with variance (54.5 + 42.8)/s, so it reaches
        // 511 after 44 s on average with a standard deviation of √(97.3 × 44)/11.7 = 5.6 s. The first of 139
        // hosts (about 2.6 standard deviations early) overflows near 30 s after the fault; none 4σ early
        // (fault + 21 s), and by 44 s about half of them reject.
        let workers = [("workers", SLOW_WORKERS)];
        assert_eq!(run_to("slow", &workers, 30.0 + 21.0)["rejected"], 0);
        assert!(run_to("slow", &workers, 30.0 + 44.0)["rejected"].as_u64().unwrap() > 0);
    }

    #[test]
    fn erlang_c_gives_the_textbook_values() {
        // M/M/1 at ρ = 0.9, μ = 100/s: T = 1/(μ(1 − ρ)) = 100 ms.
        assert!((erlang_c_mean_s(1, 90.0, 100.0) - 0.1).abs() < 1e-12);
        // M/M/2 at a = 1, μ = 1: C = 1/3, Wq = C/(2 − 1), T = 4/3.
        assert!((erlang_c_mean_s(2, 1.0, 1.0) - 4.0 / 3.0).abs() < 1e-12);
        // Erlang C tables: 10 agents, 8 erlangs, P(wait) = 0.4092; with μ = 1, Wq = 0.4092 / 2.
        let t = erlang_c_mean_s(10, 8.0, 1.0);
        assert!((t - (1.0 + 0.409_18 / 2.0)).abs() < 1e-4, "{t}");
        assert!(erlang_c_mean_s(4, 4.0, 1.0).is_infinite());
    }

    #[test]
    fn the_mmc_headline_prints_erlang_c_for_the_runs_settings() {
        // Defaults: 20 servers of 8 slots, 10 ms service, ρ = 0.8: each server is M/M/8 with a = 6.4.
        let s = run_to("mmc", &[], 1.0);
        let h = &s["headline"];
        assert_eq!(h["slots"], 8);
        assert!((h["utilization"].as_f64().unwrap() - 0.8).abs() < 1e-9, "{h:?}");
        let expected = erlang_c_mean_s(8, 640.0, 100.0) * 1e3;
        assert!((h["erlang_c_mean_ms"].as_f64().unwrap() - expected).abs() < 1e-9, "{h:?}");
    }
}
