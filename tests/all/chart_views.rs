//! What the charts show: the words their markers print for each command (from each model's command table).

use loadlab::engine::commands::happened;
use loadlab::registry::{self, RunSpec};

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
