//! The page's state and its reducer: the only place the page's settings change.
//!
//! The state is the whole page as a URL ([`UrlState`]: scenario, controllers, seed, speed, embed and every
//! `--set` pair, including the live commands recorded as steps) plus what is not shared: playing or paused, a
//! generation counter, and the notices for the reader. Every change is validated by writing the URL state and
//! parsing it back with `urlstate::parse_query`, so the page can never hold a state that a shared link would not
//! reproduce; what the parser drops becomes a visible notice. The simulations are not here: they belong to the
//! [`Engine`](super::runner::Engine), rebuilt whenever `generation` changes.

use std::rc::Rc;

use yew::Reducible;

use crate::controller::controller_info;
use crate::scenario::scenario_info;
use crate::urlstate::{parse_query, set_param, to_query, UrlState, MAX_PARAMS, SPEED_MAX, SPEED_MIN};

/// Simulated seconds per wall-clock second the speed picker offers (a URL may ask for any speed in range).
pub const SPEEDS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0];

/// Most `--set` pairs a state holds, so its URL stays within what `parse_query` reads (the top-level keys take
/// the rest of `MAX_PARAMS`).
pub const SETS_MAX: usize = MAX_PARAMS - 8;

/// Longest piece of rejected input quoted back in a notice, in characters; the rest is cut with an ellipsis.
const QUOTE_CHARS_MAX: usize = 40;

/// Everything the page's controls decide.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// What a shared link reproduces.
    pub url: UrlState,
    /// False while paused.
    pub playing: bool,
    /// Bumped by every change that needs a fresh run from time zero (scenario, controller, parameter, seed,
    /// restart); live commands do not bump it.
    pub generation: u32,
    /// What the reader should know: ignored parts of the URL, rejected input, a run that could not start.
    pub notices: Vec<String>,
}

/// Something the reader (or the URL, or the simulation host) asks of the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Switch to the scenario with this name; its scenario keys and steps are dropped.
    PickScenario(String),
    /// Switch controller A to this one; parameters of the old one are dropped.
    PickController(String),
    /// Compare with this controller side by side ("" ends the comparison).
    PickControllerB(String),
    /// Set a `--set` key (a controller parameter or a scenario key like `rate_scale`) and restart the run.
    SetParam(String, String),
    /// Restart with the seed written in this text (a whole number from 0 to 2^64 − 1).
    SetSeed(String),
    /// Run at the speed written in this text.
    SetSpeed(String),
    /// Pause if playing, play if paused.
    TogglePlay,
    /// Pause (the step button).
    Pause,
    /// Start the current run again from time zero.
    Restart,
    /// A live command ran at the current time: record it as a step (`fault`, `operator` or `surge`) so the URL
    /// reproduces it. Does not restart.
    Record(String, String),
    /// Something the reader did could not be done: say why.
    Reject(String),
    /// The simulation could not go on (a config the core rejected): pause and say why.
    Halt(String),
    /// Hide the notices.
    DismissNotice,
}

impl Default for State {
    fn default() -> State {
        State { url: UrlState::default(), playing: true, generation: 0, notices: Vec::new() }
    }
}

/// Quotes reader-supplied text for a notice, cut to a readable length.
fn quote(raw: &str) -> String {
    let mut chars = raw.chars();
    let head: String = chars.by_ref().take(QUOTE_CHARS_MAX).collect();
    if chars.next().is_some() {
        format!("'{head}…'")
    } else {
        format!("'{head}'")
    }
}

/// True if `key` is a parameter of the controller named `controller`.
fn is_param_of(controller: &str, key: &str) -> bool {
    controller_info(controller).is_some_and(|i| i.params.iter().any(|p| p.key == key))
}

impl State {
    /// The state a page starts in for a query string (`location.search`); what it ignores becomes notices.
    pub fn from_query(query: &str) -> State {
        let parsed = parse_query(query);
        let notices = if parsed.ignored.is_empty() {
            Vec::new()
        } else {
            vec![format!("Parts of the page address were ignored: {}.", parsed.ignored.join("; "))]
        };
        State { url: parsed.state, notices, ..State::default() }
    }

    /// The query string (without `?`) that reproduces this state.
    pub fn to_query(&self) -> String {
        to_query(&self.url)
    }

    /// The current value of a `--set` key, if the state sets it.
    pub fn set_value(&self, key: &str) -> Option<&str> {
        self.url.sets.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Validates `url` by a round trip through the URL format; on success it becomes the state, otherwise the
    /// state stays and the reasons become a notice.
    fn adopt(&mut self, url: UrlState, restart: bool) {
        let parsed = parse_query(&to_query(&url));
        if parsed.ignored.is_empty() {
            self.url = parsed.state;
            self.notices.clear();
            if restart {
                self.generation = self.generation.wrapping_add(1);
            }
        } else {
            self.notices = vec![format!("Not applied: {}.", parsed.ignored.join("; "))];
        }
    }

    /// The pure transition function behind [`Reducible::reduce`].
    pub fn apply(&self, action: Action) -> State {
        let mut next = self.clone();
        let mut url = self.url.clone();
        match action {
            Action::PickScenario(raw) => match scenario_info(raw.trim()) {
                Some(info) => {
                    url.scenario = info.name.to_string();
                    // Scenario keys, server names and steps belong to the old scenario; controller parameters
                    // still apply.
                    url.sets.retain(|(k, _)| {
                        is_param_of(&url.controller, k)
                            || url.controller_b.as_deref().is_some_and(|b| is_param_of(b, k))
                    });
                    next.adopt(url, true);
                }
                None => next.notices = vec![format!("Unknown scenario {}.", quote(&raw))],
            },
            Action::PickController(raw) => match controller_info(raw.trim()) {
                Some(info) => {
                    let old = std::mem::replace(&mut url.controller, info.name.to_string());
                    let b = url.controller_b.clone();
                    url.sets.retain(|(k, _)| {
                        !is_param_of(&old, k)
                            || is_param_of(info.name, k)
                            || b.as_deref().is_some_and(|b| is_param_of(b, k))
                    });
                    next.adopt(url, true);
                }
                None => next.notices = vec![format!("Unknown controller {}.", quote(&raw))],
            },
            Action::PickControllerB(raw) => {
                let raw = raw.trim();
                if raw.is_empty() {
                    if let Some(old) = url.controller_b.take() {
                        let a = url.controller.clone();
                        url.sets.retain(|(k, _)| !is_param_of(&old, k) || is_param_of(&a, k));
                    }
                    next.adopt(url, true);
                } else {
                    match controller_info(raw) {
                        Some(info) => {
                            url.controller_b = Some(info.name.to_string());
                            next.adopt(url, true);
                        }
                        None => next.notices = vec![format!("Unknown controller {} for A/B.", quote(raw))],
                    }
                }
            }
            Action::SetParam(key, raw) => match raw.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => {
                    set_param(&mut url, &key, &format!("{v}"));
                    next.adopt(url, true);
                }
                _ => next.notices = vec![format!("{key}: {} is not a number.", quote(&raw))],
            },
            Action::SetSeed(raw) => match raw.trim().parse::<u64>() {
                Ok(seed) => {
                    url.seed = seed;
                    next.adopt(url, true);
                    next.playing = true;
                }
                Err(_) => {
                    next.notices = vec![format!(
                        "Seed {} is not valid; expected a whole number from 0 to {}.",
                        quote(&raw),
                        u64::MAX
                    )]
                }
            },
            Action::SetSpeed(raw) => match raw.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && (SPEED_MIN..=SPEED_MAX).contains(&v) => {
                    url.speed = v;
                    next.adopt(url, false);
                }
                _ => next.notices = vec![format!("Speed {} is not from {SPEED_MIN} to {SPEED_MAX}.", quote(&raw))],
            },
            Action::TogglePlay => next.playing = !next.playing,
            Action::Pause => next.playing = false,
            Action::Restart => {
                next.generation = next.generation.wrapping_add(1);
                next.playing = true;
            }
            Action::Record(key, value) => {
                if url.sets.len() >= SETS_MAX {
                    next.notices = vec![format!(
                        "{key}={value} ran, but the link already holds {SETS_MAX} settings, so it is not in the link."
                    )];
                } else {
                    set_param(&mut url, &key, &value);
                    next.adopt(url, false);
                }
            }
            Action::Reject(reason) => next.notices = vec![reason],
            Action::Halt(reason) => {
                next.playing = false;
                next.notices = vec![reason];
            }
            Action::DismissNotice => next.notices.clear(),
        }
        next
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let next = self.apply(action);
        if next == *self {
            self
        } else {
            Rc::new(next)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn state(query: &str) -> State {
        State::from_query(query)
    }

    #[wasm_bindgen_test]
    fn a_bad_url_names_what_it_ignored_and_keeps_the_rest() {
        let s = state("?scenario=nope&seed=-4&speed=banana&controller=pid&kp=0.05");
        assert_eq!(s.url.controller, "pid");
        assert_eq!(s.set_value("kp"), Some("0.05"));
        let notice = s.notices.join(" ");
        for part in ["nope", "-4", "banana"] {
            assert!(notice.contains(part), "{notice}");
        }
    }

    #[wasm_bindgen_test]
    fn a_parameter_restarts_and_round_trips_through_the_url() {
        let s = state("?scenario=slow&controller=conn-p");
        let p = controller_info("conn-p").unwrap().params[0];
        let value = (p.min + (p.max - p.min) * 0.37).to_string();
        let next = s.apply(Action::SetParam(p.key.into(), value.clone()));
        assert_eq!(next.set_value(p.key), Some(value.as_str()));
        assert_eq!(next.generation, s.generation + 1);
        assert!(next.notices.is_empty(), "{:?}", next.notices);
        assert_eq!(State::from_query(&next.to_query()).url, next.url);
    }

    #[wasm_bindgen_test]
    fn out_of_range_values_become_notices_and_change_nothing() {
        let s = state("?scenario=slow&controller=pid");
        for (key, value) in [("kp", "1e300"), ("kp", "NaN"), ("rate_scale", "-1"), ("kp", "x")] {
            let next = s.apply(Action::SetParam(key.into(), value.into()));
            assert_eq!(next.url, s.url, "{key}={value}");
            assert_eq!(next.generation, s.generation);
            assert!(!next.notices.is_empty(), "{key}={value}");
        }
        let next = s.apply(Action::SetSpeed("0".into()));
        assert_eq!(next.url.speed, s.url.speed);
    }

    #[wasm_bindgen_test]
    fn a_live_step_is_recorded_without_a_restart() {
        let s = state("?scenario=plain-s1");
        let next = s.apply(Action::Record("fault".into(), "crash:db1119@12.5".into()));
        assert_eq!(next.generation, s.generation);
        assert!(next.to_query().contains("fault=crash:db1119@12.5"), "{}", next.to_query());
    }

    #[wasm_bindgen_test]
    fn switching_controller_drops_the_old_ones_parameters() {
        let s = state("?scenario=slow&controller=pid&kp=0.05&rate_scale=2");
        let next = s.apply(Action::PickController("p2c".into()));
        assert_eq!(next.set_value("kp"), None);
        assert_eq!(next.set_value("rate_scale"), Some("2"));
    }
}
