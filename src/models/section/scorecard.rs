//! The scorecard: how well one controller keeps a section healthy through one scenario's fault.
//!
//! It answers the seed's question (002: "which way of weighting connections keeps the section healthy?") with
//! the numbers an SRE would read off the dashboards: how many connections the faulty server sucked up, how fast
//! its share of new connections fell and came back, what users saw, and whether the controller oscillates.
//! Pure: it runs a [`Sim`] and reduces its rows; no clock, no IO.

use crate::engine::scenario::{RunSpec, ScenarioDef};
use crate::models::section::command::{Command, Fault};
use crate::models::section::config::{Config, Role};
use crate::models::section::metrics::StepRow;
use crate::models::section::sim::Sim;
use crate::time::{as_secs_f64, SimTime};

pub use crate::engine::scorecard::{cells, table, Score, COLUMNS};

/// [`crate::engine::scenario::Scorecard::score`] for the section: a named scenario with a recovery key
/// recovers 30 s before the end unless the spec sets one (so the scorecard sees the reaction and the return),
/// then [`score`] of the spec's config.
pub fn score_spec(def: &'static ScenarioDef, spec: &RunSpec) -> Result<Score, String> {
    let mut spec = spec.clone();
    let last = |sets: &[(String, String)], key: &str| sets.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let recovers = def.keys.iter().any(|k| k.key == "recover_at" && k.applies_to(def.name));
    if let (None, true, None, Some(duration_s)) =
        (&spec.file, recovers, last(&spec.sets, "recover_at"), spec.duration_s)
    {
        let fault_at = last(&spec.sets, "fault_at").and_then(|v| v.trim().parse().ok()).unwrap_or(30.0);
        if duration_s - 30.0 > fault_at {
            spec.sets.push(("recover_at".into(), format!("{}", duration_s - 30.0)));
        }
    }
    score(super::config_of(def, &spec)?, spec.seed)
}

/// When and where a scenario's first fault strikes, and when that server recovers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultWindow {
    /// The faulty server's index.
    pub server: usize,
    /// Fault time, µs.
    pub fault_at: SimTime,
    /// Recovery time, µs, if scheduled.
    pub recover_at: Option<SimTime>,
}

/// Finds the first scheduled fault (other than a recovery) and the first recovery of that server after it.
pub fn fault_window(cfg: &Config) -> Option<FaultWindow> {
    let (server, fault_at) = cfg.schedule.iter().find_map(|sc| match sc.command {
        Command::Fault { server, fault } if fault != Fault::Recover => Some((server, sc.at)),
        _ => None,
    })?;
    let recover_at = cfg.schedule.iter().find_map(|sc| match sc.command {
        Command::Fault { server: s, fault: Fault::Recover } if s == server && sc.at > fault_at => Some(sc.at),
        _ => None,
    });
    Some(FaultWindow { server, fault_at, recover_at })
}

/// Requests' own connection attempts at a server in a step (probes left out: they are the controller's, and
/// LoadMonitor probes every server alike, whatever its load).
pub fn user_attempts(row: &StepRow, server: usize) -> u64 {
    let s = &row.servers[server];
    s.total_conns - s.probe_conns
}

/// A server's share of the requests' replica connection attempts in a step; `None` when there were none.
pub fn attempt_share(row: &StepRow, server: usize, replicas: &[usize]) -> Option<f64> {
    let total: u64 = replicas.iter().map(|&i| user_attempts(row, i)).sum();
    (total > 0).then(|| user_attempts(row, server) as f64 / total as f64)
}

/// The oscillation of a series sampled every `step_s` seconds: its period, if it has one, and its amplitude.
///
/// The period is the lag of the autocorrelation's highest peak after its first zero crossing, reported only when
/// that peak exceeds max(0.2, 3/√n). The sample autocorrelation of noise stays within about ±2/√n at every lag,
/// so noise (even autocorrelated noise, like connection counts) has no such peak. A controller that overshoots
/// and undershoots does, even when its swings die down, as LoadMonitor's do in the seed's slow run. The amplitude is √2 times the standard deviation,
/// the amplitude of a sine with the same spread, so noise and swings are on one scale.
///
/// `noise_sd` is the standard deviation the series would have without any controller swings; the period is
/// reported only when the series' own standard deviation exceeds twice it.
pub fn oscillation(values: &[f64], step_s: f64, noise_sd: f64) -> (Option<f64>, f64) {
    let n = values.len();
    if n < 8 {
        return (None, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let centred: Vec<f64> = values.iter().map(|v| v - mean).collect();
    let variance = centred.iter().map(|v| v * v).sum::<f64>() / n as f64;
    let amplitude = (2.0 * variance).sqrt();
    if variance <= 0.0 || variance.sqrt() <= 2.0 * noise_sd {
        return (None, amplitude);
    }
    let acf = |lag: usize| centred.iter().zip(&centred[lag..]).map(|(a, b)| a * b).sum::<f64>() / (n as f64 * variance);
    let max_lag = n / 2;
    let Some(zero) = (1..max_lag).find(|&lag| acf(lag) < 0.0) else { return (None, amplitude) };
    let (best_lag, best) =
        (zero..max_lag).map(|lag| (lag, acf(lag))).fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
    let significant = 0.2f64.max(3.0 / (n as f64).sqrt());
    let period = (best > significant).then_some(best_lag as f64 * step_s);
    (period, amplitude)
}

/// Runs `cfg` with `seed` and scores it. The config's time step sets the resolution of the time figures.
pub fn score(cfg: Config, seed: u64) -> Result<Score, String> {
    let window = fault_window(&cfg);
    let replicas: Vec<usize> = (0..cfg.servers.len()).filter(|&i| cfg.servers[i].role == Role::Replica).collect();
    let total_load: f64 = replicas.iter().map(|&i| cfg.servers[i].load).sum();
    let workers_total = cfg.workers_per_host.map(|w| w as f64 * cfg.hosts as f64);
    let step_s = as_secs_f64(cfg.time_step);
    let scenario = cfg.scenario.clone();
    let controller = cfg.controller.name().to_string();
    let faulty_name = window.map(|w| cfg.servers[w.server].name.clone());
    let mut sim = Sim::try_new(cfg, seed)?;
    sim.run_to_end();
    let rows: Vec<StepRow> = sim.drain_rows().collect();
    let summary = sim.summary();
    let peak_workers = rows.iter().map(|r| r.active_workers).fold(0.0, f64::max);

    let mut score = Score {
        scenario,
        controller,
        faulty_server: faulty_name,
        configured_share: None,
        settled_share: None,
        faulty_failed_conns: 0,
        max_share_deviation: None,
        faulty_peak_conns: 0.0,
        faulty_settled_conns: 0.0,
        time_to_half_share_s: None,
        time_to_return_s: None,
        failed_or_rejected: summary.failed + summary.rejected + summary.overloaded,
        requests: summary.requests,
        latency_mean_ms: summary.latency_mean_ms,
        latency_p50_ms: summary.latency_p50_ms,
        latency_p99_ms: summary.latency_p99_ms,
        peak_workers,
        peak_worker_use: workers_total.map(|w| peak_workers / w),
        oscillation_period_s: None,
        oscillation_amplitude: 0.0,
    };
    let loads: Vec<f64> = sim.config().servers.iter().map(|s| s.load).collect();
    let Some(w) = window else {
        if total_load > 0.0 {
            score.max_share_deviation = max_share_deviation(&rows, &replicas, &loads, total_load);
        }
        return Ok(score);
    };
    let configured_share = if total_load > 0.0 { loads[w.server] / total_load } else { 0.0 };
    score_fault(&mut score, w, &rows, &replicas, configured_share, total_load, step_s);
    Ok(score)
}

/// Without a fault: the largest relative gap between a replica's share of user connects over the run and its
/// configured share, or `None` before any connect.
fn max_share_deviation(rows: &[StepRow], replicas: &[usize], loads: &[f64], total_load: f64) -> Option<f64> {
    let attempts: Vec<u64> = replicas.iter().map(|&i| rows.iter().map(|r| user_attempts(r, i)).sum::<u64>()).collect();
    let all: u64 = attempts.iter().sum();
    (all > 0).then(|| {
        let deviation = |(k, &i): (usize, &usize)| {
            let configured = loads[i] / total_load;
            let measured = attempts[k] as f64 / all as f64;
            if configured > 0.0 {
                (measured - configured).abs() / configured
            } else {
                0.0
            }
        };
        replicas.iter().enumerate().map(deviation).fold(0.0, f64::max)
    })
}

/// With a fault on `w.server`: its connections during the fault window, its settled share, how fast its share
/// halves and returns, and the swings after the controller's first reaction.
fn score_fault(
    score: &mut Score,
    w: FaultWindow,
    rows: &[StepRow],
    replicas: &[usize],
    configured_share: f64,
    total_load: f64,
    step_s: f64,
) {
    let fault_s = as_secs_f64(w.fault_at);
    let end_s = w.recover_at.map_or(f64::INFINITY, as_secs_f64);
    // A step belongs to the fault window when it ends after the fault and no later than the recovery.
    let during: Vec<&StepRow> = rows.iter().filter(|r| r.time_s > fault_s && r.time_s <= end_s).collect();
    let conns: Vec<f64> = during.iter().map(|r| r.servers[w.server].active_conns).collect();
    score.faulty_peak_conns = conns.iter().copied().fold(0.0, f64::max);
    let settled_from = conns.len() * 7 / 10;
    if settled_from < conns.len() {
        let tail = &conns[settled_from..];
        score.faulty_settled_conns = tail.iter().sum::<f64>() / tail.len() as f64;
        let settled = &during[settled_from..];
        let mine: u64 = settled.iter().map(|r| user_attempts(r, w.server)).sum();
        let all: u64 = settled.iter().map(|r| replicas.iter().map(|&i| user_attempts(r, i)).sum::<u64>()).sum();
        score.settled_share = (all > 0).then(|| mine as f64 / all as f64);
    }
    score.faulty_failed_conns = during.iter().map(|r| r.servers[w.server].failed_conns).sum();
    if total_load > 0.0 && replicas.contains(&w.server) {
        score.configured_share = Some(configured_share);
    }
    if configured_share > 0.0 {
        score.time_to_half_share_s = during
            .iter()
            .find(|r| attempt_share(r, w.server, replicas).is_some_and(|s| s < configured_share / 2.0))
            .map(|r| r.time_s - fault_s);
        if let Some(recover) = w.recover_at {
            let recover_s = as_secs_f64(recover);
            score.time_to_return_s = rows
                .iter()
                .filter(|r| r.time_s > recover_s)
                .find(|r| attempt_share(r, w.server, replicas).is_some_and(|s| s >= configured_share / 2.0))
                .map(|r| r.time_s - recover_s);
        }
    }
    // Swings are measured from the controller's first reaction (its share halving) to recovery; with no
    // reaction, over the second half of the fault window.
    let from = match score.time_to_half_share_s {
        Some(t) => during.iter().position(|r| r.time_s - fault_s >= t).unwrap_or(0),
        None => conns.len() / 2,
    };
    // Without swings, the connection count of a server with independent arrivals is Poisson: variance = mean
    // (M/G/∞). Swings must stand out from that.
    let window = &conns[from..];
    let mean = window.iter().sum::<f64>() / window.len().max(1) as f64;
    let (period, amplitude) = oscillation(window, step_s, mean.max(0.0).sqrt());
    score.oscillation_period_s = period;
    score.oscillation_amplitude = amplitude;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oscillation_of_a_sampled_sine() {
        // A 12 s sine of amplitude 100 around 300, sampled every 0.5 s for 120 s: period 12, amplitude 100
        // (a sine's standard deviation is its amplitude / √2 over whole periods).
        let values: Vec<f64> =
            (0..240).map(|i| 300.0 + 100.0 * (2.0 * std::f64::consts::PI * i as f64 * 0.5 / 12.0).sin()).collect();
        let (period, amplitude) = oscillation(&values, 0.5, 0.0);
        let period = period.expect("a sine oscillates");
        assert!((period - 12.0).abs() < 0.5, "period {period}");
        assert!((amplitude - 100.0).abs() < 1.0, "amplitude {amplitude}");
    }

    #[test]
    fn a_constant_does_not_oscillate() {
        assert_eq!(oscillation(&[5.0; 50], 1.0, 0.0), (None, 0.0));
    }

    #[test]
    fn swings_within_poisson_noise_are_not_oscillation() {
        // The same sine as above, but judged against noise of sd 50: its sd (70.7) is under twice that.
        let values: Vec<f64> =
            (0..240).map(|i| 300.0 + 100.0 * (2.0 * std::f64::consts::PI * i as f64 * 0.5 / 12.0).sin()).collect();
        assert_eq!(oscillation(&values, 0.5, 50.0).0, None);
        assert!(oscillation(&values, 0.5, 30.0).0.is_some());
    }

    #[test]
    fn white_noise_has_no_period() {
        // Independent uniform noise: the autocorrelation at every lag is about ±1/√n ≈ 0.06, below 3/√n ≈ 0.19.
        let mut rng = crate::rng::Rng::new(4, crate::rng::Stream::Control);
        let values: Vec<f64> = (0..240).map(|_| 100.0 + 10.0 * rng.next_f64()).collect();
        assert_eq!(oscillation(&values, 0.5, 0.0).0, None);
    }
}
