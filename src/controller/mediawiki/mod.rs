//! MediaWiki's balancing controllers: the two LoadMonitor generations that ran in production (`mw-legacy`,
//! `mw-loadmonitor`) and the two designs proposed in the Phabricator task behind seed 002 (Tim Starling's
//! connection-count P controller `conn-p`, and a `pid` controller on the same error signal).
//!
//! Shared machinery has its own file: `cache` (each host's local cache in front of the section's cluster cache,
//! through which both LoadMonitors regenerate their per-server state with probes) and `counts` (the connection
//! metric conn-p and pid act on: open connections plus recent failures, per host or section-wide).

mod cache;
mod conn_index;
mod conn_p;
mod counts;
mod lag_times;
mod legacy;
mod loadmonitor;
mod pid;
mod srv_cache;
mod wan;

pub use conn_p::CONN_P;
pub use legacy::MW_LEGACY;
pub use loadmonitor::MW_LOADMONITOR;
pub use pid::PID;
