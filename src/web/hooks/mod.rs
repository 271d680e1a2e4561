//! The page's hooks: the frame loop that drives the runs, and whether the page is on screen.

pub mod frame_loop;
pub mod metrics;
pub mod on_screen;
