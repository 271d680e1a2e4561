//! The page's side of a simulation worker: [`Link`] starts one dedicated Web Worker (`static/worker.js`, a module
//! worker that loads this same wasm and hands every message to [`super::protocol::worker_handle`]), sends it
//! [`Request`]s and keeps its [`Reply`]s until the frame loop takes them.
//!
//! Why a worker per run: the page's main thread then only draws and handles input, and A and B run on two cores
//! at once. A worker reports after each slice of [`super::protocol::SLICE_MS`] and goes on by itself towards the
//! target it was last given; the link sends a new target when the page wants another and no advance is
//! unanswered, so there is one advance in flight at most.
//!
//! Every queue is bounded: at most [`OUTSTANDING_MAX`] requests unanswered per worker (one advance among them),
//! and about [`REPLIES_MAX`] replies waiting for the frame loop (past that a worker's slice reports are folded
//! together, and the link asks for no new target until they are taken).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use super::protocol::{Reply, Request};
use crate::time::SimTime;

/// Requests a worker may have unanswered at once; a command beyond it is refused ("busy"), never queued.
pub const OUTSTANDING_MAX: usize = 32;

/// Replies kept for the frame loop before slice reports are folded together ([`Shared::keep`]); past it the link
/// asks for no new target until the loop takes them.
pub const REPLIES_MAX: usize = 256;

/// What the message handler and the page share.
#[derive(Default)]
struct Shared {
    replies: VecDeque<Reply>,
    outstanding: usize,
    /// The target of the advance in flight, if one is.
    advancing: Option<SimTime>,
    /// The target the worker said it runs on towards, in its latest reply (one sent since is `advancing`).
    goal: Option<SimTime>,
    /// What the page wants the run advanced to: (build, target µs, watched target).
    wanted: Option<(u32, SimTime, usize)>,
    /// Why the worker stopped working, if it did.
    failed: Option<String>,
}

impl Shared {
    fn post(&mut self, worker: &Worker, request: &Request) -> Result<(), String> {
        if self.outstanding >= OUTSTANDING_MAX {
            return Err("the simulation is busy; try again in a moment".into());
        }
        let text = serde_json::to_string(request).map_err(|e| e.to_string())?;
        worker.post_message(&JsValue::from_str(&text)).map_err(|e| format!("{e:?}"))?;
        self.outstanding += 1;
        match request {
            Request::Advance { target, .. } => self.advancing = Some(*target),
            Request::Build { .. } => self.wanted = None,
            Request::Command { .. } => {}
        }
        Ok(())
    }

    /// Keeps a reply for the frame loop. Past [`REPLIES_MAX`] (a hidden tab takes none while its workers finish
    /// an advance), a worker's report of a slice is folded into the report before it: its rows appended (as
    /// many as the advance's target allows, no more), its time, goal and read-outs replacing the older.
    fn keep(&mut self, reply: Reply) {
        if self.replies.len() >= REPLIES_MAX && !reply.answers {
            if let Some(last) = self.replies.back_mut().filter(|l| !l.answers && l.build == reply.build) {
                last.rows.extend(reply.rows);
                last.now = reply.now;
                last.goal = reply.goal;
                last.reached = reply.reached;
                if reply.live.is_some() {
                    last.live = reply.live;
                }
                return;
            }
        }
        self.replies.push_back(reply);
    }

    /// Sends the advance the page wants, if none is in flight and the worker would not get there by itself: it
    /// runs towards another goal (a lower target stops it), or, idle, it is short of the target.
    fn ask(&mut self, worker: &Worker, now: Option<SimTime>) {
        let Some((build, target, watched)) = self.wanted else { return };
        let needed = match self.goal {
            Some(goal) => goal != target,
            None => now.is_none_or(|n| n < target),
        };
        if self.advancing.is_some() || self.replies.len() >= REPLIES_MAX || !needed {
            return;
        }
        if let Err(e) = self.post(worker, &Request::Advance { build, target, watched }) {
            self.failed.get_or_insert(e);
        }
    }
}

/// One simulation worker and what it has said. Dropping it ends the worker.
pub struct Link {
    worker: Worker,
    shared: Rc<RefCell<Shared>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Link {
    /// Starts a worker from `url` (the page's `worker.js`, with the wasm's files in its query).
    pub fn spawn(url: &str) -> Result<Link, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        options.set_name("loadlab simulation");
        let worker = Worker::new_with_options(url, &options).map_err(|e| format!("no worker: {e:?}"))?;
        let shared = Rc::new(RefCell::new(Shared::default()));
        let on_message = {
            let (shared, worker) = (shared.clone(), worker.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let mut s = shared.borrow_mut();
                let Some(text) = event.data().as_string() else {
                    s.failed.get_or_insert("the worker sent something that is not text".into());
                    return;
                };
                let reply: Reply = match serde_json::from_str(&text) {
                    Ok(r) => r,
                    Err(e) => {
                        s.failed.get_or_insert(format!("the worker's reply could not be read: {e}"));
                        return;
                    }
                };
                if reply.answers {
                    s.outstanding = s.outstanding.saturating_sub(1);
                    if reply.advance {
                        s.advancing = None;
                    }
                }
                s.goal = reply.goal;
                let refused = reply.error.is_some();
                let now = match s.wanted {
                    // A reply of an older build says nothing of where the current run is.
                    Some((build, ..)) if build == reply.build => Some(reply.now),
                    _ => None,
                };
                s.keep(reply);
                if !refused {
                    // A refused request is not asked again; the page hears of it from the reply.
                    s.ask(&worker, now);
                }
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_error = {
            let shared = shared.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                event.prevent_default();
                let message = js_sys::Reflect::get(&event, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_else(|| "it could not start".into());
                shared.borrow_mut().failed.get_or_insert(format!("the simulation worker stopped: {message}"));
            })
        };
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        worker.set_onmessageerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Link { worker, shared, _on_message: on_message, _on_error: on_error })
    }

    /// Sends `request` (counted against [`OUTSTANDING_MAX`]).
    pub fn send(&self, request: &Request) -> Result<(), String> {
        self.shared.borrow_mut().post(&self.worker, request)
    }

    /// Asks the worker to advance build `build`'s run to `target` (it is at `now`), re-asking after each slice
    /// until it gets there. A later call replaces the target.
    pub fn want(&self, build: u32, target: SimTime, watched: usize, now: SimTime) {
        let mut s = self.shared.borrow_mut();
        s.wanted = Some((build, target, watched));
        s.ask(&self.worker, Some(now));
    }

    /// The target the page last asked for.
    pub fn wanted(&self) -> Option<SimTime> {
        self.shared.borrow().wanted.map(|w| w.1)
    }

    /// The target the worker is running towards, if it has one: it may get there before it hears of a command.
    pub fn goal(&self) -> Option<SimTime> {
        let s = self.shared.borrow();
        s.goal.max(s.advancing)
    }

    /// True while the worker runs towards a goal or has an advance unanswered.
    pub fn moving(&self) -> bool {
        self.goal().is_some()
    }

    /// True when a request would be refused for now.
    pub fn full(&self) -> bool {
        self.shared.borrow().outstanding >= OUTSTANDING_MAX
    }

    /// The replies received since the last call, oldest first.
    pub fn take(&self) -> Vec<Reply> {
        self.shared.borrow_mut().replies.drain(..).collect()
    }

    /// Why the worker can no longer be used, if it cannot.
    pub fn failed(&self) -> Option<String> {
        self.shared.borrow().failed.clone()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.set_onmessageerror(None);
        self.worker.terminate();
    }
}

/// The URL of the page's simulation worker, when this browser can run one: `boot.js` leaves it in
/// `window.loadlab_worker` (with the wasm's file names), and `window.Worker` must exist. `None`: the runs stay
/// on the main thread.
pub fn worker_url() -> Option<String> {
    let window = web_sys::window()?;
    let has_worker = js_sys::Reflect::get(&window, &"Worker".into()).ok().is_some_and(|w| w.is_function());
    let url = js_sys::Reflect::get(&window, &"loadlab_worker".into()).ok()?.as_string()?;
    has_worker.then_some(url)
}
