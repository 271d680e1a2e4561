//! The page's reducer for Yew. The state, the actions and the transition function live in [`crate::page::state`]
//! (compiled natively too, so the unit tests, the fuzzer and mutation testing reach them; `web::state` names that
//! module); this file adds only `impl Reducible`.

use std::rc::Rc;

use yew::Reducible;

use crate::page::state::{Action, State};

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let next = self.apply(action);
        if next == *self {
            self
        } else {
            Rc::new(next)
        }
    }
}
