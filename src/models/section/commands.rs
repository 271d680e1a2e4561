//! The section model's command table: faults, operator overrides and surges, each with its arguments' units and
//! ranges. Parsing (`--set fault=…`, `--set operator=…`, `--set surge=…`, scenario files, URL steps), formatting (the page's buttons and the URL),
//! validation (live and scheduled, CLI, page and library alike) and `loadlab list` all read [`TABLE`].

use crate::engine::commands::{ArgSpec, CommandCodec, CommandSpec, Parsed};
use crate::models::section::command::{Command, Fault, Operator};
use crate::time::{as_secs_f64, from_secs_f64};

const SERVER: Option<&str> = Some("server");
const SECONDS: f64 = 1e6;

/// Every verb of the section model.
pub const TABLE: &[CommandSpec] = &[
    CommandSpec {
        verb: "slow",
        target: SERVER,
        args: &[ArgSpec { name: "factor", unit: "×", min: 0.01, max: 10_000.0, default: 10.0 }],
        inverse: Some("recover"),
        help: "queries take FACTOR times longer (a cold buffer pool, a noisy neighbour)",
        happened: "{target} {factor}× slower",
    },
    CommandSpec {
        verb: "connect-timeout",
        target: SERVER,
        args: &[],
        inverse: Some("recover"),
        help: "connects are blackholed: each hangs for the connect timeout, then fails",
        happened: "{target} connects hang",
    },
    CommandSpec {
        verb: "refuse",
        target: SERVER,
        args: &[],
        inverse: Some("recover"),
        help: "connects are refused within one round trip (host up, nothing listening)",
        happened: "{target} refuses connects",
    },
    CommandSpec {
        verb: "crash",
        target: SERVER,
        args: &[],
        inverse: Some("recover"),
        help: "the server loses power: in-flight queries fail, later connects are blackholed",
        happened: "{target} crashed",
    },
    CommandSpec {
        verb: "recover",
        target: SERVER,
        args: &[],
        inverse: None,
        help: "clears every fault: healthy, full speed, full capacity",
        happened: "{target} recovered",
    },
    CommandSpec {
        verb: "cold",
        target: SERVER,
        args: &[
            ArgSpec { name: "from", unit: "fraction", min: 0.01, max: 1.0, default: 0.2 },
            ArgSpec { name: "warmup", unit: "s", min: 0.0, max: SECONDS, default: 60.0 },
        ],
        inverse: Some("recover"),
        help: "capacity ramps from FROM to 100% over WARMUP seconds (a restarted server)",
        happened: "{target} restarted cold, warms over {warmup} s",
    },
    CommandSpec {
        verb: "large-write",
        target: SERVER,
        args: &[ArgSpec { name: "seconds", unit: "s", min: 0.001, max: 3600.0, default: 15.0 }],
        inverse: None,
        help:
            "one transaction that takes the replica SECONDS to apply: later writes wait, its lag ramps up, then drains",
        happened: "{target} applies a {seconds} s write",
    },
    CommandSpec {
        verb: "depool",
        target: SERVER,
        args: &[],
        inverse: Some("repool"),
        help: "configured load 0 at once",
        happened: "{target} depooled",
    },
    CommandSpec {
        verb: "drain",
        target: SERVER,
        args: &[ArgSpec { name: "over", unit: "s", min: 0.0, max: SECONDS, default: 30.0 }],
        inverse: Some("repool"),
        help: "configured load ramps to 0 over OVER seconds",
        happened: "{target} drained over {over} s",
    },
    CommandSpec {
        verb: "repool",
        target: SERVER,
        args: &[ArgSpec { name: "ramp", unit: "s", min: 0.0, max: SECONDS, default: 60.0 }],
        inverse: Some("depool"),
        help: "configured load ramps back to its table value over RAMP seconds",
        happened: "{target} repooled over {ramp} s",
    },
    CommandSpec {
        verb: "pin",
        target: SERVER,
        args: &[ArgSpec { name: "weight", unit: "weight", min: 0.0, max: 1e6, default: 50.0 }],
        inverse: Some("unpin"),
        help: "fixes the server's weight whatever the controller says",
        happened: "{target} pinned at {weight}",
    },
    CommandSpec {
        verb: "unpin",
        target: SERVER,
        args: &[],
        inverse: Some("pin"),
        help: "hands the server back to the controller",
        happened: "{target} unpinned",
    },
    CommandSpec {
        verb: "controller-off",
        target: None,
        args: &[],
        inverse: Some("controller-on"),
        help: "every host picks by configured load alone",
        happened: "controller off",
    },
    CommandSpec {
        verb: "controller-on",
        target: None,
        args: &[],
        inverse: Some("controller-off"),
        help: "the controllers decide again",
        happened: "controller on",
    },
    CommandSpec {
        verb: "surge",
        target: None,
        args: &[ArgSpec { name: "factor", unit: "×", min: 0.0, max: 1000.0, default: 2.0 }],
        inverse: None,
        help: "multiplies the arrival rate (1 ends a surge)",
        happened: "traffic ×{factor}",
    },
];

/// The section's servers, for the codec.
pub struct Codec<'a> {
    /// Server names, in config order.
    pub servers: &'a [String],
}

fn server(p: &Parsed) -> usize {
    p.target.unwrap_or(0)
}

impl CommandCodec for Codec<'_> {
    type Command = Command;
    fn table(&self) -> &'static [CommandSpec] {
        TABLE
    }
    fn target_names(&self, _kind: &str) -> Vec<String> {
        self.servers.to_vec()
    }
    fn from_parsed(&self, p: &Parsed) -> Result<Command, String> {
        let s = server(p);
        let arg = |i: usize| p.args.get(i).copied().unwrap_or(0.0);
        let fault = |fault| Ok(Command::Fault { server: s, fault });
        let op = |op| Ok(Command::Operator(op));
        match p.verb {
            "slow" => fault(Fault::Slow { factor: arg(0) }),
            "connect-timeout" => fault(Fault::ConnectTimeout),
            "refuse" => fault(Fault::Refuse),
            "crash" => fault(Fault::Crash),
            "recover" => fault(Fault::Recover),
            "cold" => fault(Fault::Cold { from_fraction: arg(0), warmup: from_secs_f64(arg(1)) }),
            "large-write" => fault(Fault::LargeWrite { apply: from_secs_f64(arg(0)) }),
            "depool" => op(Operator::Depool { server: s }),
            "drain" => op(Operator::Drain { server: s, over: from_secs_f64(arg(0)) }),
            "repool" => op(Operator::Repool { server: s, ramp: from_secs_f64(arg(0)) }),
            "pin" => op(Operator::Pin { server: s, weight: arg(0) }),
            "unpin" => op(Operator::Unpin { server: s }),
            "controller-off" => op(Operator::ControllerOff),
            "controller-on" => op(Operator::ControllerOn),
            "surge" => Ok(Command::Surge { factor: arg(0) }),
            other => Err(format!("no section command '{other}'")),
        }
    }
    fn to_parsed(&self, c: &Command) -> Option<Parsed> {
        Some(to_parsed(c))
    }
}

/// A command as its verb, target and arguments (seconds for durations).
pub fn to_parsed(c: &Command) -> Parsed {
    let p = |verb: &'static str, target: Option<usize>, args: Vec<f64>| Parsed { verb, target, args };
    match *c {
        Command::Fault { server, fault } => {
            let t = Some(server);
            match fault {
                Fault::Slow { factor } => p("slow", t, vec![factor]),
                Fault::ConnectTimeout => p("connect-timeout", t, vec![]),
                Fault::Refuse => p("refuse", t, vec![]),
                Fault::Crash => p("crash", t, vec![]),
                Fault::Recover => p("recover", t, vec![]),
                Fault::Cold { from_fraction, warmup } => p("cold", t, vec![from_fraction, as_secs_f64(warmup)]),
                Fault::LargeWrite { apply } => p("large-write", t, vec![as_secs_f64(apply)]),
            }
        }
        Command::Operator(op) => match op {
            Operator::Depool { server } => p("depool", Some(server), vec![]),
            Operator::Drain { server, over } => p("drain", Some(server), vec![as_secs_f64(over)]),
            Operator::Repool { server, ramp } => p("repool", Some(server), vec![as_secs_f64(ramp)]),
            Operator::Pin { server, weight } => p("pin", Some(server), vec![weight]),
            Operator::Unpin { server } => p("unpin", Some(server), vec![]),
            Operator::ControllerOff => p("controller-off", None, vec![]),
            Operator::ControllerOn => p("controller-on", None, vec![]),
        },
        Command::Surge { factor } => p("surge", None, vec![factor]),
    }
}

/// The one validator of section commands: the target exists and every argument is within the table's range.
/// The CLI's steps, the page's live actions and `Sim::apply` all come here, so they cannot disagree.
pub fn validate(c: &Command, servers: usize) -> Result<(), String> {
    let parsed = to_parsed(c);
    let spec = TABLE.iter().find(|s| s.verb == parsed.verb).expect("every command has a verb in TABLE");
    if let Some(i) = parsed.target {
        if i >= servers {
            return Err(format!("no server with index {i}; the section has {servers}"));
        }
    }
    for (a, v) in spec.args.iter().zip(&parsed.args) {
        if !(v.is_finite() && *v >= a.min && *v <= a.max) {
            return Err(format!("{} {} must be from {} to {} {}, got {v}", spec.verb, a.name, a.min, a.max, a.unit));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::commands::{check_round_trips, parse_command};

    fn names() -> Vec<String> {
        ["db1118", "db1119"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_verb_round_trips_through_format_and_parse() {
        let servers = names();
        let n = check_round_trips(&Codec { servers: &servers }).unwrap();
        assert_eq!(n, 3 * TABLE.len());
    }

    #[test]
    fn live_and_scheduled_validation_agree_with_the_table() {
        let servers = names();
        let codec = Codec { servers: &servers };
        // The cold fraction below the table's range is refused whether it arrives as text or as a value.
        assert!(parse_command(&codec, "cold:db1119:0.005:60").is_err());
        let live = Command::Fault { server: 1, fault: Fault::Cold { from_fraction: 0.005, warmup: 60_000_000 } };
        assert!(validate(&live, 2).is_err());
        let huge = Command::Fault { server: 1, fault: Fault::Cold { from_fraction: 0.5, warmup: u64::MAX } };
        assert!(validate(&huge, 2).is_err(), "an unbounded warm-up is refused");
        assert!(validate(&Command::Surge { factor: f64::NAN }, 2).is_err());
        assert!(validate(&Command::Fault { server: 2, fault: Fault::Crash }, 2).is_err());
    }
}
