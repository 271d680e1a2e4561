//! The wasm32 build against the native one, run in headless Chromium by wasm-bindgen-test (`make test-wasm`).
//!
//! The native trace hashes are not written here: `make test-wasm` runs the native CLI and hands its hashes to
//! this test at compile time, so the test fails whenever the two builds disagree, and also if it is built
//! without them.
#![cfg(target_arch = "wasm32")]

use loadlab::models::section::scenario;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn hash(scenario: &str, controller: &str, sets: &[(&str, &str)], duration_s: f64, seed: u64) -> String {
    let sets: Vec<(String, String)> = sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let summary = loadlab::run_summary(scenario, controller, &sets, duration_s, seed).expect("valid run");
    summary["trace_hash"].as_str().expect("a hex trace hash").to_string()
}

#[wasm_bindgen_test]
fn plain_s1_trace_matches_the_native_build() {
    let Some(native) = option_env!("LOADLAB_NATIVE_HASH_PLAIN") else {
        panic!(
            "LOADLAB_NATIVE_HASH_PLAIN is missing: build this test with `make test-wasm`, which passes the native hash"
        )
    };
    assert_eq!(hash("plain-s1", "static", &[], 5.0, 7), native);
}

#[wasm_bindgen_test]
fn loadmonitor_trace_matches_the_native_build() {
    // Probes, the shared cluster cache, EWMAs and lognormal-free float work: the controller path end to end.
    let Some(native) = option_env!("LOADLAB_NATIVE_HASH_LOADMONITOR") else {
        panic!("LOADLAB_NATIVE_HASH_LOADMONITOR is missing: build this test with `make test-wasm`, which passes the native hash")
    };
    assert_eq!(hash("slow", "mw-loadmonitor", &[("fault_at", "10")], 40.0, 3), native);
}

#[wasm_bindgen_test]
fn lognormal_trace_matches_the_native_build() {
    // Lognormal service: rand_distr's StandardNormal ziggurat (its tail and wedges call exp/ln) and libm's exp.
    // In wasm32 plotters turns on num-traits' `std`, so rand_distr's floats come from std there and from libm
    // natively; this test is what shows the two agree.
    let Some(native) = option_env!("LOADLAB_NATIVE_HASH_LOGNORMAL") else {
        panic!("LOADLAB_NATIVE_HASH_LOGNORMAL is missing: build this test with `make test-wasm`, which passes the native hash")
    };
    assert_eq!(hash("mmc", "static", &[("latency_dist", "lognormal"), ("lognormal_sigma", "1.5")], 20.0, 5), native);
}

#[wasm_bindgen_test]
fn bad_keys_are_rejected_in_wasm_too() {
    for (key, value) in [("servers", "-1"), ("utilization", "1.5"), ("service_ms", "NaN")] {
        let err = scenario::build("mmc", "static", &[(key.to_string(), value.to_string())]).unwrap_err();
        assert!(err.contains(key), "{err}");
    }
}

#[wasm_bindgen_test]
fn bad_urls_give_notices_not_panics() {
    let parsed = loadlab::urlstate::parse_query("scenario=%ZZ&seed=-1&speed=NaN&fault=crash:nowhere@1");
    assert_eq!(parsed.state.scenario, "slow");
    assert_eq!(parsed.ignored.len(), 4, "{:?}", parsed.ignored);
}

#[wasm_bindgen_test]
fn a_deep_backlog_that_fails_at_once_does_not_overflow_the_stack() {
    // Issue 8's reproducer: one server depooled at 10 s while one worker's 5000-request backlog waits; every
    // backlogged request then fails at once. The wasm32 release build threw "Maximum call stack size exceeded"
    // here when each failure started the next request recursively; the start is now a loop.
    let sets: Vec<(String, String)> =
        [("servers", "1"), ("workers", "1"), ("backlog", "5000"), ("operator", "depool:s1@10")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let summary = loadlab::run_summary("mmc", "static", &sets, 11.0, 1).expect("valid run");
    let n = |key: &str| summary[key].as_u64().unwrap_or_else(|| panic!("{key} in {summary:?}"));
    assert!(n("failed") > 1000, "the backlog failed after the depool: {summary:?}");
    assert_eq!(n("requests"), n("completed") + n("failed") + n("rejected") + n("overloaded") + n("in_flight"));
}

#[wasm_bindgen_test]
fn every_registered_scenario_builds_and_runs_in_wasm() {
    for def in loadlab::registry::all() {
        let spec =
            loadlab::registry::RunSpec { seed: 1, duration_s: Some(5.0), time_step_s: Some(0.5), ..Default::default() };
        let mut run = loadlab::registry::build(def.name, &spec).unwrap_or_else(|e| panic!("{}: {e}", def.name));
        let end = run.duration();
        assert!(run.run_until(end, 5_000_000), "{} finished", def.name);
        run.check_invariants().unwrap_or_else(|e| panic!("{}: {e}", def.name));
    }
}
