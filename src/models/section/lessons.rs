//! The section model's lessons, as data: for each scenario three to six steps that run the simulation to a
//! moment, say what to look at, and set this run's numbers beside what the incident reported; and a
//! plain-words paragraph per controller on how it reacts there.
//!
//! Figures come from seed 002 (Wikimedia's "LoadMonitor connection weighting reimagined" and its EventSimulator
//! runs) and REFERENCE.md §1 and §4. The numbers functions read the run's summary (`requests`, `rejected`,
//! `failed`, latencies) and `now`, the newest step row by column name, which the page adds to it.

use crate::engine::picture::human;
use crate::engine::scenario::{Act, LessonAction};
use crate::engine::scenario::{Challenge, Verdict};
use serde_json::{Map, Value};

use crate::engine::scenario::LessonStep;

/// A summary field as a number (0 when absent).
fn num(s: &Map<String, Value>, key: &str) -> f64 {
    s.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A column of the newest row (0 when absent).
fn now(s: &Map<String, Value>, column: &str) -> f64 {
    s.get("now").and_then(|n| n.get(column)).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A count per second of the newest 0.5 s row.
fn per_s(s: &Map<String, Value>, column: &str) -> f64 {
    now(s, column) / 0.5
}

/// db1119's share of replica requests under static weights: load 200 of 1875 (REFERENCE §1).
const DB1119_SHARE: f64 = 200.0 / 1875.0;
/// Replica request rate: 7572.8 req/s less the primary's 85.81 (REFERENCE §1).
const REPLICA_RATE: f64 = 7572.8 - 85.81;

fn healthy(s: &Map<String, Value>) -> String {
    format!(
        "db1119 holds {:.0} connections now; Little's law: {:.0} connects/s × 0.086 s = {:.0}, and the EventSimulator run saw 74.9. p50 latency {:.0} ms.",
        now(s, "db1119.active_conns"),
        REPLICA_RATE * DB1119_SHARE,
        REPLICA_RATE * DB1119_SHARE * 0.08619,
        num(s, "latency_p50_ms")
    )
}

fn slow_pileup(s: &Map<String, Value>) -> String {
    format!(
        "db1119 holds {:.0} connections: {:.0} connects/s × 0.862 s = {:.0} by Little's law while it still gets its share; the EventSimulator run saw about 700. {:.0} app workers are busy.",
        now(s, "db1119.active_conns"),
        REPLICA_RATE * DB1119_SHARE,
        REPLICA_RATE * DB1119_SHARE * 0.8619,
        now(s, "active_workers")
    )
}

fn meltdown(s: &Map<String, Value>) -> String {
    format!(
        "So far {:.0} requests rejected ({:.0}/s now) and {:.0} failed; p50 latency {:.0} ms, p99 {:.0} ms. The task: \"if the number of workers is not sufficient, the site will go down.\"",
        num(s, "rejected"),
        per_s(s, "rejected"),
        num(s, "failed"),
        num(s, "latency_p50_ms"),
        num(s, "latency_p99_ms")
    )
}

fn workers_full(s: &Map<String, Value>) -> String {
    format!(
        "{:.0} app workers busy of 139 × 8 = 1112; p50 latency {:.0} ms, p99 {:.0} ms so far; {:.0} rejected yet.",
        now(s, "active_workers"),
        num(s, "latency_p50_ms"),
        num(s, "latency_p99_ms"),
        num(s, "rejected")
    )
}

fn totals(s: &Map<String, Value>) -> String {
    let requests = num(s, "requests").max(1.0);
    format!(
        "{:.0} requests: {:.2}% rejected, {:.2}% failed; db1119 holds {:.0} connections now, {:.0} app workers busy.",
        requests,
        100.0 * num(s, "rejected") / requests,
        100.0 * num(s, "failed") / requests,
        now(s, "db1119.active_conns"),
        now(s, "active_workers")
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
        text: "139 app hosts send 7,573 requests a second to eleven replicas (1.1% go to the primary, db1118, which takes writes and so shows load 0). Here each host has 8 PHP-FPM workers, sized from production: a host gets 54.5 requests/s and a healthy request holds a worker 0.104 s, so 5.7 are busy (Little's law), 40% headroom. (EventSimulator assumed unlimited workers; the CLI's slow still does.) Next runs 25 s.",
        chart: "conns",
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Each replica holds its share × rate × latency",
        at_s: 25.0,
        text: "Every replica's connections sit where Little's law puts them. db1119 (the thick vermillion line) has load 200 of 1875, so it gets 10.7% of replica requests and holds about 69 connections.",
        chart: "conns",
        numbers: healthy,
        actions: &[],
    },
    LessonStep {
        title: "db1119 gets ten times slower",
        at_s: 32.0,
        text: "At 30 s db1119's queries take 10× longer. Static weights keep sending it 10.7% of requests, so its connections climb towards ten times the healthy count, and every one of them is an app worker waiting on it.",
        chart: "conns",
        numbers: slow_pileup,
        actions: &[],
    },
    LessonStep {
        title: "Every worker is taken",
        at_s: 55.0,
        text: "With db1119 slow, a request holds its worker 0.187 s on average instead of 0.104 s, so each host needs 10.2 workers and has 8: all of them are busy (the dotted line on the workers chart is the pool). New requests wait in the listen backlog, so latency climbs by seconds.",
        chart: "workers",
        numbers: workers_full,
        actions: &[],
    },
    LessonStep {
        title: "The backlog overflows and the site goes down",
        at_s: 90.0,
        text: "Each host serves 8 ÷ 0.187 = 43 requests a second of the 54.5 that arrive; the other 12 a second queue until the 511-request backlog is full (about 44 s after the fault), and from then on they are rejected: users get errors. Under static weights this does not recover.",
        chart: "errors",
        numbers: meltdown,
        actions: &[],
    },
    LessonStep {
        title: "Now let a controller react",
        at_s: 120.0,
        text: "Pick mw-loadmonitor (or pid, conn-p, p2c) as controller A, or as B to compare side by side on the same seed: the lesson replays from t = 0. A controller that sees db1119's connections pile up moves its traffic to the other replicas, the workers come back and the rejections stop. Then play freely: try workers, slow_factor or recover_at below.",
        chart: "errors",
        numbers: totals,
        actions: &[LessonAction { label: "Run mw-loadmonitor", act: Act::Controller("mw-loadmonitor") }, LessonAction { label: "Compare static with mw-loadmonitor", act: Act::CompareWith("mw-loadmonitor") }, LessonAction { label: "Compare with conn-p", act: Act::CompareWith("conn-p") }, LessonAction { label: "Compare with p2c", act: Act::CompareWith("p2c") }],
    },
];

fn timeout_pileup(s: &Map<String, Value>) -> String {
    format!(
        "db1119 holds {:.0} connections: {:.0} connects/s × 3 s = {:.0} by Little's law; the EventSimulator run saw about 2,500 pile up before LoadMonitor depooled it. {:.0} failed connects/s on db1119 now, {:.0} failed requests so far.",
        now(s, "db1119.active_conns"),
        REPLICA_RATE * DB1119_SHARE,
        REPLICA_RATE * DB1119_SHARE * 3.0,
        per_s(s, "db1119.failed_conns"),
        num(s, "failed")
    )
}

fn timeout_latency(s: &Map<String, Value>) -> String {
    format!(
        "p50 {:.0} ms, p99 {:.0} ms over the run so far: one request in nine waits the full 3 s before trying another replica. {:.0} failed requests: a failed connect is retried, so it is rarely a failed request.",
        num(s, "latency_p50_ms"),
        num(s, "latency_p99_ms"),
        num(s, "failed")
    )
}

/// The `connect-timeout` lesson.
pub const CONNECT_TIMEOUT: &[LessonStep] = &[
    LessonStep {
        title: "A healthy section",
        at_s: 0.0,
        text: "The same section as slow. At 30 s db1119 stops answering connects: each one hangs for the 3 s connect timeout, then fails, and the request tries another replica. Press Next.",
        chart: "conns",
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Before the fault",
        at_s: 25.0,
        text: "db1119 (thick vermillion) holds about 69 connections, its share × rate × latency.",
        chart: "conns",
        numbers: healthy,
        actions: &[],
    },
    LessonStep {
        title: "Connects pile up for 3 s each",
        at_s: 36.0,
        text: "Every connect to db1119 now stays open for 3 s instead of 0.09 s. Static weights keep sending it 798 connects a second, so about 2,400 wait at once: each one a user request stalled.",
        chart: "conns",
        numbers: timeout_pileup,
        actions: &[],
    },
    LessonStep {
        title: "Slow requests, few errors",
        at_s: 50.0,
        text: "After the timeout the request re-picks and usually succeeds elsewhere, so failed connects are many and failed requests few, but the latency tail grows by 3 s. Pick mw-loadmonitor: its 1 s gauge probes fail, it marks db1119 down and the pile-up drains. Then play freely.",
        chart: "latency",
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
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Little's law on every replica",
        at_s: 20.0,
        text: "Each replica holds its share of the rate × its latency. The 325-load db1163 is slower (0.126 s), so it holds the most. A good controller leaves this alone: try one, then raise rate_scale or press surge.",
        chart: "conns",
        numbers: plain,
        actions: &[LessonAction { label: "Compare with conn-p", act: Act::CompareWith("conn-p") }, LessonAction { label: "Double the traffic now", act: Act::Command("surge:2") }],
    },
];

fn refused(s: &Map<String, Value>) -> String {
    format!(
        "db1119 holds {:.0} connections (a refusal takes one 0.5 ms round trip), with {:.0} failed connects/s now; {:.0} failed requests so far.",
        now(s, "db1119.active_conns"),
        per_s(s, "db1119.failed_conns"),
        num(s, "failed")
    )
}

/// The `refuse` lesson.
pub const REFUSE: &[LessonStep] = &[
    LessonStep {
        title: "A server that fails fast",
        at_s: 0.0,
        text: "From 30 s db1119 refuses every connect within one round trip. Press Next.",
        chart: "conns",
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Almost no connections: the best server?",
        at_s: 40.0,
        text: "db1119 now holds almost no connections. A balancer that prefers the least-loaded server sees it as the best one and sends it more: pick least-conn and watch the share chart. conn-p counts recent failures as connections and stays away.",
        chart: "share",
        numbers: refused,
        actions: &[LessonAction { label: "Run least-conn", act: Act::Controller("least-conn") }, LessonAction { label: "Compare with conn-p", act: Act::CompareWith("conn-p") }, LessonAction { label: "Compare with Envoy's least request", act: Act::CompareWith("envoy-least-request") }],
    },
];

fn quiet(s: &Map<String, Value>) -> String {
    format!(
        "{:.0} requests so far, {:.1} per second; db1119 holds {:.2} connections on average now.",
        num(s, "requests"),
        num(s, "requests") / now(s, "time_s").max(0.5),
        now(s, "db1119.active_conns")
    )
}

/// The `quiet` lesson.
pub const QUIET: &[LessonStep] = &[
    LessonStep {
        title: "A thousandth of the traffic",
        at_s: 0.0,
        text: "7.6 requests a second: most half-second steps see none or one on a server. Press Next.",
        chart: "conns",
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Shares need many samples",
        at_s: 120.0,
        text: "The share chart sums at least 2000 connects before it shows a share, so here its window spans minutes. A controller that reacts to one open connection swings wildly at this rate; compare conn-p with pid.",
        chart: "share",
        numbers: quiet,
        actions: &[LessonAction { label: "Run conn-p", act: Act::Controller("conn-p") }, LessonAction { label: "Compare with pid", act: Act::CompareWith("pid") }],
    },
];

fn mmc(s: &Map<String, Value>) -> String {
    format!(
        "Mean latency {:.2} ms, p99 {:.2} ms so far over {:.0} requests; Erlang C gives the mean for these settings (REFERENCE §5).",
        num(s, "latency_mean_ms"),
        num(s, "latency_p99_ms"),
        num(s, "requests")
    )
}

/// The `mmc` lesson.
pub const MMC: &[LessonStep] = &[
    LessonStep {
        title: "A textbook queue",
        at_s: 0.0,
        text: "Identical servers with c slots, exponential service, Poisson arrivals, random routing. Press Next.",
        chart: "conns",
        numbers: |_| "Paused at t = 0.".to_string(),
        actions: &[],
    },
    LessonStep {
        title: "Queues form before the servers are full",
        at_s: 30.0,
        text: "Raise utilization (ρ) towards 1 in the settings below and latency grows as 1/(1 − ρ). Then switch to p2c or least-conn: choosing the less busy of two servers cuts the wait sharply.",
        chart: "latency",
        numbers: mmc,
        actions: &[LessonAction { label: "Load the servers to 95%", act: Act::Set("utilization", "0.95") }, LessonAction { label: "Compare with p2c", act: Act::CompareWith("p2c") }, LessonAction { label: "Compare with least-conn", act: Act::CompareWith("least-conn") }],
    },
];

/// How each controller reacts when one replica gets slow.
pub const SLOW_NOTES: &[(&str, &str)] = &[
    ("static", "Static weights never look at the servers: db1119 keeps its 10.7% of requests however slow it gets, so its connections and the busy workers climb until the pool runs out."),
    ("mw-legacy", "MediaWiki's old balancer scales weights down by each host's own connection counts; a slow server's count rises, so it gets less, but each host sees only its own few connections."),
    ("mw-loadmonitor", "LoadMonitor probes every server's connection count and shares it across hosts through memcached; every request reads the shared copy while it is under 10 s old, and a lottery on each read refreshes it at about 5.6 s. db1119's count jumps, so it is depooled, then let back in when its count falls: it swings, two refreshes a swing, about 11 s (the incident report: about 12 s)."),
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
        let spec = RunSpec { controller: "static".into(), sets, seed: 1, duration_s: None, time_step_s: Some(0.5) };
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
}
