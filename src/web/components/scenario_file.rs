//! Save and open scenario files: the run's whole setup (scenario, controller, every setting, the steps the
//! reader clicked) as the same TOML file the command line's `export-scenario` writes and `--scenario-file`
//! runs, so a reader can describe their own cluster in a text editor and run it here or there. Files are read
//! in the page (a file picker, or dropped on the box); nothing is sent anywhere.

use yew::prelude::*;

use crate::engine::scenario_file::MAX_BYTES;

/// Props of [`ScenarioFiles`].
#[derive(Properties, PartialEq)]
pub struct ScenarioFilesProps {
    /// Download the run's scenario file.
    pub on_save: Callback<()>,
    /// A file was read: its name and text (the reducer checks it).
    pub on_open: Callback<(String, String)>,
    /// A file could not be read: why, in words.
    pub on_reject: Callback<String>,
    /// True when the run comes from a file the reader opened.
    pub from_file: bool,
}

/// The save and open buttons, and the box a file can be dropped on.
#[component]
pub fn ScenarioFiles(props: &ScenarioFilesProps) -> Html {
    // The reader of the file being read: dropping it would cancel the read, so it lives until the next one.
    let reader = use_mut_ref(|| None::<gloo::file::callbacks::FileReader>);
    let dragging = use_state(|| false);
    let read = {
        let (on_open, on_reject) = (props.on_open.clone(), props.on_reject.clone());
        Callback::from(move |file: web_sys::File| {
            let name = file.name();
            if file.size() > MAX_BYTES as f64 {
                on_reject.emit(format!("{name} was not opened: it is over {MAX_BYTES} bytes."));
                return;
            }
            let (on_open, on_reject) = (on_open.clone(), on_reject.clone());
            let file = gloo::file::File::from(file);
            *reader.borrow_mut() = Some(gloo::file::callbacks::read_as_text(&file, move |text| match text {
                Ok(text) => on_open.emit((name, text)),
                Err(e) => on_reject.emit(format!("{name} could not be read: {e}.")),
            }));
        })
    };
    let on_change = {
        let read = read.clone();
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                read.emit(file);
            }
            input.set_value(""); // the same file can be opened again after editing it
        })
    };
    let on_drag_over = {
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default(); // lets the box take the drop
            dragging.set(true);
        })
    };
    let on_drag_leave = {
        let dragging = dragging.clone();
        Callback::from(move |_: DragEvent| dragging.set(false))
    };
    let on_drop = {
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(false);
            if let Some(file) = e.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
                read.emit(file);
            }
        })
    };
    let on_save = props.on_save.reform(|_: MouseEvent| ());
    html! {
        <div class={classes!("scenario-files", dragging.then_some("dragging"))} id="scenario-files"
            ondragover={on_drag_over} ondragleave={on_drag_leave} ondrop={on_drop}>
            <div class="row">
                <button type="button" id="save-scenario" onclick={on_save}>{ "Save scenario" }</button>
                <label class="button" for="open-scenario">{ "Open scenario…" }</label>
                <input type="file" id="open-scenario" class="visually-hidden" accept=".toml,text/plain"
                    onchange={on_change} />
            </div>
            <p class="hint">
                if props.from_file {
                    { "This run comes from your scenario file. Its settings are in the file: edit it and open it again. " }
                }
                { "A scenario file holds everything about this run, the steps you clicked included. Edit it to \
                   describe your own cluster, then open it here (or drop it on this box) or run it with the \
                   command line." }
            </p>
        </div>
    }
}
