//! Small parts several models share. Each is a noun that owns its state and its verbs, knows nothing of any
//! model, and never imports another part.

pub mod pool;
pub mod row_log;
