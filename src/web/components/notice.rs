//! A visible, dismissable message: how the page reports bad input instead of failing.

use yew::prelude::*;

/// Props of [`Notice`].
#[derive(Properties, PartialEq)]
pub struct NoticeProps {
    /// The message; nothing is shown when `None`.
    pub message: Option<String>,
    /// Called when the reader dismisses the message.
    pub on_dismiss: Callback<()>,
}

/// Shows the current notice, if any, in an alert region.
#[component]
pub fn Notice(props: &NoticeProps) -> Html {
    let Some(message) = props.message.clone() else {
        return html! {};
    };
    let on_dismiss = props.on_dismiss.reform(|_: MouseEvent| ());
    html! {
        <div class="notice" role="alert">
            <p>{ message }</p>
            <button type="button" onclick={on_dismiss}>{ "Dismiss" }</button>
        </div>
    }
}
