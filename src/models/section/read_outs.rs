//! What the section shows of its servers beside its rows, as data every front end reads through
//! [`Run`](crate::engine::run::Run): configured and controller weights, each server's state in words, the server
//! a scenario's story is about, the worker pool's size, and the "why this server?" explanation of a traced pick.
//! The page draws these without knowing it is the section.

use super::command::{Command, Fault};
use super::config::Role;
use super::model::Section;
use super::server::ConnectMode;
use crate::engine::run::{Decision, DecisionCandidate, ReadOuts};
use crate::time::SimTime;

/// Who decided a traced pick, in plain words; `rule` is how the controller picks.
fn decided(by: &str, rule: &str) -> String {
    match by {
        "controller" => format!("the controller's rule: {rule}"),
        "pinned" => "an operator pin: the pinned weight replaces the controller's".into(),
        "controller off" => "the configured loads alone: an operator switched the controller off".into(),
        "breaker" => {
            "the section breaker: every server was at its connection limit, so the request failed fast as overloaded"
                .into()
        }
        "controller declined" => "nobody: the controller gave every candidate weight 0, so the request failed".into(),
        other => other.to_string(),
    }
}

impl Section {
    /// See [`ReadOuts`]: configured loads, the controller's charted terms, the server the schedule breaks first
    /// (else the first replica with load), every server it breaks, and the worker pool's size on the workers chart.
    pub(super) fn declared_read_outs(&self) -> ReadOuts {
        let cfg = &self.cfg;
        let faulted: Vec<usize> = (cfg.schedule.iter())
            .filter_map(|sc| match sc.command {
                Command::Fault { server, fault } if !matches!(fault, Fault::Recover) => Some(server),
                _ => None,
            })
            .collect();
        let first_fault = cfg.schedule.iter().find_map(|sc| match sc.command {
            Command::Fault { server, .. } => Some(server),
            _ => None,
        });
        let focus = first_fault.or_else(|| cfg.servers.iter().position(|s| s.role == Role::Replica && s.load > 0.0));
        let limits = (cfg.workers_per_host.iter()).map(|&w| ("workers", w as f64 * cfg.hosts as f64)).collect();
        ReadOuts {
            configured_weights: cfg.servers.iter().map(|s| s.load).collect(),
            charted_terms: cfg.controller.info().charted_terms,
            focus,
            faulted,
            limits,
        }
    }

    /// App host 0's controller weights now, per server; NaN for a server it would not pick.
    pub(super) fn host0_weights(&self, now: SimTime) -> Vec<f64> {
        let mut weights = vec![f64::NAN; self.cfg.servers.len()];
        for (server, w) in self.host_weights(0, now) {
            if let Some(slot) = weights.get_mut(server) {
                *slot = w;
            }
        }
        weights
    }

    /// Each server's state in a few words: its connections, its role if primary, its faults and overrides.
    pub(super) fn server_states(&self, now: SimTime) -> Vec<String> {
        let cfg = &self.cfg;
        (self.servers_now(now).iter().enumerate())
            .map(|(i, s)| {
                let mut parts = vec![format!("{} conns", s.active_conns)];
                if cfg.servers.get(i).is_some_and(|c| c.role == Role::Primary) {
                    parts.insert(0, "primary: takes writes and read-your-writes, never balanced (load 0)".into());
                }
                if s.crashed {
                    parts.push("crashed".into());
                } else {
                    match s.connect_mode {
                        ConnectMode::Accept => {}
                        ConnectMode::Blackhole => parts.push("connects hang".into()),
                        ConnectMode::Refuse => parts.push("refusing".into()),
                    }
                }
                if (s.latency_multiplier - 1.0).abs() > 1e-9 {
                    parts.push(format!("queries ×{:.1} slower", s.latency_multiplier));
                }
                let configured = cfg.servers.get(i).map_or(0.0, |c| c.load);
                if (s.effective_load - configured).abs() > 1e-9 {
                    parts.push(format!("load {:.0} of {configured:.0}", s.effective_load));
                }
                if let Some(w) = s.pinned {
                    parts.push(format!("pinned at {w:.0}"));
                }
                parts.join(" · ")
            })
            .collect()
    }

    /// The latest traced pick as a [`Decision`].
    pub(super) fn decision(&self) -> Option<Decision> {
        let pick = self.last_pick()?;
        let candidates = (pick.candidates.iter().enumerate())
            .map(|(k, c)| DecisionCandidate {
                target: c.server,
                configured: c.configured_load,
                in_flight: c.in_flight,
                weight: pick.weights.get(k).copied().unwrap_or(f64::NAN),
            })
            .collect();
        Some(Decision {
            time: pick.time,
            chooser: pick.host,
            chosen: pick.chosen,
            decided_by: decided(pick.decided_by, self.cfg.controller.info().rule),
            candidates,
            terms: pick.diagnostics.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::run::Run;
    use crate::engine::scenario::RunSpec;
    use crate::models::section::SCENARIOS;
    use crate::time::SECOND;

    fn run(scenario: &str, sets: &[(&str, &str)]) -> Box<dyn Run> {
        let sets = sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let spec =
            RunSpec { controller: "pid".into(), sets, seed: 1, duration_s: Some(40.0), time_step_s: None, file: None };
        let def = SCENARIOS.iter().find(|d| d.name == scenario).unwrap();
        (def.build)(def, &spec).unwrap()
    }

    #[test]
    fn the_slow_scenario_declares_db1119_its_loads_its_pool_and_the_pid_terms() {
        let r = run("slow", &[("workers", "8")]);
        let db1119 = r.target_names("server").iter().position(|n| n == "db1119");
        let outs = r.read_outs();
        assert_eq!(outs.focus, db1119);
        assert_eq!(outs.faulted, vec![db1119.unwrap()]);
        assert_eq!(outs.configured_weights.len(), 12);
        assert_eq!(outs.configured_weights[db1119.unwrap()], 200.0);
        assert_eq!(outs.limits, vec![("workers", 8.0 * 139.0)]);
        assert_eq!(outs.charted_terms, crate::controller::PID_TERMS);
    }

    #[test]
    fn a_traced_decision_is_data_and_tracing_changes_no_trace() {
        let mut traced = run("slow", &[]);
        let mut plain = run("slow", &[]);
        traced.trace_decisions(1);
        traced.run_until(35 * SECOND, u64::MAX);
        plain.run_until(35 * SECOND, u64::MAX);
        assert_eq!(traced.trace_hash(), plain.trace_hash());
        let d = traced.last_decision().expect("a traced pick");
        assert!(!d.candidates.is_empty() && d.decided_by.starts_with("the controller's rule: a random draw"), "{d:?}");
        let weights = traced.balancer_weights();
        assert_eq!(weights.len(), 12);
        assert!(weights[0].is_nan(), "the primary is never balanced");
        let states = traced.target_states();
        assert!(states[4].contains("slower"), "{}", states[4]);
        assert!(states[0].starts_with("primary"), "{}", states[0]);
    }
}
