//! Drives the page's simulations: one run, or two side by side for A/B (same scenario, seed, keys and commands,
//! different controllers). Any registered scenario runs here as a `Box<dyn Run>` built through
//! [`crate::registry`]; the page knows no model: what it shows beside the rows (weights, states, the pick
//! explanation) is what the run declares through [`Run::read_outs`] and its other read-outs.
//!
//! Each animation frame advances the runs in lockstep, one chart step at a time and [`EVENTS_PER_CHUNK`] events
//! per call, and checks its wall-clock budget between calls, so no URL or slider value can make a frame run
//! long. This is the only code in the web app that changes a run, and it does so only through `run_until` and
//! text commands; it has no browser dependency, so the wasm tests exercise it directly.
//!
//! Where the browser can run Web Workers, each run lives in its own worker instead ([`super::workers`],
//! [`super::protocol`]), and the engine here keeps, per lane, an un-run copy of the same run built from the same
//! spec: it answers what never changes (charts, command table, picture, columns, target names, length, step) and
//! parses commands, while what changes (the clock, rows, summary, applied commands, states, the traced pick)
//! comes from the worker's replies. The frame loop then only asks for a target and takes what arrived
//! ([`Engine::poll`]); without workers, or if one fails, the runs are driven here as before.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::engine::run::Run;
use crate::engine::schema::{Column, Crowd, CROWD_MAX_SERIES};
use crate::registry::{self, RunSpec, ScenarioDef};
use crate::time::{as_secs_f64, from_secs_f64, SimTime};
use crate::urlstate::UrlState;

use super::history::{Point, RowHistory};
pub use super::pace::{next_boundary, EVENTS_PER_CHUNK, TIME_STEP_S};
use super::plot::Marker;
use super::protocol::{floats, term_name, Live, Reply, Request, Spec, WireDecision};
use super::workers::{worker_url, Link};

/// Chart rows kept; older ones scroll off.
pub const HISTORY_POINTS: usize = 600;

/// CSV rows kept for the export (two simulated hours at 0.5 s); older ones are dropped and counted.
pub const CSV_ROWS_MAX: usize = 14_400;

/// Longest wall-clock gap one frame accounts for, seconds. A tab that was hidden for a minute resumes where it
/// was instead of trying to simulate the whole minute in one frame.
pub const FRAME_DT_MAX_S: f64 = 0.1;

/// How far past its last step a lesson's run goes, as a factor of that step's time.
pub const LESSON_MARGIN: f64 = 1.2;

/// One pick in this many is traced for the "why this server?" panel (section model).
pub const PICK_TRACE_EVERY: u32 = 400;

/// One run and what the charts and the export keep of it.
pub struct Lane {
    /// The controller's name ("" for models without a balancer).
    pub controller: String,
    /// The run; when it runs in a worker, the page's un-run copy of it (see the module docs): read only what
    /// never changes from it, and the rest through the lane's own methods ([`Lane::now`], [`Lane::summary`]…).
    pub run: Box<dyn Run>,
    /// The run's row schema.
    pub columns: Vec<Column>,
    /// The charts' rows.
    pub history: RowHistory,
    csv: VecDeque<String>,
    csv_dropped: u64,
    /// The spec the run was built from (a worker builds its own run from it).
    spec: RunSpec,
    /// What the run's worker last reported; `None` while the run runs here.
    live: Option<Live>,
    /// The run's time as its worker last reported it, µs.
    remote_now: SimTime,
    /// The charts' markers as last computed ([`Lane::markers`]), with the rows and commands they came from.
    markers: RefCell<Option<MarkerMemo>>,
}

/// A lane's markers and what they were computed from: (rows pushed, commands applied).
struct MarkerMemo {
    stamp: (u64, usize),
    markers: Rc<[Marker]>,
}

impl Lane {
    fn new(def: &'static ScenarioDef, url: &UrlState, controller: &str) -> Result<Lane, String> {
        let mut spec = spec_for(def, url, controller);
        let controller = spec.controller.clone();
        let mut run = def.build_run(&spec)?;
        // A lesson whose last step lies past the scenario's own length (Percona's hours of catch-up) gets a run
        // long enough for it, and a little beyond to look around.
        let lesson_end_s = def.lesson.iter().map(|s| s.at_s).fold(0.0, f64::max);
        if url.length_s.is_none() && as_secs_f64(run.duration()) < lesson_end_s {
            spec.duration_s = Some((lesson_end_s * LESSON_MARGIN).min(crate::urlstate::LENGTH_MAX_S));
            run = def.build_run(&spec)?;
        }
        run.trace_decisions(PICK_TRACE_EVERY);
        let columns = run.columns();
        Ok(Lane {
            controller,
            run,
            columns,
            history: RowHistory::new(HISTORY_POINTS),
            csv: VecDeque::new(),
            csv_dropped: 0,
            spec,
            live: None,
            remote_now: 0,
            markers: RefCell::new(None),
        })
    }

    /// True when the run lives in a worker.
    pub fn in_worker(&self) -> bool {
        self.live.is_some()
    }

    /// The run's simulated time, µs.
    pub fn now(&self) -> SimTime {
        if self.live.is_some() {
            self.remote_now
        } else {
            self.run.now()
        }
    }

    /// The run's summary ([`Run::summary`]).
    pub fn summary(&self) -> Map<String, Value> {
        self.live.as_ref().map_or_else(|| self.run.summary(), |l| l.summary.clone())
    }

    /// The commands applied so far, with their times ([`Run::applied_text`]).
    pub fn applied_text(&self) -> Vec<(SimTime, String)> {
        self.live.as_ref().map_or_else(|| self.run.applied_text(), |l| l.applied.clone())
    }

    /// The run's markers: `compute`'s, given the commands applied so far, computed again only once a row or a
    /// command has arrived since the last call. Every chart of a frame draws them (an A/B chart the other run's
    /// too, to line the plots up), and computing them walks the whole history.
    pub fn markers(&self, compute: impl FnOnce(Vec<(SimTime, String)>) -> Vec<Marker>) -> Rc<[Marker]> {
        let applied = self.applied_text();
        // Every row the history has taken: those still at full resolution and those folded into its course.
        let rows = self.history.dropped() + self.history.len() as u64;
        let stamp = (rows, applied.len());
        if let Some(memo) = &*self.markers.borrow() {
            if memo.stamp == stamp {
                return memo.markers.clone();
            }
        }
        let markers: Rc<[Marker]> = compute(applied).into();
        *self.markers.borrow_mut() = Some(MarkerMemo { stamp, markers: markers.clone() });
        markers
    }

    /// Each target's state in plain words ([`Run::target_states`]).
    pub fn target_states(&self) -> Vec<String> {
        self.live.as_ref().map_or_else(|| self.run.target_states(), |l| l.states.clone())
    }

    /// The latest traced balancer decision ([`Run::last_decision`]), as plain data.
    pub fn last_decision(&self) -> Option<WireDecision> {
        match &self.live {
            Some(l) => l.decision.clone(),
            None => self.run.last_decision().as_ref().map(WireDecision::of),
        }
    }

    /// Keeps one finished row for the charts and the CSV log.
    fn push(&mut self, point: Point) {
        if self.csv.len() == CSV_ROWS_MAX {
            self.csv.pop_front();
            self.csv_dropped += 1;
        }
        self.csv.push_back(self.run.csv_row(&point.row));
        self.history.push(point);
    }

    /// Takes in a worker's reply: its rows, and what it shows beside them. True if anything changed.
    fn absorb(&mut self, reply: Reply) -> bool {
        let changed = !reply.rows.is_empty()
            || reply.now != self.remote_now
            || reply.live.as_ref().is_some_and(|l| self.live.as_ref() != Some(l));
        self.remote_now = reply.now;
        for r in reply.rows {
            let diagnostics = r.terms.iter().filter_map(|(k, v)| Some((term_name(k)?, v.0))).collect();
            self.push(Point { row: floats(&r.row), weights: floats(&r.weights), diagnostics });
        }
        if let Some(live) = reply.live {
            self.live = Some(live);
        }
        changed
    }

    /// Moves finished rows into the history and the CSV log, sampling host 0's weights and the watched
    /// server's controller terms now (at the end of the step that produced them).
    fn collect(&mut self, watched: usize) {
        let rows = self.run.drain_rows();
        if rows.is_empty() {
            return;
        }
        let weights = self.run.balancer_weights();
        let diagnostics = self.run.balancer_terms(watched);
        for row in rows {
            self.push(Point { row, weights: weights.clone(), diagnostics: diagnostics.clone() });
        }
    }

    /// The run's rows as CSV with the CLI's columns (header first, one line per kept row).
    pub fn csv(&self) -> String {
        let mut out = self.run.csv_header();
        out.push('\n');
        for line in &self.csv {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Rows dropped from the CSV log because the run outgrew [`CSV_ROWS_MAX`].
    pub fn csv_dropped(&self) -> u64 {
        self.csv_dropped
    }

    /// The index of the column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// What the page runs for `controller` in `url`: the same spec the command line would build, at the charts'
/// step ([`TIME_STEP_S`]).
pub fn spec_for(def: &ScenarioDef, url: &UrlState, controller: &str) -> RunSpec {
    let controller = if def.takes_controller { controller.to_string() } else { String::new() };
    RunSpec {
        sets: sets_for(url, &controller),
        controller,
        seed: url.seed,
        duration_s: url.length_s,
        time_step_s: Some(TIME_STEP_S),
        file: url.file.clone(),
    }
}

/// The `--set` pairs that apply to `controller`: all of them but the parameters of the other controller.
pub fn sets_for(url: &UrlState, controller: &str) -> Vec<(String, String)> {
    let lanes = std::iter::once(url.controller.as_str()).chain(url.controller_b.as_deref());
    crate::controller::sets_for(controller, lanes, &url.sets)
}

/// Where the page's runs run.
#[derive(Default)]
enum Mode {
    /// Not decided yet: the first build looks for workers.
    #[default]
    Undecided,
    /// Each in its own worker, started from this URL (`worker.js` with the wasm's files).
    Workers(String),
    /// On the main thread: no workers here, or one failed.
    Here,
}

/// What became of a live command, for the page to record or refuse ([`crate::page::state::Action::Record`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The command as clicked (`crash:db1119`).
    pub text: String,
    /// When it acts, seconds, or why it was refused (then it changed nothing).
    pub result: Result<f64, String>,
    /// The link of the runs that answered it ([`Engine::run_link`]).
    pub run: Rc<UrlState>,
}

/// What the page keeps about its workers: where the runs run, the workers themselves and what is on its way to
/// and from them. The main-thread path reads none of it but [`Workers::settled`] (a worker's failure hands its
/// commands to the main thread through it).
#[derive(Default)]
struct Workers {
    mode: Mode,
    /// One worker per lane while the runs run in workers, kept from one build to the next (starting a worker
    /// loads the wasm again).
    links: Vec<Link>,
    /// Bumped by every rebuild in workers: replies to an older build are ignored.
    build: u32,
    /// The target the last frame asked the workers for, µs: a run short of it is behind.
    asked: SimTime,
    /// The link the last rebuild ran: a command clicked just before the next rebuild is carried into it when the
    /// new link keeps this one's recorded commands ([`UrlState::keeps_commands_of`]).
    built: Option<UrlState>,
    /// The link as it stands now ([`Engine::follow`]: the last rebuild's plus the commands recorded since): what
    /// the main thread replays if a worker fails.
    url: Option<UrlState>,
    /// Commands sent to the workers that run A's worker has not answered yet: (text, time µs), oldest first.
    /// A's worker decides (the model's checks may depend on the run's state, which only it has), as A's run
    /// does on the main thread. At most `workers::OUTSTANDING_MAX`.
    pending: VecDeque<(String, SimTime)>,
    /// What became of the commands A's worker answered (or the main thread took over): their time, seconds, or
    /// the reason they were refused.
    settled: Vec<(String, Result<f64, String>)>,
}

impl Workers {
    /// Builds each lane's run in its worker (starting the workers the first time), from the lane's spec.
    fn start(&mut self, worker: &str, def: &ScenarioDef, lanes: &mut [Lane]) -> Result<(), String> {
        self.build = self.build.wrapping_add(1);
        for (i, lane) in lanes.iter_mut().enumerate() {
            // A worker that failed, or has more unanswered than a build may add to, is replaced: its queue goes
            // with it.
            if self.links.get(i).is_some_and(|l| l.full() || l.failed().is_some()) {
                self.links[i] = Link::spawn(worker)?;
            }
            if i == self.links.len() {
                self.links.push(Link::spawn(worker)?);
            }
            let spec = Spec::of(def.name, &lane.spec);
            self.links[i].send(&Request::Build { build: self.build, spec, trace_every: PICK_TRACE_EVERY })?;
            lane.live = Some(Live::of(lane.run.as_ref()));
            lane.remote_now = 0;
        }
        Ok(())
    }
}

/// Smoothing of the share of recent frames that were behind: each frame counts for this much, the frames before
/// for the rest (about ten frames, a sixth of a second, at 60 frames a second).
const SMOOTHING: f64 = 0.1;

/// Smoothing of [`Engine::achieved_speed`], the same way over about fifty frames (0.8 s): workers report their
/// runs' time at most every 100 ms, so most frames see no progress and some a burst; over ten frames the figure
/// swung between 392× and 548× for `slow` at 1000× while its clock's slope was 470×.
const SPEED_SMOOTHING: f64 = 0.02;

/// The share of recent frames behind at which the status line starts saying the run cannot keep up, and the
/// share under which it stops: two thresholds, so a run on the edge does not make the line flicker.
const LAGGING_FROM: f64 = 0.6;
const LAGGING_UNTIL: f64 = 0.25;

/// A run that reaches this share of the speed asked keeps up, even when its frames end short of their target:
/// a worker's rows reach the page a frame or two after it asked for them, so a run in workers that keeps up is
/// often a frame behind the latest target (`slow` A/B at 100× was, while reaching 100×).
const KEEPS_UP: f64 = 0.9;

/// The page's simulations: A, and B when an A/B comparison is on.
#[derive(Default)]
pub struct Engine {
    /// The scenario running.
    pub def: Option<&'static ScenarioDef>,
    /// One or two runs, in lockstep.
    pub lanes: Vec<Lane>,
    /// Names of the model's main targets (servers, nodes), in index order.
    pub names: Vec<String>,
    /// The kind of those targets (`server`), from the command table.
    pub target_kind: Option<&'static str>,
    /// The server whose controller terms the PID chart watches.
    pub watched: usize,
    /// The stretch of the run the charts show.
    pub view: crate::engine::scenario::View,
    /// True if the last frame did not get the runs to the time the speed asked for (on the main thread: its
    /// budget ran out; in workers: a run was short of the previous frame's target).
    pub behind: bool,
    /// True while the runs cannot keep up with the speed asked: most recent frames were [`Engine::behind`]
    /// (smoothed like [`Engine::achieved_speed`], with two thresholds so it does not flicker). The status line
    /// says so.
    pub lagging: bool,
    /// The smoothed share of recent frames that were behind, 0 to 1.
    lag: f64,
    /// Simulated seconds per wall-clock second actually achieved, smoothed over recent frames.
    pub achieved_speed: f64,
    /// The reader's own metrics, mapped to the run's columns and aligned to its clock: drawn on the charts of
    /// those columns beside the simulated lines. Never leaves the page.
    pub overlay: Vec<crate::overlay::Overlay>,
    /// Bumped whenever `overlay` is set, so the frame loop redraws even while paused.
    pub overlay_version: u32,
    /// Where a run handed over from a failed worker had got to, µs: the main thread replays it from the seed
    /// and runs to there before it goes on ([`Engine::resume_to`]).
    resume: SimTime,
    workers: Workers,
}

/// What became of a command sent with [`Engine::command`].
#[derive(Clone, Debug, PartialEq)]
pub enum Sent {
    /// Applied on the main thread, at this simulated time, seconds.
    Applied(f64),
    /// Sent to the workers: the answer comes through [`Engine::take_settled`].
    Pending,
}

impl Engine {
    /// Replaces the runs with fresh ones for `url` (both controllers when A/B is on), from time zero.
    ///
    /// A command clicked just before, that run A's worker had not answered (or whose answer the page had not
    /// taken yet), is not dropped: when the new link keeps the old one's recorded commands (a restart, another
    /// setting, a lesson step back) it is scheduled in the new runs at the same moment, as the main thread would
    /// have recorded it in the link and replayed it; otherwise (another scenario) it is refused, saying why. Its
    /// outcome comes through [`Engine::take_settled`] either way.
    pub fn rebuild(&mut self, url: &UrlState) -> Result<(), String> {
        let carried = self.unanswered();
        let keeps = self.workers.built.as_ref().is_some_and(|old| url.keeps_commands_of(old));
        if let Err(e) = self.build_lanes(url) {
            self.refuse(carried, "the run could not start again");
            return Err(e);
        }
        if keeps {
            self.carry(carried);
        } else {
            self.refuse(carried, crate::page::state::SUPERSEDED);
        }
        Ok(())
    }

    /// What [`Engine::rebuild`] builds: the lanes, in workers when the page has them.
    fn build_lanes(&mut self, url: &UrlState) -> Result<(), String> {
        let def = registry::find(&url.scenario)?;
        let mut lanes = vec![Lane::new(def, url, &url.controller)?];
        if let (true, Some(b)) = (def.takes_controller, url.controller_b.as_deref()) {
            lanes.push(Lane::new(def, url, b)?);
        }
        let run = &lanes[0].run;
        self.target_kind = run.command_table().iter().find_map(|c| c.target);
        self.names = self.target_kind.map(|k| run.target_names(k)).unwrap_or_default();
        self.watched = lanes[0].run.read_outs().focus.unwrap_or(0);
        let w = &mut self.workers;
        if let Mode::Undecided = w.mode {
            w.mode = worker_url().map_or(Mode::Here, Mode::Workers);
        }
        if let Mode::Workers(worker) = &w.mode {
            let worker = worker.clone();
            if let Err(reason) = w.start(&worker, def, &mut lanes) {
                gloo::console::warn!(format!("loadlab: the simulation runs on the page: {reason}"));
                w.mode = Mode::Here;
                lanes.iter_mut().for_each(|l| l.live = None);
            }
        }
        if let Mode::Here = w.mode {
            w.links.clear();
        }
        w.asked = 0;
        w.built = Some(url.clone());
        w.url = Some(url.clone());
        w.pending.clear();
        self.def = Some(def);
        self.lanes = lanes;
        self.behind = false;
        self.lagging = false;
        self.lag = 0.0;
        self.achieved_speed = 0.0;
        self.resume = 0;
        self.overlay.clear(); // its columns were the old run's; the metrics hook pairs them again
        Ok(())
    }

    /// Notes the page's link as it stands now (the frame loop calls it whenever the page's inputs change): if a
    /// worker fails, the main thread replays this link, with the commands recorded since the last rebuild.
    pub fn follow(&mut self, url: &UrlState) {
        if self.workers.url.as_ref() != Some(url) {
            self.workers.url = Some(url.clone());
        }
    }

    /// The commands run A has not settled for the page yet, oldest first: those its answer accepted that the
    /// page has not taken, then those it has not answered. Takes the replies that arrived first.
    fn unanswered(&mut self) -> Vec<(String, SimTime)> {
        self.take_replies();
        let w = &mut self.workers;
        let mut out = Vec::new();
        w.settled.retain(|(text, outcome)| match outcome {
            Ok(at_s) => {
                out.push((text.clone(), from_secs_f64(*at_s)));
                false
            }
            Err(_) => true,
        });
        out.extend(w.pending.drain(..));
        out
    }

    /// Refuses `commands`, saying why; each refusal comes through [`Engine::take_settled`].
    fn refuse(&mut self, commands: Vec<(String, SimTime)>, why: &str) {
        self.workers.settled.extend(commands.into_iter().map(|(text, _)| (text, Err(why.to_string()))));
    }

    /// Schedules `commands` at their own moments in the runs just built from time zero, as a link that records
    /// them replays them: in workers, sent to every run (run A's answer settles each); here, applied to every
    /// run at once.
    fn carry(&mut self, commands: Vec<(String, SimTime)>) {
        for (text, at) in commands {
            let outcome = match self.lanes.first() {
                None => Err("the simulation is not running".to_string()),
                Some(a) if at > a.run.duration() => Err("the run ends before its moment".to_string()),
                Some(_) if self.in_workers() => self.send_at(&text, at).map(|()| None),
                Some(_) => self.schedule_here(&text, at).map(Some),
            };
            match outcome {
                Ok(None) => {}
                Ok(Some(at_s)) => self.workers.settled.push((text, Ok(at_s))),
                Err(e) => self.workers.settled.push((text, Err(e))),
            }
        }
    }

    /// The target the workers were last asked for, µs (0 on the main thread).
    pub fn asked(&self) -> SimTime {
        if self.in_workers() {
            self.workers.asked
        } else {
            0
        }
    }

    /// True while the runs run in workers.
    pub fn in_workers(&self) -> bool {
        self.lanes.first().is_some_and(Lane::in_worker)
    }

    /// Where the runs must get to before they go on, µs, while the main thread replays a run a failed worker
    /// handed over (the frame loop runs there as it runs to a lesson's step); `None` once they are there.
    pub fn resume_to(&self) -> Option<SimTime> {
        (self.resume > self.now()).then_some(self.resume)
    }

    /// Takes the workers' replies into the lanes: rows into the charts and the CSV log, and what the page shows
    /// beside them. True if anything changed. A worker that failed hands the runs back to the main thread: they
    /// are replayed here from the page's link as it stands now (with the commands recorded since the last
    /// rebuild, and those still on their way), from the seed up to where the workers had got
    /// ([`Engine::resume_to`]), so the run goes on event for event.
    pub fn poll(&mut self) -> bool {
        if !self.in_workers() {
            return false;
        }
        if let Some(reason) = self.workers.links.iter().find_map(Link::failed) {
            gloo::console::warn!(format!("loadlab: the simulation now runs on the page: {reason}"));
            self.workers.mode = Mode::Here;
            let resume = self.now();
            let carried = self.unanswered();
            self.workers.links.clear();
            let url = self.workers.url.clone().or_else(|| self.workers.built.clone());
            let built = url.map(|url| self.build_lanes(&url));
            match built {
                Some(Ok(())) => {
                    self.carry(carried);
                    self.resume = resume;
                }
                Some(Err(e)) => {
                    gloo::console::warn!(format!("loadlab: the run could not start again: {e}"));
                    self.refuse(carried, "the run could not start again");
                    self.lanes.clear();
                }
                None => self.lanes.clear(),
            }
            return true;
        }
        self.take_replies()
    }

    /// Takes the replies of the current build that arrived: answers to commands settle them, and rows and
    /// read-outs go to their lanes. True if anything changed.
    fn take_replies(&mut self) -> bool {
        let mut changed = false;
        let w = &mut self.workers;
        for (i, link) in w.links.iter().enumerate() {
            for reply in link.take() {
                if reply.build != w.build {
                    continue;
                }
                if reply.command && i == 0 {
                    if let Some((text, at)) = w.pending.pop_front() {
                        let outcome = reply.error.clone().map_or(Ok(as_secs_f64(at)), Err);
                        w.settled.push((text, outcome));
                    }
                } else if let Some(e) = &reply.error {
                    // Run B may refuse what A took (its state differs); the main-thread path ignores that too.
                    gloo::console::warn!(format!("loadlab: a simulation worker refused a request: {e}"));
                }
                if let Some(lane) = self.lanes.get_mut(i).filter(|l| l.in_worker()) {
                    changed |= lane.absorb(reply);
                }
            }
        }
        changed
    }

    /// True while the workers have not settled: one runs towards a target, or A and B stand at different times.
    /// A paused page waits for them before it shows the moment it holds.
    pub fn settling(&self) -> bool {
        self.in_workers()
            && (self.workers.links.iter().take(self.lanes.len()).any(Link::moving)
                || self.lanes.iter().any(|l| l.now() != self.now()))
    }

    /// Pause: asks every worker to stop where it is, rather than run on to the target of the last frame.
    pub fn hold(&mut self) {
        if self.in_workers() {
            let w = &self.workers;
            for (lane, link) in self.lanes.iter().zip(&w.links) {
                link.want(w.build, 0, self.watched, lane.now());
            }
        }
    }

    /// While paused: once the workers have stopped, brings a run that stopped earlier up to the later, so A and B
    /// hold at one moment, as on the main thread.
    pub fn even_up(&mut self) {
        let w = &self.workers;
        if !self.in_workers() || w.links.iter().take(self.lanes.len()).any(Link::moving) {
            return;
        }
        let later = self.lanes.iter().map(Lane::now).max().unwrap_or(0);
        for (lane, link) in self.lanes.iter().zip(&w.links) {
            if lane.now() < later {
                link.want(w.build, later, self.watched, lane.now());
            }
        }
    }

    /// Asks every worker to advance its run to `target` (at most the run's length), noting whether they got to
    /// what the previous frame asked.
    fn ask_workers(&mut self, target: SimTime) {
        let target = target.min(self.end());
        let w = &mut self.workers;
        let asked = w.asked;
        self.behind = self.lanes.iter().any(|l| l.now() < asked);
        w.asked = target;
        for (lane, link) in self.lanes.iter().zip(&w.links) {
            link.want(w.build, target, self.watched, lane.now());
        }
    }

    /// The scenario file of what runs now (run A's controller, every key and clicked step, and the length
    /// the page runs, a lesson's included), as the command line's `export-scenario` writes it.
    pub fn scenario_file(&self, url: &UrlState) -> Result<String, String> {
        let def = self.def.ok_or("the simulation is not running")?;
        let spec = RunSpec { duration_s: Some(as_secs_f64(self.end())), ..spec_for(def, url, &url.controller) };
        def.export_file(&spec)
    }

    /// Simulated time now, µs (0 before the first build).
    pub fn now(&self) -> SimTime {
        // In workers the runs may be a slice apart; the page shows, and the next frame starts from, the earlier.
        self.lanes.iter().map(Lane::now).min().unwrap_or(0)
    }

    /// Simulated time now, seconds.
    pub fn now_s(&self) -> f64 {
        as_secs_f64(self.now())
    }

    /// The run's length, µs: the scenario's own, or the one the link asks for. Time stops there.
    pub fn end(&self) -> SimTime {
        self.lanes.first().map_or(SimTime::MAX, |l| l.run.duration())
    }

    /// True once the runs have reached their length.
    pub fn ended(&self) -> bool {
        !self.lanes.is_empty() && self.now() >= self.end()
    }

    /// Advances every run towards `target` one chart step at a time, and stops early once `out_of_time()`
    /// says the frame's wall-clock budget is spent. Returns the number of chart steps completed.
    /// In workers it only asks them (they report through [`Engine::poll`]) and returns 0.
    pub fn advance_to(&mut self, target: SimTime, out_of_time: impl FnMut() -> bool) -> usize {
        if self.in_workers() {
            self.ask_workers(target);
            return 0;
        }
        // A run ends at its length: its model records no rows after it, so the clock stops there too.
        self.advance_in_chunks(target, EVENTS_PER_CHUNK, out_of_time)
    }

    /// [`Engine::advance_to`] with `chunk` events per `run_until` call.
    ///
    /// A chunk can end part-way through the events of one microsecond, with the clock already there. So "done"
    /// is not "the clock reached the target" but "the last chunk processed everything up to its boundary":
    /// stopping on the clock alone would leave the events at the target (the row of a step that ends there)
    /// for a frame that may never come, when the run is paused at a lesson step.
    fn advance_in_chunks(&mut self, target: SimTime, chunk: u64, mut out_of_time: impl FnMut() -> bool) -> usize {
        // A run ends at its length: its model records no rows after it, so the clock stops there too.
        let target = target.min(self.end());
        let mut steps = 0;
        let mut boundary = None;
        self.behind = false;
        while !self.lanes.is_empty() && (boundary.is_some() || self.now() < target) {
            if out_of_time() {
                self.behind = true;
                break;
            }
            let until = boundary.unwrap_or_else(|| next_boundary(self.now()).min(target));
            if self.run_to(until, chunk) {
                steps += 1;
                boundary = None;
            } else {
                boundary = Some(until);
            }
        }
        steps
    }

    /// The target of a frame `dt_s` seconds long at `speed` (with `dt_s` clamped to [0, `FRAME_DT_MAX_S`]).
    pub fn frame_target(&self, dt_s: f64, speed: f64) -> SimTime {
        let dt_s = if dt_s.is_finite() { dt_s.clamp(0.0, FRAME_DT_MAX_S) } else { 0.0 };
        let speed = if speed.is_finite() { speed.max(0.0) } else { 0.0 };
        self.now().saturating_add(from_secs_f64(dt_s * speed))
    }

    /// Advances every run to the end of the current chart step: the "step" button. Bounded like a frame.
    pub fn step_once(&mut self, out_of_time: impl FnMut() -> bool) {
        let boundary = next_boundary(self.now());
        self.advance_to(boundary, out_of_time);
    }

    /// Runs every run one chunk of events towards `until` and collects their rows. True once all got there.
    fn run_to(&mut self, until: SimTime, chunk: u64) -> bool {
        let watched = self.watched;
        let mut reached = true;
        for lane in &mut self.lanes {
            // Even at `until` already: events of that very microsecond may still wait.
            reached &= lane.run.run_until(until, chunk);
            lane.collect(watched);
        }
        reached
    }

    /// Sends a text command (`crash:db1119`) to every run: on the main thread it is applied at once
    /// (`Engine::apply`); to workers it is checked against the command table here, sent with the time it will
    /// act at, and A's worker's answer comes through [`Engine::take_settled`]. An error: nothing was sent.
    pub fn command(&mut self, text: &str) -> Result<Sent, String> {
        if self.in_workers() {
            self.poll();
        }
        if self.in_workers() {
            self.send_to_workers(text).map(|()| Sent::Pending)
        } else {
            self.apply(text).map(Sent::Applied)
        }
    }

    /// The answers to the commands sent to the workers since the last call, in the order they were sent: the
    /// time each acts at, seconds, or why it was refused (then it changed nothing). Also the commands a rebuild
    /// or a failed worker carried over or refused ([`Engine::rebuild`], [`Engine::poll`]).
    pub fn take_settled(&mut self) -> Vec<Outcome> {
        if self.workers.settled.is_empty() {
            return Vec::new();
        }
        let run = self.run_link();
        let settled = std::mem::take(&mut self.workers.settled);
        settled.into_iter().map(|(text, result)| Outcome { text, result, run: run.clone() }).collect()
    }

    /// The link the runs were last built from (the page's, before it is changed again): a command's outcome
    /// carries it, so the page records the command only where that link's commands still belong.
    pub fn run_link(&self) -> Rc<UrlState> {
        Rc::new(self.workers.built.clone().unwrap_or_default())
    }

    /// Applies a text command (`crash:db1119`) to every run one microsecond from now, and advances them to that
    /// instant, on the main thread. Returns the simulated time it was applied at, seconds, or the parser's or the
    /// model's reason for rejecting it (then nothing changed).
    ///
    /// Why one microsecond ahead: commands fire before every event of their microsecond, and the events of the
    /// current one have already run. A link that replays the command as a scheduled step at the returned time
    /// therefore lands at exactly the same point of the run, with the same trace.
    fn apply(&mut self, text: &str) -> Result<f64, String> {
        let Some(first) = self.lanes.first() else { return Err("the simulation is not running".into()) };
        let at = first.run.now() + 1;
        let at_s = self.schedule_here(text, at)?;
        for lane in &mut self.lanes {
            lane.run.run_until(at, u64::MAX);
        }
        Ok(at_s)
    }

    /// Schedules a text command at `at` µs in every run on the main thread: run A decides, as in workers.
    /// Returns its time, seconds.
    fn schedule_here(&mut self, text: &str, at: SimTime) -> Result<f64, String> {
        let Some(first) = self.lanes.first_mut() else { return Err("the simulation is not running".into()) };
        first.run.schedule_text(at, text)?;
        for lane in self.lanes.iter_mut().skip(1) {
            // Same scenario and targets, so a command the first run accepted is valid here too.
            let _ = lane.run.schedule_text(at, text);
        }
        Ok(as_secs_f64(at))
    }

    /// Sends a command to every worker, to act one microsecond after the later of the runs' time and the goal
    /// a worker runs towards: its time is known here at once, and the workers, which read requests in order and
    /// never run past their goal before reading the next, are not past it when it arrives.
    fn send_to_workers(&mut self, text: &str) -> Result<(), String> {
        let w = &self.workers;
        let links = &w.links[..self.lanes.len().min(w.links.len())];
        let at = self.lanes.iter().zip(links).map(|(l, k)| k.goal().unwrap_or(0).max(l.now())).max().unwrap_or(0);
        let at = at.saturating_add(1);
        self.send_at(text, at)?;
        for (lane, link) in self.lanes.iter().zip(&self.workers.links) {
            // Run to it even when paused, as the main-thread path does, so the command takes effect at once.
            link.want(self.workers.build, link.wanted().unwrap_or(0).max(at), self.watched, lane.now());
        }
        Ok(())
    }

    /// Sends a command to every worker to act at `at` µs, once run A's table accepts its text; run A's worker's
    /// answer settles it ([`Engine::take_settled`]).
    fn send_at(&mut self, text: &str, at: SimTime) -> Result<(), String> {
        let first = self.lanes.first().ok_or("the simulation is not running")?;
        first.run.check_text(text)?;
        let w = &mut self.workers;
        let links = &w.links[..self.lanes.len().min(w.links.len())];
        if links.len() < self.lanes.len() || links.iter().any(Link::full) {
            return Err("the simulation is busy; try again in a moment".into());
        }
        for link in links {
            link.send(&Request::Command { build: w.build, at, text: text.to_string() })?;
        }
        w.pending.push_back((text.to_string(), at));
        Ok(())
    }

    /// Chooses the server the PID chart watches.
    pub fn watch(&mut self, server: usize) {
        if server < self.names.len() {
            self.watched = server;
        }
    }

    /// Folds one frame's progress into [`Engine::achieved_speed`] (simulated over wall seconds, smoothed), and
    /// whether it was [`Engine::behind`] while reaching less than [`KEEPS_UP`] of the `asked` speed into
    /// [`Engine::lagging`].
    pub fn note_speed(&mut self, simulated_s: f64, wall_s: f64, asked: f64) {
        if wall_s > 0.0 && wall_s.is_finite() && simulated_s.is_finite() {
            let now = simulated_s / wall_s;
            self.achieved_speed = if self.achieved_speed == 0.0 {
                now
            } else {
                (1.0 - SPEED_SMOOTHING) * self.achieved_speed + SPEED_SMOOTHING * now
            };
            let short = self.behind && self.achieved_speed < KEEPS_UP * asked;
            self.lag = (1.0 - SMOOTHING) * self.lag + SMOOTHING * f64::from(u8::from(short));
            self.lagging = if self.lagging { self.lag > LAGGING_UNTIL } else { self.lag >= LAGGING_FROM };
        }
    }
}

/// True when the run's per-target lines are a crowd its chart table greys ([`Crowd::FaultyOverGrey`] on one of
/// its charts, and more targets than [`CROWD_MAX_SERIES`]): its target charts without a table of their own (the
/// controller's weights) and the legend follow the same rule, so every legend agrees with its lines.
pub fn greyed(engine: &Engine) -> bool {
    engine.names.len() > CROWD_MAX_SERIES
        && engine.lanes.first().is_some_and(|l| l.run.charts().iter().any(|c| c.crowd == Crowd::FaultyOverGrey))
}

/// The targets the scenario breaks: every server a scheduled or applied fault names, in index order. Charts
/// draw them in one reserved colour, thicker, so the server every story is about stands out.
pub fn faulty(lane: &Lane, names: &[String]) -> Vec<usize> {
    let mut out: Vec<usize> = lane.run.read_outs().faulted;
    // A verb that undoes another (recover, repool) heals its target; the model's table says which those are.
    let table = lane.run.command_table();
    for (_, text) in lane.applied_text() {
        let mut parts = text.split(':');
        let verb = parts.next().unwrap_or("");
        if crate::engine::commands::heals(table, verb) {
            continue;
        }
        if let Some(i) = parts.next().and_then(|t| names.iter().position(|n| n == t)) {
            out.push(i);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The page's engine, shared by the frame loop and the controls that send commands. Equal when it is the
/// same engine, so it can be a prop.
#[derive(Clone, Default)]
pub struct EngineRef(pub std::rc::Rc<std::cell::RefCell<Engine>>);

impl PartialEq for EngineRef {
    fn eq(&self, other: &EngineRef) -> bool {
        std::rc::Rc::ptr_eq(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::urlstate::parse_query;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn engine(query: &str) -> Engine {
        let url = parse_query(query).state;
        let mut engine = Engine::default();
        engine.rebuild(&url).unwrap();
        engine
    }

    #[wasm_bindgen_test]
    fn ab_runs_share_arrivals_and_commands() {
        let mut engine = engine("scenario=slow&controller=static&ab=p2c&seed=3");
        let t = engine.frame_target(0.1, 20.0);
        engine.advance_to(t, || false);
        assert_eq!(engine.lanes.len(), 2);
        let t = engine.apply("crash:db1119").unwrap();
        // Applied one microsecond after the 2 s the runs had reached.
        assert!((t - 2.000001).abs() < 1e-9, "t = {t}");
        let t = engine.frame_target(0.1, 20.0);
        engine.advance_to(t, || false);
        let (a, b) = (engine.lanes[0].run.summary(), engine.lanes[1].run.summary());
        // The arrival stream does not depend on the controller (its own random stream).
        assert_eq!(a["requests"], b["requests"]);
        assert_eq!(engine.lanes[0].history.len(), 8);
        assert_eq!(engine.lanes[1].run.applied_text(), engine.lanes[0].run.applied_text());
    }

    #[wasm_bindgen_test]
    fn a_lanes_markers_are_computed_again_only_after_a_row_or_a_command() {
        use crate::web::charts::markers;
        let mut engine = engine("scenario=plain-s1&seed=5&length=10");
        engine.advance_to(from_secs_f64(2.0), || false);
        let lane = &engine.lanes[0];
        let first = markers(lane, &engine.names);
        assert!(Rc::ptr_eq(&first, &markers(lane, &engine.names)), "nothing new: the same markers");
        // A command at once (no new row yet) is marked at once, as a paused page shows it.
        let rows = engine.lanes[0].history.len();
        engine.apply("crash:db1119").unwrap();
        assert_eq!(engine.lanes[0].history.len(), rows);
        let crashed = markers(&engine.lanes[0], &engine.names);
        assert_eq!(crashed.len(), first.len() + 1);
        assert!(crashed.iter().any(|m| m.label.contains("db1119")), "{crashed:?}");
        // A new row: computed again, from the rows as they are now.
        engine.advance_to(from_secs_f64(4.0), || false);
        let later = markers(&engine.lanes[0], &engine.names);
        assert!(!Rc::ptr_eq(&crashed, &later));
        assert_eq!(later.to_vec(), crate::web::charts::markers_uncached(&engine.lanes[0], &engine.names));
    }

    #[wasm_bindgen_test]
    fn the_wall_clock_budget_stops_a_frame_early() {
        let mut engine = engine("scenario=plain-s1");
        let t = engine.frame_target(0.1, 100.0);
        let steps = engine.advance_to(t, || true);
        assert_eq!(steps, 0);
        assert!(engine.behind);
        assert_eq!(engine.now_s(), 0.0);
    }

    #[wasm_bindgen_test]
    fn a_huge_surge_is_cut_into_bounded_chunks() {
        // 1000× the production rate: one 0.5 s step is millions of events, and a frame still returns after
        // one chunk once its budget is spent.
        let mut engine = engine("scenario=plain-s1&surge=1000@0");
        let before = engine.lanes[0].run.events();
        let mut calls = 0;
        engine.advance_to(from_secs_f64(0.5), || {
            calls += 1;
            calls > 1
        });
        let spent = engine.lanes[0].run.events() - before;
        assert!(spent <= EVENTS_PER_CHUNK, "{spent} events in one bounded frame");
        assert!(engine.behind);
    }

    #[wasm_bindgen_test]
    fn a_chunk_that_ends_among_the_targets_events_does_not_end_the_advance() {
        // The fault fires at 2 s, the same microsecond as the end of the step whose row is stamped 2 s. With one
        // event per chunk, the chunk that applies the fault brings the clock to 2 s while that step still waits.
        // Advancing to 2 s must record it all the same, as one call with no chunk limit does.
        let query = "scenario=slow&fault_at=2&seed=5";
        let target = from_secs_f64(2.0);
        let mut whole = engine(query);
        whole.advance_in_chunks(target, u64::MAX, || false);
        let mut chunked = engine(query);
        chunked.advance_in_chunks(target, 1, || false);
        let last = |e: &Engine| e.lanes[0].history.last().map(Point::time_s);
        assert_eq!(last(&whole), Some(2.0));
        assert_eq!(last(&chunked), Some(2.0));
        assert_eq!(chunked.lanes[0].run.applied_text().len(), 1, "the fault fired");
        assert_eq!(chunked.lanes[0].run.trace_hash(), whole.lanes[0].run.trace_hash());
    }

    #[wasm_bindgen_test]
    fn a_command_carried_into_a_run_on_the_main_thread_acts_as_the_link_that_records_it_replays() {
        // What a failed worker hands over: a command run A had not settled, at the moment it was given.
        let mut carried = engine("scenario=plain-s1&seed=5&length=5");
        carried.carry(vec![("crash:db1119".to_string(), from_secs_f64(2.0) + 1)]);
        let settled = carried.take_settled();
        let outcomes: Vec<_> = settled.iter().map(|o| (o.text.as_str(), o.result.clone())).collect();
        assert_eq!(outcomes, vec![("crash:db1119", Ok(2.000001))]);
        assert_eq!(settled[0].run.scenario, "plain-s1", "the outcome names the link of the runs it acts in");
        let mut linked = engine("scenario=plain-s1&seed=5&length=5&fault=crash:db1119@2.000001");
        for e in [&mut carried, &mut linked] {
            e.advance_in_chunks(from_secs_f64(5.0), u64::MAX, || false);
        }
        assert_eq!(carried.lanes[0].run.trace_hash(), linked.lanes[0].run.trace_hash());
        // A command past the run's end, or one the run cannot take, is refused with a reason.
        carried.carry(vec![("crash:db1119".to_string(), from_secs_f64(9.0)), ("crash:nobody".to_string(), 6)]);
        let refused = carried.take_settled();
        assert_eq!(refused.len(), 2);
        assert!(refused.iter().all(|o| o.result.is_err()), "{refused:?}");
    }

    #[wasm_bindgen_test]
    fn csv_has_the_cli_header_and_one_line_per_row() {
        let mut engine = engine("scenario=quiet");
        let t = engine.frame_target(0.1, 20.0);
        engine.advance_to(t, || false);
        let csv = engine.lanes[0].csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("time_s,requests,rejected,active_workers"));
        assert_eq!(lines.len(), 1 + 4);
    }
}
