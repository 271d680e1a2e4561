//! The generic discrete-event engine: everything a simulation needs that is not physics.
//!
//! An [`Engine`] owns integer time, one event queue ordered by (time, insertion sequence), the scheduled
//! commands (which fire before any event of their microsecond), the trace hash over every event and every
//! command's contents, and the event budget of [`Engine::run_until`]. A [`Model`] owns the physics: its own closed
//! event enum, its own commands, its state and its rows. The engine is generic over the model, so the event loop
//! is monomorphised (one `match` per model, no dynamic dispatch per event); dynamic dispatch happens only at the
//! shell, through [`run::Run`] (CLI, page, scorecard).
//!
//! Models never see the engine: a handler gets a [`Ctx`] (the clock and the queue) and its own `&mut self`, so a
//! model can schedule events but cannot reach commands, the hash or another model (nexosim keeps scheduling
//! outside the models the same way).

pub mod commands;
pub mod keys;
pub mod picture;
pub mod run;
pub mod scenario;
pub mod scenario_file;
pub mod schema;
pub mod scorecard;

use std::collections::VecDeque;

use crate::queue::EventQueue;
use crate::time::SimTime;

/// Bounds shared by every model's engine. Each model states its own (servers, workers, nodes) in its config.
pub mod limits {
    /// Commands waiting for their time at once.
    pub const MAX_SCHEDULE: usize = 10_000;
    /// Applied commands remembered for [`super::Engine::applied`] (oldest dropped first).
    pub const MAX_APPLIED_LOG: usize = 1_000;
    /// Events pending in one queue. A model that would exceed it has a bug or a config over its memory budget;
    /// pushes beyond it are dropped and counted in [`super::Ctx::events_dropped`].
    pub const MAX_PENDING_EVENTS: usize = 16 << 20;
    /// Rows one run may write (duration / time step), for every model and front end.
    pub const MAX_OUTPUT_ROWS: u64 = 1_000_000;
    /// Bytes of CSV one run may write (2 GiB), estimated as rows × [`csv_row_bytes`], an upper bound: plain-s1's
    /// 10⁶ rows fit, a 4096-server section's do not.
    pub const MAX_OUTPUT_BYTES: u64 = 2 << 30;

    /// The longest CSV line of a row of these columns, bytes: per cell a sign, ten integer digits, the point,
    /// the column's decimals and the comma.
    pub fn csv_row_bytes(columns: &[crate::engine::schema::Column]) -> u64 {
        columns.iter().map(|c| 13 + c.decimals as u64).sum::<u64>().max(1)
    }

    /// Checks that a run of `duration` in steps of `time_step` (µs) writes at most [`MAX_OUTPUT_ROWS`] rows and
    /// [`MAX_OUTPUT_BYTES`] bytes, or a one-line error naming the flags to change.
    /// Shortest and longest run, s, for every model and front end.
    pub const DURATION_S: (f64, f64) = (0.001, 1e7);
    /// Shortest and longest metrics step, s.
    pub const TIME_STEP_S: (f64, f64) = (0.001, 1e6);

    /// Checks a run's length and metrics step against [`DURATION_S`] and [`TIME_STEP_S`], and that a step
    /// fits in the run; one line naming the flag otherwise.
    pub fn check_timing(duration_s: f64, time_step_s: f64) -> Result<(), String> {
        let within = |v: f64, (lo, hi): (f64, f64)| v.is_finite() && (lo..=hi).contains(&v);
        if !within(duration_s, DURATION_S) {
            return Err(format!(
                "--duration {duration_s} is out of range; expected {} to {} s",
                DURATION_S.0, DURATION_S.1
            ));
        }
        if !within(time_step_s, TIME_STEP_S) {
            return Err(format!(
                "--time-step {time_step_s} is out of range; expected {} to {} s",
                TIME_STEP_S.0, TIME_STEP_S.1
            ));
        }
        if time_step_s > duration_s {
            return Err(format!("--time-step {time_step_s} is longer than --duration {duration_s}"));
        }
        Ok(())
    }

    pub fn check_output(
        duration: u64,
        time_step: u64,
        columns: &[crate::engine::schema::Column],
    ) -> Result<(), String> {
        let rows = duration.div_ceil(time_step.max(1));
        let bytes = rows.saturating_mul(csv_row_bytes(columns));
        if rows > MAX_OUTPUT_ROWS || bytes > MAX_OUTPUT_BYTES {
            return Err(format!(
                "the run would write {rows} rows (about {} MiB), over the output limit of {MAX_OUTPUT_ROWS} rows and {} MiB; raise --time-step or lower --duration (the page: length)",
                bytes >> 20,
                MAX_OUTPUT_BYTES >> 20
            ));
        }
        Ok(())
    }
}

/// What a model's event handler may touch: the clock (read) and the queue (push).
pub struct Ctx<E> {
    now: SimTime,
    queue: EventQueue<E>,
    events_in_past: u64,
    events_dropped: u64,
}

impl<E: Copy> Ctx<E> {
    fn new() -> Ctx<E> {
        Ctx { now: 0, queue: EventQueue::default(), events_in_past: 0, events_dropped: 0 }
    }

    /// Current simulated time, µs.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `at`. A time in the past is a model bug: it fires now instead, and is counted
    /// (`events_in_past`, which every invariant checker reports).
    #[inline]
    pub fn push(&mut self, at: SimTime, event: E) {
        if at < self.now {
            self.events_in_past += 1;
        }
        if self.queue.len() >= limits::MAX_PENDING_EVENTS {
            self.events_dropped += 1;
            return;
        }
        self.queue.push(at.max(self.now), event);
    }

    /// Schedules `event` `delay` µs from now (saturating).
    #[inline]
    pub fn after(&mut self, delay: u64, event: E) {
        self.push(self.now.saturating_add(delay), event);
    }

    /// Events that were scheduled in the past (always 0 in a correct model).
    pub fn events_in_past(&self) -> u64 {
        self.events_in_past
    }

    /// Events dropped because the queue was at [`limits::MAX_PENDING_EVENTS`] (0 in a run within budget).
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// Events pending.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// The physics of one incident. A model is plain state plus handlers; it never reads a clock or does IO.
pub trait Model {
    /// The model's closed event enum.
    type Event: Copy;
    /// The model's commands (faults, operator actions, live key changes).
    type Command: Clone + std::fmt::Debug + PartialEq;

    /// A word identifying an event for the trace hash (kind and subject; the engine adds the time).
    fn event_word(event: &Self::Event) -> u64;

    /// Feeds every field of a command to the trace hash, so two runs with different command arguments at the
    /// same time differ in their hashes.
    fn command_words(command: &Self::Command, hash: &mut dyn FnMut(u64));

    /// Handles one event at `ctx.now()`.
    fn on_event(&mut self, ctx: &mut Ctx<Self::Event>, event: Self::Event);

    /// Checks a command against this model's state without changing anything. The one validator: the CLI,
    /// the page and scheduled steps all reach it through the engine.
    fn validate(&self, command: &Self::Command) -> Result<(), String>;

    /// Applies a command that [`Model::validate`] accepted.
    fn on_command(&mut self, ctx: &mut Ctx<Self::Event>, command: &Self::Command);
}

/// The FNV-style mix of one word into the trace hash.
#[inline]
pub fn mix(hash: u64, word: u64) -> u64 {
    (hash ^ word).wrapping_mul(0x0000_0100_0000_01B3).rotate_left(5)
}

/// The hash a run's trace starts from.
pub fn trace_seed(seed: u64) -> u64 {
    0xCBF2_9CE4_8422_2325 ^ seed
}

/// Trace-hash word that marks a command (events use their own kinds).
const COMMAND_WORD: u64 = 5;
/// Trace-hash word that marks a command applied live with [`Engine::apply`].
const LIVE_COMMAND_WORD: u64 = 7;

/// One run of a model: the clock, the queue, the commands waiting for their time and the trace.
pub struct Engine<M: Model> {
    ctx: Ctx<M::Event>,
    model: M,
    /// Commands waiting for their time, ordered by (time, order of scheduling).
    commands: VecDeque<(SimTime, M::Command)>,
    commands_applied: u64,
    applied: VecDeque<(SimTime, M::Command)>,
    events: u64,
    trace_hash: u64,
}

impl<M: Model> Engine<M> {
    /// Wraps a freshly built model; `initial` are its first events (arrival processes, step ends, timers),
    /// pushed in order at their times.
    pub fn new(model: M, seed: u64, initial: impl IntoIterator<Item = (SimTime, M::Event)>) -> Engine<M> {
        let mut ctx = Ctx::new();
        for (at, event) in initial {
            ctx.push(at, event);
        }
        Engine {
            ctx,
            model,
            commands: VecDeque::new(),
            commands_applied: 0,
            applied: VecDeque::new(),
            events: 0,
            trace_hash: trace_seed(seed),
        }
    }

    /// Lets a builder seed events with the model in hand (the model decides its own first events).
    pub fn with_ctx(model: M, seed: u64, start: impl FnOnce(&mut M, &mut Ctx<M::Event>)) -> Engine<M> {
        let mut engine = Engine::new(model, seed, []);
        start(&mut engine.model, &mut engine.ctx);
        engine
    }

    /// The model, read-only.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model and its context, for tests and front ends that need both (read-only).
    pub fn parts(&self) -> (&M, &Ctx<M::Event>) {
        (&self.model, &self.ctx)
    }

    /// Current simulated time, µs.
    pub fn now(&self) -> SimTime {
        self.ctx.now
    }

    /// Events processed (commands included).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Hash of every event (time and word) and every command (time and contents) so far.
    pub fn trace_hash(&self) -> u64 {
        self.trace_hash
    }

    /// Events scheduled in the past (0 in a correct model) and events dropped at the queue bound.
    pub fn engine_faults(&self) -> (u64, u64) {
        (self.ctx.events_in_past, self.ctx.events_dropped)
    }

    /// Processes events up to and including time `until`, at most `max_events` of them. Returns true when it
    /// reached `until` (the clock then reads `until`), false when the event budget ran out first.
    pub fn run_until(&mut self, until: SimTime, max_events: u64) -> bool {
        let mut budget = max_events;
        loop {
            // Handlers cannot schedule commands, so the next one stays next until it fires: the events before its
            // microsecond (commands fire first within theirs), or through `until`, pop without a look at it each.
            let command_at = self.commands.front().map(|c| c.0).filter(|&at| at <= until);
            let through = match command_at {
                Some(at) => at.checked_sub(1),
                None => Some(until),
            };
            if let Some(through) = through {
                while budget > 0 {
                    let Some((time, event)) = self.ctx.queue.pop_through(through) else { break };
                    budget -= 1;
                    self.fire_event(time, event);
                }
            }
            if budget == 0 {
                if self.next_time().is_some_and(|t| t <= until) {
                    return false;
                }
                break;
            }
            if command_at.is_none() {
                break;
            }
            budget -= 1;
            self.fire_command();
        }
        self.ctx.now = self.ctx.now.max(until);
        true
    }

    /// Time of the next thing to happen: a scheduled command or an event.
    pub fn next_time(&self) -> Option<SimTime> {
        match (self.commands.front().map(|c| c.0), self.ctx.queue.peek_time()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Processes the single earliest event or command. Commands fire first within their microsecond. Returns
    /// false when nothing is pending.
    pub fn step_event(&mut self) -> bool {
        let command_first = match (self.commands.front(), self.ctx.queue.peek_time()) {
            (Some(c), Some(t)) => c.0 <= t,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if command_first {
            return self.fire_command();
        }
        let Some((time, event)) = self.ctx.queue.pop() else {
            return false;
        };
        self.fire_event(time, event);
        true
    }

    /// Hashes and applies the earliest scheduled command; false when none is waiting.
    fn fire_command(&mut self) -> bool {
        let Some((at, command)) = self.commands.pop_front() else { return false };
        self.ctx.now = self.ctx.now.max(at);
        self.events += 1;
        let mut h = mix(mix(self.trace_hash, at), COMMAND_WORD | self.commands_applied << 8);
        M::command_words(&command, &mut |w| h = mix(h, w));
        self.trace_hash = h;
        self.commands_applied += 1;
        // Validated when scheduled; one that no longer fits the state changes nothing.
        let _ = self.apply_unhashed(command);
        true
    }

    /// Hashes and handles one event just popped from the queue.
    #[inline]
    fn fire_event(&mut self, time: SimTime, event: M::Event) {
        debug_assert!(time >= self.ctx.now, "event at {time} before now {}", self.ctx.now);
        self.ctx.now = time;
        self.events += 1;
        self.trace_hash = mix(mix(self.trace_hash, time), M::event_word(&event));
        self.model.on_event(&mut self.ctx, event);
    }

    /// Schedules a command for time `at` (now or later). It fires before any event at that microsecond, after
    /// commands scheduled earlier for the same time. Returns a one-line reason, and changes nothing, if the
    /// command is invalid, `at` is in the past, or [`limits::MAX_SCHEDULE`] commands are waiting.
    pub fn schedule(&mut self, at: SimTime, command: M::Command) -> Result<(), String> {
        self.model.validate(&command)?;
        if at < self.ctx.now {
            return Err(format!("cannot schedule at {at} µs, before now ({} µs)", self.ctx.now));
        }
        if self.commands.len() >= limits::MAX_SCHEDULE {
            return Err(format!("at most {} commands can wait at once", limits::MAX_SCHEDULE));
        }
        let position = self.commands.partition_point(|c| c.0 <= at);
        self.commands.insert(position, (at, command));
        Ok(())
    }

    /// Applies a command now. Returns a one-line reason, and changes nothing, if the model refuses it.
    pub fn apply(&mut self, command: M::Command) -> Result<(), String> {
        self.model.validate(&command)?;
        // A live command enters the trace like a scheduled one (its own marker word, so "applied now" and
        // "scheduled for now" are told apart).
        let mut h = mix(mix(self.trace_hash, self.ctx.now), LIVE_COMMAND_WORD | self.commands_applied << 8);
        M::command_words(&command, &mut |w| h = mix(h, w));
        self.trace_hash = h;
        self.commands_applied += 1;
        self.apply_unhashed(command)
    }

    fn apply_unhashed(&mut self, command: M::Command) -> Result<(), String> {
        self.model.validate(&command)?;
        self.model.on_command(&mut self.ctx, &command);
        if self.applied.len() >= limits::MAX_APPLIED_LOG {
            self.applied.pop_front();
        }
        self.applied.push_back((self.ctx.now, command));
        Ok(())
    }

    /// The commands applied so far (scheduled and live), with their times, oldest first; at most the last
    /// [`limits::MAX_APPLIED_LOG`].
    pub fn applied(&self) -> impl Iterator<Item = &(SimTime, M::Command)> {
        self.applied.iter()
    }

    /// Commands still waiting for their time.
    pub fn pending_commands(&self) -> usize {
        self.commands.len()
    }

    /// The model, mutably, for reading out buffered rows. Front ends must not change simulation state
    /// through it; every state change goes through [`Engine::apply`] or [`Engine::schedule`].
    pub fn model_mut_for_output(&mut self) -> &mut M {
        &mut self.model
    }
}

#[cfg(test)]
mod tests {
    //! The engine's own tests, on a toy model that records what it sees: no scenario involved.
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Ev {
        Tick(u32),
        Timer { gen: u32 },
    }

    #[derive(Clone, Debug, PartialEq)]
    enum Cmd {
        Mark(u32),
        Rearm { delay: u64 },
        Bad,
    }

    #[derive(Default)]
    struct Toy {
        seen: Vec<(SimTime, String)>,
        timer_gen: u32,
    }

    impl Model for Toy {
        type Event = Ev;
        type Command = Cmd;
        fn event_word(e: &Ev) -> u64 {
            match *e {
                Ev::Tick(i) => 1 | (i as u64) << 8,
                Ev::Timer { gen } => 2 | (gen as u64) << 8,
            }
        }
        fn command_words(c: &Cmd, hash: &mut dyn FnMut(u64)) {
            match *c {
                Cmd::Mark(i) => hash(1 | (i as u64) << 8),
                Cmd::Rearm { delay } => {
                    hash(2);
                    hash(delay)
                }
                Cmd::Bad => hash(3),
            }
        }
        fn on_event(&mut self, ctx: &mut Ctx<Ev>, e: Ev) {
            match e {
                Ev::Tick(i) => self.seen.push((ctx.now(), format!("tick{i}"))),
                Ev::Timer { gen } if gen == self.timer_gen => self.seen.push((ctx.now(), "timer".into())),
                Ev::Timer { .. } => {} // stale: a later rearm overtook it
            }
        }
        fn validate(&self, c: &Cmd) -> Result<(), String> {
            if *c == Cmd::Bad {
                Err("bad command".into())
            } else {
                Ok(())
            }
        }
        fn on_command(&mut self, ctx: &mut Ctx<Ev>, c: &Cmd) {
            match *c {
                Cmd::Mark(i) => self.seen.push((ctx.now(), format!("mark{i}"))),
                Cmd::Rearm { delay } => {
                    self.timer_gen += 1;
                    ctx.after(delay, Ev::Timer { gen: self.timer_gen });
                }
                Cmd::Bad => unreachable!("validated"),
            }
        }
    }

    fn engine() -> Engine<Toy> {
        Engine::new(Toy::default(), 1, [(10, Ev::Tick(1)), (10, Ev::Tick(2)), (5, Ev::Tick(0))])
    }

    #[test]
    fn events_fire_in_time_order_and_fifo_within_a_microsecond() {
        let mut e = engine();
        e.run_until(100, u64::MAX);
        let names: Vec<_> = e.model().seen.iter().map(|(t, n)| (*t, n.as_str())).collect();
        assert_eq!(names, [(5, "tick0"), (10, "tick1"), (10, "tick2")]);
        assert_eq!(e.now(), 100);
        assert_eq!(e.events(), 3);
    }

    #[test]
    fn commands_fire_before_events_of_their_microsecond_in_scheduling_order() {
        let mut e = engine();
        e.schedule(10, Cmd::Mark(2)).unwrap();
        e.schedule(10, Cmd::Mark(3)).unwrap();
        e.schedule(5, Cmd::Mark(1)).unwrap();
        e.run_until(100, u64::MAX);
        let names: Vec<_> = e.model().seen.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["mark1", "tick0", "mark2", "mark3", "tick1", "tick2"]);
        assert_eq!(e.events(), 6, "commands count as events");
    }

    #[test]
    fn stale_timers_are_ignored() {
        let mut e = engine();
        e.apply(Cmd::Rearm { delay: 50 }).unwrap();
        e.run_until(20, u64::MAX);
        e.apply(Cmd::Rearm { delay: 50 }).unwrap(); // the timer at 50 is now stale; the live one fires at 70
        e.run_until(200, u64::MAX);
        let timers: Vec<_> = e.model().seen.iter().filter(|(_, n)| n == "timer").map(|(t, _)| *t).collect();
        assert_eq!(timers, [70]);
    }

    #[test]
    fn a_bad_command_changes_nothing() {
        let mut e = engine();
        let before = e.trace_hash();
        assert!(e.apply(Cmd::Bad).is_err());
        assert!(e.schedule(50, Cmd::Bad).is_err());
        assert_eq!(e.pending_commands(), 0);
        assert_eq!(e.applied().count(), 0);
        assert_eq!(e.trace_hash(), before);
        e.run_until(20, u64::MAX);
        assert!(e.schedule(10, Cmd::Mark(1)).is_err(), "the past is refused");
    }

    #[test]
    fn the_event_budget_stops_early_and_resumes_exactly() {
        let mut whole = engine();
        whole.run_until(100, u64::MAX);
        let mut sliced = engine();
        assert!(!sliced.run_until(100, 1));
        assert_eq!(sliced.now(), 5);
        assert!(sliced.run_until(100, 10));
        assert_eq!(sliced.model().seen, whole.model().seen);
        assert_eq!(sliced.trace_hash(), whole.trace_hash());
    }

    #[test]
    fn the_trace_hash_sees_event_times_and_command_contents() {
        let run = |tick_at: SimTime, mark: u32| {
            let mut e = Engine::new(Toy::default(), 1, [(tick_at, Ev::Tick(1))]);
            e.schedule(3, Cmd::Mark(mark)).unwrap();
            e.run_until(100, u64::MAX);
            e.trace_hash()
        };
        assert_eq!(run(10, 1), run(10, 1));
        assert_ne!(run(10, 1), run(11, 1), "a changed event time changes the hash");
        assert_ne!(run(10, 1), run(10, 2), "a changed command argument changes the hash");
        let live = |mark: u32| {
            let mut e = engine();
            e.apply(Cmd::Mark(mark)).unwrap();
            e.trace_hash()
        };
        assert_ne!(live(1), live(2), "a live command's argument changes the hash");
        assert_ne!(live(1), engine().trace_hash(), "a live command enters the hash");
        // The seed enters the hash from the start: the same trace under two seeds hashes differently.
        let seeded = |seed: u64| Engine::new(Toy::default(), seed, [(10, Ev::Tick(1))]).trace_hash();
        let mut hashes: Vec<u64> = (0..16).map(seeded).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), 16, "two of 16 seeds share a trace hash");
    }

    #[test]
    fn the_schedule_and_the_applied_log_are_bounded() {
        let mut e = engine();
        for i in 0..limits::MAX_SCHEDULE {
            e.schedule(1_000 + i as u64, Cmd::Mark(0)).unwrap();
        }
        assert!(e.schedule(5_000_000, Cmd::Mark(0)).is_err());
        e.run_until(u64::MAX / 2, u64::MAX);
        assert_eq!(e.applied().count(), limits::MAX_APPLIED_LOG);
    }

    #[test]
    fn a_push_into_the_past_is_counted() {
        let mut ctx: Ctx<Ev> = Ctx::new();
        ctx.now = 10;
        assert_eq!((ctx.events_in_past(), ctx.events_dropped(), ctx.pending()), (0, 0, 0));
        ctx.push(5, Ev::Tick(0));
        assert_eq!(ctx.events_in_past(), 1);
        assert_eq!(ctx.queue.pop(), Some((10, Ev::Tick(0))));
        // Now is not the past.
        ctx.push(10, Ev::Tick(1));
        ctx.after(0, Ev::Tick(2));
        assert_eq!(ctx.events_in_past(), 1);
        assert_eq!(ctx.pending(), 2);
    }
}
