//! What the charts show: each lesson step's window ([`View`]: valid, about the step's moment, and for the two
//! long incidents the whole of what the step is about, by the incident's own arithmetic), and the words their
//! markers print for each command (from each model's command table).

use loadlab::engine::commands::happened;
use loadlab::engine::scenario::View;
use loadlab::registry::{self, RunSpec};

/// Every step of every lesson names a window the page can show: it passes the one validator, and a fixed
/// stretch starts before the step's moment (so the step never opens on an empty chart).
#[test]
fn every_lesson_step_names_a_valid_window_about_its_moment() {
    for def in registry::all() {
        for (n, step) in def.lesson.iter().enumerate() {
            let at = format!("{} step {n} ({})", def.name, step.title);
            assert_eq!(step.view.checked(), Ok(step.view), "{at}");
            assert_eq!(View::parse(&step.view.to_text()), Ok(step.view), "{at}: the link's form reads back");
            if let View::Span(from, _) = step.view {
                assert!(from < step.at_s, "{at}: starts at {from} s, after the step's moment {} s", step.at_s);
            }
        }
    }
}

/// Sahana's recovery step shows the whole stall: traffic rises at 7000 s (`quiet_until_s`), the first stall
/// starts within a second of it, and lasts the RTO ladder's 0.2·(2¹⁰−1) + 6·120 = 924.6 s.
#[test]
fn sahanas_stall_is_in_one_view() {
    let def = registry::find("sahana-idle-drop").unwrap();
    let step = def.lesson.iter().find(|s| s.title.starts_with("924.6 s later")).expect("the recovery step");
    let stall_s = 0.2 * (2f64.powi(10) - 1.0) + 6.0 * 120.0;
    let (from, to) = step.view.x_range(step.at_s, 60.0);
    assert!(from <= 7000.0 && to >= 7000.0 + 1.0 + stall_s, "{from}..{to} misses the stall");
    assert!(step.at_s >= 7000.0 + 1.0 + stall_s, "the step pauses after the stall ends");
}

/// Percona's catch-up step shows the whole course: from the backup at time zero to the step's moment.
#[test]
fn perconas_hours_are_the_whole_course() {
    let def = registry::find("percona-desync").unwrap();
    let step = def.lesson.iter().find(|s| s.title == "Hours of catch-up").expect("the catch-up step");
    assert_eq!(step.view, View::Whole);
    assert_eq!(step.view.x_range(step.at_s, 60.0), (0.0, step.at_s));
}

/// Every verb of every model says what happened in words that name its target and fill in its arguments (at
/// least one of them, each placeholder an argument's name), with no colon left in them; a command's text becomes
/// those words.
#[test]
fn every_marker_prints_what_happened_in_words() {
    let mut seen = std::collections::BTreeSet::new();
    for def in registry::all() {
        if !seen.insert(def.model) {
            continue;
        }
        let run = def.build_run(&RunSpec { duration_s: Some(60.0), time_step_s: Some(0.5), ..Default::default() });
        let table = run.expect(def.name).command_table();
        for spec in table {
            let words = spec.happened;
            assert!(!words.is_empty() && !words.contains(':'), "{}: {words:?}", spec.verb);
            assert_eq!(spec.target.is_some(), words.contains("{target}"), "{}: {words:?} and its target", spec.verb);
            let mut text = spec.verb.to_string();
            if spec.target.is_some() {
                text.push_str(":T1");
            }
            for _ in spec.args {
                text.push_str(":1234.5");
            }
            let out = happened(table, &text);
            assert!(!out.contains('{') && !out.contains(':'), "{text} → {out:?}");
            assert_eq!(spec.target.is_some(), out.contains("T1"), "{text} → {out:?}");
            if !spec.args.is_empty() {
                assert!(out.contains("1,234"), "{text} → {out:?}: arguments are numbers for people");
            }
        }
    }
}

/// The commands the issue saw printed raw, in words.
#[test]
fn raw_commands_become_words() {
    let table = |name: &str| {
        let def = registry::find(name).unwrap();
        def.build_run(&RunSpec { duration_s: Some(60.0), time_step_s: Some(0.5), ..Default::default() })
            .unwrap()
            .command_table()
    };
    assert_eq!(happened(table("galera-full-crash"), "restart-all"), "cluster restarted");
    assert_eq!(happened(table("percona-desync"), "desync-off:node3"), "node3 rejoins");
    assert_eq!(happened(table("koha-memcached-blackhole"), "services-stopped:koha1"), "koha1 services stopped");
    assert_eq!(happened(table("slow"), "slow:db1119:10"), "db1119 10× slower");
    assert_eq!(happened(table("slow"), "no-such-verb:x"), "no-such-verb x");
}
