//! Embeds that behave on a shared page: whether the page is on screen, and no autoplay under reduced motion.
//!
//! [`use_on_screen`] is false while the tab is hidden (`visibilitychange`) or while the document is scrolled
//! out of view: an IntersectionObserver watches the document's root element, and in an iframe its implicit
//! root is the top-level viewport, so an embed scrolled away on a runbook page counts as off screen. The frame
//! loop holds the runs still while it is false and goes on from the same moment when it is true again; the
//! page's state (playing or paused) does not change. The root element carries `data-loadlab-offscreen` while
//! held, for tests and for anyone debugging an embed.
//!
//! [`use_no_autoplay_under_reduced_motion`] pauses a run that would start playing by itself when the reader
//! asked for reduced motion (`prefers-reduced-motion: reduce`), once, on mount: the Play button then starts it.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{IntersectionObserver, IntersectionObserverEntry};
use yew::prelude::*;

/// The root element's attribute present while the runs are held because the page is off screen.
pub const OFFSCREEN_ATTR: &str = "data-loadlab-offscreen";

/// True if the reader asked for reduced motion.
pub fn prefers_reduced_motion() -> bool {
    gloo::utils::window().match_media("(prefers-reduced-motion: reduce)").ok().flatten().is_some_and(|m| m.matches())
}

/// What is known of the page's visibility; on screen is both.
struct Seen {
    intersecting: Cell<bool>,
    tab_visible: Cell<bool>,
    on_screen: Rc<Cell<bool>>,
}

impl Seen {
    fn update(&self) {
        let now = self.intersecting.get() && self.tab_visible.get();
        if now != self.on_screen.get() {
            self.on_screen.set(now);
            if let Some(root) = gloo::utils::document().document_element() {
                let _ =
                    if now { root.remove_attribute(OFFSCREEN_ATTR) } else { root.set_attribute(OFFSCREEN_ATTR, "") };
            }
        }
    }
}

/// A flag that is true while the page is on screen: its tab shown and its document (an embed's iframe) at
/// least partly in the viewport. Read it each frame; it starts true.
#[hook]
pub fn use_on_screen() -> Rc<Cell<bool>> {
    let flag = use_mut_ref(|| Rc::new(Cell::new(true))).borrow().clone();
    {
        let flag = flag.clone();
        use_effect_with((), move |_| {
            let document = gloo::utils::document();
            let seen = Rc::new(Seen {
                intersecting: Cell::new(true),
                tab_visible: Cell::new(!document.hidden()),
                on_screen: flag,
            });
            seen.update();
            let on_intersect = {
                let seen = seen.clone();
                Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
                    // The last entry is the latest state of the one element observed.
                    if let Some(entry) =
                        entries.iter().last().and_then(|e| e.dyn_into::<IntersectionObserverEntry>().ok())
                    {
                        seen.intersecting.set(entry.is_intersecting());
                        seen.update();
                    }
                })
            };
            let observer = IntersectionObserver::new(on_intersect.as_ref().unchecked_ref()).ok();
            if let (Some(observer), Some(root)) = (&observer, document.document_element()) {
                observer.observe(&root);
            }
            let on_visibility = {
                let seen = seen.clone();
                Closure::<dyn FnMut()>::new(move || {
                    seen.tab_visible.set(!gloo::utils::document().hidden());
                    seen.update();
                })
            };
            let _ =
                document.add_event_listener_with_callback("visibilitychange", on_visibility.as_ref().unchecked_ref());
            move || {
                if let Some(observer) = observer {
                    observer.disconnect();
                }
                let _ = gloo::utils::document()
                    .remove_event_listener_with_callback("visibilitychange", on_visibility.as_ref().unchecked_ref());
                drop(on_intersect);
                seen.intersecting.set(true);
                seen.tab_visible.set(true);
                seen.update();
            }
        });
    }
    flag
}

/// On mount, if the reader prefers reduced motion and the run is `playing` by itself, emits `pause` once (the
/// page's play/pause toggle), so nothing moves until the reader presses Play.
#[hook]
pub fn use_no_autoplay_under_reduced_motion(playing: bool, pause: Callback<()>) {
    use_effect_with((), move |_| {
        if playing && prefers_reduced_motion() {
            pause.emit(());
        }
    });
}
