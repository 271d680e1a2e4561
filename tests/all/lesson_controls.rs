//! The lesson card's controls, derived from a step's actions (`loadlab::lesson_controls`): a set key's own
//! control, the main parameters of a controller the step runs or compares with, each once, at most three.

use loadlab::controller::{controller_info, controllers};
use loadlab::engine::scenario::{Act, LessonAction, LessonStep};
use loadlab::lesson_controls::{step_controls, Control, MAX_CONTROLS};
use loadlab::registry;

/// A step that does `acts`, and nothing else that matters here.
fn step(acts: &'static [LessonAction]) -> LessonStep {
    LessonStep {
        title: "t",
        at_s: 1.0,
        text: "",
        chart: "conns",
        view: loadlab::engine::scenario::View::Whole,
        numbers: |_| String::new(),
        actions: acts,
    }
}

fn keys(scenario: &str, acts: &'static [LessonAction]) -> Vec<(&'static str, bool)> {
    let def = registry::find(scenario).unwrap();
    step_controls(def, &step(acts)).iter().map(|c| (c.key(), matches!(c, Control::Key(_)))).collect()
}

/// A button doing `$act` (a literal, so the list of them is `'static`).
macro_rules! act {
    ($act:expr) => {
        LessonAction { label: "x", act: $act }
    };
}

#[test]
fn a_set_key_is_its_own_scenario_key_control() {
    assert_eq!(keys("slow", &[act!(Act::Set("slow_factor", "10"))]), vec![("slow_factor", true)]);
    // A controller parameter set by a step is that parameter's slider.
    assert_eq!(keys("slow", &[act!(Act::Set("kp", "0.05"))]), vec![("kp", false)]);
}

#[test]
fn a_controller_brings_its_main_parameters() {
    let pid: Vec<(&str, bool)> = controller_info("pid").unwrap().main_params.iter().map(|k| (*k, false)).collect();
    assert_eq!(pid, vec![("kp", false), ("ki", false)]);
    assert_eq!(keys("slow", &[act!(Act::CompareWith("pid"))]), pid);
    assert_eq!(keys("slow", &[act!(Act::Controller("pid"))]), pid);
    // static has no parameters, so a step that runs it shows none.
    assert_eq!(keys("slow", &[act!(Act::Controller("static"))]), vec![]);
}

#[test]
fn a_controllers_parameter_is_its_own_where_two_share_a_key() {
    // mw-legacy and mw-loadmonitor both have state_ttl_s, with different defaults: a step that compares with
    // mw-loadmonitor shows mw-loadmonitor's.
    let own = |c: &str| controller_info(c).unwrap().params.iter().find(|p| p.key == "state_ttl_s").unwrap().default;
    assert_ne!(own("mw-legacy"), own("mw-loadmonitor"));
    let def = registry::find("slow").unwrap();
    let controls = step_controls(def, &step(&[act!(Act::CompareWith("mw-loadmonitor"))]));
    let Some(Control::Param(_, p)) = controls.iter().find(|c| c.key() == "state_ttl_s") else { panic!("{controls:?}") };
    assert_eq!(p.default, own("mw-loadmonitor"));
}

#[test]
fn no_actions_or_only_commands_give_no_controls() {
    assert_eq!(keys("slow", &[]), vec![]);
    assert_eq!(keys("plain-s1", &[act!(Act::Command("surge:2"))]), vec![]);
}

#[test]
fn each_control_once_and_at_most_three_with_every_action_represented() {
    // kp is set and pid's main parameters include it: kp once, then ki.
    assert_eq!(
        keys("slow", &[act!(Act::Set("kp", "0.05")), act!(Act::CompareWith("pid"))]),
        vec![("kp", false), ("ki", false)]
    );
    // conn-p's two and pid's two are four: the first three in the actions' order.
    let four = keys("slow", &[act!(Act::Controller("conn-p")), act!(Act::CompareWith("pid"))]);
    assert_eq!(four.len(), MAX_CONTROLS);
    let conn_p = controller_info("conn-p").unwrap().main_params;
    assert_eq!(&four[..2], &[(conn_p[0], false), (conn_p[1], false)]);
    assert_eq!(four[2], ("kp", false));
    // A set key and two controllers: every action keeps its first control before any keeps a second.
    let three = keys(
        "slow",
        &[act!(Act::Set("slow_factor", "10")), act!(Act::Controller("conn-p")), act!(Act::CompareWith("pid"))],
    );
    assert_eq!(three, vec![("slow_factor", true), (conn_p[0], false), ("kp", false)]);
}

#[test]
fn every_controllers_main_parameters_are_its_own() {
    for c in controllers() {
        assert!(c.main_params.len() <= 2, "{}: {:?}", c.name, c.main_params);
        assert_eq!(
            c.main_params.is_empty(),
            c.params.is_empty(),
            "{}: a tunable controller names its main parameters",
            c.name
        );
        for k in c.main_params {
            assert!(c.params.iter().any(|p| p.key == *k), "{}: {k} is not one of its parameters", c.name);
        }
    }
}

#[test]
fn every_lesson_steps_set_keys_are_on_its_card() {
    for def in registry::all() {
        for s in def.lesson {
            let controls = step_controls(def, s);
            assert!(controls.len() <= MAX_CONTROLS, "{} '{}'", def.name, s.title);
            assert_eq!(
                controls.is_empty(),
                s.actions.iter().all(|a| match a.act {
                    Act::Controller(c) | Act::CompareWith(c) => controller_info(c).unwrap().main_params.is_empty(),
                    Act::Set(..) => false,
                    Act::Command(_) => true,
                }),
                "{} '{}'",
                def.name,
                s.title
            );
            // A step's first set key is always there (the later ones unless three came before them).
            if let Some(key) = s.actions.iter().find_map(|a| if let Act::Set(k, _) = a.act { Some(k) } else { None }) {
                let first_set = s.actions.iter().position(|a| matches!(a.act, Act::Set(..))).unwrap();
                if first_set == 0 {
                    assert_eq!(controls[0].key(), key, "{} '{}'", def.name, s.title);
                } else {
                    assert!(
                        controls.iter().any(|c| c.key() == key) || controls.len() == MAX_CONTROLS,
                        "{} '{}'",
                        def.name,
                        s.title
                    );
                }
            }
        }
    }
}

#[test]
fn every_lesson_control_is_named_by_its_plain_label_not_its_key() {
    // The card draws each control under `Control::label` (the settings panel's words), so a reader sees
    // "App workers per host", not `workers`; the key waits under the control's technical details.
    let mut seen = 0;
    for def in registry::all() {
        for step in def.lesson {
            for c in step_controls(def, step) {
                seen += 1;
                let (key, label) = (c.key(), c.label());
                assert_ne!(label, key, "{} step '{}': {key} is labelled by its key", def.name, step.title);
                assert!(
                    !label.contains(['_', '.']) && label.starts_with(|ch: char| ch.is_uppercase()),
                    "{} step '{}': {key}'s label {label:?} is not plain words",
                    def.name,
                    step.title
                );
            }
        }
    }
    // The lessons do carry controls (the section's pid and conn-p steps, mmc's utilization, …).
    assert!(seen >= 5, "only {seen} lesson controls in all");
}
