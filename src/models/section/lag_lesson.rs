//! The `large-write` scenario's lesson, controller notes, incident figures and headline: replication lag as
//! the old LoadMonitor's only load signal.
//!
//! The incident's words are the seed's (002, the DBA's comment on "LoadMonitor connection weighting
//! reimagined", and T327852 as quoted there); the numbers beside them are this run's, read from its summary
//! (`headline`) and from `now`, the newest step row by column name, which the page adds to the summary.

use crate::engine::scenario::{Act, LessonAction};
use serde_json::{Map, Value};

use crate::engine::picture::{count, human};
use crate::engine::scenario::{Figure, LessonStep, View};
use crate::models::section::config::Role;
use crate::models::section::lessons::share;
use crate::models::section::model::Section;
use crate::models::section::scenario::{EVENTSIM_S1, FAULTY_SERVER, OVERLOADED_SERVER};

/// A column of the newest row (0 when absent).
fn now(s: &Map<String, Value>, column: &str) -> f64 {
    s.get("now").and_then(|n| n.get(column)).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A headline field (0 when absent).
fn field(s: &Map<String, Value>, key: &str) -> f64 {
    s.get("headline").and_then(|h| h.get(key)).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A replica's configured share: its load over the replicas' total (1875 in the s1 table).
fn configured_share(server: &str, without: Option<&str>) -> f64 {
    let replicas = || EVENTSIM_S1.iter().filter(|r| r.1 == Role::Replica && Some(r.0) != without);
    let total: f64 = replicas().map(|r| r.2).sum();
    replicas().find(|r| r.0 == server).map_or(0.0, |r| r.2 / total)
}

fn noise(s: &Map<String, Value>) -> String {
    let reads = field(s, "normal_gauge_reads");
    let heartbeat = if reads > 0.0 {
        format!(
            "Over {} of the replicas' lag while it was normal (under 1 s), the heartbeat's age was {} s on average, {}% of the measured lag",
            count(reads, "reading", "readings"),
            human(field(s, "mean_heartbeat_age_s"), 2),
            human(100.0 * field(s, "heartbeat_share_of_measured"), 0)
        )
    } else {
        "This controller reads no lag, so nothing has measured the heartbeat's share yet (mw-legacy and mw-loadmonitor do)".to_string()
    };
    format!(
        "db1163 holds {} now and its measured lag is {} s (true {} s). {heartbeat}; the incident report: \"inflated with average of half a second\", \"80 to 90% of the replag being measured is just randomness\".",
        count(now(s, "db1163.active_conns"), "connection", "connections"),
        human(now(s, "db1163.measured_lag_s"), 2),
        human(now(s, "db1163.true_lag_s"), 3)
    )
}

fn lagging(s: &Map<String, Value>) -> String {
    format!(
        "db1119: true lag {} s, measured {} s; its share of new connects {}% (configured {}%). db1163, drowning: share {}% (configured {}%, {}% with db1119 out), {}.",
        human(now(s, "db1119.true_lag_s"), 1),
        human(now(s, "db1119.measured_lag_s"), 1),
        human(100.0 * share(s, FAULTY_SERVER), 1),
        human(100.0 * configured_share(FAULTY_SERVER, None), 1),
        human(100.0 * share(s, OVERLOADED_SERVER), 1),
        human(100.0 * configured_share(OVERLOADED_SERVER, None), 1),
        human(100.0 * configured_share(OVERLOADED_SERVER, Some(FAULTY_SERVER)), 1),
        count(now(s, "db1163.active_conns"), "connection", "connections")
    )
}

fn drained(s: &Map<String, Value>) -> String {
    format!(
        "db1119 peaked at {} s true and {} s measured lag; now {} s measured and {}% of new connects (configured {}%). db1163's measured lag never went above {} s; it holds {} now.",
        human(field(s, "db1119_peak_true_lag_s"), 1),
        human(field(s, "db1119_peak_measured_lag_s"), 1),
        human(now(s, "db1119.measured_lag_s"), 2),
        human(100.0 * share(s, FAULTY_SERVER), 1),
        human(100.0 * configured_share(FAULTY_SERVER, None), 1),
        human(field(s, "db1163_peak_measured_lag_s"), 2),
        count(now(s, "db1163.active_conns"), "connection", "connections")
    )
}

/// The `large-write` lesson.
pub const LESSON: &[LessonStep] = &[
    LessonStep {
        title: "Two replicas in trouble, one signal",
        at_s: 0.0,
        text: "Wikimedia's s1 at production rates, with replication: the primary commits 500 binlog events a second and each replica's single SQL thread applies up to 1,000, 75 ms behind. From 20 s db1163 (load 325) drowns in reads: half speed, 200 query slots for the 325 it now needs. At 30 s db1119 starts applying one transaction that takes it 15 s. This lesson runs mw-legacy, MediaWiki's balancer of 2017–2021, whose only load signal was replication lag: how far behind the primary a replica is (its 2021–2024 successor judged replicas the same way). Press Next.",
        chart: "lag",
        view: View::Whole,
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "A replica drowning in reads shows no lag",
        at_s: 28.0,
        text: "db1163's connections climb by about 500 a second: it serves 800 queries a second of the 1,300 it is sent. Its lag is what it always is, because reads do not slow the SQL thread. What varies is the measurement: a heartbeat row (pt-heartbeat) is written on the primary once a second, and a replica's lag is read as now minus the newest heartbeat it has applied, so measured lag = true lag + that heartbeat's age, anywhere between 0 and 1 s.",
        chart: "lag",
        view: View::Span(10.0, 28.0),
        numbers: noise,
        actions: &[],
    },
    LessonStep {
        title: "mw-legacy drops a healthy replica that is applying a large write",
        at_s: 42.0,
        text: "Everything committed after 30 s waits behind db1119's transaction, so its lag grows one second per second. Once the lag mw-legacy has cached passes 6 s (its max lag), it stops choosing db1119: its share falls to 0 although it answers reads as fast as ever, and its share goes to the others, db1163 included. (Static weights, which read no lag, keep it at its 10.7%.)",
        chart: "share",
        view: View::Span(20.0, 42.0),
        numbers: lagging,
        actions: &[],
    },
    LessonStep {
        title: "The backlog drains at apply rate minus write rate",
        at_s: 52.0,
        text: "At 45 s the transaction is applied and 15 s of writes (7,500 events) are waiting. The SQL thread applies 1,000 a second while 500 more arrive, so the backlog shrinks by 500 a second: 15 s more. When the measured lag drops under 6 s, db1119 is back.",
        chart: "true_lag",
        view: View::Span(25.0, 52.0),
        numbers: lagging,
        actions: &[],
    },
    LessonStep {
        title: "Lag measured the writer, not the load",
        at_s: 75.0,
        text: "db1119 is back on its configured share; db1163 still holds thousands of connections and kept its share throughout. Now compare with mw-loadmonitor (the 2024 rework, the first to count connections) or conn-p: db1163's pile-up lowers its weight. The rework still drops a replica that lags more than 6 s when its lag check is on, as in production, so db1119 still sits out its write; with the check off (its default here) it keeps serving.",
        chart: "conns",
        view: View::Whole,
        numbers: drained,
        actions: &[LessonAction { label: "Compare with mw-loadmonitor", act: Act::CompareWith("mw-loadmonitor") }, LessonAction { label: "Compare with conn-p", act: Act::CompareWith("conn-p") }],
    },
];

/// How each controller reacts to a large write on db1119 beside a read-overloaded db1163.
pub const NOTES: &[(&str, &str)] = &[
    ("static", "Static weights look at neither lag nor load: db1119 keeps its 10.7% through the write, and db1163 its 17.3% while its queue grows."),
    ("mw-legacy", "MediaWiki 1.35 drops a replica whose cached lag is over 6 s: db1119 gets nothing from about 37 s to 55 s although it serves reads normally, while db1163, drowning but replicating, keeps its share and gets part of db1119's."),
    ("mw-loadmonitor", "The rework counts connections, so db1163's pile-up lowers its weight. Lag is checked separately: with the lag check on (production) db1119 is dropped from about 38 s to 56 s, as under mw-legacy; with the check off (the default) db1119 keeps serving. The default follows the incident report's run: its simulator reports no lag at all, and a lag check there would still have dropped a server whose connections fail within about two seconds, which the run's peak of about 2,500 rules out."),
    ("conn-p", "Connection counts, not lag: db1163's excess connections lower its weight; db1119's write changes nothing."),
    ("pid", "Like conn-p with integral action: db1163 is driven towards its connection target; db1119 is untouched."),
    ("p2c", "Compares in-flight connections: db1163, always the busier, loses most comparisons."),
    ("least-conn", "db1163's queue makes it the busiest replica, so it is avoided; lag plays no part."),
    ("envoy-least-request", "Active requests divide the weights: db1163's pile-up keeps it out."),
    ("peak-ewma", "db1163's latency, twice its normal plus its queue, lowers its weight; db1119's latency is unchanged by its write."),
];

/// What the incident reported.
pub const FIGURES: &[Figure] = &[
    Figure {
        field: "headline.mean_heartbeat_age_s",
        reported: "about 0.5 s",
        source: "Wikimedia Phabricator T327852, quoted in the task \"LoadMonitor connection weighting reimagined\": \"inflated with average of half a second\"",
    },
    Figure {
        field: "headline.heartbeat_share_of_measured",
        reported: "80–90%",
        source: "a DBA's comment on the Phabricator task \"LoadMonitor connection weighting reimagined\": \"80 to 90% of the replag being measured is just randomness\"",
    },
];

/// The run's headline: the lagging and the drowning replica's peak lags and the heartbeat noise at normal lag.
pub fn headline(section: &Section, servers: &[String]) -> Map<String, Value> {
    let (peaks, reads, age, share) = section.lag_headline();
    let peak = |name: &str| servers.iter().position(|s| s == name).map_or((0.0, 0.0), |i| peaks[i]);
    let mut h = Map::new();
    h.insert("db1119_peak_true_lag_s".into(), peak(FAULTY_SERVER).0.into());
    h.insert("db1119_peak_measured_lag_s".into(), peak(FAULTY_SERVER).1.into());
    h.insert("db1163_peak_measured_lag_s".into(), peak(OVERLOADED_SERVER).1.into());
    h.insert("normal_gauge_reads".into(), reads.into());
    h.insert("mean_heartbeat_age_s".into(), age.into());
    h.insert("heartbeat_share_of_measured".into(), share.into());
    h
}
