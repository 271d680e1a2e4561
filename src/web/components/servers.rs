//! The model's commands as buttons, generated from its command table and target names: one row per target
//! (server, node) with a button per verb that takes that kind of target, and a row for the verbs that act on
//! the whole model, each with number boxes for its arguments. Every button sends text (`slow:db1119:10`), so it
//! goes through the same parser as the CLI and the URL and cannot disagree with them.

use yew::prelude::*;

use crate::engine::commands::CommandSpec;

/// A command table as a prop: equal when it is the same table.
#[derive(Clone, Copy, Debug)]
pub struct Table(pub &'static [CommandSpec]);

impl PartialEq for Table {
    fn eq(&self, other: &Table) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

/// One verb as a prop: equal when it is the same entry.
#[derive(Clone, Copy, Debug)]
struct Verb(&'static CommandSpec);

impl PartialEq for Verb {
    fn eq(&self, other: &Verb) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

/// Props of [`Commands`].
#[derive(Properties, PartialEq)]
pub struct CommandsProps {
    /// The model's command table.
    pub table: Table,
    /// Names of the targets, in index order.
    pub names: std::rc::Rc<Vec<String>>,
    /// Each target's state now (from the snapshot), when the model reports one.
    pub states: Vec<String>,
    /// Indices of the targets the scenario breaks.
    pub faulty: Vec<usize>,
    /// Called with each command's text to apply now.
    pub on_command: Callback<String>,
}

/// A command's text with `args` (shortest round-trip form, as the parser reads them).
pub fn command_text(spec: &CommandSpec, target: Option<&str>, args: &[f64]) -> String {
    let mut out = spec.verb.to_string();
    if let Some(t) = target {
        out.push(':');
        out.push_str(t);
    }
    for a in args {
        out.push_str(&format!(":{a}"));
    }
    out
}

/// The id of a verb's line in "What each action does", which its buttons point to.
fn help_id(spec: &CommandSpec) -> String {
    format!("verb-help-{}", spec.verb)
}

fn label(spec: &CommandSpec) -> String {
    let args: Vec<String> = spec.args.iter().map(|a| format!("{} {}", a.default, a.unit)).collect();
    if args.is_empty() {
        spec.verb.to_string()
    } else {
        format!("{} {}", spec.verb, args.join(" "))
    }
}

/// One whole-model verb with its argument boxes.
#[component]
fn GlobalCommand(props: &GlobalProps) -> Html {
    let values = use_state(|| props.spec.0.args.iter().map(|a| a.default).collect::<Vec<f64>>());
    let spec = props.spec.0;
    let send = {
        let (values, on_command) = (values.clone(), props.on_command.clone());
        Callback::from(move |_: MouseEvent| {
            let args: Vec<f64> =
                spec.args.iter().enumerate().map(|(i, a)| values.get(i).copied().unwrap_or(a.default)).collect();
            on_command.emit(command_text(spec, None, &args))
        })
    };
    html! {
        <div class="global-command">
            { for spec.args.iter().enumerate().map(|(i, a)| {
                let values_now = values.clone();
                let on_change = Callback::from(move |e: Event| {
                    let raw = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
                    if let Ok(v) = raw.trim().parse::<f64>() {
                        let mut next = (*values_now).clone();
                        next.resize(spec.args.len(), 0.0);
                        next[i] = v;
                        values_now.set(next);
                    }
                });
                let id = format!("arg-{}-{}", spec.verb, a.name);
                html! {
                    <label class="inline" for={id.clone()}>{ format!("{} ({}, {}–{})", a.name, a.unit, a.min, a.max) }
                        <input id={id} type="number" step="any" min={a.min.to_string()} max={a.max.to_string()}
                            value={values.get(i).copied().unwrap_or(a.default).to_string()} onchange={on_change} />
                    </label>
                }
            }) }
            <button type="button" data-verb={spec.verb} title={spec.help} aria-describedby={help_id(spec)} onclick={send}>{ spec.verb }</button>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct GlobalProps {
    spec: Verb,
    on_command: Callback<String>,
}

#[derive(Properties, PartialEq)]
struct TargetRowProps {
    name: String,
    table: Table,
    state: String,
    faulty: bool,
    on_command: Callback<String>,
}

/// One target: its name, its state now and a button per verb that takes it. A component of its own, so a
/// snapshot re-renders only the rows whose state changed.
#[component]
fn TargetRow(props: &TargetRowProps) -> Html {
    let name = &props.name;
    html! {
        <li class={classes!("server", props.faulty.then_some("faulty"))} data-server={name.clone()}>
            <div class="server-head">
                <strong>{ name.clone() }</strong>
                <span class="server-state" id={format!("state-{name}")}>{ props.state.clone() }</span>
            </div>
            <div class="buttons" role="group" aria-label={format!("faults and operator actions for {name}")}>
                { for props.table.0.iter().filter(|c| c.target.is_some()).map(|spec| {
                    let args: Vec<f64> = spec.args.iter().map(|a| a.default).collect();
                    let text = command_text(spec, Some(name), &args);
                    let on_command = props.on_command.clone();
                    let onclick = Callback::from(move |_: MouseEvent| on_command.emit(text.clone()));
                    html! { <button type="button" data-fault={spec.verb} title={spec.help} aria-describedby={help_id(spec)}
                        onclick={onclick}>{ label(spec) }</button> }
                }) }
            </div>
        </li>
    }
}

/// Every target's row and the whole-model commands.
#[component]
pub fn Commands(props: &CommandsProps) -> Html {
    let global: Vec<&'static CommandSpec> = props.table.0.iter().filter(|c| c.target.is_none()).collect();
    let inverses: Vec<String> =
        props.table.0.iter().filter_map(|c| c.inverse.map(|i| format!("{i} undoes {}", c.verb))).collect();
    html! {
        <details class="servers" id="commands" open={true}>
            <summary><h2>{ "Faults and operator actions" }</h2></summary>
            <p class="hint">{ format!("Each button acts now on the running simulation (both runs in A/B) and is added to the link, \
                so reopening it replays the same run. {}.", inverses.join("; ")) }</p>
            // Open from the start: what each button does is text on the page, not a hover title a phone cannot show.
            <details class="verb-help" open={true}>
                <summary>{ "What each action does" }</summary>
                <dl>
                    { for props.table.0.iter().map(|c| html! {
                        <div><dt>{ c.verb }</dt><dd id={help_id(c)}>{ c.help }</dd></div>
                    }) }
                </dl>
            </details>
            if !global.is_empty() {
                <div class="global-commands" role="group" aria-label="commands for the whole section">
                    { for global.iter().map(|spec| html! { <GlobalCommand key={spec.verb} spec={Verb(spec)} on_command={props.on_command.clone()} /> }) }
                </div>
            }
            <ul class="server-list">
                { for props.names.iter().enumerate().map(|(i, name)| html! {
                    <TargetRow key={name.clone()} name={name.clone()} table={props.table}
                        state={props.states.get(i).cloned().unwrap_or_default()} faulty={props.faulty.contains(&i)}
                        on_command={props.on_command.clone()} />
                }) }
            </ul>
        </details>
    }
}
