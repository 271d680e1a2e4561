//! The page's state and its reducer: the only place the page's settings change.
//!
//! `State` is plain data (which scenario, which seed, how fast, playing or paused) plus at most one notice for the
//! reader. Every `Action` that carries text from the reader or the URL is validated here; bad text never reaches
//! the simulator, it becomes a visible notice and the previous setting stays. The simulation itself is not in this
//! state: it belongs to the live chart component, which rebuilds it whenever `run_key` changes.

use std::rc::Rc;

use yew::Reducible;

use crate::scenario::{scenario_info, ScenarioInfo, SCENARIOS};

/// Simulated seconds per wall-clock second the speed picker offers.
pub const SPEEDS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0];

/// The speed a fresh page runs at: real time.
pub const DEFAULT_SPEED: f64 = 1.0;

/// The seed a fresh page uses when the URL gives none.
pub const DEFAULT_SEED: u64 = 1;

/// Longest piece of rejected input quoted back in a notice, in characters; the rest is cut with an ellipsis.
const QUOTE_CHARS_MAX: usize = 40;

/// Everything the page's controls decide.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// The name of the scenario being simulated, always one of [`SCENARIOS`].
    pub scenario: &'static str,
    /// The seed of the current run.
    pub seed: u64,
    /// Simulated seconds per wall-clock second, one of [`SPEEDS`].
    pub speed: f64,
    /// False while paused.
    pub playing: bool,
    /// Bumped by every restart, so a restart with the same scenario and seed still rebuilds the run.
    pub restarts: u32,
    /// What the reader should know: rejected input, or a run that could not start. `None` when all is well.
    pub notice: Option<String>,
}

/// Something the reader (or the URL, or the simulation host) asks of the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Switch to the scenario with this name, from a fresh run with the same seed.
    PickScenario(String),
    /// Restart with the seed written in this text (a whole number from 0 to 2^64 − 1).
    SetSeed(String),
    /// Run at the speed written in this text (one of [`SPEEDS`]).
    SetSpeed(String),
    /// Pause if playing, play if paused.
    TogglePlay,
    /// Start the current scenario and seed again from time zero.
    Restart,
    /// The simulation could not go on (a config the core rejected): pause and say why.
    Halt(String),
    /// Hide the notice.
    DismissNotice,
}

impl Default for State {
    fn default() -> State {
        State {
            scenario: SCENARIOS[0].name,
            seed: DEFAULT_SEED,
            speed: DEFAULT_SPEED,
            playing: true,
            restarts: 0,
            notice: None,
        }
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

/// Looks up a scenario by name, or explains which names are valid.
pub fn parse_scenario(raw: &str) -> Result<&'static ScenarioInfo, String> {
    scenario_info(raw.trim()).ok_or_else(|| {
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        format!("Unknown scenario {}; valid scenarios: {}.", quote(raw), names.join(", "))
    })
}

/// Parses a seed: a whole number from 0 to 2^64 − 1, surrounding spaces allowed.
pub fn parse_seed(raw: &str) -> Result<u64, String> {
    raw.trim()
        .parse::<u64>()
        .map_err(|_| format!("Seed {} is not valid; expected a whole number from 0 to {}.", quote(raw), u64::MAX))
}

/// Parses a speed: one of the [`SPEEDS`] the picker offers, so a URL cannot ask for more work per frame.
pub fn parse_speed(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(v) if SPEEDS.contains(&v) => Ok(v),
        _ => {
            let valid: Vec<String> = SPEEDS.iter().map(|s| s.to_string()).collect();
            Err(format!("Speed {} is not valid; expected one of {}.", quote(raw), valid.join(", ")))
        }
    }
}

impl State {
    /// The state a page starts in, given the URL's `scenario`, `seed` and `speed` parameters (each optional).
    ///
    /// A bad parameter keeps its default and adds a sentence to the notice; it never stops the page.
    pub fn from_params(scenario: Option<&str>, seed: Option<&str>, speed: Option<&str>) -> State {
        let mut state = State::default();
        let mut problems = Vec::new();
        if let Some(raw) = scenario {
            match parse_scenario(raw) {
                Ok(info) => state.scenario = info.name,
                Err(e) => problems.push(e),
            }
        }
        if let Some(raw) = seed {
            match parse_seed(raw) {
                Ok(seed) => state.seed = seed,
                Err(e) => problems.push(e),
            }
        }
        if let Some(raw) = speed {
            match parse_speed(raw) {
                Ok(speed) => state.speed = speed,
                Err(e) => problems.push(e),
            }
        }
        if !problems.is_empty() {
            state.notice =
                Some(format!("The page address has a problem, so defaults are used. {}", problems.join(" ")));
        }
        state
    }

    /// The scenario's name and summary.
    pub fn scenario_info(&self) -> &'static ScenarioInfo {
        scenario_info(self.scenario).unwrap_or(&SCENARIOS[0])
    }

    /// The query string that reproduces this state (scenario names are URL-safe by construction).
    pub fn to_query(&self) -> String {
        format!("?scenario={}&seed={}&speed={}", self.scenario, self.seed, self.speed)
    }

    /// What identifies a run: a change in any of these rebuilds the simulation from time zero.
    pub fn run_key(&self) -> (&'static str, u64, u32) {
        (self.scenario, self.seed, self.restarts)
    }

    /// The pure transition function behind [`Reducible::reduce`].
    pub fn apply(&self, action: Action) -> State {
        let mut next = self.clone();
        match action {
            Action::PickScenario(raw) => match parse_scenario(&raw) {
                Ok(info) => {
                    next.scenario = info.name;
                    next.notice = None;
                }
                Err(e) => next.notice = Some(e),
            },
            Action::SetSeed(raw) => match parse_seed(&raw) {
                Ok(seed) => {
                    next.seed = seed;
                    next.restarts = next.restarts.wrapping_add(1);
                    next.notice = None;
                }
                Err(e) => next.notice = Some(e),
            },
            Action::SetSpeed(raw) => match parse_speed(&raw) {
                Ok(speed) => {
                    next.speed = speed;
                    next.notice = None;
                }
                Err(e) => next.notice = Some(e),
            },
            Action::TogglePlay => next.playing = !next.playing,
            Action::Restart => {
                next.restarts = next.restarts.wrapping_add(1);
                next.playing = true;
            }
            Action::Halt(reason) => {
                next.playing = false;
                next.notice = Some(reason);
            }
            Action::DismissNotice => next.notice = None,
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
