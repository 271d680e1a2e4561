//! The Koha run's summary (`summary.headline` and the phases) and its invariants.

use serde_json::{json, Map, Value};

use crate::time::{as_millis_f64, as_secs_f64, SimTime};

use super::commands::{verb, TABLE};
use super::config::{DB_QUERY, MAX_PHASES, NODES, NODE_NAMES, RTT, SETS_PER_MISS};
use super::stats::{Phase, SERVER_NAMES};
use super::Koha;

fn opt(v: Option<f64>) -> Value {
    v.map_or(Value::Null, Value::from)
}

/// What the incident adds to a page's cache and database time, ms, for `count` of its keys on the failed node:
/// a silent host costs a connect timeout for the get and for each set; a host that refuses costs a database query
/// per key and a round trip for each set (the refused get costs the round trip a hit did).
fn expected_extra_ms(fault_verb: &str, count: f64, ct_ms: f64) -> f64 {
    let sets = SETS_PER_MISS as f64;
    if fault_verb == TABLE[verb::POWER_OFF].verb {
        count * (1.0 + sets) * ct_ms
    } else {
        count * (as_millis_f64(DB_QUERY) + sets * as_millis_f64(RTT))
    }
}

/// The headline: before and after the default incident (the first fault of the run).
fn headline(k: &Koha) -> Value {
    let before = &k.stats.phases[0];
    let empty = Phase::default();
    let (after, incident) = match k.incident {
        Some(i) => (&k.stats.phases[i.phase.min(k.stats.phases.len() - 1)], Some(i)),
        None => (&empty, None),
    };
    let keys = k.keys.len().max(1) as f64;
    let count = incident.map_or(0, |i| i.keys_on_node);
    let ct_ms = as_millis_f64(k.cfg.client.connect_timeout);
    let down_after = incident.and_then(|i| {
        k.stats
            .transitions
            .iter()
            .find(|(t, n, up)| *n == i.node && !*up && *t >= i.at)
            .map(|(t, ..)| as_secs_f64(t - i.at))
    });
    let up_after = incident.zip(k.recovered_at).and_then(|(i, r)| {
        k.stats.transitions.iter().find(|(t, n, up)| *n == i.node && *up && *t >= r).map(|(t, ..)| as_secs_f64(t - r))
    });
    json!({
        "fault": after.label,
        "fault_at_s": incident.map(|i| as_secs_f64(i.at)),
        "failed_node": incident.map(|i| NODE_NAMES[i.node]),
        "page_work_ms_before": before.work_ms(),
        "page_work_ms_after": after.work_ms(),
        "extra_work_ms_per_page": after.work_ms() - before.work_ms(),
        "extra_cache_db_ms_per_page": after.cache_db_ms() - before.cache_db_ms(),
        "expected_extra_ms": expected_extra_ms(after.verb, count as f64, ct_ms),
        "page_latency_ms_before": before.latency_ms(),
        "page_latency_ms_after": after.latency_ms(),
        "connect_timeouts_per_page": after.connect_timeouts_per_page(),
        "io_timeouts_after": after.io_timeouts,
        "skips_after": after.skips,
        "keys_on_failed_node": count as f64 / keys,
        "keys_on_failed_node_count": count,
        "cache_ops": k.keys.len(),
        "connect_timeout_ms": ct_ms,
        "haproxy_down_after_s": opt(down_after),
        "haproxy_up_after_recover_s": opt(up_after),
        "pages_before": before.pages,
        "pages_after": after.pages,
    })
}

/// Which server each key lives on, per node's client (the key→server grid), and the count per server.
fn placement(k: &Koha) -> Value {
    let mut out = Map::new();
    for (n, name) in NODE_NAMES.iter().enumerate() {
        let p = &k.nodes[n].placement;
        let counts: Map<String, Value> =
            (0..NODES).map(|s| (SERVER_NAMES[s].to_string(), p.iter().filter(|x| **x == s).count().into())).collect();
        let grid: Vec<&str> = p.iter().map(|s| SERVER_NAMES[*s]).collect();
        out.insert(name.to_string(), json!({ "keys_per_server": counts, "server_of_key": grid }));
    }
    Value::Object(out)
}

fn cache_totals(k: &Koha) -> Value {
    let m: Map<String, Value> = k
        .servers
        .iter()
        .enumerate()
        .map(|(s, m)| {
            let c = m.total;
            let v =
                json!({"hits": c.hits, "misses": c.misses, "timeouts": c.timeouts, "skips": c.skips, "sets": c.sets});
            (SERVER_NAMES[s].to_string(), v)
        })
        .collect();
    Value::Object(m)
}

/// Every summary field.
pub fn fields(k: &Koha, _now: SimTime) -> Map<String, Value> {
    let s = &k.stats;
    let mut m = Map::new();
    m.insert("headline".into(), headline(k));
    m.insert("arrivals".into(), s.arrivals.into());
    m.insert("completed".into(), s.completed.into());
    m.insert("failed".into(), s.failed.into());
    m.insert("in_service".into(), k.nodes.iter().map(|n| n.pool.busy_count() as u64).sum::<u64>().into());
    m.insert("backlog".into(), k.nodes.iter().map(|n| n.pool.backlog_len() as u64).sum::<u64>().into());
    m.insert("phases".into(), Value::Array(s.phases.iter().map(Phase::to_json).collect()));
    m.insert("phases_merged".into(), s.phases_merged.into());
    m.insert(
        "haproxy_transitions".into(),
        s.transitions.iter().take(32).map(|(t, n, up)| json!([as_secs_f64(*t), NODE_NAMES[*n], up])).collect(),
    );
    m.insert("cache".into(), cache_totals(k));
    m.insert("placement".into(), placement(k));
    m.insert("keys".into(), k.keys.iter().map(|s| Value::from(s.as_str())).collect());
    m.insert("rows_dropped".into(), s.rows_dropped().into());
    m
}

/// Conservation of pages and every bound of the model; the first violation.
pub fn check(k: &Koha, _now: SimTime) -> Result<(), String> {
    let s = &k.stats;
    let in_nodes: u64 = k.nodes.iter().map(|n| n.pool.busy_count() as u64 + n.pool.backlog_len() as u64).sum();
    if s.arrivals != s.completed + s.failed + in_nodes {
        return Err(format!(
            "pages not conserved: {} arrived, {} completed + {} failed + {in_nodes} in the nodes",
            s.arrivals, s.completed, s.failed
        ));
    }
    for (n, node) in k.nodes.iter().enumerate() {
        node.check(NODE_NAMES[n])?;
        for (w, worker) in node.workers.iter().enumerate() {
            if worker.placement.len() != k.keys.len() || worker.placement.iter().any(|p| *p >= NODES) {
                return Err(format!("{}: worker {w} has a placement of the wrong shape", NODE_NAMES[n]));
            }
            for (srv, srv_name) in SERVER_NAMES.iter().enumerate() {
                let f = worker.client.failure_count(srv);
                if f > k.cfg.client.max_failures {
                    let node = NODE_NAMES[n];
                    return Err(format!("{node}: worker {w}'s failure count {f} for {srv_name} over max_failures"));
                }
            }
            if worker.served >= k.cfg.max_requests {
                return Err(format!(
                    "{}: worker {w} served {} pages, not recycled at {}",
                    NODE_NAMES[n], worker.served, k.cfg.max_requests
                ));
            }
        }
    }
    k.haproxy.check(&k.checks)?;
    if s.phases.is_empty() || s.phases.len() > MAX_PHASES {
        return Err(format!("{} phases, bound {MAX_PHASES}", s.phases.len()));
    }
    let phase_pages: u64 = s.phases.iter().map(|p| p.pages).sum();
    if phase_pages != s.completed {
        return Err(format!("phases hold {phase_pages} pages but {} completed", s.completed));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The checker itself: a healthy state passes, and each law, broken by hand, is reported by name.
    use super::super::{build_engine, Koha};
    use crate::engine::scenario::RunSpec;
    use crate::engine::Engine;

    /// Koha at 30 pages/s on 3 × 2 workers: a page takes at least `base_ms` 250 ms of work plus 70 keys' round
    /// trips, so the 6 workers serve under 24 pages/s and every node's backlog fills. `fault` adds steps.
    fn engine(pairs: &[(&str, &str)]) -> Engine<Koha> {
        let mut sets: Vec<(String, String)> =
            [("rate", "30"), ("fault_at", "100000")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        sets.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let def = &crate::models::koha::SCENARIOS[0];
        let spec = RunSpec { sets, seed: 3, duration_s: Some(600.0), ..RunSpec::default() };
        build_engine(def, &spec).unwrap()
    }

    /// Steps until `ready`, checking every law after each event; the state must then still pass.
    fn step_until(mut e: Engine<Koha>, ready: impl Fn(&Koha) -> bool) -> Engine<Koha> {
        for _ in 0..2_000_000 {
            if ready(e.model()) {
                assert_eq!(super::check(e.model(), e.now()), Ok(()), "the healthy state fails");
                return e;
            }
            assert!(e.step_event(), "the run ended first");
            assert_eq!(super::check(e.model(), e.now()), Ok(()));
        }
        panic!("never reached the state");
    }

    /// Every node with a backlog and both workers busy.
    fn busy() -> Engine<Koha> {
        step_until(engine(&[]), |k| k.nodes.iter().all(|n| n.pool.backlog_len() > 0 && n.pool.busy_count() == 2))
    }

    /// Each corruption with the words its report must contain.
    #[allow(clippy::type_complexity)]
    const CORRUPTIONS: &[(&str, fn(&mut Koha))] = &[
        ("pages not conserved: ", |k| k.stats.arrivals += 1),
        ("pages not conserved in the node", |k| k.nodes[1].ledger.admitted += 1),
        ("busy=true but page=false", |k| {
            k.nodes[0].workers[1].page = None;
            k.nodes[0].ledger.finished += 1;
        }),
        ("not up", |k| k.nodes[2].power = super::super::node::Power::ServicesStopped),
        // Powered off with its workers still busy but nothing waiting (the backlog's pages counted killed, so the
        // ledgers balance): a running page alone breaks the law.
        ("not up", |k| {
            let waiting = k.nodes[1].pool.drain_backlog().len() as u64;
            k.nodes[1].ledger.killed += waiting;
            k.stats.failed += waiting;
            k.nodes[1].power = super::super::node::Power::PoweredOff;
        }),
        ("placement of the wrong shape", |k| {
            k.nodes[0].workers[0].placement.pop();
        }),
        ("placement of the wrong shape", |k| k.nodes[0].workers[1].placement[0] = super::super::NODES),
        ("not recycled at", |k| k.nodes[1].workers[0].served = k.cfg.max_requests),
        ("phases, bound", |k| k.stats.phases.clear()),
        ("phases, bound", |k| {
            let p = k.stats.phases[0].clone();
            k.stats.phases.resize(super::super::config::MAX_PHASES + 1, p);
            k.stats.phases.iter_mut().skip(1).for_each(|p| p.pages = 0);
        }),
        ("phases hold", |k| k.stats.phases[0].pages += 1),
    ];

    #[test]
    fn every_corrupted_invariant_is_reported() {
        for (words, corrupt) in CORRUPTIONS {
            let mut e = busy();
            corrupt(e.model_mut_for_output());
            match super::check(e.model(), e.now()) {
                Ok(()) => panic!("corruption '{words}' passed the checker"),
                Err(err) => assert!(err.contains(words), "corruption '{words}' reported as: {err}"),
            }
        }
    }

    /// More commands than phases: the first MAX_PHASES - 1 open their own phase, the rest fold into the last,
    /// so a long run holds exactly MAX_PHASES phases, and that is legal.
    #[test]
    fn a_run_with_more_commands_than_phases_holds_exactly_the_bound() {
        use super::super::config::MAX_PHASES;
        let mut e = busy();
        let now = e.now();
        let k = e.model_mut_for_output();
        let (before, merged) = (k.stats.phases.len(), k.stats.phases_merged as usize);
        let commands = MAX_PHASES + 5;
        for i in 0..commands {
            k.stats.begin_phase(now, format!("command {i}"), "stop", Some(i % 3));
        }
        assert_eq!(k.stats.phases.len(), MAX_PHASES);
        assert_eq!(k.stats.phases_merged as usize - merged, before + commands - MAX_PHASES);
        assert_eq!(super::check(e.model(), e.now()), Ok(()));
    }

    /// With `max_failures = 2`, koha1's cable pulled at 1 s: clients on koha2 and koha3 count failures against
    /// mc1. A count one over the setting is reported.
    #[test]
    fn a_failure_count_over_max_failures_is_reported() {
        let pairs = [("max_failures", "2"), ("fault_at", "1")];
        let mut e = step_until(engine(&pairs), |k| k.nodes[1].workers.iter().any(|w| w.client.failure_count(0) > 0));
        e.model_mut_for_output().cfg.client.max_failures = 0;
        let err = super::check(e.model(), e.now()).unwrap_err();
        assert!(err.contains("over max_failures"), "{err}");
    }

    /// A node killed while pages wait in its backlog (the law Koha's `kill_all` must keep): every page is
    /// counted killed, none vanishes, checked after every event.
    #[test]
    fn a_node_killed_with_a_full_backlog_accounts_every_page() {
        let mut e = busy();
        let waiting = e.model().nodes[0].pool.backlog_len() as u64;
        let running = e.model().nodes[0].workers.iter().filter(|w| w.page.is_some()).count() as u64;
        let failed = e.model().stats.failed;
        let now = e.now();
        let k = e.model_mut_for_output();
        k.fault(now, 0, super::super::node::Power::PoweredOff);
        assert_eq!(k.stats.failed - failed, waiting + running, "{waiting} waiting and {running} running pages die");
        assert_eq!(k.nodes[0].ledger.killed, waiting + running);
        assert_eq!(super::check(e.model(), e.now()), Ok(()));
    }
}
