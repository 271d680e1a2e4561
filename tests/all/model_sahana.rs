//! The Sahana model (seed 001) against theory and the sources: the kernel's retransmission ladder
//! (`tcp_model_timeout`, REFERENCE.md §4), Erlang B's ordered hunting for dispatch shares (SEED-MODELS §001),
//! keepalive below the router's timeout, the seed's kill workaround, the couplings, invariants after every
//! event, errors, command round trips and determinism.

use loadlab::engine::commands::check_round_trips;
use loadlab::engine::run::Run;
use loadlab::engine::Engine;
use loadlab::models::sahana::commands::{Command, TABLE};
use loadlab::models::sahana::worker::Lane;
use loadlab::models::sahana::{build_engine, Sahana, SCENARIOS};
use loadlab::registry::{self, RunSpec};
use loadlab::time::{from_secs_f64, SECOND};
use serde_json::{Map, Value};

use super::support::sets;

fn spec(pairs: &[(&str, &str)], duration_s: f64, step_s: f64, seed: u64) -> RunSpec {
    RunSpec {
        controller: String::new(),
        sets: sets(pairs),
        seed,
        duration_s: Some(duration_s),
        time_step_s: Some(step_s),
        file: None,
    }
}

fn engine(pairs: &[(&str, &str)], duration_s: f64, step_s: f64, seed: u64) -> Engine<Sahana> {
    build_engine(&SCENARIOS[0], &spec(pairs, duration_s, step_s, seed)).unwrap_or_else(|e| panic!("{pairs:?}: {e}"))
}

/// Runs to the end and returns the summary and the rows.
fn run(pairs: &[(&str, &str)], duration_s: f64, step_s: f64, seed: u64) -> (Map<String, Value>, Vec<Vec<f64>>) {
    let mut e = engine(pairs, duration_s, step_s, seed);
    let end = Run::duration(&e);
    Run::run_until(&mut e, end, u64::MAX);
    (Run::summary(&e), Run::drain_rows(&mut e))
}

fn head(s: &Map<String, Value>, key: &str) -> f64 {
    s["headline"][key].as_f64().unwrap_or_else(|| panic!("headline.{key} missing: {s:?}"))
}

/// The kernel's give-up time for `retries` retransmissions from `rto_min` doubling to `rto_max` (µs):
/// rto_min·(2^(b+1) − 1) while the timeout is below the cap, plus rto_max per retry after it
/// (torvalds/linux `net/ipv4/tcp_timer.c`, `tcp_model_timeout`).
fn ladder_us(rto_min: u64, rto_max: u64, retries: u32) -> u64 {
    let mut thresh = 0;
    while rto_min << (thresh + 1) <= rto_max {
        thresh += 1;
    }
    if retries <= thresh {
        rto_min * ((2 << retries) - 1)
    } else {
        rto_min * ((2 << thresh) - 1) + (retries - thresh) as u64 * rto_max
    }
}

#[test]
fn the_stall_is_the_retransmission_ladder() {
    assert_eq!(ladder_us(200_000, 120 * SECOND, 15), 924_600_000, "REFERENCE.md §4: 924.6 s");
    let cases: &[(&str, &str, &str, u64)] = &[
        ("200", "15", "120", ladder_us(200_000, 120 * SECOND, 15)),
        ("1000", "8", "120", ladder_us(1_000_000, 120 * SECOND, 8)),
        ("200", "5", "120", ladder_us(200_000, 120 * SECOND, 5)),
        ("50", "15", "10", ladder_us(50_000, 10 * SECOND, 15)),
        ("200", "0", "120", ladder_us(200_000, 120 * SECOND, 0)),
    ];
    for &(rto_min, retries, rto_max, expected) in cases {
        let pairs = [("rto_min_ms", rto_min), ("tcp_retries2", retries), ("rto_max_s", rto_max)];
        let (s, _) = run(&pairs, 9000.0, 60.0, 1);
        assert!(head(&s, "stalls") >= 1.0, "{pairs:?}: no stall");
        let stall = head(&s, "longest_stall_s");
        assert!((stall - expected as f64 / 1e6).abs() < 1e-6, "{pairs:?}: stall {stall} s, ladder {expected} µs");
    }
    let (s, _) = run(&[("tcp_user_timeout_ms", "30000")], 9000.0, 60.0, 1);
    assert_eq!(head(&s, "longest_stall_s"), 30.0, "TCP_USER_TIMEOUT bounds the stall");
}

#[test]
fn the_default_run_reproduces_the_incident_within_two_hours() {
    for seed in 1..=5 {
        let (s, _) = run(&[], 9000.0, 60.0, seed);
        let first = head(&s, "first_stall_s");
        assert!((7000.0..7200.0).contains(&first), "first stall at {first} s; seed={seed}");
        assert_eq!(head(&s, "longest_stall_s"), 924.6, "seed={seed}");
        // Every worker waits from the stall's start to its end: the blackout is the stall, give or take the
        // service times (exponential, 333 ms mean; 3 s is nine means) of the last query before it and the
        // first after it.
        let blackout = head(&s, "blackout_s");
        assert!((blackout - 924.6).abs() < 3.0, "blackout {blackout} s; seed={seed}");
        assert!(s["rejected"].as_u64().unwrap() > 0, "the listen queue overflowed; seed={seed}");
    }
}

fn erlang_b(n: u32, a: f64) -> f64 {
    (1..=n).fold(1.0, |b, k| a * b / (k as f64 + a * b))
}

#[test]
fn ordered_dispatch_shares_follow_erlang_b_ordered_hunting() {
    // A loss system (listen_queue 0) at a constant 2 req/s and 333 ms: a = 0.666, shares ∝ B(k−1,a) − B(k,a).
    let pairs = [
        ("quiet_until_s", "0"),
        ("day_s", "0"),
        ("router_idle_timeout_s", "0"),
        ("listen_queue", "0"),
        ("rate", "2"),
        ("service_ms", "333"),
    ];
    let (batches, step) = (20usize, 10_000.0);
    let seed = 11;
    let (_, rows) = run(&pairs, batches as f64 * step, step, seed);
    assert_eq!(rows.len(), batches);
    let a = 2.0 * 0.333;
    let workers = 4;
    // Columns: 7 global, then 5 per worker with `served` second.
    let served = |row: &[f64], k: usize| row[7 + 5 * k + 1];
    for k in 0..workers {
        let expected = (erlang_b(k as u32, a) - erlang_b(k as u32 + 1, a)) / (1.0 - erlang_b(workers as u32, a));
        let shares: Vec<f64> =
            rows.iter().map(|r| served(r, k) / (0..workers).map(|j| served(r, j)).sum::<f64>()).collect();
        let mean = shares.iter().sum::<f64>() / batches as f64;
        let var = shares.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (batches - 1) as f64;
        let se = (var / batches as f64).sqrt();
        assert!(
            (mean - expected).abs() < 4.0 * se,
            "worker {}: share {mean:.4}, Erlang B ordered hunting {expected:.4}, se {se:.5}; seed={seed}",
            k + 1
        );
    }
}

#[test]
fn keepalive_below_the_router_timeout_means_no_stall_in_a_week() {
    let week = 7.0 * 86400.0;
    let (s, _) = run(&[("keepalive_idle_s", "600")], week, 3600.0, 3);
    assert_eq!(head(&s, "stalls"), 0.0, "{:?}", s["stall_log"]);
    assert_eq!(s["flows_expired"].as_u64(), Some(0));
    // The control: the same week with the default keepalive stalls every day (worker 3 idles ≈ 7000 s each
    // quiet period, inside (3600 s, 7875 s]).
    let (s, _) = run(&[], week, 3600.0, 3);
    assert!(head(&s, "stalls") >= 7.0, "default week: {} stalls", head(&s, "stalls"));
}

/// Steps event by event until the first stall; returns its start (µs) and worker.
fn run_to_first_stall(e: &mut Engine<Sahana>) -> (u64, u32) {
    while e.model().ledger().stalls == 0 {
        assert!(e.step_event(), "no stall");
    }
    let s = e.model().ledger().stall_log[0];
    (s.start, s.worker)
}

#[test]
fn killing_the_stuck_worker_ends_the_blackout_at_that_instant() {
    // Three workers: only worker 3 idles past the router's timeout, so after the kill no other dead flow is
    // left to stall on (with four, worker 4's flow is dead too and it would stall next).
    let seed = 5;
    let mut e = engine(&[("workers", "3")], 9000.0, 60.0, seed);
    let (start, stuck) = run_to_first_stall(&mut e);
    let kill_at = start + 300 * SECOND;
    e.run_until(kill_at - 1, u64::MAX);
    let others: Vec<u32> = (0..3).filter(|w| *w != stuck).collect();
    assert!(others.iter().all(|w| e.model().lane(*w) == Lane::Blocked), "every other worker blocked; seed={seed}");
    e.schedule(kill_at, Command::KillWorker(stuck)).unwrap();
    e.run_until(kill_at, u64::MAX);
    for w in 0..3 {
        let lane = e.model().lane(w);
        assert!(lane != Lane::Blocked && lane != Lane::Stuck, "w{} {lane:?} right after the kill; seed={seed}", w + 1);
    }
    let end = Run::duration(&e);
    e.run_until(end, u64::MAX);
    let s = Run::summary(&e);
    let (blackout, began) = (head(&s, "blackout_s"), head(&s, "blackout_start_s"));
    let kill_s = kill_at as f64 / 1e6;
    // The blackout ends with the first completion after the kill: one exponential service time of 333 ms
    // among the released workers (3 s is nine means).
    let start_s = start as f64 / 1e6;
    assert!((began - start_s).abs() < 3.0 && kill_s - began <= blackout && blackout < kill_s - began + 3.0, "{s:?}");
    assert_eq!(s["killed"].as_u64(), Some(1));
    assert_eq!(head(&s, "longest_stall_s"), 0.0, "a killed stall is not one the kernel ended");
    assert_eq!(s["stall_log"][0]["cut_short"], Value::Bool(true));
}

#[test]
fn with_no_coupling_only_the_requests_on_dead_connections_stall() {
    for seed in 1..=3 {
        let (s, _) = run(&[("coupling", "none")], 9000.0, 60.0, seed);
        assert_eq!(head(&s, "lock_waits"), 0.0);
        let log = s["stall_log"].as_array().unwrap();
        let mut workers: Vec<&str> = log.iter().map(|x| x["worker"].as_str().unwrap()).collect();
        workers.dedup();
        assert_eq!(workers.len(), log.len(), "each stall on its own dead connection: {log:?}; seed={seed}");
        assert!(log.len() as u64 <= s["flows_expired"].as_u64().unwrap());
        assert_eq!(head(&s, "longest_stall_s"), 924.6);
        // The other workers carry a = 0.67 with no lock to wait on: no request waits anywhere near a stall.
        assert!(s["max_latency_unstalled_s"].as_f64().unwrap() < 30.0, "{s:?}; seed={seed}");
        assert!(head(&s, "blackout_s") < 30.0, "seed={seed}");
        assert_eq!(s["rejected"].as_u64(), Some(0), "seed={seed}");
    }
}

#[test]
fn the_session_lock_blocks_every_worker_like_the_seed() {
    let (s, _) = run(&[("coupling", "session_lock")], 9000.0, 60.0, 2);
    assert!(head(&s, "lock_waits") >= 3.0);
    assert!(head(&s, "blackout_s") > 0.9 * 924.6, "{s:?}");
}

#[test]
fn a_router_that_resets_gives_fast_reconnects_not_stalls() {
    let (s, _) = run(&[("router_on_expiry", "rst")], 9000.0, 60.0, 1);
    assert_eq!(head(&s, "stalls"), 0.0);
    assert!(head(&s, "resets") >= 1.0);
    assert!(head(&s, "blackout_s") < 30.0);
}

fn check_every_event(e: &mut Engine<Sahana>, what: &str) {
    let end = Run::duration(e);
    while e.next_time().is_some_and(|t| t <= end) {
        e.step_event();
        if let Err(err) = Run::check_invariants(e) {
            panic!("{what}: at {} µs: {err}", e.now());
        }
    }
}

#[test]
fn invariants_hold_after_every_event() {
    let configs: &[&[(&str, &str)]] = &[
        &[
            ("operator", "kill-worker:w3@7100"),
            ("operator", "expire-flow:w1@7400"),
            ("operator", "set-retries2:6@7500"),
            ("operator", "set-user-timeout:20000@7800"),
            ("operator", "router-rst@8000"),
            ("operator", "set-keepalive-idle:60@8100"),
            ("operator", "set-router-timeout:100@8200"),
            ("operator", "set-rate:20@8300"),
            ("operator", "router-drop@8500"),
        ],
        &[("coupling", "session_lock"), ("sessions", "3"), ("operator", "kill-worker:w1@7050")],
        &[("coupling", "none"), ("dispatch", "random"), ("listen_queue", "0")],
        &[("dispatch", "lifo"), ("keepalive_idle_s", "3000"), ("router_idle_timeout_s", "2000")],
        &[("dispatch", "fifo"), ("workers", "1"), ("router_idle_timeout_s", "30"), ("rate", "0.01")],
    ];
    for (i, pairs) in configs.iter().enumerate() {
        let mut e = engine(pairs, 9000.0, 10.0, 40 + i as u64);
        check_every_event(&mut e, &format!("{pairs:?}; seed={}", 40 + i));
    }
}

#[test]
fn bad_keys_and_commands_get_one_line_errors() {
    let bad: &[(&str, &str, &str)] = &[
        ("nonsense", "1", "valid keys: workers"),
        ("workers", "0", "1 to 64"),
        ("workers", "2.5", "whole number"),
        ("dispatch", "roundrobin", "ordered, lifo, fifo, random"),
        ("coupling", "libpq", "global_lock, session_lock, none"),
        ("rate", "NaN", "'NaN'"),
        ("rto_min_ms", "5000", "lower rto_min_ms"),
        ("operator", "kill-worker:w9@10", "valid: w1, w2, w3, w4"),
        ("operator", "reboot@10", "valid commands: kill-worker"),
        ("operator", "kill-worker:w1", "@SECONDS"),
    ];
    for (k, v, needle) in bad {
        let pairs = if *k == "rto_min_ms" { vec![(*k, *v), ("rto_max_s", "1")] } else { vec![(*k, *v)] };
        let err = registry::build("sahana-idle-drop", &spec(&pairs, 100.0, 1.0, 1)).err().expect("refused");
        assert!(err.contains(needle) && !err.contains('\n'), "{k}={v}: {err}");
    }
    let mut e = engine(&[], 100.0, 1.0, 1);
    let err = Run::apply_text(&mut e, "set-rate:5000").unwrap_err();
    assert!(err.contains("out of range") && !err.contains('\n'), "{err}");
    let with_controller = RunSpec { controller: "p2c".into(), ..spec(&[], 100.0, 1.0, 1) };
    assert!(registry::build("sahana-idle-drop", &with_controller).err().unwrap().contains("no balancer"));
}

#[test]
fn every_command_round_trips_and_applies() {
    let e = engine(&[], 100.0, 1.0, 1);
    assert_eq!(check_round_trips(e.model()), Ok(3 * TABLE.len()));
    let mut e = engine(&[], 100.0, 1.0, 1);
    for spec in TABLE {
        let text = if spec.target.is_some() { format!("{}:w2", spec.verb) } else { spec.verb.to_string() };
        let args: String = spec.args.iter().map(|a| format!(":{}", a.default)).collect();
        Run::apply_text(&mut e, &format!("{text}{args}")).unwrap_or_else(|err| panic!("{text}: {err}"));
    }
    assert_eq!(Run::applied_text(&e).len(), TABLE.len());
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    let hash = |seed| {
        let mut e = engine(&[("operator", "kill-worker:w3@7200")], 9000.0, 60.0, seed);
        Run::run_until(&mut e, from_secs_f64(9000.0), u64::MAX);
        Run::trace_hash(&e)
    };
    assert_eq!(hash(7), hash(7));
    assert_ne!(hash(7), hash(8));
}

#[test]
fn the_csv_has_the_issue_columns() {
    let e = engine(&[], 100.0, 1.0, 1);
    let header = Run::csv_header(&e);
    for col in
        ["listen_queue", "rejected", "completed", "w4.busy_fraction", "w4.served", "w4.idle_age_s", "w4.flow_state"]
    {
        assert!(header.split(',').any(|c| c == col), "{col} missing from {header}");
    }
}

#[test]
fn the_lesson_steps_print_this_runs_figures_at_their_times() {
    let def = &SCENARIOS[0];
    assert!((4..=6).contains(&def.lesson.len()));
    let mut e = engine(&[], 9000.0, 10.0, 1);
    let mut texts = Vec::new();
    let mut expired_at_first_step = 0;
    for (i, step) in def.lesson.iter().enumerate() {
        Run::run_until(&mut e, from_secs_f64(step.at_s), u64::MAX);
        assert!(Run::charts(&e).iter().any(|c| c.id == step.chart), "{}: no chart {}", step.title, step.chart);
        let summary = Run::summary(&e);
        if i == 0 {
            expired_at_first_step = summary.get("flows_expired").and_then(|v| v.as_u64()).unwrap_or(0);
        }
        texts.push((step.numbers)(&summary));
    }
    // At 3700 s the router has forgotten at least worker 4's flow: under ordered dispatch at 0.1 req/s and
    // 1/3 s of service, worker 4 takes a request only while three others are busy (probability about 10⁻⁵
    // per arrival), so it has been idle since the start, past the 3600 s timeout. The step prints the run's
    // own count, whatever the seed made of worker 3.
    assert!(expired_at_first_step >= 1, "{}", texts[0]);
    assert!(texts[0].contains(&format!("flows forgotten so far {expired_at_first_step}")), "{}", texts[0]);
    assert!(texts[2].contains("on w3"), "{}", texts[2]);
    assert!(texts[3].starts_with("4 of 4 workers stuck or blocked"), "{}", texts[3]);
    assert!(texts[4].contains("longest stall 924.6 s"), "{}", texts[4]);
}
