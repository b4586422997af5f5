//! Balanced search over pieces of the number space, one tree per arch, and
//! the `search` strategy that runs it over the decision intervals.
//!
//! A piece `(lo, leaf)` holds the numbers from `lo` up to the next piece's
//! first. The tree is balanced by piece count; where three pieces are a
//! single number between two pieces with the same leaf, one `jeq` replaces
//! two comparisons. `bits` and `jset` search their own pieces with the same
//! walk, and their figures (the depth of each piece, the comparisons a tree
//! needs) come from it, so they cannot drift from what is built.
//!
//! Over intervals only `jeq`, `jge` and `ret` are used, so every path is
//! one the kernel's action cache can follow.

use super::{dispatch, refuse_per_boundary, Matcher, Shape};
use crate::error::Result;
use crate::program::{Graph, NodeId};
use crate::set::{ArchDecisions, Decisions};
use crate::weights::ArchWeights;

/// What a search makes of its pieces: graph nodes, or nothing when only
/// the depths are wanted.
pub(crate) trait Emit<L> {
    type Id: Copy;
    fn leaf(&mut self, leaf: &L) -> Self::Id;
    fn jeq(&mut self, k: u32, hit: Self::Id, miss: Self::Id) -> Self::Id;
    fn jge(&mut self, k: u32, upper: Self::Id, lower: Self::Id) -> Self::Id;
}

/// Builds graph nodes, leaves by `leaf`.
pub(crate) struct Nodes<'g, F> {
    pub g: &'g mut Graph,
    pub leaf: F,
}

impl<L, F: FnMut(&L, &mut Graph) -> NodeId> Emit<L> for Nodes<'_, F> {
    type Id = NodeId;
    fn leaf(&mut self, leaf: &L) -> NodeId {
        (self.leaf)(leaf, self.g)
    }
    fn jeq(&mut self, k: u32, hit: NodeId, miss: NodeId) -> NodeId {
        self.g.jeq(k, hit, miss)
    }
    fn jge(&mut self, k: u32, upper: NodeId, lower: NodeId) -> NodeId {
        self.g.jge(k, upper, lower)
    }
}

/// Builds nothing: the walk for its depths alone.
pub(crate) struct Depths;

impl<L> Emit<L> for Depths {
    type Id = ();
    fn leaf(&mut self, _: &L) {}
    fn jeq(&mut self, _: u32, _: (), _: ()) {}
    fn jge(&mut self, _: u32, _: (), _: ()) {}
}

/// Whether `p[i + 1]` is a single number between two pieces with the same
/// leaf: one `jeq` decides all three.
fn is_notch<L: PartialEq>(p: &[(u32, L)], i: usize) -> bool {
    i + 2 < p.len() && p[i + 1].0.checked_add(1) == Some(p[i + 2].0) && p[i].1 == p[i + 2].1
}

/// The balanced search over `pieces` (at least one), knowing that the
/// number lies within them, and the comparisons each piece's numbers pass.
pub(crate) fn balanced<L: PartialEq, E: Emit<L>>(
    pieces: &[(u32, L)],
    e: &mut E,
) -> (E::Id, Vec<u32>) {
    fn walk<L: PartialEq, E: Emit<L>>(
        p: &[(u32, L)],
        at: usize,
        depth: u32,
        e: &mut E,
        depths: &mut [u32],
    ) -> E::Id {
        match p {
            [(_, one)] => {
                depths[at] = depth;
                e.leaf(one)
            }
            [_, _, _] if is_notch(p, 0) => {
                depths[at..at + 3].fill(depth + 1);
                let (hit, miss) = (e.leaf(&p[1].1), e.leaf(&p[0].1));
                e.jeq(p[1].0, hit, miss)
            }
            _ => {
                let mid = p.len() / 2;
                let upper = walk(&p[mid..], at + mid, depth + 1, e, depths);
                let lower = walk(&p[..mid], at, depth + 1, e, depths);
                e.jge(p[mid].0, upper, lower)
            }
        }
    }
    let mut depths = vec![0; pieces.len()];
    let root = walk(pieces, 0, 0, e, &mut depths);
    (root, depths)
}

/// A floor on the comparisons any search over `pieces` needs: one a piece
/// boundary, less one for each `jeq` that takes two (disjoint
/// single-number notches, taken greedily from the left: as many as any
/// tree can use). The constants are the boundaries.
pub(crate) fn fewest_comparisons<L: PartialEq>(pieces: &[(u32, L)]) -> (usize, Vec<u32>) {
    let (mut notches, mut i) = (0, 0);
    while i + 2 < pieces.len() {
        if is_notch(pieces, i) {
            notches += 1;
            i += 3;
        } else {
            i += 1;
        }
    }
    (
        pieces.len() - 1 - notches,
        pieces[1..].iter().map(|(lo, _)| *lo).collect(),
    )
}

/// The decision intervals of an arch as pieces whose leaf is the action.
pub(crate) fn interval_pieces(a: &ArchDecisions) -> Vec<(u32, u32)> {
    a.intervals.iter().map(|iv| (iv.lo, iv.action)).collect()
}

/// The `search` strategy: the balanced search over interval boundaries.
pub(crate) struct Search;

impl Matcher for Search {
    fn build(&self, d: &Decisions, _: &ArchWeights, g: &mut Graph) -> Result<NodeId> {
        refuse_per_boundary(d)?;
        dispatch(d, g, |a, _, g| {
            let mut e = Nodes {
                g,
                leaf: |&k: &u32, g: &mut Graph| g.ret(k),
            };
            Ok(balanced(&interval_pieces(a), &mut e).0)
        })
    }

    /// Exact: the depths of the walk that builds.
    fn depths(&self, a: &ArchDecisions) -> Option<Vec<u32>> {
        Some(balanced(&interval_pieces(a), &mut Depths).1)
    }

    fn shape(&self, a: &ArchDecisions) -> Option<Shape> {
        Some(Shape::of_search(&interval_pieces(a)))
    }

    fn compares_boundaries_only(&self) -> bool {
        true
    }
}
