//! Formatting of per-step rows as EventSimulator-compatible CSV and as JSON, shared by the CLI and the web app's
//! export so both produce the same bytes for the same run. CSV is formatted here (fixed decimals per column, the
//! same on every platform); JSON goes through serde_json.

use serde_json::{json, Map, Value};

use crate::models::section::metrics::StepRow;
use std::fmt::Write;

/// The CSV header: global columns, then five per server, in config order.
pub fn csv_header<'a>(servers: impl Iterator<Item = &'a str>) -> String {
    let mut h = String::from("time_s,requests,rejected,active_workers,latency_mean_ms,latency_p50_ms,latency_p99_ms");
    for s in servers {
        for col in ["active_conns", "total_conns", "failed_conns", "work_count", "latency_p99_ms"] {
            let _ = write!(h, ",{s}.{col}");
        }
    }
    h
}

/// Formats a float with a fixed number of decimals, as the same text on every platform.
fn fixed(out: &mut String, value: f64, decimals: usize) {
    let v = if value.is_finite() { value } else { 0.0 };
    let _ = write!(out, "{v:.decimals$}");
}

/// One CSV line (no newline) for a row.
pub fn csv_row(row: &StepRow) -> String {
    let mut out = String::with_capacity(64 + row.servers.len() * 40);
    fixed(&mut out, row.time_s, 3);
    let _ = write!(out, ",{},{},", row.requests, row.rejected);
    fixed(&mut out, row.active_workers, 3);
    for v in [row.latency_mean_ms, row.latency_p50_ms, row.latency_p99_ms] {
        out.push(',');
        fixed(&mut out, v, 3);
    }
    for s in &row.servers {
        out.push(',');
        fixed(&mut out, s.active_conns, 3);
        let _ = write!(out, ",{},{},{},", s.total_conns, s.failed_conns, s.work_count);
        fixed(&mut out, s.latency_p99_ms, 3);
    }
    out
}

/// A float rounded to 3 decimals, as a JSON number (0 for a non-finite value, as in the CSV).
fn rounded(value: f64) -> Value {
    let v = if value.is_finite() { value } else { 0.0 };
    Value::from((v * 1000.0).round() / 1000.0)
}

/// One JSON object for a row, with per-server figures keyed by server name (serde_json; floats to 3 decimals).
pub fn json_row<'a>(row: &StepRow, servers: impl Iterator<Item = &'a str>) -> String {
    let per_server: Map<String, Value> = servers
        .zip(&row.servers)
        .map(|(name, s)| {
            let v = json!({
                "active_conns": rounded(s.active_conns), "total_conns": s.total_conns,
                "probe_conns": s.probe_conns, "failed_conns": s.failed_conns, "work_count": s.work_count,
                "latency_p99_ms": rounded(s.latency_p99_ms), "true_lag_s": rounded(s.true_lag_s),
                "measured_lag_s": rounded(s.measured_lag_s),
            });
            (name.to_string(), v)
        })
        .collect();
    let v = json!({
        "time_s": rounded(row.time_s), "requests": row.requests, "rejected": row.rejected, "failed": row.failed,
        "overloaded": row.overloaded, "probes": row.probes, "active_workers": rounded(row.active_workers),
        "latency_mean_ms": rounded(row.latency_mean_ms), "latency_p50_ms": rounded(row.latency_p50_ms),
        "latency_p99_ms": rounded(row.latency_p99_ms), "servers": per_server,
    });
    v.to_string()
}
