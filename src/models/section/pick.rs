//! Choosing a replica: pins first, then the section breaker, then the host's controller; and the trace of one
//! pick for the "why this server?" panel.

use super::model::*;
use super::pick_trace::PickTrace;
use crate::controller::{Candidate, Controller, HostView, StaticWeights};
use crate::engine::Ctx;
use crate::time::SimTime;

impl Section {
    /// Chooses a replica not yet tried and connects; fails the request when none is left, the attempt bound is
    /// reached, the section breaker is open, or the controller declines ("overloaded").
    ///
    /// Order of decisions: pinned servers take their pinned share first (operator overrides beat the
    /// controller); the breaker then checks every eligible server against its cap; the controller (or, when an
    /// operator switched it off, the configured loads) picks among the unpinned servers with a positive load.
    pub(super) fn route_replica(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        let r = self.requests[req];
        if r.attempts as u32 >= self.cfg.max_connect_attempts {
            self.finish(ctx, req, Outcome::Failed);
            return;
        }
        let host = r.host as usize;
        let plain = r.attempts == 0 && self.fast_pick;
        if plain
            && self.controller_enabled
            && self.cfg.breaker_conns.is_none()
            && self.trace_every == 0
            && !self.hosts[host].replicas.is_empty()
        {
            // The common first pick (no pins, no breaker, no tracing, the controller on): what the general path
            // below does for it, without its scratch lists, pinned share and trace bookkeeping, which cost about
            // 40 instructions a request on `loadlab bench`'s engine run (callgrind).
            self.load_index.prepare();
            let candidates: &[Candidate] = &self.hosts[host].replicas;
            let picked = if self.by_load {
                // Static: the draw its `pick` makes from the view below, without building the view and calling
                // through `dyn Controller`: 75 M (1.9%) fewer of that run's 4 G instructions (callgrind).
                self.load_index.sample(&mut self.rng_balancing)
            } else {
                let view = HostView {
                    now: ctx.now(),
                    host,
                    hosts: self.hosts.len(),
                    candidates,
                    load_index: Some(&self.load_index),
                };
                self.controllers[host].pick(&view, &mut self.rng_balancing)
            };
            let chosen = picked.and_then(|k| candidates.get(k)).map(|c| c.server);
            self.take_probes(ctx, host);
            match chosen {
                Some(server) => self.connect(ctx, req, server),
                None => self.finish(ctx, req, Outcome::Overloaded),
            }
            return;
        }
        if plain {
            self.load_index.prepare();
        } else {
            self.scratch.clear();
            self.pinned_scratch.clear();
            for c in &self.hosts[host].replicas {
                if self.requests.has_tried(req, c.server) {
                    continue;
                }
                match self.pinned[c.server] {
                    Some(weight) => self.pinned_scratch.push(Candidate { configured_load: weight, ..*c }),
                    None if c.configured_load > 0.0 => self.scratch.push(*c),
                    None => {}
                }
            }
        }
        let candidates: &[Candidate] = if plain { &self.hosts[host].replicas } else { &self.scratch };
        let pinned: &[Candidate] = if plain { &[] } else { &self.pinned_scratch };
        if candidates.is_empty() && pinned.is_empty() {
            self.finish(ctx, req, Outcome::Failed);
            return;
        }
        if let Some(cap) = self.cfg.breaker_conns {
            let controller = &self.controllers[host];
            let estimate = |c: &Candidate| controller.conn_estimate(c.server).unwrap_or(c.in_flight as f64);
            let open = candidates.iter().chain(pinned).any(|c| estimate(c) < cap);
            if !open {
                self.finish(ctx, req, Outcome::Overloaded);
                return;
            }
        }
        let pinned_total: f64 = pinned.iter().map(|c| c.configured_load).sum();
        let mut chosen = None;
        if pinned_total > 0.0 {
            let unpinned_total: f64 = candidates.iter().map(|c| c.configured_load).sum();
            let u = self.rng_balancing.next_f64() * (pinned_total + unpinned_total);
            if u < pinned_total {
                chosen = crate::controller::pick_weighted(pinned, &mut self.rng_balancing, |_, c| c.configured_load)
                    .map(|k| pinned[k].server);
            }
        }
        let load_index = if plain { Some(&self.load_index) } else { None };
        let view = HostView { now: ctx.now(), host, hosts: self.hosts.len(), candidates, load_index };
        let tracing = self.trace_every > 0 && {
            self.trace_countdown = self.trace_countdown.saturating_sub(1);
            self.trace_countdown == 0
        };
        let mut trace = None;
        if tracing {
            self.trace_countdown = self.trace_every;
            let mut weights = Vec::new();
            self.controllers[host].weights(&view, &mut weights);
            let mut all = candidates.to_vec();
            all.extend_from_slice(pinned);
            weights.extend(pinned.iter().map(|c| c.configured_load));
            trace = Some(PickTrace {
                time: ctx.now(),
                host,
                candidates: all,
                weights,
                chosen: None,
                decided_by: if chosen.is_some() {
                    "pinned"
                } else if self.controller_enabled {
                    "controller"
                } else {
                    "controller off"
                },
                diagnostics: Vec::new(),
            });
        }
        if chosen.is_none() && !candidates.is_empty() {
            let picked = if self.controller_enabled {
                self.controllers[host].pick(&view, &mut self.rng_balancing)
            } else {
                StaticWeights.pick(&view, &mut self.rng_balancing)
            };
            chosen = picked.and_then(|k| candidates.get(k)).map(|c| c.server);
        }
        if let Some(mut t) = trace {
            t.chosen = chosen;
            if let Some(server) = chosen {
                self.controllers[host].diagnostics(server, &mut t.diagnostics);
            } else {
                t.decided_by = "controller declined";
            }
            self.last_pick = Some(t);
        }
        if chosen.is_none() && !candidates.is_empty() {
            self.take_probes(ctx, host);
            self.finish(ctx, req, Outcome::Overloaded);
            return;
        }
        self.take_probes(ctx, host);
        match chosen {
            Some(server) => self.connect(ctx, req, server),
            None => self.finish(ctx, req, Outcome::Failed),
        }
    }

    /// Records one pick in every `every` (0 turns tracing off); read it with [`Sim::last_pick`]. Costs nothing
    /// when off, and one controller `weights` call per traced pick when on.
    pub(crate) fn set_pick_tracing(&mut self, every: u32) {
        self.trace_every = every;
        self.trace_countdown = every;
    }

    /// The most recent traced pick.
    pub(crate) fn last_pick(&self) -> Option<&PickTrace> {
        self.last_pick.as_ref()
    }

    /// The weights `host`'s controller would pick with now, per replica (server index, weight), over the
    /// replicas with a positive configured load. Pinned servers report their pin.
    pub(crate) fn host_weights(&self, host: usize, now: SimTime) -> Vec<(usize, f64)> {
        let Some(h) = self.hosts.get(host) else { return Vec::new() };
        let candidates: Vec<Candidate> =
            h.replicas.iter().filter(|c| c.configured_load > 0.0 && self.pinned[c.server].is_none()).copied().collect();
        let mut weights = Vec::with_capacity(candidates.len());
        if !candidates.is_empty() {
            let view = HostView { now, host, hosts: self.hosts.len(), candidates: &candidates, load_index: None };
            if self.controller_enabled {
                self.controllers[host].weights(&view, &mut weights);
            } else {
                weights.extend(candidates.iter().map(|c| c.configured_load));
            }
        }
        let mut out: Vec<(usize, f64)> = candidates.iter().map(|c| c.server).zip(weights).collect();
        out.extend(self.pinned.iter().enumerate().filter_map(|(i, p)| p.map(|w| (i, w))));
        out.sort_by_key(|(server, _)| *server);
        out
    }

    /// `host`'s controller's named internal terms for `server` now (empty when it keeps none).
    pub(crate) fn diagnostics(&self, host: usize, server: usize) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        if let Some(c) = self.controllers.get(host) {
            c.diagnostics(server, &mut out);
        }
        out
    }
}
