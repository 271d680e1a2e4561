//! What the page and a simulation worker say to each other, and the worker's side of it.
//!
//! With Web Workers available, each run (A, and B in an A/B comparison) lives in its own dedicated worker that
//! runs this same wasm (`static/worker.js`, [`crate::web::workers`]). The page sends [`Request`]s (build a run,
//! advance it to a simulated time, schedule a text command) and gets one [`Reply`] for each: the rows finished
//! since the last one and what the page shows beside them ([`Live`]), as plain data. An advance the worker
//! cannot finish in one slice it goes on with by itself, a slice at a time ([`Served::go_on`]), with the
//! messages that arrived in between taken first; each slice sends its rows as an unasked reply. So a worker
//! never waits on the page's main thread while it is short of the time asked. Both travel as JSON text
//! (serde_json with `float_roundtrip`, so every number arrives bit for bit; NaN and infinities, which JSON has no
//! words for, travel as the strings `"NaN"`, `"inf"` and `"-inf"`: see [`F`]).
//!
//! [`Served`] is the worker's state and the whole of what it does: it has no browser dependency beyond the clock
//! it is handed, so a worker and the page's own fallback path run the very same `Run` calls in the same order,
//! and a run's trace is the same in both.

use std::cell::RefCell;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use crate::engine::run::{Decision, Run};
use crate::registry::{self, RunSpec};
use crate::time::SimTime;

use super::pace::{next_boundary, EVENTS_PER_CHUNK};

/// Wall-clock time a worker spends on one advance before it reports where it got, ms. Short enough that the
/// page hears from it a few times a frame and a command waits little; long enough that the messages cost little
/// beside the simulation.
pub const SLICE_MS: f64 = 12.0;

/// Wall-clock time between two [`Live`] read-outs in the replies of one advance, ms: a summary costs more than the
/// rows, and the page takes a snapshot only every quarter second. A reply that answers a request or ends an
/// advance always carries one, so a held run (a lesson step, the end) shows its exact numbers.
pub const LIVE_EVERY_MS: f64 = 100.0;

/// Rows one reply carries at most; a worker with more to say stops its advance there and says so (`reached`
/// false), and the page asks again. A long seek of a model with short steps stays a series of bounded messages.
pub const ROWS_PER_REPLY_MAX: usize = 2_048;

/// Longest request text a worker reads, bytes (a scenario file is the only large part; the page bounds those
/// far lower when it opens them).
pub const REQUEST_BYTES_MAX: usize = 4 << 20;

/// A float as JSON can carry it: finite numbers as numbers, NaN and the infinities as strings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct F(pub f64);

impl Serialize for F {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            v if v.is_finite() => s.serialize_f64(v),
            v if v.is_nan() => s.serialize_str("NaN"),
            v if v > 0.0 => s.serialize_str("inf"),
            _ => s.serialize_str("-inf"),
        }
    }
}

struct FVisitor;

impl Visitor<'_> for FVisitor {
    type Value = F;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a number, \"NaN\", \"inf\" or \"-inf\"")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<F, E> {
        Ok(F(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<F, E> {
        Ok(F(v as f64))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<F, E> {
        Ok(F(v as f64))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<F, E> {
        match v {
            "NaN" => Ok(F(f64::NAN)),
            "inf" => Ok(F(f64::INFINITY)),
            "-inf" => Ok(F(f64::NEG_INFINITY)),
            _ => Err(E::custom(format!("not a number: {v}"))),
        }
    }
}

impl<'de> Deserialize<'de> for F {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<F, D::Error> {
        d.deserialize_any(FVisitor)
    }
}

fn wire(values: &[f64]) -> Vec<F> {
    values.iter().map(|v| F(*v)).collect()
}

/// Plain numbers back from [`F`]s.
pub fn floats(values: &[F]) -> Vec<f64> {
    values.iter().map(|v| v.0).collect()
}

/// What a worker builds its run from: the page's [`RunSpec`] for that run, with the scenario's name.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Spec {
    /// The scenario.
    pub scenario: String,
    /// The run, as the page built its own copy.
    pub run: RunSpec,
}

impl Spec {
    /// The spec of `scenario`'s run `spec`.
    pub fn of(scenario: &str, spec: &RunSpec) -> Spec {
        Spec { scenario: scenario.to_string(), run: spec.clone() }
    }
}

/// What the page asks of a worker. Every request carries the page's build number; a worker answers each one,
/// in order, with a [`Reply`] of the same build, and the page ignores replies of an older build.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Request {
    /// Replace the run with a fresh one, from time zero, tracing one balancer decision in `trace_every`.
    Build { build: u32, spec: Spec, trace_every: u32 },
    /// Run towards `target` µs (stopping at the run's length) one chart step at a time, for at most
    /// [`SLICE_MS`], sampling the controller's terms for target `watched` with each row.
    Advance { build: u32, target: SimTime, watched: usize },
    /// Schedule the text command `text` at `at` µs (never before the run's now: the page sends it after the
    /// advance it expects to end before `at`). Commands are scheduled in the order they arrive.
    Command { build: u32, at: SimTime, text: String },
}

/// One chart row and what the page samples with it (see [`super::history::Point`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WireRow {
    /// The row.
    pub row: Vec<F>,
    /// Host 0's weights at the end of its step.
    pub weights: Vec<F>,
    /// The watched target's controller terms at the end of its step.
    pub terms: Vec<(String, F)>,
}

/// A traced balancer decision ([`Decision`]) as plain data.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct WireDecision {
    /// When, µs.
    pub time: SimTime,
    /// Who chose.
    pub chooser: usize,
    /// The target chosen.
    pub chosen: Option<usize>,
    /// Who decided, in plain words.
    pub decided_by: String,
    /// Each candidate: (target, configured weight, in flight, balancer weight).
    pub candidates: Vec<(usize, F, u32, F)>,
    /// The balancer's terms for the chosen target.
    pub terms: Vec<(String, F)>,
}

impl WireDecision {
    /// `d` as plain data.
    pub fn of(d: &Decision) -> WireDecision {
        WireDecision {
            time: d.time,
            chooser: d.chooser,
            chosen: d.chosen,
            decided_by: d.decided_by.clone(),
            candidates: d.candidates.iter().map(|c| (c.target, F(c.configured), c.in_flight, F(c.weight))).collect(),
            terms: d.terms.iter().map(|(k, v)| (k.to_string(), F(*v))).collect(),
        }
    }
}

/// What the page shows of a run beside its rows: the same calls on the run whether it runs in a worker or on
/// the page.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Live {
    /// The summary ([`Run::summary`]: the model's figures, `events`, `trace_hash`).
    pub summary: Map<String, Value>,
    /// The commands applied so far, with their times.
    pub applied: Vec<(SimTime, String)>,
    /// Each target's state in plain words.
    pub states: Vec<String>,
    /// The latest traced decision.
    pub decision: Option<WireDecision>,
}

impl Live {
    /// What `run` shows now.
    pub fn of(run: &dyn Run) -> Live {
        Live {
            summary: run.summary(),
            applied: run.applied_text(),
            states: run.target_states(),
            decision: run.last_decision().as_ref().map(WireDecision::of),
        }
    }
}

/// A worker's answer to one [`Request`].
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Reply {
    /// The build of the request answered.
    pub build: u32,
    /// True when it answers a request; false for the report of a slice the worker went on with by itself.
    pub answers: bool,
    /// True when it answers an [`Request::Advance`] or reports on one.
    pub advance: bool,
    /// True when it answers a [`Request::Command`] (`error` then says why the run refused it).
    pub command: bool,
    /// For an advance: true when the run got to its target (or its length).
    pub reached: bool,
    /// Why the request was refused (then it changed nothing).
    pub error: Option<String>,
    /// The run's simulated time, µs (0 before any run was built).
    pub now: SimTime,
    /// The target the worker goes on towards after this reply, if it has not got there: it never runs past it
    /// before it has read the page's next message.
    pub goal: Option<SimTime>,
    /// The rows finished since the last reply, oldest first.
    pub rows: Vec<WireRow>,
    /// What the page shows beside them, now; `None` before any run was built, and between two read-outs
    /// ([`LIVE_EVERY_MS`]).
    pub live: Option<Live>,
}

/// A worker's whole state: its run, the build it belongs to, and the advance it is on.
#[derive(Default)]
pub struct Served {
    build: u32,
    run: Option<Box<dyn Run>>,
    /// The advance not finished yet: (target µs, watched target).
    goal: Option<(SimTime, usize)>,
    /// When the last [`Live`] was sent, wall-clock ms.
    live_ms: f64,
}

impl Served {
    /// Answers one request (JSON text) with one reply (JSON text). `clock_ms` is the wall clock, read only to
    /// end an advance's slice. Never panics on bad input: it answers with an error and changes nothing.
    pub fn handle(&mut self, request: &str, clock_ms: impl FnMut() -> f64) -> String {
        let reply = if request.len() > REQUEST_BYTES_MAX {
            Reply { error: Some(format!("a request of {} bytes is over the bound", request.len())), ..Reply::default() }
        } else {
            match serde_json::from_str::<Request>(request) {
                Ok(r) => self.answer(r, clock_ms),
                Err(e) => Reply { error: Some(format!("not a request: {e}")), ..Reply::default() },
            }
        };
        serde_json::to_string(&reply).unwrap_or_else(|e| format!("{{\"build\":0,\"error\":\"{e}\"}}"))
    }

    /// True while an advance is not finished: the worker then calls [`Served::go_on`] once the messages that
    /// are waiting have been answered.
    pub fn busy(&self) -> bool {
        self.goal.is_some() && self.run.is_some()
    }

    /// Goes on with the advance not finished for one more slice, and reports it (an unasked reply, JSON); `None`
    /// when there is none.
    pub fn go_on(&mut self, mut clock_ms: impl FnMut() -> f64) -> Option<String> {
        let (target, watched) = self.goal?;
        let run = self.run.as_mut()?;
        let mut reply = Reply { build: self.build, advance: true, ..Reply::default() };
        reply.reached = advance(run.as_mut(), target, watched, &mut reply.rows, &mut clock_ms);
        self.finish(&mut reply, clock_ms());
        serde_json::to_string(&reply).ok()
    }

    /// Fills in the run's time and, when due, its read-outs; ends the goal once reached.
    fn finish(&mut self, reply: &mut Reply, now_ms: f64) {
        if reply.reached {
            self.goal = None;
        }
        reply.goal = self.goal.map(|g| g.0);
        let Some(run) = self.run.as_deref() else { return };
        reply.now = run.now();
        if reply.answers || reply.reached || now_ms - self.live_ms >= LIVE_EVERY_MS {
            self.live_ms = now_ms;
            reply.live = Some(Live::of(run));
        }
    }

    fn answer(&mut self, request: Request, mut clock_ms: impl FnMut() -> f64) -> Reply {
        let mut reply = Reply { answers: true, ..Reply::default() };
        match request {
            Request::Build { build, spec, trace_every } => {
                reply.build = build;
                self.build = build;
                self.run = None;
                self.goal = None;
                match registry::find(&spec.scenario).and_then(|def| def.build_run(&spec.run)) {
                    Ok(mut run) => {
                        run.trace_decisions(trace_every);
                        self.run = Some(run);
                    }
                    Err(e) => reply.error = Some(e),
                }
            }
            Request::Advance { build, target, watched } => {
                reply.build = build;
                reply.advance = true;
                match self.run.as_mut().filter(|_| build == self.build) {
                    Some(run) => {
                        self.goal = Some((target, watched));
                        reply.reached = advance(run.as_mut(), target, watched, &mut reply.rows, &mut clock_ms);
                    }
                    None => reply.error = Some(format!("no run of build {build}")),
                }
            }
            Request::Command { build, at, text } => {
                reply.build = build;
                reply.command = true;
                match self.run.as_mut().filter(|_| build == self.build) {
                    Some(run) => reply.error = run.schedule_text(at, &text).err(),
                    None => reply.error = Some(format!("no run of build {build}")),
                }
            }
        }
        self.finish(&mut reply, clock_ms());
        reply
    }
}

/// Runs `run` towards `target` one chart step at a time and [`EVENTS_PER_CHUNK`] events per call, as the page's
/// own loop does (see `Engine::advance_in_chunks` for why "done" is not "the clock got there"), collecting each
/// finished row into `rows`. Stops when [`SLICE_MS`] have passed or [`ROWS_PER_REPLY_MAX`] rows are waiting.
/// True when it got to the target.
fn advance(
    run: &mut dyn Run,
    target: SimTime,
    watched: usize,
    rows: &mut Vec<WireRow>,
    clock_ms: &mut impl FnMut() -> f64,
) -> bool {
    let target = target.min(run.duration());
    let start = clock_ms();
    let mut boundary = None;
    while boundary.is_some() || run.now() < target {
        if clock_ms() - start > SLICE_MS || rows.len() >= ROWS_PER_REPLY_MAX {
            return false;
        }
        let until = boundary.unwrap_or_else(|| next_boundary(run.now()).min(target));
        boundary = (!run.run_until(until, EVENTS_PER_CHUNK)).then_some(until);
        let finished = run.drain_rows();
        if !finished.is_empty() {
            let weights = wire(&run.balancer_weights());
            let terms: Vec<(String, F)> =
                run.balancer_terms(watched).into_iter().map(|(k, v)| (k.to_string(), F(v))).collect();
            rows.extend(finished.iter().map(|r| WireRow {
                row: wire(r),
                weights: weights.clone(),
                terms: terms.clone(),
            }));
        }
    }
    true
}

thread_local! {
    static SERVED: RefCell<Served> = RefCell::new(Served::default());
}

/// The wall clock in a worker or a page: `performance.now()` where there is one.
fn clock_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// A simulation worker's entry point (`static/worker.js` calls it with each message's text): answers one
/// request from the page with one reply, both JSON.
#[wasm_bindgen]
pub fn worker_handle(request: &str) -> String {
    SERVED.with(|s| s.borrow_mut().handle(request, clock_ms))
}

/// True while the worker's advance is not finished ([`Served::busy`]).
#[wasm_bindgen]
pub fn worker_busy() -> bool {
    SERVED.with(|s| s.borrow().busy())
}

/// One more slice of the worker's advance, reported as an unasked reply (JSON); `undefined` when there is none.
#[wasm_bindgen]
pub fn worker_go_on() -> Option<String> {
    SERVED.with(|s| s.borrow_mut().go_on(clock_ms))
}

/// Control-term names as the charts want them (`&'static str`): the worker sends names as text, and the few
/// there are (each controller declares a handful) are kept once for the page's lifetime.
pub fn term_name(name: &str) -> Option<&'static str> {
    /// Distinct names kept at most; a name beyond them is dropped from the row, never leaked without bound.
    const NAMES_MAX: usize = 256;
    thread_local! {
        static NAMES: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
    }
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if let Some(n) = names.iter().find(|n| **n == name) {
            return Some(*n);
        }
        if names.len() >= NAMES_MAX {
            return None;
        }
        let kept: &'static str = Box::leak(name.to_string().into_boxed_str());
        names.push(kept);
        Some(kept)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn odd_floats_travel_exactly() {
        let values = [0.1, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, 5e-324];
        let text = serde_json::to_string(&wire(&values)).unwrap();
        let back: Vec<F> = serde_json::from_str(&text).unwrap();
        for (a, b) in values.iter().zip(floats(&back)) {
            assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{a} came back as {b}");
        }
    }

    #[wasm_bindgen_test]
    fn bad_requests_are_answered_with_an_error_and_change_nothing() {
        let mut served = Served::default();
        for bad in ["", "{", "{\"Advance\":{\"build\":1,\"target\":5,\"watched\":0}}", "[1,2]"] {
            let reply: Reply = serde_json::from_str(&served.handle(bad, || 0.0)).unwrap();
            assert!(reply.error.is_some(), "{bad:?} was accepted");
            assert!(reply.live.is_none());
        }
    }
}
