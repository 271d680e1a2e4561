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
