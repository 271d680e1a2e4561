//! What every model's scenarios share, below the models and above the engine: a scenario's definition
//! ([`ScenarioDef`]: keys, story, lesson, figures, builder), what a front end asks a builder for ([`RunSpec`]),
//! and the story, lesson step and reported figure types. Models declare their scenarios with these types and
//! [`crate::registry`] lists them, so a model never imports the registry that imports it.

use serde_json::{Map, Value};

use super::keys::{quote, KeyInfo};
use super::run::Run;

/// What a front end asks for: the controller (for models that balance), the `--set` pairs, the seed, and
/// optional overrides of the run length and metrics step. Plain data, so the page can hand it to a simulation
/// worker as it is.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunSpec {
    /// Controller name; models without a balancer take only their default and reject others.
    pub controller: String,
    /// `--set KEY=VALUE` pairs, in order.
    pub sets: Vec<(String, String)>,
    /// The run's seed.
    pub seed: u64,
    /// Run length, s (the scenario's own when `None`).
    pub duration_s: Option<f64>,
    /// Metrics step, s (the scenario's own when `None`).
    pub time_step_s: Option<f64>,
    /// The text of a scenario file whose whole config the model reads instead of building one from its keys
    /// (the section's files; keyed models' files are read into `sets` instead). Checked when it was opened
    /// ([`ScenarioDef::open`]); `controller`, `duration_s` and `time_step_s` still override it, and `sets` may
    /// hold only the controller's parameters.
    pub file: Option<std::sync::Arc<str>>,
}

/// A number the incident itself reported, to set beside this run's.
#[derive(Clone, Copy, Debug)]
pub struct Figure {
    /// The summary field it compares with (`headline.longest_stall_s`).
    pub field: &'static str,
    /// What the incident reported, as text with its unit ("924.6 s", "about 700").
    pub reported: &'static str,
    /// Where it comes from (seed file, source path).
    pub source: &'static str,
}

/// One step of a scenario's lesson: what to look at, where the run pauses for it, and this run's numbers.
#[derive(Clone, Copy, Debug)]
pub struct LessonStep {
    /// A short heading.
    pub title: &'static str,
    /// The simulated time the step runs to, s.
    pub at_s: f64,
    /// What to look at, in plain words.
    pub text: &'static str,
    /// The chart id the step is about.
    pub chart: &'static str,
    /// The stretch of simulated time its charts show: the whole run, the last minutes, or the moment the step
    /// is about. A [`View::Span`] starts before `at_s` and usually ends there, so the step opens on full charts;
    /// one that ends later leaves room for what the step asks the reader to try (a restart, a kill).
    pub view: View,
    /// This run's numbers at that moment beside the incident's, from the run's summary.
    pub numbers: fn(&Map<String, Value>) -> String,
    /// What the step's text asks the reader to try, as buttons that do it.
    pub actions: &'static [LessonAction],
}

/// The stretch of simulated time a chart shows. A lesson step sets one ([`LessonStep::view`]); the reader may pick
/// another, or brush one on the overview, and a link carries it as `window=` ([`View::parse`], [`View::to_text`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum View {
    /// The whole run so far: from time zero to now.
    #[default]
    Whole,
    /// The last this many seconds up to now, following the run (from time zero while the run is younger).
    Last(f64),
    /// A fixed stretch, from the first time to the second, seconds: it stays where it is while the run plays
    /// on, whether or not the run has got there yet.
    Span(f64, f64),
}

impl View {
    /// Narrowest stretch a [`View::Span`] or [`View::Last`] may show, seconds: two of the page's chart steps.
    pub const SPAN_MIN_S: f64 = 1.0;
    /// Latest time a view may name, seconds: the longest run a link may ask for.
    pub const TIME_MAX_S: f64 = 1_000_000.0;

    /// The x range the charts draw when the run's newest row is at `now_s`: `(from, to)`, seconds. A view that
    /// follows the run ([`View::Whole`], [`View::Last`]) is at least `min_span_s` wide, so the first rows do not
    /// fill the whole width; a [`View::Span`] is exactly what it names.
    pub fn x_range(self, now_s: f64, min_span_s: f64) -> (f64, f64) {
        let now_s = if now_s.is_finite() { now_s.max(0.0) } else { 0.0 };
        match self {
            View::Whole => (0.0, now_s.max(min_span_s)),
            View::Last(w) => {
                let from = (now_s - w).max(0.0);
                (from, now_s.max(from + min_span_s.min(w)))
            }
            View::Span(from, to) => (from, to),
        }
    }

    /// Checks a view as a link or the page would give it: finite, within `0..=TIME_MAX_S`, at least
    /// [`Self::SPAN_MIN_S`] wide, and a span's start before its end. The one validator of views.
    pub fn checked(self) -> Result<View, String> {
        let ok = |t: f64| t.is_finite() && (0.0..=Self::TIME_MAX_S).contains(&t);
        match self {
            View::Whole => Ok(self),
            View::Last(w) if ok(w) && w >= Self::SPAN_MIN_S => Ok(self),
            View::Last(w) => Err(format!("the last {w} s is not from {} to {} s", Self::SPAN_MIN_S, Self::TIME_MAX_S)),
            View::Span(from, to) if ok(from) && ok(to) && to - from >= Self::SPAN_MIN_S => Ok(self),
            View::Span(from, to) => Err(format!(
                "{from} s to {to} s is not a stretch of at least {} s between 0 and {} s",
                Self::SPAN_MIN_S,
                Self::TIME_MAX_S
            )),
        }
    }

    /// Reads a view as a link writes it: `all` (the whole run), `300` (the last 300 s) or `6900..8100` (a fixed
    /// stretch), to the microsecond, checked by [`Self::checked`]; the error names what was wrong.
    pub fn parse(text: &str) -> Result<View, String> {
        let text = text.trim();
        // Whole microseconds, as the link writes them, so a parsed view reads back the same.
        let number = |t: &str| {
            let v = t.trim().parse::<f64>().map_err(|_| format!("{} is not a number of seconds", quote(t)))?;
            Ok::<f64, String>((v * 1e6).round() / 1e6)
        };
        let view = if text == "all" {
            View::Whole
        } else if let Some((from, to)) = text.split_once("..") {
            View::Span(number(from)?, number(to)?)
        } else {
            View::Last(number(text)?)
        };
        view.checked()
    }

    /// The text [`Self::parse`] reads back to this view (times to the microsecond).
    pub fn to_text(self) -> String {
        let t = |v: f64| {
            let text = format!("{v:.6}");
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        match self {
            View::Whole => "all".into(),
            View::Last(w) => t(w),
            View::Span(from, to) => format!("{}..{}", t(from), t(to)),
        }
    }

    /// In words, for the page's "Charts show" picker: "the whole run", "the last 5 minutes", "6,900 s to
    /// 8,100 s".
    pub fn words(self) -> String {
        let secs = |v: f64| crate::engine::picture::human(v, 0);
        match self {
            View::Whole => "the whole run".into(),
            View::Last(3600.0) => "the last hour".into(),
            View::Last(60.0) => "the last minute".into(),
            View::Last(w) if w > 3600.0 && (w % 3600.0) == 0.0 => format!("the last {} hours", secs(w / 3600.0)),
            View::Last(w) if w > 60.0 && (w % 60.0) == 0.0 => format!("the last {} minutes", secs(w / 60.0)),
            View::Last(w) => format!("the last {} s", secs(w)),
            View::Span(from, to) => format!("{} s to {} s", secs(from), secs(to)),
        }
    }
}

/// Something a lesson step asks the reader to try, done with one click. Each is an ordinary page action, so
/// the link records it like any other.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    /// Run this controller (run A).
    Controller(&'static str),
    /// Run this controller beside the current one, on the same seed (run B).
    CompareWith(&'static str),
    /// Set a scenario key or controller parameter, restarting the run.
    Set(&'static str, &'static str),
    /// Apply a command now (`kill-worker:w3`), as the command buttons do.
    Command(&'static str),
}

/// Where a challenge stands: not decided yet, met or missed, each with this run's number in words.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Not decided yet (the run has not reached the moment the goal is about), with the figure so far.
    Open(String),
    /// The goal is met.
    Met(String),
    /// The goal is missed in this run.
    Missed(String),
}

/// A goal the reader tries to reach by changing the run (a controller, a key, a command), checked live.
#[derive(Clone, Copy, Debug)]
pub struct Challenge {
    /// The goal, in plain words ("Keep the site up: under 1% of requests turned away by 180 s").
    pub goal: &'static str,
    /// Where to start.
    pub hint: &'static str,
    /// Judges a run from its summary (with the newest row under `now`), the simulated time and the run's
    /// length, seconds.
    pub check: fn(&Map<String, Value>, f64, f64) -> Verdict,
}

/// A button of a lesson step: its words and what it does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LessonAction {
    /// The button's words ("Compare with conn-p").
    pub label: &'static str,
    /// What it does.
    pub act: Act,
}

/// Builds a run of a scenario from what the front end asked for, or says in one line why not.
pub type Builder = fn(&'static ScenarioDef, &RunSpec) -> Result<Box<dyn Run>, String>;

/// One scenario.
#[derive(Clone, Copy, Debug)]
pub struct ScenarioDef {
    /// The name, as given to `--scenario`.
    pub name: &'static str,
    /// The model folder it runs (`section`, `sahana`, `koha`, `galera`).
    pub model: &'static str,
    /// One line for `loadlab list`.
    pub summary: &'static str,
    /// The seed file it reproduces.
    pub seed_file: &'static str,
    /// Every key it takes (the model's table; `applies_to` filters by scenario).
    pub keys: &'static [KeyInfo],
    /// True when `--controller` chooses a balancer for it.
    pub takes_controller: bool,
    /// Its story (incident, what to watch, what to try, sources).
    pub story: &'static Story,
    /// Its lesson, three to six steps.
    pub lesson: &'static [LessonStep],
    /// Goals to reach by changing the run, checked live (shown at the lesson's end and in free play).
    pub challenges: &'static [Challenge],
    /// The model's words in plain terms (term, definition), for the glossary and the lesson's links.
    pub glossary: &'static [(&'static str, &'static str)],
    /// The controller the lesson's run uses when the link names none (`static` otherwise): the one its text
    /// is about.
    pub lesson_controller: Option<&'static str>,
    /// Keys the lesson sets on top of the scenario's defaults (say why in the first step's text), such as a
    /// finite worker pool so the meltdown shows; the CLI's run of the scenario keeps its own defaults.
    pub lesson_sets: &'static [(&'static str, &'static str)],
    /// A plain-words paragraph per controller on how it reacts here (empty for models without one).
    pub controller_notes: &'static [(&'static str, &'static str)],
    /// What the incident reported.
    pub figures: &'static [Figure],
    /// Builds a run.
    pub build: Builder,
    /// Checks a spec as `build` would, without building the run (no engine, no controllers): what a link's
    /// keys are validated with. [`check_by_building`] for models whose runs are small.
    pub check: Checker,
    /// The page's groups of its settings, each a heading and its keys in order: every key the scenario takes
    /// (steps and per-server keys aside) in exactly one.
    pub key_groups: &'static [KeyGroup],
    /// Values of a key that deserve a word of warning where it is set (utilization at or above 1).
    pub key_warnings: &'static [KeyWarning],
    /// How a run of it is scored for `loadlab compare` and `tune`, for scenarios that take a controller.
    pub scorecard: Option<Scorecard>,
    /// The scenario file of a spec: its complete config as TOML, to edit and open again.
    /// [`super::scenario_file::export_keyed`] for models configured by their keys.
    pub export: Exporter,
    /// Reads a scenario file of this model (`path` names it in errors) into the spec that runs it, checked, or a
    /// one-line error `PATH:LINE:COLUMN: what was expected`. [`super::scenario_file::read_keyed`] for models
    /// configured by their keys.
    pub open: Opener,
}

/// How a scenario's runs are scored; see [`ScenarioDef::scorecard`].
#[derive(Clone, Copy, Debug)]
pub struct Scorecard {
    /// Runs the spec to its end and scores it. The spec's length and step are the sweep's; a named scenario
    /// with a recovery key gets a recovery before the end unless the spec sets one, so both the reaction and
    /// the return are scored (a scenario file keeps its own schedule).
    pub score: fn(&'static ScenarioDef, &RunSpec) -> Result<super::scorecard::Score, String>,
    /// True when `compare --all` and `tune` without `--scenarios` include it.
    pub by_default: bool,
}

/// A heading and the keys under it; see [`ScenarioDef::key_groups`].
pub type KeyGroup = (&'static str, &'static [&'static str]);

/// A warning shown beside a key set at or above a value; see [`ScenarioDef::key_warnings`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyWarning {
    /// The key.
    pub key: &'static str,
    /// The value from which the warning shows.
    pub at_or_above: f64,
    /// What it means, in plain words.
    pub words: &'static str,
}

/// Writes a spec's scenario file; see [`ScenarioDef::export`].
pub type Exporter = fn(&'static ScenarioDef, &RunSpec) -> Result<String, String>;

/// Reads a scenario file (path, text); see [`ScenarioDef::open`].
pub type Opener = fn(&'static ScenarioDef, &str, &str) -> Result<RunSpec, String>;

/// Checks a spec without building its run; see [`ScenarioDef::check`].
pub type Checker = fn(&'static ScenarioDef, &RunSpec) -> Result<(), String>;

/// A [`Checker`] that builds the run and drops it, for models whose runs are small whatever the keys.
pub fn check_by_building(def: &'static ScenarioDef, spec: &RunSpec) -> Result<(), String> {
    (def.build)(def, spec).map(|_| ())
}

impl ScenarioDef {
    /// Where the incident starts to show, simulated seconds: the start of the first lesson step that looks at a
    /// fixed stretch (Sahana's 6,950 s, before the first stall; Percona's 3,500 s, before desync goes off), or
    /// `None` for a scenario whose lesson never narrows the view. A bare embed opens there, so a runbook page does
    /// not show flat lines for minutes before anything happens.
    pub fn incident_at_s(&self) -> Option<f64> {
        self.lesson.iter().find_map(|step| match step.view {
            View::Span(from, _) => Some(from),
            View::Whole | View::Last(_) => None,
        })
    }

    /// True when `key` is one of this scenario's steps (`fault`, `surge`…: [`KeyKind::FaultSpec`]): repeatable,
    /// each a command at a moment, where any other key takes one value and a later one replaces it.
    pub fn is_step(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k.key == key && matches!(k.kind, super::keys::KeyKind::FaultSpec))
    }

    /// Checks a spec as [`Self::build_run`] would, without building it, its error cut like any other.
    pub fn check_spec(&'static self, spec: &RunSpec) -> Result<(), String> {
        (self.check)(self, spec).map_err(super::keys::clip_error)
    }

    /// The scenario file of `spec`, its error cut like any other.
    pub fn export_file(&'static self, spec: &RunSpec) -> Result<String, String> {
        (self.export)(self, spec).map_err(super::keys::clip_error)
    }

    /// Builds a run of this scenario, its error cut to [`super::keys::MAX_ERROR_CHARS`]: what every front end
    /// calls (the registry, the CLI, the page, links), so none shows a longer one.
    pub fn build_run(&'static self, spec: &RunSpec) -> Result<Box<dyn Run>, String> {
        let run = (self.build)(self, spec).map_err(super::keys::clip_error)?;
        super::limits::check_output(run.duration(), run.time_step(), &run.columns())?;
        // The other models write a row at each whole step only; the section also closes a final partial one.
        let (duration, step) = (run.duration(), run.time_step());
        if duration < step && self.model != "section" {
            let s = |t: u64| crate::time::as_secs_f64(t);
            return Err(format!(
                "--duration {} is shorter than {}'s {} s time step, so the run would write no row; raise --duration to at least {} (the page: length)",
                s(duration),
                self.name,
                s(step),
                s(step)
            ));
        }
        Ok(run)
    }
}

/// A scenario's story.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Story {
    /// The scenario it belongs to.
    pub scenario: &'static str,
    /// A headline, one line.
    pub title: &'static str,
    /// The incident it belongs to, in plain words: the scenario picker groups by it.
    pub group: &'static str,
    /// The page's title for it: who it happened to and what went wrong, in words a newcomer knows.
    pub headline: &'static str,
    /// Three or four plain sentences: what happened, who saw what, what it cost, and what this run shows.
    pub brief: &'static str,
    /// What happened in production, two or three sentences.
    pub incident: &'static str,
    /// What to watch on the charts.
    pub watch: &'static str,
    /// The knob that shows the fix, phrased as something to try.
    pub try_this: &'static str,
    /// Where the facts come from.
    pub source: &'static str,
}

/// The default controller of scenarios without a balancer, which is the only one they accept.
pub const NO_CONTROLLER: &str = "static";

/// For models without a balancer: refuses any controller but the default, in one line.
pub fn no_controller(def: &ScenarioDef, spec: &RunSpec) -> Result<(), String> {
    if spec.controller.is_empty() || spec.controller == NO_CONTROLLER {
        Ok(())
    } else {
        Err(format!(
            "scenario {} has no balancer; --controller does not apply (got {})",
            def.name,
            quote(&spec.controller)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::View;

    #[test]
    fn a_view_that_follows_the_run_ends_now_and_a_span_stays_put() {
        // The whole run: from zero to now, at least the minimum span while the run is young.
        assert_eq!(View::Whole.x_range(25_200.0, 60.0), (0.0, 25_200.0));
        assert_eq!(View::Whole.x_range(10.0, 60.0), (0.0, 60.0));
        // The last 300 s of a run at 1000 s: 700 to 1000; of a run at 100 s, 0 to 100 (and at least 60 s).
        assert_eq!(View::Last(300.0).x_range(1000.0, 60.0), (700.0, 1000.0));
        assert_eq!(View::Last(300.0).x_range(100.0, 60.0), (0.0, 100.0));
        assert_eq!(View::Last(300.0).x_range(10.0, 60.0), (0.0, 60.0));
        // A window narrower than the minimum is as wide as it says.
        assert_eq!(View::Last(10.0).x_range(25.0, 60.0), (15.0, 25.0));
        // A fixed stretch is what it names, before, during and after the run passes it.
        for now in [0.0, 7000.0, 9000.0] {
            assert_eq!(View::Span(6900.0, 8100.0).x_range(now, 60.0), (6900.0, 8100.0));
        }
        // A clock that is not a number yet draws from zero.
        assert_eq!(View::Whole.x_range(f64::NAN, 60.0), (0.0, 60.0));
    }

    #[test]
    fn views_round_trip_through_their_text_and_bad_ones_are_named() {
        for v in
            [View::Whole, View::Last(300.0), View::Last(1.5), View::Span(6900.0, 8100.0), View::Span(0.25, 12.000001)]
        {
            assert_eq!(View::parse(&v.to_text()), Ok(v), "{}", v.to_text());
        }
        assert_eq!(View::parse(" 20..60 "), Ok(View::Span(20.0, 60.0)));
        for bad in
            ["", "x", "NaN", "-5", "0.5", "60..20", "10..10.5", "-1..20", "1..2e6", "inf", "1..x", "..", "1..2..3"]
        {
            let e = View::parse(bad).expect_err(bad);
            assert!(!e.is_empty(), "{bad}");
        }
    }

    #[test]
    fn views_in_words() {
        assert_eq!(View::Whole.words(), "the whole run");
        assert_eq!(View::Last(300.0).words(), "the last 5 minutes");
        assert_eq!(View::Last(3600.0).words(), "the last hour");
        assert_eq!(View::Last(7200.0).words(), "the last 2 hours");
        assert_eq!(View::Last(45.0).words(), "the last 45 s");
        assert_eq!(View::Span(6900.0, 8100.0).words(), "6,900 s to 8,100 s");
    }
}
