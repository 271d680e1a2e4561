//! Per-server controls: a latency multiplier and the fault and operator buttons, each sending one `Command`
//! live. The server's state (connections, faults, overrides) is written into its row by the frame loop.

use yew::prelude::*;

use crate::command::{Command, Fault, Operator};
use crate::time::SECOND;

/// A live command, the URL key it is recorded under, and its step text without the `@time`.
pub type Live = (Command, &'static str, String);

/// Props of [`Servers`].
#[derive(Properties, PartialEq)]
pub struct ServersProps {
    /// Server names, in config order.
    pub names: std::rc::Rc<Vec<String>>,
    /// Configured loads, in config order (a pin holds the server at its configured load).
    pub loads: std::rc::Rc<Vec<f64>>,
    /// Called with each command to apply now.
    pub on_command: Callback<Live>,
    /// Whether the list starts expanded (collapsed in the embedded view).
    #[prop_or(true)]
    pub open: bool,
}

/// Warm-up of the "cold" button: capacity from 20% to full over 60 s (the CLI's example).
const COLD: (f64, u64) = (0.2, 60);
/// Drain time of the "drain" button, seconds.
const DRAIN_S: u64 = 30;
/// Ramp of the "repool" button, seconds.
const REPOOL_RAMP_S: u64 = 10;
/// Factor of the "slow" button (the `slow` scenario's).
const SLOW_FACTOR: f64 = 10.0;

/// The buttons of one row: (data-fault, visible text, what it does).
fn buttons(server: usize, name: &str, load: f64) -> Vec<(&'static str, String, Live)> {
    let fault = |f: Fault, spec: String| (Command::Fault { server, fault: f }, "fault", spec);
    let op = |o: Operator, spec: String| (Command::Operator(o), "operator", spec);
    vec![
        (
            "slow",
            format!("Slow ×{SLOW_FACTOR}"),
            fault(Fault::Slow { factor: SLOW_FACTOR }, format!("slow:{name}:{SLOW_FACTOR}")),
        ),
        ("connect-timeout", "Connect timeout".into(), fault(Fault::ConnectTimeout, format!("connect-timeout:{name}"))),
        ("refuse", "Refuse".into(), fault(Fault::Refuse, format!("refuse:{name}"))),
        ("crash", "Crash".into(), fault(Fault::Crash, format!("crash:{name}"))),
        ("recover", "Recover".into(), fault(Fault::Recover, format!("recover:{name}"))),
        (
            "cold",
            "Cold start".into(),
            fault(
                Fault::Cold { from_fraction: COLD.0, warmup: COLD.1 * SECOND },
                format!("cold:{name}:{}:{}", COLD.0, COLD.1),
            ),
        ),
        ("depool", "Depool".into(), op(Operator::Depool { server }, format!("depool:{name}"))),
        (
            "drain",
            format!("Drain {DRAIN_S} s"),
            op(Operator::Drain { server, over: DRAIN_S * SECOND }, format!("drain:{name}:{DRAIN_S}")),
        ),
        (
            "repool",
            "Repool".into(),
            op(Operator::Repool { server, ramp: REPOOL_RAMP_S * SECOND }, format!("repool:{name}:{REPOOL_RAMP_S}")),
        ),
        ("pin", format!("Pin at {load}"), op(Operator::Pin { server, weight: load }, format!("pin:{name}:{load}"))),
        ("unpin", "Unpin".into(), op(Operator::Unpin { server }, format!("unpin:{name}"))),
    ]
}

/// Props of [`ServerRow`].
#[derive(Properties, PartialEq)]
pub struct ServerRowProps {
    /// Index in config order.
    pub server: usize,
    /// Name.
    pub name: String,
    /// Configured load.
    pub load: f64,
    /// Called with each command to apply now.
    pub on_command: Callback<Live>,
}

/// One server: name, live state, latency slider and buttons.
#[component]
pub fn ServerRow(props: &ServerRowProps) -> Html {
    let latency = use_state(|| 1.0f64);
    let (server, name) = (props.server, props.name.clone());
    let on_latency = {
        let (latency, on_command, name) = (latency.clone(), props.on_command.clone(), name.clone());
        Callback::from(move |e: Event| {
            let raw = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            let Ok(factor) = raw.parse::<f64>() else { return };
            if !(factor.is_finite() && (1.0..=20.0).contains(&factor)) {
                return;
            }
            latency.set(factor);
            let command = Command::Fault { server, fault: Fault::Slow { factor } };
            on_command.emit((command, "fault", format!("slow:{name}:{factor}")));
        })
    };
    let id = format!("latency-{name}");
    html! {
        <li class="server" data-server={name.clone()}>
            <div class="server-head">
                <strong>{ name.clone() }</strong>
                <span class="load">{ format!("load {}", props.load) }</span>
                <span class="server-state" id={format!("state-{name}")} aria-live="off"></span>
            </div>
            <div class="latency">
                <label for={id.clone()}>{ format!("Latency ×{} (1× to 20×; sends slow)", *latency) }</label>
                <input id={id} type="range" data-latency="" min="1" max="20" step="0.5" value={latency.to_string()}
                    onchange={on_latency} />
            </div>
            <div class="buttons" role="group" aria-label={format!("faults and operator actions for {name}")}>
                { for buttons(server, &name, props.load).into_iter().map(|(kind, text, live)| {
                    let on_command = props.on_command.clone();
                    let onclick = Callback::from(move |_: MouseEvent| on_command.emit(live.clone()));
                    html! { <button type="button" data-fault={kind} onclick={onclick}>{ text }</button> }
                }) }
            </div>
        </li>
    }
}

/// Every server's row.
#[component]
pub fn Servers(props: &ServersProps) -> Html {
    html! {
        <details class="servers" open={props.open}>
            <summary><h2>{ "Servers: faults and operator actions" }</h2></summary>
            <p class="hint">{ "Each button acts now on the running simulation (both runs in A/B) and is added to the link, \
                so reopening it replays the same run. Recover undoes faults; repool undoes depool and drain; unpin undoes pin." }</p>
            <ul class="server-list">
                { for props.names.iter().enumerate().map(|(i, name)| html! {
                    <ServerRow key={name.clone()} server={i} name={name.clone()}
                        load={props.loads.get(i).copied().unwrap_or(0.0)} on_command={props.on_command.clone()} />
                }) }
            </ul>
        </details>
    }
}
