//! What the section does to and with its servers: faults and their repair, a crash's lost connections, each
//! query's service time, the replication lag its gauges read, and each server's state now. The server itself,
//! its connect mode, slots and queue, is the noun in `server.rs`.

use super::model::*;
use super::overrides::*;
use super::request::*;
use super::server::*;
use crate::engine::Ctx;
use crate::models::section::command::Fault;
use crate::models::section::config::LatencyDist;
use crate::rng::{self};
use crate::time::{SimDuration, SimTime};

impl Section {
    pub(super) fn apply_fault(&mut self, ctx: &mut Ctx<Event>, server: usize, fault: Fault) {
        let now = ctx.now();
        let s = &mut self.servers[server];
        match fault {
            Fault::Slow { factor } => s.slow_factor = factor,
            Fault::ConnectTimeout => s.connect_mode = ConnectMode::Blackhole,
            Fault::Refuse => s.connect_mode = ConnectMode::Refuse,
            Fault::Cold { from_fraction, warmup } => {
                s.cold = Some(ColdRamp { start: now, from_fraction, warmup });
                if self.cfg.cold_ramp {
                    let to = self.cfg.servers[server].load;
                    self.set_ramp(ctx, server, LoadRamp { from: to * from_fraction, to, start: now, length: warmup });
                }
            }
            Fault::Recover => {
                s.connect_mode = ConnectMode::Accept;
                s.crashed = false;
                s.slow_factor = 1.0;
                s.cold = None;
            }
            Fault::LargeWrite { apply } => {
                if let Some(r) = &mut self.replication[server] {
                    r.add_large_write(now as f64, apply as f64, &self.stream);
                }
            }
            Fault::Crash => {
                s.connect_mode = ConnectMode::Blackhole;
                s.crashed = true;
                self.lose_all_connections(ctx, server);
            }
        }
    }

    /// Drops every connection to a crashed server now: pending connects fail and re-pick, running and queued
    /// queries fail their requests.
    pub(super) fn lose_all_connections(&mut self, ctx: &mut Ctx<Event>, server: usize) {
        let now = ctx.now();
        let s = &mut self.servers[server];
        let lost = s.close_all(now);
        s.queue.clear();
        s.busy_slots = 0;
        s.failed_conns += lost.len() as u64;
        for req in lost {
            let r = &mut self.requests[req];
            r.gen = r.gen.wrapping_add(1); // its pending ConnectDone or QueryDone is now stale
            let (host, phase, started, probe) = (r.host as usize, r.phase, r.conn_started, r.probe);
            if probe {
                self.end_probe(ctx, req, false);
                continue;
            }
            self.add_in_flight(host, server, -1);
            if phase == Phase::Connecting {
                self.controllers[host].on_connect(now, server, false, now - started);
                self.retry_or_fail(ctx, req);
            } else {
                self.controllers[host].on_lost(now, server, now - started);
                self.finish(ctx, req, Outcome::Failed);
            }
        }
    }

    /// Service multiplier from `slow` and `cold` faults at the current time.
    pub(super) fn latency_multiplier(&self, server: usize, now: SimTime) -> f64 {
        let s = &self.servers[server];
        let cold = match s.cold {
            Some(c) if c.warmup > 0 && now < c.start + c.warmup => {
                let progress = (now - c.start) as f64 / c.warmup as f64;
                1.0 / (c.from_fraction + (1.0 - c.from_fraction) * progress)
            }
            _ => 1.0,
        };
        s.slow_factor * cold
    }

    pub(super) fn service_time(&mut self, ctx: &mut Ctx<Event>, server: usize) -> SimDuration {
        let base = self.cfg.servers[server].latency as f64;
        let sample = match self.cfg.latency_dist {
            LatencyDist::Uniform => base * (0.9 + 0.2 * self.rng_service.next_f64()),
            LatencyDist::Exponential => self.rng_service.exponential(base),
            LatencyDist::Lognormal { sigma } => {
                let mu = rng::ln(base) - sigma * sigma / 2.0;
                rng::exp(mu + sigma * self.rng_service.standard_normal())
            }
        };
        let micros = sample * self.latency_multiplier(server, ctx.now());
        if micros.is_nan() || micros <= 0.0 {
            0
        } else {
            // Nearest, halves up. Through i64: the value is in (0, MAX_WAIT + 0.5], where the signed conversion
            // (one instruction on x86-64) gives the same number as the unsigned one (about ten).
            (micros.min(MAX_WAIT as f64) + 0.5) as i64 as SimDuration
        }
    }

    /// `server`'s (true, measured) replication lag now, µs, advancing its SQL thread to now; (0, 0) for a server
    /// that does not replicate.
    pub(super) fn lag_now(&mut self, server: usize, now: SimTime) -> (f64, f64) {
        match &mut self.replication[server] {
            Some(r) => {
                r.advance(now as f64, &self.stream);
                let lag = (r.true_lag_us(), r.measured_lag_us(&self.stream));
                let peak = &mut self.lag_peaks[server];
                *peak = (peak.0.max(lag.0), peak.1.max(lag.1));
                lag
            }
            None => (0.0, 0.0),
        }
    }

    /// A gauge's lag read of `server` now, µs (measured), counted for the heartbeat-noise headline.
    pub(super) fn gauge_lag(&mut self, server: usize, now: SimTime) -> f64 {
        let (true_lag, measured) = self.lag_now(server, now);
        if self.replication[server].is_some() && true_lag < 1e6 {
            let r = &mut self.normal_reads;
            *r = (r.0 + 1, r.1 + measured, r.2 + (measured - true_lag));
        }
        measured
    }

    /// The replication headline: per server the peak (true, measured) lag read, s, and over gauge reads at
    /// normal lag (true lag under 1 s) the reads, the mean heartbeat age (measured − true) and its share of the
    /// measured lag.
    pub(crate) fn lag_headline(&self) -> (Vec<(f64, f64)>, u64, f64, f64) {
        let (n, measured, age) = self.normal_reads;
        let peaks = self.lag_peaks.iter().map(|&(t, m)| (t / 1e6, m / 1e6)).collect();
        let mean_age = if n > 0 { age / n as f64 / 1e6 } else { 0.0 };
        let share = if measured > 0.0 { age / measured } else { 0.0 };
        (peaks, n, mean_age, share)
    }

    /// `server`'s (true, measured) replication lag at `now` (not before its last advance), µs, without changing
    /// the simulation; (0, 0) for a server that does not replicate.
    pub(crate) fn lag_at(&self, server: usize, now: SimTime) -> (f64, f64) {
        match &self.replication[server] {
            Some(r) => {
                let mut r = r.clone();
                r.advance(now as f64, &self.stream);
                (r.true_lag_us(), r.measured_lag_us(&self.stream))
            }
            None => (0.0, 0.0),
        }
    }

    /// Each server's state right now, in config order.
    pub(crate) fn servers_now(&self, now: SimTime) -> Vec<ServerNow> {
        (0..self.servers.len())
            .map(|i| {
                let s = &self.servers[i];
                ServerNow {
                    active_conns: s.conns.len() as u32,
                    busy_slots: s.busy_slots,
                    queued: s.queue.len() as u32,
                    connect_mode: s.connect_mode,
                    crashed: s.crashed,
                    latency_multiplier: self.latency_multiplier(i, now),
                    effective_load: self.effective_load[i],
                    pinned: self.pinned[i],
                }
            })
            .collect()
    }
}
