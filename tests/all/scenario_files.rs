//! Scenario files of every model: a scenario exported and opened again runs the same run, event for event, and
//! a bad file is refused in one line naming its line and column.

use loadlab::engine::run::Run;
use loadlab::registry::{self, RunSpec, ScenarioDef};

use crate::support::sets;

/// Every row and the summary (trace hash included, wall time aside) of a run to its end.
fn whole_run(mut run: Box<dyn Run>) -> (Vec<String>, String) {
    let end = run.duration();
    run.run_until(end, u64::MAX);
    let rows = run.drain_rows().iter().map(|r| run.csv_row(r)).collect();
    let mut summary = run.summary();
    summary.remove("wall_seconds");
    (rows, serde_json::to_string(&summary).unwrap())
}

/// The same spec built by name and through its exported file.
fn round_trip(def: &'static ScenarioDef, spec: &RunSpec) {
    let text = def.export_file(spec).unwrap_or_else(|e| panic!("{}: export: {e}", def.name));
    let (opened, mut from_file) =
        registry::open_file("x.toml", &text).unwrap_or_else(|e| panic!("{}: open: {e}\n{text}", def.name));
    assert_eq!(opened.name, def.name, "the file names its scenario");
    from_file.seed = spec.seed;
    let by_name = whole_run(def.build_run(spec).unwrap());
    let by_file = whole_run(opened.build_run(&from_file).unwrap());
    assert!(by_name.0.len() >= 2, "{}: too short a run to compare", def.name);
    assert_eq!(by_name.0, by_file.0, "{}: rows differ", def.name);
    assert_eq!(by_name.1, by_file.1, "{}: summaries (trace hash) differ", def.name);
    // Exporting what was opened writes the same file again.
    assert_eq!(opened.export_file(&from_file).unwrap(), text, "{}: a second export differs", def.name);
}

/// A short run of each scenario: long enough to pass its fault, short enough for `make test`.
fn short(def: &ScenarioDef, pairs: &[(&str, &str)], controller: &str) -> RunSpec {
    let (duration_s, step_s) = match def.model {
        "section" => (40.0, 0.5),
        "sahana" => (7_600.0, 10.0),
        _ => (400.0, 1.0),
    };
    RunSpec {
        controller: controller.into(),
        sets: sets(pairs),
        seed: 7,
        duration_s: Some(duration_s),
        time_step_s: Some(step_s),
        file: None,
    }
}

#[test]
fn every_scenario_of_every_model_round_trips_through_its_file() {
    for def in registry::all() {
        let controller = if def.takes_controller { "p2c" } else { "" };
        round_trip(def, &short(def, &[], controller));
    }
}

#[test]
fn edited_keys_and_steps_survive_the_round_trip() {
    type Case = (&'static str, &'static str, &'static [(&'static str, &'static str)]);
    let cases: &[Case] = &[
        ("slow", "conn-p", &[("workers", "20"), ("recover_at", "35")]),
        (
            "sahana-idle-drop",
            "",
            &[("keepalive_idle_s", "600"), ("operator", "kill-worker:w3@7300.5"), ("dispatch", "random")],
        ),
        ("koha-memcached-blackhole", "", &[("workers", "3"), ("fault_kind", "services-stopped")]),
        ("percona-desync", "", &[("apply_rate", "6500.25"), ("fc_master_slave", "yes")]),
        ("galera-hyperconverged", "", &[("nic_bonded", "yes"), ("write_kib", "0.5")]),
        ("galera-full-crash", "", &[("fault", "crash-all@120")]),
    ];
    for (name, controller, pairs) in cases {
        let def = registry::find(name).unwrap();
        round_trip(def, &short(def, pairs, controller));
        // A keyed model's file shows the edit on the key's own line (the section's file is its config's fields).
        if def.model == "section" {
            continue;
        }
        let text = def.export_file(&short(def, pairs, controller)).unwrap();
        for (k, v) in pairs.iter().filter(|(k, _)| *k != "operator" && *k != "fault") {
            let line =
                text.lines().find(|l| l.starts_with(&format!("{k} ="))).unwrap_or_else(|| panic!("{name}: no {k}"));
            assert!(line.contains(v), "{name}: {line} lacks {v}");
        }
    }
}

/// Replaces the line starting with `key =` in `text` by `line`.
fn with_line(text: &str, key: &str, line: &str) -> (String, usize) {
    let at = text.lines().position(|l| l.starts_with(&format!("{key} ="))).unwrap_or_else(|| panic!("no {key}"));
    let lines: Vec<&str> = text.lines().enumerate().map(|(i, l)| if i == at { line } else { l }).collect();
    (lines.join("\n") + "\n", at + 1)
}

#[test]
fn a_bad_keyed_file_names_the_line_and_what_was_expected() {
    let def = registry::find("sahana-idle-drop").unwrap();
    let good = def.export_file(&short(def, &[], "")).unwrap();
    let cases = [
        ("workers", "workers = 65", "1 to 64"),
        ("workers", "wrokers = 4", "unknown key 'wrokers'"),
        ("workers", "workers = \"four\"", "not a number"),
        ("dispatch", "dispatch = \"fastest\"", "expected one of"),
        ("operator", "operator = [\"kill-worker:w9@10\"]", "w1, w2, w3, w4"),
        ("operator", "operator = [\"kill-worker:w3\"]", "@"),
        ("duration_s", "duration_s = -1", "--duration"),
        ("loadlab_scenario", "loadlab_scenario = 7", "loadlab_scenario = 1"),
        ("scenario", "scenario = \"sahana\"", "valid scenarios"),
    ];
    for (key, line, hint) in cases {
        let (text, n) = with_line(&good, key, line);
        let err = registry::open_file("mine.toml", &text).err().unwrap_or_else(|| panic!("{line} was accepted"));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(hint), "{line}: {err} lacks {hint}");
        if key != "scenario" {
            assert!(err.starts_with(&format!("mine.toml:{n}:")), "{line}: {err} is not at line {n}");
        }
    }
    // Not TOML at all, and a table no model reads.
    for text in ["workers = = 4", "[nothing]\nx = 1\n"] {
        let err = registry::open_file("mine.toml", text).err().unwrap();
        assert!(err.starts_with("mine.toml:1:") && err.lines().count() == 1, "{err}");
    }
}

#[test]
fn a_section_file_without_a_scenario_line_still_opens() {
    // Files written before the `scenario` line existed name it only in their [section] table.
    let def = registry::find("refuse").unwrap();
    let text = def.export_file(&short(def, &[], "least-conn")).unwrap();
    let mut kept: Vec<&str> = text.lines().collect();
    let top = kept.iter().position(|l| *l == "scenario = \"refuse\"").unwrap(); // the first: above [section]
    assert!(kept[top + 1..].contains(&"[section]"));
    kept.remove(top);
    let old = kept.join("\n") + "\n";
    let (_, spec) = registry::open_file("old.toml", &old).unwrap();
    let run = registry::find("plain-s1").unwrap().build_run(&RunSpec { seed: 7, ..spec }).unwrap();
    assert_eq!(run.scenario(), "refuse", "the run takes its name from the file's own table");
}
