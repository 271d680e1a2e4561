//! What a run records: one row per time step (EventSimulator's columns) and a run-wide summary.

/// One server's figures for one time step.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerStep {
    /// Connections open or opening, time-averaged over the step (waiting connects count, as in EventSimulator).
    pub active_conns: f64,
    /// Connect attempts started in the step, probes included (EventSimulator counts every connection).
    pub total_conns: u64,
    /// Of those, probe (gauge) connections; `total_conns − probe_conns` are the requests' own attempts.
    pub probe_conns: u64,
    /// Connect attempts that failed in the step (timeouts, refusals, and connections lost in a crash).
    pub failed_conns: u64,
    /// Queries completed in the step.
    pub work_count: u64,
    /// 99th percentile of connection lifetime (connect attempt to close) of queries completed in the step, ms.
    pub latency_p99_ms: f64,
    /// Replication lag at the step's end, s: now − commit time of the oldest event not yet applied (0 for the
    /// primary).
    pub true_lag_s: f64,
    /// What pt-heartbeat reports at the step's end, s: now − the newest applied heartbeat (true lag plus the
    /// heartbeat's age).
    pub measured_lag_s: f64,
}

/// One time step of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRow {
    /// End of the step, seconds since the start.
    pub time_s: f64,
    /// Requests that got a worker and started in the step.
    pub requests: u64,
    /// Requests rejected in the step: backlog full, or the in-flight bound reached.
    pub rejected: u64,
    /// Requests that ended in an error in the step: no server left to try, or the query lost in a crash.
    pub failed: u64,
    /// Requests failed fast by the section circuit breaker or a controller ("overloaded").
    pub overloaded: u64,
    /// Probe (gauge) connections started in the step.
    pub probes: u64,
    /// Busy app workers across all hosts, time-averaged over the step.
    pub active_workers: f64,
    /// Mean end-to-end latency (arrival to completion) of requests completed in the step, ms.
    pub latency_mean_ms: f64,
    /// Median end-to-end latency, ms.
    pub latency_p50_ms: f64,
    /// 99th percentile end-to-end latency, ms.
    pub latency_p99_ms: f64,
    /// Per server, in config order.
    pub servers: Vec<ServerStep>,
}

/// Totals over a whole run.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Requests that arrived.
    pub requests: u64,
    /// Requests completed successfully.
    pub completed: u64,
    /// Requests rejected (backlog full or in-flight bound).
    pub rejected: u64,
    /// Requests that ended in an error (no server left, or lost in a crash).
    pub failed: u64,
    /// Requests failed fast as "overloaded".
    pub overloaded: u64,
    /// Probe (gauge) connections made.
    pub probes: u64,
    /// Requests still in the system when the summary was taken.
    pub in_flight: u64,
    /// Mean end-to-end latency of completed requests, ms (exact).
    pub latency_mean_ms: f64,
    /// Median end-to-end latency, ms (within 0.8%).
    pub latency_p50_ms: f64,
    /// 99th percentile end-to-end latency, ms (within 0.8%).
    pub latency_p99_ms: f64,
    /// Events processed.
    pub events: u64,
    /// Rows dropped because the reader did not drain them (0 in normal use).
    pub rows_dropped: u64,
    /// Hash of every processed event (time, kind, subject): equal hashes mean identical runs.
    pub trace_hash: u64,
}
