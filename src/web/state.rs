//! The page's state and its reducer for Yew: the state, the actions and the transition function live in
//! [`crate::page::state`] (compiled natively too, so the unit tests, the fuzzer and mutation testing reach them);
//! this file adds only `impl Reducible`.

use std::rc::Rc;

use yew::Reducible;

pub use crate::page::state::*;

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
