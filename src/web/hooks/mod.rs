//! The page's hooks: the frame loop that drives the runs.

pub mod frame_loop;
