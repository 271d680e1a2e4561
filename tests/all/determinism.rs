//! Same config and seed, same bytes; different seeds, different runs.

use loadlab::cli::{build_sim, parse_run, run_to};
use loadlab::models::section::sim::Sim;

fn csv_of(args: &[&str]) -> Vec<u8> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let run = parse_run(&args).expect("valid args");
    let mut out = Vec::new();
    run_to(&run, build_sim(&run).expect("builds"), &mut out).expect("writes to memory");
    out
}

#[test]
fn same_config_and_seed_give_byte_identical_csv() {
    for scenario in ["plain-s1", "slow", "connect-timeout", "mmc"] {
        let args = ["--scenario", scenario, "--duration", "40", "--seed", "99", "--set", "workers=20"];
        let (a, b) = (csv_of(&args), csv_of(&args));
        assert!(a.len() > 1000, "{scenario}: suspiciously short output");
        assert!(a == b, "{scenario}: two runs with seed 99 differ");
    }
}

#[test]
fn different_seeds_give_different_runs() {
    let a = csv_of(&["--scenario", "plain-s1", "--duration", "5", "--seed", "1"]);
    let b = csv_of(&["--scenario", "plain-s1", "--duration", "5", "--seed", "2"]);
    assert_ne!(a, b);
}

#[test]
fn csv_has_eventsimulator_columns() {
    let out = String::from_utf8(csv_of(&["--scenario", "plain-s1", "--duration", "3", "--time-step", "0.5"])).unwrap();
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..7],
        ["time_s", "requests", "rejected", "active_workers", "latency_mean_ms", "latency_p50_ms", "latency_p99_ms"]
    );
    assert_eq!(
        &header[7..12],
        [
            "db1118.active_conns",
            "db1118.total_conns",
            "db1118.failed_conns",
            "db1118.work_count",
            "db1118.latency_p99_ms"
        ]
    );
    assert_eq!(header.len(), 7 + 12 * 5);
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 6, "3 s in 0.5 s steps");
    assert!(rows.iter().all(|r| r.split(',').count() == header.len()));
    assert!(rows[5].starts_with("3.000,"));
}

#[test]
fn json_has_rows_and_summary() {
    let out = String::from_utf8(csv_of(&["--scenario", "mmc", "--duration", "2", "--format", "json"])).unwrap();
    for key in [
        "\"rows\":[",
        "\"summary\":{",
        "\"requests\":",
        "\"completed\":",
        "\"rejected\":",
        "\"failed\":",
        "\"latency_mean_ms\":",
        "\"latency_p50_ms\":",
        "\"latency_p99_ms\":",
        "\"events\":",
        "\"wall_seconds\":",
        "\"trace_hash\":",
    ] {
        assert!(out.contains(key), "missing {key}");
    }
    assert_eq!(out.matches("\"time_s\"").count(), 2);
}

#[test]
fn a_live_action_replays_exactly_from_its_link() {
    // The web app applies a live action with `schedule(now + 1 µs)` and writes that time into the URL as a
    // fault step. Building the run from the step must give the same trace, event for event.
    use loadlab::models::section::command::{Command, Fault};
    use loadlab::time::SECOND;
    let mut live = Sim::of(loadlab::models::section::scenario::build("slow", "mw-loadmonitor", &[]).unwrap(), 21);
    live.run_until(12 * SECOND + 500_000, u64::MAX);
    let at = live.now() + 1;
    live.schedule(at, Command::Fault { server: 4, fault: Fault::Crash }).unwrap();
    live.run_until(40 * SECOND, u64::MAX);
    let step = vec![("fault".to_string(), format!("crash:db1119@{:.6}", at as f64 / 1e6))];
    let mut replay = Sim::of(loadlab::models::section::scenario::build("slow", "mw-loadmonitor", &step).unwrap(), 21);
    replay.run_until(40 * SECOND, u64::MAX);
    assert_eq!(live.summary(), replay.summary());
    // The past, and bad commands, are refused and change nothing.
    let before = live.summary();
    assert!(live.schedule(SECOND, Command::Surge { factor: 2.0 }).is_err());
    assert!(live.schedule(live.now(), Command::Fault { server: 99, fault: Fault::Crash }).is_err());
    assert!(live.schedule(live.now(), Command::Surge { factor: f64::NAN }).is_err());
    live.run_until(40 * SECOND, u64::MAX);
    assert_eq!(before, live.summary());
}

#[test]
fn a_changed_event_time_changes_the_section_trace_hash() {
    // One M/M/1 server at ρ 0.01 (1 req/s, 10 ms service): requests almost never overlap, so a 1 µs longer round
    // trip moves every connect and query end by 1 µs and changes nothing else, neither the order of events nor
    // their kinds. Only the times differ, so only a hash that mixes in event times tells the runs apart.
    let run = |rtt_ms: &str| {
        let pairs = [("servers", "1"), ("slots", "1"), ("utilization", "0.01"), ("rtt_ms", rtt_ms)];
        let (_, sim) = crate::support::run("mmc", "static", &pairs, 200, 31);
        sim.summary()
    };
    let (a, b) = (run("0.001"), run("0.002"));
    assert_eq!((a.events, a.requests, a.completed), (b.events, b.requests, b.completed), "the runs diverged");
    assert!(a.requests > 100, "{a:?}");
    assert_ne!(a.trace_hash, b.trace_hash, "a 1 µs shift of every connect left the trace hash unchanged");
    assert_eq!(a.trace_hash, run("0.001").trace_hash);
}
