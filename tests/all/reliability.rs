//! Regression tests for issue 8's reproducers: exact arrival rates at high `rate_scale`, inputs that used to
//! stop the clock refused in one line, the deep backlog that recursed once per request, the memory budget, and
//! the cold warm-up bound. Each expected number comes from the Poisson process or the config's stated limits.

use crate::support::sets;
use loadlab::models::section::command::{Command, Fault};
use loadlab::models::section::config::limits;
use loadlab::models::section::scenario;
use loadlab::models::section::sim::Sim;
use loadlab::registry::{self, RunSpec};
use loadlab::time::SECOND;

/// EventSimulator's total arrival rate at rate_scale 1, req/s (REFERENCE §1 table: Σ connRate).
const TOTAL_RATE: f64 = 7572.8;

fn spec(pairs: &[(&str, &str)], duration_s: f64) -> RunSpec {
    RunSpec {
        sets: sets(pairs),
        seed: 1,
        duration_s: Some(duration_s),
        time_step_s: Some(duration_s),
        ..Default::default()
    }
}

fn assert_one_line(e: &str, names: &str) {
    assert!(!e.contains('\n') && e.len() < 400, "not one short line: {e:?}");
    assert!(e.contains(names), "the error does not name {names}: {e}");
}

#[test]
fn arrival_rates_are_exact_at_high_rate_scales() {
    // Arrivals are a Poisson process of rate λ = 7572.8 × rate_scale; over T seconds the count N has mean and
    // variance λT. Each run is sized for λT ≈ 2×10⁵, so N/(λT) has standard error 1/√(λT) = 0.22%: 4σ is 0.9%.
    // Rounding each gap to a whole microsecond had given ×1.023, ×1.228 and ×5.83 (the mean of round(Exp(m))).
    for (scale, seed) in [(100.0, 81), (300.0, 82), (1000.0, 83)] {
        let rate = TOTAL_RATE * scale;
        let duration_s = 2e5 / rate;
        let mut cfg = scenario::build("plain-s1", "static", &sets(&[("rate_scale", &scale.to_string())])).unwrap();
        cfg.duration = (duration_s * 1e6) as u64;
        cfg.time_step = cfg.duration;
        let expected = rate * cfg.duration as f64 / 1e6;
        let mut sim = Sim::of(cfg, seed);
        sim.run_to_end();
        let measured = sim.summary().requests as f64;
        let sigma = expected.sqrt();
        assert!(
            (measured - expected).abs() < 4.0 * sigma,
            "rate_scale {scale}: {measured} arrivals, expected {expected:.0} ± {:.0} (4σ), ratio {:.4}; seed={seed}",
            4.0 * sigma,
            measured / expected
        );
    }
}

#[test]
fn rates_the_clock_cannot_represent_are_refused_in_one_line() {
    // mmc at service_ms=0.001: 20 servers × 8 slots × 0.8 / 1 µs = 1.28×10⁸ req/s, above the 10⁷ cap.
    let e = registry::build("mmc", &spec(&[("service_ms", "0.001")], 0.001)).err().expect("refused");
    assert_one_line(&e, "service_ms");
    // plain-s1 at rate_scale 1000 is 7.57×10⁶ req/s, under the cap; a ×1000 surge on top is not.
    const { assert!(TOTAL_RATE * 1000.0 < limits::MAX_ARRIVAL_RATE && TOTAL_RATE * 1e6 > limits::MAX_ARRIVAL_RATE) };
    let e = registry::build("plain-s1", &spec(&[("rate_scale", "1000"), ("surge", "1000@0")], 0.01)).err();
    assert_one_line(&e.expect("refused"), "surge");
    // The same surge applied live is refused too, and changes nothing.
    let mut live = registry::build("plain-s1", &spec(&[("rate_scale", "1000")], 0.001)).unwrap();
    let before = live.trace_hash();
    assert_one_line(&live.apply_text("surge:1000").expect_err("refused"), "surge");
    assert_eq!(live.trace_hash(), before);
    // A rate just under the cap still runs and its clock advances: mmc's 160 slots at ρ 0.8 with a 13 µs
    // service take 0.8 × 160 / 13 µs = 9.85×10⁶ req/s.
    let mut run = registry::build("mmc", &spec(&[("service_ms", "0.013")], 1e-3)).unwrap();
    assert!(run.run_until(run.duration(), 50_000_000), "the clock did not reach the end");
    assert_eq!(run.now(), run.duration());
}

#[test]
fn a_deep_backlog_that_fails_at_once_does_not_recurse() {
    // mmc with one server, one worker and a 5000-request backlog: 640 req/s arrive for a worker serving 100/s,
    // so by t = 10 s the backlog has filled ((640 − 100) × 9.3 s = 5000). depool at 10 s leaves no server, so the
    // freed worker's next 5000 requests each fail at once. A 256 KiB stack overflows at a few thousand nested
    // frames, so a recursion per request cannot pass, even where the optimiser makes some of it loops.
    let handle = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let pairs = [("servers", "1"), ("workers", "1"), ("backlog", "5000"), ("operator", "depool:s1@10")];
            let mut run = registry::build("mmc", &spec(&pairs, 11.0)).unwrap();
            run.run_until(run.duration(), u64::MAX);
            run.check_invariants().map(|_| run.summary())
        })
        .unwrap();
    let summary = handle.join().expect("the deep-backlog run overflowed its stack").unwrap();
    let get = |k: &str| summary[k].as_u64().unwrap();
    assert!(get("rejected") > 0, "the backlog never filled: {summary:?}");
    // Every backlogged request failed, plus the ~640 arrivals of the last second.
    assert!(get("failed") >= 5000, "{summary:?}");
    assert!(get("in_flight") <= 1, "the backlog did not drain: {summary:?}");
}

#[test]
fn conn_p_failure_windows_cost_nothing_until_failures_arrive() {
    // 10 000 hosts × 64 servers under conn-p's 600 s failure window used to allocate 3.1 GB up front; the window
    // now keeps only seconds with failures, so the state is hosts × servers × (the section's BYTES_PER_HOST_SERVER
    // + pid's bytes_per_server) = 172 MB, inside the budget, and the run builds and steps.
    let pairs = [("servers", "64"), ("hosts", "10000"), ("failure_window_s", "600")];
    let mut s = spec(&pairs, 0.01);
    s.controller = "pid".into();
    let mut run = registry::build("mmc", &s).unwrap();
    assert!(run.run_until(run.duration(), u64::MAX));
    run.check_invariants().unwrap();
    let pid = loadlab::controller::ControllerSpec::new("pid").unwrap().info().bytes_per_server;
    let fixed = 10_000 * 64 * (limits::BYTES_PER_HOST_SERVER + pid);
    assert!(fixed < limits::MEMORY_BUDGET_BYTES / 2, "{fixed}");
}

#[test]
fn configs_over_the_memory_budget_are_refused_naming_the_keys_to_lower() {
    // 10 000 hosts × 4096 servers × 28 bytes = 1.1 GB of the section's own state: over half the 1 GiB budget.
    const { assert!(10_000 * 4096 * limits::BYTES_PER_HOST_SERVER > limits::MEMORY_BUDGET_BYTES / 2) };
    let e = registry::build("mmc", &spec(&[("servers", "4096"), ("hosts", "10000")], 0.01)).err().expect("refused");
    assert_one_line(&e, "lower hosts or servers");
    // Under half the budget builds: 5000 hosts × 1000 servers × (28 + static's 8) B = 180 MB ≤ 512 MiB.
    let mut cfg =
        scenario::build("mmc", "static", &sets(&[("servers", "1000"), ("hosts", "5000"), ("utilization", "0.1")]))
            .unwrap();
    assert!(limits::check_memory(&cfg).is_ok());
    // The live-request bound is lowered so the slab fits in what the fixed state leaves.
    cfg.max_requests_in_flight = u32::MAX;
    let live = limits::max_live_requests(&cfg) as u64;
    let total = limits::fixed_bytes(&cfg) + live * limits::bytes_per_request(cfg.servers.len());
    assert!(total <= limits::MEMORY_BUDGET_BYTES, "{total} bytes");
    assert!(live > 0);
}

#[test]
fn the_cold_warm_up_is_bounded_in_the_library_too() {
    // The command table allows 0 to 10⁶ s; u64::MAX µs used to overflow start + warmup.
    let cfg = scenario::build("mmc", "static", &sets(&[("servers", "2")])).unwrap();
    let mut sim = Sim::of(cfg, 3);
    let huge = Command::Fault { server: 0, fault: Fault::Cold { from_fraction: 0.5, warmup: u64::MAX } };
    let e = sim.apply(huge.clone()).unwrap_err();
    assert_one_line(&e, "warmup");
    assert!(sim.schedule(SECOND, huge).is_err());
    let most = Command::Fault { server: 0, fault: Fault::Cold { from_fraction: 0.5, warmup: 1_000_000 * SECOND } };
    sim.apply(most).unwrap();
    sim.run_until(2 * SECOND, u64::MAX);
    sim.check_invariants().unwrap();
    let mut text = registry::build("mmc", &spec(&[("servers", "2")], 1.0)).unwrap();
    assert_one_line(&text.apply_text("cold:s1:0.5:1e7").unwrap_err(), "warmup");
    assert!(text.apply_text("cold:s1:0.5:1e6").is_ok());
}

#[test]
fn url_notices_are_one_line() {
    // Found by fuzz::fuzz_mutated_links_only_give_notices; the minimal link it shrank to.
    let parsed = loadlab::urlstate::parse_query("scenario=plain-s1&controller=static&%0Aspeed=1");
    for n in &parsed.ignored {
        assert!(!n.contains('\n'), "notice has several lines: {n:?}");
    }
    assert!(!parsed.ignored.is_empty());
}

#[test]
fn scenario_key_errors_quote_what_was_typed_in_one_line() {
    // Found by fuzz::fuzz_long_scenario_builds_from_random_keys: a server name with a newline was echoed raw.
    for (key, value) in [("fault", "surge:2\n3@0"), ("operator", "depool:s\n1@1"), ("s1\n.load", "1"), ("x\ny", "1")] {
        let e = registry::build("mmc", &spec(&[(key, value)], 1.0)).err().expect("refused");
        assert!(!e.contains('\n') && e.contains("\\n"), "{key}={value:?}: {e:?}");
    }
}

/// Issue 23, defects 1 and 2: a scenario file holds only what the keys accept. Each edit below sets a field to
/// a value its key refuses (or two primaries, which no key can make); every file must be refused in one line
/// naming the field.
#[test]
fn a_scenario_file_cannot_hold_what_a_key_refuses() {
    use loadlab::models::section::scenario_file::{from_toml, to_toml};
    let cfg = scenario::build("mmc", "static", &sets(&[("servers", "3")])).unwrap();
    let good = to_toml(&cfg).unwrap();
    from_toml("f.toml", &good).expect("the exported file reads back");
    let line =
        |prefix: &str| good.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}")).to_string();
    let cases = [
        (line("time_step_us ="), "time_step_us = 1".to_string(), "time_step_us"),
        (line("workers_per_host ="), "workers_per_host = 0".to_string(), "workers_per_host"),
        (line("max_requests_in_flight ="), "max_requests_in_flight = 0".to_string(), "max_requests_in_flight"),
        (line("connect_timeout_us ="), "connect_timeout_us = 0".to_string(), "connect_timeout_us"),
    ];
    for (from, to, names) in cases {
        let e = from_toml("f.toml", &good.replacen(&from, &to, 1)).expect_err(&to);
        assert_one_line(&e, names);
    }
    // Two primaries: mmc's servers are all replicas; make two of them primaries.
    let two = good.replacen("role = \"replica\"", "role = \"primary\"", 2);
    assert_eq!(two.matches("role = \"primary\"").count(), 2);
    assert_one_line(&from_toml("f.toml", &two).expect_err("two primaries"), "primary");
}

/// Issue 23, defect 3: no error of the library is longer than its one clip, whatever lists it would name. A
/// section of 4096 servers used to list all of them (27,604 characters), and the page quoted that whole.
#[test]
fn errors_are_clipped_once_in_the_library() {
    use loadlab::engine::keys::MAX_ERROR_CHARS;
    let short = |e: &str| assert!(!e.contains('\n') && e.chars().count() <= MAX_ERROR_CHARS + 1, "{} chars", e.len());
    let big = [("servers", "4096"), ("s99999.load", "1")];
    let e = registry::build("mmc", &spec(&big, 0.2)).err().expect("unknown server refused");
    short(&e);
    assert!(e.contains("s99999"), "{e}");
    let mut run = registry::build("mmc", &spec(&[("servers", "4096")], 0.2)).unwrap();
    short(&run.apply_text("crash:nosuch").expect_err("unknown server"));
    short(&run.schedule_text(1, "crash:nosuch").expect_err("unknown server"));
    let parsed = loadlab::urlstate::parse_query("?scenario=mmc&servers=4096&s99999.load=1&lesson=off");
    assert_eq!(parsed.ignored.len(), 1, "{:?}", parsed.ignored);
    // The notice adds the key and value (each at most 40 characters and '…') to the clipped reason.
    assert!(parsed.ignored[0].chars().count() <= MAX_ERROR_CHARS + 90, "{}", parsed.ignored[0].len());
    // A controller parameter with 301 digits is quoted, not printed whole.
    let e = loadlab::controller::ControllerSpec::new("pid").unwrap().set("kp", 1e300).expect_err("kp out of range");
    assert!(e.len() < 200, "{e}");
}

/// Issue 23, defect 6: every model's output is bounded by the one stated limit. 10⁷ s in steps of 1 s is 10⁷
/// rows, ten times `MAX_OUTPUT_ROWS`; plain-s1 at 1 ms steps for 10⁷ s would be 10¹⁰ rows.
#[test]
fn output_is_bounded_in_rows_and_bytes_for_every_model() {
    use loadlab::engine::limits::MAX_OUTPUT_ROWS;
    assert!(1e7 / 1.0 > MAX_OUTPUT_ROWS as f64);
    for name in ["plain-s1", "sahana-idle-drop", "koha-memcached-blackhole", "percona-desync", "galera-full-crash"] {
        let def = registry::find(name).unwrap();
        let s = RunSpec { seed: 1, duration_s: Some(1e7), time_step_s: Some(1.0), ..Default::default() };
        let e = def.build_run(&s).err().unwrap_or_else(|| panic!("{name}: 10⁷ rows accepted"));
        // Galera's event budget may refuse first; either way the error names what to change.
        assert_one_line(&e, "duration");
    }
    let s = RunSpec { seed: 1, duration_s: Some(1e7), time_step_s: Some(0.001), ..Default::default() };
    assert_one_line(&registry::build("plain-s1", &s).err().expect("10¹⁰ rows accepted"), "--duration");
    // At the limit, a run is accepted: 10⁶ s in 1 s steps is exactly MAX_OUTPUT_ROWS rows.
    let s = RunSpec { seed: 1, duration_s: Some(MAX_OUTPUT_ROWS as f64), time_step_s: Some(1.0), ..Default::default() };
    registry::build("plain-s1", &s).expect("10⁶ rows of plain-s1");
}

/// Issue 23: `--duration 5` on a model whose step is 10 s printed a header and no row. A run shorter than its
/// step is refused naming `--duration` and the step; one step long, it writes its row.
#[test]
fn a_run_shorter_than_its_time_step_is_refused() {
    for name in ["sahana-idle-drop", "percona-desync"] {
        let def = registry::find(name).unwrap();
        let short = RunSpec { seed: 1, duration_s: Some(5.0), ..Default::default() };
        let e = def.build_run(&short).err().unwrap_or_else(|| panic!("{name}: --duration 5 accepted"));
        assert_one_line(&e, "--duration 5 is shorter than");
        assert!(e.contains("10 s time step"), "{e}");
        let one_step = RunSpec { seed: 1, duration_s: Some(10.0), ..Default::default() };
        let mut run = def.build_run(&one_step).unwrap();
        let end = run.duration();
        run.run_until(end, u64::MAX);
        assert!(!run.drain_rows().is_empty(), "{name}: no row in one step");
    }
}

/// Issue 23, defect 5: the memory budget counts each controller's per-server state. pid at 5000 hosts × 1000
/// servers peaked at 1.3 GB (and at 4096 × 1300, 1.4 GB) while the check estimated 460 MB; both must now be
/// refused in one line, while static, which keeps no per-server state, still builds the first.
#[test]
fn the_memory_budget_counts_each_controllers_state() {
    let big = [("servers", "1000"), ("hosts", "5000"), ("utilization", "0.1")];
    let wide = [("servers", "4096"), ("hosts", "1300"), ("utilization", "0.1")];
    for (pairs, controller) in [(&big, "pid"), (&wide, "pid"), (&big, "mw-legacy"), (&big, "conn-p")] {
        let cfg = scenario::build("mmc", controller, &sets(pairs)).err();
        let e = cfg.unwrap_or_else(|| panic!("{controller} {pairs:?} accepted"));
        assert_one_line(&e, "lower hosts or servers");
        assert!(e.contains(&format!("state with {controller},")), "{e}");
    }
    assert!(scenario::build("mmc", "static", &sets(&big)).is_ok());
}

/// Issue 23, defect 7: a scheduled write-rate step is held to Galera's event budget as the key is. percona-desync
/// runs 25 200 s; at 10⁶ writesets/s from t = 1 s with batch 1 that is about 2.5×10¹⁰ writesets, over the
/// 2×10⁹ events the budget allows (two events per batch), exactly like `write_rate=1000000`.
#[test]
fn a_scheduled_write_rate_step_is_held_to_the_event_budget() {
    let keyed = registry::build("percona-desync", &spec(&[("write_rate", "1000000"), ("batch", "1")], 25_200.0));
    assert_one_line(&keyed.err().expect("the key is refused"), "too many events");
    let stepped = [("fault", "write-rate:1000000@1"), ("batch", "1"), ("writer", "open")];
    let e = registry::build("percona-desync", &RunSpec { sets: sets(&stepped), seed: 1, ..Default::default() });
    assert_one_line(&e.err().expect("the scheduled step is refused"), "too many events");
    // A step to a modest rate still builds.
    let modest = [("fault", "write-rate:50@100"), ("writer", "open")];
    registry::build("percona-desync", &RunSpec { sets: sets(&modest), seed: 1, ..Default::default() }).unwrap();
}

/// Issue 23, nonsense accepted silently: percona-desync's ends before their starts are refused.
#[test]
fn percona_desync_refuses_ends_before_starts() {
    for pairs in [[("desync_at", "100"), ("desync_off_at", "50")], [("ftwrl_at", "100"), ("unlock_at", "50")]] {
        let e = registry::build("percona-desync", &RunSpec { sets: sets(&pairs), seed: 1, ..Default::default() });
        assert_one_line(&e.err().expect("refused"), "must not come before");
    }
}

/// Issue 23, defect 4: a link that repeats a key and asks for a section over the memory budget is read by
/// checking each key's config once, never by building engines; its state is what the keys say.
#[test]
fn a_link_with_a_repeated_key_keeps_the_last_value_once() {
    let mut link =
        "?scenario=mmc&controller=pid&ab=mw-loadmonitor&lesson=off&bogus=1&servers=1000&hosts=5000".to_string();
    link.push_str(&"&utilization=0.1".repeat(57));
    let parsed = loadlab::urlstate::parse_query(&link);
    let sets = &parsed.state.sets;
    assert_eq!(sets.iter().filter(|(k, _)| k == "utilization").count(), 1, "{sets:?}");
    assert!(sets.contains(&("utilization".into(), "0.1".into())), "{sets:?}");
    assert!(sets.contains(&("servers".into(), "1000".into())), "{sets:?}");
    // 5000 hosts × 1000 servers with pid's state is over half the budget: dropped, with a notice naming it.
    assert!(!sets.iter().any(|(k, _)| k == "hosts"), "{sets:?}");
    let notices = parsed.ignored.join("\n");
    assert!(notices.contains("hosts=5000") && notices.contains("bogus"), "{notices}");
    // The kept state builds for both controllers.
    for controller in ["pid", "mw-loadmonitor"] {
        let spec = RunSpec { controller: controller.into(), sets: sets.clone(), seed: 1, ..Default::default() };
        registry::build("mmc", &RunSpec { duration_s: Some(1.0), ..spec }).unwrap();
    }
}

/// Issue 23, unclear errors: a step without `@` shows an example from the model's own command table, not the
/// section's `crash:db1119@30`.
#[test]
fn a_step_without_a_time_shows_an_example_of_its_own_model() {
    for name in ["koha-memcached-blackhole", "percona-desync", "galera-full-crash"] {
        let e = registry::build(name, &RunSpec { sets: sets(&[("fault", "bogus")]), ..Default::default() });
        let e = e.err().expect("refused");
        assert_one_line(&e, "@30");
        assert!(!e.contains("db1119"), "{name}: {e}");
    }
}
