//! (i) The page's reducer (`loadlab::page::state`): random sequences of every action kind, with adversarial
//! payloads (unknown scenario and controller names, out-of-range values, huge and multi-line strings, commands
//! of the wrong model, files of every model, mutated), starting from a link of any model; the reducer's laws are
//! checked after every action.
//!
//! The laws, from the module's doc comments:
//! - **The link reproduces the state**: `parse_query(to_query(url))` gives `url` back with no notice ("the page
//!   can never hold a state that a shared link would not reproduce").
//! - **Bounded**: at most one notice, one line of at most `MAX_ERROR_CHARS` (+ the ellipsis); at most
//!   `SETS_MAX` `--set` pairs; the speed within `SPEED_MIN..=SPEED_MAX`; a lesson step that exists; a seek
//!   target that is a simulated time; a chart window that is a positive length.
//! - **Generation**: bumped by one by "every change that needs a fresh run from time zero (scenario, controller,
//!   parameter, seed, restart, a lesson step back)", unchanged by the rest (live commands, speed, play, step).
//! - **A refused action changes nothing but the notices** (it says why); an accepted one changes only what the
//!   action's doc comment says it changes, and clears the notices (an opened file says so instead).

use loadlab::engine::keys::{KeyKind, MAX_ERROR_CHARS};
use loadlab::engine::scenario::View;
use loadlab::page::state::{step_time, Action, State, SETS_MAX};
use loadlab::registry;
use loadlab::urlstate::{self, LENGTH_MAX_S, LENGTH_MIN_S, SPEED_MAX, SPEED_MIN};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::rc::Rc;

use super::{apply_edit, build_case, check, cmd, default_run, edit, long_cases, num, scenarios, set_pick};
use super::{BuildCase, Cmd, Edit, Num, SetPick};

/// Text no scenario, controller, seed or key accepts, or that tries to smuggle a query into one: empty,
/// blank, unknown, separators, control characters, right-to-left marks, long and huge strings.
fn junk(i: usize) -> String {
    match i % 14 {
        0 => String::new(),
        1 => "   ".into(),
        2 => "nope".into(),
        3 => "slow&seed=2&kp=1".into(),
        4 => "scenario=slow".into(),
        5 => "a\nb\r\tc\u{0}".into(),
        6 => "\u{202e}evil\u{200b}".into(),
        7 => "%0A%26%3D".into(),
        8 => "🙂".repeat(300),
        9 => "x".repeat(100_000),
        10 => "\n".repeat(5_000),
        11 => "NaN".into(),
        12 => "-1".into(),
        _ => "../../etc/passwd".into(),
    }
}

/// A name: one that exists (sometimes padded with blanks, which the reducer trims), or [`junk`].
#[derive(Clone, Debug)]
enum Name {
    Known(usize, bool),
    Junk(usize),
}

fn name() -> impl Strategy<Value = Name> {
    prop_oneof![
        4 => (any::<usize>(), prop::bool::weighted(0.2)).prop_map(|(i, pad)| Name::Known(i, pad)),
        1 => any::<usize>().prop_map(Name::Junk),
    ]
}

impl Name {
    fn render(&self, names: &[&str]) -> String {
        match self {
            Name::Known(i, pad) => {
                let n = names[i % names.len()];
                if *pad {
                    format!("  {n}\t")
                } else {
                    n.to_string()
                }
            }
            Name::Junk(i) => junk(*i),
        }
    }
}

/// A simulated time (or what the page's host could pass as one): a fraction of a day, the edges, nonsense.
#[derive(Clone, Debug)]
enum Time {
    Frac(f64),
    Zero,
    Negative,
    Huge,
    NotANumber,
    Infinite,
}

fn time() -> impl Strategy<Value = Time> {
    prop_oneof![
        8 => (0.0..1.0f64).prop_map(Time::Frac),
        1 => Just(Time::Zero),
        1 => Just(Time::Negative),
        1 => Just(Time::Huge),
        1 => Just(Time::NotANumber),
        1 => Just(Time::Infinite),
    ]
}

/// A chart window's text.
#[derive(Clone, Debug)]
enum ViewText {
    Span(Time, Time),
    Last(Time),
    All,
    Empty,
    Junk(usize),
}

fn view_text() -> impl Strategy<Value = ViewText> {
    prop_oneof![
        4 => (time(), time()).prop_map(|(a, b)| ViewText::Span(a, b)),
        2 => time().prop_map(ViewText::Last),
        1 => Just(ViewText::All),
        1 => Just(ViewText::Empty),
        1 => any::<usize>().prop_map(ViewText::Junk),
    ]
}

impl ViewText {
    fn text(&self) -> String {
        match self {
            ViewText::Span(a, b) => format!("{}..{}", a.value(), b.value()),
            ViewText::Last(t) => format!("{}", t.value()),
            ViewText::All => "all".into(),
            ViewText::Empty => String::new(),
            ViewText::Junk(i) => ["..", "1..", "x..y", "3e400..1", "  -0 .. 5", "\u{0}"][i % 6].into(),
        }
    }
}

impl Time {
    fn value(&self) -> f64 {
        match self {
            Time::Frac(f) => f * 86_400.0,
            Time::Zero => 0.0,
            Time::Negative => -5.0,
            Time::Huge => 1e300,
            Time::NotANumber => f64::NAN,
            Time::Infinite => f64::INFINITY,
        }
    }
}

/// Which `--set` key a `SetParam` names.
#[derive(Clone, Debug)]
enum Key {
    /// One of the scenario's keys, with a value drawn against its range ([`SetPick`]).
    Scenario(SetPick),
    /// A parameter of controller A (false) or B (true), with a value relative to its range.
    Controller(bool, usize, Num),
    /// A key the page reads itself, or no key at all, with any value.
    Adversarial(usize, usize),
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        5 => set_pick().prop_map(Key::Scenario),
        3 => (any::<bool>(), any::<usize>(), num()).prop_map(|(b, i, n)| Key::Controller(b, i, n)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(k, v)| Key::Adversarial(k, v)),
    ]
}

/// Keys that are not `--set` keys: the link's own (which a `SetParam` must not reach), none, unknown, huge.
const ADVERSARIAL_KEYS: &[&str] = &[
    "scenario",
    "controller",
    "ab",
    "seed",
    "speed",
    "length",
    "at",
    "lesson",
    "step",
    "embed",
    "watch",
    "file",
    "",
    "no_such_key",
    "db9999.load",
    "kp&seed=3",
];

/// One action, with its payload drawn against whatever state it meets.
#[derive(Clone, Debug)]
enum Act {
    PickScenario(Name),
    PickController(Name),
    /// `None`: "" (end the comparison).
    PickControllerB(Option<Name>),
    /// The key, and whether to send "" (back to the default) instead of a value.
    SetParam(Key, bool),
    /// A seed in range, or junk text.
    SetSeed(Result<u64, usize>),
    SetSpeed(Num),
    TogglePlay,
    Step,
    Restart,
    LessonNext(Time),
    LessonBack,
    LessonSkip,
    LessonStart,
    Watch(usize),
    /// A command of the current scenario's table (or not), recorded at a time, answered by the runs of the
    /// current link or (`Some`) of another scenario's, whose link gave way before the answer came.
    Record(Cmd, Time, Option<usize>),
    Reject(usize),
    Halt(usize),
    DismissNotice,
    /// A chart window as the picker, the brush or a link write it: a span, a last-seconds length, `all`, empty
    /// (the step's own), or junk.
    SetView(ViewText),
    Extend(Time),
    /// A file of any scenario with some keys, edited, under some name; or junk text.
    OpenScenario(BuildCase, Vec<Edit>, Option<usize>, Option<usize>),
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        2 => name().prop_map(Act::PickScenario),
        2 => name().prop_map(Act::PickController),
        2 => prop::option::of(name()).prop_map(Act::PickControllerB),
        8 => (key(), prop::bool::weighted(0.15)).prop_map(|(k, reset)| Act::SetParam(k, reset)),
        1 => prop_oneof![3 => any::<u64>().prop_map(Ok), 1 => any::<usize>().prop_map(Err)].prop_map(Act::SetSeed),
        2 => num().prop_map(Act::SetSpeed),
        1 => Just(Act::TogglePlay),
        1 => Just(Act::Step),
        1 => Just(Act::Restart),
        2 => time().prop_map(Act::LessonNext),
        1 => Just(Act::LessonBack),
        1 => Just(Act::LessonSkip),
        1 => Just(Act::LessonStart),
        1 => any::<usize>().prop_map(Act::Watch),
        4 => (cmd(), time(), prop::option::weighted(0.25, any::<usize>())).prop_map(|(c, t, o)| Act::Record(c, t, o)),
        1 => any::<usize>().prop_map(Act::Reject),
        1 => any::<usize>().prop_map(Act::Halt),
        1 => Just(Act::DismissNotice),
        1 => view_text().prop_map(Act::SetView),
        1 => time().prop_map(Act::Extend),
        1 => (
            build_case(),
            prop_oneof![3 => Just(Vec::new()), 1 => prop::collection::vec(edit(), 1..3)],
            prop::option::of(any::<usize>()),
            prop::option::weighted(0.1, any::<usize>())
        )
            .prop_map(|(b, e, n, j)| Act::OpenScenario(b, e, n, j)),
    ]
}

thread_local! {
    /// Each scenario's default run, for its command table and target names (built once per thread).
    static TEMPLATES: std::cell::RefCell<std::collections::HashMap<&'static str, Box<dyn loadlab::engine::run::Run>>> =
        Default::default();
}

/// `f` on the default run of the scenario named `scenario`.
fn with_template<T>(scenario: &str, f: impl FnOnce(&dyn loadlab::engine::run::Run) -> T) -> T {
    let def = registry::find(scenario).expect("the state's scenario is registered");
    TEMPLATES.with(|t| {
        let mut t = t.borrow_mut();
        let run = t.entry(def.name).or_insert_with(|| default_run(def));
        f(run.as_ref())
    })
}

fn controller_names() -> Vec<&'static str> {
    loadlab::controller::controllers().iter().map(|c| c.name).collect()
}

impl Act {
    /// The concrete action for the state `s`.
    fn action(&self, s: &State) -> Action {
        match self {
            Act::PickScenario(n) => {
                Action::PickScenario(n.render(&scenarios().iter().map(|d| d.name).collect::<Vec<_>>()))
            }
            Act::PickController(n) => Action::PickController(n.render(&controller_names())),
            Act::PickControllerB(n) => {
                Action::PickControllerB(n.as_ref().map_or(String::new(), |n| n.render(&controller_names())))
            }
            Act::SetParam(k, reset) => {
                let (key, value) = match k {
                    Key::Scenario(pick) => {
                        let def = s.def().expect("registered");
                        with_template(def.name, |run| pick.render(def, run, 86_400.0))
                    }
                    Key::Controller(b, i, n) => {
                        let c = if *b {
                            s.url.controller_b.as_deref().unwrap_or(&s.url.controller)
                        } else {
                            &s.url.controller
                        };
                        match loadlab::controller::controller_info(c).map(|c| c.params).filter(|p| !p.is_empty()) {
                            Some(params) => {
                                let p = &params[i % params.len()];
                                (p.key.to_string(), n.render(p.min, p.max))
                            }
                            None => ("kp".to_string(), n.render(0.0, 1.0)),
                        }
                    }
                    Key::Adversarial(k, v) => (ADVERSARIAL_KEYS[k % ADVERSARIAL_KEYS.len()].to_string(), junk(*v)),
                };
                Action::SetParam(key, if *reset { String::new() } else { value })
            }
            Act::SetSeed(Ok(seed)) => Action::SetSeed(seed.to_string()),
            Act::SetSeed(Err(j)) => Action::SetSeed(if j % 3 == 0 { "18446744073709551616".into() } else { junk(*j) }),
            Act::SetSpeed(n) => Action::SetSpeed(n.render(SPEED_MIN, SPEED_MAX)),
            Act::TogglePlay => Action::TogglePlay,
            Act::Step => Action::Step,
            Act::Restart => Action::Restart,
            Act::LessonNext(t) => Action::LessonNext(t.value()),
            Act::LessonBack => Action::LessonBack,
            Act::LessonSkip => Action::LessonSkip,
            Act::LessonStart => Action::LessonStart,
            Act::Watch(i) => Action::Watch(*i),
            Act::Record(c, t, other) => {
                let text = with_template(&s.url.scenario, |run| c.render(run).0);
                let run = match other {
                    None => s.url.clone(),
                    Some(k) => {
                        let names: Vec<_> =
                            scenarios().into_iter().filter(|d| d.name != s.url.scenario).map(|d| d.name).collect();
                        urlstate::parse_query(&format!("scenario={}", names[k % names.len()])).state
                    }
                };
                Action::Record(text, t.value(), Rc::new(run))
            }
            Act::Reject(j) => Action::Reject(junk(*j)),
            Act::Halt(j) => Action::Halt(junk(*j)),
            Act::DismissNotice => Action::DismissNotice,
            Act::SetView(v) => Action::SetView(v.text()),
            Act::Extend(t) => Action::Extend(t.value()),
            Act::OpenScenario(b, edits, name, junk_text) => {
                let name = name.map_or("mine.toml".to_string(), junk);
                let text = match junk_text {
                    Some(j) => junk(*j),
                    None => {
                        let spec = b.spec();
                        let mut text = b.def().export_file(&spec).unwrap_or_else(|_| {
                            b.def().export_file(&registry::RunSpec { seed: spec.seed, ..Default::default() }).unwrap()
                        });
                        for e in edits {
                            apply_edit(&mut text, e);
                        }
                        text
                    }
                };
                Action::OpenScenario(name, text)
            }
        }
    }
}

#[derive(Clone, Debug)]
struct PageCase {
    /// The link the page opens with (any model, random keys; edited).
    start: BuildCase,
    /// Open the scenario's lesson (no `lesson=off`), compare with a second controller.
    lesson: bool,
    ab: Option<usize>,
    edits: Vec<Edit>,
    /// Steps appended to the link (the same command at 0, 1, 2, … s under the scenario's first step key), up
    /// to more than a state may hold, and which command (verb and target, indices into the table).
    fill: Option<(u8, usize, usize)>,
    acts: Vec<Act>,
}

fn page_case() -> impl Strategy<Value = PageCase> {
    (
        build_case(),
        any::<bool>(),
        prop::option::weighted(0.3, any::<usize>()),
        prop_oneof![3 => Just(Vec::new()), 1 => prop::collection::vec(edit(), 1..4)],
        prop::option::weighted(0.15, (40u8..70, any::<usize>(), any::<usize>())),
        prop::collection::vec(act(), 1..24),
    )
        .prop_map(|(start, lesson, ab, edits, fill, acts)| PageCase { start, lesson, ab, edits, fill, acts })
}

/// Cuts a payload for printing: a 100 KB string in a failure message helps nobody.
fn short(text: String) -> String {
    if text.chars().count() <= 200 {
        text
    } else {
        format!("{}… ({} chars)", text.chars().take(200).collect::<String>(), text.chars().count())
    }
}

impl PageCase {
    fn query(&self) -> String {
        let spec = self.start.spec();
        let def = self.start.def();
        let mut q = format!("?scenario={}&seed={}", def.name, spec.seed);
        if !self.lesson {
            q.push_str("&lesson=off");
        }
        if def.takes_controller {
            q.push_str(&format!("&controller={}", urlstate::encode(&spec.controller)));
        }
        if let Some(b) = self.ab {
            let names = controller_names();
            q.push_str(&format!("&ab={}", names[b % names.len()]));
        }
        for (k, v) in &spec.sets {
            q.push_str(&format!("&{}={}", urlstate::encode(k), urlstate::encode(v)));
        }
        if let Some((count, verb, target)) = self.fill {
            let step_key = def.keys.iter().find(|k| matches!(k.kind, KeyKind::FaultSpec) && k.key != "surge");
            if let Some(key) = step_key {
                let c = Cmd {
                    verb,
                    target: Some(target),
                    args: vec![Num::Inside(0.5); 3],
                    extra_fields: 0,
                    unknown_verb: false,
                };
                let text = with_template(def.name, |run| c.render(run).0);
                for i in 0..count {
                    q.push_str(&format!("&{}={}", key.key, urlstate::encode(&format!("{text}@{i}"))));
                }
            }
        }
        for e in &self.edits {
            apply_edit(&mut q, e);
        }
        q
    }

    /// The link and the concrete actions, as the reducer met them.
    fn describe(&self) -> String {
        let mut s = State::from_query(&self.query());
        let mut out = format!("open {:?}", self.query());
        for a in &self.acts {
            let action = a.action(&s);
            out += &format!("\n  {}", short(format!("{action:?}")));
            s = s.apply(action);
        }
        out
    }
}

/// The laws every state holds.
fn state_laws(s: &State) -> Result<(), TestCaseError> {
    let query = s.to_query();
    let back = urlstate::parse_query(&query);
    prop_assert_eq!(back.ignored, Vec::<String>::new(), "the state's own link {} is refused", short(query.clone()));
    prop_assert_eq!(&back.state, &s.url, "the link {} gives another state", short(query.clone()));
    let def = s.def();
    prop_assert!(def.is_some(), "scenario {:?}", s.url.scenario);
    prop_assert!(loadlab::controller::controller_info(&s.url.controller).is_some(), "{:?}", s.url.controller);
    prop_assert!(s.notices.len() <= 1, "{} notices", s.notices.len());
    for n in &s.notices {
        prop_assert!(!n.is_empty(), "an empty notice");
        prop_assert!(!n.chars().any(char::is_control), "a notice of several lines: {:?}", short(n.clone()));
        prop_assert!(n.chars().count() <= MAX_ERROR_CHARS + 1, "a notice of {} characters", n.chars().count());
    }
    prop_assert!(s.url.sets.len() <= SETS_MAX, "{} --set pairs, more than {SETS_MAX}", s.url.sets.len());
    prop_assert!(s.url.speed.is_finite() && (SPEED_MIN..=SPEED_MAX).contains(&s.url.speed), "speed {}", s.url.speed);
    if let Some(n) = s.url.lesson {
        prop_assert!(n < def.unwrap().lesson.len(), "lesson step {n} of {}", def.unwrap().lesson.len());
    }
    if let Some(t) = s.seek_to {
        prop_assert!(t.is_finite() && (0.0..=LENGTH_MAX_S).contains(&t), "seek to {t}");
    }
    if let Some(v) = s.url.view {
        prop_assert_eq!(View::parse(&v.to_text()), Ok(v), "the window {:?} does not survive its link", v);
    }
    Ok(())
}

/// True if `n` differs from `s` in its notices at most.
fn only_notices(s: &State, n: &State) -> bool {
    State { notices: s.notices.clone(), ..n.clone() } == *s
}

/// `s` with the run controls (playing, seek, generation) of `n`: for actions that may change only those.
fn with_controls(s: &State, n: &State) -> State {
    State { playing: n.playing, seek_to: n.seek_to, generation: n.generation, ..s.clone() }
}

/// The laws of one transition `s` → `n` under `action`.
fn transition_laws(s: &State, action: &Action, n: &State) -> Result<(), TestCaseError> {
    let bumped = n.generation.wrapping_sub(s.generation);
    prop_assert!(bumped <= 1, "generation {} → {}", s.generation, n.generation);
    let refused = !n.notices.is_empty() && only_notices(s, n);
    let accepted = n.notices.is_empty();
    // Actions that go through the URL: refused (only the notices change, and they say why) or accepted (the
    // notices cleared; an opened file says so).
    let through_url = matches!(
        action,
        Action::PickScenario(_)
            | Action::PickController(_)
            | Action::PickControllerB(_)
            | Action::SetParam(..)
            | Action::SetSeed(_)
            | Action::SetSpeed(_)
            | Action::LessonStart
            | Action::Record(..)
            | Action::Extend(_)
    );
    if through_url {
        prop_assert!(refused || accepted, "neither refused (only notices) nor accepted (no notice): {:?}", n.notices);
    }
    let same_url_but = |url: loadlab::urlstate::UrlState| url == n.url;
    match action {
        Action::PickScenario(raw) => match registry::find(raw.trim()) {
            Err(_) => prop_assert!(refused, "unknown scenario accepted"),
            Ok(def) if accepted => {
                prop_assert_eq!(n.url.scenario.as_str(), def.name);
                prop_assert!(n.url.file.is_none() && n.watched.is_none());
                prop_assert_eq!(bumped, 1);
                // Its scenario keys and steps are dropped; the controllers' parameters stay.
                let lanes: Vec<&str> =
                    std::iter::once(n.url.controller.as_str()).chain(n.url.controller_b.as_deref()).collect();
                let param = |k: &str| lanes.iter().any(|c| loadlab::controller::is_param_of(c, k));
                for (k, v) in &s.url.sets {
                    if param(k) {
                        prop_assert!(n.url.sets.contains(&(k.clone(), v.clone())), "{k}={v} dropped");
                    }
                }
                for (k, _) in &n.url.sets {
                    prop_assert!(
                        param(k) || def.lesson_sets.iter().any(|(l, _)| l == k),
                        "{k} kept from the old scenario"
                    );
                }
            }
            Ok(_) => {}
        },
        Action::PickController(raw) => match loadlab::controller::controller_info(raw.trim()) {
            None => prop_assert!(refused, "unknown controller accepted"),
            Some(info) if accepted => {
                prop_assert_eq!(n.url.controller.as_str(), info.name);
                prop_assert_eq!(bumped, 1);
                let old = s.url.controller.as_str();
                for (k, _) in &n.url.sets {
                    let b = n.url.controller_b.as_deref().is_some_and(|b| loadlab::controller::is_param_of(b, k));
                    prop_assert!(
                        !loadlab::controller::is_param_of(old, k)
                            || loadlab::controller::is_param_of(info.name, k)
                            || b,
                        "{old}'s parameter {k} kept under {}",
                        info.name
                    );
                }
            }
            Some(_) => {}
        },
        Action::PickControllerB(raw) => match (raw.trim(), loadlab::controller::controller_info(raw.trim())) {
            ("", _) => prop_assert!(refused || n.url.controller_b.is_none(), "the comparison did not end"),
            (_, None) => prop_assert!(refused, "unknown controller accepted for A/B"),
            (_, Some(info)) => prop_assert!(refused || n.url.controller_b.as_deref() == Some(info.name)),
        },
        Action::SetParam(key, raw) if accepted => {
            prop_assert_eq!(bumped, 1);
            prop_assert!(
                same_url_but(urlstate::UrlState { sets: n.url.sets.clone(), ..s.url.clone() }),
                "{key} changed more than the keys: {:?}",
                n.url
            );
            let value = raw.trim();
            if value.is_empty() {
                let lesson = n.url.lesson.is_some() && n.def().unwrap().lesson_sets.iter().any(|(k, _)| k == key);
                prop_assert!(n.set_value(key).is_none() || lesson, "{key} still set after its reset");
            } else {
                let normal = value.parse::<f64>().map_or(value.to_string(), |v| format!("{v}"));
                prop_assert_eq!(n.set_value(key), Some(normal.as_str()), "{} not set", key);
            }
        }
        Action::SetSeed(raw) => match raw.trim().parse::<u64>() {
            Err(_) => prop_assert!(refused, "seed {raw:?} accepted"),
            Ok(seed) if accepted => {
                prop_assert_eq!(bumped, 1);
                let url = urlstate::UrlState { seed, ..s.url.clone() };
                prop_assert!(same_url_but(url), "seed {seed} changed more than the seed");
            }
            Ok(_) => {}
        },
        Action::SetSpeed(raw) => match raw.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && (SPEED_MIN..=SPEED_MAX).contains(&v) => {
                prop_assert!(accepted, "speed {v} refused: {:?}", n.notices);
                // A speed change keeps the run going: no restart, no seek, same play state.
                prop_assert_eq!(
                    n,
                    &State { url: urlstate::UrlState { speed: v, ..s.url.clone() }, notices: vec![], ..s.clone() }
                );
            }
            _ => prop_assert!(refused, "speed {raw:?} accepted"),
        },
        Action::TogglePlay => {
            let seek_to = if s.playing { s.seek_to } else { None };
            prop_assert_eq!(n, &State { playing: !s.playing, seek_to, ..s.clone() });
        }
        Action::Step => {
            prop_assert_eq!(n, &State { playing: false, seek_to: None, steps: s.steps.wrapping_add(1), ..s.clone() });
        }
        Action::Restart => {
            prop_assert_eq!(bumped, 1);
            prop_assert_eq!(n, &with_controls(s, n));
            lesson_pose(n)?;
        }
        Action::LessonNext(now) => {
            let def = s.def().unwrap();
            match s.url.lesson.map(|k| k + 1).filter(|&k| k < def.lesson.len()) {
                Some(k) => {
                    let at = def.lesson[k].at_s;
                    prop_assert_eq!(n.url.lesson, Some(k));
                    prop_assert_eq!(bumped, (at + 1e-9 < *now) as u32, "a step at {} s from {} s", at, now);
                    // A step shows its own window: the reader's choice was about the step before.
                    prop_assert_eq!(n.url.view, None);
                    lesson_pose(n)?;
                }
                None => free_play(s, n, 0)?,
            }
            prop_assert_eq!(&n.url, &urlstate::UrlState { lesson: n.url.lesson, view: n.url.view, ..s.url.clone() });
        }
        Action::LessonBack => {
            match s.url.lesson {
                Some(k) => {
                    prop_assert_eq!(n.url.lesson, Some(k.saturating_sub(1)));
                    prop_assert_eq!(bumped, 1, "going back replays from the seed");
                    prop_assert_eq!(n.url.view, None);
                    lesson_pose(n)?;
                }
                None => free_play(s, n, 0)?,
            }
            prop_assert_eq!(&n.url, &urlstate::UrlState { lesson: n.url.lesson, view: n.url.view, ..s.url.clone() });
        }
        Action::LessonSkip => free_play(s, n, 0)?,
        Action::LessonStart => {
            if s.def().unwrap().lesson.is_empty() {
                prop_assert!(refused, "a lesson started in a scenario without one");
            } else if accepted {
                prop_assert_eq!((n.url.lesson, n.url.view, bumped), (Some(0), None, 1));
                lesson_pose(n)?;
            }
        }
        Action::Watch(i) => prop_assert_eq!(n, &State { watched: Some(*i), ..s.clone() }),
        Action::SetView(text) => {
            // Never a restart; a window the one parser takes is shown, anything else refused.
            prop_assert_eq!(bumped, 0);
            match text.trim() {
                "" => prop_assert_eq!(n.url.view, None),
                t => match View::parse(t) {
                    Ok(v) => prop_assert_eq!(n.url.view, Some(v)),
                    Err(_) => prop_assert!(refused, "the window {:?} was not refused", t),
                },
            }
        }
        Action::Record(text, _, run) if run.scenario != s.url.scenario => {
            // Answered by a run of another scenario's link: nothing of it belongs in this one.
            prop_assert!(
                refused,
                "{text} from a {} run recorded in {}: {:?}",
                run.scenario,
                s.url.scenario,
                n.url.sets
            );
            prop_assert!(n.notices[0].contains("a new run started before it took effect"), "{:?}", n.notices);
        }
        Action::Record(text, at, _) => {
            if accepted {
                // Recorded as one more step, after the others, at its time; the run goes on.
                prop_assert_eq!(bumped, 0);
                prop_assert_eq!(n.url.sets.len(), s.url.sets.len() + 1, "{} recorded as {:?}", text, n.url.sets);
                prop_assert_eq!(&n.url.sets[..s.url.sets.len()], &s.url.sets[..]);
                let (_, value) = n.url.sets.last().unwrap();
                prop_assert!(value.ends_with(&format!("@{}", step_time(*at))), "{text} at {at} recorded as {value}");
                prop_assert_eq!(n, &State { url: n.url.clone(), notices: vec![], ..s.clone() });
            }
        }
        Action::Reject(reason) | Action::Halt(reason) => {
            // The notice says why: a plain reason (one line) is shown from its start.
            if !reason.chars().any(char::is_control) && !reason.trim().is_empty() {
                let head: String = reason.chars().take(100).collect();
                prop_assert!(n.notices.len() == 1 && n.notices[0].starts_with(head.trim_end()), "{:?}", n.notices);
            }
            if matches!(action, Action::Halt(_)) {
                prop_assert_eq!(n, &State { playing: false, seek_to: None, notices: n.notices.clone(), ..s.clone() });
            } else {
                prop_assert!(only_notices(s, n));
            }
        }
        Action::DismissNotice => prop_assert_eq!(n, &State { notices: vec![], ..s.clone() }),
        Action::OpenScenario(name, _) => {
            let opened = n.notices.len() == 1 && n.notices[0].starts_with("Opened ");
            prop_assert!(opened || refused, "{} neither opened nor refused: {:?}", short(name.clone()), n.notices);
            if opened {
                prop_assert_eq!(bumped, 1);
                prop_assert!(n.url.lesson.is_none() && n.url.controller_b.is_none() && n.url.at_s.is_none());
                prop_assert!(n.watched.is_none());
            }
        }
        Action::Extend(end) => {
            if !(end.is_finite() && (0.0..=LENGTH_MAX_S).contains(end)) {
                prop_assert!(refused, "the run extended from {end} s");
            } else if accepted {
                prop_assert_eq!(bumped, 1);
                prop_assert_eq!(n.url.length_s, Some((2.0 * end).clamp(LENGTH_MIN_S, LENGTH_MAX_S)));
                prop_assert_eq!((n.seek_to, n.playing), (Some(*end), true));
            }
        }
        Action::SetParam(..) => {}
    }
    Ok(())
}

/// In a lesson step the run is paused at the step's moment; in free play it plays.
fn lesson_pose(n: &State) -> Result<(), TestCaseError> {
    match n.url.lesson {
        Some(k) => prop_assert_eq!((n.playing, n.seek_to), (false, Some(n.def().unwrap().lesson[k].at_s))),
        None => prop_assert_eq!((n.playing, n.seek_to), (true, None)),
    }
    Ok(())
}

/// Free play: no lesson step, playing, nothing to seek, no restart.
fn free_play(s: &State, n: &State, bumped: u32) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        n,
        &State {
            url: urlstate::UrlState { lesson: None, ..s.url.clone() },
            playing: true,
            seek_to: None,
            generation: s.generation.wrapping_add(bumped),
            ..s.clone()
        }
    );
    Ok(())
}

/// Tallies what the actions did (changed more than the notices, or not), so a fuzzer whose actions are all
/// refused fails.
#[derive(Default)]
struct Counts {
    actions: std::cell::Cell<u64>,
    changed: std::cell::Cell<u64>,
    kinds: std::cell::RefCell<std::collections::BTreeMap<&'static str, (u64, u64)>>,
}

fn kind(a: &Action) -> &'static str {
    match a {
        Action::PickScenario(_) => "PickScenario",
        Action::PickController(_) => "PickController",
        Action::PickControllerB(_) => "PickControllerB",
        Action::SetParam(..) => "SetParam",
        Action::SetSeed(_) => "SetSeed",
        Action::SetSpeed(_) => "SetSpeed",
        Action::TogglePlay => "TogglePlay",
        Action::Step => "Step",
        Action::Restart => "Restart",
        Action::LessonNext(_) => "LessonNext",
        Action::LessonBack => "LessonBack",
        Action::LessonSkip => "LessonSkip",
        Action::LessonStart => "LessonStart",
        Action::Watch(_) => "Watch",
        Action::Record(..) => "Record",
        Action::Reject(_) => "Reject",
        Action::Halt(_) => "Halt",
        Action::DismissNotice => "DismissNotice",
        Action::SetView(_) => "SetView",
        Action::Extend(_) => "Extend",
        Action::OpenScenario(..) => "OpenScenario",
    }
}

fn page_property(case: PageCase, counts: &Counts) -> Result<(), TestCaseError> {
    let mut s = State::from_query(&case.query());
    state_laws(&s).map_err(|e| TestCaseError::fail(format!("the opening state: {e}")))?;
    for (i, a) in case.acts.iter().enumerate() {
        let action = a.action(&s);
        let n = s.apply(action.clone());
        let what = || short(format!("{action:?}"));
        state_laws(&n).map_err(|e| TestCaseError::fail(format!("after action {i} {}: {e}", what())))?;
        transition_laws(&s, &action, &n).map_err(|e| TestCaseError::fail(format!("action {i} {}: {e}", what())))?;
        let changed = !only_notices(&s, &n);
        counts.actions.set(counts.actions.get() + 1);
        counts.changed.set(counts.changed.get() + changed as u64);
        let mut kinds = counts.kinds.borrow_mut();
        let entry = kinds.entry(kind(&action)).or_default();
        *entry = (entry.0 + 1, entry.1 + changed as u64);
        s = n;
    }
    Ok(())
}

impl Counts {
    /// Prints what happened and fails unless every action kind was met, and each that can change more than the
    /// notices did at least once.
    fn report(&self, what: &str) {
        let kinds = self.kinds.borrow();
        println!(
            "{what}: {} actions, {} changed more than the notices; by kind (met, changed): {kinds:?}",
            self.actions.get(),
            self.changed.get()
        );
        for k in [
            "PickScenario",
            "PickController",
            "PickControllerB",
            "SetParam",
            "SetSeed",
            "SetSpeed",
            "TogglePlay",
            "Step",
            "Restart",
            "LessonNext",
            "LessonBack",
            "LessonSkip",
            "LessonStart",
            "Watch",
            "Record",
            "Reject",
            "Halt",
            "DismissNotice",
            "SetView",
            "Extend",
            "OpenScenario",
        ] {
            let (met, changed) = kinds.get(k).copied().unwrap_or_default();
            let only_says = matches!(k, "Reject" | "DismissNotice");
            assert!(met > 0 && (changed > 0 || only_says), "{what}: {k} met {met} times, changed the state {changed}");
        }
    }
}

#[test]
fn fuzz_page_actions_keep_the_reducers_laws() {
    let counts = Counts::default();
    check("page_actions", 160, page_case(), PageCase::describe, |c| page_property(c, &counts));
    counts.report("page actions");
}

#[test]
#[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
fn fuzz_long_page_actions() {
    let counts = Counts::default();
    check("page_actions_long", long_cases(10), page_case(), PageCase::describe, |c| page_property(c, &counts));
    counts.report("page actions");
}
