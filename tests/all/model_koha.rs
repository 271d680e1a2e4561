//! The Koha model (seed 000) against theory and its sources: the blackhole penalty per page from CRC-32
//! placement and the connect timeout, one round trip per operation for a refusing host, HAProxy's fall × inter
//! and rise × inter, Cache::Memcached::Fast's max_failures window, placement that never moves a dead server's
//! keys (and ketama that moves only a dropped server's), invariants after every event, one-line errors,
//! command round trips and determinism.

use loadlab::engine::commands::check_round_trips;
use loadlab::engine::run::Run;
use loadlab::engine::Engine;
use loadlab::models::koha::config::{DB_QUERY, MEMCACHED_HOSTS, RTT};
use loadlab::models::koha::placement::{key_names, Continuum, KETAMA_POINTS};
use loadlab::models::koha::{build_engine, lesson, Koha, SCENARIO};
use loadlab::registry::{self, RunSpec, ScenarioDef};
use loadlab::time::{as_secs_f64, SECOND};
use serde_json::{Map, Value};

use super::support::sets;

fn def() -> &'static ScenarioDef {
    registry::find(SCENARIO).expect("the scenario is registered")
}

fn spec(pairs: &[(&str, &str)], duration_s: f64, seed: u64) -> RunSpec {
    RunSpec { sets: sets(pairs), seed, duration_s: Some(duration_s), ..RunSpec::default() }
}

fn run(pairs: &[(&str, &str)], duration_s: f64, seed: u64) -> Engine<Koha> {
    let mut e = build_engine(def(), &spec(pairs, duration_s, seed)).unwrap_or_else(|err| panic!("build: {err}"));
    e.run_until((duration_s * 1e6) as u64, u64::MAX);
    e
}

fn headline(e: &Engine<Koha>) -> Map<String, Value> {
    Run::summary(e)["headline"].as_object().cloned().expect("a headline")
}

fn f(m: &Map<String, Value>, key: &str) -> f64 {
    m.get(key).and_then(Value::as_f64).unwrap_or_else(|| panic!("no number {key} in {m:?}"))
}

fn phase(e: &Engine<Koha>, command: &str) -> Map<String, Value> {
    let summary = Run::summary(e);
    let phases = summary["phases"].as_array().cloned().unwrap_or_default();
    let p = phases.iter().find(|p| p["command"] == command).unwrap_or_else(|| panic!("no phase {command}"));
    p.as_object().cloned().unwrap_or_default()
}

/// CRC-32/IEEE computed here bit by bit (reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF),
/// independently of the model's table-driven one; checked against the standard check value below.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for b in bytes {
        c ^= *b as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    !c
}

/// Cache::Memcached::Fast's default bucket for equal weights (`compatible_get_server` in
/// `src/dispatch_key.c`, REFERENCE.md §3): `((crc32(key) >> 16) & 0x7fff) % servers`.
fn crc32_bucket(key: &str, servers: usize) -> usize {
    (((crc32(key.as_bytes()) >> 16) & 0x7fff) as usize) % servers
}

#[test]
fn the_hand_computed_crc32_gives_the_standard_check_value() {
    // The CRC-32/IEEE check value of "123456789" (the catalogue's `check`), and of the empty string.
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
}

/// Keys of the default page (70) that CRC-32 puts on server 0 (koha1's memcached) of three: derived here
/// from the bucket formula, not read from the model.
fn keys_on_first_server(keys: usize) -> usize {
    key_names(keys).iter().filter(|k| crc32_bucket(k, 3) == 0).count()
}

#[test]
fn the_split_of_the_synthetic_keys_is_what_crc32_gives_them() {
    let mut split = [0usize; 3];
    for k in key_names(70) {
        split[crc32_bucket(&k, 3)] += 1;
    }
    let e = run(&[], 1.0, 1);
    let summary = Run::summary(&e);
    for (s, name) in ["mc1", "mc2", "mc3"].iter().enumerate() {
        let n = summary["placement"]["koha2"]["keys_per_server"][*name].as_u64().unwrap() as usize;
        assert_eq!(n, split[s], "{name}; split {split:?}");
    }
    assert_eq!(f(&headline(&e), "keys_on_failed_node_count") as usize, 0, "no fault yet");
    // The seed's 66 real names split 23/22/21; the synthetic names need not, but each server gets some.
    assert!(split.iter().all(|n| *n > 10), "{split:?}");
}

#[test]
fn after_power_off_each_page_pays_keys_on_the_dead_node_times_get_and_set_times_connect_timeout() {
    let seed = 7;
    let e = run(&[("rate", "0.5"), ("fault_at", "600")], 1500.0, seed);
    let h = headline(&e);
    let n = keys_on_first_server(70) as f64;
    assert_eq!(f(&h, "keys_on_failed_node_count"), n);
    let (ct, io) = (250.0, 1000.0);
    let (db, rtt) = (DB_QUERY as f64 / 1e3, RTT as f64 / 1e3);
    // Each key on koha1: a get and a set, each a connect timeout, and a DB query instead of a hit's round trip.
    let expected = n * ((1.0 + 1.0) * ct + db - rtt);
    let (before, after) = (f(&h, "pages_before"), f(&h, "pages_after"));
    // The four survivor workers with an fd open at the fault pay io_timeout instead, once each.
    let io_extra = f(&h, "io_timeouts_after") * (io - ct) / after;
    assert!(f(&h, "io_timeouts_after") <= 4.0);
    // Own work is exponential with mean 250 ms: its standard deviation equals its mean.
    let se = 250.0 * (1.0 / before + 1.0 / after).sqrt();
    let measured = f(&h, "page_work_ms_after") - f(&h, "page_work_ms_before");
    assert!(
        (measured - expected - io_extra).abs() <= 4.0 * se,
        "extra work {measured:.1} ms, expected {expected:.1} + {io_extra:.1} ms ± {:.1}; seed={seed}",
        4.0 * se
    );
    // Every get and set of a key on koha1 waited: the keys never moved.
    let timeouts = f(&h, "connect_timeouts_per_page");
    assert!(
        timeouts <= 2.0 * n && timeouts >= 2.0 * n - 4.0 / after,
        "{timeouts} connect timeouts a page; seed={seed}"
    );
}

/// The picture's "last page" holds each node's latest finished page between the rare steps that finish one: after
/// the power-off, a page on a survivor that started after it took at least its keys on the dead node × (get + set)
/// × the connect timeout; before it, no page took that long.
#[test]
fn each_nodes_last_page_holds_the_blackhole_penalty_between_pages() {
    let mut e = run(&[("rate", "0.5"), ("fault_at", "600")], 900.0, 3);
    let columns = Run::columns(&e);
    let at = |name: &str| columns.iter().position(|c| c.name == name).unwrap();
    let time = at("time_s");
    let penalty_ms = keys_on_first_server(70) as f64 * 2.0 * 250.0;
    let rows = Run::drain_rows(&mut e);
    for node in ["koha2", "koha3"] {
        let (last, p50) = (at(&format!("{node}.last_page_ms")), at(&format!("{node}.latency_p50_ms")));
        let before: Vec<f64> = rows.iter().filter(|r| r[time] < 600.0).map(|r| r[last]).collect();
        assert!(before.iter().all(|v| *v < penalty_ms), "{node}: a page over {penalty_ms} ms before the fault");
        // Long after the fault every page pays the penalty, so the held value does, row after row, while most
        // steps finish no page (their median reads 0).
        let late: Vec<&Vec<f64>> = rows.iter().filter(|r| r[time] > 700.0).collect();
        assert!(late.iter().all(|r| r[last] >= penalty_ms), "{node}: a page under {penalty_ms} ms after the fault");
        let idle = late.iter().filter(|r| r[p50] == 0.0).count();
        assert!(idle * 2 > late.len(), "{node}: {idle} of {} steps finish no page", late.len());
    }
}

#[test]
fn after_services_stopped_each_operation_costs_about_one_round_trip() {
    let e = run(&[("fault_kind", "services-stopped"), ("fault_at", "60")], 600.0, 3);
    let p = phase(&e, "services-stopped:koha1");
    let n = keys_on_first_server(70) as f64;
    let rtt = RTT as f64 / 1e3;
    // 70 gets and n sets, each one round trip (refused or answered); reconnects after a recycle add 2 round
    // trips per 50 pages.
    let ops = 70.0 + n;
    let per_op = (f(&p, "cache_ms") - 2.0 * rtt / 50.0) / ops;
    assert!((per_op - rtt).abs() <= 0.02 * rtt, "{per_op} ms per cache operation, one RTT is {rtt} ms");
    assert_eq!(f(&p, "timeouts_ms"), 0.0);
    assert_eq!(f(&p, "connect_timeouts_per_page"), 0.0);
    assert!((f(&p, "db_ms") - n * DB_QUERY as f64 / 1e3).abs() < 1e-9, "a DB query per refused key");
    // So the fault adds n × (DB query + the set's round trip) to a page's cache and database time, whatever the
    // pages' own work (an exponential draw of mean 250 ms) does to their totals. The healthy phase's pages also
    // paid reconnects (2 round trips instead of 1 for each server, once per fresh worker: at most 6 workers × 3
    // servers × RTT), and a page counts in the phase it started in, so up to the 4 survivors' pages in service at
    // the fault already paid the refusals: the slack is both over the healthy phase's pages.
    let h = headline(&e);
    let expected = n * (DB_QUERY as f64 / 1e3 + rtt);
    let slack = (6.0 * 3.0 * rtt + 4.0 * expected) / f(&h, "pages_before");
    let extra = f(&h, "extra_cache_db_ms_per_page");
    assert!((extra - expected).abs() <= slack, "extra {extra:.3} ms a page, expected {expected:.3} ± {slack:.3}");
}

/// When HAProxy's checks (every inter from `phase`) see a change at `at`: the first check at or after it, then
/// `count − 1` more, then the last one's result delay.
fn haproxy_transition(at: f64, phase: f64, inter: f64, count: f64, delay: f64) -> f64 {
    let first = phase + ((at - phase) / inter).ceil() * inter;
    first + (count - 1.0) * inter + delay
}

#[test]
fn haproxy_stops_sending_after_fall_times_inter_and_resumes_after_rise_times_inter() {
    let (inter, fall, rise, rtt) = (2.0, 3.0, 2.0, RTT as f64 / 1e6);
    // A blackholed check fails at its timeout (inter), on koha1 whose checks start at 0.
    let e = run(&[("fault_at", "30.1"), ("recover_at", "60.5")], 120.0, 5);
    let h = headline(&e);
    let down = haproxy_transition(30.1, 0.0, inter, fall, inter) - 30.1;
    assert!((f(&h, "haproxy_down_after_s") - down).abs() < 1e-6, "{h:?}; expected {down}");
    let up = haproxy_transition(60.5, 0.0, inter, rise, rtt) - 60.5;
    assert!((f(&h, "haproxy_up_after_recover_s") - up).abs() < 1e-6, "{h:?}; expected {up}");
    // A refusing host fails in one round trip; koha2's checks are spread to start at inter/3.
    let e = run(&[("fault_kind", "services-stopped"), ("fault_node", "koha2"), ("fault_at", "30.1")], 60.0, 5);
    let phase2 = (2 * SECOND / 3) as f64 / 1e6;
    let down = haproxy_transition(30.1, phase2, inter, fall, rtt) - 30.1;
    assert!((f(&headline(&e), "haproxy_down_after_s") - down).abs() < 1e-6, "expected {down}");
    assert!(down > (fall - 1.0) * inter && down <= fall * inter + rtt);
}

#[test]
fn once_haproxy_marks_the_node_down_no_page_goes_to_it() {
    let mut e = build_engine(def(), &spec(&[("rate", "2"), ("fault_at", "30")], 200.0, 11)).unwrap();
    e.run_until(37 * SECOND, u64::MAX); // down at 30 → checks at 32, 34, 36 fail at 34, 36, 38 s
    e.run_until(39 * SECOND, u64::MAX);
    let failed_then = e.model().stats().failed;
    assert!(failed_then > 0, "pages sent to koha1 before its checks failed are lost");
    e.run_until(200 * SECOND, u64::MAX);
    assert_eq!(e.model().stats().failed, failed_then, "nothing lost once koha1 is out (the backlog has room)");
}

#[test]
fn max_failures_bounds_each_clients_timeouts_to_max_failures_per_failure_timeout() {
    let (max_failures, window_s) = (3usize, 10.0);
    let seed = 13;
    let mut e = build_engine(
        def(),
        &spec(&[("rate", "1"), ("max_failures", "3"), ("failure_timeout_s", "10"), ("fault_at", "20")], 300.0, seed),
    )
    .unwrap();
    // (node, worker) → (generation, failures seen, failure times of this client).
    let mut seen: Vec<(u32, u64, Vec<f64>)> = vec![(0, 0, Vec::new()); 3 * 2];
    let mut windows_full = 0;
    while e.now() < 300 * SECOND && e.step_event() {
        let now = as_secs_f64(e.now());
        for n in 1..3 {
            for (w, worker) in e.model().workers(n).iter().enumerate() {
                let slot = &mut seen[n * 2 + w];
                if worker.gen != slot.0 {
                    *slot = (worker.gen, 0, Vec::new());
                }
                let failures = worker.client.failures(0);
                if failures > slot.1 {
                    assert_eq!(failures, slot.1 + 1, "one command at a time");
                    slot.1 = failures;
                    slot.2.push(now);
                    let in_window = slot.2.iter().filter(|t| now - **t <= window_s).count();
                    assert!(
                        in_window <= max_failures,
                        "koha{} worker {w}: {in_window} failures within {window_s} s at {now}; seed={seed}",
                        n + 1
                    );
                    windows_full += (in_window == max_failures) as u32;
                }
            }
        }
    }
    assert!(windows_full > 0, "the bound was reached at least once, so the test can fail");
    let h = headline(&e);
    assert!(f(&h, "skips_after") > 0.0 && f(&h, "connect_timeouts_per_page") < 1.0, "{h:?}");
}

#[test]
fn crc32_never_moves_a_dead_servers_keys_and_ketama_moves_only_a_dropped_servers() {
    let keys = key_names(2000);
    // CRC-32 placement is a function of the key and the list alone: the model's survivors keep mc1's keys.
    let e = run(&[("fault_at", "10")], 120.0, 2);
    let before: Vec<usize> = keys.iter().take(70).map(|k| crc32_bucket(k, 3)).collect();
    assert_eq!(e.model().placement(1), before.as_slice());
    assert_eq!(e.model().placement(2), before.as_slice());
    // Ketama: drop server 1 of three; every key not on it stays where it was.
    let three = Continuum::new(&MEMCACHED_HOSTS, KETAMA_POINTS);
    let two = Continuum::new(&[MEMCACHED_HOSTS[0], MEMCACHED_HOSTS[2]], KETAMA_POINTS);
    let host = |c: &Continuum, list: &[usize], k: &str| list[c.server_of(k)];
    let mut moved = 0;
    for k in &keys {
        let (a, b) = (host(&three, &[0, 1, 2], k), host(&two, &[0, 2], k));
        if a == 1 {
            moved += 1;
        } else {
            assert_eq!(a, b, "{k} moved from server {a} to {b}");
        }
    }
    assert!(moved > 400, "server 1 owned {moved} of 2000 keys");
    // CRC-32 modulo the list length moves keys of the surviving servers too, which is why ketama exists.
    let crc_moved =
        keys.iter().filter(|k| crc32_bucket(k, 3) != 1 && [0, 2][crc32_bucket(k, 2)] != crc32_bucket(k, 3)).count();
    assert!(crc_moved > 0);
}

#[test]
fn drop_server_with_ketama_moves_only_the_dropped_servers_keys_in_the_model() {
    let e = run(&[("hash", "ketama"), ("fault_kind", "none"), ("fault", "drop-server:koha1@10")], 30.0, 4);
    let three = Continuum::new(&MEMCACHED_HOSTS, KETAMA_POINTS);
    for (i, k) in e.model().keys().iter().enumerate() {
        let was = three.server_of(k);
        let now = e.model().placement(1)[i];
        assert_ne!(now, 0, "{k} still on the dropped server");
        if was != 0 {
            assert_eq!(now, was, "{k} moved");
        }
    }
}

#[test]
fn local_only_memcached_keeps_the_survivors_fast() {
    let e = run(&[("memcached_servers", "local")], 300.0, 6);
    let h = headline(&e);
    assert_eq!(f(&h, "connect_timeouts_per_page"), 0.0);
    assert_eq!(f(&h, "keys_on_failed_node_count"), 0.0);
}

#[test]
fn invariants_hold_after_every_event_through_every_fault_and_fix() {
    let pairs = [
        ("rate", "3"),
        ("max_requests", "5"),
        ("max_failures", "2"),
        ("failure_timeout_s", "3"),
        ("hash", "ketama"),
        ("fault_at", "5"),
        ("recover_at", "15"),
        ("fault", "services-stopped:koha2@20"),
        ("fault", "virgin-node:koha2@25"),
        ("fault", "drop-server:koha3@27"),
        ("fault", "power-off:koha3@30"),
        ("fault", "restore-server:koha3@33"),
        ("fault", "recover:koha2@35"),
        ("fault", "recover:koha3@38"),
    ];
    for seed in [1, 2] {
        let mut e = build_engine(def(), &spec(&pairs, 45.0, seed)).unwrap();
        let mut events = 0u64;
        while e.now() < 45 * SECOND && e.step_event() {
            events += 1;
            if let Err(v) = Run::check_invariants(&e) {
                panic!("after event {events} at {} µs: {v}; seed={seed}", e.now());
            }
        }
        assert!(events > 5_000, "{events} events");
        assert!(e.model().stats().completed > 50);
    }
}

#[test]
fn bad_keys_and_steps_get_one_line_errors() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("nope", "1")], "valid keys"),
        (&[("rate", "fast")], "not a number"),
        (&[("workers", "2.5")], "whole number"),
        (&[("hash", "md5")], "crc32, ketama"),
        (&[("recover_at", "10")], "after fault_at"),
        (&[("fault", "explode:koha1@10")], "valid commands"),
        (&[("fault", "power-off:koha9@10")], "koha1, koha2, koha3"),
        (&[("fault", "power-off:koha1")], "@SECONDS"),
        (&[("memcached_servers", "local"), ("fault", "drop-server:koha1@5")], "no memcached server left"),
    ];
    for (pairs, want) in cases {
        let err = build_engine(def(), &spec(pairs, 10.0, 1)).err().unwrap_or_else(|| panic!("{pairs:?} accepted"));
        assert!(err.contains(want) && !err.contains('\n'), "{pairs:?}: {err}");
    }
    let err = registry::build(SCENARIO, &RunSpec { controller: "p2c".into(), ..RunSpec::default() }).err().unwrap();
    assert!(err.contains("no balancer"), "{err}");
}

#[test]
fn every_command_round_trips() {
    let mut e = run(&[], 1.0, 1);
    assert_eq!(check_round_trips(e.model()), Ok(3 * 6));
    // The page's buttons send text; every verb applies live and is logged as the same text.
    for text in ["power-off:koha2", "recover:koha2", "drop-server:koha3", "restore-server:koha3"] {
        Run::apply_text(&mut e, text).unwrap();
    }
    let applied: Vec<String> = Run::applied_text(&e).into_iter().map(|(_, t)| t).collect();
    assert_eq!(applied, ["power-off:koha2", "recover:koha2", "drop-server:koha3", "restore-server:koha3"]);
}

#[test]
fn same_seed_same_trace_and_rows_and_another_seed_differs() {
    let go = |seed| {
        let mut r = registry::build(SCENARIO, &spec(&[("fault", "virgin-node:koha1@60")], 120.0, seed)).unwrap();
        r.run_until(120 * SECOND, u64::MAX);
        (r.trace_hash(), r.drain_rows())
    };
    let (a, b, c) = (go(9), go(9), go(10));
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
    assert_eq!(a.1.len(), 120);
}

#[test]
fn the_lesson_replays_the_seed_and_prints_numbers() {
    assert!(lesson::LESSON_SETS.contains(&("fault", &*format!("power-off:koha1@{}", lesson::PULL_AT_S))));
    let pairs: Vec<(&str, &str)> = lesson::LESSON_SETS.to_vec();
    let e = run(&pairs, 300.0, 1);
    let n = keys_on_first_server(70) as f64;
    let stopped = phase(&e, "services-stopped:koha1");
    let pulled = phase(&e, "power-off:koha1");
    let virgin = phase(&e, "virgin-node:koha1");
    assert_eq!(f(&stopped, "connect_timeouts_per_page"), 0.0);
    // Every get and set of mc1's keys times out, but for the first command of each survivor worker whose fd
    // was open when the cable went (io_timeout instead), and the rest of the (at most 4) pages still running
    // when the blank host came up (refused instead).
    let pages = f(&pulled, "pages");
    let io_share = f(&pulled, "io_timeouts") / pages;
    let timeouts = f(&pulled, "connect_timeouts_per_page");
    let low = 2.0 * n * (1.0 - 4.0 / pages) - io_share;
    assert!(timeouts >= low && timeouts <= 2.0 * n, "{timeouts}, n = {n}, {pulled:?}");
    assert_eq!(f(&virgin, "connect_timeouts_per_page"), 0.0);
    assert!(f(&pulled, "page_work_ms") > 10.0 * f(&stopped, "page_work_ms"));
    let summary = Run::summary(&e);
    for step in def().lesson {
        let text = (step.numbers)(&summary);
        assert!(!text.contains("NaN") && !text.is_empty(), "{}: {text}", step.title);
        assert!(def().lesson.windows(2).all(|w| w[0].at_s <= w[1].at_s));
        assert!(lesson::CHARTS.iter().any(|c| c.id == step.chart), "{} names chart {}", step.title, step.chart);
    }
}
