//! Named scenarios and the `--set KEY=VALUE` keys that adjust them.
//!
//! Scenario and key names are part of the interface: the CLI, URLs and tests use them. Every key has a unit, a
//! default and a valid range, and `build` rejects anything else with a one-line reason that names what is valid,
//! before any simulation state exists.

use crate::controller::ControllerSpec;
use crate::engine::commands::parse_step;
use crate::engine::scenario::ScenarioDef;
use crate::models::section::command::{Command, Fault};
use crate::models::section::commands::Codec;
use crate::models::section::config::{limits, Capacity, Config, LatencyDist, Role, ScheduledCommand, ServerConfig};
use crate::time::{from_millis_f64, from_secs_f64, SimTime, MILLISECOND};

/// The EventSimulator s1 section (REFERENCE §1): name, role, configured load, base latency L in seconds.
pub const EVENTSIM_S1: &[(&str, Role, f64, f64)] = &[
    ("db1118", Role::Primary, 0.0, 0.87743),
    ("db1099", Role::Replica, 50.0, 0.08962),
    ("db1105", Role::Replica, 50.0, 0.09181),
    ("db1106", Role::Replica, 50.0, 0.09815),
    ("db1119", Role::Replica, 200.0, 0.08619),
    ("db1128", Role::Replica, 200.0, 0.08942),
    ("db1134", Role::Replica, 200.0, 0.08885),
    ("db1135", Role::Replica, 200.0, 0.08934),
    ("db1163", Role::Replica, 325.0, 0.12621),
    ("db1169", Role::Replica, 200.0, 0.08921),
    ("db1184", Role::Replica, 200.0, 0.08831),
    ("db1186", Role::Replica, 200.0, 0.09341),
];

/// The replica `large-write` overloads with reads (the largest load, 325).
pub const OVERLOADED_SERVER: &str = "db1163";

/// The server the EventSimulator fault scenarios break.
pub const FAULTY_SERVER: &str = "db1119";

use crate::engine::keys::{choice_index, parse_count, parse_number, quote};
pub use crate::engine::keys::{KeyInfo, KeyKind};

pub use super::config::KEYS;

/// A key's number as the scenario builder reads it: the last value given, or the default (every value has
/// already been checked against its key's range).
type Num<'a> = dyn Fn(&str, f64) -> f64 + 'a;

/// What a scenario schedules on top of its base section at `fault_at` (the time given).
type Schedule = fn(&mut Config, SimTime, &Num) -> Result<(), String>;

/// How each of the section's scenarios is built: its base section and its `rate_scale` default (EventSimulator's
/// `quiet` is s1 with "all rates ÷ 1000"; the key always scales the production rates, so `quiet` with
/// `rate_scale=0.002` runs at 2/1000), and what it schedules at `fault_at`. [`SETUPS`] is in the order of the
/// scenario table, [`super::SCENARIOS`], which alone names them.
struct Setup {
    /// True for the M/M/c section (n identical servers), false for EventSimulator's s1 table.
    mmc: bool,
    rate_scale: f64,
    schedule: Option<Schedule>,
}

/// One per scenario of [`super::SCENARIOS`], in its order: plain-s1, slow, connect-timeout, refuse, quiet, mmc,
/// large-write.
const SETUPS: &[Setup] = &[
    Setup { mmc: false, rate_scale: 1.0, schedule: None },
    Setup { mmc: false, rate_scale: 1.0, schedule: Some(slow) },
    Setup { mmc: false, rate_scale: 1.0, schedule: Some(connect_timeout) },
    Setup { mmc: false, rate_scale: 1.0, schedule: Some(refuse) },
    Setup { mmc: false, rate_scale: 0.001, schedule: None },
    Setup { mmc: true, rate_scale: 1.0, schedule: None },
    Setup { mmc: false, rate_scale: 1.0, schedule: Some(large_write) },
];

/// Schedules `fault` on db1119 at `at`.
fn fault_db1119(cfg: &mut Config, at: SimTime, fault: Fault) {
    let faulty = cfg.server_index(FAULTY_SERVER).expect("db1119 is in the table");
    cfg.schedule.push(ScheduledCommand { at, command: Command::Fault { server: faulty, fault } });
}

fn slow(cfg: &mut Config, at: SimTime, num: &Num) -> Result<(), String> {
    fault_db1119(cfg, at, Fault::Slow { factor: num("slow_factor", 10.0) });
    Ok(())
}

fn connect_timeout(cfg: &mut Config, at: SimTime, _: &Num) -> Result<(), String> {
    fault_db1119(cfg, at, Fault::ConnectTimeout);
    Ok(())
}

fn refuse(cfg: &mut Config, at: SimTime, _: &Num) -> Result<(), String> {
    fault_db1119(cfg, at, Fault::Refuse);
    Ok(())
}

/// Looks up one of the section's scenarios in its one table, [`super::SCENARIOS`].
pub fn scenario_info(name: &str) -> Option<&'static ScenarioDef> {
    super::SCENARIOS.iter().find(|s| s.name == name)
}

fn scenario_names() -> String {
    super::SCENARIOS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

fn keys_for(scenario: &str) -> impl Iterator<Item = &'static KeyInfo> + '_ {
    KEYS.iter().filter(move |k| k.scenarios.is_empty() || k.scenarios.contains(&scenario))
}

/// A `fault`, `operator` or `surge` key's value as a scheduled command, read with the one grammar of the
/// section's commands ([`TABLE`](super::commands::TABLE): `VERB[:SERVER][:ARG…]@SECONDS`, each argument in the
/// table's range). Each key schedules its own kind of command, so `fault=depool:db1119@40` is refused with the
/// key to use; `surge` also takes its short form `FACTOR@SECONDS` (`surge=2@40`).
pub(crate) fn parse_key_step(cfg: &Config, key: &str, raw: &str) -> Result<ScheduledCommand, String> {
    let names: Vec<String> = cfg.servers.iter().map(|s| s.name.clone()).collect();
    let codec = Codec { servers: &names };
    let text = match key {
        "surge" if !raw.contains('@') => {
            return Err(format!("surge: {} should be FACTOR@SECONDS, like 2@40", quote(raw)))
        }
        "surge" if !raw.starts_with("surge:") => format!("surge:{raw}"),
        _ => raw.to_string(),
    };
    let (at, command) = parse_step(&codec, &text).map_err(|e| format!("{key}: {e}"))?;
    let kind = match command {
        Command::Fault { .. } => "fault",
        Command::Operator(_) => "operator",
        Command::Surge { .. } => "surge",
    };
    if kind != key {
        return Err(format!("{key}: {} belongs to {kind}=, not {key}=", quote(raw)));
    }
    Ok(ScheduledCommand { at, command })
}

/// `large-write`'s schedule: db1163 gets `overload_slots` slots at once and slows by `overload_factor` from
/// `overload_at`; db1119's large write of `large_write_s` commits at `at`.
fn large_write(cfg: &mut Config, at: SimTime, num: &Num) -> Result<(), String> {
    let faulty = cfg.server_index(FAULTY_SERVER).expect("db1119 is in the table");
    let drowning = cfg.server_index(OVERLOADED_SERVER).expect("db1163 is in the table");
    let slots = num("overload_slots", 200.0);
    if slots.fract() != 0.0 {
        return Err(format!("overload_slots: {slots} is not a whole number; expected 1 to 100000"));
    }
    cfg.servers[drowning].capacity = Capacity::Slots(slots as u32);
    let apply = from_secs_f64(num("large_write_s", 15.0));
    cfg.schedule.push(ScheduledCommand {
        at: from_secs_f64(num("overload_at", 20.0)),
        command: Command::Fault { server: drowning, fault: Fault::Slow { factor: num("overload_factor", 2.0) } },
    });
    cfg.schedule
        .push(ScheduledCommand { at, command: Command::Fault { server: faulty, fault: Fault::LargeWrite { apply } } });
    Ok(())
}

/// Builds the named scenario with the named controller, applying `sets` in order.
///
/// Each `(key, value)` is a scenario key from [`KEYS`], a per-server key `<server>.load` or
/// `<server>.latency_ms`, or one of the controller's parameters. Returns a one-line error naming what is valid.
pub fn build(scenario: &str, controller: &str, sets: &[(String, String)]) -> Result<Config, String> {
    let index = (super::SCENARIOS.iter().position(|s| s.name == scenario))
        .ok_or_else(|| format!("unknown scenario {}; valid scenarios: {}", quote(scenario), scenario_names()))?;
    let (name, setup) = (super::SCENARIOS[index].name, &SETUPS[index]);
    let mut spec = ControllerSpec::new(controller)?;
    check_sets(name, &mut spec, sets)?;
    let get = |key: &str| sets.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let num = |key: &str, default: f64| -> f64 { get(key).and_then(|v| v.trim().parse().ok()).unwrap_or(default) };

    let mut cfg = Config::base(name);
    cfg.probe_connect_timeout = from_millis_f64(spec.info().probe_timeout_ms); // the key below overrides it
    cfg.controller = spec;
    if setup.mmc {
        mmc_section(&mut cfg, &num)?;
    } else {
        cfg.servers = s1_servers();
    }
    if let Some(schedule) = setup.schedule {
        schedule(&mut cfg, from_secs_f64(num("fault_at", 30.0)), &num)?;
    }
    // Generic keys, in the order given (so a later --set wins).
    for (key, raw) in sets {
        apply_key(&mut cfg, key, raw.trim(), &num, get("latency_dist"))?;
    }
    // Rates are relative to production: `quiet` is the same section at its default rate_scale of 0.001.
    cfg.arrival_rate *= num("rate_scale", setup.rate_scale);
    cfg.schedule.sort_by_key(|s| s.at); // stable: same-time commands keep the order given
    cfg.validate()?;
    Ok(cfg)
}

/// Sets one of the controller's parameters from text, checked against its range; `Ok(false)` when `key` is
/// not one of its parameters.
pub(crate) fn set_param(spec: &mut ControllerSpec, key: &str, raw: &str) -> Result<bool, String> {
    let Some(p) = spec.info().params.iter().find(|p| p.key == key) else { return Ok(false) };
    spec.set(key, parse_number(key, raw, p.min, p.max, p.unit)?)?;
    Ok(true)
}

/// The first pass over `sets`: sets the controller's parameters on `spec`, rejects unknown keys and checks every
/// plain value's type and range, before any config exists. Per-server keys wait for the server list.
fn check_sets(scenario: &str, spec: &mut ControllerSpec, sets: &[(String, String)]) -> Result<(), String> {
    for (key, raw) in sets {
        if set_param(spec, key, raw)? {
            continue;
        }
        if key.contains('.') && !key.starts_with('<') {
            continue; // per-server keys need the server list; checked after the base config exists
        }
        let k = keys_for(scenario).find(|k| k.key == key).ok_or_else(|| {
            let mut valid: Vec<&str> = keys_for(scenario).map(|k| k.key).collect();
            valid.extend(spec.info().params.iter().map(|p| p.key));
            format!(
                "unknown key {} for scenario {} with controller {}; valid keys: {}",
                quote(key),
                scenario,
                spec.name(),
                valid.join(", ")
            )
        })?;
        match k.kind {
            KeyKind::Number { min, max } => {
                parse_number(key, raw, min, max, k.unit)?;
            }
            KeyKind::CountOrUnlimited { min, max } => {
                parse_count(key, raw, min, max)?;
            }
            KeyKind::Choice(options) => {
                choice_index(key, options, raw)?;
            }
            KeyKind::FaultSpec => {}
        }
    }
    Ok(())
}

/// EventSimulator's s1 servers (REFERENCE §1), from [`EVENTSIM_S1`].
fn s1_servers() -> Vec<ServerConfig> {
    EVENTSIM_S1
        .iter()
        .map(|&(name, role, load, latency_s)| ServerConfig {
            name: name.to_string(),
            role,
            load,
            latency: from_secs_f64(latency_s),
            capacity: Capacity::Unlimited,
            max_connections: None,
        })
        .collect()
}

/// The M/M/c section: `servers` identical servers with `slots` slots, exponential service of mean
/// `service_ms`, one app host, no primary, no round trip, Poisson arrivals at utilization ρ.
fn mmc_section(cfg: &mut Config, num: &Num) -> Result<(), String> {
    let n = num("servers", 20.0);
    if n.fract() != 0.0 {
        return Err(format!("servers: {n} is not a whole number; expected 1 to {}", limits::MAX_SERVERS));
    }
    let slots = num("slots", 8.0);
    if slots.fract() != 0.0 {
        return Err(format!("slots: {slots} is not a whole number; expected 1 to 100000"));
    }
    let service_ms = num("service_ms", 10.0);
    let rho = num("utilization", 0.8);
    cfg.servers = (1..=n as usize)
        .map(|i| ServerConfig {
            name: format!("s{i}"),
            role: Role::Replica,
            load: 1.0,
            latency: from_millis_f64(service_ms),
            capacity: Capacity::Slots(slots as u32),
            max_connections: None,
        })
        .collect();
    cfg.hosts = 1;
    cfg.primary_fraction = 0.0;
    cfg.latency_dist = LatencyDist::Exponential;
    cfg.rtt = 0;
    // λ = ρ·n·c·μ, with μ = 1000/service_ms per second.
    cfg.arrival_rate = rho * n * slots * 1000.0 / service_ms;
    Ok(())
}

/// Applies one `--set` pair to the config (the scenario's own keys were applied by its setup; `rate_scale` is
/// applied once, after every key, from the last value given). `latency_dist` is that key's last value.
fn apply_key(cfg: &mut Config, key: &str, raw: &str, num: &Num, latency_dist: Option<&str>) -> Result<(), String> {
    match key {
        "hosts" => {
            let h = num("hosts", 0.0);
            if h.fract() != 0.0 {
                return Err(format!("hosts: {raw} is not a whole number; expected 1 to {}", limits::MAX_HOSTS));
            }
            cfg.hosts = h as u32;
        }
        "workers" => cfg.workers_per_host = parse_count(key, raw, 1, limits::MAX_WORKERS)?,
        "backlog" => cfg.backlog_per_host = num("backlog", 511.0) as u32,
        "rtt_ms" => cfg.rtt = from_millis_f64(num("rtt_ms", 0.5)),
        "connect_timeout_ms" => {
            cfg.connect_timeout = from_millis_f64(num("connect_timeout_ms", 3000.0)).max(MILLISECOND / 1000)
        }
        "max_attempts" => cfg.max_connect_attempts = num("max_attempts", 16.0) as u32,
        "latency_dist" | "lognormal_sigma" => {
            let sigma = num("lognormal_sigma", 0.5);
            cfg.latency_dist = match latency_dist {
                Some("uniform") => LatencyDist::Uniform,
                Some("exponential") => LatencyDist::Exponential,
                Some("lognormal") => LatencyDist::Lognormal { sigma },
                _ => cfg.latency_dist,
            };
        }
        "capacity" => {
            let cap = parse_count(key, raw, 1, 100_000)?.map_or(Capacity::Unlimited, Capacity::Slots);
            cfg.servers.iter_mut().for_each(|s| s.capacity = cap);
        }
        "max_connections" => {
            let max = parse_count(key, raw, 1, 10_000_000)?;
            cfg.servers.iter_mut().for_each(|s| s.max_connections = max);
        }
        "fault" | "surge" | "operator" => {
            let step = parse_key_step(cfg, key, raw)?;
            cfg.schedule.push(step);
        }
        "breaker_conns" => cfg.breaker_conns = parse_count(key, raw, 1, 10_000_000)?.map(f64::from),
        "probe_timeout_ms" => {
            let default = cfg.controller.info().probe_timeout_ms;
            cfg.probe_connect_timeout = from_millis_f64(num("probe_timeout_ms", default))
        }
        "cold_ramp" => cfg.cold_ramp = raw == "on",
        "write_rate" => cfg.replication.write_rate = num("write_rate", 500.0),
        "apply_rate" => cfg.replication.apply_rate = num("apply_rate", 1000.0),
        "replication_delay_ms" => cfg.replication.delay = from_millis_f64(num("replication_delay_ms", 75.0)),
        "heartbeat_interval_s" => {
            cfg.replication.heartbeat_interval = from_secs_f64(num("heartbeat_interval_s", 1.0)).max(1)
        }
        "recover_at" => {
            let recover = num("recover_at", 0.0);
            let fault = num("fault_at", 30.0);
            if recover <= fault {
                return Err(format!("recover_at ({recover} s) must be after fault_at ({fault} s)"));
            }
            fault_db1119(cfg, from_secs_f64(recover), Fault::Recover);
        }
        _ => {
            if let Some((server, field)) = key.split_once('.') {
                per_server_key(cfg, key, server, field, raw)?;
            }
        }
    }
    Ok(())
}

/// `<server>.load` or `<server>.latency_ms`.
fn per_server_key(cfg: &mut Config, key: &str, server: &str, field: &str, raw: &str) -> Result<(), String> {
    let i = cfg.server_index(server).ok_or_else(|| {
        let names = crate::engine::keys::name_list(cfg.servers.iter().map(|s| s.name.as_str()));
        format!("{}: unknown server {}; valid servers: {names}", quote(key), quote(server))
    })?;
    match field {
        "load" => cfg.servers[i].load = parse_number(key, raw, 0.0, 1e6, "weight")?,
        "latency_ms" => cfg.servers[i].latency = from_millis_f64(parse_number(key, raw, 0.0, 1e7, "ms")?),
        _ => {
            return Err(format!(
                "{}: unknown server field {}; valid: <server>.load, <server>.latency_ms",
                quote(key),
                quote(field)
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_scenario_has_one_setup() {
        assert_eq!(super::SETUPS.len(), super::super::SCENARIOS.len());
        let mmc: Vec<&str> = (super::super::SCENARIOS.iter().zip(super::SETUPS))
            .filter(|(_, s)| s.mmc || s.rate_scale != 1.0)
            .map(|(d, _)| d.name)
            .collect();
        assert_eq!(mmc, ["quiet", "mmc"], "the setups are in the table's order");
    }
}
