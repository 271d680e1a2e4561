//! The page's state and its reducer: the only place the page's settings change.
//!
//! The state is the whole page as a URL ([`UrlState`]: scenario, controllers, seed, speed, embed and every
//! `--set` pair, including the live commands recorded as steps) plus what is not shared: playing or paused, a
//! generation counter, and the notices for the reader. Every change is validated by writing the URL state and
//! parsing it back with `urlstate::parse_query`, so the page can never hold a state that a shared link would not
//! reproduce; what the parser drops becomes a visible notice. The simulations are not here: they belong to the
//! page's engine (`web::runner::Engine`), rebuilt whenever `generation` changes.
//!
//! Pure and compiled natively as well as for wasm32, so the unit tests, the fuzzer and mutation testing reach
//! it; `web::state` adds only `impl yew::Reducible for State`.

use crate::controller::controller_info;
use crate::controller::is_param_of;
use crate::engine::keys::{clip_error, quote, KeyKind};
use crate::engine::scenario::View;
use crate::lesson_controls::label_of;
use crate::registry::{self, ScenarioDef};
use std::rc::Rc;

use crate::urlstate::{is_top_level, parse_query, set_param, to_query, UrlState, MAX_SETS, SPEED_MAX, SPEED_MIN};

/// Simulated seconds per wall-clock second the speed picker offers (a URL may ask for any speed in range);
/// 500× and 1000× fast-forward the long-running models.
pub const SPEEDS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];

/// Most `--set` pairs a state holds, so its URL stays within what `parse_query` reads (`urlstate::MAX_SETS`).
pub const SETS_MAX: usize = MAX_SETS;

/// Why a live command did not act: the run it was sent to gave way to a new one (another scenario) before it
/// took effect. The runs say it of a command they had not answered ([`crate::web`]'s rebuild), the page of one
/// answered after its link changed ([`Action::Record`]).
pub const SUPERSEDED: &str = "a new run started before it took effect";

/// Everything the page's controls decide.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// What a shared link reproduces.
    pub url: UrlState,
    /// False while paused.
    pub playing: bool,
    /// Bumped by every change that needs a fresh run from time zero (scenario, controller, parameter, seed,
    /// restart, a lesson step back); live commands do not bump it.
    pub generation: u32,
    /// Run to this simulated time and hold (the lesson step's moment), s.
    pub seek_to: Option<f64>,
    /// Bumped by each press of Step.
    pub steps: u32,
    /// The server the PID chart watches, if the reader chose one.
    pub watched: Option<usize>,
    /// What the reader should know: ignored parts of the URL, rejected input, a run that could not start. At
    /// most one, one line of at most `engine::keys::MAX_ERROR_CHARS` characters (cut with `…`), never empty.
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
    /// Set a `--set` key (a controller parameter or a scenario key) to this text and restart the run; "" goes
    /// back to the default.
    SetParam(String, String),
    /// Restart with the seed written in this text (a whole number from 0 to 2^64 − 1).
    SetSeed(String),
    /// Run at the speed written in this text.
    SetSpeed(String),
    /// Pause if playing, play if paused.
    TogglePlay,
    /// Pause and advance one chart step.
    Step,
    /// Start the current run again from time zero.
    Restart,
    /// The lesson's next step; the run is at this simulated time now, s.
    LessonNext(f64),
    /// The lesson's previous step (replayed from the seed).
    LessonBack,
    /// Leave the lesson for free play.
    LessonSkip,
    /// Open the lesson again at its first step.
    LessonStart,
    /// Watch this server's controller terms.
    Watch(usize),
    /// A live command (`crash:db1119`) ran at this simulated time in the run built from this link: record it as
    /// a step so the URL reproduces it. Does not restart. A run answers some time after the click (a worker's
    /// reply comes with a later frame), so the link may have given way to another by then: the command is
    /// recorded only if the link now keeps that run's commands ([`UrlState::keeps_commands_of`]; a restart, a
    /// setting), and otherwise refused as [`SUPERSEDED`], as the runs refuse one they had not answered yet.
    Record(String, f64, Rc<UrlState>),
    /// Something the reader did could not be done: say why.
    Reject(String),
    /// The simulation could not go on (a config the core rejected): pause and say why.
    Halt(String),
    /// Hide the notices.
    DismissNotice,
    /// Show this stretch of the run in the charts, written as a link writes it (`all`, `300` for the last
    /// 300 s, `6900..8100`), or "" for the lesson step's own; a bad one becomes a notice and changes nothing.
    SetView(String),
    /// The run reached its length, this many simulated seconds: make it twice as long, replay to where it
    /// was and play on.
    Extend(f64),
    /// Open a scenario file the reader chose (its name, its text): its scenario, controller, keys, steps and
    /// length replace the run's, in free play; a bad file changes nothing and says why.
    OpenScenario(String, String),
}

impl Default for State {
    fn default() -> State {
        State {
            url: UrlState::default(),
            playing: true,
            generation: 0,
            seek_to: None,
            steps: 0,
            watched: None,
            notices: Vec::new(),
        }
    }
}

/// Formats a simulated time for a URL step: seconds with up to six decimals (whole microseconds).
pub fn step_time(t: f64) -> String {
    let text = format!("{t:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
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
        let mut state = State { url: parsed.state, notices, ..State::default() };
        state.enter_lesson_step();
        // A link to a moment fast-forwards there, then plays on; so does a bare embed, to a little before its
        // incident (a runbook page should not show minutes of flat lines first).
        let incident = || state.url.embed.then(|| state.def().and_then(|d| d.incident_at_s())).flatten();
        if let (None, Some(at)) = (state.url.lesson, state.url.at_s.or_else(incident)) {
            state.seek_to = Some(at);
        }
        state.tidy_notices();
        state
    }

    /// Every notice as one line the library's length (`clip_error`, the one clip for messages); none empty.
    fn tidy_notices(&mut self) {
        let notices = std::mem::take(&mut self.notices);
        self.notices = notices.into_iter().map(clip_error).filter(|n| !n.is_empty()).collect();
    }

    /// The scenario shown.
    pub fn def(&self) -> Option<&'static ScenarioDef> {
        registry::find(&self.url.scenario).ok()
    }

    /// In a lesson, pause and seek to the current step's moment; in free play, play.
    fn enter_lesson_step(&mut self) {
        match (self.url.lesson, self.def()) {
            (Some(n), Some(def)) if n < def.lesson.len() => {
                self.playing = false;
                self.seek_to = Some(def.lesson[n].at_s);
            }
            _ => {
                self.url.lesson = None;
                self.seek_to = None;
                self.playing = true;
            }
        }
    }

    /// The stretch of the run the charts show: the reader's choice, else the lesson step's own, else the whole
    /// run.
    pub fn view(&self) -> View {
        let step = self.url.lesson.and_then(|n| self.def().and_then(|d| d.lesson.get(n)));
        self.url.view.or(step.map(|s| s.view)).unwrap_or(View::Whole)
    }

    /// The query string (without `?`) that reproduces this state.
    pub fn to_query(&self) -> String {
        to_query(&self.url)
    }

    /// The current value of a `--set` key, if the state sets it.
    pub fn set_value(&self, key: &str) -> Option<&str> {
        self.url.sets.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Validates `url` by a round trip through the URL format; on success it becomes the state (and a restart
    /// re-enters the lesson step, or plays in free play), otherwise the state stays and the reasons become a
    /// notice. True on success.
    fn adopt(&mut self, url: UrlState, restart: bool) -> bool {
        let parsed = parse_query(&to_query(&url));
        if parsed.ignored.is_empty() {
            self.url = parsed.state;
            self.notices.clear();
            if restart {
                self.generation = self.generation.wrapping_add(1);
                self.enter_lesson_step();
            }
            true
        } else {
            self.notices = vec![format!("Not applied: {}.", parsed.ignored.join("; "))];
            false
        }
    }

    /// Records a live command as a step under the first repeatable key of the scenario that takes it: a key
    /// named after the verb takes its arguments (`surge=2@40`), any other the whole text (`fault=crash:db1119@40`).
    fn record(&mut self, text: &str, at: f64) {
        if self.url.sets.len() >= SETS_MAX {
            self.notices =
                vec![format!("{text} ran, but the link already holds {SETS_MAX} settings, so it is not in the link.")];
            return;
        }
        let Some(def) = self.def() else { return };
        let verb = text.split(':').next().unwrap_or("");
        let args = text.split_once(':').map_or("", |(_, rest)| rest);
        let steps = def.keys.iter().filter(|k| matches!(k.kind, KeyKind::FaultSpec) && k.applies_to(def.name));
        let mut tries: Vec<(&str, String)> = Vec::new();
        for k in steps {
            if k.key == verb {
                tries.insert(0, (k.key, format!("{args}@{}", step_time(at))));
            } else {
                tries.push((k.key, format!("{text}@{}", step_time(at))));
            }
        }
        for (key, value) in tries {
            let mut url = self.url.clone();
            set_param(&mut url, key, &value);
            if parse_query(&to_query(&url)).ignored.is_empty() {
                self.adopt(url, false);
                return;
            }
        }
        self.notices = vec![format!("{text} ran, but no key of {} replays it, so it is not in the link.", def.name)];
    }

    /// [`Action::OpenScenario`].
    fn open_file(&mut self, name: &str, text: &str) {
        let shown = quote(name);
        let (def, spec) = match registry::open_file(name, text) {
            Ok(opened) => opened,
            Err(e) => {
                self.notices = vec![format!("{shown} was not opened: {e}")];
                return;
            }
        };
        let max = crate::urlstate::MAX_FILE_CHARS;
        if spec.file.is_some() && text.chars().count() > max {
            self.notices = vec![format!(
                "{shown} was not opened: it is over {max} characters, more than a link can carry; run it with the command line (loadlab run --scenario-file)."
            )];
            return;
        }
        let mut url = self.url.clone();
        url.scenario = def.name.to_string();
        url.lesson = None;
        url.at_s = None;
        url.controller_b = None;
        if def.takes_controller && !spec.controller.is_empty() {
            url.controller = spec.controller.clone();
        }
        // Only what differs from the scenario's defaults goes in the link.
        url.sets = crate::engine::scenario_file::changed_keys(def, &spec.sets);
        // A keyed file states its length; a whole-config file carries its own.
        url.length_s = if spec.file.is_some() { None } else { spec.duration_s };
        url.file = spec.file;
        if self.adopt(url, true) {
            self.watched = None;
            self.notices = vec![format!("Opened {shown}: scenario {}.", def.name)];
        }
    }

    fn lesson_move(&mut self, to: Option<usize>, now_s: f64, replay: bool) {
        let Some(def) = self.def() else { return };
        match to.filter(|&n| n < def.lesson.len()) {
            Some(n) => {
                let at = def.lesson[n].at_s;
                let mut url = self.url.clone();
                url.lesson = Some(n);
                // Each step shows its own window; the reader's choice was about the step before.
                url.view = None;
                self.url = url;
                self.playing = false;
                self.seek_to = Some(at);
                if replay || at + 1e-9 < now_s {
                    self.generation = self.generation.wrapping_add(1);
                }
            }
            None => {
                self.url.lesson = None;
                self.seek_to = None;
                self.playing = true;
            }
        }
    }

    /// The pure transition function behind the page's `Reducible::reduce` (`web::state`).
    pub fn apply(&self, action: Action) -> State {
        let mut next = self.clone();
        let mut url = self.url.clone();
        match action {
            Action::PickScenario(raw) => match registry::find(raw.trim()) {
                Ok(def) => {
                    url.scenario = def.name.to_string();
                    url.file = None;
                    url.view = None;
                    url.lesson = (!def.lesson.is_empty() && !url.embed).then_some(0);
                    // A lesson about one controller starts with it (its parameters start from their defaults).
                    if let (Some(c), Some(_)) = (def.lesson_controller, url.lesson) {
                        url.controller = c.to_string();
                    }
                    // Scenario keys, server names and steps belong to the old scenario; controller parameters
                    // still apply.
                    url.sets.retain(|(k, _)| {
                        is_param_of(&url.controller, k)
                            || url.controller_b.as_deref().is_some_and(|b| is_param_of(b, k))
                    });
                    if next.adopt(url, true) {
                        next.watched = None;
                    }
                }
                Err(_) => next.notices = vec![format!("Unknown scenario {}.", quote(&raw))],
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
            // The link's own keys (scenario, seed, lesson, …) are not settings: each has its own action.
            Action::SetParam(key, _) if is_top_level(&key) => {
                next.notices = vec![format!("{} is not a setting of {}.", quote(&key), url.scenario)]
            }
            Action::SetParam(key, raw) => {
                let raw = raw.trim();
                if raw.is_empty() {
                    url.sets.retain(|(k, _)| *k != key);
                } else {
                    let value = raw.parse::<f64>().map_or(raw.to_string(), |v| format!("{v}"));
                    set_param(&mut url, &key, &value);
                }
                let running: Vec<&str> =
                    std::iter::once(url.controller.as_str()).chain(url.controller_b.as_deref()).collect();
                let label = registry::find(&url.scenario).ok().and_then(|def| label_of(def, &running, &key));
                if !next.adopt(url, true) {
                    if let Some(label) = label {
                        next.notices = next.notices.iter().map(|n| named_by_label(n, &key, label)).collect();
                    }
                }
            }
            Action::SetSeed(raw) => match raw.trim().parse::<u64>() {
                Ok(seed) => {
                    url.seed = seed;
                    next.adopt(url, true);
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
            Action::TogglePlay => {
                next.playing = !next.playing;
                if next.playing {
                    next.seek_to = None;
                }
            }
            Action::Step => {
                next.playing = false;
                next.seek_to = None;
                next.steps = next.steps.wrapping_add(1);
            }
            Action::Restart => {
                next.generation = next.generation.wrapping_add(1);
                next.enter_lesson_step();
            }
            Action::LessonNext(now_s) => next.lesson_move(self.url.lesson.map(|n| n + 1), now_s, false),
            Action::LessonBack => next.lesson_move(self.url.lesson.map(|n| n.saturating_sub(1)), 0.0, true),
            Action::LessonSkip => next.lesson_move(None, 0.0, false),
            Action::LessonStart => {
                url.lesson = Some(0);
                url.view = None;
                next.adopt(url, true);
            }
            Action::Watch(i) => next.watched = Some(i),
            Action::SetView(raw) => match raw.trim() {
                "" => next.url.view = None,
                text => match View::parse(text) {
                    Ok(view) => {
                        url.view = Some(view);
                        next.adopt(url, false);
                    }
                    Err(e) => next.notices = vec![format!("The charts' window {} was not applied: {e}.", quote(text))],
                },
            },
            Action::Record(text, at, run) => {
                if next.url.keeps_commands_of(&run) {
                    next.record(&text, at);
                } else {
                    next.notices = vec![format!("{text} was not applied: {SUPERSEDED}")];
                }
            }
            Action::Reject(reason) => next.notices = vec![reason],
            Action::Halt(reason) => {
                next.playing = false;
                next.seek_to = None;
                next.notices = vec![reason];
            }
            Action::DismissNotice => next.notices.clear(),
            Action::OpenScenario(name, text) => next.open_file(&name, &text),
            Action::Extend(end_s) if !(end_s.is_finite() && (0.0..=crate::urlstate::LENGTH_MAX_S).contains(&end_s)) => {
                next.notices = vec![format!("The run cannot be extended from {end_s} s.")]
            }
            Action::Extend(end_s) => {
                url.length_s = Some((2.0 * end_s).clamp(crate::urlstate::LENGTH_MIN_S, crate::urlstate::LENGTH_MAX_S));
                if next.adopt(url, false) {
                    // Replay from the seed to where the run stopped, then play on.
                    next.generation = next.generation.wrapping_add(1);
                    next.seek_to = Some(end_s);
                    next.playing = true;
                }
            }
        }
        next.tidy_notices();
        next
    }
}

/// A notice about a refused value of `key` ("Not applied: slow_factor=1e9: slow_factor: '1e9' is out of range;
/// …") as the page says it, naming the setting by its plain label as its control does ("Not applied: Slowdown of
/// the slow server: '1e9' is out of range; …"). Any other notice is kept as it is; the CLI's messages keep the key.
fn named_by_label(notice: &str, key: &str, label: &str) -> String {
    const HEAD: &str = "Not applied: ";
    let named = notice.strip_prefix(HEAD).and_then(|rest| {
        let reason = rest.strip_prefix(key)?.strip_prefix('=')?.split_once(": ")?.1;
        let after = reason.strip_prefix(key)?;
        after.starts_with([':', ' ']).then(|| format!("{HEAD}{label}{after}"))
    });
    named.unwrap_or_else(|| notice.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(query: &str) -> State {
        State::from_query(query)
    }

    #[test]
    fn a_bad_url_names_what_it_ignored_and_keeps_the_rest() {
        let s = state("?scenario=nope&seed=-4&speed=banana&controller=pid&kp=0.05");
        assert_eq!(s.url.controller, "pid");
        assert_eq!(s.set_value("kp"), Some("0.05"));
        let notice = s.notices.join(" ");
        for part in ["nope", "-4", "banana"] {
            assert!(notice.contains(part), "{notice}");
        }
    }

    #[test]
    fn a_bare_embed_opens_just_before_its_incident_and_plays() {
        // Sahana's first stall comes at about 7,000 s (a quiet night, then the morning's traffic): the embed
        // fast-forwards to a moment before it, not past it, and plays on.
        let sahana = state("?scenario=sahana-idle-drop&embed=1");
        let at = sahana.seek_to.expect("a bare embed seeks");
        assert!((6_000.0..7_000.0).contains(&at), "{at}");
        assert!(sahana.playing);
        // Percona's backup starts at 60 s and desync goes off at 3,760 s: opened between them.
        let percona = state("?scenario=percona-desync&embed=1").seek_to.expect("seeks");
        assert!((60.0..3_760.0).contains(&percona), "{percona}");
        // A moment in the link wins; the full page and a lesson-less scenario's embed start at zero.
        assert_eq!(state("?scenario=sahana-idle-drop&embed=1&at=100").seek_to, Some(100.0));
        assert_eq!(state("?scenario=sahana-idle-drop&lesson=off").seek_to, None);
        assert_eq!(state("?scenario=plain-s1&embed=1").seek_to, None);
        // Nothing of it enters the link: the embed's address stays what it was.
        assert!(!sahana.to_query().contains("at="), "{}", sahana.to_query());
    }

    #[test]
    fn a_parameter_restarts_and_round_trips_through_the_url() {
        let s = state("?scenario=slow&controller=conn-p&lesson=off");
        let p = controller_info("conn-p").unwrap().params[0];
        let value = (p.min + (p.max - p.min) * 0.37).to_string();
        let next = s.apply(Action::SetParam(p.key.into(), value.clone()));
        assert_eq!(next.set_value(p.key), Some(value.as_str()));
        assert_eq!(next.generation, s.generation + 1);
        assert!(next.notices.is_empty(), "{:?}", next.notices);
        assert_eq!(State::from_query(&next.to_query()).url, next.url);
    }

    #[test]
    fn out_of_range_values_become_notices_and_change_nothing() {
        let s = state("?scenario=slow&controller=pid");
        for (key, value) in [("kp", "1e300"), ("kp", "NaN"), ("rate_scale", "-1"), ("kp", "x"), ("workers", "0")] {
            let next = s.apply(Action::SetParam(key.into(), value.into()));
            assert_eq!(next.url, s.url, "{key}={value}");
            assert_eq!(next.generation, s.generation);
            assert!(!next.notices.is_empty(), "{key}={value}");
        }
        let next = s.apply(Action::SetSpeed("0".into()));
        assert_eq!(next.url.speed, s.url.speed);
    }

    #[test]
    fn a_refused_value_is_named_by_its_settings_label() {
        let s = state("?scenario=slow&controller=pid");
        for (key, value, label) in
            [("slow_factor", "99999999", "Slowdown of the slow server"), ("kp", "1000", "Proportional gain")]
        {
            let next = s.apply(Action::SetParam(key.into(), value.into()));
            let notice = next.notices.join(" ");
            assert!(notice.starts_with(&format!("Not applied: {label}")), "{notice}");
            assert!(notice.contains(value) && !notice.contains(key), "{notice}");
        }
        // A notice about something else stays as it was.
        assert_eq!(named_by_label("Not applied: seed 'x'.", "kp", "Proportional gain"), "Not applied: seed 'x'.");
    }

    #[test]
    fn a_live_step_is_recorded_without_a_restart() {
        let s = state("?scenario=plain-s1");
        let next = s.apply(Action::Record("crash:db1119".into(), 12.5, Rc::new(s.url.clone())));
        assert_eq!(next.generation, s.generation);
        assert!(next.to_query().contains("fault=crash:db1119@12.5"), "{}", next.to_query());
    }

    #[test]
    fn a_command_answered_after_its_link_changed_is_recorded_only_where_the_new_link_keeps_its_runs_commands() {
        let old = state("?scenario=plain-s1&seed=5&fault=crash:db1118@1");
        let run = Rc::new(old.url.clone());
        // Another scenario: the crash would land in a run it was never sent to.
        let other = old.apply(Action::PickScenario("slow".into()));
        let refused = other.apply(Action::Record("crash:db1119".into(), 2.5, run.clone()));
        assert_eq!(refused.url, other.url, "nothing recorded");
        assert_eq!(refused.notices, vec!["crash:db1119 was not applied: a new run started before it took effect"]);
        // A restart, another seed: the new runs replay the old one's steps, and this one joins them.
        for kept in [Action::Restart, Action::SetSeed("6".into())] {
            let next = old.apply(kept.clone());
            let recorded = next.apply(Action::Record("crash:db1119".into(), 2.5, run.clone()));
            assert!(recorded.to_query().contains("fault=crash:db1119@2.5"), "{kept:?}: {}", recorded.to_query());
            assert!(recorded.notices.is_empty(), "{kept:?}: {:?}", recorded.notices);
        }
    }

    #[test]
    fn switching_controller_drops_the_old_ones_parameters() {
        let s = state("?scenario=slow&controller=pid&kp=0.05&rate_scale=2");
        let next = s.apply(Action::PickController("p2c".into()));
        assert_eq!(next.set_value("kp"), None);
        assert_eq!(next.set_value("rate_scale"), Some("2"));
    }

    #[test]
    fn a_surge_is_recorded_under_its_own_key() {
        let s = state("?scenario=plain-s1");
        let next = s.apply(Action::Record("surge:2".into(), 3.0, Rc::new(s.url.clone())));
        assert!(next.to_query().contains("surge=2@3"), "{}", next.to_query());
    }

    #[test]
    fn each_lesson_step_shows_its_own_window_and_the_readers_choice_lasts_until_the_next_step() {
        let s = state("?scenario=sahana-idle-drop&lesson=3");
        let def = s.def().unwrap();
        assert_eq!(s.view(), def.lesson[3].view);
        // The reader brushes a stretch: the charts show it, the link carries it, and nothing restarts.
        let brushed = s.apply(Action::SetView("7000..7200".into()));
        assert_eq!(brushed.view(), View::Span(7000.0, 7200.0));
        assert_eq!(brushed.generation, s.generation);
        assert!(brushed.to_query().contains("window=7000..7200"), "{}", brushed.to_query());
        assert_eq!(State::from_query(&brushed.to_query()).view(), View::Span(7000.0, 7200.0));
        // A bad window is a notice and changes nothing.
        let bad = brushed.apply(Action::SetView("7200..7000".into()));
        assert_eq!((bad.url.clone(), bad.view()), (brushed.url.clone(), brushed.view()));
        assert!(bad.notices[0].contains("7200..7000"), "{:?}", bad.notices);
        // The next step shows its own window again; so does going back.
        let next = brushed.apply(Action::LessonNext(def.lesson[3].at_s));
        assert_eq!((next.url.view, next.view()), (None, def.lesson[4].view));
        let back = brushed.apply(Action::LessonBack);
        assert_eq!(back.view(), def.lesson[2].view);
        // Following the run again: the whole run, or the step's own with "".
        assert_eq!(brushed.apply(Action::SetView("all".into())).view(), View::Whole);
        assert_eq!(brushed.apply(Action::SetView(String::new())).view(), def.lesson[3].view);
        // Free play shows the whole run unless the reader chose otherwise; another scenario forgets the choice.
        assert_eq!(s.apply(Action::LessonSkip).view(), View::Whole);
        assert_eq!(brushed.apply(Action::PickScenario("slow".into())).url.view, None);
    }

    #[test]
    fn lesson_steps_seek_forward_and_replay_back() {
        let s = state("?scenario=slow");
        let Some(def) = s.def().filter(|d| d.lesson.len() >= 2) else { return };
        assert_eq!((s.url.lesson, s.playing, s.seek_to), (Some(0), false, Some(def.lesson[0].at_s)));
        let next = s.apply(Action::LessonNext(0.0));
        assert_eq!((next.url.lesson, next.seek_to), (Some(1), Some(def.lesson[1].at_s)));
        assert_eq!(next.generation, s.generation, "going forward does not replay");
        let back = next.apply(Action::LessonBack);
        assert_eq!(back.url.lesson, Some(0));
        assert_eq!(back.generation, next.generation + 1, "going back replays from the seed");
        let free = back.apply(Action::LessonSkip);
        assert_eq!((free.url.lesson, free.playing), (None, true));
        assert!(free.to_query().contains("lesson=off"));
    }

    #[test]
    fn opening_a_scenario_file_runs_it_in_free_play_and_a_bad_one_changes_nothing() {
        let s = state("?scenario=slow&controller=pid&ab=p2c");
        let def = registry::find("sahana-idle-drop").unwrap();
        let sets = vec![("keepalive_idle_s".to_string(), "600".to_string()), ("workers".into(), "4".into())];
        let spec = crate::registry::RunSpec { sets, duration_s: Some(8000.0), ..Default::default() };
        let text = def.export_file(&spec).unwrap();
        let next = s.apply(Action::OpenScenario("mine.toml".into(), text.clone()));
        assert_eq!(next.url.scenario, "sahana-idle-drop");
        assert_eq!((next.url.lesson, next.url.controller_b.as_deref()), (None, None));
        assert_eq!(next.url.sets, vec![("keepalive_idle_s".to_string(), "600".to_string())], "only what differs");
        assert_eq!(next.url.length_s, Some(8000.0));
        assert_eq!(next.generation, s.generation + 1, "the file's run starts");
        // A bad file: one notice naming the file and its line, and the state as it was.
        let bad = text.replace("keepalive_idle_s = 600", "keepalive_idle_s = -1");
        let after = next.apply(Action::OpenScenario("mine.toml".into(), bad));
        assert_eq!(after.url, next.url);
        assert_eq!(after.generation, next.generation);
        assert!(
            after.notices[0].contains("mine.toml:") && after.notices[0].contains("keepalive_idle_s"),
            "{:?}",
            after.notices
        );
        // A section file keeps its whole config; picking a scenario leaves it.
        let section = registry::find("refuse").unwrap().export_file(&Default::default()).unwrap();
        let opened = s.apply(Action::OpenScenario("own.toml".into(), section));
        assert!(opened.url.file.is_some() && opened.url.scenario == "refuse", "{:?}", opened.notices);
        assert!(opened.apply(Action::PickScenario("slow".into())).url.file.is_none());
    }

    #[test]
    fn play_toggles_each_way_and_playing_leaves_a_pending_seek() {
        let s = state("?scenario=plain-s1&lesson=off");
        let flipped = s.apply(Action::TogglePlay);
        assert_eq!(flipped.playing, !s.playing);
        assert_eq!(flipped.apply(Action::TogglePlay).playing, s.playing);
    }

    #[test]
    fn clearing_a_key_removes_that_key_only() {
        let s = state("?scenario=plain-s1&lesson=off&rate_scale=2&hosts=10");
        let next = s.apply(Action::SetParam("rate_scale".into(), String::new()));
        assert_eq!((next.set_value("rate_scale"), next.set_value("hosts")), (None, Some("10")));
    }

    #[test]
    fn a_picked_scenario_opens_at_its_lessons_first_step_unless_embedded() {
        assert!(!registry::find("slow").unwrap().lesson.is_empty(), "slow has a lesson");
        let plain = state("?scenario=plain-s1&lesson=off");
        assert_eq!(plain.apply(Action::PickScenario("slow".into())).url.lesson, Some(0));
        let embedded = state("?scenario=plain-s1&embed=1");
        assert_eq!(embedded.apply(Action::PickScenario("slow".into())).url.lesson, None);
    }

    #[test]
    fn a_parameter_both_controllers_take_survives_the_switch_and_removing_b() {
        // mw-legacy and mw-loadmonitor both take state_ttl_s; conn-p and pid both take refresh_s.
        let s = state("?scenario=plain-s1&lesson=off&controller=mw-legacy&state_ttl_s=2&moving_ave_ratio=0.5");
        let next = s.apply(Action::PickController("mw-loadmonitor".into()));
        assert_eq!((next.set_value("state_ttl_s"), next.set_value("moving_ave_ratio")), (Some("2"), None));
        // B's parameter stays while B takes it, whatever A becomes.
        let ab = state("?scenario=plain-s1&lesson=off&controller=conn-p&ab=pid&refresh_s=3&kp=0.05");
        let a_static = ab.apply(Action::PickController("static".into()));
        assert_eq!((a_static.set_value("refresh_s"), a_static.set_value("kp")), (Some("3"), Some("0.05")));
        // Removing B drops only what A does not take too.
        let no_b = ab.apply(Action::PickControllerB(String::new()));
        assert_eq!(no_b.url.controller_b, None);
        assert_eq!((no_b.set_value("refresh_s"), no_b.set_value("kp")), (Some("3"), None));
    }

    #[test]
    fn a_files_controller_is_taken_where_the_scenario_takes_one_and_only_then() {
        let s = state("?scenario=slow&controller=pid&lesson=off");
        let spec = crate::registry::RunSpec { controller: "p2c".into(), ..Default::default() };
        let text = registry::find("plain-s1").unwrap().export_file(&spec).unwrap();
        let opened = s.apply(Action::OpenScenario("p2c.toml".into(), text));
        assert_eq!((opened.url.scenario.as_str(), opened.url.controller.as_str()), ("plain-s1", "p2c"));
        // A section file always names its balancer (the default run's is static): the file is the whole run.
        let text = registry::find("plain-s1").unwrap().export_file(&Default::default()).unwrap();
        let opened = s.apply(Action::OpenScenario("mine.toml".into(), text));
        assert_eq!((opened.url.scenario.as_str(), opened.url.controller.as_str()), ("plain-s1", "static"));
        // Sahana's model has no balancer to choose: the page's controller stays as it was.
        let text = registry::find("sahana-idle-drop").unwrap().export_file(&Default::default()).unwrap();
        let opened = s.apply(Action::OpenScenario("sahana.toml".into(), text));
        assert_eq!((opened.url.scenario.as_str(), opened.url.controller.as_str()), ("sahana-idle-drop", "pid"));
    }

    #[test]
    fn a_section_file_of_exactly_the_links_limit_opens_and_one_character_more_is_refused() {
        let s = state("?scenario=slow&lesson=off");
        let mut text = registry::find("refuse").unwrap().export_file(&Default::default()).unwrap();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let max = crate::urlstate::MAX_FILE_CHARS;
        let pad = max - text.chars().count() - "#\n".len();
        let at_limit = format!("{text}#{}\n", "x".repeat(pad));
        assert_eq!(at_limit.chars().count(), max);
        let opened = s.apply(Action::OpenScenario("own.toml".into(), at_limit.clone()));
        assert!(opened.url.file.is_some(), "{:?}", opened.notices);
        let over = format!("{at_limit}#");
        let refused = s.apply(Action::OpenScenario("own.toml".into(), over));
        assert_eq!(refused.url, s.url);
        assert!(refused.notices[0].contains("over 8192 characters"), "{:?}", refused.notices);
    }

    #[test]
    fn a_new_speed_keeps_the_run_going() {
        let s = state("?scenario=plain-s1&lesson=off");
        let next = s.apply(Action::SetSpeed("20".into()));
        assert_eq!(next.url.speed, 20.0);
        assert_eq!(next.generation, s.generation, "a speed change does not restart the run");
        assert_eq!((next.playing, next.seek_to), (s.playing, s.seek_to));
    }

    #[test]
    fn lesson_next_to_a_step_before_now_replays_from_the_seed() {
        let s = state("?scenario=slow");
        let Some(def) = s.def().filter(|d| d.lesson.len() >= 2) else { return };
        // The run is already past the next step's time (the reader played on): going there replays.
        let late = def.lesson[1].at_s + 100.0;
        let next = s.apply(Action::LessonNext(late));
        assert_eq!((next.url.lesson, next.seek_to), (Some(1), Some(def.lesson[1].at_s)));
        assert_eq!(next.generation, s.generation + 1, "a step in the past replays from the seed");
    }

    #[test]
    fn lesson_next_to_a_step_the_run_stands_at_does_not_replay() {
        // The run stopped exactly at the next step's moment (the reader pressed Step up to it): Next goes on from
        // there, with no replay from the seed.
        let s = state("?scenario=slow");
        let def = s.def().unwrap();
        let next = s.apply(Action::LessonNext(def.lesson[1].at_s));
        assert_eq!(next.url.lesson, Some(1));
        assert_eq!(next.generation, s.generation, "standing at the step's moment is not past it");
        // Within a nanosecond of it, as a clock in whole microseconds converted to seconds may land: still there.
        let hair = s.apply(Action::LessonNext(def.lesson[1].at_s + 1e-9));
        assert_eq!(hair.generation, s.generation, "a nanosecond past the step's moment is at it");
    }

    #[test]
    fn next_on_the_last_step_and_a_step_past_the_lesson_go_to_free_play() {
        let s = state("?scenario=slow");
        let last = s.def().unwrap().lesson.len() - 1;
        let mut at_last = s.clone();
        at_last.url.lesson = Some(last);
        let next = at_last.apply(Action::LessonNext(0.0));
        assert_eq!((next.url.lesson, next.seek_to, next.playing), (None, None, true));
        // A state whose step lies past the lesson (no link makes one: the link's parser refuses it) plays freely
        // on a restart rather than seeking to a step that does not exist.
        let mut past = s.clone();
        past.url.lesson = Some(last + 1);
        let next = past.apply(Action::Restart);
        assert_eq!((next.url.lesson, next.seek_to), (None, None));
    }

    #[test]
    fn a_speed_outside_its_range_is_refused_in_the_speeds_own_words() {
        let s = state("?scenario=slow&lesson=off");
        for raw in ["1e9", "1001", "0.01", "-5", "NaN", "inf", "fast"] {
            let next = s.apply(Action::SetSpeed(raw.into()));
            assert_eq!(next.url.speed, s.url.speed, "{raw}");
            let notice = next.notices.join(" ");
            assert!(notice.starts_with(&format!("Speed '{raw}' is not from")), "{raw}: {notice}");
        }
        for raw in ["0.1", "1000"] {
            let next = s.apply(Action::SetSpeed(raw.into()));
            assert_eq!(next.url.speed, raw.parse::<f64>().unwrap(), "{raw}: the range's ends are in it");
            assert!(next.notices.is_empty(), "{raw}: {:?}", next.notices);
        }
    }

    #[test]
    fn picking_a_scenario_keeps_the_controllers_parameters() {
        let s = state("?scenario=slow&controller=pid&kp=0.05&workers=7&lesson=off");
        let next = s.apply(Action::PickScenario("plain-s1".into()));
        // plain-s1's lesson names no controller, so pid stays, and its parameter with it.
        assert_eq!((next.url.scenario.as_str(), next.url.controller.as_str()), ("plain-s1", "pid"));
        assert_eq!(next.set_value("kp"), Some("0.05"), "pid's parameter stays with pid");
        assert_eq!(next.set_value("workers"), None, "a scenario key stays with its scenario");
    }

    // Found by the reducer fuzzer (tests/all/fuzz/page.rs), issue 23.

    #[test]
    fn a_reason_with_line_breaks_or_of_any_length_is_one_bounded_notice() {
        let s = state("?scenario=plain-s1&lesson=off");
        let max = crate::engine::keys::MAX_ERROR_CHARS;
        for reason in ["a\nb\r\tc\u{0}".to_string(), "x".repeat(100_000), "a\n".repeat(5_000)] {
            for action in [Action::Reject(reason.clone()), Action::Halt(reason.clone())] {
                let next = s.apply(action);
                assert_eq!(next.notices.len(), 1);
                let n = &next.notices[0];
                assert!(!n.chars().any(char::is_control), "{n:?}");
                assert!(n.chars().count() <= max + 1, "{} characters", n.chars().count());
            }
        }
        assert!(s.apply(Action::Reject("   ".into())).notices.is_empty(), "no empty notice");
        // Reader text quoted in a notice is escaped and cut too.
        let next = s.apply(Action::PickScenario(format!("a\n{}", "y".repeat(10_000))));
        assert!(!next.notices[0].contains('\n') && next.notices[0].chars().count() < 200, "{:?}", next.notices);
    }

    #[test]
    fn the_links_own_keys_are_not_settings() {
        let s = state("?scenario=plain-s1&lesson=off");
        for key in ["seed", "scenario", "speed", "lesson", "embed", "file", "length", "at", "ab"] {
            let next = s.apply(Action::SetParam(key.into(), "5".into()));
            assert_eq!((&next.url, next.generation), (&s.url, s.generation), "{key}");
            assert!(next.notices[0].contains(key), "{:?}", next.notices);
        }
    }

    #[test]
    fn a_run_is_extended_only_from_a_simulated_time() {
        let s = state("?scenario=plain-s1&lesson=off");
        for end in [f64::NAN, f64::INFINITY, -5.0, 1e300] {
            let next = s.apply(Action::Extend(end));
            assert_eq!((&next.url, next.seek_to, next.generation), (&s.url, s.seek_to, s.generation), "{end}");
            assert_eq!(next.notices.len(), 1, "{end}");
        }
        let next = s.apply(Action::Extend(300.0));
        assert_eq!((next.url.length_s, next.seek_to), (Some(600.0), Some(300.0)));
    }

    #[test]
    fn a_refused_file_or_scenario_keeps_the_watched_server() {
        let s = state("?scenario=plain-s1&lesson=off").apply(Action::Watch(3));
        // A keyed file whose length no link can carry (0.2 s, under the page's 1 s) is refused as a whole.
        let def = registry::find("galera-full-crash").unwrap();
        let spec = crate::registry::RunSpec { duration_s: Some(0.2), time_step_s: Some(0.01), ..Default::default() };
        let text = def.export_file(&spec).unwrap();
        let next = s.apply(Action::OpenScenario("short.toml".into(), text));
        assert_eq!((&next.url, next.watched), (&s.url, Some(3)), "{:?}", next.notices);
        assert!(!next.notices.is_empty());
    }

    #[test]
    fn settings_past_the_bound_are_refused() {
        // A repeatable key may be set again and again, up to SETS_MAX pairs in all.
        let mut s = state("?scenario=plain-s1&lesson=off");
        for i in 0..SETS_MAX + 3 {
            s = s.apply(Action::SetParam("fault".into(), format!("crash:db1119@{}", i + 1)));
            assert!(s.url.sets.len() <= SETS_MAX, "{} pairs", s.url.sets.len());
        }
        assert_eq!(s.url.sets.len(), SETS_MAX);
        assert!(!s.notices.is_empty(), "the refusal says why");
    }
}
