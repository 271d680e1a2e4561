//! "Your metrics": an incident's own time series (a Prometheus query_range JSON, a Grafana panel's CSV, or a
//! plain CSV) read in the page and drawn on the charts beside the run, each series paired with a column of the
//! run and lined up with its clock. Parsing, pairing and alignment are the library's ([`crate::overlay`], the
//! same code `loadlab fit` reads with); nothing is sent anywhere.

use yew::prelude::*;

pub use crate::web::hooks::metrics::{FitRequest, MAX_BYTES, MAX_FIT_BUDGET};

/// Props of [`Metrics`].
#[derive(Properties, PartialEq)]
pub struct MetricsProps {
    /// A file was read: its name and text.
    pub on_load: Callback<(String, String)>,
    /// The pairing rules (one `SERIES=COLUMN` per line) and the alignment (`offset=S` or `fault=T`) to apply.
    pub on_apply: Callback<(String, String)>,
    /// The rules and alignment now.
    pub rules: String,
    /// See `rules`.
    pub align: String,
    /// What was read and drawn, or why not, in words.
    pub status: Option<(bool, String)>,
    /// Where a fit stands, in words.
    pub fit_status: Option<String>,
    /// True while a fit runs.
    pub fitting: bool,
    /// The last fit's best settings.
    pub fit_best: Vec<(String, String)>,
    /// Start a fit.
    pub on_fit: Callback<FitRequest>,
    /// Stop the fit.
    pub on_stop: Callback<()>,
    /// Run with these settings.
    pub on_use: Callback<Vec<(String, String)>>,
}

/// The metrics box: open a file, pair its series with the run's columns, line up the clocks.
#[component]
pub fn Metrics(props: &MetricsProps) -> Html {
    let reader = use_mut_ref(|| None::<gloo::file::callbacks::FileReader>);
    let rules = use_node_ref();
    let align = use_node_ref();
    let on_change = {
        let on_load = props.on_load.clone();
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
            input.set_value("");
            let name = file.name();
            if file.size() > MAX_BYTES as f64 {
                on_load.emit((name, String::new()));
                return;
            }
            let on_load = on_load.clone();
            let file = gloo::file::File::from(file);
            *reader.borrow_mut() = Some(gloo::file::callbacks::read_as_text(&file, move |text| {
                on_load.emit((name, text.unwrap_or_default()));
            }));
        })
    };
    let on_apply = {
        let (rules, align, on_apply) = (rules.clone(), align.clone(), props.on_apply.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let text = |r: &NodeRef| r.cast::<web_sys::HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let rules = rules.cast::<web_sys::HtmlTextAreaElement>().map(|t| t.value()).unwrap_or_default();
            on_apply.emit((rules, text(&align)));
        })
    };
    let fit_keys = use_node_ref();
    let fit_budget = use_node_ref();
    // What the reader typed in the runs box, kept across re-renders: a bare value="16" was put back on every
    // re-render of the page (four a second while it plays), undoing what was typed.
    let budget_typed = use_state(|| "16".to_string());
    let on_budget = {
        let budget_typed = budget_typed.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                budget_typed.set(input.value());
            }
        })
    };
    let on_fit = {
        let (fit_keys, fit_budget, on_fit) = (fit_keys.clone(), fit_budget.clone(), props.on_fit.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let text = |r: &NodeRef| r.cast::<web_sys::HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let budget = text(&fit_budget).trim().parse::<usize>().unwrap_or(16);
            on_fit.emit(FitRequest { keys: text(&fit_keys), budget });
        })
    };
    let on_stop = props.on_stop.reform(|_: MouseEvent| ());
    let on_use = {
        let (best, on_use) = (props.fit_best.clone(), props.on_use.clone());
        Callback::from(move |_: MouseEvent| on_use.emit(best.clone()))
    };
    html! {
        <details class="metrics" id="metrics" open={props.status.is_some()}>
            <summary><h2>{ "Your metrics beside the run" }</h2></summary>
            <p class="hint">{ "Put your own incident's numbers on the charts: a Prometheus range query's JSON, a \
                Grafana panel's CSV (Inspect, Data, Download CSV) or a plain CSV. Each series is drawn as a thick \
                black dotted line on the chart of the run's column it is paired with. The file stays in this page; \
                a link does not carry it." }</p>
            <label class="button" for="metrics-file">{ "Open metrics…" }</label>
            <input type="file" id="metrics-file" class="visually-hidden" accept=".json,.csv,text/csv,application/json,text/plain"
                onchange={on_change} />
            <form class="metrics-map" onsubmit={on_apply}>
                <label for="metrics-rules">{ "Pair series with the run's columns, one per line: SERIES=COLUMN; * matches \
                    anything and fills the * of the column (a series named like a column needs no line)" }</label>
                <textarea id="metrics-rules" ref={rules} rows="3" value={props.rules.clone()}
                    placeholder={"conns{instance=\"*:9104\"}=*.active_conns"} />
                <label for="metrics-align">{ "Line up the clocks: offset=S (your time S is the run's 0) or fault=T (your time T is the scenario's fault)" }</label>
                <input id="metrics-align" ref={align} type="text" value={props.align.clone()} placeholder="offset=0" />
                <button type="submit" id="metrics-apply">{ "Draw" }</button>
            </form>
            if let Some((ok, text)) = &props.status {
                <p id="metrics-status" class={if *ok { "hint" } else { "warning" }} role={if *ok { "status" } else { "alert" }}>{ text.clone() }</p>
            }
            <form class="metrics-map" onsubmit={on_fit}>
                <label for="fit-keys">{ format!("Find the settings that explain your data: the settings to search,                     comma-separated, each with an optional range (like slow_factor=2..100); up to {MAX_FIT_BUDGET} runs,                     made in the background") }</label>
                <input id="fit-keys" ref={fit_keys} type="text" placeholder="slow_factor=2..100, fault_at=5..50" />
                <div class="row">
                    <label for="fit-budget">{ "runs" }</label>
                    <input id="fit-budget" ref={fit_budget} type="number" min="1" max={MAX_FIT_BUDGET.to_string()}
                        value={(*budget_typed).clone()} oninput={on_budget} />
                    if props.fitting {
                        <button type="button" id="fit-stop" onclick={on_stop}>{ "Stop" }</button>
                    } else {
                        <button type="submit" id="fit-start">{ "Fit" }</button>
                    }
                </div>
            </form>
            if let Some(text) = &props.fit_status {
                <p id="fit-status" class="hint" role="status">{ text.clone() }</p>
            }
            if !props.fit_best.is_empty() && !props.fitting {
                <button type="button" id="fit-use" onclick={on_use}>{ "Run with these settings" }</button>
            }
        </details>
    }
}
