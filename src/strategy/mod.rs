//! Matching strategies. Each turns decision intervals into a labelled
//! program; layout and verification are shared.

mod search;

use crate::program::{Graph, NodeId};
use crate::set::Decisions;
use crate::spec::Strategy;

/// Builds the labelled program for `strategy` (never `Auto`).
pub fn build(strategy: Strategy, d: &Decisions, g: &mut Graph) -> NodeId {
    match strategy {
        Strategy::Auto | Strategy::Search => search::build(d, g),
    }
}
