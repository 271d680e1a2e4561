//! loadlab: a deterministic lab for database load balancing.
//!
//! The core (`sim` and everything it uses) is pure: no clock, no IO, no thread RNG, so the same config and seed
//! give the same trace natively and in wasm32. The CLI (`cli`, native only) and the web app (`web`, wasm32 only)
//! are thin shells that build a [`config::Config`] from a scenario, drive a [`sim::Sim`] and format its rows.

pub mod command;
pub mod config;
pub mod controller;
pub mod engine;
pub mod histogram;
pub mod metrics;
pub mod models;
pub mod output;
pub mod parts;
pub mod queue;
pub mod registry;
pub mod rng;
pub mod scenario;
pub mod scorecard;
pub mod sim;
pub mod story;
pub mod time;
pub mod urlstate;

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;

#[cfg(target_arch = "wasm32")]
pub mod web;

/// Runs a scenario to its end and returns the summary: the one-call entry point shared by the CLI's hash check,
/// the wasm determinism test and the browser's `trace_hash` export.
pub fn run_summary(
    scenario: &str,
    controller: &str,
    sets: &[(String, String)],
    duration_s: f64,
    seed: u64,
) -> Result<metrics::Summary, String> {
    let mut cfg = scenario::build(scenario, controller, sets)?;
    cfg.duration = time::from_secs_f64(duration_s);
    let mut sim = sim::Sim::try_new(cfg, seed)?;
    sim.run_to_end();
    Ok(sim.summary())
}
