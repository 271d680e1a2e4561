//! The controls a lesson step is about, derived from its "try it" actions: the key a step sets, and the main
//! parameters of a controller it runs or compares with (pid's gains, conn-p's S and E). The page puts them on
//! the lesson card, beside the chart, with the same widgets the settings panel uses. Pure and native-testable;
//! the lesson tables stay as they are (nothing here is declared twice).

use crate::controller::{controllers, ParamInfo};
use crate::engine::keys::{KeyInfo, KeyKind};
use crate::engine::scenario::{Act, LessonStep, ScenarioDef};

/// Most controls on a lesson card: a step is about one to three things.
pub const MAX_CONTROLS: usize = 3;

/// One control of a lesson card.
#[derive(Clone, Copy, Debug)]
pub enum Control {
    /// A scenario key, drawn as the settings panel draws it (slider, count box or select).
    Key(&'static KeyInfo),
    /// A controller's parameter (the controller's name, the parameter), drawn as the controller's parameter
    /// slider under the controller's name, so a reader running another controller knows whose it is.
    Param(&'static str, &'static ParamInfo),
}

impl Control {
    /// The `--set` key it changes.
    pub fn key(&self) -> &'static str {
        match self {
            Control::Key(k) => k.key,
            Control::Param(_, p) => p.key,
        }
    }

    /// What the card calls it: the key's or parameter's plain-words label, never the key.
    pub fn label(&self) -> &'static str {
        match self {
            Control::Key(k) => k.label,
            Control::Param(_, p) => p.label,
        }
    }
}

impl PartialEq for Control {
    fn eq(&self, other: &Control) -> bool {
        matches!((self, other), (Control::Key(_), Control::Key(_)) | (Control::Param(..), Control::Param(..)))
            && self.key() == other.key()
    }
}

/// What the page calls the setting `key` of `def` in plain words: its scenario key's label, else the label of
/// the parameter of the first of the `running` controllers that has it, else of any controller's (`None` for no
/// setting). Notices about a refused value name the setting by this, as its control does.
pub fn label_of(def: &ScenarioDef, running: &[&str], key: &str) -> Option<&'static str> {
    if let Some(k) = def.keys.iter().find(|k| k.key == key && k.applies_to(def.name)) {
        return Some(k.label);
    }
    let all = controllers().iter().flat_map(|c| c.params.iter().map(move |p| (c.name, p)));
    let own = running.iter().find_map(|name| all.clone().find(|(c, p)| c == name && p.key == key));
    own.or_else(|| all.clone().find(|(_, p)| p.key == key)).map(|(_, p)| p.label)
}

/// The scenario key `key` as a control: one that applies to `def` and has a widget (not a scheduled step).
fn key_control(def: &ScenarioDef, key: &str) -> Option<Control> {
    def.keys
        .iter()
        .find(|k| k.key == key && k.applies_to(def.name) && !matches!(k.kind, KeyKind::FaultSpec))
        .map(Control::Key)
}

/// The controller parameter `key` as a control (a parameter two controllers share is one control).
fn param_control(key: &str) -> Option<Control> {
    controllers()
        .iter()
        .flat_map(|c| c.params.iter().map(move |p| (c.name, p)))
        .find(|(_, p)| p.key == key)
        .map(|(c, p)| Control::Param(c, p))
}

/// The controls `step` is about, each once, at most [`MAX_CONTROLS`]: a set key's control (a scenario key, or a
/// controller parameter), and the main parameters of a controller it runs or compares with. When there are more,
/// every action keeps its first control before any keeps a second; they are listed in the order of the actions.
/// A step with no actions, or only commands, has none; a controller with no parameters (static) adds none.
pub fn step_controls(def: &ScenarioDef, step: &LessonStep) -> Vec<Control> {
    // Each action's controls, without any an earlier action already brought.
    let mut groups: Vec<Vec<Control>> = Vec::new();
    for action in step.actions {
        let found: Vec<Control> = match action.act {
            Act::Set(key, _) => key_control(def, key).or_else(|| param_control(key)).into_iter().collect(),
            // The controller's own parameter: two controllers may share a key with different defaults
            // (mw-legacy's state_ttl_s is 1 s, mw-loadmonitor's 10 s).
            Act::Controller(c) | Act::CompareWith(c) => controllers()
                .iter()
                .filter(|info| info.name == c)
                .flat_map(|info| {
                    info.main_params
                        .iter()
                        .filter_map(|k| info.params.iter().find(|p| p.key == *k))
                        .map(|p| Control::Param(info.name, p))
                })
                .collect(),
            Act::Command(_) => Vec::new(),
        };
        let mut group = Vec::new();
        for control in found {
            if !groups.iter().flatten().chain(&group).any(|c: &Control| c.key() == control.key()) {
                group.push(control);
            }
        }
        groups.push(group);
    }
    // Take the first of every group, then the second of every group, … up to the bound.
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let deepest = groups.iter().map(Vec::len).max().unwrap_or(0);
    for depth in 0..deepest {
        for (g, group) in groups.iter().enumerate() {
            if depth < group.len() && taken.len() < MAX_CONTROLS {
                taken.push((g, depth));
            }
        }
    }
    taken.sort_unstable();
    taken.into_iter().map(|(g, i)| groups[g][i]).collect()
}
