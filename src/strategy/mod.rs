//! Matching strategies. Each turns decision intervals into a labelled
//! program; arch dispatch, layout, peephole and verification are shared.
//!
//! A strategy answers with `Error::Strategy` when it cannot express a
//! specification in its own terms; selection then simply skips it.

mod bits;
mod jset;
mod linear;
mod search;
mod tree;

use crate::bpf::*;
use crate::error::Result;
use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Decisions};
use crate::spec::Strategy;
use crate::weights::ArchWeights;

/// Builds the labelled program for `strategy` (never `Auto`).
pub fn build(strategy: Strategy, d: &Decisions, w: &ArchWeights, g: &mut Graph) -> Result<NodeId> {
    match strategy {
        Strategy::Auto | Strategy::Search => dispatch(d, g, |a, _, g| Ok(search::build(a, g))),
        Strategy::Linear => dispatch(d, g, |a, _, g| Ok(linear::build(a, g))),
        Strategy::Tree => dispatch(d, g, |a, i, g| Ok(tree::build(a, &w.intervals[i], g))),
        Strategy::Bits => bits::build(d, g),
        Strategy::Jset => jset::build(d, w, g),
    }
}

/// `ld arch`, then one `jeq` per arch in the order of `d` (which puts the
/// heaviest first), each leading to `ld nr` and the arch's body; any other
/// arch falls through to its action. Identical bodies and returns are one
/// node, so they are shared.
pub(crate) fn dispatch(
    d: &Decisions,
    g: &mut Graph,
    mut body: impl FnMut(&ArchDecisions, usize, &mut Graph) -> Result<NodeId>,
) -> Result<NodeId> {
    let mut next = g.ret(d.other_arch);
    for (i, a) in d.archs.iter().enumerate().rev() {
        let b = body(a, i, g)?;
        let b = g.load(SECCOMP_DATA_NR, b);
        next = g.jeq(a.arch, b, next);
    }
    Ok(g.load(SECCOMP_DATA_ARCH, next))
}
