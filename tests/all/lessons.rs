//! Every lesson step of every scenario, run as the page runs it (the lesson's own keys, half-second rows, the
//! newest row joined to the summary), prints numbers a person can read: nothing blank, no NaN or infinity, no
//! "0 of 0", no empty list. A step whose text cites a column's value now must agree with the newest row. And
//! every string the page shows about a scenario speaks to a newcomer: no project file names, section numbers,
//! command-line flags or project nicknames for the sources ("the seed", "EventSimulator").

use loadlab::engine::picture::count;
use loadlab::engine::run::{with_row, Run};
use loadlab::engine::scenario::{LessonStep, ScenarioDef};
use loadlab::registry::{self, RunSpec};
use loadlab::time::{from_secs_f64, SimTime};
use serde_json::{Map, Value};

/// What a number line must never contain.
const BROKEN: &[&str] = &[" ;", ",;", "; ;", "0 of 0", "[]", "()", "  "];
/// Words a broken number prints as.
const BROKEN_WORDS: &[&str] = &["NaN", "inf", "-inf"];

/// Words only the project knows: its nickname for the incident documents, the simulator's code name, its own
/// files and their sections, the command line.
const JARGON: &[&str] = &[
    "the seed",
    "seed 0",
    "seed's",
    "EventSimulator",
    "SEED",
    "REFERENCE",
    ".md",
    "§",
    "the CLI",
    "FITTED",
    "[assume",
    // A source named only as a kind of document: say whose ("Percona's blog post", "Sahana's wiki page").
    "the wiki",
    "The wiki",
    "the blog",
    "The blog",
];

/// Where `text` uses project jargon or a command-line flag ("--duration"), the offending piece.
fn jargon(text: &str) -> Option<String> {
    if let Some(word) = JARGON.iter().find(|w| text.contains(*w)) {
        return Some(word.to_string());
    }
    let flag = text.match_indices("--").find(|(at, _)| text[at + 2..].starts_with(|c: char| c.is_ascii_lowercase()));
    flag.map(|(at, _)| text[at..].chars().take(20).collect())
}

fn refuse_jargon(at: &str, text: &str) {
    if let Some(word) = jargon(text) {
        panic!("{at} uses {word:?}: {text:?}");
    }
}

/// "db1119 holds 534 connections" must say what the newest row says, as the page prints it.
fn check_holds(at: &str, text: &str, now: &serde_json::Value) {
    let Some(now) = now.as_object() else { return };
    for (column, value) in now {
        let (Some(server), Some(v)) = (column.strip_suffix(".active_conns"), value.as_f64()) else { continue };
        let claim = format!("{server} holds ");
        let Some(at_claim) = text.find(&claim) else { continue };
        let rest = &text[at_claim + claim.len()..];
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let expected = count(v, "connection", "connections");
        assert!(rest.starts_with(&expected), "{at}: says {server} holds {rest:.30}, the newest row says {expected}");
    }
}

/// Phrases a step's numbers put right before a column's value now, the column, and the decimals `human` prints
/// it with there.
const CITES: &[(&str, &str, u8)] = &[
    ("listen queue ", "listen_queue", 0),
    ("unflushed commits now: node1 ", "node1.unflushed_trx", 0),
    ("its measured lag is ", "db1163.measured_lag_s", 2),
    ("storage p99 over the last half second ", "storage_p99_ms", 3),
    ("db1119: true lag ", "db1119.true_lag_s", 1),
];

/// Each cited value must be the newest row's, as the page prints it.
fn check_cites(at: &str, text: &str, now: &serde_json::Value) {
    for (phrase, column, decimals) in CITES {
        let Some(i) = text.find(phrase) else { continue };
        let Some(v) = now.get(*column).and_then(serde_json::Value::as_f64) else { continue };
        let expected = loadlab::engine::picture::human(v, *decimals);
        let rest = &text[i + phrase.len()..];
        let cited: String = rest.chars().take_while(|c| c.is_ascii_digit() || ",.".contains(*c)).collect();
        assert_eq!(
            cited.trim_end_matches(['.', ',']),
            expected,
            "{at}: {phrase:?} cites {cited}, the newest row says {expected}"
        );
    }
}

#[test]
fn every_page_string_about_a_scenario_speaks_plainly() {
    use loadlab::controller::controllers;
    for def in registry::all() {
        // The one line `loadlab list` and the scenario picker's source print for it.
        refuse_jargon(&format!("{} summary", def.name), def.summary);
        let st = def.story;
        for (what, text) in [
            ("title", st.title),
            ("headline", st.headline),
            ("brief", st.brief),
            ("incident", st.incident),
            ("watch", st.watch),
            ("try_this", st.try_this),
            ("source", st.source),
        ] {
            refuse_jargon(&format!("{} story {what}", def.name), text);
        }
        for step in def.lesson {
            refuse_jargon(&format!("{} step '{}'", def.name, step.title), step.title);
            refuse_jargon(&format!("{} step '{}'", def.name, step.title), step.text);
            for a in step.actions {
                refuse_jargon(&format!("{} step '{}' button", def.name, step.title), a.label);
            }
        }
        for (controller, note) in def.controller_notes {
            refuse_jargon(&format!("{} note on {controller}", def.name), note);
        }
        for f in def.figures {
            refuse_jargon(&format!("{} figure {}", def.name, f.field), f.reported);
            refuse_jargon(&format!("{} figure {}", def.name, f.field), f.source);
        }
        for k in def.keys {
            refuse_jargon(&format!("{} key {}", def.name, k.key), k.help);
        }
        let controller = if def.takes_controller { "static" } else { "" };
        let spec = RunSpec { controller: controller.into(), seed: 1, ..RunSpec::default() };
        let run = registry::build(def.name, &spec).unwrap_or_else(|e| panic!("{}: {e}", def.name));
        for c in run.charts() {
            refuse_jargon(&format!("{} chart {}", def.name, c.id), c.title);
            refuse_jargon(&format!("{} chart {}", def.name, c.id), c.hint);
        }
        for c in run.command_table() {
            refuse_jargon(&format!("{} command {}", def.name, c.verb), c.help);
        }
        // Chart notes and action help are page prose too: they name no setting key.
        let keys: Vec<&str> = def.keys.iter().map(|k| k.key).collect();
        let shown = run.charts().iter().map(|c| c.hint).chain(run.command_table().iter().map(|c| c.help));
        for text in shown {
            assert!(names_a_key(text, &keys).is_none(), "{}: {text:?} names a setting key", def.name);
        }
        if let Some(p) = run.picture() {
            refuse_jargon(&format!("{} picture", def.name), p.caption);
            for g in p.groups {
                refuse_jargon(&format!("{} picture {}", def.name, g.id), g.help);
            }
        }
    }
    for c in controllers() {
        refuse_jargon(&format!("controller {}", c.name), c.summary);
        refuse_jargon(&format!("controller {} rule", c.name), c.rule);
        assert!(
            c.rule.len() > 40 && !c.rule.contains('_'),
            "controller {}: its rule in plain words: {}",
            c.name,
            c.rule
        );
        for p in c.params {
            refuse_jargon(&format!("controller {} parameter {}", c.name, p.key), p.help);
            // A switch or a choice of versions: its default is one of its choices, each within the range and in
            // plain words.
            if !p.choices.is_empty() {
                assert!(p.choices.iter().any(|(v, _)| *v == p.default), "{} {}: default not a choice", c.name, p.key);
                for (v, words) in p.choices {
                    assert!((p.min..=p.max).contains(v), "{} {}: choice {v} out of range", c.name, p.key);
                    refuse_jargon(&format!("controller {} parameter {} choice", c.name, p.key), words);
                    assert!(!words.contains('_'), "{} {}: {words}", c.name, p.key);
                }
            }
        }
    }
}

/// Where a label or a help line in view reads as code: an underscore (`fc_limit`), or a dot between two letters
/// (`gcs.fc_limit`, `listen.backlog`); a decimal point ("1.35") is a number, not code.
fn code_word(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let dotted = (1..chars.len().saturating_sub(1))
        .find(|&i| chars[i] == '.' && chars[i - 1].is_alphabetic() && chars[i + 1].is_alphanumeric());
    let at = text.find('_').or_else(|| dotted.map(|i| text.char_indices().nth(i).unwrap().0))?;
    let start = text[..at].rfind(' ').map_or(0, |s| s + 1);
    Some(text[start..].split(' ').next().unwrap_or("").to_string())
}

#[test]
fn the_code_word_check_catches_what_it_should() {
    assert_eq!(code_word("gcs.fc_limit: upper").as_deref(), Some("gcs.fc_limit:"));
    assert_eq!(code_word("PHP-FPM listen.backlog").as_deref(), Some("listen.backlog"));
    assert!(code_word("MediaWiki 1.35 ships 0.1.").is_none());
    assert!(code_word("Flow-control limit").is_none());
}

/// Every key of every model and every controller parameter has a plain-words label: sentence case, no
/// underscore or dot, no project jargon, not the key itself, and no two keys of one model (no two parameters of
/// one controller) share one, so a reader can tell every control apart. A key declared once per scenario keeps
/// one label.
#[test]
fn every_key_and_parameter_label_speaks_plainly() {
    fn check(owner: &str, named: &[(&str, &str)]) {
        let mut by_label: Vec<(&str, &str)> = Vec::new();
        for (key, label) in named {
            let at = format!("{owner} {key}");
            assert!(label.starts_with(|c: char| c.is_uppercase()), "{at}: label {label:?} is not sentence case");
            assert!(label.chars().count() <= 48, "{at}: label {label:?} is too long for a control");
            assert!(code_word(label).is_none(), "{at}: label {label:?} reads as code");
            assert_ne!(label, key, "{at}: labelled by its key");
            refuse_jargon(&at, label);
            match by_label.iter().find(|(_, l)| l == label) {
                Some((other, _)) => assert_eq!(other, key, "{owner}: {other} and {key} are both {label:?}"),
                None => by_label.push((key, label)),
            }
            if let Some((_, l)) = by_label.iter().find(|(k, _)| k == key) {
                assert_eq!(l, label, "{owner}: {key} is labelled both {l:?} and {label:?}");
            }
        }
    }
    let mut models: Vec<&str> = Vec::new();
    for def in registry::all() {
        if models.contains(&def.model) {
            continue;
        }
        models.push(def.model);
        let named: Vec<(&str, &str)> = def.keys.iter().map(|k| (k.key, k.label)).collect();
        assert!(!named.is_empty(), "model {} has no keys", def.model);
        check(&format!("model {}", def.model), &named);
    }
    assert!(models.len() >= 4, "{models:?}");
    for c in loadlab::controller::controllers() {
        let named: Vec<(&str, &str)> = c.params.iter().map(|p| (p.key, p.label)).collect();
        check(&format!("controller {}", c.name), &named);
    }
}

/// The help line the page shows in view beside each control (the help without its trailing source notes in
/// parentheses, which wait under "Technical details") speaks plainly: no code words, no jargon; so do the words
/// a choice's options carry.
#[test]
fn every_controls_visible_help_speaks_plainly() {
    use loadlab::engine::keys::plain_help;
    let found = std::cell::RefCell::new(Vec::new());
    let look = |at: String, help: &str| {
        let mut found = found.borrow_mut();
        let shown = plain_help(help);
        if shown.chars().count() < 10 {
            found.push(format!("{at}: no words in view: {help:?}"));
        } else if let Some(word) = code_word(&shown).or_else(|| jargon(&shown)) {
            found.push(format!("{at}: {word:?} in {shown:?}"));
        }
    };
    for def in registry::all() {
        // The keys the page draws a control for: not the scheduled steps, not the per-server keys.
        let drawn = |k: &&loadlab::engine::keys::KeyInfo| {
            k.applies_to(def.name)
                && !k.key.starts_with('<')
                && !matches!(k.kind, loadlab::engine::keys::KeyKind::FaultSpec)
        };
        for k in def.keys.iter().filter(drawn) {
            look(format!("{} key {}", def.name, k.key), k.help);
            // A choice's list shows each option's words beside it: an option typed as a number or a code word
            // ("2", "global_lock") says what it means, in plain words.
            if let loadlab::engine::keys::KeyKind::Choice(options) = k.kind {
                for o in options {
                    let at = format!("{} key {} option {}", def.name, k.key, o.word);
                    let cryptic = code_word(o.word).is_some() || o.word.chars().all(|c| c.is_ascii_digit());
                    if cryptic && o.means.is_empty() {
                        found.borrow_mut().push(format!("{at}: no words say what it means"));
                    } else if let Some(word) = code_word(o.means).or_else(|| jargon(o.means)) {
                        found.borrow_mut().push(format!("{at}: {word:?} in {:?}", o.means));
                    }
                }
            }
        }
    }
    for c in loadlab::controller::controllers() {
        for p in c.params {
            look(format!("controller {} parameter {}", c.name, p.key), p.help);
        }
    }
    let mut found = found.into_inner();
    found.dedup();
    assert!(found.is_empty(), "{} help lines in view read as code:\n{}", found.len(), found.join("\n"));
}

#[test]
fn the_jargon_check_catches_what_it_should() {
    assert!(jargon("the seed's DBA").is_some());
    assert!(jargon("run it with --duration 25200").is_some());
    assert!(jargon("REFERENCE §5").is_some());
    assert!(jargon("the same random seed").is_none());
    assert!(jargon("0.075–1.075 s, the incident report").is_none());
}

#[test]
fn every_lesson_step_prints_readable_numbers() {
    for def in registry::all() {
        // LESSON_CONTROLLER=name reads the lessons under another controller (with LESSON_PRINT=1 to see them).
        let other = std::env::var("LESSON_CONTROLLER").ok();
        let spec = lesson_spec(def, other.as_deref(), None);
        let mut run = registry::build(def.name, &spec).unwrap_or_else(|e| panic!("{}: {e}", def.name));
        let mut last_row: Option<Vec<f64>> = None;
        for (n, step) in def.lesson.iter().enumerate() {
            let summary = summary_at(run.as_mut(), from_secs_f64(step.at_s), &mut last_row);
            let text = (step.numbers)(&summary);
            let newest = summary.get("now").cloned().unwrap_or_default();
            if std::env::var_os("LESSON_PRINT").is_some() {
                println!("{} {} @{}: {}\n    {text}", def.name, n + 1, step.at_s, step.title);
            }
            let at = format!("{} step {} ({}) at {} s: {text:?}", def.name, n + 1, step.title, step.at_s);
            for bad in BROKEN {
                assert!(!text.contains(bad), "{at} contains {bad:?}");
            }
            for word in text.split(|c: char| c.is_whitespace() || ",;:()".contains(c)) {
                assert!(!BROKEN_WORDS.contains(&word), "{at} prints {word:?}");
            }
            assert!(!text.trim_end().ends_with(':') && !text.contains(": ;"), "{at}: a blank value");
            assert!(!text.trim().is_empty(), "{at}: no numbers");
            refuse_jargon(&at, &text);
            let keys: Vec<&str> = def.keys.iter().map(|k| k.key).collect();
            assert!(names_a_key(&text, &keys).is_none(), "{at} names a setting key");
            check_holds(&at, &text, &newest);
            check_cites(&at, &text, &newest);
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

/// The run the page makes of `def`'s lesson: its settings plus `extra`, under `controller` or the lesson's own,
/// seed 1, a row every half second.
fn lesson_spec(def: &ScenarioDef, controller: Option<&str>, extra: Option<(&str, &str)>) -> RunSpec {
    let mut sets: Vec<(String, String)> = def.lesson_sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    if let Some((k, v)) = extra {
        sets.push((k.to_string(), v.to_string()));
    }
    let controller = controller.or(def.lesson_controller).unwrap_or("static");
    let controller = if def.takes_controller { controller } else { "" };
    RunSpec { controller: controller.into(), sets, seed: 1, time_step_s: Some(0.5), ..RunSpec::default() }
}

/// Runs `run` on to `at` and returns what a card reads there, as the page does: the summary with the newest row
/// joined, kept in `last_row` for a later call that finds no new row.
fn summary_at(run: &mut dyn Run, at: SimTime, last_row: &mut Option<Vec<f64>>) -> Map<String, Value> {
    run.run_until(at, u64::MAX);
    if let Some(row) = run.drain_rows().pop() {
        *last_row = Some(row);
    }
    let mut summary = run.summary();
    if let Some(row) = last_row {
        with_row(&mut summary, &run.columns(), row);
    }
    summary
}

/// The card's numbers of `step` of `def`'s lesson, in a run of the lesson's settings plus `extra`, read at the
/// step's time as the page reads them.
fn card_numbers(def: &ScenarioDef, step: &LessonStep, extra: Option<(&str, &str)>) -> String {
    let spec = lesson_spec(def, None, extra);
    let mut run = registry::build(def.name, &spec).unwrap_or_else(|e| panic!("{} {:?}: {e}", def.name, extra));
    (step.numbers)(&summary_at(run.as_mut(), from_secs_f64(step.at_s), &mut None))
}

#[test]
fn every_button_that_replays_the_run_changes_the_cards_numbers() {
    use loadlab::engine::scenario::Act;
    // A button that sets a key replays the run with it; the card beside it must show what that changed, or the
    // reader cannot see what the button did (the review's "buttons do not change the card's numbers").
    for def in registry::all() {
        for step in def.lesson {
            for a in step.actions {
                let Act::Set(key, value) = a.act else { continue };
                let before = card_numbers(def, step, None);
                let after = card_numbers(def, step, Some((key, value)));
                assert_ne!(
                    before, after,
                    "{} '{}': the button '{}' leaves the card's numbers as they were",
                    def.name, step.title, a.label
                );
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
    let summary = summary_at(run.as_mut(), end, &mut None);
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

#[test]
fn every_setting_of_every_scenario_has_exactly_one_group_on_the_page() {
    use loadlab::engine::keys::KeyKind;
    for def in registry::all() {
        let shown = def
            .keys
            .iter()
            .filter(|k| k.applies_to(def.name) && !k.key.starts_with('<') && !matches!(k.kind, KeyKind::FaultSpec));
        for key in shown {
            let homes = def.key_groups.iter().filter(|(_, keys)| keys.contains(&key.key)).count();
            assert_eq!(homes, 1, "{}: {} is in {homes} groups", def.name, key.key);
        }
        for (title, keys) in def.key_groups {
            for k in *keys {
                assert!(def.keys.iter().any(|i| i.key == *k), "{}: group {title} names no key {k}", def.name);
            }
        }
        for w in def.key_warnings {
            assert!(def.keys.iter().any(|i| i.key == w.key), "{}: a warning for no key {}", def.name, w.key);
        }
    }
}

#[test]
fn the_page_tells_healing_verbs_from_breaking_ones_by_each_models_table() {
    use loadlab::engine::commands::heals;
    // (scenario, verbs that heal, verbs that break): what each verb does to its target, by its meaning.
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "slow",
            &["recover", "repool", "unpin", "controller-on"],
            &["crash", "slow", "depool", "pin", "controller-off", "surge"],
        ),
        ("koha-memcached-blackhole", &["recover", "restore-server"], &["power-off", "drop-server"]),
        (
            "percona-desync",
            &["desync-off", "unlock", "restart-all", "bootstrap", "bulk-stop"],
            &["desync-on", "ftwrl", "crash-all", "write-rate"],
        ),
    ];
    for (name, healing, breaking) in cases {
        let run = registry::build(name, &RunSpec { seed: 1, duration_s: Some(60.0), ..RunSpec::default() }).unwrap();
        let table = run.command_table();
        for v in *healing {
            assert!(heals(table, v), "{name}: {v} heals");
        }
        for v in *breaking {
            assert!(!heals(table, v), "{name}: {v} does not heal");
        }
    }
}

/// Where `text` names one of `keys` as a setting: a key with an underscore as a whole word (`keepalive_idle_s`),
/// or any key followed by `=` (`workers=8`). Plain-English keys on their own (`workers`) are fine.
fn names_a_key(text: &str, keys: &[&str]) -> Option<String> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for key in keys {
        let key = key.rsplit('.').next().unwrap_or(key);
        if key.is_empty() {
            continue;
        }
        for (at, _) in text.match_indices(key) {
            let before = text[..at].chars().next_back();
            let after = text[at + key.len()..].chars().next();
            if before.is_some_and(is_word) || after.is_some_and(is_word) {
                continue;
            }
            if key.contains('_') || after == Some('=') {
                return Some(key.to_string());
            }
        }
    }
    None
}

#[test]
fn the_setting_key_check_catches_what_it_should() {
    let keys = ["keepalive_idle_s", "workers", "trx_commit", "server.slow_factor"];
    assert!(names_a_key("set keepalive_idle_s to 600", &keys).is_some());
    assert!(names_a_key("with trx_commit=1", &keys).is_some());
    assert!(names_a_key("workers=8 per host", &keys).is_some());
    assert!(names_a_key("db1119.slow_factor 10", &keys).is_some());
    assert!(names_a_key("each host has 8 workers", &keys).is_none());
    assert!(names_a_key("innodb_flush_log_at_trx_commit_x", &keys).is_none());
}

#[test]
fn summaries_lesson_and_story_texts_name_no_setting_keys() {
    let mut found = Vec::new();
    for def in registry::all() {
        let mut keys: Vec<&str> = def.keys.iter().map(|k| k.key).collect();
        if def.takes_controller {
            // A controller's parameters are settings too (`lag_times=1`); plain words like `target` are not.
            let params = loadlab::controller::controllers().iter().flat_map(|c| c.params.iter().map(|p| p.key));
            keys.extend(params.filter(|k| k.contains('_')));
        }
        let st = def.story;
        let mut texts: Vec<(String, &str)> = vec![
            ("summary".into(), def.summary),
            ("story title".into(), st.title),
            ("story headline".into(), st.headline),
            ("story brief".into(), st.brief),
            ("story incident".into(), st.incident),
            ("story watch".into(), st.watch),
            ("story try_this".into(), st.try_this),
        ];
        for step in def.lesson {
            texts.push((format!("step '{}'", step.title), step.title));
            texts.push((format!("step '{}'", step.title), step.text));
            for a in step.actions {
                texts.push((format!("step '{}' button", step.title), a.label));
            }
        }
        for c in def.challenges {
            texts.push(("challenge goal".into(), c.goal));
            texts.push(("challenge hint".into(), c.hint));
        }
        for (controller, note) in def.controller_notes {
            texts.push((format!("note on {controller}"), note));
        }
        for (at, text) in texts {
            if let Some(key) = names_a_key(text, &keys) {
                found.push(format!("{} {at} names {key:?}: {text:?}", def.name));
            }
        }
    }
    // The controllers' one-line summaries, as `loadlab list` prints them, name none of the section's keys either.
    let section = registry::find("slow").unwrap();
    let mut keys: Vec<&str> = section.keys.iter().map(|k| k.key).collect();
    keys.extend(
        loadlab::controller::controllers()
            .iter()
            .flat_map(|c| c.params.iter().map(|p| p.key))
            .filter(|k| k.contains('_')),
    );
    for c in loadlab::controller::controllers() {
        if let Some(key) = names_a_key(c.summary, &keys) {
            found.push(format!("controller {} summary names {key:?}: {:?}", c.name, c.summary));
        }
    }
    assert!(found.is_empty(), "{} texts name setting keys:\n{}", found.len(), found.join("\n"));
}

/// The full-crash lesson's first bootstrap button, pressed where its step pauses, brings the cluster back: no
/// commits while every node is down, commits again once one node is bootstrapped and the others rejoin.
#[test]
fn the_full_crash_lessons_restart_button_brings_the_cluster_back() {
    use loadlab::engine::scenario::Act;
    let def = registry::find("galera-full-crash").unwrap();
    let step = def.lesson.last().unwrap();
    let restart = step.actions.iter().find_map(|a| match a.act {
        Act::Command(text) => Some(text),
        _ => None,
    });
    let restart = restart.expect("the last step offers a command that restarts the cluster");
    let mut run = registry::build(def.name, &RunSpec { seed: 1, ..RunSpec::default() }).unwrap();
    let end = run.duration();
    assert!(step.at_s < loadlab::time::as_secs_f64(end), "the button is pressed before the run ends");
    let committed = |run: &mut Box<dyn loadlab::engine::run::Run>| {
        let columns = run.columns();
        let at = columns.iter().position(|c| c.name == "committed_per_s").unwrap();
        run.drain_rows().pop().unwrap()[at]
    };
    run.run_until(from_secs_f64(step.at_s), u64::MAX);
    assert_eq!(committed(&mut run), 0.0, "every node is down after the power cut");
    run.apply_text(restart).unwrap();
    run.run_until(end, u64::MAX);
    assert!(committed(&mut run) > 0.0, "the writer commits again after the restart");
    // The headline names who bootstraps and how each other node rejoins, in words, never a raw list.
    let summary = run.summary();
    let numbers = (step.numbers)(&summary);
    assert!(numbers.contains("bootstrapping node") && numbers.contains("IST"), "{numbers}");
    assert!(!numbers.contains('[') && !numbers.contains('"'), "{numbers}");
}

/// Each of the full-crash lesson's "Bootstrap nodeN" buttons, pressed where its step pauses, loses what that
/// node had not applied: the highest recovered position less the chosen node's, read from this run's positions
/// (so bootstrapping the highest loses nothing more than the power cut took); the nodes ahead of it, and only
/// they, are wiped for a full copy (SST), and the step's numbers say the same.
#[test]
fn each_bootstrap_button_loses_what_the_chosen_node_had_not_applied() {
    use loadlab::engine::scenario::Act;
    let def = registry::find("galera-full-crash").unwrap();
    let step = def.lesson.iter().find(|s| s.title == "Which node to bootstrap").expect("a bootstrap step");
    let commands: Vec<&str> = step
        .actions
        .iter()
        .filter_map(|a| match a.act {
            Act::Command(text) if a.label.starts_with("Bootstrap node") => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(commands, ["bootstrap:node1", "bootstrap:node2", "bootstrap:node3"]);
    for seed in [1, 2, 7] {
        let mut total_at_best = None;
        for (chosen, command) in commands.iter().enumerate() {
            let mut run = registry::build(def.name, &RunSpec { seed, ..RunSpec::default() }).unwrap();
            run.run_until(from_secs_f64(step.at_s), u64::MAX);
            let before = run.summary();
            let h = &before["headline"];
            // Each node's position as read back from its log: its position before the crash less what it lost.
            let positions: Vec<u64> =
                h["recovered_positions"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
            let lost: Vec<u64> =
                h["lost_trx_per_node"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
            assert_eq!(positions.len(), 3, "seed={seed}");
            assert!(
                lost.iter().any(|l| *l > 0),
                "a power cut with the log flushed once a second loses commits; seed={seed}"
            );
            let highest = *positions.iter().max().unwrap();
            let by_choice = highest - positions[chosen];
            // The step's words before the choice give each choice's loss from the same positions.
            let numbers = (step.numbers)(&before);
            let expect = if by_choice == 0 {
                format!("node{} loses nothing more", chosen + 1)
            } else {
                format!("node{} loses {} more", chosen + 1, loadlab::engine::picture::human(by_choice as f64, 0))
            };
            assert!(numbers.contains(&expect), "seed={seed}: {expect:?} not in {numbers}");

            run.apply_text(command).unwrap();
            run.run_until(from_secs_f64(step.at_s + 5.0), u64::MAX);
            let after = run.summary();
            let h = &after["headline"];
            assert_eq!(h["bootstrap_node"], format!("node{}", chosen + 1), "seed={seed}");
            assert_eq!(h["lost_by_choice"].as_u64(), Some(by_choice), "seed={seed} {command}");
            let total = h["lost_after_bootstrap"].as_u64().unwrap();
            // The total differs from the best choice's by exactly what this choice loses beyond it.
            let best_total = *total_at_best.get_or_insert(total - by_choice);
            assert_eq!(total, best_total + by_choice, "seed={seed} {command}");
            let ahead: Vec<String> =
                (0..3).filter(|&j| positions[j] > positions[chosen]).map(|j| format!("node{}", j + 1)).collect();
            let sst: Vec<String> =
                h["sst_nodes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
            assert_eq!(sst, ahead, "seed={seed} {command}: the nodes ahead of the chosen one need a full copy");
            // A second choice once the cluster runs again is refused in words, and changes nothing.
            let other = commands[(chosen + 1) % 3];
            let err = run.apply_text(other).unwrap_err();
            assert!(err.contains("already restarted"), "{err}");
            assert_eq!(run.summary()["headline"]["bootstrap_node"], format!("node{}", chosen + 1));
        }
    }
}

/// The glossary shown beside a scenario is its own model's: every term it defines is a word that model's own
/// texts use (its story, lesson, challenges, settings, charts, picture, commands, and for a balanced model the
/// controllers), so no model's page carries another's words (MediaWiki's PHP-FPM and db1118 on Sahana's page, as
/// the page once did). A term written as alternatives ("p50 / p99") counts when one of them is used.
#[test]
fn each_glossary_holds_only_its_own_models_words() {
    let mut stray = Vec::new();
    for def in registry::all() {
        let mut texts: Vec<String> = Vec::new();
        for sibling in registry::all().filter(|d| d.model == def.model) {
            let st = sibling.story;
            texts.extend([st.title, st.headline, st.brief, st.incident, st.watch, st.try_this].map(String::from));
            texts.extend(sibling.lesson.iter().flat_map(|s| [s.title.to_string(), s.text.to_string()]));
            texts.extend(sibling.challenges.iter().flat_map(|c| [c.goal.to_string(), c.hint.to_string()]));
            texts.extend(sibling.keys.iter().map(|k| k.help.to_string()));
            let controller = if sibling.takes_controller { "static" } else { "" };
            let spec = RunSpec { controller: controller.into(), seed: 1, ..RunSpec::default() };
            let run = registry::build(sibling.name, &spec).unwrap();
            texts.extend(run.charts().iter().flat_map(|c| [c.title.to_string(), c.hint.to_string()]));
            texts.extend(run.command_table().iter().flat_map(|c| [c.verb.to_string(), c.help.to_string()]));
            if let Some(p) = run.picture() {
                texts.push(p.caption.to_string());
                texts.extend(p.groups.iter().map(|g| g.help.to_string()));
                texts.extend(p.groups.iter().flat_map(|g| g.lines.iter().map(|l| l.label.to_string())));
            }
            texts.extend(sibling.controller_notes.iter().map(|(_, note)| note.to_string()));
            if sibling.takes_controller {
                for c in loadlab::controller::controllers() {
                    texts.push(c.summary.to_string());
                    texts.extend(c.params.iter().map(|p| p.help.to_string()));
                }
            }
        }
        let all = texts.join("\n").to_lowercase();
        for (term, _) in def.glossary {
            if !term.to_lowercase().split(" / ").any(|t| all.contains(t)) {
                stray.push(format!("{} ({}): {term:?}", def.name, def.model));
            }
        }
    }
    assert!(stray.is_empty(), "glossary terms none of their model's texts use:\n{}", stray.join("\n"));
}

/// Every chart of every scenario draws at most six series in their own styles: a chart with more says in its
/// table that it greys all but the faulty targets (the section's twelve servers), or draws at most four targets
/// in their own colours with two measures told apart by line pattern (Sahana's share and its theory per worker);
/// a chart that once held more (Koha's cache, the hyperconverged load) is split into small multiples in its table.
/// No series is named twice.
#[test]
fn no_chart_draws_more_than_six_series_in_their_own_styles() {
    use loadlab::engine::schema::{Crowd, CROWD_MAX_SERIES};
    let mut crowded = Vec::new();
    for def in registry::all() {
        let controller = if def.takes_controller { "static" } else { "" };
        let spec = RunSpec { controller: controller.into(), seed: 1, ..RunSpec::default() };
        let run = registry::build(def.name, &spec).unwrap();
        let columns = run.columns().to_vec();
        // The page draws a series of a target (a server, a worker) in the target's colour, any other in its own.
        let targets: Vec<String> =
            run.command_table().iter().find_map(|c| c.target).map(|k| run.target_names(k)).unwrap_or_default();
        for c in run.charts() {
            let series = c.series(&columns);
            let names: Vec<String> = series
                .iter()
                .map(|(col, label)| if c.columns.len() > 1 { columns[*col].name.clone() } else { label.clone() })
                .collect();
            let mut unique = names.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{} chart {}: a series named twice: {names:?}", def.name, c.id);
            let colours = {
                let mut labels: Vec<&String> = series.iter().map(|(_, label)| label).collect();
                labels.sort();
                labels.dedup();
                labels.len()
            };
            let targets_in_pairs =
                series.iter().all(|(_, label)| targets.contains(label)) && colours <= 4 && c.columns.len() <= 2;
            if series.len() > CROWD_MAX_SERIES && c.crowd != Crowd::FaultyOverGrey && !targets_in_pairs {
                crowded.push(format!("{} chart {}: {} series", def.name, c.id, series.len()));
            }
        }
    }
    assert!(
        crowded.is_empty(),
        "charts past {CROWD_MAX_SERIES} series with nothing to keep them readable:\n{}",
        crowded.join("\n")
    );
}

/// The words a newcomer's read-through found unexplained (issue 20), and the section's formulas: wherever a
/// scenario's story, lesson, challenges or controller notes use one as a whole word, that scenario's own
/// glossary defines it, so the page can link it.
const ASKED_ABOUT: &[&str] = &[
    "PHP-FPM",
    "SQL thread",
    "M/M/c",
    "Starman",
    "RST",
    "FTWRL",
    "RTO",
    "Little's law",
    "Erlang C",
    "IST",
    "SST",
    "grastate.dat",
    "keepalive",
    "CRC32",
    "ketama",
];

/// True when `text` holds `word` with no letter, digit or underscore on either side.
fn uses_word(text: &str, word: &str) -> bool {
    let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '_');
    text.match_indices(word)
        .any(|(i, _)| edge(text[..i].chars().next_back()) && edge(text[i + word.len()..].chars().next()))
}

#[test]
fn every_word_a_newcomer_asked_about_is_in_the_glossary_of_the_scenario_that_uses_it() {
    assert!(uses_word("answers RST at once", "RST") && !uses_word("FIRST", "RST") && !uses_word("RSTs", "RST"));
    let mut missing = Vec::new();
    let mut used = 0;
    for def in registry::all() {
        let st = def.story;
        let mut texts: Vec<&str> = vec![st.title, st.headline, st.brief, st.incident, st.watch, st.try_this];
        texts.extend(def.lesson.iter().flat_map(|s| [s.title, s.text]));
        texts.extend(def.challenges.iter().flat_map(|c| [c.goal, c.hint]));
        texts.extend(def.controller_notes.iter().map(|(_, note)| *note));
        for word in ASKED_ABOUT {
            if !texts.iter().any(|t| uses_word(t, word)) {
                continue;
            }
            used += 1;
            if !def.glossary.iter().any(|(term, _)| term.split(" / ").any(|t| t == *word)) {
                missing.push(format!("{} uses {word:?}", def.name));
            }
        }
    }
    // The words do appear (the section's PHP-FPM and M/M/c, Koha's Starman and RST, Sahana's RTO, …).
    assert!(used >= 8, "only {used} uses of the words asked about");
    assert!(missing.is_empty(), "words with no glossary entry on their page:\n{}", missing.join("\n"));
}

/// Every chart names each of its lines in plain words for its legend, one label per column pattern: no column
/// name (`committed_per_s_1m`, `mc1.timeouts`), no underscore, and no two patterns of one chart alike.
#[test]
fn every_chart_names_its_lines_in_plain_words() {
    let mut bad = Vec::new();
    for def in registry::all() {
        let controller = if def.takes_controller { "static" } else { "" };
        let spec = RunSpec { controller: controller.into(), seed: 1, ..RunSpec::default() };
        let run = registry::build(def.name, &spec).unwrap();
        for c in run.charts() {
            if c.labels.len() != c.columns.len() {
                bad.push(format!(
                    "{} chart {}: {} labels for {} columns",
                    def.name,
                    c.id,
                    c.labels.len(),
                    c.columns.len()
                ));
                continue;
            }
            for (pattern, label) in c.columns.iter().zip(c.labels) {
                // A plain word may equal its column's name ("rejected"); a name with _ or . never reads plainly.
                if label.is_empty() || label.contains('_') || label.contains('.') {
                    bad.push(format!("{} chart {}: {pattern} is labelled {label:?}", def.name, c.id));
                }
            }
            let mut labels: Vec<&str> = c.labels.to_vec();
            labels.sort_unstable();
            labels.dedup();
            let per_target_pairs = c.columns.iter().all(|p| !p.starts_with('.')) && labels.len() * 3 == c.labels.len();
            if labels.len() != c.labels.len() && !per_target_pairs {
                bad.push(format!("{} chart {}: two lines share a label: {:?}", def.name, c.id, c.labels));
            }
        }
    }
    assert!(bad.is_empty(), "charts whose legends would show raw names:\n{}", bad.join("\n"));
}
