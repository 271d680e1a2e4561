//! The section's meter: per-step counters and latency histograms, integrated worker use, the buffered rows and
//! the run totals.

use super::model::*;
use crate::engine::Ctx;
use crate::models::section::metrics::{ServerStep, StepRow, Summary};
use crate::time::as_secs_f64;

impl Section {
    pub(super) fn on_step_end(&mut self, ctx: &mut Ctx<Event>) {
        let now = ctx.now();
        let span = (now - self.step_start).max(1) as f64;
        self.set_busy_workers(ctx, 0);
        let active_workers = self.workers_area as f64 / span;
        self.workers_area = 0;
        let lags: Vec<(f64, f64)> = (0..self.servers.len()).map(|i| self.lag_now(i, now)).collect();
        let mut p99_us = Vec::with_capacity(self.servers.len());
        self.server_latencies.take_quantiles(0.99, &mut p99_us);
        let servers = (self.servers.iter_mut().zip(lags).zip(p99_us))
            .map(|((s, (true_lag, measured_lag)), p99_us)| {
                s.touch(now);
                let row = ServerStep {
                    active_conns: s.conn_area as f64 / span,
                    total_conns: s.total_conns,
                    probe_conns: s.probe_conns,
                    failed_conns: s.failed_conns,
                    work_count: s.work_count,
                    latency_p99_ms: p99_us / 1e3,
                    true_lag_s: true_lag / 1e6,
                    measured_lag_s: measured_lag / 1e6,
                };
                s.conn_area = 0;
                s.total_conns = 0;
                s.probe_conns = 0;
                s.failed_conns = 0;
                s.work_count = 0;
                row
            })
            .collect();
        let row = StepRow {
            time_s: as_secs_f64(now),
            requests: self.step_requests,
            rejected: self.step_rejected,
            failed: self.step_failed,
            overloaded: self.step_overloaded,
            probes: self.step_probes,
            active_workers,
            latency_mean_ms: self.step_latency.mean_us() / 1e3,
            latency_p50_ms: self.step_latency.quantile_us(0.5) / 1e3,
            latency_p99_ms: self.step_latency.quantile_us(0.99) / 1e3,
            servers,
        };
        self.run_latency.merge(&self.step_latency);
        self.step_latency.clear();
        self.step_requests = 0;
        self.step_rejected = 0;
        self.step_failed = 0;
        self.step_overloaded = 0;
        self.step_probes = 0;
        self.step_start = now;
        self.rows.push(row);
        ctx.push(now + self.cfg.time_step, Event::StepEnd);
    }

    pub(super) fn set_busy_workers(&mut self, ctx: &mut Ctx<Event>, delta: i64) {
        self.workers_area += self.busy_workers as u128 * (ctx.now() - self.workers_last_change) as u128;
        self.workers_last_change = ctx.now();
        self.busy_workers = (self.busy_workers as i64 + delta) as u64;
    }

    pub(super) fn reject(&mut self) {
        self.rejected += 1;
        self.step_rejected += 1;
    }

    /// Takes the rows recorded since the last call, oldest first.
    pub(crate) fn drain_rows(&mut self) -> impl Iterator<Item = StepRow> + '_ {
        self.rows.drain()
    }

    /// Totals so far.
    pub(crate) fn summary(&self, events: u64, trace_hash: u64) -> Summary {
        // The run's latencies: the closed steps' and the current one's (merging sums the same counts the
        // recording of every value in both did, so every figure is as before).
        let mut run_latency = self.run_latency.clone();
        run_latency.merge(&self.step_latency);
        Summary {
            requests: self.arrived,
            completed: self.completed,
            rejected: self.rejected,
            failed: self.failed,
            overloaded: self.overloaded,
            probes: self.probes,
            in_flight: self.requests.live_requests as u64,
            latency_mean_ms: run_latency.mean_us() / 1e3,
            latency_p50_ms: run_latency.quantile_us(0.5) / 1e3,
            latency_p99_ms: run_latency.quantile_us(0.99) / 1e3,
            events,
            rows_dropped: self.rows.dropped(),
            trace_hash,
        }
    }
}
