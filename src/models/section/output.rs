//! A per-step row as the section's JSON object (per-server figures keyed by server name, floats to 3 decimals),
//! shared by the CLI and the web app's export so both produce the same bytes for the same run. The CSV comes from
//! the row schema (`super::columns`, `engine::schema`) like every model's.

use serde_json::{json, Map, Value};

use crate::models::section::metrics::StepRow;

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
