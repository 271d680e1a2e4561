//! One folder per incident's physics. Each model owns its nouns, its event enum, its commands table, its
//! columns, charts and invariants, and registers its scenarios in [`crate::registry::MODELS`].
//!
//! Models never import each other; what several share lives in [`crate::parts`].

pub mod galera;
pub mod koha;
pub mod sahana;
pub mod section;
