//! The page's whole state as a URL query string, and back.
//!
//! A shared link must reproduce the same run: scenario, controller (and an optional second one for A/B), seed,
//! speed, and every `--set` pair under the same key the CLI uses (`fault_at=30`, `kp=0.05`,
//! `fault=slow:db1119:10@30`, `operator=depool:db1119@40`). A bad link still gives a working page: every part
//! that is unknown, malformed, out of range or beyond the size bounds is dropped with a notice naming it, and
//! the rest is used. Scenarios, their keys and their lessons come from [`crate::registry`], so a scenario added
//! there opens from a link with no change here. Pure and native-testable; the web app only reads `location.search` and writes
//! `history.replaceState`.

use crate::controller::controller_info;
use crate::engine::scenario::View;
use crate::registry::{self, RunSpec, ScenarioDef};

/// Longest query string read; the rest is ignored with a notice. Room for a [`MAX_FILE_CHARS`] scenario file,
/// percent-encoded, beside the rest.
pub const MAX_QUERY_LEN: usize = 32_768;
/// Longest scenario file a link carries (`file=`), characters as decoded: a section of a few dozen servers.
/// The page refuses to open a longer one and says to run it with the command line.
pub const MAX_FILE_CHARS: usize = 8_192;
/// Most parameters read.
pub const MAX_PARAMS: usize = 64;
/// Most `--set` pairs a state holds, the lesson's own keys included, so that its link stays within
/// [`MAX_PARAMS`] (the top-level keys [`to_query`] writes take the other 10).
pub const MAX_SETS: usize = MAX_PARAMS - 10;
/// Longest single value.
pub const MAX_VALUE_LEN: usize = 256;
/// Simulation speed bounds, × real time.
pub const SPEED_MIN: f64 = 0.1;
/// See [`SPEED_MIN`].
pub const SPEED_MAX: f64 = 1000.0;

/// What a URL describes.
#[derive(Clone, Debug, PartialEq)]
pub struct UrlState {
    /// Scenario name; default `slow` (the seed's main story).
    pub scenario: String,
    /// Controller name; default `static`.
    pub controller: String,
    /// Second controller for side-by-side A/B on the same seed and faults, if any.
    pub controller_b: Option<String>,
    /// Seed of every random stream; default 1.
    pub seed: u64,
    /// Simulated seconds per real second; default 10.
    pub speed: f64,
    /// Compact view for embedding in runbook pages.
    pub embed: bool,
    /// Watch only: the compact view with every control hidden (implies `embed`).
    pub watch: bool,
    /// The lesson step shown, or `None` in free play. A scenario with a lesson opens at step 0 unless the link
    /// says `lesson=off` or embeds the page.
    pub lesson: Option<usize>,
    /// `--set` pairs in order, each accepted by `scenario::build` for both controllers.
    pub sets: Vec<(String, String)>,
    /// The run's length, simulated seconds, when the reader extended it past the scenario's own.
    pub length_s: Option<f64>,
    /// The moment a link opens at, simulated seconds: the page fast-forwards there (free play only; a lesson
    /// step has its own moment).
    pub at_s: Option<f64>,
    /// A scenario file the reader opened whose whole config the run reads (a section's own servers), carried
    /// in the link as `file=`; `sets` then hold only steps and controller parameters. Files of models
    /// configured by keys become `sets` instead.
    pub file: Option<std::sync::Arc<str>>,
    /// The stretch of simulated time the charts show, when the reader chose one (`window=all`, `window=300`
    /// for the last 300 s, `window=6900..8100`); `None` shows the lesson step's own, or the whole run.
    pub view: Option<View>,
}

impl Default for UrlState {
    fn default() -> Self {
        UrlState {
            scenario: "slow".into(),
            controller: "static".into(),
            controller_b: None,
            seed: 1,
            speed: 10.0,
            embed: false,
            watch: false,
            lesson: None,
            sets: Vec::new(),
            length_s: None,
            at_s: None,
            file: None,
            view: None,
        }
    }
}

impl UrlState {
    /// True when the commands recorded in `old`'s link are all in this one: the same scenario (and scenario
    /// file), and every step of `old` (a setting of a key that replays a command, `fault=crash:db1119@2`) still
    /// here. The page's reducer keeps them through a restart, another setting, seed or controller, a lesson step
    /// back; another scenario drops them. A command a run answered after its link gave way to this one belongs
    /// here only then: the runs carry it over (`web::runner::Engine::rebuild`) and the page records it
    /// (`page::state::Action::Record`) by this one rule.
    pub fn keeps_commands_of(&self, old: &UrlState) -> bool {
        let Ok(def) = registry::find(&old.scenario) else { return false };
        old.scenario == self.scenario
            && old.file == self.file
            && old.sets.iter().filter(|(k, _)| def.is_step(k)).all(|step| self.sets.contains(step))
    }
}

/// A parsed URL: the state to run, and one notice per part that was ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// What to run.
    pub state: UrlState,
    /// Human-readable reasons, one per ignored part.
    pub ignored: Vec<String>,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space, `%XX` a byte); invalid escapes stay as
/// they are, invalid UTF-8 becomes U+FFFD.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a key or value so that [`decode`] returns it: unreserved characters and `:@,` stay readable.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:@,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Shortens text for a notice.
fn clip(s: &str) -> String {
    // Control characters escaped (a %0A in a link must not make a notice two lines), at most 40 kept.
    let mut c = String::new();
    for ch in s.chars().take(40) {
        if ch.is_control() {
            c.extend(ch.escape_default());
        } else {
            c.push(ch);
        }
    }
    if s.chars().count() > 40 {
        c.push('…');
    }
    c
}

/// Parses a query string (with or without the leading `?`).
pub fn parse_query(query: &str) -> Parsed {
    let mut state = UrlState::default();
    let mut ignored = Vec::new();
    let query = query.strip_prefix('?').unwrap_or(query);
    let query = if query.len() > MAX_QUERY_LEN {
        ignored.push(format!("the link is longer than {MAX_QUERY_LEN} characters; the rest was ignored"));
        let mut end = MAX_QUERY_LEN;
        while !query.is_char_boundary(end) {
            end -= 1;
        }
        &query[..end]
    } else {
        query
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (n, part) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
        if n >= MAX_PARAMS {
            ignored.push(format!("more than {MAX_PARAMS} parameters; the rest were ignored"));
            break;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let (k, v) = (decode(k), decode(v));
        if k == "file" && v.chars().count() > MAX_FILE_CHARS {
            ignored.push(format!("file: longer than {MAX_FILE_CHARS} characters"));
            continue;
        }
        if v.len() > MAX_VALUE_LEN && k != "file" {
            ignored.push(format!("{}: value longer than {MAX_VALUE_LEN} characters", clip(&k)));
            continue;
        }
        pairs.push((k, v));
    }
    // Top-level keys first: the scenario and controllers decide which other keys are valid.
    for (k, v) in &pairs {
        match k.as_str() {
            "scenario" => match registry::find(v) {
                Ok(s) => state.scenario = s.name.to_string(),
                Err(_) => ignored.push(format!("unknown scenario '{}'", clip(v))),
            },
            "controller" => match controller_info(v) {
                Some(c) => state.controller = c.name.to_string(),
                None => ignored.push(format!("unknown controller '{}'", clip(v))),
            },
            "ab" | "controller_b" => match controller_info(v) {
                Some(c) => state.controller_b = Some(c.name.to_string()),
                None if v.is_empty() => {}
                None => ignored.push(format!("unknown controller '{}' for A/B", clip(v))),
            },
            "seed" => match v.trim().parse::<u64>() {
                Ok(seed) => state.seed = seed,
                Err(_) => ignored.push(format!("seed '{}' is not a whole number from 0 to {}", clip(v), u64::MAX)),
            },
            "speed" => match v.trim().parse::<f64>() {
                Ok(s) if s.is_finite() && (SPEED_MIN..=SPEED_MAX).contains(&s) => state.speed = s,
                _ => ignored.push(format!("speed '{}' is not from {SPEED_MIN} to {SPEED_MAX}", clip(v))),
            },
            "length" => match v.trim().parse::<f64>() {
                Ok(s) if s.is_finite() && (LENGTH_MIN_S..=LENGTH_MAX_S).contains(&s) => state.length_s = Some(s),
                _ => ignored.push(format!("length '{}' is not from {LENGTH_MIN_S} to {LENGTH_MAX_S} s", clip(v))),
            },
            "at" | "start" => match v.trim().parse::<f64>() {
                Ok(s) if s.is_finite() && (0.0..=LENGTH_MAX_S).contains(&s) => state.at_s = Some(s),
                _ => ignored.push(format!("at '{}' is not a time from 0 to {LENGTH_MAX_S} s", clip(v))),
            },
            "window" => match View::parse(v) {
                Ok(view) => state.view = Some(view),
                Err(e) => ignored.push(format!("window '{}': {e}", clip(v))),
            },
            "embed" => state.embed = matches!(v.as_str(), "1" | "true" | "yes" | ""),
            "watch" => state.watch = matches!(v.as_str(), "1" | "true" | "yes" | ""),
            _ => {}
        }
    }
    state.embed |= state.watch;
    if let Some((_, text)) = pairs.iter().rev().find(|(k, _)| k == "file") {
        let names_controller = pairs.iter().any(|(k, _)| k == "controller");
        open_link_file(&mut state, text, names_controller, &mut ignored);
    }
    let def = registry::find(&state.scenario).ok();
    let steps = def.map_or(0, |d| d.lesson.len());
    // A lesson tells its incident's story; a scenario file describes the reader's own cluster, so it opens in
    // free play.
    state.lesson = (steps > 0 && !state.embed && state.file.is_none()).then_some(0);
    // `step=N` opens lesson step N like `lesson=N` (a link to a step reads better with it).
    if let Some((_, v)) = pairs.iter().rev().find(|(k, _)| k == "lesson" || k == "step") {
        match v.trim() {
            "off" => state.lesson = None,
            n => match n.parse::<usize>() {
                Ok(n) if n < steps => state.lesson = Some(n),
                _ => ignored.push(format!(
                    "lesson '{}' is not 'off' or a step from 0 to {}",
                    clip(v),
                    steps.saturating_sub(1)
                )),
            },
        }
    }
    // Every other key is a `--set` pair, kept if both controllers' builds accept it with the ones kept so far
    // (so one bad value never takes the good ones down with it). A lesson's own keys come last, unless the link
    // already sets them.
    // "Sets them" means with a value that was kept: a link with `workers=` (ignored) still gets the lesson's
    // workers, so the cleaned link parses to the same state.
    // A lesson about one controller runs it unless the link names another.
    let names_controller = pairs.iter().any(|(k, _)| k == "controller");
    if let (Some(def), Some(_), false) = (def, state.lesson, names_controller) {
        if let Some(c) = def.lesson_controller.and_then(controller_info) {
            state.controller = c.name.to_string();
        }
    }
    let rest: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| !is_top_level(k)).collect();
    if let Some(def) = def {
        let mut rest = last_values(def, rest, &mut ignored);
        // At most MAX_SETS pairs in all: the link's own leave room for the lesson keys it does not set (one the
        // link sets but that is dropped as invalid took its room already).
        let lesson_missing = match state.lesson {
            Some(_) => def.lesson_sets.iter().filter(|(k, _)| !rest.iter().any(|(r, _)| r == k)).count(),
            None => 0,
        };
        let room = MAX_SETS.saturating_sub(lesson_missing);
        if rest.len() > room {
            ignored.push(format!("more than {MAX_SETS} settings; the last {} were ignored", rest.len() - room));
            rest.truncate(room);
        }
        keep_valid(def, &mut state, rest, &mut ignored);
        if state.lesson.is_some() {
            let lesson: Vec<(String, String)> = (def.lesson_sets.iter())
                .filter(|(k, _)| !state.sets.iter().any(|(key, _)| key == k))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            keep_valid(def, &mut state, lesson, &mut ignored);
        }
    }
    Parsed { state, ignored }
}

/// Reads a link's scenario file: its scenario and its config replace the link's scenario. A file of a model
/// configured by keys is refused (its keys travel as keys).
fn open_link_file(state: &mut UrlState, text: &str, names_controller: bool, ignored: &mut Vec<String>) {
    match registry::open_file("file", text) {
        Ok((def, spec)) if spec.file.is_some() => {
            state.scenario = def.name.to_string();
            state.file = spec.file;
            if def.takes_controller && !spec.controller.is_empty() && !names_controller {
                state.controller = spec.controller;
            }
        }
        Ok((def, _)) => ignored.push(format!("file: scenario {} takes its settings as keys, not a file", def.name)),
        Err(e) => ignored.push(e),
    }
}

/// True for the keys [`parse_query`] reads itself (`scenario`, `seed`, `lesson`, …); every other one is a
/// `--set` pair.
pub fn is_top_level(key: &str) -> bool {
    TOP_LEVEL.contains(&key)
}

/// The keys [`parse_query`] reads itself; every other one is a `--set` pair.
const TOP_LEVEL: &[&str] = &[
    "file",
    "scenario",
    "controller",
    "ab",
    "controller_b",
    "seed",
    "speed",
    "embed",
    "watch",
    "lesson",
    "step",
    "length",
    "at",
    "start",
    "window",
];

/// Shortest and longest run a link may ask for, simulated seconds (the CLI's `--duration` range); the model's
/// own budgets still apply when the run is built.
pub const LENGTH_MIN_S: f64 = 1.0;
/// See [`LENGTH_MIN_S`].
pub const LENGTH_MAX_S: f64 = 1_000_000.0;

/// The `--set` pairs of `sets` that apply to `controller` in `state`: all but the other controller's parameters.
fn own_sets(state: &UrlState, controller: &str, sets: &[(String, String)]) -> Vec<(String, String)> {
    let lanes = std::iter::once(state.controller.as_str()).chain(state.controller_b.as_deref());
    crate::controller::sets_for(controller, lanes, sets)
}

/// True if `sets` builds with every controller of `state`: checked as the build would, without building.
fn builds(def: &'static ScenarioDef, state: &UrlState, sets: &[(String, String)]) -> Result<(), String> {
    let controllers: Vec<&str> = if def.takes_controller {
        std::iter::once(state.controller.as_str()).chain(state.controller_b.as_deref()).collect()
    } else {
        vec![""]
    };
    controllers.iter().try_for_each(|c| {
        let spec = RunSpec {
            controller: c.to_string(),
            sets: own_sets(state, c, sets),
            seed: state.seed,
            duration_s: Some(1.0),
            time_step_s: None,
            file: state.file.clone(),
        };
        def.check_spec(&spec)
    })
}

/// Moves the pairs of `rest` that build into `state.sets`: all at once when they all do (one build per
/// controller), else one at a time, naming each one dropped.
fn keep_valid(def: &'static ScenarioDef, state: &mut UrlState, rest: Vec<(String, String)>, ignored: &mut Vec<String>) {
    if rest.is_empty() {
        return;
    }
    let rest = last_values(def, rest, ignored);
    let mut all = state.sets.clone();
    all.extend(rest.iter().cloned());
    if builds(def, state, &all).is_ok() {
        state.sets = all;
        return;
    }
    for (k, v) in rest {
        let mut trial = state.sets.clone();
        trial.push((k.clone(), v.clone()));
        match builds(def, state, &trial) {
            Ok(()) => state.sets = trial,
            Err(reason) => ignored.push(format!("{}={}: {}", clip(&k), clip(&v), reason)),
        }
    }
}

/// Only the last value of a key that takes one counts (the builders read the last), so earlier ones are dropped
/// with a notice before any check: a link repeating a key 57 times costs one check, not 57.
fn last_values(def: &ScenarioDef, rest: Vec<(String, String)>, ignored: &mut Vec<String>) -> Vec<(String, String)> {
    let later = |i: usize, k: &str| rest[i + 1..].iter().any(|(l, _)| l == k);
    for (i, (k, v)) in rest.iter().enumerate() {
        let first = !rest[..i].iter().any(|(e, _)| e == k);
        let earlier = rest.iter().filter(|(e, _)| e == k).count() - 1;
        if first && !def.is_step(k) && earlier == 1 {
            ignored.push(format!("{}={}: replaced by a later {}", clip(k), clip(v), clip(k)));
        } else if first && !def.is_step(k) && earlier > 1 {
            ignored.push(format!("{} given {} times; only the last counts", clip(k), earlier + 1));
        }
    }
    (rest.iter().enumerate())
        .filter(|(i, (k, _))| def.is_step(k) || !later(*i, k))
        .map(|(_, pair)| pair.clone())
        .collect()
}

/// True if `state` opens at a lesson step by default (its scenario has a lesson and the page is not embedded).
fn lesson_by_default(state: &UrlState) -> bool {
    !state.embed && state.file.is_none() && registry::find(&state.scenario).is_ok_and(|d| !d.lesson.is_empty())
}

/// The query string (without `?`) for a state; `parse_query` of it gives the state back.
pub fn to_query(state: &UrlState) -> String {
    let mut parts =
        vec![format!("scenario={}", encode(&state.scenario)), format!("controller={}", encode(&state.controller))];
    if let Some(file) = &state.file {
        parts.push(format!("file={}", encode(file)));
    }
    if let Some(b) = &state.controller_b {
        parts.push(format!("ab={}", encode(b)));
    }
    parts.push(format!("seed={}", state.seed));
    parts.push(format!("speed={}", state.speed));
    if let Some(l) = state.length_s {
        parts.push(format!("length={l}"));
    }
    if let Some(at) = state.at_s {
        parts.push(format!("at={at}"));
    }
    if let Some(view) = state.view {
        parts.push(format!("window={}", encode(&view.to_text())));
    }
    if state.watch {
        parts.push("watch=1".into());
    } else if state.embed {
        parts.push("embed=1".into());
    }
    match state.lesson {
        Some(0) if lesson_by_default(state) => {}
        Some(n) => parts.push(format!("lesson={n}")),
        None if lesson_by_default(state) => parts.push("lesson=off".into()),
        None => {}
    }
    parts.extend(state.sets.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))));
    parts.join("&")
}

/// Sets `key` to `value`, replacing an earlier value of a single-valued key. Repeatable keys (the scenario's
/// table says which: its steps, `KeyKind::FaultSpec`) append.
pub fn set_param(state: &mut UrlState, key: &str, value: &str) {
    let repeatable = registry::find(&state.scenario).is_ok_and(|d| d.is_step(key));
    if !repeatable {
        state.sets.retain(|(k, _)| k != key);
    }
    state.sets.push((key.to_string(), value.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Rng, Stream};

    #[test]
    fn a_link_keeps_an_old_ones_commands_through_a_restart_a_seed_or_a_controller_not_another_scenario() {
        let old = parse_query("scenario=plain-s1&seed=5&rate_scale=2&fault=crash:db1119@2").state;
        assert!(old.keeps_commands_of(&old), "a restart");
        for kept in [
            "scenario=plain-s1&seed=6&rate_scale=2&fault=crash:db1119@2",
            "scenario=plain-s1&seed=5&rate_scale=3&fault=crash:db1119@2",
            "scenario=plain-s1&seed=5&fault=crash:db1119@2",
            "scenario=plain-s1&seed=5&controller=p2c&fault=crash:db1119@2",
            "scenario=plain-s1&seed=5&fault=crash:db1119@2&fault=crash:db1118@3",
        ] {
            assert!(parse_query(kept).state.keeps_commands_of(&old), "{kept}");
        }
        for dropped in ["scenario=plain-s1&seed=5", "scenario=slow&seed=5", "scenario=slow&seed=5&fault=crash:db1119@2"]
        {
            assert!(!parse_query(dropped).state.keeps_commands_of(&old), "{dropped}");
        }
    }

    #[test]
    fn a_step_key_repeats_and_any_other_key_takes_its_last_value() {
        let def = registry::find("slow").unwrap();
        for step in ["fault", "operator", "surge"] {
            assert!(def.is_step(step), "{step}");
        }
        for single in ["rate_scale", "workers", "hosts", "nope"] {
            assert!(!def.is_step(single), "{single}");
        }
        let p = parse_query("scenario=slow&rate_scale=2&fault=crash:db1119@5&rate_scale=3&fault=crash:db1118@6");
        let values =
            |key: &str| p.state.sets.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
        assert_eq!(values("rate_scale"), ["3"]);
        assert_eq!(values("fault"), ["crash:db1119@5", "crash:db1118@6"]);
        assert!(
            p.ignored.iter().any(|i| i.contains("rate_scale=2: replaced by a later rate_scale")),
            "{:?}",
            p.ignored
        );
    }

    #[test]
    fn a_link_names_the_lesson_only_where_it_differs_from_where_the_page_opens() {
        // A scenario with a lesson opens at its first step, so its plain link need not say so.
        let default = parse_query("scenario=slow").state;
        assert_eq!(default.lesson, Some(0));
        assert!(!to_query(&default).contains("lesson"), "{}", to_query(&default));
        let free = parse_query("scenario=slow&lesson=off").state;
        assert_eq!(free.lesson, None);
        assert!(to_query(&free).contains("lesson=off"), "{}", to_query(&free));
        // An embed opens in free play: nothing to say, unless it opens at a step, the first included.
        let embed = parse_query("scenario=slow&embed=1").state;
        assert_eq!(embed.lesson, None);
        assert!(!to_query(&embed).contains("lesson"), "{}", to_query(&embed));
        let at_first = parse_query("scenario=slow&embed=1&lesson=0").state;
        assert_eq!(at_first.lesson, Some(0));
        assert_eq!(parse_query(&to_query(&at_first)).state.lesson, Some(0), "{}", to_query(&at_first));
    }

    #[test]
    fn defaults_from_an_empty_query() {
        assert_eq!(parse_query("lesson=off"), Parsed { state: UrlState::default(), ignored: vec![] });
        assert_eq!(parse_query("?lesson=off"), Parsed { state: UrlState::default(), ignored: vec![] });
    }

    #[test]
    fn a_scenario_with_a_lesson_opens_at_its_first_step_with_the_lessons_keys() {
        let def = registry::find("slow").unwrap();
        let p = parse_query("");
        assert_eq!(p.ignored, Vec::<String>::new());
        assert_eq!(p.state.lesson, if def.lesson.is_empty() { None } else { Some(0) });
        if !def.lesson.is_empty() {
            for (k, v) in def.lesson_sets {
                assert!(p.state.sets.contains(&(k.to_string(), v.to_string())), "{k}={v} missing: {:?}", p.state.sets);
            }
            // The link's own value wins over the lesson's.
            let p = parse_query("workers=3");
            assert_eq!(p.state.sets.iter().filter(|(k, _)| k == "workers").count(), 1);
            assert!(p.state.sets.contains(&("workers".into(), "3".into())));
            assert_eq!(parse_query(&to_query(&p.state)).state, p.state);
        }
        let embedded = parse_query("embed=1");
        assert_eq!(embedded.state.lesson, None);
        assert!(parse_query("lesson=99").ignored[0].contains("lesson"));
    }

    #[test]
    fn a_full_link_parses() {
        let p = parse_query(
            "?scenario=connect-timeout&controller=mw-loadmonitor&ab=p2c&seed=7&speed=50&embed=1&fault_at=20&state_ttl_s=5&fault=crash%3Adb1163%4040",
        );
        assert_eq!(p.ignored, Vec::<String>::new());
        let s = p.state;
        assert_eq!(
            (s.scenario.as_str(), s.controller.as_str(), s.controller_b.as_deref()),
            ("connect-timeout", "mw-loadmonitor", Some("p2c"))
        );
        assert_eq!((s.seed, s.speed, s.embed), (7, 50.0, true));
        assert_eq!(
            s.sets,
            vec![
                ("fault_at".into(), "20".into()),
                ("state_ttl_s".into(), "5".into()),
                ("fault".into(), "crash:db1163@40".into())
            ]
        );
    }

    #[test]
    fn a_longer_run_round_trips_and_a_bad_length_is_named() {
        let p = parse_query("scenario=koha-memcached-blackhole&lesson=off&length=600");
        assert_eq!((p.state.length_s, p.ignored.len()), (Some(600.0), 0));
        assert_eq!(parse_query(&to_query(&p.state)).state, p.state);
        for bad in ["0.5", "1e7", "NaN", "long"] {
            let p = parse_query(&format!("length={bad}"));
            assert_eq!(p.state.length_s, None, "{bad}");
            assert!(p.ignored.iter().any(|i| i.starts_with("length ")), "{bad}: {:?}", p.ignored);
        }
    }

    #[test]
    fn a_link_opens_at_a_moment_or_a_step() {
        let p = parse_query("scenario=sahana-idle-drop&lesson=off&at=6990");
        assert_eq!((p.state.at_s, p.ignored.len()), (Some(6990.0), 0));
        assert_eq!(parse_query(&to_query(&p.state)).state, p.state);
        assert_eq!(parse_query("scenario=slow&step=3").state.lesson, Some(3));
        assert_eq!(parse_query("scenario=slow&start=40").state.at_s, Some(40.0));
        let bad = parse_query("at=-1");
        assert_eq!(bad.state.at_s, None);
        assert!(bad.ignored.iter().any(|i| i.starts_with("at ")));
    }

    #[test]
    fn a_chart_window_round_trips_and_a_bad_one_is_named_and_changes_nothing() {
        for (text, view) in [
            ("all", View::Whole),
            ("300", View::Last(300.0)),
            ("6900..8100", View::Span(6900.0, 8100.0)),
            ("6900.25..8100.5", View::Span(6900.25, 8100.5)),
        ] {
            let p = parse_query(&format!("scenario=sahana-idle-drop&lesson=off&window={text}"));
            assert_eq!((p.state.view, p.ignored.len()), (Some(view), 0), "{text}");
            assert_eq!(parse_query(&to_query(&p.state)).state, p.state, "{text}");
        }
        let plain = parse_query("scenario=sahana-idle-drop&lesson=off").state;
        for bad in ["8100..6900", "-5", "x", "10..10.5", "1..2e6", "NaN"] {
            let p = parse_query(&format!("scenario=sahana-idle-drop&lesson=off&window={bad}"));
            assert_eq!(p.state, plain, "{bad}");
            assert!(p.ignored.len() == 1 && p.ignored[0].starts_with("window "), "{bad}: {:?}", p.ignored);
        }
    }

    #[test]
    fn bad_parts_are_named_and_the_rest_is_kept() {
        let p = parse_query(
            "scenario=nope&controller=magic&seed=-3&speed=1e9&fault_at=NaN&bogus=1&fault_at=45&servers=3&lesson=off",
        );
        assert_eq!(p.state.scenario, "slow");
        assert_eq!(p.state.controller, "static");
        assert_eq!(p.state.seed, 1);
        assert_eq!(p.state.speed, 10.0);
        assert_eq!(p.state.sets, vec![("fault_at".into(), "45".into())]);
        let text = p.ignored.join("\n");
        for part in ["nope", "magic", "-3", "1e9", "NaN", "bogus", "servers"] {
            assert!(text.contains(part), "no notice mentions {part}: {text}");
        }
        assert_eq!(p.ignored.len(), 7);
    }

    #[test]
    fn oversized_links_are_cut_with_a_notice() {
        let many: String = (0..200).map(|i| format!("fault_at={i}&")).collect();
        let p = parse_query(&many);
        assert!(p.ignored.iter().any(|n| n.contains("more than 64 parameters")));
        // Of the 64 pairs read only the last fault_at counts, plus the keys of the lesson the page opens at.
        assert!(p.ignored.iter().any(|n| n.contains("fault_at given 64 times")), "{:?}", p.ignored);
        let lesson = registry::find("slow").map_or(0, |d| d.lesson_sets.len());
        assert_eq!(p.state.sets.len(), 1 + lesson);
        let long = format!("scenario={}", "x".repeat(20_000));
        let p = parse_query(&long);
        assert!(p.ignored.iter().any(|n| n.contains("longer than")));
        assert_eq!(p.state.scenario, "slow");
        // Multi-byte text at the cut point must not panic.
        let p = parse_query(&"é".repeat(MAX_QUERY_LEN));
        assert!(!p.ignored.is_empty());
    }

    /// `surge` is repeatable: a link with two keeps both, in order, and so does recording a second one; a
    /// single-valued key keeps its last value only. Expectations are written out, not built with `set_param`.
    #[test]
    fn a_second_surge_adds_to_the_first_and_a_single_valued_key_is_replaced() {
        let both = [("surge".to_string(), "2@3".to_string()), ("surge".to_string(), "3@5".to_string())];
        let p = parse_query("?scenario=plain-s1&lesson=off&surge=2@3&surge=3@5");
        assert_eq!(p.ignored, Vec::<String>::new());
        assert_eq!(p.state.sets, both);
        let mut state = UrlState { scenario: "plain-s1".into(), lesson: None, ..UrlState::default() };
        set_param(&mut state, "surge", "2@3");
        set_param(&mut state, "surge", "3@5");
        assert_eq!(state.sets, both);
        assert!(to_query(&state).contains("surge=2@3&surge=3@5"), "{}", to_query(&state));
        set_param(&mut state, "rate_scale", "2");
        set_param(&mut state, "rate_scale", "3");
        assert_eq!(state.sets[2..], [("rate_scale".to_string(), "3".to_string())]);
    }

    #[test]
    fn decode_survives_garbage() {
        for junk in ["%", "%4", "%zz", "%E9", "a%2", "%%%", "+%2B+"] {
            let _ = decode(junk);
        }
        assert_eq!(decode("a+b%3Ac%40d"), "a b:c@d");
        assert_eq!(decode("%E9"), "\u{FFFD}");
    }

    #[test]
    fn random_states_round_trip() {
        // Random valid states (seeded; the seed is in the message on failure) survive to_query → parse_query.
        let scenarios: Vec<&str> = registry::all().filter(|s| s.takes_controller).map(|s| s.name).collect();
        let controllers: Vec<&str> = crate::controller::controllers().iter().map(|c| c.name).collect();
        for seed in 0..200u64 {
            let mut rng = Rng::new(seed, Stream::Control);
            let pick = |v: &[&str], rng: &mut Rng| v[rng.below(v.len() as u64) as usize].to_string();
            let scenario = pick(&scenarios, &mut rng);
            let controller = pick(&controllers, &mut rng);
            let mut state = UrlState { scenario: scenario.clone(), controller, ..UrlState::default() };
            state.seed = rng.next_u64();
            state.speed = [0.5, 1.0, 10.0, 100.0][rng.below(4) as usize];
            state.embed = rng.chance(0.5);
            state.lesson = None;
            if rng.chance(0.5) {
                state.controller_b = Some(pick(&controllers, &mut rng));
            }
            if scenario != "mmc" {
                set_param(&mut state, "workers", &format!("{}", 1 + rng.below(50)));
                set_param(&mut state, "fault", "refuse:db1128@12.5");
                set_param(&mut state, "operator", "drain:db1099:5@20");
            } else {
                set_param(&mut state, "utilization", "0.75");
            }
            let back = parse_query(&to_query(&state));
            assert_eq!(back.ignored, Vec::<String>::new(), "seed={seed}: {}", to_query(&state));
            assert_eq!(back.state, state, "seed={seed}: {}", to_query(&state));
        }
    }

    /// A section scenario file with its servers renamed: what no key can express.
    fn own_cluster_file() -> String {
        let def = registry::find("slow").unwrap();
        let text = def.export_file(&RunSpec { controller: "conn-p".into(), ..RunSpec::default() }).unwrap();
        text.replace("db1119", "mydb-2").replace("db1118", "mydb-1")
    }

    #[test]
    fn a_link_carries_a_section_scenario_file_and_replays_it() {
        let file = own_cluster_file();
        let query = format!("scenario=plain-s1&file={}&fault=crash:mydb-2@12.5&kp=0.3", encode(&file));
        let p = parse_query(&query);
        assert_eq!(p.ignored, Vec::<String>::new());
        assert_eq!(p.state.scenario, "slow", "the file names its scenario");
        assert_eq!(p.state.controller, "conn-p", "the file's controller, since the link names none");
        // A link that names a controller runs the file under that one.
        let named = parse_query(&format!("{query}&controller=p2c"));
        assert_eq!((named.state.controller.as_str(), named.ignored.len()), ("p2c", 0), "{:?}", named.ignored);
        assert_eq!(p.state.lesson, None, "a reader's own cluster opens in free play");
        assert_eq!(p.state.file.as_deref(), Some(file.as_str()));
        assert_eq!(p.state.sets.len(), 2, "a step and a controller parameter ride on the file");
        let back = parse_query(&to_query(&p.state));
        assert_eq!(back.ignored, Vec::<String>::new());
        assert_eq!(back.state, p.state);
        // The run is the file's: its servers, its step, its controller parameter.
        let def = registry::find(&p.state.scenario).unwrap();
        let spec = RunSpec {
            controller: p.state.controller.clone(),
            sets: p.state.sets.clone(),
            file: p.state.file.clone(),
            duration_s: Some(20.0),
            ..RunSpec::default()
        };
        let run = def.build_run(&spec).unwrap();
        assert!(run.target_names("server").contains(&"mydb-2".to_string()));
    }

    #[test]
    fn a_link_refuses_what_a_file_cannot_take_and_keeps_the_rest() {
        let file = encode(&own_cluster_file());
        // A scenario key belongs in the file; a step naming a server the file does not have is refused.
        let p = parse_query(&format!("file={file}&workers=20&fault=crash:db1119@5&fault=crash:mydb-1@5"));
        assert_eq!(p.ignored.len(), 2, "{:?}", p.ignored);
        assert!(p.ignored[0].contains("edit the file"), "{}", p.ignored[0]);
        assert!(p.ignored[1].contains("db1119"), "{}", p.ignored[1]);
        assert_eq!(p.state.sets, vec![("fault".to_string(), "crash:mydb-1@5".to_string())]);
        // A broken file, a keyed model's file and an oversized one are each refused in one notice.
        let keyed = registry::find("sahana-idle-drop").unwrap().export_file(&RunSpec::default()).unwrap();
        let huge = "#".repeat(MAX_FILE_CHARS + 1);
        for (text, hint) in
            [("loadlab_scenario = 1\n[section", "file:"), (keyed.as_str(), "as keys"), (huge.as_str(), "longer than")]
        {
            let p = parse_query(&format!("scenario=refuse&file={}", encode(text)));
            assert_eq!(p.ignored.len(), 1, "{:?}", p.ignored);
            assert!(p.ignored[0].contains(hint), "{} lacks {hint}", p.ignored[0]);
            assert_eq!((p.state.scenario.as_str(), p.state.file.is_none()), ("refuse", true));
        }
    }

    #[test]
    fn a_link_holds_at_most_max_sets_settings_with_room_for_the_lessons_keys() {
        // 60 steps: more than MAX_SETS, fewer than MAX_PARAMS in all. Found by the reducer fuzzer (issue 23).
        let steps: String = (1..=60).map(|i| format!("&fault=crash:db1119@{i}")).collect();
        let parsed = parse_query(&format!("scenario=plain-s1&lesson=off{steps}"));
        assert_eq!(parsed.state.sets.len(), 54, "64 parameters less the 10 to_query may write");
        assert!(parsed.ignored.iter().any(|n| n.contains("settings")), "{:?}", parsed.ignored);
        let again = parse_query(&to_query(&parsed.state));
        assert_eq!((again.ignored.len(), &again.state), (0, &parsed.state));
        // With a lesson open, its keys the link does not set still fit.
        let def = registry::find("slow").unwrap();
        assert!(!def.lesson_sets.is_empty());
        let parsed = parse_query(&format!("scenario=slow{steps}"));
        assert_eq!(parsed.state.sets.len(), MAX_SETS);
        for (k, v) in def.lesson_sets {
            assert!(parsed.state.sets.contains(&(k.to_string(), v.to_string())), "{k} missing");
        }
        assert!(to_query(&parsed.state).split('&').count() <= MAX_PARAMS);
        assert_eq!(parse_query(&to_query(&parsed.state)).ignored, Vec::<String>::new());
    }

    #[test]
    fn a_link_keeps_54_settings_beside_its_own_keys() {
        // to_query writes at most 10 keys of its own (scenario, controller, file, ab, seed, speed, length, at,
        // embed or watch, lesson), so 64 − 10 = 54 settings always fit, and a link of 54 keeps them all.
        let steps: String = (1..=54).map(|i| format!("&fault=crash:db1119@{i}")).collect();
        let parsed = parse_query(&format!("scenario=plain-s1&lesson=off{steps}"));
        assert_eq!((parsed.state.sets.len(), parsed.ignored.len()), (54, 0), "{:?}", parsed.ignored);
        // With every other key of its own (a file, A/B, length, moment, embedded: 9 of the 10), they still fit.
        let file = registry::find("plain-s1").unwrap().export_file(&RunSpec::default()).unwrap();
        let mut state = parse_query(&format!("file={}&ab=p2c&length=100&at=5&embed=1", encode(&file))).state;
        assert!(state.file.is_some() && state.controller_b.is_some() && state.at_s.is_some(), "{state:?}");
        state.sets = parsed.state.sets.clone();
        let query = to_query(&state);
        assert_eq!(query.split('&').count(), 9 + 54, "{query}");
        let back = parse_query(&query);
        assert_eq!((back.ignored, back.state), (Vec::<String>::new(), state));
    }

    /// Every length bound is inclusive, and one past it is cut or refused: a name of 40 characters is quoted
    /// whole, 41 gets an ellipsis; a link of exactly MAX_QUERY_LEN bytes is read whole, a longer one is cut at a
    /// character boundary (here inside a two-byte é, so the seed before it survives); a file of exactly
    /// MAX_FILE_CHARS characters and a value of exactly MAX_VALUE_LEN bytes are not refused for their length.
    #[test]
    fn length_bounds_are_inclusive() {
        assert_eq!(clip(&"x".repeat(40)), "x".repeat(40));
        assert_eq!(clip(&"x".repeat(41)), format!("{}…", "x".repeat(40)));
        let longer = |q: &str| parse_query(q).ignored.iter().filter(|i| i.contains("longer than")).count();
        let at = format!("{}seed=7", "&".repeat(MAX_QUERY_LEN - 6));
        assert_eq!((longer(&at), parse_query(&at).state.seed), (0, 7));
        let cut = format!("{}seed=7é", "&".repeat(MAX_QUERY_LEN - 7));
        assert_eq!(cut.len(), MAX_QUERY_LEN + 1);
        let parsed = parse_query(&cut);
        assert_eq!((parsed.ignored.len(), parsed.state.seed), (1, 7), "{:?}", parsed.ignored);
        assert!(parsed.ignored[0].contains("the link is longer than"));
        assert_eq!(longer(&format!("{}&seed=7", "&".repeat(MAX_QUERY_LEN))), 1);
        assert_eq!(longer(&format!("file={}", "a".repeat(MAX_FILE_CHARS))), 0);
        assert_eq!(longer(&format!("file={}", "a".repeat(MAX_FILE_CHARS + 1))), 1);
        assert_eq!(longer(&format!("speed={}", "1".repeat(MAX_VALUE_LEN))), 0);
        assert_eq!(longer(&format!("speed={}", "1".repeat(MAX_VALUE_LEN + 1))), 1);
    }

    /// `ab=` (empty) means no A/B run and says nothing; an unknown name is reported; `watch` (with or without a
    /// value) turns on watching, which implies the embedded layout, and survives the round trip.
    #[test]
    fn an_empty_ab_is_no_ab_and_watch_is_read() {
        let empty = parse_query("scenario=mmc&ab=");
        assert_eq!((empty.state.controller_b, empty.ignored), (None, Vec::<String>::new()));
        let bogus = parse_query("scenario=mmc&ab=bogus");
        assert_eq!(bogus.state.controller_b, None);
        assert_eq!(bogus.ignored, vec!["unknown controller 'bogus' for A/B".to_string()]);
        for q in ["scenario=mmc&watch=1", "scenario=mmc&watch"] {
            let p = parse_query(q);
            assert!(p.state.watch && p.state.embed && p.ignored.is_empty(), "{q}: {:?}", p.ignored);
            assert_eq!(parse_query(&to_query(&p.state)).state, p.state, "{q}");
        }
        assert!(!parse_query("scenario=mmc&watch=0").state.watch);
    }

    /// `lesson=N` names one of the lesson's steps, 0 to len − 1; a lesson about one controller runs it unless the
    /// link names another.
    #[test]
    fn lessons_open_where_they_exist_and_bring_their_controller() {
        let steps = registry::find("refuse").unwrap().lesson.len();
        let p = parse_query("scenario=refuse");
        assert_eq!((p.state.lesson, p.state.controller.as_str()), (Some(0), "least-conn"));
        assert_eq!(parse_query("scenario=refuse&controller=p2c").state.controller, "p2c");
        let last = parse_query(&format!("scenario=refuse&lesson={}", steps - 1));
        assert_eq!((last.state.lesson, last.ignored.len()), (Some(steps - 1), 0));
        let past = parse_query(&format!("scenario=refuse&lesson={steps}"));
        assert_eq!((past.state.lesson, past.ignored.len()), (Some(0), 1), "{:?}", past.ignored);
    }

    #[test]
    fn escapes_are_read_in_either_case() {
        // RFC 3986 §2.1: the hex digits of a percent-encoding are case-insensitive (a browser may write %c3%a9).
        assert_eq!(decode("%0a%C3%a9%3D%3d"), "\n\u{e9}==");
    }
}
