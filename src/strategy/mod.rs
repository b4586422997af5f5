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

/// For strategies whose shape follows from the intervals alone, a lower
/// bound on the comparisons the numbers of each interval of `a` pass in
/// the arch's body (exact for `Search`); `None` for the others. A body
/// never shrinks to a return unless the arch has a single interval.
pub fn comparisons(strategy: Strategy, a: &ArchDecisions) -> Option<Vec<u32>> {
    match strategy {
        Strategy::Search => Some(search::comparisons(&a.intervals)),
        Strategy::Linear => Some(linear::comparisons(a)),
        Strategy::Jset => Some(jset::comparisons(a)),
        _ => None,
    }
}

/// For a floor on the length of the comparison strategies: the fewest
/// comparisons the arch's body can have, their constants (a comparison
/// shared between arches has a constant both list) and how many other
/// tests the body needs at least. `None` for the others.
pub fn search_shape(strategy: Strategy, a: &ArchDecisions) -> Option<(usize, Vec<u32>, usize)> {
    let ivs = &a.intervals;
    match strategy {
        Strategy::Tree | Strategy::Search => {
            // Disjoint single-number notches, taken greedily from the left:
            // as many as any tree can use.
            let (mut notches, mut i) = (0, 0);
            while i + 2 < ivs.len() {
                if ivs[i + 1].lo == ivs[i + 1].hi && ivs[i].action == ivs[i + 2].action {
                    notches += 1;
                    i += 3;
                } else {
                    i += 1;
                }
            }
            let constants = ivs[1..].iter().map(|iv| iv.lo).collect();
            Some((ivs.len() - 1 - notches, constants, 0))
        }
        Strategy::Jset => {
            let (n, constants, blocks) = jset::search_shape(a);
            Some((n, constants, usize::from(blocks)))
        }
        Strategy::Linear => {
            let constants = linear::first_constants(a);
            Some((constants.len(), constants, 0))
        }
        Strategy::Bits | Strategy::Auto => None,
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
