//! Operator overrides as the section applies them (depool, drain, repool with a ramp, pin, controller off): they
//! act on the configured load every controller starts from. The ramp itself is the noun in `overrides.rs`.

use super::model::*;
use super::overrides::*;
use crate::engine::Ctx;
use crate::models::section::command::Operator;

impl Section {
    /// Applies a validated operator override.
    pub(super) fn apply_operator(&mut self, ctx: &mut Ctx<Event>, op: Operator) {
        let now = ctx.now();
        match op {
            Operator::Pin { server, weight } => self.pinned[server] = Some(weight),
            Operator::Unpin { server } => self.pinned[server] = None,
            Operator::Depool { server } => {
                self.set_ramp(ctx, server, LoadRamp { from: 0.0, to: 0.0, start: now, length: 0 })
            }
            Operator::Drain { server, over } => {
                let from = self.effective_load[server];
                self.set_ramp(ctx, server, LoadRamp { from, to: 0.0, start: now, length: over });
            }
            Operator::Repool { server, ramp } => {
                let from = self.effective_load[server];
                let to = self.cfg.servers[server].load;
                self.set_ramp(ctx, server, LoadRamp { from, to, start: now, length: ramp });
            }
            Operator::ControllerOff => self.controller_enabled = false,
            Operator::ControllerOn => self.controller_enabled = true,
        }
        self.fast_pick = self.all_replicas_plainly_eligible();
    }

    /// Starts a ramp of a server's configured load and applies its value now.
    pub(super) fn set_ramp(&mut self, ctx: &mut Ctx<Event>, server: usize, ramp: LoadRamp) {
        self.ramps[server] = Some(ramp);
        self.on_ramp_tick(ctx);
    }

    /// Applies every active ramp's current value to the hosts' candidate lists, and ticks again while any ramp
    /// is still moving. Finished ramps stay as the server's override (a depool stays depooled).
    pub(super) fn on_ramp_tick(&mut self, ctx: &mut Ctx<Event>) {
        let now = ctx.now();
        let mut moving = false;
        for server in 0..self.servers.len() {
            let Some(ramp) = self.ramps[server] else { continue };
            self.set_effective_load(server, ramp.at(now));
            moving |= !ramp.done(now);
        }
        if moving && !self.ramp_tick_pending {
            self.ramp_tick_pending = true;
            ctx.push(now + RAMP_TICK, Event::RampTick);
        }
    }

    pub(super) fn set_effective_load(&mut self, server: usize, load: f64) {
        self.effective_load[server] = load;
        self.fast_pick = self.all_replicas_plainly_eligible();
        if let Some(pos) = self.replica_pos[server] {
            self.load_index.set(pos as usize, load);
            for host in &mut self.hosts {
                host.replicas[pos as usize].configured_load = load;
            }
        }
    }

    /// True when every replica has a positive configured load and none is pinned: then a request's first pick
    /// can hand the controller the host's whole replica list as it stands.
    pub(super) fn all_replicas_plainly_eligible(&self) -> bool {
        self.replica_pos
            .iter()
            .enumerate()
            .all(|(i, pos)| pos.is_none() || (self.effective_load[i] > 0.0 && self.pinned[i].is_none()))
    }

    /// True while an operator has switched the controllers off.
    pub(crate) fn controller_enabled(&self) -> bool {
        self.controller_enabled
    }
}
