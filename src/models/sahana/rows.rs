//! The Sahana model's row schema and charts, declared once as data.
//!
//! Global columns: `time_s`, per step `arrivals`, `completed`, `rejected`; at the step's end `listen_queue`
//! (requests waiting for a worker), `stuck_workers`, `blocked_workers`. Per worker `wN.`:
//! - `busy_fraction`: share of the step it held a request (serving, blocked or stuck);
//! - `served`: requests it completed in the step;
//! - `idle_age_s`: seconds since a packet of its connection's flow last passed the router (what the router's
//!   idle timeout compares);
//! - `flow_state`: 0 open and known to the router; 1 open but forgotten by the router (neither end knows);
//!   2 retransmitting into a forgotten flow; 3 closed (keepalive, reset or timeout), reopened by its next request;
//! - `lane`: 0 idle, 1 busy, 2 blocked on a lock another worker holds, 3 stuck on a dead connection;
//! - hidden (JSON and charts only): `retransmits` (over the run), `share` (its share of completed requests so
//!   far) and `hunting_share` (ordered hunting's share at the current rate: Erlang B, B(k−1,a) − B(k,a)).

use crate::engine::schema::{ChartSpec, Column, Crowd, Scale};

/// Global columns, in order, with decimals.
pub const GLOBAL: &[(&str, u8)] = &[
    ("time_s", 3),
    ("arrivals", 0),
    ("completed", 0),
    ("rejected", 0),
    ("listen_queue", 0),
    ("stuck_workers", 0),
    ("blocked_workers", 0),
];
/// Per-worker columns in the CSV, in order.
pub const PER_WORKER: &[(&str, u8)] =
    &[("busy_fraction", 3), ("served", 0), ("idle_age_s", 1), ("flow_state", 0), ("lane", 0)];
/// Per-worker columns kept for JSON and charts only.
pub const PER_WORKER_HIDDEN: &[(&str, u8)] = &[("retransmits", 0), ("share", 4), ("hunting_share", 4)];

/// Worker names: `w1` … `wN`.
pub fn worker_names(n: u32) -> Vec<String> {
    (1..=n).map(|i| format!("w{i}")).collect()
}

/// The row schema for `names`.
pub fn columns(names: &[String]) -> Vec<Column> {
    let mut out: Vec<Column> = GLOBAL.iter().map(|(n, d)| Column::new(*n, *d)).collect();
    for w in names {
        out.extend(PER_WORKER.iter().map(|(n, d)| Column::new(format!("{w}.{n}"), *d)));
    }
    for w in names {
        out.extend(PER_WORKER_HIDDEN.iter().map(|(n, d)| Column::hidden(format!("{w}.{n}"), *d)));
    }
    out
}

/// Ordered hunting's share per worker at offered load `a` (Erlang): share_k ∝ B(k−1, a) − B(k, a), normalised
/// over the `n` workers (Erlang B by its recursion B(k) = a·B(k−1) / (k + a·B(k−1)), B(0) = 1).
pub fn hunting_shares(n: u32, a: f64) -> Vec<f64> {
    let mut b = 1.0;
    let mut raw = Vec::with_capacity(n as usize);
    for k in 1..=n {
        let next = a * b / (k as f64 + a * b);
        raw.push(b - next);
        b = next;
    }
    let total: f64 = raw.iter().sum();
    raw.iter().map(|x| if total > 0.0 { x / total } else { 0.0 }).collect()
}

const fn chart(
    id: &'static str,
    title: &'static str,
    hint: &'static str,
    columns: &'static [&'static str],
    labels: &'static [&'static str],
    unit: &'static str,
    reference: Option<(&'static str, f64)>,
) -> ChartSpec {
    ChartSpec { id, title, hint, columns, labels, unit, scale: Scale::Linear, reference, crowd: Crowd::Each }
}

/// The model's charts.
pub const CHARTS: &[ChartSpec] = &[
    ChartSpec {
        scale: Scale::States(&["idle", "busy", "blocked on a lock", "stuck on a dead connection"]),
        ..chart(
        "lanes",
        "What each worker is doing",
        "One band per worker, coloured by what it is doing: idle, busy, blocked behind another worker's lock, or stuck resending into a dead connection.",
        &[".lane"],
        &["what it is doing"],
        "lane",
        None,
    )
    },
    chart(
        "idle",
        "Idle age of each worker's flow against the router's timeout",
        "A flow the router has not seen for its timeout is forgotten; keepalive probes start only after the idle time set for them (7200 s by default).",
        &[".idle_age_s"],
        &["idle for"],
        "s",
        Some(("router timeout", 3600.0)),
    ),
    ChartSpec {
        scale: Scale::States(&["open", "forgotten by the router", "resending into it", "closed"]),
        ..chart(
        "flows",
        "Flow state per worker",
        "One band per worker's connection, coloured by what the router knows of it: open, forgotten (neither end knows), being resent into, or closed.",
        &[".flow_state"],
        &["what the router knows"],
        "state",
        None,
    )
    },
    chart(
        "retransmits",
        "Retransmissions per worker",
        "Each tick is one retransmission; the gaps double from 0.2 s to 120 s until the kernel's retry limit gives up.",
        &[".retransmits"],
        &["retransmissions"],
        "retransmissions",
        None,
    ),
    chart(
        "queue",
        "Listen queue and rejected requests",
        "While every worker is stuck or blocked, the listen queue fills to its 100 and further requests are rejected.",
        &["listen_queue", "rejected", "completed"],
        &["waiting in the listen queue", "rejected", "completed"],
        "requests",
        None,
    ),
    chart(
        "shares",
        "Share of requests per worker against ordered hunting",
        "Lowest-numbered-first dispatch gives shares B(k−1,a) − B(k,a) (Erlang B): the last workers idle for hours.",
        &[".share", ".hunting_share"],
        &["share it got", "ordered hunting"],
        "share",
        None,
    ),
    chart(
        "busy",
        "Busy fraction per worker",
        "A stuck or blocked worker counts as busy: it holds its request.",
        &[".busy_fraction"],
        &["busy fraction"],
        "fraction",
        None,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunting_shares_for_one_worker_and_a_light_load() {
        assert_eq!(hunting_shares(1, 0.5), vec![1.0]);
        // Two workers, a = 1: B(1) = 1/2, B(2) = 1/5, so raw shares 1/2 and 3/10, normalised 5/8 and 3/8.
        let s = hunting_shares(2, 1.0);
        assert!((s[0] - 0.625).abs() < 1e-12 && (s[1] - 0.375).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn every_chart_plots_some_column() {
        let cols = columns(&worker_names(2));
        for c in CHARTS {
            assert!(!c.series(&cols).is_empty(), "{}", c.id);
        }
    }
}
