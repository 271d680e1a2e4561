//! `loadlab bench`: the engine's speed on a fixed M/M/c run and on plain-s1 (best of a few repeats).

use std::time::Instant;

use super::args::BenchOpts;
use super::{emit, CliError};
use crate::scenario;
use crate::sim::Sim;
use crate::time::SECOND;

/// Measures the engine's speed. Prints events per second on the mmc benchmark and the plain-s1 wall time.
pub(crate) fn cmd_bench(o: BenchOpts) -> Result<(), CliError> {
    let repeats = o.repeats;
    let set = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
    let mmc = set(&[("servers", "20"), ("slots", "8"), ("service_ms", "10"), ("utilization", "0.9")]);
    let mut best_rate = 0.0f64;
    let mut best_plain = f64::INFINITY;
    let mut plain_requests = 0;
    for _ in 0..repeats {
        let mut cfg = scenario::build("mmc", "static", &mmc)?;
        cfg.duration = 200 * SECOND;
        let mut sim = Sim::try_new(cfg, 1)?;
        let t = Instant::now();
        sim.run_to_end();
        let wall = t.elapsed().as_secs_f64();
        best_rate = best_rate.max(sim.summary().events as f64 / wall);

        let cfg = scenario::build("plain-s1", "static", &[])?;
        let mut sim = Sim::try_new(cfg, 1)?;
        let t = Instant::now();
        sim.run_to_end();
        best_plain = best_plain.min(t.elapsed().as_secs_f64());
        plain_requests = sim.summary().requests;
    }
    emit(&format!(
        "mmc 20x8 slots, 10 ms, rho 0.9, 200 s simulated: {:.2} M events/s (best of {repeats})\n\
         plain-s1 100 s simulated ({plain_requests} requests): {best_plain:.3} s wall (best of {repeats})\n",
        best_rate / 1e6
    ))
}
