//! The connection path: connect (accept, blackhole for the timeout, refuse in one round trip, or refuse at
//! `max_connections`), re-pick after a failure, the query, the close, and the probes controllers ask for.

use super::{model::*, request::*, server::*};
use crate::controller::ProbeResult;
use crate::engine::Ctx;
use crate::models::section::config::Capacity;

/// Probes alive at once, section-wide; asks beyond it are dropped (and counted as not made).
pub(super) const MAX_LIVE_PROBES: u32 = 100_000;

impl Section {
    /// Changes `host`'s in-flight count to `server` by `delta` and tells the host's controller the new count.
    #[inline(always)]
    pub(super) fn add_in_flight(&mut self, host: usize, server: usize, delta: i32) {
        let now = self.hosts[host].add_in_flight(server, self.replica_pos[server], delta);
        if self.listening {
            self.controllers[host].on_in_flight(server, now);
        }
    }

    /// Starts the gauge connections the host's controller asked for.
    #[inline(always)]
    pub(super) fn take_probes(&mut self, ctx: &mut Ctx<Event>, host: usize) {
        // The check inline, the asking out of line: outlined whole, a controller that asks for none (static, p2c)
        // paid 17 instructions a pick for the call (callgrind).
        if self.listening {
            self.ask_probes(ctx, host);
        }
    }

    /// [`Section::take_probes`]'s asking, for a controller that listens.
    #[inline(never)]
    fn ask_probes(&mut self, ctx: &mut Ctx<Event>, host: usize) {
        let mut wanted = std::mem::take(&mut self.probe_buf);
        wanted.clear();
        self.controllers[host].take_probes(ctx.now(), &mut wanted);
        for &server in &wanted {
            if server < self.servers.len() && self.requests.live_probes < MAX_LIVE_PROBES {
                let probe = self.requests.alloc(ctx.now(), host, false, true);
                self.probes += 1;
                self.step_probes += 1;
                self.connect(ctx, probe, server);
            }
        }
        self.probe_buf = wanted;
    }

    /// Opens a connection (a request's or a probe's): it is active on the server from this moment.
    // Inline: once a request, on the path from the pick to the query; its call cost as much as a third of its body.
    #[inline(always)]
    pub(super) fn connect(&mut self, ctx: &mut Ctx<Event>, req: u32, server: usize) {
        self.requests.mark_tried(req, server);
        let now = ctx.now();
        let s = &mut self.servers[server];
        let already_open = s.conns.len() as u32;
        let r = &mut self.requests[req];
        r.attempts += 1;
        r.server = server as u16;
        r.phase = Phase::Connecting;
        r.conn_started = now;
        r.conn_index = already_open;
        let (gen, host, probe) = (r.gen, r.host as usize, r.probe);
        s.open(req, now);
        s.total_conns += 1;
        s.probe_conns += probe as u64;
        let connect_mode = s.connect_mode;
        if !probe {
            self.add_in_flight(host, server, 1);
        }
        let full = self.cfg.servers[server].max_connections.is_some_and(|max| already_open >= max);
        let rtt = self.cfg.rtt;
        let timeout = if probe { self.cfg.probe_connect_timeout } else { self.cfg.connect_timeout };
        let fail = |at| (at, Event::ConnectDone { req, gen, ok: false });
        let (at, event) = match connect_mode {
            ConnectMode::Blackhole => fail(now + timeout),
            ConnectMode::Refuse => fail(now + rtt),
            ConnectMode::Accept if full => fail(now + rtt),
            ConnectMode::Accept if rtt == 0 => return self.on_connected(ctx, req),
            ConnectMode::Accept => (now + rtt, Event::ConnectDone { req, gen, ok: true }),
        };
        ctx.push(at, event);
    }

    /// Removes the connection from its server's list (the list order is not meaningful).
    // Inline: once or twice a request, where the call and its saved registers cost as much as the body (callgrind).
    #[inline(always)]
    pub(super) fn remove_conn(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        let r = self.requests[req];
        let server = r.server as usize;
        let s = &mut self.servers[server];
        let idx = r.conn_index as usize;
        s.close(idx, ctx.now());
        if let Some(&moved) = s.conns.get(idx) {
            self.requests[moved].conn_index = idx as u32;
        }
        if !r.probe {
            self.add_in_flight(r.host as usize, server, -1);
        }
    }

    pub(super) fn on_connect_done(&mut self, ctx: &mut Ctx<Event>, req: u32, gen: u32, ok: bool) {
        let r = self.requests[req];
        if r.gen != gen || r.phase != Phase::Connecting {
            return;
        }
        let (server, host) = (r.server as usize, r.host as usize);
        if !r.probe && self.listening {
            let elapsed = ctx.now() - r.conn_started;
            self.controllers[host].on_connect(ctx.now(), server, ok, elapsed);
        }
        if ok {
            self.on_connected(ctx, req);
        } else {
            self.servers[server].failed_conns += 1;
            self.remove_conn(ctx, req);
            if r.probe {
                self.end_probe(ctx, req, false);
            } else {
                self.retry_or_fail(ctx, req);
            }
        }
    }

    /// After a failed connect: replica requests re-pick among the servers left; primary requests fail.
    pub(super) fn retry_or_fail(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        if self.requests[req].to_primary {
            self.finish(ctx, req, Outcome::Failed);
        } else {
            self.route_replica(ctx, req);
        }
    }

    // Inline: once or twice a request, where the call and its saved registers cost as much as the body (callgrind).
    #[inline(always)]
    pub(super) fn on_connected(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        let server = self.requests[req].server as usize;
        if self.requests[req].probe {
            // The gauge counts PROCESSLIST, itself and waiting connects included, in one round trip; it needs no
            // query slot.
            let count = self.servers[server].conns.len() as u32;
            let r = &mut self.requests[req];
            r.probe_count = count;
            r.phase = Phase::Querying;
            let gen = r.gen;
            ctx.push(ctx.now() + self.cfg.rtt, Event::QueryDone { req, gen });
            return;
        }
        match self.cfg.servers[server].capacity {
            Capacity::Unlimited => self.start_query(ctx, req),
            Capacity::Slots(slots) => {
                let s = &mut self.servers[server];
                if s.busy_slots < slots {
                    s.busy_slots += 1;
                    self.start_query(ctx, req);
                } else {
                    s.queue.push_back(req);
                    self.requests[req].phase = Phase::Queued;
                }
            }
        }
    }

    // Inline: once or twice a request, where the call and its saved registers cost as much as the body (callgrind).
    #[inline(always)]
    pub(super) fn start_query(&mut self, ctx: &mut Ctx<Event>, req: u32) {
        let server = self.requests[req].server as usize;
        let service = self.service_time(ctx, server);
        let r = &mut self.requests[req];
        r.phase = Phase::Querying;
        let gen = r.gen;
        ctx.push(ctx.now() + service, Event::QueryDone { req, gen });
    }

    pub(super) fn on_query_done(&mut self, ctx: &mut Ctx<Event>, req: u32, gen: u32) {
        let r = self.requests[req];
        if r.gen != gen || r.phase != Phase::Querying {
            return;
        }
        if r.probe {
            self.remove_conn(ctx, req);
            self.end_probe(ctx, req, true);
            return;
        }
        let (server, host) = (r.server as usize, r.host as usize);
        let held = ctx.now() - r.conn_started;
        self.servers[server].work_count += 1;
        self.server_latencies.record(server, held);
        self.remove_conn(ctx, req);
        if let Capacity::Slots(_) = self.cfg.servers[server].capacity {
            let s = &mut self.servers[server];
            s.busy_slots -= 1;
            if let Some(next) = s.queue.pop_front() {
                s.busy_slots += 1;
                self.start_query(ctx, next);
            }
        }
        if self.listening {
            self.controllers[host].on_close(ctx.now(), server, held);
        }
        self.finish(ctx, req, Outcome::Completed);
    }

    /// Ends a probe whose connection is already removed, and tells its host's controller what it found.
    pub(super) fn end_probe(&mut self, ctx: &mut Ctx<Event>, req: u32, connected: bool) {
        let r = self.requests[req];
        let result = ProbeResult {
            connected,
            conn_count: if connected { r.probe_count } else { 0 },
            elapsed: ctx.now() - r.conn_started,
        };
        self.requests.release(req);
        let server = r.server as usize;
        // The gauge's `getLag()`: pt-heartbeat's measured lag, read as the probe's query returns.
        let lag_s = connected.then(|| self.gauge_lag(server, ctx.now()) / 1e6);
        self.controllers[r.host as usize].on_probe_lag(ctx.now(), server, result, lag_s);
    }
}
