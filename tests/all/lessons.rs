//! Every lesson step of every scenario, run as the page runs it (the lesson's own keys, half-second rows, the
//! newest row joined to the summary), prints numbers a person can read: nothing blank, no NaN or infinity, no
//! "0 of 0", no empty list. A step whose text cites a column's value now must agree with the newest row.

use loadlab::engine::run::with_row;
use loadlab::registry::{self, RunSpec};
use loadlab::time::from_secs_f64;

/// What a number line must never contain.
const BROKEN: &[&str] = &[" ;", ",;", "; ;", "0 of 0", "[]", "()", "  "];
/// Words a broken number prints as.
const BROKEN_WORDS: &[&str] = &["NaN", "inf", "-inf"];

#[test]
fn every_lesson_step_prints_readable_numbers() {
    for def in registry::all() {
        let sets: Vec<(String, String)> = def.lesson_sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let controller = if def.takes_controller { "static" } else { "" };
        let spec = RunSpec { controller: controller.into(), sets, seed: 1, duration_s: None, time_step_s: Some(0.5) };
        let mut run = registry::build(def.name, &spec).unwrap_or_else(|e| panic!("{}: {e}", def.name));
        let columns = run.columns();
        let mut last_row: Option<Vec<f64>> = None;
        for (n, step) in def.lesson.iter().enumerate() {
            run.run_until(from_secs_f64(step.at_s), u64::MAX);
            if let Some(row) = run.drain_rows().pop() {
                last_row = Some(row);
            }
            let mut summary = run.summary();
            if let Some(row) = &last_row {
                with_row(&mut summary, &columns, row);
            }
            let text = (step.numbers)(&summary);
            let at = format!("{} step {} ({}) at {} s: {text:?}", def.name, n + 1, step.title, step.at_s);
            for bad in BROKEN {
                assert!(!text.contains(bad), "{at} contains {bad:?}");
            }
            for word in text.split(|c: char| c.is_whitespace() || ",;:()".contains(c)) {
                assert!(!BROKEN_WORDS.contains(&word), "{at} prints {word:?}");
            }
            assert!(!text.trim_end().ends_with(':') && !text.contains(": ;"), "{at}: a blank value");
        }
    }
}

#[test]
fn every_lesson_button_does_something_valid() {
    use loadlab::controller::controller_info;
    use loadlab::engine::scenario::Act;
    for def in registry::all() {
        if let Some(c) = def.lesson_controller {
            assert!(def.takes_controller && controller_info(c).is_some(), "{}: lesson controller {c}", def.name);
        }
        for step in def.lesson {
            for a in step.actions {
                let at = format!("{} '{}': {}", def.name, step.title, a.label);
                let base = def.lesson_controller.unwrap_or("static");
                let (controller, sets) = match a.act {
                    Act::Controller(c) | Act::CompareWith(c) => (c, Vec::new()),
                    Act::Set(k, v) => (base, vec![(k.to_string(), v.to_string())]),
                    Act::Command(_) => (base, Vec::new()),
                };
                let controller = if def.takes_controller { controller } else { "" };
                let spec = RunSpec { controller: controller.into(), sets, seed: 1, ..RunSpec::default() };
                let mut run = registry::build(def.name, &spec).unwrap_or_else(|e| panic!("{at}: {e}"));
                if let Act::Command(text) = a.act {
                    run.apply_text(text).unwrap_or_else(|e| panic!("{at}: {e}"));
                }
            }
        }
    }
}

/// Runs `name` with `sets` to its end and returns its first challenge's verdict there.
fn verdict_at_end(name: &str, sets: &[(&str, &str)]) -> loadlab::engine::scenario::Verdict {
    let def = registry::find(name).unwrap();
    let sets = sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut run = registry::build(name, &RunSpec { sets, seed: 1, ..RunSpec::default() }).unwrap();
    let end = run.duration();
    run.run_until(end, u64::MAX);
    let columns = run.columns();
    let mut summary = run.summary();
    if let Some(row) = run.drain_rows().pop() {
        with_row(&mut summary, &columns, &row);
    }
    let end_s = loadlab::time::as_secs_f64(end);
    (def.challenges[0].check)(&summary, end_s, end_s)
}

#[test]
fn challenges_judge_the_incident_as_missed_and_the_fix_as_met() {
    use loadlab::engine::scenario::Verdict::{Met, Missed};
    // Sahana: the incident's run stalls 924.6 s (tcp_retries2 = 15); keepalive at 600 s, under the router's
    // 3600 s idle timeout, keeps every flow alive, so nothing stalls.
    assert!(matches!(verdict_at_end("sahana-idle-drop", &[]), Missed(_)));
    assert!(matches!(verdict_at_end("sahana-idle-drop", &[("keepalive_idle_s", "600")]), Met(_)));
    // A power cut with the log flushed once a second loses up to a second of commits on every node, so even
    // the best bootstrap loses some; flushing at every commit loses none (MySQL manual, trx_commit=1).
    assert!(matches!(verdict_at_end("galera-full-crash", &[]), Missed(_)));
    assert!(matches!(verdict_at_end("galera-full-crash", &[("trx_commit", "1")]), Met(_)));
    // Percona: 16 million writesets at about 930 a second net is about 17,200 s, past the three hours asked.
    assert!(matches!(verdict_at_end("percona-desync", &[]), Missed(_)));
}
