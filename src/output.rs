//! Formatting of per-step rows as EventSimulator-compatible CSV and as JSON, shared by the CLI and the web app's
//! export so both produce the same bytes for the same run.

use crate::metrics::{StepRow, Summary};
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

/// Escapes a string for JSON.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One JSON object for a row, with per-server figures keyed by server name.
pub fn json_row<'a>(row: &StepRow, servers: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let _ = write!(out, "{{\"time_s\":{:.3},\"requests\":{},\"rejected\":{},\"failed\":{},\"overloaded\":{},\"probes\":{},\"active_workers\":{:.3},\"latency_mean_ms\":{:.3},\"latency_p50_ms\":{:.3},\"latency_p99_ms\":{:.3},\"servers\":{{",
        row.time_s, row.requests, row.rejected, row.failed, row.overloaded, row.probes, row.active_workers, row.latency_mean_ms, row.latency_p50_ms, row.latency_p99_ms);
    for (i, (name, s)) in servers.zip(&row.servers).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}:{{\"active_conns\":{:.3},\"total_conns\":{},\"probe_conns\":{},\"failed_conns\":{},\"work_count\":{},\"latency_p99_ms\":{:.3}}}",
            json_string(name), s.active_conns, s.total_conns, s.probe_conns, s.failed_conns, s.work_count, s.latency_p99_ms);
    }
    out.push_str("}}");
    out
}

/// The JSON summary object. `wall_seconds` is measured by the caller (the core has no clock).
pub fn json_summary(s: &Summary, wall_seconds: f64) -> String {
    format!(
        "{{\"requests\":{},\"completed\":{},\"rejected\":{},\"failed\":{},\"overloaded\":{},\"probes\":{},\"in_flight\":{},\"latency_mean_ms\":{:.3},\"latency_p50_ms\":{:.3},\"latency_p99_ms\":{:.3},\"events\":{},\"rows_dropped\":{},\"trace_hash\":\"{:016x}\",\"wall_seconds\":{:.6}}}",
        s.requests, s.completed, s.rejected, s.failed, s.overloaded, s.probes, s.in_flight, s.latency_mean_ms, s.latency_p50_ms, s.latency_p99_ms, s.events, s.rows_dropped, s.trace_hash, wall_seconds
    )
}
