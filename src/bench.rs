//! The benchmarks behind `loadlab bench`: pure functions that run a workload and return what they measured, so
//! the CLI only times and prints. The wall clock is read here (native only), never in the core.
//!
//! - [`bare_mmc`]: a bare discrete-event loop of the same M/M/c model as the `mmc` scenario (std `BinaryHeap`,
//!   `Copy` events, the same PRNG, uniform routing, FIFO slots) with no engine, no metrics and no controller.
//!   loadlab's events/s divided by the bare loop's, measured in the same run, is the engine's overhead as a
//!   ratio that does not depend on the machine.
//! - [`scenario_rate`]: events per second of any scenario through the registry.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

use crate::registry::{self, RunSpec};
use crate::rng::{Rng, Stream};

/// What one timed run did.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    /// Events processed.
    pub events: u64,
    /// Wall seconds.
    pub wall_s: f64,
}

impl Measured {
    /// Events per wall second.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.wall_s.max(1e-9)
    }
}

/// The bare M/M/c loop: `servers` servers of `slots` slots, exponential service of mean `service_us`, Poisson
/// arrivals at utilisation `rho`, each routed to a uniformly random server, for `duration_us` simulated µs.
pub fn bare_mmc(servers: usize, slots: u32, service_us: f64, rho: f64, duration_us: u64, seed: u64) -> Measured {
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Ev {
        Arrival,
        Done(u32),
    }
    let started = Instant::now();
    let mut arrivals = Rng::new(seed, Stream::Arrivals);
    let mut service = Rng::new(seed, Stream::Service);
    let mut routing = Rng::new(seed, Stream::Balancing);
    let rate_per_us = rho * servers as f64 * slots as f64 / service_us;
    let mut heap: BinaryHeap<Reverse<(u64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut busy = vec![0u32; servers];
    let mut waiting: Vec<VecDeque<u64>> = vec![VecDeque::new(); servers];
    let mut exact = 0.0f64;
    exact += arrivals.exponential(1.0 / rate_per_us);
    heap.push(Reverse(((exact + 0.5) as u64, seq, Ev::Arrival)));
    let mut events = 0u64;
    while let Some(Reverse((now, _, ev))) = heap.pop() {
        if now > duration_us {
            break;
        }
        events += 1;
        match ev {
            Ev::Arrival => {
                exact += arrivals.exponential(1.0 / rate_per_us);
                seq += 1;
                heap.push(Reverse(((exact + 0.5) as u64, seq, Ev::Arrival)));
                let s = routing.below(servers as u64) as usize;
                if busy[s] < slots {
                    busy[s] += 1;
                    seq += 1;
                    let t = now + (service.exponential(service_us) + 0.5) as u64;
                    heap.push(Reverse((t, seq, Ev::Done(s as u32))));
                } else {
                    waiting[s].push_back(now);
                }
            }
            Ev::Done(s) => {
                let s = s as usize;
                if waiting[s].pop_front().is_some() {
                    seq += 1;
                    let t = now + (service.exponential(service_us) + 0.5) as u64;
                    heap.push(Reverse((t, seq, Ev::Done(s as u32))));
                } else {
                    busy[s] -= 1;
                }
            }
        }
    }
    Measured { events, wall_s: started.elapsed().as_secs_f64() }
}

/// Runs a registered scenario to the end of `duration_s` and times it.
pub fn scenario_rate(
    scenario: &str,
    controller: &str,
    sets: &[(&str, &str)],
    duration_s: f64,
    time_step_s: f64,
) -> Result<Measured, String> {
    let spec = RunSpec {
        controller: controller.to_string(),
        sets: sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        seed: 1,
        duration_s: Some(duration_s),
        time_step_s: Some(time_step_s),
        file: None,
    };
    let mut run = registry::build(scenario, &spec)?;
    let started = Instant::now();
    let end = run.duration();
    run.run_until(end, u64::MAX);
    let wall_s = started.elapsed().as_secs_f64();
    run.drain_rows();
    Ok(Measured { events: run.events(), wall_s })
}

/// The best (fastest) of `repeats` measurements.
pub fn best_of(repeats: u32, mut f: impl FnMut() -> Result<Measured, String>) -> Result<Measured, String> {
    let mut best: Option<Measured> = None;
    for _ in 0..repeats.max(1) {
        let m = f()?;
        if best.is_none_or(|b| m.rate() > b.rate()) {
            best = Some(m);
        }
    }
    Ok(best.expect("at least one repeat"))
}

/// One row of `loadlab bench`: a name, what it measured, and the figure as text.
pub type Line = (String, String);

/// Every benchmark of `loadlab bench`, in order. `repeats` runs each and keeps the best.
pub fn all(repeats: u32) -> Result<Vec<Line>, String> {
    let mut out: Vec<Line> = Vec::new();
    let mmc = [("servers", "20"), ("slots", "8"), ("service_ms", "10"), ("utilization", "0.9")];
    let engine = best_of(repeats, || scenario_rate("mmc", "static", &mmc, 200.0, 1.0))?;
    let bare = best_of(repeats, || Ok(bare_mmc(20, 8, 10_000.0, 0.9, 200_000_000, 1)))?;
    out.push((
        "mmc 20×8 slots, 10 ms, ρ 0.9, 200 s".into(),
        format!(
            "loadlab {:.2} M events/s, bare loop {:.2} M events/s, ratio {:.2}",
            engine.rate() / 1e6,
            bare.rate() / 1e6,
            engine.rate() / bare.rate()
        ),
    ));
    let plain = best_of(repeats, || scenario_rate("plain-s1", "static", &[], 100.0, 1.0))?;
    out.push(("plain-s1, 100 s simulated".into(), format!("{:.3} s wall", plain.wall_s)));
    for controller in crate::controller::controllers().iter().map(|c| c.name) {
        let at = |servers: &str, seconds: f64| {
            let sets = [("servers", servers), ("slots", "1"), ("utilization", "0.9")];
            best_of(repeats, || scenario_rate("mmc", controller, &sets, seconds, 10.0))
        };
        let (small, large) = (at("8", 400.0)?, at("1024", 2.0)?);
        out.push((
            format!("pick scaling, {controller}: mmc 1 slot/server, ρ 0.9"),
            format!(
                "8 servers {:.2} M events/s, 1024 servers {:.2} M events/s, ratio {:.2}",
                small.rate() / 1e6,
                large.rate() / 1e6,
                large.rate() / small.rate()
            ),
        ));
    }
    for (name, duration, step) in [
        ("sahana-idle-drop", 604_800.0, 60.0),
        ("koha-memcached-blackhole", 600.0, 1.0),
        ("percona-desync", 0.0, 60.0),
        ("galera-hyperconverged", 0.0, 1.0),
        ("galera-full-crash", 0.0, 1.0),
    ] {
        if registry::find(name).is_err() {
            continue;
        }
        let measured = if duration > 0.0 {
            best_of(repeats, || scenario_rate(name, "", &[], duration, step))?
        } else {
            best_of(repeats, || default_course(name))?
        };
        let what = if duration > 0.0 { format!("{duration} s simulated") } else { "its default course".into() };
        out.push((format!("{name}, {what}"), format!("{:.3} s wall ({} events)", measured.wall_s, measured.events)));
    }
    Ok(out)
}

/// Runs a scenario for its own default duration.
fn default_course(name: &str) -> Result<Measured, String> {
    let mut run = registry::build(name, &RunSpec { seed: 1, ..RunSpec::default() })?;
    let started = Instant::now();
    let end = run.duration();
    run.run_until(end, u64::MAX);
    let wall_s = started.elapsed().as_secs_f64();
    Ok(Measured { events: run.events(), wall_s })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bare_loop_is_the_same_queue_little_s_law_holds() {
        // M/M/1 at ρ 0.5 with 10 ms service: λ = 50/s, so over 2000 s about 100 000 arrivals and as many
        // completions: events ≈ 2 λ T, with Poisson's standard error √(λT) ≈ 316 on each half.
        let m = bare_mmc(1, 1, 10_000.0, 0.5, 2_000_000_000, 3);
        let expected = 2.0 * 50.0 * 2000.0;
        assert!((m.events as f64 - expected).abs() < 5.0 * 2.0 * 316.0, "{} events", m.events);
    }
}
