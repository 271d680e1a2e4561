//! What the page decides, without the page: its state and the reducer that changes it ([`state`]). Pure, compiled
//! natively and for wasm32, so the unit tests, the fuzzer and mutation testing reach it; `web` (wasm32 only) wraps
//! it in Yew.

pub mod state;
