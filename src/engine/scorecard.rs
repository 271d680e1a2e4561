//! The scorecard of a balanced run: how well one controller keeps a cluster healthy through one scenario's
//! fault, in the numbers an SRE reads off the dashboards (how many connections the faulty target sucked up, how
//! fast its share of new work fell and came back, what users saw, whether the controller oscillates). A model
//! whose scenarios take a controller measures it ([`crate::engine::scenario::Scorecard`]); `loadlab compare`
//! and `tune` print and rank it.

/// A scorecard row: one controller on one scenario. Serialized whole (full precision) in shard files.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Score {
    /// Scenario name.
    pub scenario: String,
    /// Controller name.
    pub controller: String,
    /// The target the scenario breaks first, if any.
    pub faulty_server: Option<String>,
    /// The faulty server's configured share of replica connections (its load over the replicas' total).
    pub configured_share: Option<f64>,
    /// Its share of the requests' replica connection attempts (probes left out) over the settled part of the
    /// fault window (its last 30%).
    pub settled_share: Option<f64>,
    /// Its failed connects between fault and recovery: attempts wasted on it.
    pub faulty_failed_conns: u64,
    /// Without a fault: the largest relative deviation of any replica's share of connection attempts over the
    /// run from its configured share, |measured − configured| / configured. `None` for fault scenarios.
    pub max_share_deviation: Option<f64>,
    /// Highest time-averaged active connections of the faulty server between fault and recovery.
    pub faulty_peak_conns: f64,
    /// Mean active connections of the faulty server over the last 30% of the fault window ("settled").
    pub faulty_settled_conns: f64,
    /// Seconds from the fault until the faulty server's share of new connections first falls below half its
    /// configured share; `None` if it never does.
    pub time_to_half_share_s: Option<f64>,
    /// Seconds from recovery until its share is back to at least half its configured share; `None` if the
    /// scenario has no recovery or the share never returns.
    pub time_to_return_s: Option<f64>,
    /// Requests that failed, were rejected or failed fast as "overloaded".
    pub failed_or_rejected: u64,
    /// All requests that arrived.
    pub requests: u64,
    /// End-to-end mean latency, ms.
    pub latency_mean_ms: f64,
    /// End-to-end median latency, ms.
    pub latency_p50_ms: f64,
    /// End-to-end 99th percentile latency, ms.
    pub latency_p99_ms: f64,
    /// Highest time-averaged busy workers in any step.
    pub peak_workers: f64,
    /// `peak_workers` as a fraction of all workers, when pools are bounded.
    pub peak_worker_use: Option<f64>,
    /// Period of the faulty server's connection swings from the controller's first reaction (or, without one,
    /// the second half of the fault window) until recovery, s; `None` when the series has no periodic
    /// component (see `models::section::scorecard::oscillation`).
    pub oscillation_period_s: Option<f64>,
    /// Amplitude of those swings (√2 × standard deviation), connections.
    pub oscillation_amplitude: f64,
}

/// Column names of the scorecard, for CSV and the table.
pub const COLUMNS: &[&str] = &[
    "scenario",
    "controller",
    "faulty_server",
    "share_configured",
    "share_settled",
    "failed_conns",
    "peak_conns",
    "settled_conns",
    "to_half_share_s",
    "return_s",
    "failed_or_rejected",
    "requests",
    "mean_ms",
    "p50_ms",
    "p99_ms",
    "peak_workers",
    "peak_worker_use",
    "osc_period_s",
    "osc_amplitude",
    "max_share_dev",
];

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

/// The row's cells, in [`COLUMNS`] order.
pub fn cells(s: &Score) -> Vec<String> {
    vec![
        s.scenario.clone(),
        s.controller.clone(),
        s.faulty_server.clone().unwrap_or_else(|| "-".into()),
        opt(s.configured_share, 3),
        opt(s.settled_share, 3),
        s.faulty_failed_conns.to_string(),
        format!("{:.1}", s.faulty_peak_conns),
        format!("{:.1}", s.faulty_settled_conns),
        opt(s.time_to_half_share_s, 1),
        opt(s.time_to_return_s, 1),
        s.failed_or_rejected.to_string(),
        s.requests.to_string(),
        format!("{:.1}", s.latency_mean_ms),
        format!("{:.1}", s.latency_p50_ms),
        format!("{:.1}", s.latency_p99_ms),
        format!("{:.0}", s.peak_workers),
        opt(s.peak_worker_use, 3),
        opt(s.oscillation_period_s, 1),
        format!("{:.1}", s.oscillation_amplitude),
        opt(s.max_share_deviation, 3),
    ]
}

/// Renders rows as an aligned text table (Markdown-compatible).
pub fn table(scores: &[Score]) -> String {
    let rows: Vec<Vec<String>> = scores.iter().map(cells).collect();
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|c| rows.iter().map(|r| r[c].len()).chain([COLUMNS[c].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(COLUMNS.to_vec());
    out += &line(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect());
    for r in &rows {
        out += &line(r.iter().map(String::as_str).collect());
    }
    out
}
